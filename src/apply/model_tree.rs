//! A generation's placed models as one tree, switched by one rename (as Nix switches a profile
//! by one symlink). The tree is built once in `store/model-trees/<id>/` (the id hashes what it
//! holds: each entry's path, link mode, source file and content hash) and shared by every
//! environment and generation of the workspace that places the same models; the environment's
//! `.comfydock/models` links to it, and ComfyUI reads its categories through comfydock's section
//! of `ComfyUI/extra_model_paths.yaml`. `ComfyUI/models/` stays the user's.
//!
//! Rolling back to models placed before, or a second environment with the same models, finds
//! the tree built and switches the link: one journaled step whatever the number of models. A
//! new tree costs one entry per model, and entries of models the plan does not change are
//! hardlinks of the live tree's entries (a symlink's inode is linked, not made again).

use super::journal::Step;
use super::model_tree_record::{self, TreeRecord};
use super::{ApplyError, Ctx, Result};
use crate::models::paths_yaml;
use crate::observe::{
    Fingerprint, Installed, InstalledModel, LinkMode, MODEL_TREES, ModelTree, NodeState, Observed, tree_rel,
};
use crate::plan::{Action, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Scratch folders of trees being built: `.tmp-<pid>-<id>`.
pub const SCRATCH: &str = ".tmp-";
/// Trees found damaged (an entry deleted or replaced by hand), set aside for `gc`.
pub const DAMAGED: &str = ".damaged-";

/// The id of the tree holding `models`.
pub fn id(models: &BTreeMap<crate::types::ModelKey, InstalledModel>) -> String {
    let mut entries: Vec<&InstalledModel> = models.values().collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = blake3::Hasher::new();
    for m in entries {
        for part in [
            m.path.as_str(),
            &m.mode.to_string(),
            m.target.as_str(),
            // The text form (`blake3:<hex>`), as the ids of existing trees were made.
            &m.blake3.to_string(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
    }
    hasher.finalize().to_hex()[..32].to_string()
}

/// The journal steps that place `installed.models` (what the new generation has) when the plan
/// changes models: the model tree built or found, comfydock's section of
/// `extra_model_paths.yaml` when it differs, the switch of `.comfydock/models`, and once, the
/// removal of the links an older comfydock made in `ComfyUI/models/`. Records the tree in
/// `installed`. Runs in the stage phase: the environment is not touched.
pub(super) fn prepare(ctx: &Ctx, plan: &Plan, observed: &Observed, installed: &mut Installed) -> Result<Vec<Step>> {
    let touches = plan.actions.iter().any(|a| {
        matches!(
            a,
            Action::LinkModel { .. } | Action::UnlinkModel { .. } | Action::ModelPaths { .. }
        )
    });
    if !touches {
        return Ok(Vec::new());
    }
    let mut steps = Vec::new();
    if observed.installed.legacy_models() && observed.comfyui_commit.is_some() {
        steps.extend(legacy_cleanup(ctx, observed));
    }
    let link = ctx.env.placed_models();
    let from = fs::read_link(&link).ok();
    if installed.models.is_empty() {
        installed.model_tree = None;
        if from.is_some() {
            steps.push(Step::SwitchModels { link, from, to: None });
        }
        return Ok(steps);
    }
    let placing: BTreeSet<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::LinkModel { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    let id = id(&installed.models);
    let tree = match recorded(ctx, &id, installed) {
        // Built and unchanged since: one switch, whatever the number of models.
        Some(record) => {
            fill_from_record(&mut installed.models, &record);
            ModelTree {
                categories: categories(ctx, installed),
                ..record.tree
            }
        }
        None => {
            let dir = ensure(ctx, &id, &mut installed.models, &placing, from.as_deref())?;
            let (stamps, stamped_at) = stamps(&dir, &installed.models);
            let tree = ModelTree {
                categories: categories(ctx, installed),
                id,
                stamps,
                stamped_at,
            };
            model_tree_record::save(ctx.ws, &tree, &installed.models);
            tree
        }
    };
    let dir = ctx.ws.store_dir().join(MODEL_TREES).join(&tree.id);
    let yaml = ctx.env.comfyui.join(paths_yaml::FILE_NAME);
    let old = match fs::read(&yaml) {
        Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not UTF-8 text; comfydock will not rewrite it", yaml.display()),
            )
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let new = paths_yaml::with_block(old.as_deref(), &paths_yaml::placed_block(&link, &tree.categories));
    if old.as_deref() != Some(new.as_str()) {
        steps.push(Step::WriteFile { path: yaml, old, new });
    }
    if from.as_deref() != Some(dir.as_path()) {
        steps.push(Step::SwitchModels {
            link,
            from,
            to: Some(dir),
        });
    }
    installed.model_tree = Some(tree);
    Ok(steps)
}

/// The record of tree `id`, when it holds `installed.models` and can be trusted as it is (the
/// one stage found for the lock's models, else the one for the models this generation keeps).
fn recorded(ctx: &Ctx, id: &str, installed: &Installed) -> Option<TreeRecord> {
    let staged = ctx
        .known_tree
        .get()
        .and_then(Option::as_ref)
        .filter(|r| r.tree.id == id);
    match staged {
        Some(record) => Some(record.clone()),
        None => {
            model_tree_record::find(ctx.ws, &model_tree_record::want_of(&installed.models)).filter(|r| r.tree.id == id)
        }
    }
}

/// The fingerprints of hardlinks and copies as the record has them (checked by `find`).
fn fill_from_record<K>(models: &mut BTreeMap<K, InstalledModel>, record: &TreeRecord) {
    for m in models.values_mut() {
        if let Some(r) = record.models.get(&m.path) {
            m.fingerprint = r.fingerprint;
        }
    }
}

/// The tree `id` holding `models`: found in the store (its entries the plan places checked
/// first: a damaged tree is set aside and built again, never reused), else built in a scratch
/// folder and renamed into place once every entry and folder is on disk. Fills in the
/// fingerprints of hardlinks and copies.
fn ensure(
    ctx: &Ctx,
    id: &str,
    models: &mut BTreeMap<crate::types::ModelKey, InstalledModel>,
    placing: &BTreeSet<&str>,
    live: Option<&Path>,
) -> Result<PathBuf> {
    let trees = ctx.ws.store_dir().join(MODEL_TREES);
    fs::create_dir_all(&trees)?;
    let dir = trees.join(id);
    if dir.is_dir() {
        let intact = models
            .values()
            .filter(|m| placing.contains(m.path.as_str()))
            .all(|m| crate::observe::model_state(&dir.join(tree_rel(&m.path)), m) == NodeState::Intact);
        if intact {
            fill_fingerprints(&dir, models)?;
            return Ok(dir);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        crate::fsx::rename_durable(&dir, &trees.join(format!("{DAMAGED}{id}-{nanos}")))?;
    }
    ctx.reporter.step(&format!(
        "Building the model tree ({} model{})",
        models.len(),
        if models.len() == 1 { "" } else { "s" }
    ));
    let tmp = trees.join(format!("{}{id}", crate::fsx::scratch_prefix(SCRATCH)));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    let mut folders: BTreeSet<PathBuf> = BTreeSet::from([tmp.clone()]);
    for m in models.values() {
        let rel = tree_rel(&m.path);
        let entry = tmp.join(rel);
        if let Some(parent) = entry.parent()
            && !folders.contains(parent)
        {
            fs::create_dir_all(parent)?;
            let mut p = parent;
            while p != tmp && folders.insert(p.to_path_buf()) {
                p = p.parent().unwrap_or(&tmp);
            }
        }
        // An unchanged model's entry is the live tree's, linked: no new inode.
        let reused = !placing.contains(m.path.as_str())
            && live.is_some_and(|live| fs::hard_link(live.join(rel), &entry).is_ok());
        if !reused {
            make_entry(ctx, m, &entry)?;
        }
    }
    for folder in &folders {
        crate::fsx::sync_dir(folder)?;
    }
    fs::rename(&tmp, &dir)?;
    crate::fsx::sync_dir(&trees)?;
    // The tree never changes once built: its folders are dated a second back, so the stamps
    // taken now are not racily new (a change by hand later gets the time of that change).
    let settled = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    for folder in folders.iter().chain([&tmp]) {
        let built = dir.join(folder.strip_prefix(&tmp).unwrap_or(Path::new("")));
        fs::File::open(&built)?.set_modified(settled)?;
    }
    fill_fingerprints(&dir, models)?;
    Ok(dir)
}

/// Stamps of the tree's folders and of the folders the symlinks point into (what observe
/// compares to trust the symlinks), and when they were taken.
fn stamps(
    dir: &Path,
    models: &BTreeMap<crate::types::ModelKey, InstalledModel>,
) -> (Vec<crate::observe::DirStamp>, i64) {
    let mut folders: BTreeSet<PathBuf> = BTreeSet::from([dir.to_path_buf()]);
    for m in models.values() {
        let mut entry = dir.join(tree_rel(&m.path));
        while entry.pop() && entry.starts_with(dir) && entry != dir {
            folders.insert(entry.clone());
        }
        if m.mode == LinkMode::Symlink
            && let Some(parent) = Path::new(&m.target).parent()
        {
            folders.insert(parent.to_path_buf());
        }
    }
    let stamped_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let stamps = folders
        .iter()
        .map(|f| crate::observe::DirStamp::of(f))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    (stamps, stamped_at)
}

fn make_entry(ctx: &Ctx, m: &InstalledModel, entry: &Path) -> Result<()> {
    let source = Path::new(&m.target);
    match m.mode {
        LinkMode::Symlink => std::os::unix::fs::symlink(source, entry)?,
        LinkMode::Hardlink => fs::hard_link(source, entry).map_err(|e| ApplyError::Hardlink {
            path: source.to_path_buf(),
            reason: e.to_string(),
        })?,
        LinkMode::Copy => {
            ctx.reporter.step(&format!("Copying model {}", m.path));
            fs::copy(source, entry)?;
            fs::File::open(entry)?.sync_all()?;
        }
    }
    Ok(())
}

/// A hardlink or copy is recorded by its own fingerprint (a symlink by its target's, taken at
/// stage).
fn fill_fingerprints(dir: &Path, models: &mut BTreeMap<crate::types::ModelKey, InstalledModel>) -> Result<()> {
    for m in models.values_mut() {
        if m.mode != LinkMode::Symlink {
            m.fingerprint = Fingerprint::of(&dir.join(tree_rel(&m.path)).symlink_metadata()?);
        }
    }
    Ok(())
}

/// The category folders ComfyUI reads: each placed model's locked category.
fn categories(ctx: &Ctx, installed: &Installed) -> Vec<String> {
    let set: BTreeSet<String> = installed
        .models
        .iter()
        .map(|(key, m)| match ctx.resolved.lock.models.get(key.as_str()) {
            Some(locked) => locked.category.to_string(),
            None => tree_rel(&m.path).split('/').next().unwrap_or_default().to_string(),
        })
        .collect();
    set.into_iter().collect()
}

/// Links an older comfydock placed in `ComfyUI/models/`: removed (a hardlink or copy moves to
/// the trash). An entry that is no longer what was placed is the user's now and stays.
fn legacy_cleanup(ctx: &Ctx, observed: &Observed) -> Option<Step> {
    let mut batch = Vec::new();
    for (key, m) in &observed.installed.models {
        let live = ctx.env.comfyui.join(&m.path);
        match live.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = fs::read_link(&live)
                    && target.as_os_str().as_encoded_bytes() == m.target.as_bytes()
                {
                    batch.push(Step::Unlink { link: live, target });
                }
            }
            Ok(meta) if m.mode != LinkMode::Symlink && Fingerprint::of(&meta) == m.fingerprint => {
                batch.push(Step::Rename {
                    from: live,
                    to: ctx.trash_path(key),
                })
            }
            _ => {}
        }
    }
    (!batch.is_empty()).then_some(Step::Batch { steps: batch })
}
