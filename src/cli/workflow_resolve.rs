//! `workflow resolve NAME [--auto] [--json]` (and `--file`): shows what `ops::workflow_resolve`
//! proposes and applies it. Several packs for one node type: a prompt on a terminal, the best
//! ranked with `--auto`, else the choices are listed and nothing changes.

use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::ops::workflow_resolve::{self, Decide, Target};
use miette::{Result, miette};
use std::io::IsTerminal;

/// Which workflow `workflow resolve` reads, as the command line names it.
pub enum Named<'a> {
    Tracked(&'a str),
    File(&'a std::path::Path),
}

pub fn resolve(g: &Globals, named: Named, auto: bool, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow resolve")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let tracked;
    let target = match named {
        Named::Tracked(raw) => {
            tracked = super::workflow_track::parse_name(raw)?;
            Target::Tracked(&tracked)
        }
        Named::File(path) => Target::File(path),
    };
    let p = g.printer;
    let mut ask = |node_type: &str, packs: &[String]| choose(p, node_type, packs);
    let decide = if auto {
        Decide::Best
    } else if !json && std::io::stdin().is_terminal() {
        Decide::Ask(&mut ask)
    } else {
        Decide::Leave
    };
    let resolve = workflow_resolve::propose(&session, target, decide)?;
    let proposal = &resolve.proposal;
    let name = proposal.workflow.clone();
    if json {
        super::print_report(proposal);
    }
    if !proposal.is_decided() {
        if !json {
            for c in &proposal.choices {
                errln!(g.printer, "{}: provided by several packs:", c.node_type);
                for cand in &c.candidates {
                    errln!(g.printer, "  {} ({})", cand.pack, cand.reason);
                }
            }
            for u in &proposal.unresolved {
                errln!(g.printer, "cannot resolve {u}");
            }
        }
        errln!(
            g.printer,
            "Nothing changed.{}",
            if proposal.choices.is_empty() {
                ""
            } else {
                " Pass --auto to take the best ranked pack, or run it on a terminal to choose."
            }
        );
        return Ok(ExitStatus::Failure);
    }
    if json {
        return Ok(ExitStatus::Success);
    }
    if proposal.is_empty() {
        errln!(g.printer, "`{name}` needs nothing the manifest does not declare.");
        return Ok(ExitStatus::Success);
    }
    for n in &proposal.nodes {
        errln!(g.printer, "node {} for {}", n.id, n.node_type);
        if !n.candidates.is_empty() {
            let others: Vec<String> = n
                .candidates
                .iter()
                .map(|c| format!("{} ({})", c.pack, c.reason))
                .collect();
            errln!(
                g.printer,
                "  {} packs provide {}; chose {} ({}) over {}",
                n.candidates.len() + 1,
                n.node_type,
                n.id,
                n.reason,
                others.join(", ")
            );
        }
    }
    for m in &proposal.models {
        errln!(g.printer, "model {} for {}", m.key, m.path);
    }
    workflow_resolve::apply(&mut session, resolve, &mut super::edit::show_plan)?;
    errln!(g.printer, "Resolved what `{name}` needs.");
    Ok(ExitStatus::Success)
}

fn choose(p: Printer, node_type: &str, packs: &[String]) -> Result<String> {
    use std::io::{BufRead, Write};
    errln!(p, "{node_type} is provided by several packs:");
    for (i, pack) in packs.iter().enumerate() {
        errln!(p, "  {}) {pack}", i + 1);
    }
    err!(p, "Which one? [1-{}, default 1] ", packs.len());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(packs.first().cloned().unwrap_or_default());
    }
    answer
        .parse::<usize>()
        .ok()
        .and_then(|i| packs.get(i.checked_sub(1)?))
        .cloned()
        .ok_or_else(|| {
            miette!(
                code = "comfydock::workflow::bad_choice",
                "`{answer}` is not one of the choices; nothing changed"
            )
        })
}
