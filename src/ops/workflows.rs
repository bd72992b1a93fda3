//! The tracked workflows of an environment: their state (`workflow status`), and the edits of
//! tracking (`workflow track/sync/untrack/import`), each worked out as a [`WorkflowEdit`] and
//! applied through the one edit transaction (`ops::edit`).

use super::edit::Edited;
use crate::manifest::{Manifest, Requires, TrackedWorkflow};
use crate::observe::Installed;
use crate::observe::workflows::{self, WorkflowCopy};
use crate::plan::{Plan, WorkflowChange, workflow_change};
use crate::reconcile::Session;
use crate::types::{Blake3, RelPath, WorkflowName};
use crate::workflow::requires::Needs;
use crate::workspace::EnvPaths;
use miette::{IntoDiagnostic, Result, miette};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `workflow status --json`.
#[derive(Debug, Serialize)]
pub struct WorkflowStatusReport {
    pub environment: String,
    pub workflows: Vec<WorkflowRow>,
}

/// The state of one tracked workflow.
#[derive(Debug, Serialize)]
pub struct WorkflowRow {
    pub name: String,
    pub file: String,
    /// The user's own labels from the manifest, shown as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub state: &'static str,
    pub requires: Requires,
}

pub fn state_text(change: Option<WorkflowChange>) -> &'static str {
    match change {
        None => "in sync",
        Some(WorkflowChange::Place) => "not in ComfyUI yet (apply places it)",
        Some(WorkflowChange::Restore) => "deleted in ComfyUI (apply places it again)",
        Some(WorkflowChange::Update) => "changed in .cec (apply updates ComfyUI's copy)",
        Some(WorkflowChange::Adopt) => "same in both (apply records it)",
        Some(WorkflowChange::Edited) => "edited in ComfyUI (`workflow sync` takes it into .cec)",
        Some(WorkflowChange::Beside) => "edited in ComfyUI and changed in .cec",
    }
}

pub fn status(env: &EnvPaths) -> Result<WorkflowStatusReport> {
    let manifest = Manifest::load(&env.pyproject())?;
    let installed = Installed::load(&env.state).into_diagnostic()?;
    let mut rows = Vec::new();
    for (name, t) in &manifest.config().workflows.tracked {
        let state = match crate::workflow::read_tracked(env.cec.join(t.file.as_str())) {
            Err(_) => "missing in .cec (`workflow untrack` or put the file back)",
            Ok(bytes) => {
                let desired = Blake3::of_bytes(&bytes);
                let record = installed.workflows.get(name.as_str());
                let copy = workflows::observe_copy(env, name, record);
                state_text(workflow_change(&desired, record, &copy))
            }
        };
        rows.push(WorkflowRow {
            name: name.to_string(),
            file: t.file.to_string(),
            version: t.version.clone(),
            description: t.description.clone(),
            state,
            requires: t.requires.clone(),
        });
    }
    Ok(WorkflowStatusReport {
        environment: env.name.clone(),
        workflows: rows,
    })
}

/// A workflow a tracking edit looked at, in the order it did.
pub enum Looked {
    /// Taken into the edit, with what it needs.
    Taken { name: WorkflowName, needs: Needs },
    /// Found by `track --all` but not a name comfydock can track.
    BadName { file: String },
    /// Found by `track --all` but unreadable or not a workflow: the others are tracked.
    Unreadable { name: WorkflowName, error: miette::Report },
}

/// A tracking edit (see [`apply_edit`]): the edited manifest and the `.cec` files it writes
/// (None: deletes). No files: nothing to do.
pub struct WorkflowEdit {
    pub manifest: Manifest,
    pub files: Vec<(PathBuf, Option<Vec<u8>>)>,
    pub looked: Vec<Looked>,
}

impl WorkflowEdit {
    fn new(manifest: Manifest) -> Self {
        WorkflowEdit {
            manifest,
            files: Vec::new(),
            looked: Vec::new(),
        }
    }

