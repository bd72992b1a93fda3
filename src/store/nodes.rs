//! `store/nodes/<tree hash>/`: node pack trees, immutable once written.
//!
//! - An entry is built in a scratch folder (`.tmp-<pid>-…`, so gc can tell whose it is) and
//!   renamed to its hash; then a marker `<hash>.complete` is written. An entry is used only when
//!   its marker exists: a folder without one (a crash between rename and marker, a half-done
//!   removal, a store from before markers) is re-hashed once, and kept only if whole.
//! - Removal takes the marker away, renames the folder out of the namespace (`.del-<pid>-…`),
//!   then deletes: a kill at any moment never leaves a partial tree under a real name.

use crate::types::Blake3;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const MARKER: &str = ".complete";

#[derive(Debug, Clone)]
pub struct NodeStore {
    dir: PathBuf,
}

/// How an entry stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryCheck {
    Intact,
    Missing,
    /// Its files hash to something else (edited by hand, or damaged).
    Corrupt {
        actual: String,
    },
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

    /// The folder of an entry.
    pub fn path(&self, hash: &Blake3) -> PathBuf {
        self.dir.join(hash.hex())
    }

    fn marker(&self, hash: &Blake3) -> PathBuf {
        self.dir.join(format!("{}{MARKER}", hash.hex()))
    }

    /// Whether a whole entry is there. A folder without its marker is checked by hashing: kept
    /// (and marked) when whole, moved out of the way when not.
    pub fn contains(&self, hash: &Blake3) -> bool {
        let path = self.path(hash);
        if !path.is_dir() {
            return false;
        }
        if self.marker(hash).is_file() {
            return true;
        }
        match super::tree_hash(&path) {
            Ok(actual) if actual == hash.hex() => self.mark(hash).is_ok(),
            _ => {
                let _ = self.remove(hash);
                false
            }
        }
    }

    fn mark(&self, hash: &Blake3) -> io::Result<()> {
        crate::fsx::write_atomic(&self.marker(hash), hash.hex().as_bytes())
    }

    /// A fresh folder to fill; hand it to `insert` when complete.
    pub fn scratch(&self) -> io::Result<tempfile::TempDir> {
        fs::create_dir_all(&self.dir)?;
        tempfile::Builder::new()
            .prefix(&format!(".tmp-{}-", std::process::id()))
            .tempdir_in(&self.dir)
    }

    /// Hashes a filled scratch folder and moves it to its name. Returns the hash.
    pub fn insert(&self, scratch: tempfile::TempDir) -> io::Result<Blake3> {
        let path = scratch.keep();
        let result = self.insert_dir(&path);
        if path.exists() {
            let _ = fs::remove_dir_all(&path);
        }
        result
    }

    /// Hashes a folder on the store's filesystem and moves it into the store under its hash.
    pub fn insert_dir(&self, dir: &Path) -> io::Result<Blake3> {
        fs::create_dir_all(&self.dir)?;
        let hash = Blake3::from_hex(&super::tree_hash(dir).map_err(io::Error::other)?).map_err(io::Error::other)?;
        if self.contains(&hash) {
            return Ok(hash); // Same content is already there; the caller's folder is dropped.
        }
        let dest = self.path(&hash);
        match fs::rename(dir, &dest) {
            Ok(()) => {}
            // A concurrent writer stored the same tree first: theirs is identical.
            Err(_) if dest.is_dir() => {}
            Err(e) => return Err(e),
        }
        crate::fsx::sync_dir(&self.dir)?;
        self.mark(&hash)?;
        Ok(hash)
    }

    /// Removes an entry so that no reader ever sees part of it under its name.
    pub fn remove(&self, hash: &Blake3) -> io::Result<()> {
        match fs::remove_file(self.marker(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // What the entry provides (`pack_nodes`) goes with it.
        match fs::remove_file(self.dir.join(format!("{}.nodes.json", hash.hex()))) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let path = self.path(hash);
        if !path.exists() {
            return Ok(());
        }
        let doomed = tempfile::Builder::new()
            .prefix(&format!(".del-{}-", std::process::id()))
            .tempdir_in(&self.dir)?
            .keep();
        fs::remove_dir(&doomed)?;
        fs::rename(&path, &doomed)?;
        crate::fsx::sync_dir(&self.dir)?;
        fs::remove_dir_all(&doomed)
    }

    /// Re-hashes an entry (for `comfydock verify`).
    pub fn check(&self, hash: &Blake3) -> io::Result<EntryCheck> {
        let path = self.path(hash);
        if !path.is_dir() {
            return Ok(EntryCheck::Missing);
        }
        let actual = super::tree_hash(&path).map_err(io::Error::other)?;
        Ok(if actual == hash.hex() {
            EntryCheck::Intact
        } else {
            EntryCheck::Corrupt {
                actual: format!("blake3:{actual}"),
            }
        })
    }

    /// Hashes of every entry folder (for gc and verify).
    pub fn entries(&self) -> io::Result<Vec<Blake3>> {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in read {
            let entry = entry?;
            if let Ok(hash) = Blake3::from_hex(&entry.file_name().to_string_lossy())
                && entry.file_type()?.is_dir()
            {
                out.push(hash);
            }
        }
        Ok(out)
    }

    /// Scratch and removal folders whose owning process is gone: safe for gc to delete. Those of
    /// a live process (an apply or gc running now, in any environment) are never touched.
    pub fn abandoned_scratch(&self) -> Vec<PathBuf> {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        read.flatten()
            .map(|e| e.path())
            .filter(|p| crate::fsx::scratch_abandoned(p, ".tmp-") || crate::fsx::scratch_abandoned(p, ".del-"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_used_only_when_whole() {
        let d = tempfile::tempdir().unwrap();
        let store = NodeStore::new(d.path());
        let scratch = store.scratch().unwrap();
        fs::write(scratch.path().join("a.py"), "x").unwrap();
        fs::write(scratch.path().join("b.py"), "y").unwrap();
        let hash = store.insert(scratch).unwrap();
        assert!(store.contains(&hash));
        assert_eq!(store.check(&hash).unwrap(), EntryCheck::Intact);

        // A half-removed entry (marker gone, a file gone) is not used, and is moved away.
        fs::remove_file(store.marker(&hash)).unwrap();
        fs::remove_file(store.path(&hash).join("b.py")).unwrap();
        assert!(!store.contains(&hash));
        assert!(!store.path(&hash).exists());

        // A whole entry without its marker (an older store) is re-hashed once and kept.
        let scratch = store.scratch().unwrap();
        fs::write(scratch.path().join("a.py"), "x").unwrap();
        fs::write(scratch.path().join("b.py"), "y").unwrap();
        let again = store.insert(scratch).unwrap();
        assert_eq!(again, hash);
        fs::remove_file(store.marker(&hash)).unwrap();
        assert!(store.contains(&hash));
        assert!(store.marker(&hash).is_file());

        // A hand edit is found by check.
        fs::write(store.path(&hash).join("a.py"), "edited").unwrap();
        assert!(matches!(store.check(&hash).unwrap(), EntryCheck::Corrupt { .. }));
        store.remove(&hash).unwrap();
        assert!(store.entries().unwrap().is_empty());
    }

    #[test]
    fn scratch_of_a_live_process_is_not_abandoned() {
        let d = tempfile::tempdir().unwrap();
        let store = NodeStore::new(d.path());
        let mine = store.scratch().unwrap();
        fs::create_dir_all(store.dir().join(".tmp-999999999-x")).unwrap();
        let abandoned = store.abandoned_scratch();
        assert!(!abandoned.contains(&mine.path().to_path_buf()));
        assert!(abandoned.contains(&store.dir().join(".tmp-999999999-x")));
    }
}
