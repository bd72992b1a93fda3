//! Phase 1 for models: find a local file with the locked content (the model index), or
//! download it from the model's sources in order (verified by blake3, and sha256 when known),
//! then make the entry ComfyUI will see — a symlink, hardlink or copy — in the staging folder.
//! The switch renames it into `ComfyUI/models/<category>/`. Model files are never deleted.

use super::journal::Step;
use super::stage::Staged;
use super::{ApplyError, Ctx, Result};
use crate::manifest::{LockedModel, ModelSource};
use crate::models::{self, ModelIndex, sources};
use crate::observe::{Fingerprint, InstalledModel, LinkMode};
use std::path::PathBuf;

pub(super) fn stage_link(ctx: &Ctx, key: &str, path: &str, mode: LinkMode) -> Result<Staged> {
    let model = ctx
        .resolved
        .lock
        .models
        .get(key)
        .ok_or_else(|| ApplyError::NotInLock { id: key.to_string() })?;
    let source = locate_or_download(ctx, key, model)?;
    let mut staged = Staged::default();
    let live = ctx.env.comfyui.join(path);
    let ours = |p: &str| ctx.observed.installed.models.values().any(|m| m.path == p);
    match live.symlink_metadata() {
        Err(_) => {}
        Ok(m) if ours(path) && m.file_type().is_symlink() => staged.steps.push(Step::Unlink {
            link: live.clone(),
            target: std::fs::read_link(&live)?,
        }),
        Ok(_) if ours(path) => staged.steps.push(Step::Rename {
            from: live.clone(),
            to: ctx.trash_path(key),
        }),
        Ok(_) => return Err(ApplyError::ModelSlotTaken { path: live }),
    }
    let fingerprint = match mode {
        // Nothing to stage for a symlink: the switch makes it, one filesystem operation rather
        // than a staged link and a rename. Observe checks a symlink by its target; the
        // fingerprint recorded is the target file's.
        LinkMode::Symlink => {
            let fingerprint = Fingerprint::of(&source.metadata()?);
            staged.steps.push(Step::Symlink {
                target: source.clone(),
                link: live,
            });
            fingerprint
        }
        LinkMode::Hardlink | LinkMode::Copy => {
            let staged_entry = ctx.staging.join("models").join(key);
            std::fs::create_dir_all(ctx.staging.join("models"))?;
            if mode == LinkMode::Hardlink {
                std::fs::hard_link(&source, &staged_entry).map_err(|e| ApplyError::Hardlink {
                    path: source.clone(),
                    reason: e.to_string(),
                })?;
            } else {
                ctx.reporter.step(&format!("Copying model {key}"));
                std::fs::copy(&source, &staged_entry)?;
                std::fs::File::open(&staged_entry)?.sync_all()?;
            }
            let fingerprint = Fingerprint::of(&staged_entry.symlink_metadata()?);
            staged.steps.push(Step::Rename {
                from: staged_entry,
                to: live,
            });
            fingerprint
        }
    };
    staged.model = Some((
        key.to_string(),
        InstalledModel {
            blake3: model.blake3.to_string(),
            path: path.to_string(),
            mode,
            target: source.display().to_string(),
            fingerprint,
        },
    ));
    Ok(staged)
}

pub(super) fn stage_unlink(ctx: &Ctx, key: &str, path: &str) -> Result<Staged> {
    let mut staged = Staged::default();
    let live = ctx.env.comfyui.join(path);
    match live.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => staged.steps.push(Step::Unlink {
            link: live.clone(),
            target: std::fs::read_link(&live)?,
        }),
        // A hardlink or copy: the trash keeps it (the model file it came from is untouched).
        Ok(_) => staged.steps.push(Step::Rename {
            from: live,
            to: ctx.trash_path(key),
        }),
        Err(_) => {}
    }
    Ok(staged)
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
    std::fs::create_dir_all(&dir)?;
    let hex = model.blake3.hex();
    // Never over a file of the user's: a different file of that name gets a hash-prefixed name.
    let mut dest = dir.join(&model.filename);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if dest.exists() {
        dest = dir.join(model.filename.with_name_prefix(&format!("{}-", &hex[..12])));
    }
    let expected = models::Expected {
        blake3: Some(model.blake3.to_string()),
        sha256: model.sha256.as_ref().map(ToString::to_string),
        size: model.size,
    };
    if let Some(path) = super::stage_remote::model(ctx, key, &model.blake3, model.sha256.as_ref(), &dest) {
        let sha256 = model.sha256.as_ref().map(|s| s.hex().to_string());
        with_index(ctx, |index| {
            models::scan::record_file(index, &root, &path, model.blake3.hex(), sha256.as_deref())
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
                    models::scan::record_file(index, &root, &done.path, &done.blake3, done.sha256.as_deref())
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
