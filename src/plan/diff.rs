//! desired (lock) × observed (disk) → actions and their order.

use super::{Action, Plan, WorkflowChange};
use crate::manifest::{Lock, LockedNode};
use crate::observe::workflows::{InstalledWorkflow, WorkflowCopy};
use crate::observe::{InstalledNode, NodeState, Observed};
use crate::types::Blake3;
use std::collections::BTreeMap;

/// The Python side of a plan's inputs.
pub struct PythonTarget<'a> {
    /// The torch backend to sync (None: the lock declares no backends).
    pub backend: Option<crate::types::TorchBackend>,
    /// The uv.lock to sync.
    pub uv_lock: &'a [u8],
    /// The uv.lock the live venv was synced from and its backend (None: no live venv).
    pub live: Option<(String, Option<crate::types::TorchBackend>)>,
    /// `venv_key` → an existing generation venv folder built from it (rollback reuses it).
    pub venvs: &'a BTreeMap<String, String>,
    /// The live venv's full Python version (`3.11.7`): which variant of a package forked by
    /// Python version this machine gets. None: the lock's `X.Y`, as `X.Y.0`.
    pub python_full: Option<String>,
}

/// What identifies a built venv: the uv.lock it was synced from and the backend extra.
pub fn venv_key(uv_lock_hash: &crate::types::Blake3, backend: Option<&str>) -> String {
    match backend {
        Some(b) => format!("{uv_lock_hash}+{b}"),
        None => uv_lock_hash.to_string(),
    }
}

/// What the models of a plan need besides the lock: the link mode this machine uses, and for
/// each model where its content is (`index`, `download: <source>`, `unavailable`).
pub struct ModelTarget {
    pub mode: crate::observe::LinkMode,
    pub origins: BTreeMap<String, String>,
}

