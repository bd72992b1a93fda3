//! Phase 1: everything that needs the network or the CPU, done outside the live environment.
//! Produces the journal steps of the switch and the new installed record.

use super::{ApplyError, Ctx, Result};
use crate::manifest::{PackPin, RegistryPin};
use crate::observe::{InstalledNode, PlacedNode, fingerprint_tree};
use crate::plan::Action;
use crate::store::{GitCache, NodeStore};
use crate::types::{Blake3, ModelKey, NodeId, WorkflowName};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What staging one action produced.
#[derive(Default)]
pub(super) struct Staged {
    pub steps: Vec<super::journal::Step>,
    pub node: Option<(NodeId, InstalledNode)>,
    pub model: Option<(ModelKey, crate::observe::InstalledModel)>,
    pub workflow: Option<(WorkflowName, crate::observe::workflows::InstalledWorkflow)>,
    pub venv: Option<String>,
    /// A pack whose install.py runs once the new venv exists: its staged folder and the files
    /// carried over from the old version (not part of what comfydock placed).
    pub install: Option<super::install_script::PendingScript>,
}

pub(super) fn stage_action(ctx: &Ctx, action: &Action) -> Result<Staged> {
    use super::journal::Step;
    let env = ctx.env;
    let lock = &ctx.resolved.lock;
    let mut staged = Staged::default();
    match action {
        Action::LinkModel {
            key,
            path,
            mode,
            locked,
            ..
        } => return super::stage_models::stage_link(ctx, key, locked, path, *mode),
        // The model tree holds what stays; a removed model's entry leaves with the old tree.
        Action::UnlinkModel { .. } | Action::ModelPaths { .. } => return Ok(staged),
        Action::Workflow { name, change, locked } => {
            return super::stage_workflows::stage_workflow(ctx, name, locked, *change);
        }
        Action::CloneComfyui { commit, .. } => {
            ctx.reporter
                .step(&format!("Cloning ComfyUI {}", crate::plan::short(commit)));
            let mirror = GitCache::new(&ctx.ws.store_dir()).with_commit(&lock.comfyui.repo, commit)?;
            let dest = ctx.staging.join("ComfyUI");
            crate::git::clone(&mirror.to_string_lossy(), &dest)?;
            crate::git::checkout_detached(&dest, commit)?;
            crate::git::set_origin(&dest, &lock.comfyui.repo)?;
            if env.comfyui.symlink_metadata().is_ok() {
                staged.steps.push(Step::Rename {
                    from: env.comfyui.clone(),
                    to: ctx.trash_path("ComfyUI"),
                });
            }
            staged.steps.push(Step::Rename {
                from: dest,
                to: env.comfyui.clone(),
            });
        }
        Action::CheckoutComfyui { from, to, .. } => {
            if !crate::git::has_commit(&env.comfyui, to) {
                let mirror = GitCache::new(&ctx.ws.store_dir()).with_commit(&lock.comfyui.repo, to)?;
                crate::git::fetch_from(&env.comfyui, &mirror)?;
            }
            // The checkout overwrites tracked files: the user's edits are kept first.
            if let crate::observe::NodeState::Modified { files, .. } = &ctx.observed.comfyui_files {
                save_edits(&env.comfyui, files, &ctx.trash_path("ComfyUI"))?;
            }
            staged.steps.push(Step::Checkout {
                repo: env.comfyui.clone(),
                from: from.clone(),
                to: to.clone(),
            });
        }
        Action::RestoreComfyui { commit, files, deleted } => {
            let saved = ctx.trash_path("ComfyUI");
            save_edits(&env.comfyui, files, &saved)?;
            staged.steps.push(Step::RestoreTracked {
                repo: env.comfyui.clone(),
                commit: commit.clone(),
                saved,
                modified: files.clone(),
                deleted: deleted.clone(),
            });
        }
        // The action carries the lock entry it was planned from: nothing to look up, and a dev
        // node (which has no tree) cannot reach this arm.
        Action::InstallNode {
            id,
            run_install,
            pin: node,
            ..
        }
        | Action::UpdateNode {
            id,
            run_install,
            pin: node,
            ..
        } => {
            let tree = ensure_in_store(ctx, id, node)?;
            let store = NodeStore::new(&ctx.ws.store_dir());
            let dest = ctx.staging.join("nodes").join(id);
            // An install script is a build step: the same inputs reuse what it built before,
            // here or on any machine, and the script does not run again.
            let build = match *run_install {
                true => super::install_script::inputs(ctx, &store, &tree),
                false => None,
            };
            let reused = build
                .as_ref()
                .filter(|_| !ctx.rebuild.iter().any(|r| r == id.as_str()))
                .and_then(|inputs| super::install_script::reusable(ctx, &store, inputs));
            let placed = reused.as_ref().map_or(&tree, |r| &r.tree);
            crate::fsx::copy_tree(&store.path(placed), &dest)?;
            if let Some(warning) = reused.as_ref().and_then(|r| r.warning.as_ref()) {
                ctx.reporter
                    .warn(&format!("{id}: reused the build of its install.py, which {warning}"));
            }
            let folder = node.folder(id);
            let live = env.custom_nodes().join(folder);
            let old = ctx.observed.installed.nodes.get(id.as_str());
            let old_live = old.map(|o| env.custom_nodes().join(o.folder(id)));
            // Files the pack wrote at run time (its runtime paths) move to the new version, from
            // the folder it had (a pack renamed to its repository's spelling keeps them); any
            // other file nobody placed goes to the trash with the old folder.
            let runtime_paths = ctx.runtime_paths(id);
            let mut carried = Vec::new();
            if let (Some(old), Some(old_live)) = (old.and_then(InstalledNode::placed), &old_live)
                && old_live.is_dir()
            {
                let runtime =
                    crate::observe::runtime_paths::RuntimePaths::new(runtime_paths.iter().map(String::as_str));
                carried = carry_runtime_files(old_live, &dest, &old.files, &runtime)?;
            }
            let mut files = fingerprint_tree(&dest)?;
            for rel in &carried {
                files.remove(rel);
            }
            if let Some(old_live) = old_live.filter(|p| *p != live) {
                staged.steps.extend(clear_slot(ctx, id, &old_live)?);
            }
            staged.steps.extend(clear_slot(ctx, folder, &live)?);
            if let (Some(inputs), None) = (build, &reused) {
                staged.install = Some(super::install_script::PendingScript {
                    id: id.clone(),
                    dir: dest.clone(),
                    carried,
                    inputs,
                });
            }
            staged.steps.push(Step::Rename { from: dest, to: live });
            let record = InstalledNode::Placed(PlacedNode {
                source: node.source(),
                version: Some(node.describe()),
                tree: tree.clone(),
                files,
                folder: (folder != id.as_str()).then(|| folder.to_string()),
                derived: reused.as_ref().map(|r| r.tree.clone()),
                runtime_paths,
            });
            staged.node = Some((id.clone(), record));
        }
        Action::LinkDevNode { id, path } => {
            let live = env.custom_nodes().join(id);
            // A folder adopted in place (`node adopt --dev`) is its own pack: nothing to link.
            let in_place = live.symlink_metadata().is_ok_and(|m| m.is_dir())
                && fs_err::canonicalize(&live).is_ok_and(|c| c.as_os_str() == path.as_str());
            if let Some(old) = ctx.observed.installed.nodes.get(id.as_str())
                && old.folder(id) != id.as_str()
            {
                staged
                    .steps
                    .extend(clear_slot(ctx, id, &env.custom_nodes().join(old.folder(id)))?);
            }
            if !in_place {
                staged.steps.extend(clear_slot(ctx, id, &live)?);
                staged.steps.push(Step::Symlink {
                    target: PathBuf::from(path),
                    link: live,
                });
            }
            let record = InstalledNode::Linked { link: path.clone() };
            staged.node = Some((id.clone(), record));
        }
        Action::RemoveNode { id, linked, .. } => {
            let folder = ctx
                .observed
                .installed
                .nodes
                .get(id.as_str())
                .map_or(id.as_str(), |n| n.folder(id));
            let live = env.custom_nodes().join(folder);
            if *linked {
                if let Ok(target) = fs_err::read_link(&live) {
                    staged.steps.push(Step::Unlink { link: live, target });
                }
            } else if live.symlink_metadata().is_ok() {
                staged.steps.push(Step::Rename {
                    from: live,
                    to: ctx.trash_path(id),
                });
            }
        }
        Action::TrashUntracked { name } => {
            let live = env.custom_nodes().join(name);
            staged.steps.push(Step::Rename {
                from: live,
                to: ctx.trash_path(name),
            });
        }
        Action::SyncPython { reuse, backend, .. } => {
            let target = match reuse
                .as_ref()
                .filter(|dir| crate::python::venv_is_whole(&env.root.join(dir)))
            {
                Some(dir) => dir.clone(),
                None => {
                    let dir = format!(".venv-gen-{}", ctx.generation);
                    let path = env.root.join(&dir);
                    // A venv of this number can only be left over from an apply that did not commit.
                    if ctx.observed.venv.as_deref() != Some(dir.as_str()) {
                        let _ = fs_err::remove_dir_all(&path);
                    }
                    ctx.reporter.step(&match backend {
                        Some(b) => format!("Installing Python packages (uv sync, torch backend {b})"),
                        None => "Installing Python packages (uv sync)".to_string(),
                    });
                    let extras: Vec<String> = backend.iter().map(ToString::to_string).collect();
                    ctx.uv.sync_frozen(&ctx.project_dir, &path, &extras, ctx.reporter)?;
                    dir
                }
            };
            let from = fs_err::read_link(&env.venv)
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
            staged.steps.push(Step::SwitchVenv {
                link: env.venv.clone(),
                from,
                to: target.clone(),
            });
            staged.venv = Some(target);
        }
    }
    Ok(staged)
}

