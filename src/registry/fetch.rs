//! Getting a pinned registry version into the content-addressed store: download (resumable,
//! sha256-checked), extract into a staging folder, hash the tree, move it to
//! `store/nodes/<tree hash>/`. The environment is never touched here; this is the engine's
//! "stage" step for registry packs.

use super::resolve::ResolvedVersion;
use super::{RegistryClient, RegistryError, Result};
use crate::store::{self, Downloaded, Limits, StoreError};
use crate::types::Blake3;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct FetchedPack {
    pub archive: Downloaded,
    /// The URL the archive came from (the `downloadUrl`, or `/install`'s when that was empty).
    pub download_url: String,
    /// 64 hex digits; names the folder below `store/nodes/`.
    pub tree_hash: Blake3,
    /// `store/nodes/<tree_hash>`: the pack's files, ready to be materialised.
    pub path: PathBuf,
    /// The store already held this tree; nothing new was written.
    pub already_in_store: bool,
}

/// Downloads and extracts `pinned` into the store below `store_dir` (the workspace's `store/`).
/// `expected_sha256` is the archive hash recorded in the lock, if any: a different archive is
/// refused. Offline, only an archive already in `store/downloads/` (found by that hash) can be
/// used.
pub fn fetch_and_extract(
    client: &RegistryClient,
    store_dir: &Path,
    pinned: &ResolvedVersion,
    expected_sha256: Option<&crate::types::Sha256>,
) -> Result<FetchedPack> {
    let reporter = client.reporter();
    let downloads = store_dir.join("downloads");
    let download_url = if pinned.download_url.is_empty() {
        client
            .install_info(&pinned.node_id, Some(&pinned.version))?
            .download_url
    } else {
        pinned.download_url.clone()
    };
    if download_url.is_empty() {
        return Err(RegistryError::NoDownload {
            id: pinned.node_id.clone(),
            version: pinned.version.clone(),
        });
    }
    if client.offline() {
        let known = expected_sha256
            .map(|h| downloads.join(format!("sha256-{}", h.hex())))
            .filter(|p| p.is_file());
        if known.is_none() {
            return Err(RegistryError::OfflineMiss { url: download_url });
        }
    }
    let archive = store::download(client.http(), &download_url, &downloads, expected_sha256, reporter)?;

    reporter.step(&format!("Extracting {}@{}", pinned.node_id, pinned.version));
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(store_dir)
        .map_err(StoreError::io(store_dir))?;
    let out = staging.path().join("tree");
    store::extract(&archive.path, &out, Limits::default())?;
    let root = store::pack_root(&out)?;
    let nodes = store::NodeStore::new(store_dir);
    let tree_hash =
        Blake3::from_hex(&store::tree_hash(&root)?).map_err(|e| StoreError::io(&root)(std::io::Error::other(e)))?;
    let already_in_store = nodes.contains(&tree_hash);
    if !already_in_store {
        // Same filesystem as the staging folder, so the tree appears whole or not at all.
        nodes.insert_dir(&root).map_err(StoreError::io(nodes.dir()))?;
    }
    let dest = nodes.path(&tree_hash);
    Ok(FetchedPack {
        archive,
        download_url,
        tree_hash,
        path: dest,
        already_in_store,
    })
}
