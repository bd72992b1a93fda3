//! The part of a registry cache that mappings are built from, read without the flattened
//! "unknown fields" maps the mirror keeps (serde buffers every flattened object, which makes a
//! 150,000-node cache several times slower to read). Unknown fields are skipped.

use crate::registry::snapshot::{FORMAT, FORMAT_VERSION, SNAPSHOT_FILE};
use crate::registry::{RegistryError, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
pub struct CacheView {
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub format_version: u32,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub packs: Vec<PackView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PackView {
    pub node: NodeView,
    #[serde(default)]
    pub versions: Vec<VersionView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeView {
    pub id: Option<String>,
    pub name: Option<String>,
    pub author: Option<String>,
    pub description: Option<String>,
    pub repository: Option<String>,
    pub downloads: Option<u64>,
    pub github_stars: Option<u64>,
    pub rating: Option<f64>,
    pub license: Option<String>,
    pub category: Option<String>,
    pub icon: Option<String>,
    pub tags: Option<Vec<String>>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub search_ranking: Option<i64>,
    pub preempted_comfy_node_names: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VersionView {
    pub node_version: NodeVersionView,
    #[serde(default)]
    pub comfy_nodes: Option<Vec<ComfyNodeView>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeVersionView {
    pub version: Option<String>,
    pub changelog: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    pub dependencies: Option<Vec<String>>,
    pub deprecated: Option<bool>,
    #[serde(rename = "downloadUrl")]
    pub download_url: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ComfyNodeView {
    pub comfy_node_name: Option<String>,
    /// A string holding JSON as the API sends it, or the JSON itself.
    pub input_types: Option<serde_json::Value>,
}

impl ComfyNodeView {
    /// `input_types` as JSON text.
    pub fn input_types_text(&self) -> std::borrow::Cow<'_, str> {
        match &self.input_types {
            Some(serde_json::Value::String(s)) => std::borrow::Cow::Borrowed(s.as_str()),
            Some(serde_json::Value::Null) | None => std::borrow::Cow::Borrowed(""),
            Some(other) => std::borrow::Cow::Owned(other.to_string()),
        }
    }
}

impl CacheView {
    /// Reads `dir/registry-snapshot.json`, checking its format like `Snapshot::load`.
    pub fn load(dir: &Path) -> Result<CacheView> {
        let path = dir.join(SNAPSHOT_FILE);
        let bytes = std::fs::read(&path).map_err(RegistryError::io(&path))?;
        let bad = |reason: String| RegistryError::BadSnapshot {
            path: path.clone(),
            reason,
        };
        let view: CacheView = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if view.format != FORMAT {
            return Err(bad(format!("`format` is {:?}, expected {FORMAT:?}", view.format)));
        }
        if view.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format_version {} is not supported (this comfydock reads {FORMAT_VERSION})",
                view.format_version
            )));
        }
        if view.packs.iter().any(|p| p.node.id.as_deref().unwrap_or("").is_empty()) {
            return Err(bad("a pack has no `id`".into()));
        }
        Ok(view)
    }
}
