//! Uploading what the remote lacks. Each object is uploaded under a temporary key, then committed
//! to its content key by a copy that succeeds only if the key is still free (a concurrent writer
//! of the same content wins harmlessly), and its record is written last, also only-if-absent.
//! Readers go by records, so they never see an object before it is whole. A push that fails
//! part-way is resumed by running it again: committed objects are listed and skipped.

use super::keys::Kind;
use super::record::Record;
use super::{CONCURRENCY, Remote, RemoteError, Result};
use crate::progress::Reporter;
use crate::types::{Blake3, Sha256};
use futures::StreamExt;
use object_store::path::Path as Key;
use object_store::{PutMode, PutOptions, PutPayload, WriteMultipart};
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

/// Files above this go up in parts of this size, several parts at once.
const PART_SIZE: usize = 8 << 20;
/// S3 copies at most 5 GiB in one request: larger objects are uploaded straight to their key,
/// where the multipart upload itself is the atomic commit (S3 shows no object before it completes).
const COPY_LIMIT: u64 = 5 << 30;

/// One thing to upload: a node tree (a folder of the local store) or a model file.
#[derive(Debug, Clone)]
pub struct PushItem {
    pub kind: Kind,
    /// Tree hash (nodes) or the file's blake3 (models).
    pub hash: Blake3,
    /// What to call it in messages (node id, model file name).
    pub label: String,
    pub path: PathBuf,
    pub sha256: Option<Sha256>,
    pub sources: Vec<String>,
}

#[derive(Debug, Default)]
pub struct PushReport {
    /// Labels of what was uploaded now.
    pub uploaded: Vec<String>,
    /// Labels of what the remote had already.
    pub present: Vec<String>,
    /// Labels and reasons of what could not be uploaded.
    pub failed: Vec<(String, String)>,
    pub bytes: u64,
}

impl Remote {
    /// Uploads every item the remote lacks; one failure does not stop the others.
    pub fn push(&self, items: Vec<PushItem>, scratch_dir: &Path, reporter: &dyn Reporter) -> Result<PushReport> {
        let mut report = PushReport::default();
        let nodes = self.list(Kind::Node)?;
        let models = self.list(Kind::Model)?;
        let mut todo = Vec::new();
        for item in items {
            let there = match item.kind {
                Kind::Node => nodes.contains(&item.hash),
                Kind::Model => models.contains(&item.hash),
            };
            if there {
                report.present.push(item.label);
            } else {
                todo.push(item);
            }
        }
        if todo.is_empty() {
            return Ok(report);
        }
        std::fs::create_dir_all(scratch_dir).map_err(RemoteError::io(scratch_dir))?;
        let scratch = tempfile::Builder::new()
            .prefix(&format!(".push-{}-", std::process::id()))
            .tempdir_in(scratch_dir)
            .map_err(RemoteError::io(scratch_dir))?;
        let outcomes: Vec<(String, Result<u64>)> = self.runtime.block_on(
            futures::stream::iter(todo)
                .map(|item| async {
                    reporter.step(&format!("Uploading {} {}", kind_word(item.kind), item.label));
                    let outcome = self.push_one(&item, scratch.path()).await;
                    (item.label, outcome)
                })
                .buffer_unordered(CONCURRENCY)
                .collect(),
        );
        for (label, outcome) in outcomes {
            match outcome {
                Ok(bytes) => {
                    report.bytes += bytes;
                    report.uploaded.push(label);
                }
                Err(e) => report.failed.push((label, e.to_string())),
            }
        }
        report.uploaded.sort();
        report.failed.sort();
        Ok(report)
    }

