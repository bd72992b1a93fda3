//! Saved plans (`plan --out FILE`, `apply FILE`): the plan a reviewer approved, with the lock it
//! was made from, applied exactly or not at all.

use crate::manifest::Lock;
use crate::plan::{SavedPlan, SavedPlanError};
use crate::reconcile::{Desired, Planned, Session};
use crate::resolve::Resolved;
use miette::Result;
use std::path::Path;

/// Writes the plan `planned` (shown as `json`) to `out` with what it was made from.
pub fn save<A>(
    session: &Session<'_, A>,
    desired: &Desired,
    planned: &Planned,
    json: serde_json::Value,
    out: &Path,
) -> Result<()> {
    let mut saved = SavedPlan::new(
        &session.env.name,
        &planned.fingerprint,
        desired.resolved.lock.render(),
        String::from_utf8_lossy(&desired.resolved.uv_lock).into_owned(),
        json,
    );
    saved.torch_backend = planned.torch_backend.clone();
    saved.link_mode = Some(session.link_mode);
    saved.pyproject = desired.resolved.pyproject.clone();
    crate::fsx::write_atomic(out, saved.to_json().as_bytes()).map_err(|e| {
        miette::miette!(
            code = "comfydock::plan::write",
            "could not write {}: {e}",
            out.display()
        )
    })
}

/// The saved plan at `path`, planned again against the disk now: refused when it was made for
/// another environment or from another state than the one it would now apply to. The
/// session takes the plan's torch backend and link mode.
pub fn load(session: &mut Session, path: &Path) -> Result<(Resolved, Planned)> {
    let saved = SavedPlan::load(path).map_err(|e| miette::Report::new(*e))?;
    if saved.environment != session.env.name {
        return Err(SavedPlanError::WrongEnvironment {
            planned: saved.environment,
            actual: session.env.name.clone(),
        }
        .into());
    }
    let lock = Lock::parse(path, &saved.lock)?;
    let resolved = Resolved {
        lock,
        uv_lock: saved.uv_lock.into_bytes(),
        pyproject: saved.pyproject.clone(),
    };
    session.torch_backend = saved.torch_backend.clone();
    session.link_mode = saved.link_mode.unwrap_or_default();
    let planned = session.plan(&resolved)?;
    if planned.fingerprint != saved.fingerprint {
        return Err(SavedPlanError::Stale.into());
    }
    Ok((resolved, planned))
}
