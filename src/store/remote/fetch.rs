//! Reading from the remote: a record, then its object, streamed to a scratch file while it is
//! hashed. Nothing is used unless its size and hashes match the record and the key; a node
//! archive must also extract (within the usual limits) to the tree hash it is named by.

use super::keys::Kind;
use super::record::{MAX_RECORD_BYTES, Record};
use super::{Remote, RemoteError, Result};
use crate::progress::Reporter;
use crate::store::{Limits, NodeStore, extract, tree_hash};
use crate::types::{Blake3, Sha256};
use futures::StreamExt;
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a download reports its bytes (`Reporter::transfer`), and under which label.
pub type Progress<'a> = (&'a dyn Reporter, &'a str);

/// What a lookup in the remote found.
#[derive(Debug)]
pub enum Lookup<T> {
    /// Verified and in place.
    Found(T),
    /// The remote has no record of it.
    Absent,
    /// The remote has it but it could not be used (corrupt, gone since listed, unreachable):
    /// why, for a warning. Nothing was installed from it.
    Unusable(RemoteError),
}

impl Remote {
    /// Puts the node tree `tree` into the local store at `store_dir` from the remote.
    pub fn fetch_node(&self, tree: &Blake3, store_dir: &Path, progress: Progress<'_>) -> Lookup<()> {
        let outcome = self.runtime.block_on(async {
            let Some(record) = self.record(Kind::Node, tree).await? else {
                return Ok(None);
            };
            // A store scratch folder (`.tmp-<pid>-…`): gc removes it if this process is killed.
            let staging = tempfile::Builder::new()
                .prefix(&crate::fsx::scratch_prefix(".tmp-"))
                .tempdir_in(store_dir)
                .map_err(RemoteError::io(store_dir))?;
            let archive = staging.path().join("archive.tar.gz");
            self.download(Kind::Node, tree, &record, None, &archive, progress)
                .await?;
            Ok(Some((staging, archive)))
        });
        let (staging, archive) = match outcome {
            Ok(Some(found)) => found,
            Ok(None) => return Lookup::Absent,
            Err(e) => return Lookup::Unusable(e),
        };
        let key = self.keys.data(Kind::Node, tree).to_string();
        let corrupt = |reason: String| {
            Lookup::Unusable(RemoteError::Corrupt {
                key: key.clone(),
                reason,
            })
        };
        let out = staging.path().join("tree");
        if let Err(e) = extract(&archive, &out, Limits::default()) {
            return corrupt(format!("the archive does not extract: {e}"));
        }
        match tree_hash(&out) {
            Ok(actual) if actual == tree.hex() => {}
            Ok(actual) => return corrupt(format!("it extracts to tree blake3:{actual}")),
            Err(e) => return corrupt(e.to_string()),
        }
        let nodes = NodeStore::new(store_dir);
        match nodes.insert_dir(&out) {
            Ok(_) => Lookup::Found(()),
            Err(e) => Lookup::Unusable(RemoteError::io(nodes.dir())(e)),
        }
    }

    /// Downloads the model `hash` from the remote to `dest` (which must not exist), verified by
    /// blake3 and, when given, sha256.
    pub fn fetch_model(
        &self,
        hash: &Blake3,
        sha256: Option<&Sha256>,
        dest: &Path,
        progress: Progress<'_>,
    ) -> Lookup<PathBuf> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let partial = dir.join(format!(".{name}.remote-{}", std::process::id()));
        let outcome = self.runtime.block_on(async {
            let Some(record) = self.record(Kind::Model, hash).await? else {
                return Ok(false);
            };
            self.download(Kind::Model, hash, &record, sha256, &partial, progress)
                .await?;
            Ok(true)
        });
        match outcome {
            Ok(true) => match crate::fsx::rename_durable(&partial, dest) {
                Ok(()) => Lookup::Found(dest.to_path_buf()),
                Err(e) => {
                    let _ = fs_err::remove_file(&partial);
                    Lookup::Unusable(RemoteError::io(dest)(e))
                }
            },
            Ok(false) => Lookup::Absent,
            Err(e) => {
                let _ = fs_err::remove_file(&partial);
                Lookup::Unusable(e)
            }
        }
    }

    /// The record of (`kind`, `hash`); None when the remote has none.
    async fn record(&self, kind: Kind, hash: &Blake3) -> Result<Option<Record>> {
        let key = self.keys.record(kind, hash);
        let got = match self.store.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(RemoteError::request("GET", &key)(e)),
        };
        if got.meta.size > MAX_RECORD_BYTES as u64 {
            return Err(RemoteError::Corrupt {
                key: key.to_string(),
                reason: format!("a record of {} bytes is too large", got.meta.size),
            });
        }
        let bytes = got.bytes().await.map_err(RemoteError::request("GET", &key))?;
        Record::parse(key.as_ref(), &bytes, kind, hash).map(Some)
    }

    /// Streams the object of `record` to `dest`, checking size and hashes as it goes. On any
    /// error `dest` may hold a partial file, which the caller removes.
    async fn download(
        &self,
        kind: Kind,
        hash: &Blake3,
        record: &Record,
        sha256: Option<&Sha256>,
        dest: &Path,
        progress: Progress<'_>,
    ) -> Result<()> {
        let key = self.keys.data(kind, hash);
        let (reporter, label) = progress;
        // The bar ends however the download does.
        struct EndBar<'r>(&'r dyn Reporter, &'r str);
        impl Drop for EndBar<'_> {
            fn drop(&mut self) {
                self.0.transfer_end(self.1);
            }
        }
        let _bar = EndBar(reporter, label);
        let corrupt = |reason: String| RemoteError::Corrupt {
            key: key.to_string(),
            reason,
        };
        let got = match self.store.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(corrupt(
                    "its record is there but the object is gone (deleted since it was listed?)".into(),
                ));
            }
            Err(e) => return Err(RemoteError::request("GET", &key)(e)),
        };
        if got.meta.size != record.size {
            return Err(corrupt(format!(
                "{} bytes, its record says {}",
                got.meta.size, record.size
            )));
        }
        let mut file = std::fs::File::create(dest).map_err(RemoteError::io(dest))?;
        let mut b3 = blake3::Hasher::new();
        let mut sha = sha256.map(|_| sha2::Sha256::new());
        let mut received = 0u64;
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(RemoteError::request("GET", &key))?;
            received += chunk.len() as u64;
            if received > record.size {
                return Err(corrupt(format!("more than the {} bytes its record says", record.size)));
            }
            b3.update(&chunk);
            if let Some(sha) = sha.as_mut() {
                sha.update(&chunk);
            }
            file.write_all(&chunk).map_err(RemoteError::io(dest))?;
            reporter.transfer(label, received, Some(record.size));
        }
        if received != record.size {
            return Err(corrupt(format!(
                "{received} bytes arrived, its record says {}",
                record.size
            )));
        }
        let actual = b3.finalize().to_hex().to_string();
        if actual != record.object_blake3.hex() {
            return Err(corrupt(format!(
                "its content is blake3:{actual}, expected {}",
                record.object_blake3
            )));
        }
        if let (Some(expected), Some(sha)) = (sha256, sha) {
            let actual = hex::encode(sha.finalize());
            if actual != expected.hex() {
                return Err(corrupt(format!("its content is sha256:{actual}, expected {expected}")));
            }
        }
        file.sync_all().map_err(RemoteError::io(dest))
    }
}
