//! What a node pack provides, read statically (`pack_scan`, which never runs pack code), once per
//! store entry: the node types of `store/nodes/<hash>/` are kept beside it as
//! `<hash>.nodes.json`, so every environment that uses the same content shares one scan.

use crate::types::Blake3;
use std::collections::BTreeSet;
use std::path::Path;

/// The record beside a store entry. Written by comfydock, read back as untrusted (bounded, typed).
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    format_version: u32,
    node_types: BTreeSet<String>,
}

/// A record larger than this is not ours: it is scanned again.
const MAX_RECORD_BYTES: u64 = 8 * 1024 * 1024;

fn record_path(store: &super::NodeStore, tree: &Blake3) -> std::path::PathBuf {
    store.dir().join(format!("{}.nodes.json", tree.hex()))
}

/// The node types of the store entry `tree`, scanned on first use and remembered. None when the
/// entry is not in the store.
pub fn of_entry(store: &super::NodeStore, tree: &Blake3) -> Option<BTreeSet<String>> {
    let record = record_path(store, tree);
    let cached = fs_err::metadata(&record)
        .ok()
        .filter(|m| m.is_file() && m.len() <= MAX_RECORD_BYTES)
        .and_then(|_| fs_err::read(&record).ok())
        .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
        .filter(|r| r.format_version == 1);
    if let Some(r) = cached {
        return Some(r.node_types);
    }
    let dir = store.path(tree);
    if !dir.is_dir() {
        return None;
    }
    let node_types = of_folder(&dir);
    let bytes = serde_json::to_vec(&Record {
        format_version: 1,
        node_types: node_types.clone(),
    })
    .ok()?;
    // A cache: failing to keep it costs a scan next time, nothing else.
    if let Err(e) = crate::fsx::write_atomic(&record, &bytes) {
        tracing::debug!("could not record the node types of {}: {e}", dir.display());
    }
    Some(node_types)
}

/// The node types of a pack folder (a dev node's, or one not in the store), scanned now.
pub fn of_folder(dir: &Path) -> BTreeSet<String> {
    match crate::pack_scan::scan_pack(dir) {
        Ok(found) => found.node_types,
        Err(e) => {
            tracing::debug!("could not scan {}: {e}", dir.display());
            BTreeSet::new()
        }
    }
}
