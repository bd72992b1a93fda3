//! `log`, `rollback`, `recover`, `gc`.

use super::reconcile::report_recovery;
use super::ui::confirm;
use super::{ExitStatus, Globals};
use crate::apply::{gc as collect, generations};
use crate::observe::Installed;
use crate::plan::render_text;
use miette::{Result, miette};

pub fn log(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (_ws, env) = g.env()?;
    let read_err = |e| miette!("could not read generations: {e}");
    let gens = generations::index(&env.state).map_err(read_err)?.generations;
    let live = Installed::load(&env.state).map(|i| i.generation).unwrap_or(0);
    // .cec commits no generation applied (pulled, or committed by hand), in history order.
    let history = crate::git::cec::history(&env.cec, CEC_HISTORY_LIMIT).unwrap_or_default();
    let timeline = crate::cec::timeline(&gens, &history);
    if json {
        let mut rows = Vec::new();
        for g in gens.iter().rev() {
            // The action lines are in the full record; a compacted generation has only its count.
            let actions = match g.compacted {
                true => Vec::new(),
                false => generations::read(&env.state, g.number)
                    .map_err(read_err)?
                    .map(|r| r.actions)
                    .unwrap_or_default(),
            };
            rows.push(serde_json::json!({
                "number": g.number,
                "created": g.created,
                "cec_commit": g.cec_commit,
                "summary": g.summary,
                "actions": actions,
                "action_count": g.actions,
                "compacted": g.compacted,
                "current": g.number == live,
            }));
        }
        let commits: Vec<_> = timeline
            .iter()
            .filter_map(|e| match e {
                crate::cec::LogEntry::Commit(c) => Some(serde_json::json!({
                    "commit": c.id.as_str(),
                    "time": c.time,
                    "summary": c.summary,
                })),
                crate::cec::LogEntry::Generation(_) => None,
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "format_version": "1",
                "generations": rows,
                "unapplied_cec_commits": commits,
            }))
            .expect("serializable")
        );
        return Ok(ExitStatus::Success);
    }
    if gens.is_empty() {
        errln!("No generations yet.");
    }
    for entry in &timeline {
        match entry {
            crate::cec::LogEntry::Generation(g) => {
                let mark = if g.number == live { "*" } else { " " };
                let commit = g.cec_commit.as_deref().map(crate::plan::short).unwrap_or("-");
                let compacted = if g.compacted { "  [compacted]" } else { "" };
                outln!(
                    "{mark} {:>3}  {}  {commit}  {} ({} change(s)){compacted}",
                    g.number,
                    generations::format_time(g.created),
                    g.summary,
                    g.actions
                );
            }
            crate::cec::LogEntry::Commit(c) => outln!(
                "    -  {}  {}  {} (.cec commit, not applied)",
                generations::format_time(u64::try_from(c.time).unwrap_or(0)),
                crate::plan::short(c.id.as_str()),
                c.summary
            ),
        }
    }
    Ok(ExitStatus::Success)
}

/// How far back `log` reads the .cec history for commits no generation applied.
const CEC_HISTORY_LIMIT: usize = 200;

pub fn rollback(g: &Globals, generation: Option<u64>, yes: bool, test: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "rollback")?;
    report_recovery(&session.recovery);
    let mut declined = None;
    let mut on_plan = |target: &crate::apply::Generation, plan: &crate::plan::Plan| {
        out!("{}", render_text(plan));
        if plan.is_empty() {
            return true;
        }
        match confirm(
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
                errln!("Rollback cancelled; nothing changed.");
                return Ok(ExitStatus::Failure);
            }
            return Err(e);
        }
    }
    if test {
        return super::test::after_switch(&ws, &mut session);
    }
    Ok(ExitStatus::Success)
}

pub fn recover(g: &Globals) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.writer(&ws, env, "recover")?;
    match session.recovery {
        crate::apply::Recovery::Nothing => errln!("Nothing to recover."),
        ref other => report_recovery(other),
    }
    Ok(ExitStatus::Success)
}

pub fn gc(g: &Globals, keep: usize, dry_run: bool, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.writer(&ws, env, "gc")?;
    report_recovery(&session.recovery);
    let report = collect::gc(&ws, &session.env, keep, dry_run).map_err(|e| miette!("gc failed: {e}"))?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report).map_err(|e| miette!("{e}"))?);
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
