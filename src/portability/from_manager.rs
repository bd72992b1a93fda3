//! `import --manager-snapshot FILE`: a new environment holding what a ComfyUI-Manager snapshot
//! lists. ComfyUI at the snapshot's commit is generation 1 (the ordinary `create`); the packs
//! and Python packages are declared in the manifest, locked and applied as generation 2. No
//! install script runs (the manifest's `install` stays unset). A failure at any step removes
//! the environment again.

use super::error::{PortabilityError, Result};
use super::manager_snapshot::{self, ManagerSnapshot};
use crate::manifest::NodeSpec;
use crate::progress::Reporter;
use crate::python::conflict::ENVIRONMENT_GROUP;
use crate::reconcile::{CreateOptions, Session, create_environment};
use crate::resolve::Update;
use crate::types::{EnvName, RepoUrl};
use crate::workspace::{EnvPaths, Workspace};
use std::path::PathBuf;

pub struct SnapshotImportOptions {
    pub file: PathBuf,
    pub name: Option<EnvName>,
    pub comfyui_repo: RepoUrl,
    pub torch_backend: Option<crate::types::TorchBackend>,
    pub offline: bool,
}

pub struct SnapshotImported {
    pub env: EnvPaths,
    pub snapshot: ManagerSnapshot,
}

pub fn import_manager_snapshot(
    ws: &Workspace,
    opts: &SnapshotImportOptions,
    reporter: &dyn Reporter,
) -> Result<SnapshotImported> {
    let snapshot = manager_snapshot::load(&opts.file).map_err(Box::new)?;
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => opts
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .ok_or(PortabilityError::NoName)?,
    };
    let comfyui_ref = match &snapshot.comfyui {
        Some(commit) => Some(commit.as_str().parse().map_err(|_| PortabilityError::NoName)?),
        None => None,
    };
    reporter.step(&format!(
        "Creating `{name}` from the Manager snapshot {}",
        opts.file.display()
    ));
    let env = create_environment(
        ws,
        &CreateOptions {
            name: name.clone(),
            comfyui_ref,
            comfyui_repo: opts.comfyui_repo.clone(),
            python: None,
            torch_backends: Vec::new(),
        },
        reporter,
    )?;
    // Incomplete again until the packs are in: `list` says so if this process dies now.
    let marked = crate::fsx::write_atomic(&env.creating_marker(), b"").map_err(PortabilityError::io(&env.state));
    let result = marked.and_then(|()| add_contents(ws, &env, &snapshot, opts, reporter));
    if result.is_err() {
        let _ = fs_err::remove_dir_all(&env.root);
    }
    result?;
    std::fs::remove_file(env.creating_marker()).map_err(PortabilityError::io(&env.state))?;
    Ok(SnapshotImported { env, snapshot })
}

fn add_contents(
    ws: &Workspace,
    env: &EnvPaths,
    snapshot: &ManagerSnapshot,
    opts: &SnapshotImportOptions,
    reporter: &dyn Reporter,
) -> Result<()> {
    if snapshot.registry.is_empty() && snapshot.git.is_empty() && snapshot.pips.is_empty() {
        return Ok(());
    }
    let mut session = Session::writer(ws, env.clone(), reporter, "import")?.offline(opts.offline);
    session.torch_backend = opts.torch_backend.clone();
    let mut manifest = session.manifest()?;
    for pack in &snapshot.registry {
        manifest.set_node(
            pack.id.as_str(),
            &NodeSpec::registry(Some(pack.id.clone()), Some(pack.version.clone())),
        );
    }
    for pack in &snapshot.git {
        let rev = match &pack.commit {
            Some(c) => Some(c.as_str().parse().map_err(|_| PortabilityError::NoName)?),
            None => None,
        };
        // Named as `node add` names it: the pack's own metadata first, else its repository.
        let id = crate::resolve::pack_meta::git_pack_id(&ws.store_dir(), &pack.repository, rev.as_ref())
            .filter(|id| !manifest.config().nodes.contains_key(id))
            .unwrap_or_else(|| pack.id.clone());
        manifest.set_node(id.as_str(), &NodeSpec::git(pack.repository.clone(), rev));
    }
    if !snapshot.pips.is_empty() {
        let mut group = manifest
            .dependency_groups()
            .remove(ENVIRONMENT_GROUP)
            .unwrap_or_default();
        group.extend(snapshot.pips.iter().cloned());
        manifest.set_group(ENVIRONMENT_GROUP, &group);
    }
    manifest.save().map_err(PortabilityError::io(manifest.path()))?;
    let resolved = session.resolve(&manifest, &Update::Nothing)?;
    let planned = session.plan(&resolved)?;
    session.apply(
        &resolved,
        &planned,
        &format!("Import Manager snapshot {}", opts.file.display()),
    )?;
    Ok(())
}
