//! The models an environment declares (`[tool.comfydock.models]`): `model add`, `remove` and
//! `list` with `-e`. A model is declared by its content: `add` identifies a file, an indexed
//! model or a URL (fetched now, so its hash is what gets declared) before the edit transaction.

use super::edit::{Reach, edit_and_apply};
use super::typed;
use crate::manifest::{ModelSource, ModelSpec};
use crate::models::{self, ModelDirs, ModelIndex, categories, find};
use crate::plan::Plan;
use crate::progress::Reporter;
use crate::reconcile::Session;
use crate::resolve::Update;
use crate::types::ModelKey;
use crate::workspace::Workspace;
use miette::{Result, miette};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A model ready to declare: its manifest key and spec.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub key: ModelKey,
    pub spec: ModelSpec,
}

/// What a model edit did.
#[derive(Debug, Serialize)]
pub struct ModelEdited {
    pub key: ModelKey,
    /// The generation the apply made (None: not applied, or nothing on disk had to change).
    pub generation: Option<u64>,
}

/// Identifies `target` (a file, a name or hash in the index, or an `http(s)` URL, downloaded
/// now into the workspace's `models/<category>/` with progress to `reporter`) and makes its
/// spec; `extra_sources` are URLs to record beside it.
pub fn identify_new(
    ws: &Workspace,
    target: &str,
    category: Option<&str>,
    name: Option<&str>,
    extra_sources: &[String],
    reporter: &dyn Reporter,
) -> Result<NewModel> {
    let mut index = ModelIndex::open(&models::index_path(ws))?;
    let found = identify(ws, &mut index, target, category, reporter)?;
    let key: ModelKey = match name {
        Some(n) => typed(n)?,
        None => key_from(&found.filename).ok_or_else(|| {
            miette!(
                code = "comfydock::model::key",
                help = "pass --name with letters, digits, `-`, `_`, `.`",
                "no model key can be made from `{}`",
                found.filename
            )
        })?,
    };
    let mut sources = found.sources;
    sources.extend(extra_sources.iter().map(|url| ModelSource::Url {
        url: url.clone(),
        sha256: None,
    }));
    let spec = ModelSpec {
        name: None,
        hash: crate::types::Blake3::from_hex(&found.blake3).map_err(|e| miette!("{e}"))?,
        size: Some(found.size),
        category: Some(typed(&found.category)?),
        filename: Some(typed(&found.filename)?),
        local_path: None,
        sources,
    };
    Ok(NewModel { key, spec })
}

/// Declares `model` and applies it (or only saves the manifest, as `reach` says).
pub fn add(
    session: &mut Session,
    model: &NewModel,
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<ModelEdited> {
    let NewModel { key, spec } = model;
    let mut manifest = session.manifest()?;
    if manifest.config().models.contains_key(key) {
        return Err(miette!(
            code = "comfydock::model::exists",
            help = format!("pick another key with --name, or `comfydock model remove {key}` first"),
            "model `{key}` is already declared"
        ));
    }
    manifest.set_model(key, spec);
    let edited = edit_and_apply(
        session,
        &manifest,
        Update::Nothing,
        reach,
        &format!("Add model {key}"),
        on_plan,
    )?;
    Ok(ModelEdited {
        key: key.clone(),
        generation: edited.generation.map(|g| g.number),
    })
}

/// Removes model `key` from the manifest; the apply removes its link, never the file.
pub fn remove(session: &mut Session, key: &str, reach: Reach, on_plan: &mut dyn FnMut(&Plan)) -> Result<ModelEdited> {
    let mut manifest = session.manifest()?;
    if !manifest.remove_model(key) {
        return Err(miette!(
            code = "comfydock::model::unknown",
            help = "`comfydock -e ENV model list` shows the declared models",
            "no model `{key}` is declared"
        ));
    }
    let message = format!("Remove model {key}");
    let edited = edit_and_apply(session, &manifest, Update::Nothing, reach, &message, on_plan)?;
    Ok(ModelEdited {
        key: typed(key)?,
        generation: edited.generation.map(|g| g.number),
    })
}

/// `model list -e`: each declared model and where it stands.
#[derive(Debug, Serialize)]
pub struct DeclaredModels {
    pub models: Vec<DeclaredModel>,
}

#[derive(Debug, Serialize)]
pub struct DeclaredModel {
    pub hash: crate::types::Blake3,
    pub key: ModelKey,
    /// Where ComfyUI finds it: `models/<category>/<filename>`.
    pub path: String,
    pub size: Option<u64>,
    pub state: DeclaredState,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub enum DeclaredState {
    /// Placed, with the declared content.
    #[serde(rename = "present")]
    Present,
    /// A file with its content is in the index: the apply links it.
    #[serde(rename = "linkable from the index")]
    Linkable,
    /// Nothing local has its content; the apply downloads it from its sources.
    #[serde(rename = "to download")]
    ToDownload,
    /// Nothing local, and no source.
    #[serde(rename = "unavailable")]
    Unavailable,
}

impl DeclaredState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclaredState::Present => "present",
            DeclaredState::Linkable => "linkable from the index",
            DeclaredState::ToDownload => "to download",
            DeclaredState::Unavailable => "unavailable",
        }
    }
}

