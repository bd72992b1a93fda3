//! `.comfydock/installed.json`: what comfydock put on disk in the live generation, with file
//! fingerprints (size, mtime, inode) so the next observe is a round of `stat` calls.

use crate::manifest::NodeSource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const INSTALLED_FILE: &str = "installed.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    pub generation: u64,
    pub comfyui_commit: Option<String>,
    /// Folder name of the live venv (`.venv-gen-N`); `.venv` links to it.
    pub venv: Option<String>,
    /// blake3 of the uv.lock that venv was synced from.
    pub uv_lock: Option<String>,
    /// The torch backend extra that venv was synced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<String>,
    #[serde(default)]
    pub nodes: BTreeMap<String, InstalledNode>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, InstalledModel>,
    /// Tracked workflows placed in `ComfyUI/user/default/workflows/`, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workflows: BTreeMap<String, super::workflows::InstalledWorkflow>,
}

/// How a model file reaches `ComfyUI/models/<category>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    #[default]
    Symlink,
    Hardlink,
    Copy,
}

impl std::str::FromStr for LinkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "symlink" => Ok(LinkMode::Symlink),
            "hardlink" => Ok(LinkMode::Hardlink),
            "copy" => Ok(LinkMode::Copy),
            _ => Err(format!("`{s}` is not a link mode: symlink, hardlink or copy")),
        }
    }
}

impl std::fmt::Display for LinkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkMode::Symlink => "symlink",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Copy => "copy",
        })
    }
}

/// A model comfydock placed in the ComfyUI tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledModel {
    /// `blake3:<hex>` of the content.
    pub blake3: String,
    /// Relative to the ComfyUI folder (`models/checkpoints/x.safetensors`).
    pub path: String,
    pub mode: LinkMode,
    /// The file it came from (a symlink's target; for a hardlink or copy, where it was made from).
    pub target: String,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledNode {
    pub source: NodeSource,
    /// As the lock describes it (version, `rev@commit`, path), for plan lines.
    pub version: Option<String>,
    pub tree: Option<String>,
    /// Target of a dev node's symlink.
    pub link: Option<String>,
    /// Files comfydock placed, by path relative to the node folder. Files the pack writes at run
    /// time are not here, so they are never drift.
    #[serde(default)]
    pub files: BTreeMap<String, Fingerprint>,
    /// Its folder in `custom_nodes/` when that is not its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The derived store entry placed (the pack as its install.py left it), when a script ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<String>,
    /// The node's declared runtime paths (`runtime_paths` in its table), as placed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_paths: Vec<String>,
}

impl InstalledNode {
    /// The folder in `custom_nodes/` the node `id` was placed in.
    pub fn folder<'a>(&'a self, id: &'a str) -> &'a str {
        self.folder.as_deref().unwrap_or(id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint(pub u64, pub i64, pub u64);

impl Fingerprint {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Fingerprint(
            meta.size(),
            meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            meta.ino(),
        )
    }
}

impl Installed {
    pub fn load(state_dir: &Path) -> std::io::Result<Installed> {
        let path = state_dir.join(INSTALLED_FILE);
        match fs_err::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Installed::default()),
            Err(e) => Err(e),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable")
    }
}

/// Fingerprints of every regular file and symlink below `dir`.
pub fn fingerprint_tree(dir: &Path) -> std::io::Result<BTreeMap<String, Fingerprint>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(std::io::Error::other)?
            .to_string_lossy()
            .into_owned();
        out.insert(rel, Fingerprint::of(&entry.path().symlink_metadata()?));
    }
    Ok(out)
}
