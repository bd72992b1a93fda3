//! What the locks of a workspace's environments need from a store, and where each piece is:
//! in the local store (node trees) or a model folder (models), in the remote, or nowhere.

use super::keys::Kind;
use super::{PushItem, Remote, RemoteError, Result};
use crate::manifest::{LOCK_FILE, Lock, LockedNode, ModelSource};
use crate::store::NodeStore;
use crate::types::{Blake3, Sha256};
use crate::workspace::{EnvPaths, Workspace};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One object the locks need.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Needed {
    pub kind: Kind,
    pub hash: Blake3,
    /// Node ids or model keys it is locked under.
    pub names: Vec<String>,
    /// Environments whose lock needs it.
    pub environments: Vec<String>,
    /// Where this machine has it.
    pub local: Option<PathBuf>,
    /// Whether the remote has it (None: not asked).
    pub remote: Option<bool>,
    #[serde(skip)]
    pub sha256: Option<Sha256>,
    #[serde(skip)]
    pub sources: Vec<String>,
}

impl Needed {
    /// The upload for this object, when this machine has it.
    pub fn push_item(&self) -> Option<PushItem> {
        Some(PushItem {
            kind: self.kind,
            hash: self.hash.clone(),
            label: self.names.join(", "),
            path: self.local.clone()?,
            sha256: self.sha256.clone(),
            sources: self.sources.clone(),
        })
    }
}

/// Node trees and models the locks of `envs` pin (dev nodes have no tree), with where this
/// machine has them. Environments without a lock need nothing.
pub fn needed(ws: &Workspace, envs: &[EnvPaths]) -> Result<Vec<Needed>> {
    let mut out: BTreeMap<(Kind, Blake3), Needed> = BTreeMap::new();
    let mut add = |kind: Kind, hash: &Blake3, name: &str, env: &str, sha256: Option<Sha256>, sources: Vec<String>| {
        let entry = out.entry((kind, hash.clone())).or_insert_with(|| Needed {
            kind,
            hash: hash.clone(),
            names: Vec::new(),
            environments: Vec::new(),
            local: None,
            remote: None,
            sha256,
            sources,
        });
        if !entry.names.iter().any(|n| n == name) {
            entry.names.push(name.to_string());
        }
        if !entry.environments.iter().any(|e| e == env) {
            entry.environments.push(env.to_string());
        }
    };
    for env in envs {
        let Some(lock) = Lock::load(&env.cec.join(LOCK_FILE)).map_err(|e| RemoteError::Lock(Box::new(e)))? else {
            continue;
        };
        for (id, node) in &lock.nodes {
            let (tree, source) = match node {
                LockedNode::Registry(pin) => (&pin.tree, pin.url.clone()),
                LockedNode::Git(pin) => (&pin.tree, format!("{}@{}", pin.repository, pin.commit.as_str())),
                LockedNode::Panel(pin) => (&pin.tree, format!("comfydock {} panel", pin.version)),
                LockedNode::Dev(_) => continue,
            };
            add(Kind::Node, tree, id.as_str(), &env.name, None, vec![source]);
        }
        // What an install script built from a pinned tree: an ordinary node tree to share.
        let installed = crate::observe::Installed::load(&env.state).unwrap_or_default();
        for (id, node) in &installed.nodes {
            if let Some(derived) = node.placed().and_then(|p| p.derived.as_ref()) {
                add(
                    Kind::Node,
                    derived,
                    id,
                    &env.name,
                    None,
                    vec![format!("the build of {id}'s install.py")],
                );
            }
        }
        for (key, model) in &lock.models {
            let sources = model.sources.iter().map(describe_source).collect();
            add(
                Kind::Model,
                &model.blake3,
                key.as_ref(),
                &env.name,
                model.sha256.clone(),
                sources,
            );
        }
    }
    let nodes = NodeStore::new(&ws.store_dir());
    let mut index = None;
    for needed in out.values_mut() {
        needed.local = match needed.kind {
            Kind::Node => nodes.contains(&needed.hash).then(|| nodes.path(&needed.hash)),
            Kind::Model => {
                if index.is_none() {
                    let opened = crate::models::ModelIndex::open(&crate::models::index_path(ws))
                        .map_err(|e| RemoteError::Model(Box::new(e)))?;
                    index = Some(opened);
                }
                index
                    .as_ref()
                    .and_then(|i| crate::models::local_file(i, needed.hash.hex()))
            }
        };
    }
    Ok(out.into_values().collect())
}

/// Fills in `remote` from the remote's listing (one LIST per kind).
pub fn mark_remote(remote: &Remote, needed: &mut [Needed]) -> Result<()> {
    let nodes = remote.list(Kind::Node)?;
    let models = remote.list(Kind::Model)?;
    for n in needed {
        n.remote = Some(match n.kind {
            Kind::Node => nodes.contains(&n.hash),
            Kind::Model => models.contains(&n.hash),
        });
    }
    Ok(())
}

fn describe_source(source: &ModelSource) -> String {
    match source {
        ModelSource::Huggingface { repo, file, .. } => format!("huggingface:{repo}/{file}"),
        ModelSource::Civitai { model_id, version_id } => {
            format!(
                "civitai:{model_id}{}",
                version_id.as_deref().map(|v| format!("@{v}")).unwrap_or_default()
            )
        }
        ModelSource::Url { url, .. } => url.clone(),
    }
}
