//! Node packs' Python requirements into the manifest: one dependency group per node, named
//! after its id, read from the node's tree in the store (git, registry) or its folder (dev).
//! The torch family is taken out (the environment declares it), and lines uv cannot take are
//! skipped; both are returned as notes, one line each, for the lock and the plan.

use super::{ResolveError, Result};
use crate::manifest::{Lock, LockedNode, Manifest};
use crate::progress::Reporter;
use crate::python::conflict::ENVIRONMENT_GROUP;
use crate::python::{is_torch_family, node_requirements, requirement_name};
use crate::store::NodeStore;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(super) fn node_groups(
    manifest: &mut Manifest,
    nodes: &BTreeMap<crate::types::NodeId, LockedNode>,
    previous: Option<&Lock>,
    store: &NodeStore,
    reporter: &dyn Reporter,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    // Groups of nodes that are gone (the manifest was edited by hand).
    if let Some(prev) = previous {
        for id in prev.nodes.keys() {
            if !nodes.contains_key(id) {
                manifest.remove_group(id);
            }
        }
    }
    for (id, node) in nodes {
        if id == ENVIRONMENT_GROUP || id == "ComfyUI" {
            return Err(ResolveError::ReservedId { id: id.to_string() });
        }
        let dir: PathBuf = match node {
            LockedNode::Dev(dev) => PathBuf::from(&dev.path),
            LockedNode::Git(_) | LockedNode::Registry(_) | LockedNode::Panel(_) => {
                node.tree().map(|t| store.path(t)).unwrap_or_default()
            }
        };
        let dir = Some(dir);
        let Some(dir) = dir.filter(|d| d.is_dir()) else {
            continue;
        };
        let read = node_requirements(&dir)?;
        let file = read.file.unwrap_or("requirements.txt");
        for r in &read.requirements.rejected {
            let note = format!("node {id}: {file} line {}: `{}` skipped: {}", r.line, r.text, r.reason);
            reporter.warn(&note);
            notes.push(note);
        }
        let mut group = Vec::new();
        for req in read.requirements.accepted {
            match requirement_name(&req) {
                Some(name) if is_torch_family(&name) => {
                    let note = format!(
                        "node {id} asks for `{req}`: not applied, {name} stays as the environment declares it (node packs do not change the torch family)"
                    );
                    reporter.warn(&note);
                    notes.push(note);
                }
                _ => group.push(req),
            }
        }
        manifest.set_group(id, &group);
    }
    Ok(notes)
}
