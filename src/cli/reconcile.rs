//! `lock`, `plan`, `apply`, `status`.

use super::args::{ApplyArgs, PlanArgs, PlanFormat};
use super::printer::Printer;
use super::ui::confirm;
use super::{ExitStatus, Globals};
use crate::apply::Recovery;
use crate::apply::edit_journal::EditRecovery;
use crate::plan::{render_json, render_text};
use crate::reconcile::LockMode;
use crate::resolve::Freshness;
use miette::{IntoDiagnostic, Result};

pub fn lock(g: &Globals, check: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    if check {
        let session = g.reader(&ws, env);
        return Ok(match crate::ops::lock::check(&session)? {
            Freshness::Fresh => {
                errln!(g.printer, "The lock is up to date.");
                ExitStatus::Success
            }
            Freshness::Missing => {
                errln!(g.printer, "There is no lock yet; run `comfydock lock`.");
                ExitStatus::Failure
            }
            Freshness::Stale(reason) => {
                errln!(g.printer, "The lock is out of date: {reason}. Run `comfydock lock`.");
                ExitStatus::Failure
            }
        });
    }
    let mut session = g.writer(&ws, env, "lock")?;
    report_recovery(g.printer, &session.recovery);
    let report = crate::ops::lock::lock(&mut session)?;
    errln!(
        g.printer,
        "Locked {} node(s), ComfyUI {}.",
        report.nodes,
        crate::plan::short(&report.comfyui_commit)
    );
    Ok(ExitStatus::Success)
}

pub fn plan(g: &Globals, args: &PlanArgs) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.reader(&ws, env);
    session.torch_backend = super::environments::chosen_backend(g.printer, args.torch_backend.as_deref())?;
    session.link_mode = args.link_mode;
    let (desired, planned) = session.survey(LockMode::Resolve)?;
    let json = render_json(&planned.plan, desired.status, &planned.fingerprint);
    let format = match (args.json, args.format) {
        (true, _) => PlanFormat::Json,
        (false, format) => format.unwrap_or(PlanFormat::Text),
    };
    match format {
        PlanFormat::Json => outln!("{}", serde_json::to_string_pretty(&json).expect("serializable")),
        PlanFormat::Markdown => out!("{}", crate::plan::render_markdown(&planned.plan, desired.status)),
        PlanFormat::Text => {
            if desired.status == "updated" {
                outln!("The manifest changed since the last lock; apply will update comfydock.lock.\n");
            }
            out!("{}", render_text(&planned.plan));
        }
    }
    if let Some(out) = &args.out {
        crate::ops::saved_plan::save(&session, &desired, &planned, json, out)?;
        errln!(
            g.printer,
            "Saved the plan to {}; `comfydock apply {}` applies exactly this plan.",
            out.display(),
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && !planned.plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

pub fn apply(g: &Globals, args: &ApplyArgs) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "apply")?;
    report_recovery(g.printer, &session.recovery);
    session.torch_backend = super::environments::chosen_backend(g.printer, args.torch_backend.as_deref())?;
    session.link_mode = args.link_mode;
    session.place_models = args.place_models;
    session.rebuild = args.rebuild.clone();
    session.rebuild_venv = args.rebuild_venv;
    let Some(path) = &args.planfile else {
        let mode = if args.frozen {
            LockMode::Frozen
        } else if args.locked {
            LockMode::Locked
        } else {
            LockMode::Resolve
        };
        return apply_surveyed(g.printer, &ws, &mut session, mode, args.yes, args.test);
    };
    let (resolved, planned) = crate::ops::saved_plan::load(&mut session, path)?;
    let applied = applied(g.printer, &ws, &mut session, &resolved, &planned, args.test)?;
    if applied.is_none() {
        outln!("No changes.");
    }
    Ok(applied.unwrap_or(ExitStatus::Success))
}

/// Plans against the disk under `mode`, shows the plan, asks (unless `yes`) and applies; with
/// `test`, the tracked workflows are run on the new generation (see `test::after_switch`).
pub(super) fn apply_surveyed(
    p: Printer,
    ws: &crate::workspace::Workspace,
    session: &mut crate::reconcile::Session,
    mode: LockMode,
    yes: bool,
    test: bool,
) -> Result<ExitStatus> {
    let (desired, planned) = session.survey(mode)?;
    out!("{}", render_text(&planned.plan));
    if planned.plan.has_work() && !confirm(p, "\nApply these changes?", yes, "apply")? {
        errln!(p, "Apply cancelled; nothing changed.");
        return Ok(ExitStatus::Failure);
    }
    let broken = planned.plan.broken_workflows();
    if planned.plan.has_work()
        && !broken.is_empty()
        && !confirm(
            p,
            &format!(
                "This removes what tracked workflows need ({}). Apply anyway?",
                broken.join(", ")
            ),
            yes,
            "apply",
        )?
    {
        errln!(p, "Apply cancelled; nothing changed.");
        return Ok(ExitStatus::Failure);
    }
    Ok(applied(p, ws, session, &desired.resolved, &planned, test)?.unwrap_or(ExitStatus::Success))
}