/// Copies the user's versions of ComfyUI files into the trash (before a checkout replaces them).
/// A copy, not a move: the live tree is only changed by the journaled switch.
fn save_edits(comfyui: &Path, files: &[String], saved: &Path) -> std::io::Result<()> {
    for rel in files {
        let from = comfyui.join(rel);
        if from.symlink_metadata().is_err() {
            continue;
        }
        let to = saved.join(rel);
        if let Some(parent) = to.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::copy(&from, &to)?;
    }
    Ok(())
}

/// Steps that empty `custom_nodes/<id>` before something is placed there. An untracked folder
/// of that name has its own TrashUntracked action.
/// What stands at `live` moves out of the way (a link is removed, anything else goes to the
/// trash as `name`); an untracked entry there is the plan's own `TrashUntracked`.
fn clear_slot(ctx: &Ctx, name: &str, live: &Path) -> Result<Vec<super::journal::Step>> {
    use super::journal::Step;
    if live
        .file_name()
        .is_some_and(|f| ctx.observed.untracked.iter().any(|u| f == u.as_str()))
    {
        return Ok(Vec::new());
    }
    Ok(match live.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => {
            vec![Step::Unlink {
                link: live.to_path_buf(),
                target: fs_err::read_link(live)?,
            }]
        }
        Ok(_) => vec![Step::Rename {
            from: live.to_path_buf(),
            to: ctx.trash_path(name),
        }],
        Err(_) => Vec::new(),
    })
}

