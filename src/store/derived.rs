//! Derived entries: what a build step (a pack's `install.py`) made of a store entry, kept like
//! a Nix derivation's output. The inputs (the pack's tree, the script's hash, the ComfyUI commit,
//! the locked Python packages, the platform) hash to a key; `store/derived/<key>.json` names the output,
//! an ordinary entry of `store/nodes/` (the pack folder as the script left it, without
//! `__pycache__`). The same inputs on any environment or machine reuse the output and never run
//! the script again.

use crate::types::{Blake3, GitCommit};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything a script's result depends on that comfydock can know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedInputs {
    /// The pack's own tree (`store/nodes/<hash>`), as locked.
    pub pack_tree: Blake3,
    /// blake3 of `install.py`.
    pub script: Blake3,
    pub comfyui_commit: GitCommit,
    /// blake3 of the Python packages the `uv.lock` locks (name and version of each, sorted):
    /// the venv the script ran with. The project's own entry (named after the environment) is
    /// left out, so environments that lock the same packages share builds.
    pub python: Blake3,
    /// `x86_64-linux`, `aarch64-macos`, ...
    pub platform: String,
}

impl DerivedInputs {
    /// The key of these inputs: blake3 of their canonical JSON (fields in declaration order).
    pub fn key(&self) -> Blake3 {
        let json = serde_json::to_vec(self).unwrap_or_default();
        Blake3::of_bytes(&json)
    }

    /// This machine's platform, as recorded.
    pub fn platform() -> String {
        format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
    }
}

/// The record of one build: its inputs, its output entry, and what it said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedRecord {
    pub format_version: u32,
    pub inputs: DerivedInputs,
    /// The output: an entry of `store/nodes/`.
    pub tree: Blake3,
    /// A traceback the script printed although it exited 0, kept so reuse reports it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A record larger than this is not one comfydock wrote.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// `store/derived/`.
#[derive(Debug, Clone)]
pub struct DerivedStore {
    dir: PathBuf,
}

impl DerivedStore {
    pub fn new(store_dir: &Path) -> Self {
        DerivedStore {
            dir: store_dir.join("derived"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &Blake3) -> PathBuf {
        self.dir.join(format!("{}.json", key.hex()))
    }

    /// The record for `inputs`, when one exists, is whole and really is for these inputs.
    pub fn get(&self, inputs: &DerivedInputs) -> Option<DerivedRecord> {
        let path = self.path(&inputs.key());
        let meta = fs_err::metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > MAX_RECORD_BYTES {
            return None;
        }
        let record: DerivedRecord = serde_json::from_slice(&fs_err::read(&path).ok()?).ok()?;
        (record.format_version == 1 && record.inputs == *inputs).then_some(record)
    }

    /// Records a build (written whole, then renamed into place).
    pub fn put(&self, record: &DerivedRecord) -> std::io::Result<()> {
        fs_err::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        crate::fsx::write_atomic(&self.path(&record.inputs.key()), &bytes)
    }

    /// Every record (for gc: their outputs stay while a record names them).
    pub fn records(&self) -> Vec<DerivedRecord> {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        read.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| fs_err::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice::<DerivedRecord>(&b).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> DerivedInputs {
        DerivedInputs {
            pack_tree: Blake3::of_bytes(b"tree"),
            script: Blake3::of_bytes(b"print()"),
            comfyui_commit: "0123456789abcdef0123456789abcdef01234567".parse().unwrap(),
            python: Blake3::of_bytes(b"lock"),
            platform: "x86_64-linux".into(),
        }
    }

    #[test]
    fn a_record_is_found_only_for_its_own_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let store = DerivedStore::new(dir.path());
        let record = DerivedRecord {
            format_version: 1,
            inputs: inputs(),
            tree: Blake3::of_bytes(b"out"),
            warning: None,
        };
        store.put(&record).unwrap();
        assert_eq!(store.get(&inputs()), Some(record));
        let mut other = inputs();
        other.python = Blake3::of_bytes(b"another lock");
        assert_eq!(store.get(&other), None);
        // A record whose content names other inputs than its file name is not used.
        fs_err::write(
            store.path(&other.key()),
            fs_err::read(store.path(&inputs().key())).unwrap(),
        )
        .unwrap();
        assert_eq!(store.get(&other), None);
    }
}