    /// The workflows the edit takes, in order.
    pub fn taken(&self) -> Vec<&str> {
        self.looked
            .iter()
            .filter_map(|l| match l {
                Looked::Taken { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Takes `bytes` as the tracked version of `name` in `file`.
    fn take(&mut self, cec: &Path, name: WorkflowName, file: RelPath, bytes: Vec<u8>, needs: Needs) {
        self.files.push((cec.join(file.as_str()), Some(bytes)));
        self.manifest.set_workflow(
            &name,
            &TrackedWorkflow {
                file,
                requires: needs.requires.clone(),
                version: None,
                description: None,
                test: None,
            },
        );
        self.looked.push(Looked::Taken { name, needs });
    }
}

/// `workflows/<name>.json`, relative to `.cec`.
pub fn tracked_file(name: &WorkflowName) -> Result<RelPath> {
    format!("workflows/{name}.json").parse().into_diagnostic()
}

pub fn not_tracked(name: &str) -> miette::Report {
    miette!(
        code = "comfydock::workflow::not_tracked",
        help = "`comfydock workflow status` lists the tracked workflows; `comfydock workflow track NAME` tracks one",
        "workflow `{name}` is not tracked"
    )
}

/// `workflow track`: ComfyUI's copies of `names` and, with `all`, of every workflow in its
/// folder not tracked or ignored yet. A named workflow that cannot be tracked fails the edit;
/// one found by `all` is skipped (and said so in `looked`).
pub fn track(session: &Session, names: &[WorkflowName], all: bool) -> Result<WorkflowEdit> {
    let env = &session.env;
    let mut edit = WorkflowEdit::new(session.manifest()?);
    let mut chosen = names.to_vec();
    let named = chosen.len();
    if all {
        let ignore = crate::workflow::ignore::IgnoreList::load(&env.cec.join(".comfydockignore"));
        for file in user_workflows(env) {
            let Ok(parsed) = file.parse::<WorkflowName>() else {
                edit.looked.push(Looked::BadName { file });
                continue;
            };
            if ignore.ignores(&file) || edit.manifest.config().workflows.tracked.contains_key(&parsed) {
                continue;
            }
            chosen.push(parsed);
        }
    }
    for (i, name) in chosen.into_iter().enumerate() {
        let source = workflows::copy_path(env, &name);
        let read = crate::workflow::read_file(&source)
            .map_err(|e| {
                miette!(
                    code = "comfydock::workflow::not_in_comfyui",
                    help = "`track` takes workflows saved in ComfyUI's user/default/workflows/; `comfydock workflow import FILE` takes any other file",
                    "cannot read {}: {e}",
                    source.display()
                )
            })
            .and_then(|bytes| {
                let needs = needs_of(session, &bytes, &source.display().to_string(), &edit.manifest)?;
                Ok((bytes, needs))
            });
        match read {
            Ok((bytes, needs)) => {
                let file = tracked_file(&name)?;
                edit.take(&env.cec, name, file, bytes, needs);
            }
            Err(error) if i >= named => edit.looked.push(Looked::Unreadable { name, error }),
            Err(e) => return Err(e),
        }
    }
    Ok(edit)
}

/// Workflow names in ComfyUI's folder (`NAME.json`, not the `NAME.cec.json` comfydock writes).
fn user_workflows(env: &EnvPaths) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(workflows::workflows_dir(env)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let stem = file.strip_suffix(".json")?;
            (!stem.ends_with(".cec")).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    names
}

/// `workflow sync`: ComfyUI's copies that differ from the tracked versions (of `only`, when
/// given), taken into `.cec`.
pub fn sync(session: &Session, only: Option<&WorkflowName>) -> Result<WorkflowEdit> {
    let env = &session.env;
    let mut edit = WorkflowEdit::new(session.manifest()?);
    let installed = Installed::load(&env.state).into_diagnostic()?;
    let tracked = edit.manifest.config().workflows.tracked.clone();
    if let Some(n) = only
        && !tracked.contains_key(n)
    {
        return Err(not_tracked(n));
    }
    for (name, t) in tracked.iter().filter(|(n, _)| only.is_none_or(|o| o == *n)) {
        let record = installed.workflows.get(name.as_str());
        let WorkflowCopy::Present { blake3, .. } = workflows::observe_copy(env, name, record) else {
            continue;
        };
        let current = crate::workflow::read_tracked(env.cec.join(t.file.as_str()))
            .ok()
            .map(|b| Blake3::of_bytes(&b));
        if current.as_ref() == Some(&blake3) {
            continue;
        }
        let copy = workflows::copy_path(env, name);
        let bytes = crate::workflow::read_file(&copy).map_err(|e| miette!("cannot read {}: {e}", copy.display()))?;
        let needs = needs_of(session, &bytes, &copy.display().to_string(), &edit.manifest)?;
        edit.take(&env.cec, name.clone(), t.file.clone(), bytes, needs);
    }
    Ok(edit)
}

/// `workflow untrack`: the entry and its file in `.cec` go; ComfyUI's copy stays.
pub fn untrack(session: &Session, name: &WorkflowName) -> Result<WorkflowEdit> {
    let mut edit = WorkflowEdit::new(session.manifest()?);
    let Some(tracked) = edit.manifest.config().workflows.tracked.get(name).cloned() else {
        return Err(not_tracked(name));
    };
    edit.manifest.remove_workflow(name);
    edit.files.push((session.env.cec.join(tracked.file.as_str()), None));
    Ok(edit)
}

/// `workflow import`: `json` (a workflow from any file) tracked as `name`.
pub fn import(session: &Session, name: WorkflowName, json: Vec<u8>, label: &str) -> Result<WorkflowEdit> {
    let mut edit = WorkflowEdit::new(session.manifest()?);
    if edit.manifest.config().workflows.tracked.contains_key(&name) {
        return Err(miette!(
            code = "comfydock::workflow::already_tracked",
            help = format!(
                "pick another name with `--name`, or `comfydock workflow untrack {}` first",
                crate::shell::quote(&name)
            ),
            "a workflow named `{name}` is already tracked"
        ));
    }
    let needs = needs_of(session, &json, label, &edit.manifest)?;
    let file = tracked_file(&name)?;
    edit.take(&session.env.cec, name, file, json, needs);
    Ok(edit)
}

/// What a workflow requires of the session's environment (see `ops::workflow_needs`).
fn needs_of(session: &Session, bytes: &[u8], label: &str, manifest: &Manifest) -> Result<Needs> {
    super::workflow_needs::needs(session.ws, &session.env, manifest, bytes, label)
}

/// Applies a tracking edit through the one edit transaction (`ops::edit`): a new generation,
/// or, when nothing on disk changes, a `.cec` commit. Any failure puts `.cec` back.
pub fn apply_edit(
    session: &mut Session,
    edit: &WorkflowEdit,
    message: &str,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<Edited> {
    super::edit::edit_files_and_apply(session, &edit.manifest, &edit.files, message, on_plan)
}
