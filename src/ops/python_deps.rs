//! The environment's own Python requirements (dependency group `environment`, and the torch
//! family's pins) and its `[tool.uv] constraint-dependencies`: `py` and `constraint`. Each edit
//! is one [`edit`](super::edit) transaction; a conflict found by `uv lock` puts everything back.

use super::edit::{Reach, edit_and_apply};
use crate::manifest::Manifest;
use crate::plan::Plan;
use crate::python::conflict::ENVIRONMENT_GROUP;
use crate::python::{is_torch_family, parse_requirements, requirement_name};
use crate::reconcile::Session;
use crate::resolve::Update;
use miette::{Result, miette};
use serde::Serialize;

/// What an edit was, as its generation's message ("Add Python requirement(s) numpy").
#[derive(Debug, Serialize)]
pub struct PythonEdited {
    pub message: String,
    pub generation: Option<u64>,
}

/// `py add`: each requirement replaces one of the same name; a torch-family one becomes the
/// environment's pin for every backend.
pub fn add(
    session: &mut Session,
    requirements: &[String],
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<PythonEdited> {
    edit(session, reach, on_plan, |m| {
        let mut group = m.dependency_groups().remove(ENVIRONMENT_GROUP).unwrap_or_default();
        for req in requirements {
            let name = checked_name(req)?;
            if is_torch_family(&name) {
                m.set_torch_requirement(req.trim());
                continue;
            }
            group.retain(|r| requirement_name(r).as_deref() != Some(name.as_str()));
            group.push(req.trim().to_string());
        }
        m.set_group(ENVIRONMENT_GROUP, &group);
        Ok(format!("Add Python requirement(s) {}", requirements.join(", ")))
    })
}

/// `py remove`: only what `py add` added.
pub fn remove(session: &mut Session, name: &str, reach: Reach, on_plan: &mut dyn FnMut(&Plan)) -> Result<PythonEdited> {
    edit(session, reach, on_plan, |m| {
        let wanted = requirement_name(name).unwrap_or_default();
        if is_torch_family(&wanted) {
            return Err(miette!(
                code = "comfydock::python::torch_family",
                help = "the torch family is declared by the environment for every backend; change its pin with `comfydock py add \"torch==VERSION\"`, or set torch_backends",
                "`{wanted}` cannot be removed"
            ));
        }
        let mut group = m.dependency_groups().remove(ENVIRONMENT_GROUP).unwrap_or_default();
        let before = group.len();
        group.retain(|r| requirement_name(r).as_deref() != Some(wanted.as_str()));
        if group.len() == before {
            return Err(miette!(
                code = "comfydock::python::unknown_requirement",
                help = "`comfydock py list` shows the requirements; only those from `py add` (source `environment`) can be removed here",
                "no requirement `{name}` was added with `py add`"
            ));
        }
        m.set_group(ENVIRONMENT_GROUP, &group);
        Ok(format!("Remove Python requirement {wanted}"))
    })
}

/// `constraint add`: each constraint replaces one on the same name.
pub fn add_constraints(
    session: &mut Session,
    constraints: &[String],
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<PythonEdited> {
    edit(session, reach, on_plan, |m| {
        let mut list = m.constraints();
        for c in constraints {
            let name = checked_name(c)?;
            list.retain(|r| requirement_name(r).as_deref() != Some(name.as_str()));
            list.push(c.trim().to_string());
        }
        m.set_constraints(&list);
        Ok(format!("Add constraint(s) {}", constraints.join(", ")))
    })
}

pub fn remove_constraint(
    session: &mut Session,
    name: &str,
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<PythonEdited> {
    edit(session, reach, on_plan, |m| {
        let wanted = requirement_name(name).unwrap_or_default();
        let mut list = m.constraints();
        let before = list.len();
        list.retain(|r| requirement_name(r).as_deref() != Some(wanted.as_str()));
        if list.len() == before {
            return Err(miette!(
                code = "comfydock::python::unknown_constraint",
                help = "`comfydock constraint list` shows the constraints",
                "no constraint on `{name}`"
            ));
        }
        m.set_constraints(&list);
        Ok(format!("Remove constraint on {wanted}"))
    })
}

/// `py list`: every requirement with where it comes from and the locked version.
#[derive(Debug, Serialize)]
pub struct PythonList {
    pub constraints: Vec<String>,
    pub requirements: Vec<RequirementRow>,
    /// The backend the venv was built for.
    pub torch_backend: Option<crate::types::TorchBackend>,
}

#[derive(Debug, Serialize)]
pub struct RequirementRow {
    /// `ComfyUI`, `environment`, `node ID`, `group NAME` or `torch backends (...)`.
    pub from: String,
    pub locked: Option<String>,
    pub name: String,
    pub requirement: String,
}

pub fn list<A>(session: &Session<'_, A>) -> Result<PythonList> {
    let manifest = session.manifest()?;
    let uv_lock = fs_err::read_to_string(session.env.cec.join("uv.lock")).unwrap_or_default();
    let installed = crate::observe::Installed::load(&session.env.state).unwrap_or_default();
    let locked = crate::python::uvlock::packages(&uv_lock, installed.torch_backend.as_deref());
    let mut rows = Vec::new();
    let mut push = |req: &str, from: String| {
        let name = requirement_name(req).unwrap_or_default();
        rows.push(RequirementRow {
            from,
            locked: locked.get(&name).cloned(),
            requirement: req.to_string(),
            name,
        });
    };
    for r in manifest.dependencies() {
        push(&r, "ComfyUI".into());
    }
    let backends = manifest.config().torch_backends.clone();
    if !backends.is_empty() {
        for r in manifest.torch_requirements() {
            push(&r, format!("torch backends ({})", backends.join(", ")));
        }
    }
    let node_ids: Vec<String> = manifest.config().nodes.keys().map(ToString::to_string).collect();
    for (group, reqs) in manifest.dependency_groups() {
        let from = if group == ENVIRONMENT_GROUP {
            "environment".to_string()
        } else if node_ids.contains(&group) {
            format!("node {group}")
        } else {
            format!("group {group}")
        };
        for r in reqs {
            push(&r, from.clone());
        }
    }
    Ok(PythonList {
        constraints: manifest.constraints(),
        requirements: rows,
        torch_backend: installed.torch_backend,
    })
}

/// A requirement as uv takes it, and its normalised name; lines uv cannot take are refused
/// with the parser's reason.
fn checked_name(req: &str) -> Result<String> {
    let parsed = parse_requirements(req);
    if let Some(r) = parsed.rejected.first() {
        return Err(miette!(
            code = "comfydock::python::invalid_requirement",
            help = "give a PEP 508 requirement: `name`, `name>=1.0`, `name[extra]==2.0`, `name @ https://...`",
            "`{}` cannot be a requirement: {}",
            r.text,
            r.reason
        ));
    }
    parsed
        .accepted
        .first()
        .and_then(|r| requirement_name(r))
        .ok_or_else(|| miette!(code = "comfydock::python::invalid_requirement", "`{req}` is empty"))
}

/// Applies `change` to the manifest (which returns the generation's message), then saves, locks
/// and applies as far as `reach` says.
fn edit(
    session: &mut Session,
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
    change: impl FnOnce(&mut Manifest) -> Result<String>,
) -> Result<PythonEdited> {
    let mut manifest = session.manifest()?;
    let message = change(&mut manifest)?;
    let edited = edit_and_apply(session, &manifest, Update::Nothing, reach, &message, on_plan)?;
    Ok(PythonEdited {
        message,
        generation: edited.generation.map(|g| g.number),
    })
}
