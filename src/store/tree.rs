//! Content hashes of directory trees: the names of `store/nodes/<hash>/` entries and the
//! `tree` pins in the lock. Stable across machines: sorted relative paths, the executable bit,
//! symlink targets and file contents; timestamps and owners do not count.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// `blake3:<hex>` of the tree below `root` (the root itself may be a symlink-free folder).
pub fn tree_hash(root: &Path) -> io::Result<String> {
    let mut entries: Vec<walkdir::DirEntry> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    let mut hasher = blake3::Hasher::new();
    for entry in entries {
        let rel = entry.path().strip_prefix(root).map_err(io::Error::other)?;
        let rel = rel.to_string_lossy();
        let ft = entry.file_type();
        // Each record is self-delimiting (kind, length-prefixed path, payload), so no two trees share a stream.
        if ft.is_dir() {
            hasher.update(b"d");
            update_str(&mut hasher, &rel);
        } else if ft.is_symlink() {
            hasher.update(b"l");
            update_str(&mut hasher, &rel);
            update_str(&mut hasher, &fs::read_link(entry.path())?.to_string_lossy());
        } else {
            let exec = entry.metadata().map_err(io::Error::other)?.permissions().mode() & 0o111 != 0;
            hasher.update(if exec { b"x" } else { b"f" });
            update_str(&mut hasher, &rel);
            let mut file_hasher = blake3::Hasher::new();
            file_hasher.update_reader(fs::File::open(entry.path())?)?;
            hasher.update(file_hasher.finalize().as_bytes());
        }
    }
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

fn update_str(hasher: &mut blake3::Hasher, s: &str) {
    hasher.update(&(s.len() as u64).to_le_bytes());
    hasher.update(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_hash_and_any_change_shows() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            fs::create_dir_all(d.join("pkg")).unwrap();
            fs::write(d.join("pkg/__init__.py"), "x = 1\n").unwrap();
        }
        assert_eq!(tree_hash(a.path()).unwrap(), tree_hash(b.path()).unwrap());
        fs::write(b.path().join("pkg/__init__.py"), "x = 2\n").unwrap();
        assert_ne!(tree_hash(a.path()).unwrap(), tree_hash(b.path()).unwrap());
        fs::write(b.path().join("pkg/__init__.py"), "x = 1\n").unwrap();
        fs::set_permissions(b.path().join("pkg/__init__.py"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(tree_hash(a.path()).unwrap(), tree_hash(b.path()).unwrap());
    }
}