pub fn diff(environment: &str, lock: &Lock, observed: &Observed, python: &PythonTarget, models: &ModelTarget) -> Plan {
    let mut plan = Plan::new(environment);

    let comfyui = match &observed.comfyui_commit {
        None => Some(plan.push(Action::CloneComfyui {
            rev: lock.comfyui.rev.clone(),
            commit: lock.comfyui.commit.clone(),
        })),
        Some(head) if *head != lock.comfyui.commit => Some(plan.push(Action::CheckoutComfyui {
            from: head.clone(),
            rev: lock.comfyui.rev.clone(),
            to: lock.comfyui.commit.clone(),
        })),
        Some(_) => match &observed.comfyui_files {
            NodeState::Modified { files, deleted, .. } => Some(plan.push(Action::RestoreComfyui {
                commit: lock.comfyui.commit.clone(),
                files: files.clone(),
                deleted: deleted.clone(),
            })),
            _ => None,
        },
    };
    // A fresh clone has no nodes in it: everything comfydock had installed must be placed again.
    let fresh_checkout = observed.comfyui_commit.is_none();

    let mut trashed = BTreeMap::new();
    for name in &observed.untracked {
        let i = plan.push(Action::TrashUntracked { name: name.clone() });
        trashed.insert(name.clone(), i);
    }

    let mut node_actions = Vec::new();
    for (id, node) in &lock.nodes {
        let installed = observed.installed.nodes.get(id.as_str());
        let state = if fresh_checkout {
            Some(&NodeState::Missing)
        } else {
            observed.nodes.get(id.as_str())
        };
        let action = match (node, node.pack_pin(), installed, state) {
            (LockedNode::Dev(dev), _, Some(inst), Some(NodeState::Intact))
                if inst.link() == Some(dev.path.as_str()) =>
            {
                None
            }
            (LockedNode::Dev(dev), _, _, _) => Some(Action::LinkDevNode {
                id: id.clone(),
                path: dev.path.clone(),
            }),
            (_, None, _, _) => None,
            (_, Some(pin), Some(inst), Some(state)) => {
                let placed_tree = inst.placed().map(|p| &p.tree);
                let (old_folder, new_folder) = (inst.folder(id), pin.folder(id));
                let reason = match state {
                    NodeState::Missing => Some("missing on disk".to_string()),
                    NodeState::Modified { .. } => Some(format!("edited on disk ({})", state.describe_changes())),
                    NodeState::Intact if placed_tree != Some(pin.tree()) => Some("new pin".to_string()),
                    NodeState::Intact if old_folder != new_folder => {
                        Some(format!("folder custom_nodes/{old_folder} -> custom_nodes/{new_folder}"))
                    }
                    NodeState::Intact => None,
                };
                reason.map(|reason| Action::UpdateNode {
                    id: id.clone(),
                    source: pin.source(),
                    from: match inst {
                        InstalledNode::Linked { link } => format!("(linked {link})"),
                        InstalledNode::Placed(p) => p.version.clone().unwrap_or_else(|| p.tree.to_string()),
                    },
                    to: pin.describe(),
                    reason,
                    run_install: false,
                    notes: Vec::new(),
                    pin,
                })
            }
            // Not installed, or installed but not observed.
            (_, Some(pin), _, _) => Some(Action::InstallNode {
                id: id.clone(),
                source: pin.source(),
                version: pin.describe(),
                run_install: false,
                notes: Vec::new(),
                pin,
            }),
        };
        if let Some(action) = action {
            let i = plan.push(action);
            if let Some(c) = comfyui {
                plan.edge(c, i);
            }
            if let Some(&t) = trashed.get(node.folder(id)) {
                plan.edge(t, i);
            }
            node_actions.push(i);
        }
    }
    for (id, inst) in &observed.installed.nodes {
        // After a fresh clone copied nodes are gone with the old tree; only links need removing.
        let gone_with_checkout = fresh_checkout && inst.link().is_none();
        if !lock.nodes.contains_key(id.as_str()) && !gone_with_checkout {
            let i = plan.push(Action::RemoveNode {
                id: id.clone(),
                linked: inst.link().is_some(),
                required_by: Vec::new(),
            });
            if let Some(c) = comfyui {
                plan.edge(c, i);
            }
        }
    }

    for (key, model) in &lock.models {
        let path = model.link_path();
        let installed = observed.installed.models.get(key.as_str());
        if observed.skips_model(key.as_str()) {
            plan.skipped_models.push(key.to_string());
            continue;
        }
        let state = if fresh_checkout {
            Some(&NodeState::Missing)
        } else {
            observed.models.get(key.as_str())
        };
        let replace = match (installed, state) {
            (None, _) => None,
            (Some(_), Some(NodeState::Missing) | None) => Some("missing on disk".to_string()),
            (Some(_), Some(NodeState::Modified { .. })) => Some("changed on disk".to_string()),
            (Some(i), Some(NodeState::Intact)) if i.blake3 != model.blake3 => Some("another model".to_string()),
            (Some(i), Some(NodeState::Intact)) if i.path != path.as_str() => Some(format!("moved from {}", i.path)),
            (Some(i), Some(NodeState::Intact)) if i.mode != models.mode => {
                Some(format!("{} -> {}", i.mode, models.mode))
            }
            (Some(_), Some(NodeState::Intact)) => continue,
        };
        let i = plan.push(Action::LinkModel {
            key: key.clone(),
            path,
            size: model.size,
            mode: models.mode,
            origin: models
                .origins
                .get(key.as_str())
                .cloned()
                .unwrap_or_else(|| "unavailable".into()),
            replace,
            locked: model.clone(),
        });
        if let Some(c) = comfyui {
            plan.edge(c, i);
        }
    }
    for (key, inst) in &observed.installed.models {
        if !lock.models.contains_key(key.as_str()) && !fresh_checkout {
            let i = plan.push(Action::UnlinkModel {
                key: key.clone(),
                path: inst.path.clone(),
                required_by: Vec::new(),
            });
            if let Some(c) = comfyui {
                plan.edge(c, i);
            }
        }
    }

    let legacy = observed.installed.legacy_models() && !fresh_checkout;
    let reason = if legacy {
        Some(format!(
            "{} model link(s) comfydock made in ComfyUI/models/ move into its model tree, which ComfyUI reads \
             through this file; ComfyUI/models/ stays yours",
            observed.installed.models.len()
        ))
    } else if lock.models.is_empty() {
        None
    } else {
        observed.model_paths.clone()
    };
    if let Some(reason) = reason {
        let i = plan.push(Action::ModelPaths { reason });
        if let Some(c) = comfyui {
            plan.edge(c, i);
        }
    }

    for (name, w) in &lock.workflows {
        let record = observed.installed.workflows.get(name.as_str());
        let copy = observed.workflows.get(name.as_str()).unwrap_or(&WorkflowCopy::Missing);
        if let Some(change) = workflow_change(&w.blake3, record, copy) {
            let i = plan.push(Action::Workflow {
                name: name.clone(),
                change,
                locked: w.clone(),
            });
            if let Some(c) = comfyui {
                plan.edge(c, i);
            }
        }
    }

    let same_lock = observed.installed.uv_lock.as_ref() == Some(&lock.python.uv_lock);
    let same_backend = observed.installed.torch_backend == python.backend;
    let live = observed.venv.is_some() && observed.venv == observed.installed.venv;
    if !(same_lock && same_backend && live) {
        let reason = if observed.venv.is_none() {
            "no venv".to_string()
        } else if !live {
            "the venv link was changed outside comfydock".to_string()
        } else if !same_lock {
            "uv.lock changed".to_string()
        } else {
            format!(
                "torch backend {} -> {}",
                observed.installed.torch_backend.as_deref().unwrap_or("none"),
                python.backend.as_deref().unwrap_or("none")
            )
        };
        let reuse = python
            .venvs
            .get(&venv_key(&lock.python.uv_lock, python.backend.as_deref()))
            .cloned();
        let new = String::from_utf8_lossy(python.uv_lock);
        let python_version = python
            .python_full
            .as_deref()
            .or(lock.python.version.as_ref().map(|v| v.as_str()));
        let packages = match &python.live {
            Some((old, old_backend)) if live => crate::python::diff_locks(
                Some(old),
                old_backend.as_deref(),
                &new,
                python.backend.as_deref(),
                python_version,
            ),
            _ => crate::python::diff_locks(None, None, &new, python.backend.as_deref(), python_version),
        };
        let i = plan.push(Action::SyncPython {
            reason,
            reuse,
            backend: python.backend.clone(),
            packages,
            notes: lock.python.notes.clone(),
        });
        for &n in &node_actions {
            plan.edge(n, i);
        }
    }
    plan
}

