//! Content hashes of model files: blake3 (always; memory-mapped and multi-threaded for large
//! files, which is how `b3sum` reaches disk speed) and sha256 on demand, because Civitai and the
//! registries speak sha256.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Below this size a file is read into memory and hashed on one thread: mapping and splitting
/// cost more than they save, and parallelism comes from hashing many files at once.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// Read size when sha256 is wanted too: large enough for blake3's parallel hashing to pay off.
const CHUNK: usize = 16 << 20;

pub use crate::store::download::{FileHashes, StreamHasher};

/// Hashes `path`: blake3 always, sha256 when `sha256` is set (in the same pass over the file).
pub fn hash_file(path: &Path, sha256: bool) -> io::Result<FileHashes> {
    if sha256 {
        return hash_both(path);
    }
    // Opened once, its size from the descriptor: one path lookup per file, not two.
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut hasher = blake3::Hasher::new();
    if len < MMAP_THRESHOLD {
        let mut buf = Vec::with_capacity(len as usize);
        file.read_to_end(&mut buf)?;
        hasher.update(&buf);
    } else {
        drop(file);
        hasher.update_mmap_rayon(path)?;
    }
    Ok(FileHashes {
        blake3: crate::types::Blake3::from_hasher(&hasher),
        sha256: None,
        size: hasher.count(),
    })
}

/// sha256 alone, for a file whose blake3 is already known.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn hash_both(path: &Path) -> io::Result<FileHashes> {
    let mut file = File::open(path)?;
    let mut b3 = blake3::Hasher::new();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        // sha256 is the slow one; blake3 runs beside it on the other cores.
        rayon::join(|| sha.update(chunk), || b3.update_rayon(chunk));
    }
    Ok(FileHashes {
        blake3: crate::types::Blake3::from_hasher(&b3),
        sha256: Some(crate::types::Sha256::from_digest(sha.finalize().into())),
        size: b3.count(),
    })
}

/// Fills `buf` as far as the file allows; returns the bytes read (0 at the end).
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_large_and_combined_paths_agree() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(3u32 << 20) + 17).map(|i| (i * 31 % 251) as u8).collect();
        let big = dir.path().join("big.bin");
        fs_err::write(&big, &data).unwrap();
        let small = dir.path().join("small.bin");
        fs_err::write(&small, &data[..1000]).unwrap();

        let expect_big = blake3::hash(&data).to_hex().to_string();
        let expect_sha = hex::encode(Sha256::digest(&data));
        assert_eq!(hash_file(&big, false).unwrap().blake3.hex(), expect_big);
        let both = hash_file(&big, true).unwrap();
        assert_eq!(both.blake3.hex(), expect_big);
        assert_eq!(both.sha256.as_ref().map(|s| s.hex()), Some(expect_sha.as_str()));
        assert_eq!(both.size, data.len() as u64);
        assert_eq!(sha256_file(&big).unwrap(), expect_sha);
        assert_eq!(
            hash_file(&small, false).unwrap().blake3.hex(),
            blake3::hash(&data[..1000]).to_hex().to_string()
        );

        let mut s = StreamHasher::new(true);
        for part in data.chunks(7777) {
            s.update(part);
        }
        assert_eq!(s.finish(), both);
    }
}
