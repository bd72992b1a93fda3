//! Models: nothing to fetch at lock time (a model is pinned by its content hash already); the
//! lock gets the spec checked and completed: the file name from a source when the manifest has
//! none, and the sha256 when the index or a source knows it.

use super::{ResolveError, Result};
use crate::manifest::{LockedModel, ModelSource, ModelSpec};
use crate::types::{ModelFile, ModelKey, Sha256};
use crate::workspace::Workspace;
use std::collections::BTreeMap;

pub(super) fn resolve_models(
    ws: &Workspace,
    specs: &BTreeMap<ModelKey, ModelSpec>,
) -> Result<BTreeMap<ModelKey, LockedModel>> {
    let index = if specs.is_empty() {
        None
    } else {
        crate::models::ModelIndex::open(&crate::models::index_path(ws)).ok()
    };
    let mut out = BTreeMap::new();
    for (key, spec) in specs {
        let problem = |what: &str| ResolveError::ModelSpec {
            key: key.to_string(),
            problem: what.to_string(),
        };
        // The manifest's types already checked the hash, the category and the file name.
        let category = spec
            .category()
            .ok_or_else(|| problem("`category` is missing (checkpoints, loras, vae, ...)"))?;
        let filename = spec
            .filename()
            .or_else(|| spec.sources.iter().find_map(file_name_of))
            .ok_or_else(|| problem("`filename` is missing and no source names a file"))?;
        let from_source = spec.sources.iter().find_map(|s| match s {
            ModelSource::Url { sha256: Some(h), .. } => Some(h.clone()),
            _ => None,
        });
        let from_index = index
            .as_ref()
            .and_then(|i| i.by_hash("blake3", spec.hash.hex()).ok().flatten())
            .and_then(|m| m.hashes.get("sha256").and_then(|h| Sha256::from_hex(h).ok()));
        out.insert(
            key.clone(),
            LockedModel {
                blake3: spec.hash.clone(),
                sha256: from_source.or(from_index),
                size: spec.size,
                category,
                filename,
                sources: spec.sources.clone(),
            },
        );
    }
    Ok(out)
}

fn file_name_of(source: &ModelSource) -> Option<ModelFile> {
    let path = match source {
        ModelSource::Huggingface { file, .. } => file.as_str(),
        ModelSource::Url { url, .. } => url.split(['?', '#']).next().unwrap_or(url),
        ModelSource::Civitai { .. } => return None,
    };
    path.rsplit('/').next().and_then(|n| n.parse().ok())
}
