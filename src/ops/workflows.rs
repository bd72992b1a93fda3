//! The tracked workflows of an environment and their state (`workflow status`).

use crate::manifest::{Manifest, Requires};
use crate::observe::Installed;
use crate::observe::workflows;
use crate::plan::{WorkflowChange, workflow_change};
use crate::types::Blake3;
use crate::workspace::EnvPaths;
use miette::{IntoDiagnostic, Result};
use serde::Serialize;

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
                let desired = Blake3::of_bytes(&bytes).to_string();
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
