//! `model add`, `model remove`, and `model list` inside an environment: models declared in
//! `[tool.comfydock.models]`, placed by plan/apply.

use super::edit::edit_and_apply;
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::manifest::{ModelSource, ModelSpec};
use crate::models::{self, ModelDirs, ModelIndex, categories, find};
use crate::resolve::Update;
use crate::types::ModelKey;
use crate::workspace::Workspace;
use miette::{Result, miette};
use std::path::{Path, PathBuf};

/// `model list` speaks of an environment when one is named (`-e`) or the current directory is
/// inside one; otherwise of the workspace index.
pub fn in_environment(g: &Globals, ws: &Workspace) -> bool {
    g.env.is_some()
        || std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .is_ok_and(|cwd| cwd.starts_with(ws.environments_dir()))
}

pub fn add(
    g: &Globals,
    target: &str,
    category: Option<&str>,
    name: Option<&str>,
    extra_sources: &[String],
    no_apply: bool,
) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut index = ModelIndex::open(&models::index_path(&ws))?;
    let found = identify(&ws, &mut index, target, category)?;
    let key: ModelKey = match name {
        Some(n) => super::typed(n)?,
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
        category: Some(super::typed(&found.category)?),
        filename: Some(super::typed(&found.filename)?),
        local_path: None,
        sources,
    };

    let mut session = g.writer(&ws, env, "model add")?;
    report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    if manifest.config().models.contains_key(&key) {
        return Err(miette!(
            code = "comfydock::model::exists",
            help = format!("pick another key with --name, or `comfydock model remove {key}` first"),
            "model `{key}` is already declared"
        ));
    }
    manifest.set_model(&key, &spec);
    edit_and_apply(
        &mut session,
        &manifest,
        Update::Nothing,
        no_apply,
        &format!("Add model {key}"),
    )?;
    errln!("Declared model `{key}`.");
    Ok(ExitStatus::Success)
}

pub fn remove(g: &Globals, key: &str, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "model remove")?;
    report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    if !manifest.remove_model(key) {
        return Err(miette!(
            code = "comfydock::model::unknown",
            help = "`comfydock -e ENV model list` shows the declared models",
            "no model `{key}` is declared"
        ));
    }
    edit_and_apply(
        &mut session,
        &manifest,
        Update::Nothing,
        no_apply,
        &format!("Remove model {key}"),
    )?;
    errln!("Removed model `{key}` (its file is kept).");
    Ok(ExitStatus::Success)
}

pub fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let index = ModelIndex::open(&models::index_path(&ws))?;
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
            .is_some_and(|m| m.blake3 == hash);
        let state = if placed {
            "present"
        } else if models::local_file(&index, &hash).is_some() {
            "linkable from the index"
        } else if !spec.sources.is_empty() {
            "to download"
        } else {
            "unavailable"
        };
        let path = format!(
            "models/{}/{}",
            spec.category().as_deref().unwrap_or("?"),
            spec.filename().as_deref().unwrap_or("?")
        );
        rows.push(
            serde_json::json!({ "key": key, "hash": spec.hash, "size": spec.size, "path": path, "state": state }),
        );
    }
    if json {
        let doc = serde_json::json!({ "format_version": "1", "models": rows });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        errln!("No models declared. Add one with `comfydock model add PATH|HASH|URL`.");
    }
    for r in rows {
        let size = r["size"].as_u64().map(crate::plan::human_size).unwrap_or_default();
        outln!(
            "{:24} {:>10}  {:48} {}",
            r["key"].as_str().unwrap_or(""),
            size,
            r["path"].as_str().unwrap_or(""),
            r["state"].as_str().unwrap_or("")
        );
    }
    Ok(ExitStatus::Success)
}

/// What `model add` learnt about its argument.
struct Identified {
    blake3: String,
    size: u64,
    category: String,
    filename: String,
    sources: Vec<ModelSource>,
}

fn identify(ws: &Workspace, index: &mut ModelIndex, target: &str, category: Option<&str>) -> Result<Identified> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return download_new(ws, index, target, category);
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
            blake3: hashes.blake3,
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
fn download_new(ws: &Workspace, index: &mut ModelIndex, url: &str, category: Option<&str>) -> Result<Identified> {
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
    std::fs::create_dir_all(dest.parent().expect("has a parent")).map_err(|e| miette!("{e}"))?;
    let request = models::DownloadRequest {
        url,
        downloads_dir: &models::downloads_dir(ws),
        expected: &models::Expected::default(),
        token: None,
        dest: Some(&dest),
        attempts: None,
    };
    let done = models::download(&crate::store::Http::from_env(), &request, &super::ui::StderrReporter)?;
    models::scan::record_file(index, &root, &done.path, &done.blake3, done.sha256.as_deref())?;
    Ok(Identified {
        blake3: done.blake3,
        size: done.size,
        category: category.to_string(),
        filename,
        sources: vec![ModelSource::Url {
            url: url.to_string(),
            sha256: done.sha256.as_deref().and_then(|h| h.parse().ok()),
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
