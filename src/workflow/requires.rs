//! What a tracked workflow requires, in the manifest's terms: the declared node packs that
//! provide its custom node types and the declared models it loads. What no declared pack or
//! model covers is listed apart (`workflow resolve` turns it into manifest edits).

use super::resolve::{NodeRule, Resolution};
use crate::manifest::{ComfydockConfig, NodeSpec, Requires};
use std::collections::BTreeSet;

/// `requires` for a workflow, and what the manifest does not cover yet.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Needs {
    pub requires: Requires,
    /// Custom node types no declared pack provides.
    pub missing_nodes: Vec<String>,
    /// Model paths (`category/path`) no declared model matches.
    pub missing_models: Vec<String>,
}

pub fn needs(resolution: &Resolution, config: &ComfydockConfig) -> Needs {
    let mut nodes = BTreeSet::new();
    let mut missing_nodes = Vec::new();
    for n in resolution.nodes.iter().filter(|n| n.rule != NodeRule::Builtin) {
        let packs = n.pack.iter().chain(n.candidates.iter().map(|c| &c.pack));
        let declared = packs
            .flat_map(|pack| config.nodes.iter().filter(move |(id, spec)| provides(id, spec, pack)))
            .map(|(id, _)| id.clone())
            .next();
        match declared {
            Some(id) => {
                nodes.insert(id);
            }
            None => missing_nodes.push(n.node_type.clone()),
        }
    }
    let mut models = BTreeSet::new();
    let mut missing_models = Vec::new();
    for m in &resolution.models {
        // The path as the workflow writes it, subfolders included: ComfyUI finds the file only there.
        let file = m.path.replace('\\', "/");
        let found_hash = m.found.as_ref().and_then(|f| f.blake3.as_deref());
        let declared = config.models.iter().find(|(_, spec)| {
            found_hash.is_some_and(|h| spec.hash.to_string() == h || spec.hash.hex() == h)
                || (spec.filename().as_deref() == Some(file.as_str())
                    && spec.category().as_deref().is_none_or(|c| c == m.category))
        });
        match declared {
            Some((key, _)) => {
                models.insert(key.clone());
            }
            None => missing_models.push(format!("{}/{}", m.category, m.path)),
        }
    }
    Needs {
        requires: Requires {
            nodes: nodes.into_iter().collect(),
            models: models.into_iter().collect(),
            python: Vec::new(),
        },
        missing_nodes,
        missing_models,
    }
}

/// Whether the declared node `id` is the pack a resolution names: its key, or the same pack by
/// identity (a shared registry id or the same repository in any spelling).
pub fn provides(id: &str, spec: &NodeSpec, pack: &str) -> bool {
    use crate::types::PackIdentity;
    id == pack || spec.identity(id).same_pack(&PackIdentity::named(pack))
}
