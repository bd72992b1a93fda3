//! ComfyUI's copies of tracked workflows (`ComfyUI/user/default/workflows/NAME.json`), observed
//! cheaply: a copy whose size, mtime and inode are what the last generation recorded is the
//! one comfydock placed and is not read; anything else is hashed once.

use super::{Fingerprint, Installed};
use crate::types::Blake3;
use crate::workspace::EnvPaths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where ComfyUI's frontend keeps the user's workflows, relative to the ComfyUI folder.
pub const WORKFLOWS_DIR: &str = "user/default/workflows";

/// ComfyUI's folder of user workflows.
pub fn workflows_dir(env: &EnvPaths) -> PathBuf {
    env.comfyui.join(WORKFLOWS_DIR)
}

/// `ComfyUI/user/default/workflows/<name>.json`.
pub fn copy_path(env: &EnvPaths, name: &str) -> PathBuf {
    workflows_dir(env).join(format!("{name}.json"))
}

/// Where the tracked version goes when both sides changed: `<name>.cec.json` beside the copy.
pub fn beside_path(env: &EnvPaths, name: &str) -> PathBuf {
    workflows_dir(env).join(format!("{name}.cec.json"))
}

/// What comfydock placed for a tracked workflow in the live generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledWorkflow {
    /// `blake3:<hex>` of the version comfydock placed; None when the user's own file was there
    /// first and was left alone.
    pub blake3: Option<Blake3>,
    /// Of the copy as placed: while it holds, the copy is unchanged.
    pub fingerprint: Fingerprint,
    /// The tracked version written beside an edited copy (`NAME.cec.json`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beside: Option<Blake3>,
}

/// ComfyUI's copy of one tracked workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WorkflowCopy {
    Missing,
    /// Unchanged since comfydock placed it.
    Placed,
    /// A file with this content (not, or no longer, what comfydock placed).
    Present {
        blake3: Blake3,
        fingerprint: Fingerprint,
    },
}

/// The copies of every workflow the live generation placed.
pub fn observe_placed(env: &EnvPaths, installed: &Installed) -> BTreeMap<crate::types::WorkflowName, WorkflowCopy> {
    installed
        .workflows
        .iter()
        .map(|(name, record)| (name.clone(), observe_copy(env, name, Some(record))))
        .collect()
}

/// The copy of `name`, compared with what was placed (`record`).
pub fn observe_copy(env: &EnvPaths, name: &str, record: Option<&InstalledWorkflow>) -> WorkflowCopy {
    let path = copy_path(env, name);
    let Ok(meta) = fs_err::metadata(&path) else {
        return WorkflowCopy::Missing;
    };
    let fingerprint = Fingerprint::of(&meta);
    if let Some(r) = record
        && r.blake3.is_some()
        && r.fingerprint == fingerprint
    {
        return WorkflowCopy::Placed;
    }
    let Ok(bytes) = crate::workflow::read_file(&path) else {
        return WorkflowCopy::Missing;
    };
    let blake3 = Blake3::of_bytes(&bytes);
    if record.is_some_and(|r| r.blake3.as_ref() == Some(&blake3)) {
        // Touched (saved unchanged, copied back): the same content is still what was placed.
        return WorkflowCopy::Placed;
    }
    WorkflowCopy::Present { blake3, fingerprint }
}
