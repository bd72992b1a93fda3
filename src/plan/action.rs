//! The typed actions a plan is made of. Each has a stable id, a kind (add, change, destroy)
//! and one human line. An action that places something from the lock carries the lock entry it
//! was planned from (not serialized: the JSON names it by id), so apply never looks it up again
//! and has no "not in the lock" case: the plan is made from the lock, and a saved plan is
//! planned again from the lock it carries.

use crate::manifest::{LockedModel, LockedWorkflow, NodeSource, PackPin};
use crate::python::PackageChange;
use crate::types::{GitCommit, GitRef, ModelKey, NodeId, RelPath, WorkflowName};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// ComfyUI is not checked out: clone it at the locked commit.
    CloneComfyui { rev: GitRef, commit: GitCommit },
    /// ComfyUI is at another commit than the lock's.
    CheckoutComfyui {
        from: GitCommit,
        rev: GitRef,
        to: GitCommit,
    },
    /// ComfyUI's own tracked files were edited or deleted by hand: the locked commit's files are
    /// restored, the user's versions kept in the trash.
    RestoreComfyui {
        commit: GitCommit,
        files: Vec<String>,
        #[serde(default)]
        deleted: Vec<String>,
    },
    /// A node that is not installed (replacing an untracked folder of the same name, if any).
    InstallNode {
        id: NodeId,
        #[serde(serialize_with = "plan_source")]
        source: NodeSource,
        version: String,
        /// Whether the pack's install.py runs when it is staged (`install = "run"`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        run_install: bool,
        /// `!` lines under the action (an install script, a newer ComfyUI needed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
        /// The lock entry placed.
        #[serde(skip)]
        pin: PackPin,
    },
    /// A node installed at another pin, or changed on disk.
    UpdateNode {
        id: NodeId,
        #[serde(serialize_with = "plan_source")]
        source: NodeSource,
        from: String,
        to: String,
        reason: String,
        /// Whether the pack's install.py runs when it is staged (`install = "run"`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        run_install: bool,
        /// `!` lines under the action (an install script, a newer ComfyUI needed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
        /// The lock entry placed.
        #[serde(skip)]
        pin: PackPin,
    },
    /// A dev node: a symlink to the user's folder, never copied, moved or deleted.
    LinkDevNode { id: NodeId, path: String },
    /// An installed node that the manifest no longer has: moved to trash (a dev node's link is removed).
    RemoveNode {
        id: NodeId,
        linked: bool,
        /// Tracked workflows that require this pack: removing it breaks them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        required_by: Vec<String>,
    },
    /// A folder in custom_nodes/ that comfydock did not put there: moved to trash.
    TrashUntracked { name: String },
    /// A declared model is not in place: link (or hardlink, or copy) it from a local file with its
    /// content, downloading it first when no such file is known.
    LinkModel {
        key: ModelKey,
        /// `models/<category>/<filename>` under ComfyUI.
        path: RelPath,
        size: Option<u64>,
        mode: crate::observe::LinkMode,
        /// `index` (a local file has the content), `download: <source>`, or `unavailable`.
        origin: String,
        /// Why an existing entry is replaced (missing, changed, other link mode); None: new.
        replace: Option<String>,
        /// The lock entry placed.
        #[serde(skip)]
        locked: LockedModel,
    },
    /// A model the manifest no longer declares: its link goes (a copy goes to the trash); the
    /// model file itself is never deleted.
    UnlinkModel {
        key: ModelKey,
        path: String,
        /// Tracked workflows that require this model: removing it breaks them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        required_by: Vec<String>,
    },
    /// ComfyUI reads the placed models (the live model tree) through comfydock's section of
    /// `ComfyUI/extra_model_paths.yaml`: written again when it is gone or was changed, and once
    /// when links an older comfydock made in `ComfyUI/models/` move into a model tree.
    ModelPaths { reason: String },
    /// A tracked workflow and ComfyUI's copy of it (`user/default/workflows/NAME.json`).
    Workflow {
        name: WorkflowName,
        change: WorkflowChange,
        /// The lock entry placed.
        #[serde(skip)]
        locked: LockedWorkflow,
    },
    /// The venv does not match uv.lock (for the chosen torch backend): build it, or reuse a
    /// generation's venv that does.
    SyncPython {
        reason: String,
        reuse: Option<String>,
        /// The torch backend extra synced (`uv sync --extra <backend>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backend: Option<crate::types::TorchBackend>,
        /// Package by package, from the live venv's uv.lock to the new one.
        #[serde(default)]
        packages: Vec<PackageChange>,
        /// What resolution did not take from node packs (skipped lines, torch kept).
        #[serde(default)]
        notes: Vec<String>,
    },
}

