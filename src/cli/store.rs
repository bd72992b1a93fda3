//! `comfydock store push|status`: the shared remote store.

use super::args::StoreCommand;
use super::{ExitStatus, Globals};
use crate::store::remote::inventory::{self, Needed};
use crate::store::remote::{Kind, Remote, RemoteError};
use crate::workspace::{EnvPaths, Workspace};
use miette::Result;

pub fn store(g: &Globals, cmd: &StoreCommand) -> Result<ExitStatus> {
    match cmd {
        StoreCommand::Push { models, all } => push(g, *models, *all),
        StoreCommand::Status { all, json } => status(g, *all, *json),
    }
}

fn envs(g: &Globals, ws: &Workspace, all: bool) -> Result<Vec<EnvPaths>> {
    if !all {
        return Ok(vec![ws.select_env(g.env.as_deref())?]);
    }
    ws.env_names()?
        .iter()
        .map(|name| ws.env(name).map_err(Into::into))
        .collect()
}

fn remote(ws: &Workspace) -> Result<Remote> {
    let config = ws.config()?;
    Ok(Remote::configured(config.store.remote.as_deref())?.ok_or(RemoteError::NotConfigured)?)
}

fn push(g: &Globals, models: bool, all: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let remote = remote(&ws)?;
    let needed = inventory::needed(&ws, &envs(g, &ws, all)?)?;
    let wanted: Vec<&Needed> = needed.iter().filter(|n| models || n.kind == Kind::Node).collect();
    let items = wanted.iter().filter_map(|n| n.push_item()).collect();
    let report = remote.push(items, &ws.store_dir(), &g.reporter)?;
    // The records naming those builds go once their trees are there: a fleet machine with the
    // same inputs then uses the build instead of running the script.
    let uploaded: std::collections::BTreeSet<String> = needed
        .iter()
        .filter(|n| n.kind == Kind::Node && (n.remote.is_some() || n.local.is_some()))
        .map(|n| n.hash.to_string())
        .collect();
    for record in crate::store::derived::DerivedStore::new(&ws.store_dir()).records() {
        if uploaded.contains(&record.tree.to_string())
            && !report.failed.iter().any(|(label, _)| label.contains(record.tree.hex()))
        {
            remote.put_derived(&record)?;
        }
    }
    for label in &report.uploaded {
        outln!("+ {label}");
    }
    for (label, reason) in &report.failed {
        errln!(g.printer, "failed: {label}: {reason}");
    }
    let absent: Vec<&&Needed> = wanted.iter().filter(|n| n.local.is_none()).collect();
    for n in &absent {
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
        remote.url(),
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
    if !models {
        let skipped = needed.iter().filter(|n| n.kind == Kind::Model).count();
        if skipped > 0 {
            outln!(
                "{skipped} model{} not pushed: add --models to upload model files.",
                plural(skipped)
            );
        }
    }
    Ok(if report.failed.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn status(g: &Globals, all: bool, json: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let remote = remote(&ws)?;
    let mut needed = inventory::needed(&ws, &envs(g, &ws, all)?)?;
    inventory::mark_remote(&remote, &mut needed)?;
    let missing = needed
        .iter()
        .filter(|n| n.local.is_none() && n.remote != Some(true))
        .count();
    if json {
        let doc = serde_json::json!({
            "remote": remote.url().to_string(),
            "objects": needed,
            "missing": missing,
        });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
        return Ok(ExitStatus::Success);
    }
    outln!("Remote store: {}", remote.url());
    for n in &needed {
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
        "{} needed: {} local, {} remote, {} local only (`comfydock store push{}` uploads them), {missing} missing.",
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
        }
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
