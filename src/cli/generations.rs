//! `log`, `rollback`, `recover`, `gc`.

use super::reconcile::report_recovery;
use super::ui::confirm;
use super::{ExitStatus, Globals};
use crate::apply::{gc as collect, generations};
use crate::ops::generations::TimelineEntry;
use crate::plan::render_text;
use miette::{Result, miette};

pub fn log(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (_ws, env) = g.env()?;
    let report = crate::ops::generations::log(&env)?;
    if json {
        super::print_report_sorted(&report);
        return Ok(ExitStatus::Success);
    }
    if report.generations.is_empty() {
        errln!(g.printer, "No generations yet.");
    }
    for entry in &report.timeline {
        match entry {
            TimelineEntry::Generation(g) => {
                let mark = if g.current { "*" } else { " " };
                let commit = g.cec_commit.as_deref().map(crate::plan::short).unwrap_or("-");
                let compacted = if g.compacted { "  [compacted]" } else { "" };
                outln!(
                    "{mark} {:>3}  {}  {commit}  {} ({} change(s)){compacted}",
                    g.number,
                    generations::format_time(g.created),
                    g.summary,
                    g.action_count
                );
            }
            TimelineEntry::Commit(c) => outln!(
                "    -  {}  {}  {} (.cec commit, not applied)",
                generations::format_time(u64::try_from(c.time).unwrap_or(0)),
                crate::plan::short(&c.commit),
                c.summary
            ),
        }
    }
    Ok(ExitStatus::Success)
}

pub fn rollback(g: &Globals, generation: Option<u64>, yes: bool, test: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "rollback")?;
    report_recovery(g.printer, &session.recovery);
    let mut declined = None;
    let mut on_plan = |target: &crate::apply::Generation, plan: &crate::plan::Plan| {
        out!("{}", render_text(plan));
        if plan.is_empty() {
            return true;
        }
        match confirm(
            g.printer,
            &format!("\nRoll back to generation {}?", target.number),
            yes,
            "rollback",
        ) {
            Ok(true) => true,
            Ok(false) => false,
            Err(e) => {
                declined = Some(e);
                false
            }
        }
    };
    match crate::ops::rollback::roll_back(&mut session, generation, "", &mut on_plan) {
        Ok((target, Some(new))) => outln!(
            "\nRolled back to generation {} (recorded as generation {}).",
            target.number,
            new.number
        ),
        Ok((_, None)) => {}
        Err(e) => {
            if let Some(e) = declined {
                return Err(e.into());
            }
            if e.code()
                .is_some_and(|c| c.to_string() == "comfydock::rollback::cancelled")
            {
                errln!(g.printer, "Rollback cancelled; nothing changed.");
                return Ok(ExitStatus::Failure);
            }
            return Err(e);
        }
    }
    if test {
        return super::test::after_switch(g.printer, &ws, &mut session);
    }
    Ok(ExitStatus::Success)
}

pub fn recover(g: &Globals) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.writer(&ws, env, "recover")?;
    match session.recovery {
        crate::apply::Recovery::Nothing => errln!(g.printer, "Nothing to recover."),
        ref other => report_recovery(g.printer, other),
    }
    Ok(ExitStatus::Success)
}

pub fn gc(g: &Globals, keep: usize, dry_run: bool, json: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let report = match ws.select_env(g.env.as_deref()) {
        Ok(env) => {
            let session = g.writer(&ws, env, "gc")?;
            report_recovery(g.printer, &session.recovery);
            collect::gc(&ws, &session.env, keep, dry_run, &g.reporter)
        }
        // No environment (none yet, or none selected): the workspace's own scratch still goes.
        Err(_) if g.env.is_none() => collect::gc_workspace(&ws, dry_run, &g.reporter),
        Err(e) => return Err(e.into()),
    }
    .map_err(|e| miette!(code = "comfydock::gc::failed", "gc failed: {e}"))?;
    if json {
        super::print_report(&report);
        return Ok(ExitStatus::Success);
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for item in &report.removed {
        outln!("{verb} {item}");
    }
    let shared = report.apparent_bytes.saturating_sub(report.freed_bytes);
    let note = if shared > 0 {
        format!(
            " ({} more is shared with uv's cache or other generations and stays)",
            crate::plan::human_size(shared)
        )
    } else {
        String::new()
    };
    outln!(
        "{} {}{note}.",
        if dry_run { "Would free" } else { "Freed" },
        crate::plan::human_size(report.freed_bytes)
    );
    Ok(ExitStatus::Success)
}
