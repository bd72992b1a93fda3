//! Phase 1: everything that needs the network or the CPU, done outside the live environment.
//! Produces the journal steps of the switch and the new installed record.

use super::{ApplyError, Ctx, Result};
use crate::manifest::{LockedNode, NodeSource};
use crate::observe::{InstalledNode, fingerprint_tree};
use crate::plan::Action;
use crate::store::{GitCache, NodeStore};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What staging one action produced.
#[derive(Default)]
pub(super) struct Staged {
    pub steps: Vec<super::journal::Step>,
    pub node: Option<(String, InstalledNode)>,
    pub model: Option<(String, crate::observe::InstalledModel)>,
    pub venv: Option<String>,
}

pub(super) fn stage_action(ctx: &Ctx, action: &Action) -> Result<Staged> {
    use super::journal::Step;
    let env = ctx.env;
    let lock = &ctx.resolved.lock;
    let mut staged = Staged::default();
    match action {
        Action::LinkModel { key, path, mode, .. } => return super::stage_models::stage_link(ctx, key, path, *mode),
        Action::UnlinkModel { key, path } => return super::stage_models::stage_unlink(ctx, key, path),
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
            staged.steps.push(Step::Checkout {
                repo: env.comfyui.clone(),
                from: from.clone(),
                to: to.clone(),
            });
        }
        Action::InstallNode { id, .. } | Action::UpdateNode { id, .. } => {
            let node = lock
                .nodes
                .get(id)
                .ok_or_else(|| ApplyError::NotInLock { id: id.clone() })?;
            let tree = ensure_in_store(ctx, id, node)?;
            let store = NodeStore::new(&ctx.ws.store_dir());
            let dest = ctx.staging.join("nodes").join(id);
            crate::fsx::copy_tree(&store.path(&tree), &dest)?;
            let live = env.custom_nodes().join(id);
            let old = ctx.observed.installed.nodes.get(id);
            // Files the pack wrote at run time (not placed by comfydock) move to the new version.
            let mut carried = Vec::new();
            if let Some(old) = old.filter(|o| o.link.is_none())
                && live.is_dir()
            {
                carried = carry_runtime_files(&live, &dest, &old.files)?;
            }
            let mut files = fingerprint_tree(&dest)?;
            for rel in &carried {
                files.remove(rel);
            }
            staged.steps.extend(clear_slot(ctx, id, &live)?);
            staged.steps.push(Step::Rename { from: dest, to: live });
            let record = InstalledNode {
                source: node.source,
                version: Some(node.describe()),
                tree: Some(tree),
                link: None,
                files,
            };
            staged.node = Some((id.clone(), record));
        }
        Action::LinkDevNode { id, path } => {
            let live = env.custom_nodes().join(id);
            staged.steps.extend(clear_slot(ctx, id, &live)?);
            staged.steps.push(Step::Symlink {
                target: PathBuf::from(path),
                link: live,
            });
            let record = InstalledNode {
                source: NodeSource::Local,
                version: Some(path.clone()),
                tree: None,
                link: Some(path.clone()),
                files: BTreeMap::new(),
            };
            staged.node = Some((id.clone(), record));
        }
        Action::RemoveNode { id, linked } => {
            let live = env.custom_nodes().join(id);
            if *linked {
                if let Ok(target) = std::fs::read_link(&live) {
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
            let target = match reuse.as_ref().filter(|dir| env.root.join(dir).join("bin").is_dir()) {
                Some(dir) => dir.clone(),
                None => {
                    let dir = format!(".venv-gen-{}", ctx.generation);
                    let path = env.root.join(&dir);
                    // A venv of this number can only be left over from an apply that did not commit.
                    if ctx.observed.venv.as_deref() != Some(dir.as_str()) {
                        let _ = std::fs::remove_dir_all(&path);
                    }
                    ctx.reporter.step(&match backend {
                        Some(b) => format!("Installing Python packages (uv sync, torch backend {b})"),
                        None => "Installing Python packages (uv sync)".to_string(),
                    });
                    let extras: Vec<String> = backend.iter().cloned().collect();
                    ctx.uv.sync_frozen(&ctx.project_dir, &path, &extras)?;
                    dir
                }
            };
            let from = std::fs::read_link(&env.venv)
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

/// Steps that empty `custom_nodes/<id>` before something is placed there. An untracked folder
/// of that name has its own TrashUntracked action.
fn clear_slot(ctx: &Ctx, id: &str, live: &Path) -> Result<Vec<super::journal::Step>> {
    use super::journal::Step;
    if ctx.observed.untracked.iter().any(|u| u == id) {
        return Ok(Vec::new());
    }
    Ok(match live.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => {
            vec![Step::Unlink {
                link: live.to_path_buf(),
                target: std::fs::read_link(live)?,
            }]
        }
        Ok(_) => vec![Step::Rename {
            from: live.to_path_buf(),
            to: ctx.trash_path(id),
        }],
        Err(_) => Vec::new(),
    })
}

/// The node's tree in the store: from the store when present (no network), else exported from
/// the git mirror and checked against the lock.
fn ensure_in_store(ctx: &Ctx, id: &str, node: &LockedNode) -> Result<String> {
    let store = NodeStore::new(&ctx.ws.store_dir());
    let expected = node
        .tree
        .clone()
        .ok_or_else(|| ApplyError::NotInLock { id: id.to_string() })?;
    if store.contains(&expected) {
        return Ok(expected);
    }
    if node.source == NodeSource::Registry {
        return fetch_registry_pack(ctx, id, node, expected);
    }
    let (Some(repo), Some(commit)) = (&node.repository, &node.commit) else {
        return Err(ApplyError::NotInLock { id: id.to_string() });
    };
    ctx.reporter.step(&format!("Fetching node {id}"));
    let mirror = GitCache::new(&ctx.ws.store_dir()).with_commit(repo, commit)?;
    let scratch = store.scratch()?;
    crate::git::export_tree(&mirror, commit, scratch.path())?;
    let actual = store.insert(scratch)?;
    if actual != expected {
        return Err(crate::resolve::ResolveError::TreeMismatch {
            id: id.to_string(),
            expected,
            actual,
        }
        .into());
    }
    Ok(actual)
}

/// Downloads a pinned registry pack again (its archive must have the locked sha256).
fn fetch_registry_pack(ctx: &Ctx, id: &str, node: &LockedNode, expected: String) -> Result<String> {
    use crate::resolve::ResolveError;
    let (Some(registry_id), Some(version)) = (&node.registry_id, &node.version) else {
        return Err(ApplyError::NotInLock { id: id.to_string() });
    };
    ctx.reporter.step(&format!("Fetching node {id} {version}"));
    let client = crate::registry::workspace_client(ctx.ws, ctx.offline, ctx.transfers.clone())
        .map_err(|r| ResolveError::Other(r.into()))?;
    let pinned = crate::registry::ResolvedVersion {
        node_id: registry_id.clone(),
        version: version.clone(),
        download_url: node.url.clone().unwrap_or_default(),
        dependencies: Vec::new(),
        deprecated: false,
        status: crate::registry::types::VersionStatus::Active,
    };
    let fetched = crate::registry::fetch_and_extract(&client, &ctx.ws.store_dir(), &pinned, node.sha256.as_deref())
        .map_err(ResolveError::registry)?;
    let actual = format!("blake3:{}", fetched.tree_hash);
    if actual != expected {
        return Err(ResolveError::TreeMismatch {
            id: id.to_string(),
            expected,
            actual,
        }
        .into());
    }
    Ok(actual)
}

/// Copies files under `live` that comfydock did not place (`placed`) and the new tree does not
/// have into `dest`. Returns their relative paths.
fn carry_runtime_files(
    live: &Path,
    dest: &Path,
    placed: &BTreeMap<String, crate::observe::Fingerprint>,
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
        if placed.contains_key(&key) || target.symlink_metadata().is_ok() || key.contains("__pycache__") {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(entry.path(), &target)?;
        carried.push(key);
    }
    Ok(carried)
}