/// What apply does with ComfyUI's copy of a tracked workflow. A copy the user edited is never
/// overwritten: `Edited` only reports it, `Beside` writes the tracked version next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowChange {
    /// Not in ComfyUI yet: placed.
    Place,
    /// Placed before, deleted in ComfyUI since: placed again.
    Restore,
    /// The tracked version changed and ComfyUI's copy is the one placed before: replaced (the old
    /// copy goes to the trash).
    Update,
    /// ComfyUI's copy already is the tracked version (after `track` or `sync`): recorded.
    Adopt,
    /// Edited in ComfyUI, unchanged in `.cec`: drift, kept as it is.
    Edited,
    /// Edited in ComfyUI and changed in `.cec`: the tracked version is written beside the copy as
    /// `NAME.cec.json`.
    Beside,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Create,
    Update,
    Delete,
}

impl Kind {
    pub fn symbol(self) -> char {
        match self {
            Kind::Create => '+',
            Kind::Update => '~',
            Kind::Delete => '-',
        }
    }
}

impl Action {
    pub fn id(&self) -> String {
        match self {
            Action::CloneComfyui { .. } | Action::CheckoutComfyui { .. } | Action::RestoreComfyui { .. } => {
                "comfyui".into()
            }
            Action::InstallNode { id, .. }
            | Action::UpdateNode { id, .. }
            | Action::LinkDevNode { id, .. }
            | Action::RemoveNode { id, .. } => format!("node.{id}"),
            Action::TrashUntracked { name } => format!("untracked.{name}"),
            Action::SyncPython { .. } => "python".into(),
            Action::ModelPaths { .. } => "model_paths".into(),
            Action::LinkModel { key, .. } | Action::UnlinkModel { key, .. } => format!("model.{key}"),
            Action::Workflow { name, .. } => format!("workflow.{name}"),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Action::CloneComfyui { .. } | Action::InstallNode { .. } | Action::LinkDevNode { .. } => Kind::Create,
            Action::Workflow {
                change: WorkflowChange::Place | WorkflowChange::Restore,
                ..
            } => Kind::Create,
            Action::Workflow { .. } => Kind::Update,
            Action::LinkModel { replace: None, .. } => Kind::Create,
            Action::CheckoutComfyui { .. }
            | Action::RestoreComfyui { .. }
            | Action::UpdateNode { .. }
            | Action::SyncPython { .. }
            | Action::ModelPaths { .. }
            | Action::LinkModel { replace: Some(_), .. } => Kind::Update,
            Action::RemoveNode { .. } | Action::TrashUntracked { .. } | Action::UnlinkModel { .. } => Kind::Delete,
        }
    }

