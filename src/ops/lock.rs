//! `lock`: the manifest resolved into `comfydock.lock` and `uv.lock`, or checked against them.

use crate::reconcile::Session;
use crate::resolve::{Freshness, Update};
use miette::Result;
use serde::Serialize;

/// What `lock` wrote.
#[derive(Debug, Serialize)]
pub struct LockReport {
    pub nodes: usize,
    pub comfyui_commit: String,
}

/// Whether the lock on disk is what the manifest resolves to (`lock --check`).
pub fn check<A>(session: &Session<'_, A>) -> Result<Freshness> {
    let manifest = session.manifest()?;
    Ok(session.freshness(&manifest)?)
}

/// Resolves the manifest and writes the locks. A pulled lock that was stale is resolved by
/// this, so it no longer waits (`pull` left a marker).
pub fn lock(session: &mut Session) -> Result<LockReport> {
    let manifest = session.manifest()?;
    let resolved = session.resolve(&manifest, &Update::Nothing)?;
    session.write_lock(&resolved)?;
    let _ = fs_err::remove_file(session.env.state.join(crate::reconcile::PULLED_STALE));
    Ok(LockReport {
        nodes: resolved.lock.nodes.len(),
        comfyui_commit: resolved.lock.comfyui.commit.to_string(),
    })
}
