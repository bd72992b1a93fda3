//! `comfydock commit`: hand edits of `.cec/` become a commit only when the manifest and the lock
//! still parse into their typed values, so a broken file never reaches the shared history.

use super::Result;
use crate::manifest::{LOCK_FILE, Lock, Manifest};
use crate::resolve::Freshness;
use crate::workspace::EnvPaths;

pub struct Committed {
    /// The new commit, or None when there was nothing to commit.
    pub commit: Option<crate::types::GitCommit>,
    /// Whether the lock matches the committed manifest.
    pub freshness: Freshness,
}

/// Checks the manifest and lock of `env`, then commits every change of `.cec/` with `message`.
pub fn commit(env: &EnvPaths, message: &str) -> Result<Committed> {
    let manifest = Manifest::load(&env.pyproject())?;
    let lock = Lock::load(&env.cec.join(LOCK_FILE))?;
    let uv_lock = fs_err::read(env.cec.join("uv.lock")).ok();
    let freshness = crate::resolve::freshness(&manifest, lock.as_ref(), uv_lock.as_deref());
    let before = crate::git::head_commit(&env.cec)?;
    let after = crate::git::commit_all(&env.cec, message)?;
    let new = before.is_none_or(|b| b != after);
    Ok(Committed {
        commit: new.then_some(after),
        freshness,
    })
}
