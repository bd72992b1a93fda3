//! `comfydock store push|status`: the shared remote store.

use super::args::StoreCommand;
use super::{ExitStatus, Globals};
use crate::ops::shared_store;
use crate::store::remote::Kind;
use crate::store::remote::inventory::Needed;
use miette::Result;

pub fn store(g: &Globals, cmd: &StoreCommand) -> Result<ExitStatus> {
    match cmd {
        StoreCommand::Push { models, all } => push(g, *models, *all),
        StoreCommand::Status { all, json } => status(g, *all, *json),
    }
}

fn push(g: &Globals, models: bool, all: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let envs = shared_store::environments(&ws, g.env.as_deref(), all)?;
    let pushed = shared_store::push(&ws, &envs, models, &g.reporter)?;
    let report = &pushed.report;
    for label in &report.uploaded {
        outln!("+ {label}");
    }
    for (label, reason) in &report.failed {
        errln!(g.printer, "failed: {label}: {reason}");
    }
    for n in &pushed.absent {
        errln!(
            g.printer,
            "not on this machine, not pushed: {} {} ({})",
            kind_word(n.kind),
            n.names.join(", "),
            n.hash
        );
    }
    outln!(
        "Pushed {} object{} ({}) to {}; {} already there{}.",
        report.uploaded.len(),
        plural(report.uploaded.len()),
        crate::plan::human_size(report.bytes),
        pushed.remote,
        report.present.len(),
        if report.failed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} failed (run `comfydock store push` again to resume)",
                report.failed.len()
            )
        }
    );
    if pushed.skipped_models > 0 {
        outln!(
            "{} model{} not pushed: add --models to upload model files.",
            pushed.skipped_models,
            plural(pushed.skipped_models)
        );
    }
    Ok(if report.failed.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn status(g: &Globals, all: bool, json: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let envs = shared_store::environments(&ws, g.env.as_deref(), all)?;
    let status = shared_store::status(&ws, &envs)?;
    if json {
        super::print_report_sorted(&status);
        return Ok(ExitStatus::Success);
    }
    let needed = &status.objects;
    outln!("Remote store: {}", status.remote);
    for n in needed {
        let local = if n.local.is_some() { "local" } else { "-" };
        let there = if n.remote == Some(true) { "remote" } else { "-" };
        let note = if n.local.is_none() && n.remote != Some(true) {
            "  MISSING"
        } else {
            ""
        };
        outln!(
            "  {:<5} {:<6} {:<6} {} {}{note}",
            kind_word(n.kind),
            local,
            there,
            n.hash.short(),
            n.names.join(", ")
        );
    }
    let count = |f: &dyn Fn(&Needed) -> bool| needed.iter().filter(|n| f(n)).count();
    outln!(
        "{} needed: {} local, {} remote, {} local only (`comfydock store push{}` uploads them), {} missing.",
        needed.len(),
        count(&|n| n.local.is_some()),
        count(&|n| n.remote == Some(true)),
        count(&|n| n.local.is_some() && n.remote != Some(true)),
        if needed
            .iter()
            .any(|n| n.kind == Kind::Model && n.local.is_some() && n.remote != Some(true))
        {
            " --models"
        } else {
            ""
        },
        status.missing
    );
    Ok(ExitStatus::Success)
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Node => "node",
        Kind::Model => "model",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