/// The node's tree in the store: from the store when present (no network), else exported from
/// the git mirror or downloaded from the registry, and checked against the lock.
fn ensure_in_store(ctx: &Ctx, id: &NodeId, node: &PackPin) -> Result<Blake3> {
    let store = NodeStore::new(&ctx.ws.store_dir());
    let pin = match node {
        PackPin::Registry(pin) => {
            if store.contains(&pin.tree) || super::stage_remote::node(ctx, id.as_str(), &pin.tree) {
                return Ok(pin.tree.clone());
            }
            return fetch_registry_pack(ctx, id, pin);
        }
        PackPin::Panel(pin) => {
            if store.contains(&pin.tree) || super::stage_remote::node(ctx, id.as_str(), &pin.tree) {
                return Ok(pin.tree.clone());
            }
            // This binary can only write its own panel's files.
            let actual = crate::panel::store_tree(&store)?;
            if actual != pin.tree {
                return Err(ApplyError::PanelVersion {
                    locked: pin.version.to_string(),
                    running: crate::panel::VERSION,
                });
            }
            return Ok(actual);
        }
        PackPin::Git(pin) => pin,
    };
    if store.contains(&pin.tree) || super::stage_remote::node(ctx, id.as_str(), &pin.tree) {
        return Ok(pin.tree.clone());
    }
    ctx.reporter.step(&format!("Fetching node {id}"));
    let mirror = GitCache::new(&ctx.ws.store_dir()).with_commit(&pin.repository, &pin.commit)?;
    let scratch = store.scratch()?;
    crate::git::export_tree(&mirror, &pin.commit, scratch.path())?;
    let actual = store.insert(scratch)?;
    if actual != pin.tree {
        return Err(crate::resolve::ResolveError::TreeMismatch {
            id: id.to_string(),
            expected: pin.tree.to_string(),
            actual: actual.to_string(),
        }
        .into());
    }
    Ok(actual)
}

