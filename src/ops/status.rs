//! `status`: where the environment stands against its lock, and the drift a person made by hand
//! (each kind of drift is one [`Drift`] variant, worded in one place).

use crate::observe::NodeState;
use crate::reconcile::Session;
use crate::resolve::{Freshness, Resolved};
use miette::Result;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// The drift, worded for people (the same words in text and JSON), most important first.
    pub drift: Vec<Drift>,
    pub environment: String,
    pub generation: u64,
    /// The lock is fresh, the plan is empty, and no apply was cut off.
    pub in_sync: bool,
    pub lock: LockState,
    pub pending_actions: usize,
    /// Locked models this machine leaves out (`import --models skip`): not drift, but said.
    pub skipped_models: usize,
    /// Folders in custom_nodes/ comfydock does not manage: `node adopt NAME` declares one.
    pub untracked: Vec<String>,
    /// The plan's counts, when the environment is locked.
    #[serde(skip)]
    pub pending: Option<crate::plan::Summary>,
    #[serde(skip)]
    pub root: std::path::PathBuf,
}

/// The lock against the manifest, as `status` words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockState(pub Freshness);

impl std::fmt::Display for LockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Freshness::Fresh => f.write_str("up to date"),
            Freshness::Missing => f.write_str("missing (run `comfydock lock`)"),
            Freshness::Stale(reason) => write!(f, "out of date: {reason}"),
        }
    }
}

impl Serialize for LockState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One thing on disk that is not what the last apply left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// An apply was cut off (kill, power loss) and left its journal: said first, it explains
    /// the rest.
    Interrupted,
    ComfyuiMoved {
        head: String,
        locked: String,
    },
    ComfyuiFiles {
        changes: String,
    },
    NodeMissing {
        id: String,
    },
    NodeModified {
        id: String,
        changes: String,
    },
    ModelMissing {
        key: String,
    },
    ModelModified {
        key: String,
    },
    /// comfydock's section of `ComfyUI/extra_model_paths.yaml` is missing or was edited.
    ModelPaths {
        why: String,
    },
    WorkflowEdited {
        name: String,
    },
    Untracked {
        folder: String,
    },
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::plan::short;
        match self {
            Drift::Interrupted => f.write_str(
                "an apply was interrupted; the next command that changes the environment finishes or undoes it (`comfydock recover` does it now)",
            ),
            Drift::ComfyuiMoved { head, locked } => {
                write!(f, "ComfyUI is at {} instead of {}", short(head), short(locked))
            }
            Drift::ComfyuiFiles { changes } => write!(f, "ComfyUI's own files: {changes}"),
            Drift::NodeMissing { id } => write!(f, "node {id} is missing from custom_nodes/"),
            Drift::NodeModified { id, changes } => write!(f, "node {id}: {changes}"),
            Drift::ModelMissing { key } => write!(f, "model {key} is missing from its model folder"),
            Drift::ModelModified { key } => write!(f, "model {key} was changed or relinked by hand"),
            Drift::ModelPaths { why } => write!(f, "ComfyUI/extra_model_paths.yaml: {why}"),
            Drift::WorkflowEdited { name } => write!(
                f,
                "workflow {name} was edited in ComfyUI (`comfydock workflow sync {}` keeps it)",
                crate::shell::quote(name)
            ),
            Drift::Untracked { folder } => write!(f, "custom_nodes/{folder} is not managed by comfydock"),
        }
    }
}

impl Serialize for Drift {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub fn status<A>(session: &Session<'_, A>) -> Result<StatusReport> {
    let state = session.read_state()?;
    let freshness = session.freshness_of(&state.manifest, state.lock.as_ref(), state.uv_lock.as_deref());
    let lock = state.lock;
    let planned = match &lock {
        Some(lock) => Some(
            session
                .plan_observed(
                    &Resolved {
                        lock: lock.clone(),
                        uv_lock: state.uv_lock.unwrap_or_default(),
                        pyproject: None,
                    },
                    state.observed,
                )
                .map_err(miette::Report::new)?,
        ),
        None => None,
    };
    let interrupted = session.env.state.join(crate::apply::JOURNAL_FILE).exists();
    let mut drift = Vec::new();
    if interrupted {
        drift.push(Drift::Interrupted);
    }
    if let Some(p) = &planned {
        let observed = &p.observed;
        if let (Some(head), Some(lock)) = (&observed.comfyui_commit, &lock)
            && *head != lock.comfyui.commit
        {
            drift.push(Drift::ComfyuiMoved {
                head: head.to_string(),
                locked: lock.comfyui.commit.to_string(),
            });
        }
        if let NodeState::Modified { .. } = &observed.comfyui_files {
            drift.push(Drift::ComfyuiFiles {
                changes: observed.comfyui_files.describe_changes(),
            });
        }
        for (id, state) in &observed.nodes {
            match state {
                NodeState::Intact => {}
                NodeState::Missing => drift.push(Drift::NodeMissing { id: id.to_string() }),
                NodeState::Modified { .. } => drift.push(Drift::NodeModified {
                    id: id.to_string(),
                    changes: state.describe_changes(),
                }),
            }
        }
        for (key, state) in &observed.models {
            match state {
                NodeState::Intact => {}
                NodeState::Missing => drift.push(Drift::ModelMissing { key: key.to_string() }),
                NodeState::Modified { .. } => drift.push(Drift::ModelModified { key: key.to_string() }),
            }
        }
        if let Some(why) = &observed.model_paths {
            drift.push(Drift::ModelPaths { why: why.to_string() });
        }
        for action in &p.plan.actions {
            if let crate::plan::Action::Workflow {
                name,
                change: crate::plan::WorkflowChange::Edited | crate::plan::WorkflowChange::Beside,
                ..
            } = action
            {
                drift.push(Drift::WorkflowEdited { name: name.to_string() });
            }
        }
        for name in &observed.untracked {
            drift.push(Drift::Untracked {
                folder: name.to_string(),
            });
        }
    }
    let in_sync = freshness == Freshness::Fresh && planned.as_ref().is_some_and(|p| p.plan.is_empty()) && !interrupted;
    Ok(StatusReport {
        drift,
        environment: session.env.name.to_string(),
        generation: planned.as_ref().map_or(0, |p| p.observed.installed.generation),
        in_sync,
        lock: LockState(freshness),
        pending_actions: planned.as_ref().map_or(0, |p| p.plan.actions.len()),
        skipped_models: planned.as_ref().map_or(0, |p| p.plan.skipped_models.len()),
        untracked: planned.as_ref().map_or(Vec::new(), |p| {
            p.observed.untracked.iter().map(|u| u.to_string()).collect()
        }),
        pending: planned.as_ref().map(|p| p.plan.summary()),
        root: session.env.root.clone(),
    })
}
