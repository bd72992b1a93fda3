//! Models at the workspace level: the model index (`.metadata/model_index.db`), content
//! hashing, scanning model folders, downloads with resume and verification, and ComfyUI's
//! `extra_model_paths.yaml`. Nothing here prints; progress (scans and downloads) goes through
//! [`crate::progress::Reporter`].

pub mod categories;
pub mod dirs;
pub mod download;
mod error;
pub mod find;
pub mod hash;
pub mod index;
pub mod lookup;
pub mod paths_yaml;
pub mod scan;
pub mod sources;

pub use dirs::ModelDirs;
pub use download::{DownloadRequest, Downloaded, Expected, Token, download};
pub use error::ModelError;
pub use index::{Model, ModelIndex};
pub use scan::{ScanOptions, ScanReport, ScanTarget, scan};

use crate::workspace::Workspace;
use std::path::PathBuf;

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// A file on disk whose content is `blake3` (`blake3:<hex>` or hex), if the index knows one that
/// still exists.
/// One indexed lookup, however many models the index holds.
pub fn local_file(index: &ModelIndex, blake3: &str) -> Option<PathBuf> {
    let files = index.files_with_blake3(blake3.trim_start_matches("blake3:")).ok()?;
    files.into_iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Where the workspace keeps its model index.
pub fn index_path(ws: &Workspace) -> PathBuf {
    ws.root().join(".metadata").join("model_index.db")
}

/// Where partial downloads wait to be resumed.
pub fn downloads_dir(ws: &Workspace) -> PathBuf {
    ws.store_dir().join("downloads")
}

/// Seconds since the Unix epoch, as the index stores them.
pub(crate) fn now() -> i64 {
    crate::clock::now_secs() as i64
}
