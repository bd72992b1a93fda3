//! Specs to pins: the manifest resolved into a `Lock` (and a `uv.lock`).
//!
//! Resolution keeps what is already pinned: a node or ComfyUI whose spec did not change keeps
//! its commit, as uv keeps package pins; `update` names what to resolve again. Resolving may
//! fetch into the workspace's caches (git mirrors, the node store) but never touches an
//! environment: `uv lock` runs on a copy of the project.

mod error;
mod inputs;
mod models;
mod nodes;
pub mod pack_meta;
mod python;
pub mod workflows;

pub use error::ResolveError;
pub use inputs::{Freshness, freshness, inputs_hash, inputs_hash_of, python_inputs_hash};

use crate::manifest::{LOCK_VERSION, Lock, LockedComfyUI, LockedPython, Manifest};
use crate::progress::Reporter;
use crate::python::Uv;
use crate::store::{GitCache, NodeStore};
use crate::workspace::{EnvPaths, Workspace};
use std::collections::BTreeMap;

pub type Result<T, E = ResolveError> = std::result::Result<T, E>;

/// A resolved desired state: the lock, and the `uv.lock` it names by hash.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub lock: Lock,
    pub uv_lock: Vec<u8>,
    /// The manifest as resolution completed it (node dependency groups, torch backend tables),
    /// when that differs from the file on disk; written with the lock.
    pub pyproject: Option<String>,
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
    /// Download progress of registry packs.
    pub transfers: std::sync::Arc<dyn Reporter + Send + Sync>,
}

