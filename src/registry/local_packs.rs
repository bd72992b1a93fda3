//! The packs a workspace really has, as node providers for workflow resolution: the packs an
//! environment declares (what they register, read statically from their store entry or folder),
//! then packs installed in the workspace's other environments (recorded in the node index after
//! every apply), then the registry data and mappings of the node index.

use super::node_index::NodeIndex;
use crate::manifest::{ComfydockConfig, Lock, LockedNode};
use crate::store::{NodeStore, pack_nodes};
use crate::workflow::resolve::{NodeProviders, Provider};
use crate::workspace::EnvPaths;
use std::collections::{BTreeMap, BTreeSet};

/// Node providers for one environment.
pub struct LocalPacks<'a> {
    env: String,
    /// Node type -> the declared packs that register it.
    declared: BTreeMap<String, Vec<Provider>>,
    index: Option<&'a NodeIndex>,
}

impl<'a> LocalPacks<'a> {
    /// What the packs `config` declares provide, from the lock's store entries when it pins
    /// them, else from their folders (a dev node's, or one already in `custom_nodes/`).
    pub fn of_env(
        store: &NodeStore,
        env: &EnvPaths,
        config: &ComfydockConfig,
        lock: Option<&Lock>,
        index: Option<&'a NodeIndex>,
    ) -> LocalPacks<'a> {
        let mut declared: BTreeMap<String, Vec<Provider>> = BTreeMap::new();
        for (id, spec) in &config.nodes {
            let locked = lock.and_then(|l| l.nodes.get(id.as_str()));
            let types = match locked {
                Some(node) => node_types(store, env, id.as_str(), node),
                None => match &spec.source {
                    crate::manifest::PackSource::Local { path } => pack_nodes::of_folder(std::path::Path::new(path)),
                    _ => pack_nodes::of_folder(&env.custom_nodes().join(id.as_str())),
                },
            };
            for t in types {
                declared.entry(t).or_default().push(Provider {
                    pack: id.to_string(),
                    version: locked.map(LockedNode::describe),
                    source: "declared".to_string(),
                    reason: format!("the environment declares `{id}`, which registers it"),
                });
            }
        }
        LocalPacks {
            env: env.name.clone(),
            declared,
            index,
        }
    }
}

/// The node types a locked pack registers: its store entry (scanned once per content), else the
/// folder it is placed in.
fn node_types(store: &NodeStore, env: &EnvPaths, id: &str, node: &LockedNode) -> BTreeSet<String> {
    match node {
        LockedNode::Dev(dev) => pack_nodes::of_folder(std::path::Path::new(&dev.path)),
        other => other
            .tree()
            .and_then(|tree| pack_nodes::of_entry(store, tree))
            .unwrap_or_else(|| pack_nodes::of_folder(&env.custom_nodes().join(id))),
    }
}

impl NodeProviders for LocalPacks<'_> {
    fn local(&self, node_type: &str) -> Vec<Provider> {
        let mut out = self.declared.get(node_type).cloned().unwrap_or_default();
        let elsewhere = self
            .index
            .and_then(|i| i.installed_providers(node_type).ok())
            .unwrap_or_default();
        for (env, pack) in elsewhere.into_iter().filter(|(env, _)| *env != self.env) {
            if !out.iter().any(|p| p.pack == pack) {
                out.push(Provider {
                    pack,
                    version: None,
                    source: "installed".to_string(),
                    reason: format!("installed in environment `{env}` of this workspace"),
                });
            }
        }
        out
    }

    fn providers(&self, node_type: &str) -> Vec<Provider> {
        match self.index {
            // Installed packs are answered by `local`, this environment's own first.
            Some(index) => NodeProviders::providers(index, node_type)
                .into_iter()
                .filter(|p| p.source != "installed")
                .collect(),
            None => Vec::new(),
        }
    }
}

/// How another environment names a pack it has: the registry id, the repository as spelled, or
/// (a dev node) its key.
fn shared_name(id: &str, node: &LockedNode) -> String {
    match node {
        LockedNode::Registry(pin) => pin.registry_id.to_string(),
        LockedNode::Git(pin) => pin.repository.to_string(),
        LockedNode::Dev(_) | LockedNode::Panel(_) => id.to_string(),
    }
}

/// Records in the node index what environment `env` now has installed (after an apply or a
/// rollback), so the workspace's other environments resolve to packs the user already has.
pub fn record_installed(
    index: &mut NodeIndex,
    store: &NodeStore,
    env: &EnvPaths,
    lock: &Lock,
) -> super::node_index::Result<()> {
    index.clear_installed(&env.name)?;
    for (id, node) in &lock.nodes {
        let types: Vec<String> = node_types(store, env, id.as_str(), node).into_iter().collect();
        index.set_installed_nodes(&env.name, &shared_name(id.as_str(), node), &types)?;
    }
    Ok(())
}
