//! The one edit transaction of the desired state (`node`, `model`, `py`, `constraint`, workflow
//! tracking): save the edited manifest, lock, plan, apply; on any failure the manifest and the
//! locks are put back as they were, as `uv add` does, so a command that fails changes nothing.

use crate::apply::Generation;
use crate::manifest::Manifest;
use crate::plan::Plan;
use crate::reconcile::Session;
use crate::resolve::Update;
use miette::{Result, miette};

/// What an edit did: the plan it applied (None under `no_apply`) and the generation it made
/// (None when the plan was empty).
#[derive(Debug, Default)]
pub struct Edited {
    pub plan: Option<Plan>,
    pub generation: Option<Generation>,
}

/// Saves `manifest`, then (unless `no_apply`) locks, plans, hands the plan to `on_plan` and
/// applies it. Any failure puts the manifest and the locks back.
pub fn edit_and_apply(
    session: &mut Session,
    manifest: &Manifest,
    update: Update,
    no_apply: bool,
    message: &str,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<Edited> {
    let backup = session.backup_desired();
    let result = (|| -> Result<Edited> {
        manifest
            .save()
            .map_err(|e| miette!("could not write {}: {e}", manifest.path().display()))?;
        if no_apply {
            return Ok(Edited::default());
        }
        let resolved = session.resolve(manifest, &update)?;
        let planned = session.plan(&resolved)?;
        on_plan(&planned.plan);
        let generation = session.apply(&resolved, &planned, message)?;
        if generation.is_none() {
            // Nothing on disk to change, but the desired state did: commit it.
            crate::git::commit_all(&session.env.cec, message)?;
        }
        Ok(Edited {
            plan: Some(planned.plan),
            generation,
        })
    })();
    if result.is_err() {
        backup.restore();
    }
    result
}
