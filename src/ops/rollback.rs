//! Returning to an earlier generation, recorded as a new generation (`rollback`, and the switch
//! back after `apply --test` / `rollback --test` when a test fails): the generation's manifest,
//! locks and workflow files are restored, planned and applied; anything that fails or is
//! declined puts the desired state back as it was.

use crate::apply::Generation;
use crate::plan::Plan;
use crate::reconcile::Session;
use miette::{Result, miette};

/// Rolls back to generation `number` (None: the newest before the live one). `on_plan` sees the
/// target and the plan and says whether to go on; `note` ends the generation's message. Returns the target
/// and the generation made (None when nothing had to change).
pub fn roll_back(
    session: &mut Session,
    number: Option<u64>,
    note: &str,
    on_plan: &mut dyn FnMut(&Generation, &Plan) -> bool,
) -> Result<(Generation, Option<Generation>)> {
    let backup = session.backup_desired();
    let result = (|| -> Result<(Generation, Option<Generation>)> {
        let (target, resolved) = session.restore_generation(number)?;
        let planned = session.plan(&resolved)?;
        if !on_plan(&target, &planned.plan) {
            return Err(miette!(
                code = "comfydock::rollback::cancelled",
                "Rollback cancelled; nothing changed."
            ));
        }
        let message = match note {
            "" => format!("Rollback to generation {}", target.number),
            note => format!("Rollback to generation {} {note}", target.number),
        };
        // A generation that differs only in the desired state (which workflows are tracked: an
        // untracked one stays in ComfyUI) changes nothing on disk, and is still a rollback:
        // recorded as a generation, `.cec` committed.
        let desired_changed = !crate::git::cec::uncommitted_files(&session.env.cec)?.is_empty();
        let new = if desired_changed {
            session.apply_recorded(&resolved, &planned, &message)?
        } else {
            session.apply(&resolved, &planned, &message)?
        };
        Ok((target, new))
    })();
    if result.is_err() {
        backup.restore();
    }
    result
}