    /// The line after the symbol in `plan` output.
    pub fn describe(&self) -> String {
        match self {
            Action::CloneComfyui { rev, commit } => format!("comfyui {rev} ({})", commit.short()),
            Action::CheckoutComfyui { from, rev, to } => format!("comfyui {} -> {rev} ({})", from.short(), to.short()),
            Action::RestoreComfyui { files, deleted, .. } => format!(
                "comfyui: restore files edited by hand ({}); your versions go to the trash",
                crate::observe::NodeState::Modified {
                    files: files.clone(),
                    deleted: deleted.clone(),
                    added: Vec::new(),
                }
                .describe_changes()
            ),
            Action::InstallNode {
                id, source, version, ..
            } => format!("node {id} {version} ({})", source_name(*source)),
            Action::UpdateNode {
                id,
                source,
                from,
                to,
                reason,
                ..
            } if from == to => {
                format!("node {id} {to} ({}): reinstall, {reason}", source_name(*source))
            }
            Action::UpdateNode {
                id, source, from, to, ..
            } => format!("node {id} {from} -> {to} ({})", source_name(*source)),
            Action::LinkDevNode { id, path } => format!("node {id} -> {path} (dev, linked)"),
            Action::RemoveNode {
                id,
                linked: true,
                required_by,
            } => format!(
                "node {id} (dev link removed; its folder is kept){}",
                required_note(required_by)
            ),
            Action::RemoveNode {
                id,
                linked: false,
                required_by,
            } => format!("node {id} (moved to trash){}", required_note(required_by)),
            Action::TrashUntracked { name } => {
                format!("custom_nodes/{name} (untracked; moved to trash; to keep it: comfydock node adopt {name})")
            }
            Action::LinkModel {
                key,
                path,
                size,
                mode,
                origin,
                replace,
                ..
            } => {
                let size = size.map(|s| format!(" {}", human_size(s))).unwrap_or_default();
                let why = replace.as_ref().map(|r| format!("; {r}")).unwrap_or_default();
                format!("model {key}{size} -> {path} ({mode} from {origin}{why})")
            }
            Action::UnlinkModel { key, path, required_by } => format!(
                "model {key} (link {path} removed; the model file is kept){}",
                required_note(required_by)
            ),
            Action::ModelPaths { reason } => {
                format!("ComfyUI/extra_model_paths.yaml: comfydock's section for the placed models ({reason})")
            }
            Action::Workflow { name, change, .. } => match change {
                WorkflowChange::Place => format!(
                    "workflow {name} -> {}/{name}.json",
                    crate::observe::workflows::WORKFLOWS_DIR
                ),
                WorkflowChange::Restore => format!("workflow {name} (deleted in ComfyUI; placed again)"),
                WorkflowChange::Update => format!("workflow {name} (tracked version changed; ComfyUI's copy updated)"),
                WorkflowChange::Adopt => format!("workflow {name} (ComfyUI's copy is the tracked version)"),
                WorkflowChange::Edited => format!("workflow {name} (edited in ComfyUI)"),
                WorkflowChange::Beside => format!(
                    "workflow {name} (edited in ComfyUI and changed in .cec; the tracked version is written beside it as {name}.cec.json)"
                ),
            },
            Action::SyncPython {
                reason,
                reuse,
                backend,
                packages,
                ..
            } => {
                let mut counts = [0usize; 3];
                for p in packages {
                    counts[match p {
                        PackageChange::Add { .. } => 0,
                        PackageChange::Update { .. } => 1,
                        PackageChange::Remove { .. } => 2,
                    }] += 1;
                }
                let what = match (reuse, backend) {
                    (Some(dir), _) => format!("switch to {dir}"),
                    (None, Some(b)) => format!("uv sync --extra {b}"),
                    (None, None) => "uv sync".to_string(),
                };
                let mut why = reason.clone();
                if !packages.is_empty() {
                    why.push_str(&format!("; +{} ~{} -{} packages", counts[0], counts[1], counts[2]));
                }
                format!("python: {what} ({why})")
            }
        }
    }

    /// Lines shown under the action's line: one per changed package (`+ numpy 1.26.4`), and
    /// `!` notes.
    pub fn detail_lines(&self) -> Vec<String> {
        match self {
            Action::SyncPython { packages, notes, .. } => packages
                .iter()
                .map(|p| format!("{} {}", p.symbol(), p.describe()))
                .chain(notes.iter().map(|n| format!("! {n}")))
                .collect(),
            Action::InstallNode { notes, .. } | Action::UpdateNode { notes, .. } => {
                notes.iter().map(|n| format!("! {n}")).collect()
            }
            Action::Workflow {
                name,
                change: WorkflowChange::Edited,
                ..
            } => vec![format!(
                "! apply keeps your copy; `comfydock workflow sync {}` takes it into .cec",
                crate::shell::quote(name)
            )],
            _ => Vec::new(),
        }
    }
}

impl Action {
    /// Reports drift and changes nothing: a plan of only these is applied as no change.
    pub fn is_notice(&self) -> bool {
        matches!(
            self,
            Action::Workflow {
                change: WorkflowChange::Edited,
                ..
            }
        )
    }

    /// The tracked workflows this action breaks (a removed pack or model they require).
    pub fn breaks(&self) -> &[String] {
        match self {
            Action::RemoveNode { required_by, .. } | Action::UnlinkModel { required_by, .. } => required_by,
            _ => &[],
        }
    }
}

/// How plans name a node's source: a `local` node is a `dev` node there.
fn plan_source<S: serde::Serializer>(source: &NodeSource, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(source_name(*source))
}

pub(super) fn source_name(source: NodeSource) -> &'static str {
    match source {
        NodeSource::Registry => "registry",
        NodeSource::Git => "git",
        NodeSource::Local => "dev",
        NodeSource::Comfydock => "comfydock",
    }
}

fn required_note(required_by: &[String]) -> String {
    if required_by.is_empty() {
        String::new()
    } else {
        format!("  (required by workflows {})", required_by.join(", "))
    }
}

/// `4.0 GiB`, `512.0 MiB`, `12 B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The first 10 characters of a commit id (all of it when shorter, or not plain ASCII).
pub fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}
