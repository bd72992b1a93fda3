//! Phase 1 for models: find a local file with the locked content (the model index), or
//! download it from the model's sources in order (verified by blake3, and sha256 when known).
//! The entries ComfyUI sees (symlink, hardlink or copy) are made in the generation's model tree
//! (`model_tree.rs`). Model files are never deleted.

use super::model_tree_record;
use super::stage::Staged;
use super::{ApplyError, Ctx, Result};
use crate::manifest::{LockedModel, ModelSource};
use crate::models::{self, ModelIndex, sources};
use crate::observe::{Fingerprint, InstalledModel, LinkMode};
use crate::types::{ModelKey, RelPath};
use std::path::PathBuf;

/// `model` is the lock entry the plan's action carries (see `plan::Action`).
pub(super) fn stage_link(
    ctx: &Ctx,
    key: &ModelKey,
    model: &LockedModel,
    path: &RelPath,
    mode: LinkMode,
) -> Result<Staged> {
    let path = path.as_str();
    // ComfyUI reads its own `models/` first: a file of the user's there, of the same name, would
    // hide the declared model. Links an older comfydock made there are moved out by this apply.
    let live = ctx.env.comfyui.join(path);
    let installed = &ctx.observed.installed;
    let legacy_ours = installed.legacy_models() && installed.models.values().any(|m| m.path == path);
    if live.symlink_metadata().is_ok() && !legacy_ours && ctx.observed.comfyui_commit.is_some() {
        return Err(ApplyError::ModelSlotTaken { path: live });
    }
    if let Some(entry) = recorded_entry(ctx, path, mode, &model.blake3) {
        return Ok(Staged {
            model: Some((key.clone(), entry)),
            ..Staged::default()
        });
    }
    let source = locate_or_download(ctx, key, model)?;
    // The entry itself is made when the model tree is built (`model_tree`), once every model of
    // the generation is known; a hardlink's or copy's own fingerprint is taken then.
    let fingerprint = Fingerprint::of(&source.metadata()?);
    Ok(Staged {
        model: Some((
            key.clone(),
            InstalledModel {
                blake3: model.blake3.clone(),
                path: path.to_string(),
                mode,
                target: source.display().to_string(),
                fingerprint,
            },
        )),
        ..Staged::default()
    })
}

/// The entry at `path` of the tree already built for the lock's models, when one is recorded
/// and holds (`model_tree_record::find`, once per apply): its source file and fingerprint as
/// they were placed, with no index lookup.
fn recorded_entry(ctx: &Ctx, path: &str, mode: LinkMode, blake3: &crate::types::Blake3) -> Option<InstalledModel> {
    ctx.known_tree
        .get_or_init(|| {
            model_tree_record::for_lock(ctx.ws, &ctx.resolved.lock, mode, |key| !ctx.observed.skips_model(key))
        })
        .as_ref()?
        .entry(path, mode, blake3)
        .cloned()
}

/// A file with the model's content: one the index knows, else a download into the workspace's
/// `models/<category>/`, indexed once verified.
fn locate_or_download(ctx: &Ctx, key: &str, model: &LockedModel) -> Result<PathBuf> {
    let found = with_index(ctx, |index| Ok(models::local_file(index, &model.blake3.to_string())))?;
    if let Some(path) = found {
        return Ok(path);
    }
    let root = ctx.ws.root().join("models");
    let dir = root.join(&model.category);
    fs_err::create_dir_all(&dir)?;
    let hex = model.blake3.hex();
    // Never over a file of the user's: a different file of that name gets a hash-prefixed name.
    let mut dest = dir.join(&model.filename);
    if let Some(parent) = dest.parent() {
        fs_err::create_dir_all(parent)?;
    }
    if dest.exists() {
        dest = dir.join(model.filename.with_name_prefix(&format!("{}-", &hex[..12])));
    }
    let expected = models::Expected {
        blake3: Some(model.blake3.clone()),
        sha256: model.sha256.clone(),
        size: model.size,
    };
    if let Some(path) = super::stage_remote::model(ctx, key, &model.blake3, model.sha256.as_ref(), &dest) {
        with_index(ctx, |index| {
            models::scan::record_file(index, &root, &path, &model.blake3, model.sha256.as_ref())
                .map_err(ApplyError::model)
        })?;
        return Ok(path);
    }
    let endpoints = sources::Endpoints::from_env();
    let http = crate::store::Http::from_env();
    let mut failures = Vec::new();
    for source in &model.sources {
        let Some(source) = to_source(source) else {
            failures.push("a civitai source needs `version_id`".to_string());
            continue;
        };
        let resolved = sources::resolve(&source, &endpoints).map_err(ApplyError::model)?;
        let token = resolved.token();
        let request = models::DownloadRequest {
            url: &resolved.url,
            downloads_dir: &models::downloads_dir(ctx.ws),
            expected: &expected,
            token: token.as_ref(),
            dest: Some(&dest),
            attempts: None,
        };
        match models::download(&http, &request, ctx.transfers.as_ref()) {
            Ok(done) => {
                with_index(ctx, |index| {
                    // Verified against the lock's blake3 (`expected`).
                    models::scan::record_file(index, &root, &done.path, &model.blake3, done.sha256.as_ref())
                        .map_err(ApplyError::model)
                })?;
                return Ok(done.path);
            }
            // Content that is not what the lock says is refused outright, not retried elsewhere.
            Err(e @ models::ModelError::HashMismatch { .. }) => return Err(ApplyError::model(e)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    Err(ApplyError::ModelUnavailable {
        key: key.to_string(),
        reasons: reasons(&failures),
    })
}

/// Runs `f` on the apply's model index, opening it the first time. The index is not held
/// during a download, so downloads still run side by side.
fn with_index<T>(ctx: &Ctx, f: impl FnOnce(&mut ModelIndex) -> Result<T>) -> Result<T> {
    let mut guard = ctx.model_index.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut index = match guard.take() {
        Some(index) => index,
        None => ModelIndex::open(&models::index_path(ctx.ws)).map_err(ApplyError::model)?,
    };
    let out = f(&mut index);
    *guard = Some(index);
    out
}

fn reasons(failures: &[String]) -> String {
    if failures.is_empty() {
        "no file in the model index has its content, and it declares no source".into()
    } else {
        failures.join("; ")
    }
}

fn to_source(source: &ModelSource) -> Option<sources::Source> {
    Some(match source {
        ModelSource::Huggingface { repo, file, revision } => sources::Source::HuggingFace {
            repo: repo.clone(),
            file: file.clone(),
            revision: revision.clone(),
        },
        ModelSource::Civitai { version_id, .. } => sources::Source::Civitai {
            version_id: version_id.clone()?,
        },
        ModelSource::Url { url, .. } => sources::Source::Url { url: url.clone() },
    })
}