pub fn list<A>(session: &Session<'_, A>) -> Result<DeclaredModels> {
    let manifest = session.manifest()?;
    let index = ModelIndex::open(&models::index_path(session.ws))?;
    let observed = crate::observe::observe(&session.env).map_err(|e| miette!("{e}"))?;
    let mut rows = Vec::new();
    for (key, spec) in &manifest.config().models {
        let hash = spec.hash.to_string();
        let placed = matches!(
            observed.models.get(key.as_str()),
            Some(crate::observe::NodeState::Intact)
        ) && observed
            .installed
            .models
            .get(key.as_str())
            .is_some_and(|m| m.blake3 == spec.hash);
        let state = if placed {
            DeclaredState::Present
        } else if models::local_file(&index, &hash).is_some() {
            DeclaredState::Linkable
        } else if !spec.sources.is_empty() {
            DeclaredState::ToDownload
        } else {
            DeclaredState::Unavailable
        };
        let path = format!(
            "models/{}/{}",
            spec.category().as_deref().unwrap_or("?"),
            spec.filename().as_deref().unwrap_or("?")
        );
        rows.push(DeclaredModel {
            hash: spec.hash.clone(),
            key: key.clone(),
            path,
            size: spec.size,
            state,
        });
    }
    Ok(DeclaredModels { models: rows })
}

/// What `model add` learnt about its argument.
struct Identified {
    blake3: String,
    size: u64,
    category: String,
    filename: String,
    sources: Vec<ModelSource>,
}

fn identify(
    ws: &Workspace,
    index: &mut ModelIndex,
    target: &str,
    category: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Identified> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return download_new(ws, index, target, category, reporter);
    }
    let path = Path::new(target);
    if path.is_file() {
        let path = std::fs::canonicalize(path).map_err(|e| miette!("{target}: {e}"))?;
        let hashes =
            models::hash::hash_file(&path, false).map_err(|e| miette!("could not read {}: {e}", path.display()))?;
        let dirs = ModelDirs::of(ws)?;
        let root = dirs
            .containing(&path)
            .unwrap_or_else(|| path.parent().unwrap_or(Path::new("/")).to_path_buf());
        models::scan::record_file(index, &root, &path, &hashes.blake3, None)?;
        let category = match category {
            Some(c) => c.to_string(),
            None => category_from_location(&root, &path).ok_or_else(|| {
                miette!(
                    code = "comfydock::model::category",
                    help = "pass --category (checkpoints, loras, vae, ...)",
                    "cannot tell the category of {} from where it sits",
                    path.display()
                )
            })?,
        };
        return Ok(Identified {
            blake3: hashes.blake3.hex().to_string(),
            size: hashes.size,
            category,
            filename: file_name(&path),
            sources: Vec::new(),
        });
    }
    let model = find::resolve_one(index, target)?;
    let blake3 = model
        .hashes
        .get("blake3")
        .cloned()
        .ok_or_else(|| miette!("model {target} has no blake3 hash in the index"))?;
    let filename = model
        .local_path
        .as_deref()
        .map(|p| file_name(Path::new(p)))
        .unwrap_or(model.original_name.clone());
    let category = category.map(str::to_string).or(model.category.clone()).ok_or_else(|| {
        miette!(
            code = "comfydock::model::category",
            help = "pass --category (checkpoints, loras, vae, ...)",
            "the index has no category for {target}"
        )
    })?;
    Ok(Identified {
        blake3,
        size: model.size,
        category,
        filename,
        sources: Vec::new(),
    })
}

/// `model add URL`: the file is fetched now (its hash is what gets declared), into the
/// workspace's `models/<category>/`, and indexed.
fn download_new(
    ws: &Workspace,
    index: &mut ModelIndex,
    url: &str,
    category: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Identified> {
    let category = category.ok_or_else(|| {
        miette!(
            code = "comfydock::model::category",
            help = "pass --category (checkpoints, loras, vae, ...)",
            "a URL does not say which model folder it belongs in"
        )
    })?;
    let filename = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    if filename.is_empty() {
        return Err(miette!(
            "cannot take a file name from {}",
            models::download::redact(url)
        ));
    }
    let root = ws.root().join("models");
    let dest: PathBuf = root.join(category).join(&filename);
    if dest.exists() {
        return Err(miette!(
            code = "comfydock::model::exists",
            help = format!(
                "declare the file that is there: `comfydock model add {}`",
                crate::shell::quote(&dest.display().to_string())
            ),
            "{} already exists",
            dest.display()
        ));
    }
    let parent = dest.parent().unwrap_or(&root);
    std::fs::create_dir_all(parent).map_err(|e| miette!("could not create {}: {e}", parent.display()))?;
    let request = models::DownloadRequest {
        url,
        downloads_dir: &models::downloads_dir(ws),
        expected: &models::Expected::default(),
        token: None,
        dest: Some(&dest),
        attempts: None,
    };
    let done = models::download(&crate::store::Http::from_env(), &request, reporter)?;
    // A download placed at a destination is always hashed (only a kept archive may lack it).
    let blake3 = match done.blake3 {
        Some(b) => b,
        None => {
            models::hash::hash_file(&done.path, false)
                .map_err(|e| miette!("could not read {}: {e}", done.path.display()))?
                .blake3
        }
    };
    models::scan::record_file(index, &root, &done.path, &blake3, done.sha256.as_ref())?;
    Ok(Identified {
        blake3: blake3.hex().to_string(),
        size: done.size,
        category: category.to_string(),
        filename,
        sources: vec![ModelSource::Url {
            url: url.to_string(),
            sha256: done.sha256,
        }],
    })
}

fn category_from_location(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    (rel.components().count() > 1).then(|| categories::category_of_folder(&first))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `v1-5-pruned.safetensors` → `v1-5-pruned`.
fn key_from(filename: &str) -> Option<ModelKey> {
    let stem = filename.rsplit_once('.').map_or(filename, |(s, _)| s);
    ModelKey::sanitize(stem)
}
