//! `run --locked`: a fleet worker starts ComfyUI only when the environment is exactly what its
//! lock (the reviewed state) says: the lock is current for the manifest, and the plan from it
//! is empty (no drift on disk).

use super::{ReconcileError, Result, Session};
use crate::manifest::Manifest;
use crate::resolve::{Freshness, Resolved};

/// Ok when the environment matches its lock; otherwise why not, with the plan's summary.
pub fn check_locked<A>(session: &Session<'_, A>, manifest: &Manifest) -> Result<()> {
    let refuse = |reason: String, fix: &str| ReconcileError::NotAsLocked {
        reason,
        fix: fix.to_string(),
    };
    match session.freshness(manifest)? {
        Freshness::Fresh => {}
        Freshness::Missing => {
            return Err(refuse(
                "the environment has no lock".into(),
                "run `comfydock lock` and `comfydock apply`, and commit the lock",
            ));
        }
        Freshness::Stale(reason) => {
            return Err(refuse(
                format!("the lock is out of date ({reason})"),
                "the manifest was edited after locking: run `comfydock lock` and review the plan, or restore the manifest the lock was made from",
            ));
        }
    }
    let lock = session.lock_on_disk()?.ok_or(ReconcileError::NoLock)?;
    let uv_lock = fs_err::read(session.env.cec.join("uv.lock")).map_err(|_| ReconcileError::NoUvLock)?;
    let planned = session.plan(&Resolved {
        lock,
        uv_lock,
        pyproject: None,
    })?;
    if planned.plan.is_empty() {
        return Ok(());
    }
    let s = planned.plan.summary();
    let lines: Vec<String> = planned
        .plan
        .actions
        .iter()
        .map(|a| format!("{} {}", a.kind().symbol(), a.describe()))
        .collect();
    Err(refuse(
        format!(
            "the environment differs from its lock ({} to add, {} to change, {} to destroy)",
            s.add, s.change, s.destroy
        ),
        &format!(
            "apply would:\n  {}\nrun `comfydock apply --locked` to make it match the lock (`comfydock plan` shows the details)",
            lines.join("\n  ")
        ),
    ))
}
