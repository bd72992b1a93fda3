//! `store/nodes/<tree hash>/`: node pack trees, immutable once written. An entry is built in a
//! temp folder beside the store and renamed to its hash, so a crash leaves only garbage that
//! `gc` removes, never a half entry under a real name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct NodeStore {
    dir: PathBuf,
}

impl NodeStore {
    pub fn new(store_dir: &Path) -> Self {
        NodeStore {
            dir: store_dir.join("nodes"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of an entry, `hash` as in the lock (`blake3:<hex>`).
    pub fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(hash.trim_start_matches("blake3:"))
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.path(hash).is_dir()
    }

    /// A fresh folder to fill; hand it to `insert` when complete.
    pub fn scratch(&self) -> io::Result<tempfile::TempDir> {
        fs::create_dir_all(&self.dir)?;
        tempfile::Builder::new().prefix(".tmp-").tempdir_in(&self.dir)
    }

    /// Hashes a filled scratch folder and moves it to its name. Returns the hash.
    pub fn insert(&self, scratch: tempfile::TempDir) -> io::Result<String> {
        let hash = format!(
            "blake3:{}",
            super::tree_hash(scratch.path()).map_err(std::io::Error::other)?
        );
        let dest = self.path(&hash);
        if dest.is_dir() {
            return Ok(hash); // Same content is already there; the scratch folder is dropped.
        }
        let path = scratch.keep();
        match fs::rename(&path, &dest) {
            Ok(()) => {}
            // A concurrent writer stored the same tree first: theirs is identical.
            Err(_) if dest.is_dir() => fs::remove_dir_all(&path)?,
            Err(e) => return Err(e),
        }
        crate::fsx::sync_dir(&self.dir)?;
        Ok(hash)
    }

    /// Hashes of every entry (for gc).
    pub fn entries(&self) -> io::Result<Vec<String>> {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in read {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                out.push(format!("blake3:{name}"));
            }
        }
        Ok(out)
    }
}
