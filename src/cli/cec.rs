//! `commit`, `remote add|list`, `push`, `pull [--apply]`: the `.cec` repository shared
//! between machines (see docs/gitops.md).

use super::args::{ApplyArgs, RemoteCommand};
use super::{ExitStatus, Globals};
use crate::cec::{self, PullOutcome};
use crate::plan::short;
use crate::resolve::Freshness;
use miette::{IntoDiagnostic, Result};

pub fn commit(g: &Globals, message: Option<&str>) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.writer(&ws, env, "commit")?;
    super::reconcile::report_recovery(&session.recovery);
    let message = message.unwrap_or("Edit .cec by hand");
    let done = cec::commit(&session.env, message)?;
    match &done.commit {
        Some(id) => outln!("Committed {} in {}: {message}", short(id), session.env.cec.display()),
        None => errln!("Nothing to commit: .cec has no changes."),
    }
    match done.freshness {
        Freshness::Fresh => {}
        Freshness::Missing => errln!("note: there is no lock yet; `comfydock lock` makes it."),
        Freshness::Stale(reason) => {
            errln!("note: the lock is out of date ({reason}); `comfydock lock` (or `apply`) updates it.")
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
            errln!("Remote {name} -> {stored}.");
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
                errln!("No remotes; `comfydock remote add URL` adds one.");
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
    errln!("Pushed {branch} to {remote}.");
    Ok(ExitStatus::Success)
}

pub fn pull(g: &Globals, remote: &str, apply: bool, test: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let outcome = {
        // The writer lock: no apply may read .cec while it moves.
        let session = g.writer(&ws, env, "pull")?;
        super::reconcile::report_recovery(&session.recovery);
        cec::pull(&session.env.cec, remote)?
    };
    match &outcome {
        PullOutcome::UpToDate => errln!("Already up to date with {remote}."),
        PullOutcome::Ahead => {
            errln!("Nothing to pull: this .cec has commits {remote} lacks (`comfydock push` sends them).")
        }
        PullOutcome::FastForwarded { from, to } => outln!(
            "Pulled {remote}: {} -> {}.",
            from.as_ref().map_or("(none)", |f| short(f.as_str())),
            short(to.as_str())
        ),
    }
    if let PullOutcome::FastForwarded { to, .. } = &outcome {
        mark_if_stale(g, to)?;
    }
    if !apply {
        if matches!(outcome, PullOutcome::FastForwarded { .. }) {
            errln!("`comfydock plan` shows what applying it changes; `comfydock apply --locked` applies it.");
        }
        return Ok(ExitStatus::Success);
    }
    // Exactly `apply --locked --yes`: the pulled lock is applied as reviewed, never re-resolved.
    super::reconcile::apply(
        g,
        &ApplyArgs {
            link_mode: Default::default(),
            planfile: None,
            yes: true,
            locked: true,
            frozen: false,
            place_models: false,
            rebuild: Vec::new(),
            rebuild_venv: false,
            torch_backend: None,
            test,
        },
    )
}

/// A pulled commit whose lock is out of date with its manifest is marked: `plan` and `apply`
/// will not resolve it (that runs the commit's build scripts) until the user runs `lock`.
fn mark_if_stale(g: &Globals, commit: &crate::types::GitCommit) -> Result<()> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let marker = session.env.state.join(crate::reconcile::PULLED_STALE);
    match session.freshness(&manifest)? {
        crate::resolve::Freshness::Fresh => {
            let _ = std::fs::remove_file(&marker);
        }
        _ => {
            crate::fsx::write_atomic(&marker, commit.as_str().as_bytes()).into_diagnostic()?;
            errln!(
                "warning: the pulled lock is out of date with its manifest; `plan` and `apply` will not resolve it (that runs the pulled commit's build scripts) until you review it and run `comfydock lock`."
            );
        }
    }
    Ok(())
}
