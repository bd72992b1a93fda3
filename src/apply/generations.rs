//! `.comfydock/generations/<N>.json`: every applied state, self-contained (manifest, lock and
//! uv.lock as they were), so `rollback` needs neither the network nor `.cec` history.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generation {
    pub number: u64,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub cec_commit: Option<String>,
    pub summary: String,
    pub actions: Vec<String>,
    pub pyproject: String,
    pub lock: String,
    pub uv_lock: String,
    pub uv_lock_hash: String,
    pub venv: Option<String>,
    /// The torch backend extra the venv was synced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<String>,
    /// Store entries (node trees) this generation uses; gc keeps them while it is kept.
    pub trees: Vec<String>,
}

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("generations")
}

pub fn path(state_dir: &Path, number: u64) -> PathBuf {
    dir(state_dir).join(format!("{number}.json"))
}

/// All generations, oldest first.
pub fn list(state_dir: &Path) -> std::io::Result<Vec<Generation>> {
    let Ok(read) = std::fs::read_dir(dir(state_dir)) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path)?;
            out.push(serde_json::from_slice::<Generation>(&bytes).map_err(std::io::Error::other)?);
        }
    }
    out.sort_by_key(|g| g.number);
    Ok(out)
}

pub use crate::clock::{human as format_time, now_secs};
