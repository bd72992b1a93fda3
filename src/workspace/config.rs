//! `workspace.toml`: settings shared by every environment of a workspace.

use super::{Result, WorkspaceError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml_edit::DocumentMut;

pub(super) const FILE_NAME: &str = "workspace.toml";

pub(super) const TEMPLATE: &str = r#"# comfydock workspace settings.
version = "1"

# The environment commands act on when no `-e NAME` is given (`comfydock use NAME` sets it).
# active_environment = "demo"

# The uv binary to run (default: `uv` on PATH; COMFYDOCK_UV overrides).
# uv = "/usr/local/bin/uv"

# uv's cache (default: `uv_cache/` in this workspace). Point several workspaces or CI runners
# at one folder to download torch once; keep it on the venvs' filesystem so uv can hardlink.
# COMFYDOCK_UV_CACHE overrides.
# uv_cache = "/srv/comfydock/uv-cache"

# The Comfy Registry (or a mirror: `comfydock registry serve`); COMFYDOCK_REGISTRY_URL overrides.
# registry_url = "https://api.comfy.org"
# Where `comfydock registry update` downloads node mappings (with a .sha256 sidecar beside
# them); COMFYDOCK_MAPPINGS_URL overrides.
# mappings_url = "https://example.org/registry-data/node_mappings.json"
# Without mappings_url, `registry update` builds the node index from ComfyUI-Manager's public
# files (extension-node-map.json, github-stats.json, custom-node-list.json) under this base URL
# (or a local folder); COMFYDOCK_MANAGER_DATA_URL overrides.
# manager_data_url = "https://raw.githubusercontent.com/Comfy-Org/ComfyUI-Manager/main/"
# `workflow resolve` refreshes a node index older than this many days first (not with
# --offline); COMFYDOCK_MAPPINGS_MAX_AGE_DAYS overrides.
# mappings_max_age_days = 7
# Model folders shared by every environment, besides the workspace's own `models/`
# (`comfydock model dirs add|remove DIR` edits this list).
# model_dirs = ["/mnt/models"]

# A store shared by a fleet in S3-compatible object storage: apply reads node trees and models
# from it before their original sources, `comfydock store push` fills it. Endpoint and
# credentials come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
# (AWS_ALLOW_HTTP=true for an http:// endpoint); COMFYDOCK_STORE_REMOTE overrides.
# [store]
# remote = "s3://my-bucket/comfydock"
"#;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkspaceConfig {
    pub active_environment: Option<String>,
    pub uv: Option<PathBuf>,
    /// uv's cache shared with other workspaces (default: the workspace's `uv_cache/`).
    pub uv_cache: Option<PathBuf>,
    pub registry_url: Option<String>,
    /// Node mappings for `registry update` (COMFYDOCK_MAPPINGS_URL overrides).
    pub mappings_url: Option<String>,
    /// Seconds an install.py may run (COMFYDOCK_INSTALL_TIMEOUT overrides; default 600).
    #[serde(default, deserialize_with = "whole_number")]
    pub install_timeout: Option<u64>,
    /// ComfyUI-Manager's data for `registry update` when no mappings are configured
    /// (COMFYDOCK_MANAGER_DATA_URL overrides).
    pub manager_data_url: Option<String>,
    /// The node index's age after which `workflow resolve` refreshes it (a number, or a string
    /// of one, as `config set` writes it).
    #[serde(default, deserialize_with = "whole_number")]
    pub mappings_max_age_days: Option<u64>,
    /// Model folders added with `model dirs add`; the workspace's `models/` is always scanned too.
    #[serde(default)]
    pub model_dirs: Vec<PathBuf>,
    /// `[store]`: the shared remote store.
    #[serde(default)]
    pub store: StoreConfig,
}

/// `[store]` in workspace.toml.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StoreConfig {
    /// `s3://bucket/prefix` (COMFYDOCK_STORE_REMOTE overrides); checked where it is used.
    pub remote: Option<String>,
}

/// A whole number written as a TOML integer or as a string of one.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("`{t}` is not a whole number of days"))),
    }
}

impl WorkspaceConfig {
    pub(super) fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| WorkspaceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text)
            .map_err(|e| crate::manifest::ManifestError::invalid(path, &text, e.message().to_string(), e.span()).into())
    }

    /// Sets or clears `active_environment`, keeping the rest of the file as the user wrote it.
    pub(super) fn set_active(path: &Path, name: Option<&str>) -> Result<()> {
        let io = |source| WorkspaceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            WorkspaceError::from(crate::manifest::ManifestError::invalid(
                path,
                &text,
                e.message().to_string(),
                e.span(),
            ))
        })?;
        match name {
            Some(n) => doc["active_environment"] = toml_edit::value(n),
            None => {
                doc.remove("active_environment");
            }
        }
        crate::fsx::write_atomic(path, doc.to_string().as_bytes()).map_err(io)
    }

    /// Replaces `model_dirs` in the workspace at `root`, keeping the rest of the file as the
    /// user wrote it. An empty list removes the key.
    pub fn set_model_dirs(root: &Path, dirs: &[PathBuf]) -> Result<()> {
        let path = root.join(FILE_NAME);
        let io = |source| WorkspaceError::Io {
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            WorkspaceError::from(crate::manifest::ManifestError::invalid(
                &path,
                &text,
                e.message().to_string(),
                e.span(),
            ))
        })?;
        if dirs.is_empty() {
            doc.remove("model_dirs");
        } else {
            let array: toml_edit::Array = dirs.iter().map(|d| d.to_string_lossy().into_owned()).collect();
            doc["model_dirs"] = toml_edit::value(array);
        }
        crate::fsx::write_atomic(&path, doc.to_string().as_bytes()).map_err(io)
    }
}