/// What to do with ComfyUI's copy of a tracked workflow whose tracked version hashes `desired`,
/// given what was placed (`record`) and what is there (`copy`). Never overwrites an edit.
pub fn workflow_change(
    desired: &Blake3,
    record: Option<&InstalledWorkflow>,
    copy: &WorkflowCopy,
) -> Option<WorkflowChange> {
    let placed = record.and_then(|r| r.blake3.as_ref());
    match copy {
        WorkflowCopy::Placed if placed == Some(desired) => None,
        WorkflowCopy::Placed => Some(WorkflowChange::Update),
        WorkflowCopy::Missing if record.is_some() => Some(WorkflowChange::Restore),
        WorkflowCopy::Missing => Some(WorkflowChange::Place),
        WorkflowCopy::Present { blake3, .. } if blake3 == desired => Some(WorkflowChange::Adopt),
        // The user's edit, and the tracked version is the one placed (or already written beside).
        WorkflowCopy::Present { .. }
            if placed == Some(desired) || record.and_then(|r| r.beside.as_ref()) == Some(desired) =>
        {
            Some(WorkflowChange::Edited)
        }
        WorkflowCopy::Present { .. } => Some(WorkflowChange::Beside),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_copy_is_never_overwritten() {
        let fp = crate::observe::Fingerprint(1, 2, 3);
        let h = |s: &str| Blake3::of_bytes(s.as_bytes());
        let record = |placed: &str, beside: Option<&str>| InstalledWorkflow {
            blake3: Some(h(placed)),
            fingerprint: fp,
            beside: beside.map(h),
        };
        let edited = WorkflowCopy::Present {
            blake3: h("u"),
            fingerprint: fp,
        };
        let change = |d: &str, r: Option<&InstalledWorkflow>, c: &WorkflowCopy| workflow_change(&h(d), r, c);
        assert_eq!(change("a", Some(&record("a", None)), &WorkflowCopy::Placed), None);
        assert_eq!(
            change("b", Some(&record("a", None)), &WorkflowCopy::Placed),
            Some(WorkflowChange::Update)
        );
        assert_eq!(
            change("a", Some(&record("a", None)), &edited),
            Some(WorkflowChange::Edited)
        );
        assert_eq!(
            change("b", Some(&record("a", None)), &edited),
            Some(WorkflowChange::Beside)
        );
        assert_eq!(
            change("b", Some(&record("a", Some("b"))), &edited),
            Some(WorkflowChange::Edited)
        );
        assert_eq!(change("b", None, &edited), Some(WorkflowChange::Beside));
        assert_eq!(change("u", None, &edited), Some(WorkflowChange::Adopt));
        assert_eq!(change("a", None, &WorkflowCopy::Missing), Some(WorkflowChange::Place));
        assert_eq!(
            change("a", Some(&record("a", None)), &WorkflowCopy::Missing),
            Some(WorkflowChange::Restore)
        );
    }
}
