//! Models: nothing to fetch at lock time (a model is pinned by its content hash already); the
//! lock gets the spec checked and completed: the file name from a source when the manifest has
//! none, and the sha256 when the index or a source knows it.

use super::{ResolveError, Result};
use crate::manifest::{LockedModel, ModelSource, ModelSpec};
use crate::workspace::Workspace;
use std::collections::BTreeMap;

pub(super) fn resolve_models(
    ws: &Workspace,
    specs: &BTreeMap<String, ModelSpec>,
) -> Result<BTreeMap<String, LockedModel>> {
    let index = if specs.is_empty() {
        None
    } else {
        crate::models::ModelIndex::open(&crate::models::index_path(ws)).ok()
    };
    let mut out = BTreeMap::new();
    for (key, spec) in specs {
        let problem = |what: &str| ResolveError::ModelSpec {
            key: key.clone(),
            problem: what.to_string(),
        };
        let hex = spec
            .hash
            .strip_prefix("blake3:")
            .ok_or_else(|| problem("`hash` must be `blake3:<64 hex digits>`"))?;
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(problem("`hash` must be `blake3:<64 hex digits>`"));
        }
        let hex = hex.to_ascii_lowercase();
        let category = spec
            .category
            .clone()
            .ok_or_else(|| problem("`category` is missing (checkpoints, loras, vae, ...)"))?;
        if category.is_empty() || category.contains("..") || category.starts_with('/') {
            return Err(problem("`category` must be a folder name under ComfyUI/models"));
        }
        let filename = match spec
            .filename
            .clone()
            .or_else(|| spec.sources.iter().find_map(file_name_of))
        {
            Some(f) if !f.contains('/') && !f.starts_with('.') && !f.is_empty() => f,
            _ => return Err(problem("`filename` is missing or not a plain file name")),
        };
        let from_source = spec.sources.iter().find_map(|s| match s {
            ModelSource::Url { sha256: Some(h), .. } => Some(h.trim_start_matches("sha256:").to_ascii_lowercase()),
            _ => None,
        });
        let from_index = index
            .as_ref()
            .and_then(|i| i.by_hash("blake3", &hex).ok().flatten())
            .and_then(|m| m.hashes.get("sha256").cloned());
        out.insert(
            key.clone(),
            LockedModel {
                blake3: format!("blake3:{hex}"),
                sha256: from_source.or(from_index).map(|h| format!("sha256:{h}")),
                size: spec.size,
                category,
                filename,
                sources: spec.sources.clone(),
            },
        );
    }
    Ok(out)
}

fn file_name_of(source: &ModelSource) -> Option<String> {
    let path = match source {
        ModelSource::Huggingface { file, .. } => file.as_str(),
        ModelSource::Url { url, .. } => url.split(['?', '#']).next().unwrap_or(url),
        ModelSource::Civitai { .. } => return None,
    };
    path.rsplit('/').next().filter(|n| !n.is_empty()).map(str::to_string)
}