/// Downloads a pinned registry pack again (its archive must have the locked sha256).
fn fetch_registry_pack(ctx: &Ctx, id: &NodeId, pin: &RegistryPin) -> Result<Blake3> {
    use crate::resolve::ResolveError;
    ctx.reporter.step(&format!("Fetching node {id} {}", pin.version));
    let client = crate::registry::workspace_client(ctx.ws, ctx.offline, ctx.transfers.clone())
        .map_err(|r| ResolveError::Other(r.into()))?;
    let pinned = crate::registry::ResolvedVersion {
        node_id: pin.registry_id.to_string(),
        version: pin.version.to_string(),
        download_url: pin.url.clone(),
        dependencies: Vec::new(),
        deprecated: false,
        status: crate::registry::types::VersionStatus::Active,
    };
    let fetched = crate::registry::fetch_and_extract(&client, &ctx.ws.store_dir(), &pinned, Some(&pin.sha256))
        .map_err(ResolveError::registry)?;
    if fetched.tree_hash != pin.tree {
        return Err(ResolveError::TreeMismatch {
            id: id.to_string(),
            expected: pin.tree.to_string(),
            actual: fetched.tree_hash.to_string(),
        }
        .into());
    }
    Ok(fetched.tree_hash)
}

/// Copies files under `live` that comfydock did not place (`placed`) and the new tree does not
/// have into `dest`. Returns their relative paths.
fn carry_runtime_files(
    live: &Path,
    dest: &Path,
    placed: &BTreeMap<String, crate::observe::Fingerprint>,
    runtime: &crate::observe::runtime_paths::RuntimePaths,
) -> std::io::Result<Vec<String>> {
    let mut carried = Vec::new();
    for entry in walkdir::WalkDir::new(live).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(live).map_err(std::io::Error::other)?;
        let key = rel.to_string_lossy().into_owned();
        let target = dest.join(rel);
        if placed.contains_key(&key)
            || target.symlink_metadata().is_ok()
            || key.contains("__pycache__")
            || !runtime.matches(&key)
        {
            continue;
        }
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::copy(entry.path(), &target)?;
        carried.push(key);
    }
    Ok(carried)
}