impl Resolver<'_> {
    pub fn resolve(&self, given: &Manifest, previous: Option<&Lock>, update: &Update) -> Result<Resolved> {
        let mut manifest = given.clone();
        let settings = crate::python::TorchSettings::load(self.ws.root());
        for backend in &manifest.config().torch_backends {
            if !crate::python::torch::is_backend_name(backend) {
                return Err(ResolveError::InvalidTorchBackend {
                    backend: backend.to_string(),
                });
            }
        }
        manifest.sync_torch_backends(&|b| settings.index_url(b));
        let config = manifest.config().clone();
        let git_cache = GitCache::new(&self.ws.store_dir());
        let store = NodeStore::new(&self.ws.store_dir());

        let repo = config.comfyui_repo.clone().unwrap_or_else(|| {
            crate::workspace::DEFAULT_COMFYUI_REPO
                .parse()
                .expect("the default repository is valid")
        });
        let rev = config.comfyui_version.clone().ok_or(ResolveError::NoComfyUIVersion)?;
        let comfyui = match previous.map(|l| &l.comfyui) {
            Some(p) if p.repo == repo && p.rev == rev && matches!(update, Update::Nothing | Update::Nodes(_)) => {
                p.clone()
            }
            _ => {
                self.reporter.step(&format!("Resolving ComfyUI {rev}"));
                let mirror = git_cache.update(&repo)?;
                let commit = crate::git::resolve_rev(&mirror, &rev).map_err(|e| e.in_repo(&repo))?;
                LockedComfyUI { repo, rev, commit }
            }
        };

        // Registry packs are independent downloads: resolved in parallel, a bounded number at a
        // time, sharing one client (one cache connection). Git nodes stay sequential: two of them
        // may share a mirror.
        const PARALLEL_FETCHES: usize = 4;
        let (registry_nodes, other_nodes): (Vec<_>, Vec<_>) = config
            .nodes
            .iter()
            .partition(|(_, spec)| spec.kind() == crate::manifest::NodeSource::Registry);
        let client = std::sync::OnceLock::new();
        let registry = || -> Result<&crate::registry::RegistryClient> {
            if client.get().is_none() {
                let c = crate::registry::workspace_client(self.ws, self.offline, self.transfers.clone())
                    .map_err(|r| ResolveError::Other(r.into()))?;
                let _ = client.set(c);
            }
            Ok(client.get().expect("set above"))
        };
        let resolve_one = |id: &crate::types::NodeId, spec: &crate::manifest::NodeSpec| {
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
            .map(|node| (id.clone(), node.with_folder(id, &spec.folder(id))))
        };
        let mut locked_nodes = BTreeMap::new();
        for (id, spec) in other_nodes {
            let (id, node) = resolve_one(id, spec)?;
            locked_nodes.insert(id, node);
        }
        if !registry_nodes.is_empty() {
            registry()?; // opened once, before the threads share it
        }
        // Registry packs are fetched a few at a time, each worker taking the next as it is done.
        let fetched = crate::pool::try_map(&registry_nodes, PARALLEL_FETCHES, |(id, spec)| resolve_one(id, spec))?;
        locked_nodes.extend(fetched);
        check_folders(&locked_nodes)?;
        let notes = python::node_groups(&mut manifest, &locked_nodes, previous, &store, self.reporter)?;

        let locked_models = models::resolve_models(self.ws, &config.models)?;
        let locked_workflows = workflows::lock_workflows(&self.env.cec, &config, &locked_models)?;
        let uv_lock = self.lock_python(&manifest, previous)?;
        let python_version = config.python_version.clone();
        let lock = Lock {
            version: LOCK_VERSION,
            inputs: inputs_hash_of(&manifest.plain()),
            comfyui,
            python: LockedPython {
                version: python_version,
                inputs: python_inputs_hash(&manifest.plain()),
                uv_lock: hash_bytes(&uv_lock),
                torch_backends: config.torch_backends.clone(),
                notes,
            },
            nodes: locked_nodes,
            models: locked_models,
            workflows: locked_workflows,
        };
        let text = manifest.render();
        let pyproject = (text != given.render()).then_some(text);
        Ok(Resolved {
            lock,
            uv_lock,
            pyproject,
        })
    }

    /// `uv lock` on a copy of the project, so a failed resolution changes nothing.
    fn lock_python(&self, manifest: &Manifest, previous: Option<&Lock>) -> Result<Vec<u8>> {
        let current = fs_err::read(self.env.cec.join("uv.lock")).ok();
        // Unchanged Python inputs and a uv.lock that is the one pinned: nothing to resolve.
        if let (Some(prev), Some(bytes)) = (previous, &current)
            && prev.python.inputs == python_inputs_hash(&manifest.plain())
            && prev.python.uv_lock == hash_bytes(bytes)
        {
            return Ok(bytes.clone());
        }
        self.reporter.step("Resolving Python packages (uv lock)");
        let scratch = tempfile::Builder::new()
            .prefix(".comfydock-uv-")
            .tempdir_in(&self.env.state)?;
        fs_err::write(scratch.path().join("pyproject.toml"), manifest.render())?;
        // `.python-version` names the interpreter uv runs: only a version, never a path.
        let pinned = self.env.cec.join(".python-version");
        if let Ok(text) = fs_err::read_to_string(&pinned)
            && text.trim().parse::<crate::types::PythonVersion>().is_err()
        {
            return Err(ResolveError::Other(
                miette::miette!(
                    code = "comfydock::resolve::python_version_file",
                    help = "write a version such as `3.11` in .cec/.python-version (or remove the file)",
                    ".cec/.python-version holds `{}`, not a Python version",
                    text.trim().chars().take(80).collect::<String>()
                )
                .into(),
            ));
        }
        for name in ["uv.lock", ".python-version"] {
            let from = self.env.cec.join(name);
            if from.is_file() {
                fs_err::copy(&from, scratch.path().join(name))?;
            }
        }
        match self.uv.lock(scratch.path()) {
            Ok(()) => Ok(fs_err::read(scratch.path().join("uv.lock"))?),
            Err(crate::python::UvError::Failed { args, stderr }) => {
                let mut groups = manifest.dependency_groups();
                groups.insert("ComfyUI".into(), manifest.dependencies());
                match crate::python::diagnose(&stderr, &manifest.project_name(), &groups) {
                    Some(conflict) => Err(conflict.into()),
                    None => Err(crate::python::UvError::Failed { args, stderr }.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub fn hash_bytes(bytes: &[u8]) -> crate::types::Blake3 {
    crate::types::Blake3::of_bytes(bytes)
}

/// Two packs cannot share a folder in `custom_nodes/`.
fn check_folders(nodes: &BTreeMap<crate::types::NodeId, crate::manifest::LockedNode>) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, node) in nodes {
        if let Some(other) = seen.insert(node.folder(id), id) {
            return Err(ResolveError::SharedFolder {
                folder: node.folder(id).to_string(),
                first: other.to_string(),
                second: id.to_string(),
            });
        }
    }
    Ok(())
}
