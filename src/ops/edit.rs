//! The one edit transaction of the desired state (`node`, `model`, `py`, `constraint`, workflow
//! tracking): save the edited manifest (and the `.cec` files the edit writes), lock, plan,
//! apply; on any failure the manifest, the locks and those files are put back as they were, as
//! `uv add` does, so a command that fails changes nothing. The edit is journaled
//! (`apply::edit_journal`): a command killed half-way is put back by the next writer session.

use crate::apply::Generation;
use crate::apply::edit_journal::EditJournal;
use crate::manifest::{LOCK_FILE, Manifest};
use crate::plan::{Action, Plan};
use crate::reconcile::{LockMode, Session};
use crate::resolve::{Resolved, Update};
use miette::{IntoDiagnostic, Result, miette};
use std::path::PathBuf;

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

/// Files of `.cec` an edit writes (Some: these bytes) or deletes (None), besides the manifest.
pub type FileEdits = [(PathBuf, Option<Vec<u8>>)];

/// How an edit's lock is made.
pub enum Relock {
    /// Resolve the manifest again, keeping the lock's pins except what `Update` names.
    Resolve(Update),
    /// The lock on disk, resolved again only where it no longer matches the manifest, and the
    /// tracked workflows re-pinned (workflow tracking).
    AsNeeded,
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
    transaction(session, manifest, &[], |session| match reach {
        Reach::Save => Ok(Edited::default()),
        Reach::Lock => {
            let resolved = session.resolve(manifest, &update)?;
            session.write_lock(&resolved)?;
            Ok(Edited::default())
        }
        Reach::Apply => lock_plan_apply(session, manifest, Relock::Resolve(update), message, hooks, on_plan),
    })
}

/// Writes `files` into `.cec` with `manifest`, then locks (as needed), plans and applies: the
/// edit of workflow tracking (`workflow track/sync/untrack/import`).
pub fn edit_files_and_apply(
    session: &mut Session,
    manifest: &Manifest,
    files: &FileEdits,
    message: &str,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<Edited> {
    let mut hooks = Hooks {
        prepare: &mut |_, _| Ok(()),
        leave_out: &|_| false,
    };
    transaction(session, manifest, files, |session| {
        lock_plan_apply(session, manifest, Relock::AsNeeded, message, &mut hooks, on_plan)
    })
}

fn lock_plan_apply(
    session: &mut Session,
    manifest: &Manifest,
    relock: Relock,
    message: &str,
    hooks: &mut Hooks,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<Edited> {
    let resolved = match relock {
        Relock::Resolve(update) => session.resolve(manifest, &update)?,
        Relock::AsNeeded => session.desired(manifest, LockMode::Resolve)?.resolved,
    };
    (hooks.prepare)(session, &resolved)?;
    let mut planned = session.plan(&resolved)?;
    planned.plan.leave_out(hooks.leave_out);
    on_plan(&planned.plan);
    let generation = session.apply(&resolved, &planned, message)?;
    if generation.is_none() {
        // Nothing on disk to change, but the desired state did: commit it, or the next `pull`
        // would find `.cec` dirty.
        crate::git::commit_all(&session.env.cec, message)?;
    }
    Ok(Edited {
        plan: Some(planned.plan),
        generation,
    })
}

/// The transaction: journal what the edit touches, write `files` and `manifest`, run `body`;
/// on failure put everything back. `.cec` is `pull`'s to fill, so no file is written or
/// deleted through a link in it.
fn transaction<T>(
    session: &mut Session,
    manifest: &Manifest,
    files: &FileEdits,
    body: impl FnOnce(&mut Session) -> Result<T>,
) -> Result<T> {
    let cec = session.env.cec.clone();
    for (path, _) in files {
        crate::fsx::no_link_between(&cec, path).into_diagnostic()?;
    }
    let touched: Vec<PathBuf> = [session.env.pyproject(), cec.join(LOCK_FILE), cec.join("uv.lock")]
        .into_iter()
        .chain(files.iter().map(|(p, _)| p.clone()))
        .collect();
    let live = crate::observe::Installed::load(&session.env.state)
        .into_diagnostic()?
        .generation;
    let journal = EditJournal::begin(&session.env.state, &cec, &session.command, live, &touched)
        .map_err(|e| miette!("could not journal the edit in {}: {e}", session.env.state.display()))?;
    let result = (|| -> Result<T> {
        for (path, bytes) in files {
            match bytes {
                Some(b) => {
                    crate::fsx::write_atomic(path, b).map_err(|e| miette!("could not write {}: {e}", path.display()))?
                }
                None => match fs_err::remove_file(path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(miette!("could not remove {}: {e}", path.display()));
                    }
                    _ => {}
                },
            }
        }
        manifest
            .save()
            .map_err(|e| miette!("could not write {}: {e}", manifest.path().display()))?;
        crate::apply::failpoint("edit-saved");
        body(session)
    })();
    match &result {
        Ok(_) => journal
            .finish()
            .map_err(|e| miette!("could not end the edit journal in {}: {e}", session.env.state.display()))?,
        // The edit's own error is what the user needs; what could not be put back is logged.
        Err(_) => match journal.undo() {
            Ok(failures) => failures.iter().for_each(|f| tracing::warn!("{f}")),
            Err(e) => tracing::warn!("could not end the edit journal: {e}"),
        },
    }
    result
}