    async fn push_one(&self, item: &PushItem, scratch: &Path) -> Result<u64> {
        let (file, expected) = match item.kind {
            Kind::Node => {
                let archive = scratch.join(format!("{}.tar.gz", item.hash.hex()));
                let (dir, out) = (item.path.clone(), archive.clone());
                tokio::task::spawn_blocking(move || pack_tree(&dir, &out))
                    .await
                    .map_err(|e| RemoteError::io(&item.path)(std::io::Error::other(e)))?
                    .map_err(RemoteError::io(&item.path))?;
                (archive, None)
            }
            Kind::Model => (item.path.clone(), Some(&item.hash)),
        };
        let data = self.keys.data(item.kind, &item.hash);
        let size = tokio::fs::metadata(&file).await.map_err(RemoteError::io(&file))?.len();
        let target = if size > COPY_LIMIT {
            data.clone()
        } else {
            self.keys.temporary(&item.hash)
        };
        let object_blake3 = self.upload(&file, &target, size).await?;
        if let Some(expected) = expected
            && *expected != object_blake3
        {
            let _ = self.store.delete(&target).await;
            return Err(RemoteError::Corrupt {
                key: file.display().to_string(),
                reason: format!("the local file is now {object_blake3}, not {expected}: run `comfydock model scan`"),
            });
        }
        if target != data {
            let committed = self.store.copy_if_not_exists(&target, &data).await;
            let _ = self.store.delete(&target).await;
            match committed {
                Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(RemoteError::request("COPY", &data)(e)),
            }
        }
        let record = Record {
            version: 1,
            kind: item.kind,
            hash: item.hash.clone(),
            size,
            object_blake3,
            sha256: item.sha256.clone(),
            sources: item.sources.clone(),
        };
        let key = self.keys.record(item.kind, &item.hash);
        let create = PutOptions::from(PutMode::Create);
        match self
            .store
            .put_opts(&key, PutPayload::from(record.to_json()), create)
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(size),
            Err(e) => Err(RemoteError::request("PUT", &key)(e)),
        }
    }

    /// Uploads a file to `key` (in parts when large); returns the blake3 of what was sent.
    async fn upload(&self, file: &Path, key: &Key, size: u64) -> Result<Blake3> {
        let mut hasher = blake3::Hasher::new();
        if size <= PART_SIZE as u64 {
            let bytes = tokio::fs::read(file).await.map_err(RemoteError::io(file))?;
            hasher.update(&bytes);
            self.store
                .put(key, PutPayload::from(bytes))
                .await
                .map_err(RemoteError::request("PUT", key))?;
        } else {
            let upload = self
                .store
                .put_multipart(key)
                .await
                .map_err(RemoteError::request("PUT", key))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let sent = async {
                let mut f = tokio::fs::File::open(file).await.map_err(RemoteError::io(file))?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf).await.map_err(RemoteError::io(file))?;
                    let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                        break;
                    };
                    hasher.update(chunk);
                    writer
                        .wait_for_capacity(CONCURRENCY)
                        .await
                        .map_err(RemoteError::request("PUT", key))?;
                    writer.write(chunk);
                }
                Ok::<(), RemoteError>(())
            }
            .await;
            match sent {
                Ok(()) => {
                    writer.finish().await.map_err(RemoteError::request("PUT", key))?;
                }
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e);
                }
            }
        }
        Blake3::from_hex(hasher.finalize().to_hex().as_str())
            .map_err(|e| RemoteError::io(file)(std::io::Error::other(e)))
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Node => "node",
        Kind::Model => "model",
    }
}

/// A node tree as tar.gz: entries in sorted order, symlinks kept as links, no owners or times,
/// so the archive extracts to a tree with the same tree hash.
pub(super) fn pack_tree(dir: &Path, out: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    tar.mode(tar::HeaderMode::Deterministic);
    for entry in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry.path().strip_prefix(dir).map_err(std::io::Error::other)?;
        tar.append_path_with_name(entry.path(), rel)?;
    }
    let gz = tar.into_inner()?;
    let file = gz.finish()?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_packed_tree_extracts_to_the_same_tree_hash() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("tree");
        fs_err::create_dir_all(tree.join("sub/empty")).unwrap();
        fs_err::write(tree.join("a.py"), "x").unwrap();
        fs_err::write(tree.join("sub/run.sh"), "#!/bin/sh\n").unwrap();
        fs_err::set_permissions(tree.join("sub/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../a.py", tree.join("sub/link.py")).unwrap();
        let archive = d.path().join("t.tar.gz");
        pack_tree(&tree, &archive).unwrap();
        let out = d.path().join("out");
        crate::store::extract(&archive, &out, crate::store::Limits::default()).unwrap();
        assert_eq!(
            crate::store::tree_hash(&out).unwrap(),
            crate::store::tree_hash(&tree).unwrap()
        );
    }
}
