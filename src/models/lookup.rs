//! The model index as the workflow layer's [`ModelLookup`]: which indexed file a workflow's
//! model reference means, by hash, by path in a category folder, or by file name.

use super::categories::CATEGORIES;
use super::index::{Model, ModelIndex};
use crate::workflow::resolve::{FoundModel, ModelLookup};

impl ModelLookup for ModelIndex {
    fn by_hash(&self, hash_type: &str, hash: &str) -> Option<FoundModel> {
        let model = self.by_hash(hash_type, hash).ok()??;
        let path = model.locations.first().cloned().or(model.local_path.clone())?;
        Some(found(&model, path))
    }

    fn by_relative_path(&self, category: &str, path: &str) -> Option<FoundModel> {
        let name = path.rsplit('/').next()?;
        let folders: Vec<&str> = CATEGORIES
            .iter()
            .find(|c| c.name == category)
            .map(|c| c.folders.to_vec())
            .unwrap_or_else(|| vec![category]);
        let suffixes: Vec<String> = folders.iter().map(|f| format!("/{f}/{path}")).collect();
        self.by_name(name).ok()?.into_iter().find_map(|m| {
            let hit = m
                .locations
                .iter()
                .find(|l| suffixes.iter().any(|s| l.replace('\\', "/").ends_with(s.as_str())))?
                .clone();
            Some(found(&m, hit))
        })
    }

    fn by_file_name(&self, file_name: &str) -> Vec<FoundModel> {
        let Ok(models) = self.by_name(file_name) else {
            return Vec::new();
        };
        models
            .iter()
            .filter_map(|m| {
                let hit = m
                    .locations
                    .iter()
                    .find(|l| l.rsplit(['/', '\\']).next() == Some(file_name))?
                    .clone();
                Some(found(m, hit))
            })
            .collect()
    }
}

fn found(m: &Model, path: String) -> FoundModel {
    FoundModel {
        path,
        blake3: m.hashes.get("blake3").cloned(),
    }
}