/// Applies `planned` and says what it did; None when there was nothing to do.
fn applied(
    p: Printer,
    ws: &crate::workspace::Workspace,
    session: &mut crate::reconcile::Session,
    resolved: &crate::resolve::Resolved,
    planned: &crate::reconcile::Planned,
    test: bool,
) -> Result<Option<ExitStatus>> {
    let summary = planned.plan.summary();
    let message = crate::ops::apply::message(&planned.plan);
    let Some(generation) = session.apply(resolved, planned, &message)? else {
        return Ok(None);
    };
    outln!(
        "\nApply complete: generation {}. {} added, {} changed, {} destroyed.",
        generation.number,
        summary.add,
        summary.change,
        summary.destroy
    );
    let broken = planned.plan.broken_workflows();
    if !broken.is_empty() {
        outln!(
            "Applied although it breaks tracked workflows: {} (they require a node pack or model this apply removed).",
            broken.join(", ")
        );
    }
    report_trash(p, &session.env, generation.number);
    if test {
        return super::test::after_switch(p, ws, session).map(Some);
    }
    Ok(Some(ExitStatus::Success))
}

pub fn verify(g: &Globals, models: bool, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let Some(lock) = session.lock_on_disk()? else {
        return Err(miette::miette!(
            code = "comfydock::verify::no_lock",
            help = "run `comfydock lock` first",
            "the environment has no lock to verify against"
        ));
    };
    let installed = crate::observe::Installed::load(&session.env.state).into_diagnostic()?;
    let report = crate::reconcile::verify(&ws, &session.env, &lock, &installed, models).into_diagnostic()?;
    if json {
        super::print_report(&report);
    } else {
        for p in &report.problems {
            outln!("{}: {}", p.subject, p.detail);
        }
        errln!(
            g.printer,
            "Verified {} item(s): {}.",
            report.checked,
            match report.problems.len() {
                0 => "everything matches the lock".to_string(),
                n => format!("{n} problem(s)"),
            }
        );
    }
    Ok(if report.problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

pub fn status(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let report = crate::ops::status::status(&session)?;
    if json {
        super::print_report_sorted(&report);
        return Ok(ExitStatus::Success);
    }
    outln!("Environment: {} ({})", report.environment, report.root.display());
    outln!("Generation:  {}", report.generation);
    outln!("Lock:        {}", report.lock);
    match &report.pending {
        Some(_) if report.in_sync => outln!("State:       in sync"),
        Some(s) => outln!(
            "State:       {} to add, {} to change, {} to destroy (`comfydock plan` shows them)",
            s.add,
            s.change,
            s.destroy
        ),
        None => outln!("State:       unknown until the environment is locked"),
    }
    if report.skipped_models > 0 {
        outln!(
            "Models:      {} not placed on this machine (`comfydock apply --place-models` places them)",
            report.skipped_models
        );
    }
    for line in &report.drift {
        outln!("  drift: {line}");
    }
    Ok(ExitStatus::Success)
}

/// Names what the apply of `generation` moved to the trash (replaced folders with a user's
/// edits, untracked folders, ComfyUI files edited by hand): nothing is lost, and this says where.
pub(super) fn report_trash(p: Printer, env: &crate::workspace::EnvPaths, generation: u64) {
    let dir = env.state.join("trash").join(generation.to_string());
    let Ok(read) = std::fs::read_dir(&dir) else { return };
    let mut names: Vec<String> = read
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        errln!(p, "Kept what was replaced: .comfydock/trash/{generation}/{name}");
    }
}

pub(super) fn report_recovery(p: Printer, recovery: &Recovery) {
    match recovery {
        Recovery::Nothing => {}
        // No step count: recovery also undoes steps that never announced themselves (their undo
        // is a no-op when they never ran), so a count would overstate what had happened.
        Recovery::RolledBack {
            generation, failures, ..
        } if failures.is_empty() => errln!(
            p,
            "Recovered from an interrupted apply of generation {generation}: undid what it had done; the environment is as it was before."
        ),
        Recovery::RolledBack {
            generation, failures, ..
        } => {
            errln!(
                p,
                "warning: recovered from an interrupted apply of generation {generation}, but {} step(s) could not be undone:",
                failures.len()
            );
            for f in failures {
                errln!(p, "  {f}");
            }
            errln!(
                p,
                "  (the journal is kept as .comfydock/journal.failed-{generation}.jsonl; `comfydock plan` shows what to repair)"
            );
        }
        Recovery::Completed { generation } => {
            errln!(
                p,
                "Recovered from an interrupted apply: generation {generation} was complete."
            )
        }
        Recovery::Edit { edit, apply } => {
            report_recovery(p, apply);
            match edit {
                EditRecovery::Complete { command } => {
                    errln!(
                        p,
                        "Recovered from an interrupted `{command}`: its apply had finished; nothing to undo."
                    )
                }
                EditRecovery::Undone { command, failures } if failures.is_empty() => {
                    errln!(
                        p,
                        "Recovered from an interrupted `{command}`: .cec is as it was before it."
                    )
                }
                EditRecovery::Undone { command, failures } => {
                    errln!(
                        p,
                        "warning: recovered from an interrupted `{command}`, but {} file(s) of .cec could not be put back:",
                        failures.len()
                    );
                    for f in failures {
                        errln!(p, "  {f}");
                    }
                }
            }
        }
    }
}
