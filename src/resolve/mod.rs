//! Specs to pins: the manifest resolved into a `Lock` (and a `uv.lock`).
//!
//! Resolution keeps what is already pinned: a node or ComfyUI whose spec did not change keeps
//! its commit, as uv keeps package pins; `update` names what to resolve again. Resolving may
//! fetch into the workspace's caches (git mirrors, the node store) but never touches an
//! environment: `uv lock` runs on a copy of the project.

mod error;
mod inputs;
mod nodes;

pub use error::ResolveError;
pub use inputs::{Freshness, freshness, inputs_hash, python_inputs_hash};

use crate::manifest::{LOCK_VERSION, Lock, LockedComfyUI, LockedPython, Manifest};
use crate::progress::Reporter;
use crate::python::Uv;
use crate::store::{GitCache, NodeStore};
use crate::workspace::{EnvPaths, Workspace};
use std::collections::BTreeMap;
use std::fs;

pub type Result<T, E = ResolveError> = std::result::Result<T, E>;

/// A resolved desired state: the lock, and the `uv.lock` it names by hash.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub lock: Lock,
    pub uv_lock: Vec<u8>,
}

/// What to resolve again even though its spec did not change.
#[derive(Debug, Default, Clone)]
pub enum Update {
    #[default]
    Nothing,
    Nodes(Vec<String>),
    All,
}

impl Update {
    fn covers(&self, id: &str) -> bool {
        match self {
            Update::Nothing => false,
            Update::Nodes(ids) => ids.iter().any(|i| i == id),
            Update::All => true,
        }
    }
}

pub struct Resolver<'a> {
    pub ws: &'a Workspace,
    pub env: &'a EnvPaths,
    pub uv: &'a Uv,
    pub reporter: &'a dyn Reporter,
    /// `--offline`: the registry answers from its cache only.
    pub offline: bool,
}

impl Resolver<'_> {
    pub fn resolve(&self, manifest: &Manifest, previous: Option<&Lock>, update: &Update) -> Result<Resolved> {
        let config = manifest.config();
        let git_cache = GitCache::new(&self.ws.store_dir());
        let store = NodeStore::new(&self.ws.store_dir());

        let repo = config
            .comfyui_repo
            .clone()
            .unwrap_or_else(|| crate::workspace::DEFAULT_COMFYUI_REPO.to_string());
        let rev = config.comfyui_version.clone().ok_or(ResolveError::NoComfyUIVersion)?;
        let comfyui = match previous.map(|l| &l.comfyui) {
            Some(p) if p.repo == repo && p.rev == rev && matches!(update, Update::Nothing | Update::Nodes(_)) => {
                p.clone()
            }
            _ => {
                self.reporter.step(&format!("Resolving ComfyUI {rev}"));
                let mirror = git_cache.update(&repo)?;
                let commit = crate::git::resolve_rev(&mirror, &rev).map_err(|e| nodes::name_repo(e, &repo))?;
                LockedComfyUI { repo, rev, commit }
            }
        };

        // Registry packs are independent downloads: resolved in parallel, a bounded number at a
        // time, each thread with its own client (its cache connection is not shared). Git nodes
        // stay sequential: two of them may share a mirror.
        const PARALLEL_FETCHES: usize = 4;
        let (registry_nodes, other_nodes): (Vec<_>, Vec<_>) = config
            .nodes
            .iter()
            .partition(|(_, spec)| spec.source == Some(crate::manifest::NodeSource::Registry));
        let resolve_one = |id: &String, spec: &crate::manifest::NodeSpec, client: &std::cell::OnceCell<_>| {
            let registry = || -> Result<&crate::registry::RegistryClient> {
                if client.get().is_none() {
                    let c = crate::registry::workspace_client(self.ws, self.offline)
                        .map_err(|r| ResolveError::Other(r.into()))?;
                    let _ = client.set(c);
                }
                Ok(client.get().expect("set above"))
            };
            let prior = previous.and_then(|l| l.nodes.get(id));
            nodes::resolve_node(
                id,
                spec,
                prior,
                update.covers(id),
                &git_cache,
                &store,
                &registry,
                self.reporter,
            )
            .map(|node| (id.clone(), node))
        };
        let mut locked_nodes = BTreeMap::new();
        let sequential_client = std::cell::OnceCell::new();
        for (id, spec) in other_nodes {
            let (id, node) = resolve_one(id, spec, &sequential_client)?;
            locked_nodes.insert(id, node);
        }
        for chunk in registry_nodes.chunks(PARALLEL_FETCHES) {
            let results: Vec<Result<(String, crate::manifest::LockedNode)>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|(id, spec)| s.spawn(|| resolve_one(id, spec, &std::cell::OnceCell::new())))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("resolver thread panicked"))
                    .collect()
            });
            for result in results {
                let (id, node) = result?;
                locked_nodes.insert(id, node);
            }
        }

        let uv_lock = self.lock_python(manifest, previous)?;
        let python_version = config.python_version.clone().unwrap_or_default();
        let lock = Lock {
            version: LOCK_VERSION,
            inputs: inputs_hash(&manifest.render()),
            comfyui,
            python: LockedPython {
                version: python_version,
                inputs: python_inputs_hash(&manifest.render()),
                uv_lock: hash_bytes(&uv_lock),
            },
            nodes: locked_nodes,
        };
        Ok(Resolved { lock, uv_lock })
    }

    /// `uv lock` on a copy of the project, so a failed resolution changes nothing.
    fn lock_python(&self, manifest: &Manifest, previous: Option<&Lock>) -> Result<Vec<u8>> {
        let current = fs::read(self.env.cec.join("uv.lock")).ok();
        // Unchanged Python inputs and a uv.lock that is the one pinned: nothing to resolve.
        if let (Some(prev), Some(bytes)) = (previous, &current)
            && prev.python.inputs == python_inputs_hash(&manifest.render())
            && prev.python.uv_lock == hash_bytes(bytes)
        {
            return Ok(bytes.clone());
        }
        self.reporter.step("Resolving Python packages (uv lock)");
        let scratch = tempfile::Builder::new()
            .prefix(".comfydock-uv-")
            .tempdir_in(&self.env.state)?;
        fs::write(scratch.path().join("pyproject.toml"), manifest.render())?;
        for name in ["uv.lock", ".python-version"] {
            let from = self.env.cec.join(name);
            if from.is_file() {
                fs::copy(&from, scratch.path().join(name))?;
            }
        }
        self.uv.lock(scratch.path())?;
        Ok(fs::read(scratch.path().join("uv.lock"))?)
    }
}

pub fn hash_bytes(bytes: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(bytes).to_hex())
}
