//! What a workflow is resolved against, and what it needs: ComfyUI's builtin node types of the
//! environment's checkout, the environment's declared packs (what they register, read
//! statically), the workspace's other environments, and the workspace's node and model indexes.
//! Every index is optional: a workspace that never scanned models or loaded the node index
//! only resolves less.

use crate::manifest::Manifest;
use crate::models::ModelIndex;
use crate::registry::local_packs::LocalPacks;
use crate::registry::node_index::NodeIndex;
use crate::workflow::Builtins;
use crate::workflow::requires::Needs;
use crate::workflow::resolve::{self, ModelLookup, NoModels, Resolution};
use crate::workspace::{EnvPaths, Workspace};
use miette::Result;

/// The workspace's node index (`registry update` fills it), when it has one; never created here.
pub fn node_index(ws: &Workspace) -> Option<NodeIndex> {
    let path = crate::registry::node_index::index_path(ws.root());
    path.is_file().then(|| NodeIndex::open(&path).ok()).flatten()
}

/// The workspace's model index, when it has one; never created here.
pub fn model_index(ws: &Workspace) -> Option<ModelIndex> {
    let path = crate::models::index_path(ws);
    path.is_file().then(|| ModelIndex::open(&path).ok()).flatten()
}

/// The builtin node types of `env`'s ComfyUI (cached per commit), when it has a checkout.
pub fn env_builtins(ws: &Workspace, env: &EnvPaths) -> Option<Builtins> {
    let mut b = crate::observe::builtin_nodes::of_checkout(&env.comfyui, &ws.root().join(".metadata"))?;
    b.source = format!("{} (environment {})", b.source, env.name);
    Some(b)
}

/// The node providers of `env`: its declared packs (from the lock's store entries when it has a
/// lock), the workspace's other environments, then `index`. A lock that does not parse (a hand
/// edit in progress) only means fewer packs are known.
pub fn env_providers<'a>(
    ws: &Workspace,
    env: &EnvPaths,
    manifest: &Manifest,
    index: Option<&'a NodeIndex>,
) -> LocalPacks<'a> {
    let lock = crate::manifest::Lock::load(&env.cec.join(crate::manifest::LOCK_FILE))
        .ok()
        .flatten();
    let store = crate::store::NodeStore::new(&ws.store_dir());
    LocalPacks::of_env(&store, env, manifest.config(), lock.as_ref(), index)
}

/// The workflow in `bytes` analysed and resolved for `env`: node types to the packs it declares
/// first, then the workspace's other environments, the workflow's own stamps, registry data and
/// mappings; models through the model index.
pub fn resolution(
    ws: &Workspace,
    env: &EnvPaths,
    manifest: &Manifest,
    bytes: &[u8],
    label: &str,
) -> Result<Resolution> {
    let builtins = env_builtins(ws, env);
    let builtins = builtins.as_ref().unwrap_or(Builtins::shipped());
    let analysis = crate::workflow::analyze(bytes, label, builtins)?;
    let models = model_index(ws);
    let nodes = node_index(ws);
    let lookup: &dyn ModelLookup = match &models {
        Some(i) => i,
        None => &NoModels,
    };
    let providers = env_providers(ws, env, manifest, nodes.as_ref());
    Ok(resolve::resolve(&analysis, &providers, lookup))
}

/// What the workflow in `bytes` requires of `env`, and what of it `manifest` does not declare.
pub fn needs(ws: &Workspace, env: &EnvPaths, manifest: &Manifest, bytes: &[u8], label: &str) -> Result<Needs> {
    let resolution = resolution(ws, env, manifest, bytes, label)?;
    Ok(crate::workflow::requires::needs(&resolution, manifest.config()))
}
