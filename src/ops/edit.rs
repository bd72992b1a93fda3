//! The one edit transaction of the desired state (`node`, `model`, `py`, `constraint`, workflow
//! tracking): save the edited manifest, lock, plan, apply; on any failure the manifest and the
//! locks are put back as they were, as `uv add` does, so a command that fails changes nothing.

use crate::apply::Generation;
use crate::manifest::Manifest;
use crate::plan::{Action, Plan};
use crate::reconcile::Session;
use crate::resolve::{Resolved, Update};
use miette::{Result, miette};

/// How far an edit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Save the manifest only (`--no-apply`): the next `lock` or `apply` takes it from there.
    Save,
    /// Save and lock, without applying (`node update --no-apply`: resolving is its point).
    Lock,
    /// Save, lock, plan and apply.
    Apply,
}

impl Reach {
    /// `--no-apply` as given on the command line.
    pub fn unless(no_apply: bool) -> Reach {
        if no_apply { Reach::Save } else { Reach::Apply }
    }
}

/// What an edit did: the plan it applied (None unless it reached the apply) and the generation
/// it made (None when the plan was empty).
#[derive(Debug, Default)]
pub struct Edited {
    pub plan: Option<Plan>,
    pub generation: Option<Generation>,
}

/// Saves `manifest`, then as far as `reach` says locks, plans, hands the plan to `on_plan` and
/// applies it. Any failure puts the manifest and the locks back.
pub fn edit_and_apply(
    session: &mut Session,
    manifest: &Manifest,
    update: Update,
    reach: Reach,
    message: &str,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<Edited> {
    let mut hooks = Hooks {
        prepare: &mut |_, _| Ok(()),
        leave_out: &|_| false,
    };
    edit_and_apply_with(session, manifest, update, reach, message, &mut hooks, on_plan)
}

/// What an edit may add to the transaction.
pub struct Hooks<'a> {
    /// Runs once the new lock is resolved, before the plan is made (`node adopt` checks the
    /// folder against the locked tree there and records it as installed). Whatever it writes
    /// besides the desired state it must put back itself when the edit fails.
    pub prepare: &'a mut dyn FnMut(&Session, &Resolved) -> Result<()>,
    /// Actions this edit leaves out of its plan; the next `apply` still has them.
    pub leave_out: &'a dyn Fn(&Action) -> bool,
}

/// [`edit_and_apply`] with [`Hooks`].
pub fn edit_and_apply_with(
    session: &mut Session,
    manifest: &Manifest,
    update: Update,
    reach: Reach,
    message: &str,
    hooks: &mut Hooks,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<Edited> {
    let backup = session.backup_desired();
    let result = (|| -> Result<Edited> {
        manifest
            .save()
            .map_err(|e| miette!("could not write {}: {e}", manifest.path().display()))?;
        if reach == Reach::Save {
            return Ok(Edited::default());
        }
        let resolved = session.resolve(manifest, &update)?;
        if reach == Reach::Lock {
            session.write_lock(&resolved)?;
            return Ok(Edited::default());
        }
        (hooks.prepare)(session, &resolved)?;
        let mut planned = session.plan(&resolved)?;
        planned.plan.leave_out(hooks.leave_out);
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
