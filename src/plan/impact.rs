//! Impact on tracked workflows: a plan that removes a node pack or a model that a tracked
//! workflow requires says so on that action (`required by workflows A, B`), so `plan` shows it
//! and `apply` can ask again.

use super::{Action, Plan};
use crate::manifest::Workflows;

/// Marks each `RemoveNode`/`UnlinkModel` of `plan` with the tracked workflows (of the desired
/// state) that require what it removes.
pub fn mark(plan: &mut Plan, workflows: &Workflows) {
    for action in &mut plan.actions {
        let (wanted, list, is_node) = match action {
            Action::RemoveNode { id, required_by, .. } => (id.to_string(), required_by, true),
            Action::UnlinkModel { key, required_by, .. } => (key.to_string(), required_by, false),
            _ => continue,
        };
        *list = workflows
            .tracked
            .iter()
            .filter(|(_, t)| {
                if is_node {
                    t.requires.nodes.iter().any(|n| n.as_str() == wanted)
                } else {
                    t.requires.models.iter().any(|m| m.as_str() == wanted)
                }
            })
            .map(|(name, _)| name.to_string())
            .collect();
    }
}
