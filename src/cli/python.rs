//! `py add/remove/list` and `constraint add/remove/list`: the environment's own Python
//! requirements (dependency group `environment`) and `[tool.uv] constraint-dependencies`.

use super::args::{ConstraintCommand, PyCommand};
use super::edit::edit_and_apply;
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::manifest::Manifest;
use crate::python::conflict::ENVIRONMENT_GROUP;
use crate::python::{is_torch_family, parse_requirements, requirement_name};
use crate::resolve::Update;
use miette::{Result, miette};

pub fn py(g: &Globals, cmd: &PyCommand) -> Result<ExitStatus> {
    match cmd {
        PyCommand::Add { requirements, no_apply } => edit(g, "py add", *no_apply, |m| {
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
        }),
        PyCommand::Remove { name, no_apply } => edit(g, "py remove", *no_apply, |m| {
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
        }),
        PyCommand::List { json } => list(g, *json),
    }
}

pub fn constraint(g: &Globals, cmd: &ConstraintCommand) -> Result<ExitStatus> {
    match cmd {
        ConstraintCommand::Add { constraints, no_apply } => edit(g, "constraint add", *no_apply, |m| {
            let mut list = m.constraints();
            for c in constraints {
                let name = checked_name(c)?;
                list.retain(|r| requirement_name(r).as_deref() != Some(name.as_str()));
                list.push(c.trim().to_string());
            }
            m.set_constraints(&list);
            Ok(format!("Add constraint(s) {}", constraints.join(", ")))
        }),
        ConstraintCommand::Remove { name, no_apply } => edit(g, "constraint remove", *no_apply, |m| {
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
        }),
        ConstraintCommand::List { json } => {
            let (ws, env) = g.env()?;
            let session = g.reader(&ws, env);
            let constraints = session.manifest()?.constraints();
            if *json {
                let doc = serde_json::json!({ "format_version": "1", "constraints": constraints });
                outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
            } else if constraints.is_empty() {
                errln!("No constraints. Add one with `comfydock constraint add \"numpy<2\"`.");
            } else {
                for c in constraints {
                    outln!("{c}");
                }
            }
            Ok(ExitStatus::Success)
        }
    }
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

/// Edits the manifest, then locks and applies. Any failure (a conflict found by `uv lock`
/// included) puts the manifest and the locks back as they were: a failed command changes nothing.
fn edit(
    g: &Globals,
    command: &str,
    no_apply: bool,
    change: impl FnOnce(&mut Manifest) -> Result<String>,
) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, command)?;
    report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    let message = change(&mut manifest)?;
    edit_and_apply(&mut session, &manifest, Update::Nothing, no_apply, &message)?;
    errln!("{message}: done.");
    Ok(ExitStatus::Success)
}

fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let uv_lock = std::fs::read_to_string(session.env.cec.join("uv.lock")).unwrap_or_default();
    let installed = crate::observe::Installed::load(&session.env.state).unwrap_or_default();
    let locked = crate::python::uvlock::packages(&uv_lock, installed.torch_backend.as_deref());
    let mut rows = Vec::new();
    let mut push = |req: &str, from: String| {
        let name = requirement_name(req).unwrap_or_default();
        rows.push(serde_json::json!({
            "name": name,
            "requirement": req,
            "from": from,
            "locked": locked.get(&name),
        }));
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
    let constraints = manifest.constraints();
    if json {
        let doc = serde_json::json!({
            "format_version": "1",
            "requirements": rows,
            "constraints": constraints,
            "torch_backend": installed.torch_backend,
        });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
        return Ok(ExitStatus::Success);
    }
    for r in &rows {
        outln!(
            "{:32} {:28} {}",
            r["requirement"].as_str().unwrap_or(""),
            r["from"].as_str().unwrap_or(""),
            r["locked"].as_str().unwrap_or("-")
        );
    }
    for c in constraints {
        outln!("{c:32} {:28} -", "constraint");
    }
    Ok(ExitStatus::Success)
}
