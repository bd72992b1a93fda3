//! `commit`, `remote add|list`, `push`, `pull [--apply]`: the `.cec` repository shared
//! between machines (see docs/gitops.md).

use super::args::RemoteCommand;
use super::{ExitStatus, Globals};
use crate::cec::{self, PullOutcome};
use crate::plan::short;
use crate::reconcile::LockMode;
use crate::resolve::Freshness;
use miette::Result;

pub fn commit(g: &Globals, message: Option<&str>) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.writer(&ws, env, "commit")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let message = message.unwrap_or("Edit .cec by hand");
    let done = cec::commit(&session.env, message)?;
    match &done.commit {
        Some(id) => outln!("Committed {} in {}: {message}", short(id), session.env.cec.display()),
        None => errln!(g.printer, "Nothing to commit: .cec has no changes."),
    }
    match done.freshness {
        Freshness::Fresh => {}
        Freshness::Missing => errln!(g.printer, "note: there is no lock yet; `comfydock lock` makes it."),
        Freshness::Stale(reason) => {
            errln!(
                g.printer,
                "note: the lock is out of date ({reason}); `comfydock lock` (or `apply`) updates it."
            )
        }
    }
    Ok(ExitStatus::Success)
}

pub fn remote(g: &Globals, cmd: &RemoteCommand) -> Result<ExitStatus> {
    let (_ws, env) = g.env()?;
    match cmd {
        RemoteCommand::Add { first, second } => {
            let (name, url) = match second {
                Some(url) => (first.as_str(), url.as_str()),
                None => ("origin", first.as_str()),
            };
            let url: crate::types::RepoUrl = super::typed(url)?;
            let stored = cec::add_remote(&env.cec, name, &url)?;
            errln!(g.printer, "Remote {name} -> {stored}.");
        }
        RemoteCommand::List { json } => {
            let remotes = cec::remotes(&env.cec)?;
            if *json {
                let rows: Vec<_> = remotes
                    .iter()
                    .map(|(n, u)| serde_json::json!({ "name": n, "url": u }))
                    .collect();
                super::print_report(&serde_json::json!({ "remotes": rows }));
            } else if remotes.is_empty() {
                errln!(g.printer, "No remotes; `comfydock remote add URL` adds one.");
            } else {
                for (name, url) in remotes {
                    outln!("{name}\t{url}");
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}

pub fn push(g: &Globals, remote: &str) -> Result<ExitStatus> {
    let (_ws, env) = g.env()?;
    let branch = cec::push(&env.cec, remote)?;
    errln!(g.printer, "Pushed {branch} to {remote}.");
    Ok(ExitStatus::Success)
}

pub fn pull(g: &Globals, remote: &str, apply: bool, test: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "pull")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let pulled = crate::ops::pull::pull(&session, remote)?;
    match &pulled.outcome {
        PullOutcome::UpToDate => errln!(g.printer, "Already up to date with {remote}."),
        PullOutcome::Ahead => {
            errln!(
                g.printer,
                "Nothing to pull: this .cec has commits {remote} lacks (`comfydock push` sends them)."
            )
        }
        PullOutcome::FastForwarded { from, to } => outln!(
            "Pulled {remote}: {} -> {}.",
            from.as_ref().map_or("(none)", |f| short(f.as_str())),
            short(to.as_str())
        ),
    }
    if pulled.lock_stale {
        errln!(
            g.printer,
            "warning: the pulled lock is out of date with its manifest; `plan` and `apply` will not resolve it (that runs the pulled commit's build scripts) until you review it and run `comfydock lock`."
        );
    }
    if !apply {
        if matches!(pulled.outcome, PullOutcome::FastForwarded { .. }) {
            errln!(
                g.printer,
                "`comfydock plan` shows what applying it changes; `comfydock apply --locked` applies it."
            );
        }
        return Ok(ExitStatus::Success);
    }
    // Exactly `apply --locked --yes`, in the same writer session: the pulled lock is applied as
    // reviewed, never re-resolved, and nothing can move `.cec` in between.
    super::reconcile::apply_surveyed(g.printer, &ws, &mut session, LockMode::Locked, true, test)
}
