//! desired (lock) × observed (disk) → actions and their order.

use super::{Action, Plan};
use crate::manifest::{Lock, NodeSource};
use crate::observe::{NodeState, Observed};
use std::collections::BTreeMap;

/// `venvs`: uv.lock hash → an existing generation venv folder built from it (rollback reuses it).
pub fn diff(environment: &str, lock: &Lock, observed: &Observed, venvs: &BTreeMap<String, String>) -> Plan {
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
        Some(_) => None,
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
        let installed = observed.installed.nodes.get(id);
        let state = if fresh_checkout {
            Some(&NodeState::Missing)
        } else {
            observed.nodes.get(id)
        };
        let source = source_name(node.source).to_string();
        let action = match (node.source, installed, state) {
            (NodeSource::Local, Some(inst), Some(NodeState::Intact)) if inst.link == node.path => None,
            (NodeSource::Local, _, _) => Some(Action::LinkDevNode {
                id: id.clone(),
                path: node.path.clone().unwrap_or_default(),
            }),
            (_, None, _) => Some(Action::InstallNode {
                id: id.clone(),
                source,
                version: node.describe(),
            }),
            (_, Some(inst), Some(state)) => {
                let from = inst.tree.clone().unwrap_or_default();
                let to = node.tree.clone().unwrap_or_default();
                let reason = match state {
                    NodeState::Missing => Some("missing on disk".to_string()),
                    NodeState::Modified { files } => Some(format!("{} file(s) modified on disk", files.len())),
                    NodeState::Intact if inst.link.is_some() || from != to => Some("new pin".to_string()),
                    NodeState::Intact => None,
                };
                reason.map(|reason| Action::UpdateNode {
                    id: id.clone(),
                    source,
                    from: match &inst.link {
                        Some(path) => format!("(linked {path})"),
                        None => inst.version.clone().unwrap_or(from),
                    },
                    to: node.describe(),
                    reason,
                })
            }
            (_, Some(_), None) => Some(Action::InstallNode {
                id: id.clone(),
                source,
                version: node.describe(),
            }),
        };
        if let Some(action) = action {
            let i = plan.push(action);
            if let Some(c) = comfyui {
                plan.edge(c, i);
            }
            if let Some(&t) = trashed.get(id) {
                plan.edge(t, i);
            }
            node_actions.push(i);
        }
    }
    for (id, inst) in &observed.installed.nodes {
        // After a fresh clone copied nodes are gone with the old tree; only links need removing.
        let gone_with_checkout = fresh_checkout && inst.link.is_none();
        if !lock.nodes.contains_key(id) && !gone_with_checkout {
            let i = plan.push(Action::RemoveNode {
                id: id.clone(),
                linked: inst.link.is_some(),
            });
            if let Some(c) = comfyui {
                plan.edge(c, i);
            }
        }
    }

    let synced = observed.installed.uv_lock.as_deref() == Some(lock.python.uv_lock.as_str());
    let live = observed.venv.is_some() && observed.venv == observed.installed.venv;
    if !(synced && live) {
        let reason = if observed.venv.is_none() {
            "no venv"
        } else if !live {
            "the venv link was changed outside comfydock"
        } else {
            "uv.lock changed"
        };
        let reuse = venvs.get(&lock.python.uv_lock).cloned();
        let i = plan.push(Action::SyncPython {
            reason: reason.to_string(),
            reuse,
        });
        for &n in &node_actions {
            plan.edge(n, i);
        }
    }
    plan
}

fn source_name(source: NodeSource) -> &'static str {
    match source {
        NodeSource::Registry => "registry",
        NodeSource::Git => "git",
        NodeSource::Local => "dev",
    }
}
