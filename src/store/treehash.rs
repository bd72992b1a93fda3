//! The blake3 hash of an extracted tree that names `store/nodes/<hash>/`.
//!
//! Stable across machines and runs: entries in sorted order of their relative paths (bytes,
//! `/`-separated), each contributing its kind, path, executable bit (not the full mode, which
//! depends on the umask) and content (file bytes or symlink target). Folders count, so an empty
//! folder a pack ships is part of its identity. Timestamps and owners never count.

use super::{Result, StoreError};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Returns the tree hash of `root` as 64 hex digits.
pub fn tree_hash(root: &Path) -> Result<String> {
    let mut entries: Vec<(Vec<u8>, walkdir::DirEntry)> = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.map_err(|e| StoreError::io(root)(std::io::Error::other(e)))?;
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths below its root");
        let key: Vec<u8> = rel
            .components()
            .map(|c| c.as_os_str().as_bytes())
            .collect::<Vec<_>>()
            .join(&b'/');
        entries.push((key, entry));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut tree = blake3::Hasher::new();
    tree.update(b"comfydock-tree-v1\0");
    for (key, entry) in &entries {
        let path = entry.path();
        let ft = entry.file_type();
        // Lengths first, so that no path or content can be mistaken for a separator.
        let (tag, payload): (&[u8], Vec<u8>) = if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(StoreError::io(path))?;
            (b"l", target.as_os_str().as_bytes().to_vec())
        } else if ft.is_dir() {
            (b"d", Vec::new())
        } else {
            let meta = entry
                .metadata()
                .map_err(|e| StoreError::io(path)(std::io::Error::other(e)))?;
            let tag: &[u8] = if meta.permissions().mode() & 0o111 != 0 {
                b"x"
            } else {
                b"f"
            };
            let mut h = blake3::Hasher::new();
            let mut f = File::open(path).map_err(StoreError::io(path))?;
            std::io::copy(&mut f, &mut h).map_err(StoreError::io(path))?;
            (tag, h.finalize().as_bytes().to_vec())
        };
        tree.update(tag);
        tree.update(&(key.len() as u64).to_le_bytes());
        tree.update(key);
        tree.update(&(payload.len() as u64).to_le_bytes());
        tree.update(&payload);
    }
    Ok(tree.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn make(dir: &Path, files: &[(&str, &str)]) {
        for (rel, text) in files {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
    }

    #[test]
    fn same_content_same_hash_regardless_of_creation_order_and_times() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        make(a.path(), &[("x/1.py", "1"), ("b.py", "b"), ("a.py", "a")]);
        make(b.path(), &[("a.py", "a"), ("b.py", "b"), ("x/1.py", "1")]);
        assert_eq!(tree_hash(a.path()).unwrap(), tree_hash(b.path()).unwrap());
        assert_eq!(tree_hash(a.path()).unwrap().len(), 64);
    }

    #[test]
    fn content_names_modes_and_links_all_count() {
        let d = tempfile::tempdir().unwrap();
        make(d.path(), &[("a.py", "a")]);
        let base = tree_hash(d.path()).unwrap();
        fs::write(d.path().join("a.py"), "A").unwrap();
        let edited = tree_hash(d.path()).unwrap();
        assert_ne!(base, edited);
        fs::set_permissions(d.path().join("a.py"), fs::Permissions::from_mode(0o755)).unwrap();
        let exec = tree_hash(d.path()).unwrap();
        assert_ne!(edited, exec);
        std::os::unix::fs::symlink("a.py", d.path().join("l")).unwrap();
        let linked = tree_hash(d.path()).unwrap();
        assert_ne!(exec, linked);
        fs::rename(d.path().join("a.py"), d.path().join("b.py")).unwrap();
        assert_ne!(linked, tree_hash(d.path()).unwrap());
    }
}
