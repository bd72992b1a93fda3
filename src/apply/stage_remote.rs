//! Phase 1's middle source: the workspace's remote store (`[store] remote`), asked after the
//! local store and before the original sources. What comes from it is verified by
//! `store::remote`; whatever cannot be used is a warning in the apply output, and the original
//! sources are tried next — never an error on its own.

use super::Ctx;
use crate::store::remote::{Lookup, Remote};
use crate::types::{Blake3, Sha256};
use std::path::{Path, PathBuf};

/// The remote of this apply when one is configured (and the apply is not `--offline`).
pub(super) fn open(ws: &crate::workspace::Workspace, offline: bool) -> super::Result<Option<Remote>> {
    if offline {
        return Ok(None);
    }
    let config = ws.config().map_err(|e| super::ApplyError::Workspace(Box::new(e)))?;
    Remote::configured(config.store.remote.as_deref()).map_err(|e| super::ApplyError::Remote(Box::new(e)))
}

/// Puts node `id`'s tree into the local store from the remote. True when it is there now.
pub(super) fn node(ctx: &Ctx, id: &str, tree: &Blake3) -> bool {
    let Some(remote) = ctx.remote.as_ref() else {
        return false;
    };
    let label = format!("{id} (remote store)");
    match remote.fetch_node(tree, &ctx.ws.store_dir(), (&*ctx.transfers, &label)) {
        Lookup::Found(()) => {
            ctx.reporter
                .step(&format!("Node {id} from the remote store {}", remote.url()));
            true
        }
        Lookup::Absent => false,
        Lookup::Unusable(e) => {
            ctx.reporter.warn(&format!(
                "remote store: node {id} not used ({e}); trying its original source"
            ));
            false
        }
    }
}

/// Downloads model `key` from the remote to `dest`. The file when it is there now.
pub(super) fn model(ctx: &Ctx, key: &str, hash: &Blake3, sha256: Option<&Sha256>, dest: &Path) -> Option<PathBuf> {
    let remote = ctx.remote.as_ref()?;
    let label = format!("{key} (remote store)");
    match remote.fetch_model(hash, sha256, dest, (&*ctx.transfers, &label)) {
        Lookup::Found(path) => {
            ctx.reporter
                .step(&format!("Model {key} from the remote store {}", remote.url()));
            Some(path)
        }
        Lookup::Absent => None,
        Lookup::Unusable(e) => {
            ctx.reporter
                .warn(&format!("remote store: model {key} not used ({e}); trying its sources"));
            None
        }
    }
}
