//! `node add`, `remove`, `update`, `list` and `adopt`: arguments in, reports rendered
//! (the operations are `ops::nodes` and `ops::adopt`).

use super::args::NodeCommand;
use super::edit::show_plan;
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::ops::edit::Reach;
use crate::ops::nodes;
use crate::plan::render_text;
use miette::Result;

pub fn node(g: &Globals, cmd: &NodeCommand) -> Result<ExitStatus> {
    match cmd {
        NodeCommand::Find(a) => super::registry::find(g, a),
        NodeCommand::Add {
            sources,
            name,
            dev,
            run_install,
            no_apply,
        } => add(g, sources, name.as_deref(), *dev, *run_install, *no_apply),
        NodeCommand::Remove { name, no_apply } => remove(g, name, *no_apply),
        NodeCommand::Update {
            name,
            version,
            no_apply,
        } => update(g, name.as_deref(), version.as_deref(), *no_apply),
        NodeCommand::List { json } => list(g, *json),
        NodeCommand::Adopt { names, all, dev, json } => adopt(g, names, *all, *dev, *json),
    }
}

fn adopt(g: &Globals, names: &[String], all: bool, dev: bool, json: bool) -> Result<ExitStatus> {
    use crate::ops::adopt::{AdoptInput, AdoptedSource};
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "node adopt")?;
    report_recovery(g.printer, &session.recovery);
    let input = AdoptInput {
        names: names.to_vec(),
        all,
        dev,
    };
    let report = crate::ops::adopt::adopt(&mut session, &input, &mut |plan| {
        if !json {
            out!("{}", render_text(plan))
        }
    })?;
    if json {
        super::print_report(&report);
        return Ok(ExitStatus::Success);
    }
    for a in &report.adopted {
        let what = match &a.source {
            AdoptedSource::Git { repository, commit } => format!("git {repository} at {}", crate::plan::short(commit)),
            AdoptedSource::Registry {
                registry_id, version, ..
            } => format!("registry {registry_id} {version}"),
            AdoptedSource::Local { path } => format!("dev, in place at {path}"),
        };
        errln!(g.printer, "Adopted custom_nodes/{} as `{}` ({what}).", a.folder, a.id);
    }
    for r in &report.skipped {
        errln!(g.printer, "Left {r}");
    }
    if report.adopted.is_empty() && report.skipped.is_empty() {
        errln!(g.printer, "No untracked folders in custom_nodes/: nothing to adopt.");
    }
    Ok(ExitStatus::Success)
}

fn add(
    g: &Globals,
    sources: &[String],
    name: Option<&str>,
    dev: bool,
    run_install: bool,
    no_apply: bool,
) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let input = nodes::AddInput {
        sources: sources.to_vec(),
        name: name.map(str::to_string),
        dev,
        run_install,
    };
    let parsed = nodes::parse_sources(&ws, &input)?;
    let mut session = g.writer(&ws, env, "node add")?;
    report_recovery(g.printer, &session.recovery);
    let added = nodes::add(&mut session, &parsed, Reach::unless(no_apply), &mut show_plan)?;
    errln!(
        g.printer,
        "Added {}.",
        added
            .nodes
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitStatus::Success)
}

fn remove(g: &Globals, id: &str, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "node remove")?;
    report_recovery(g.printer, &session.recovery);
    nodes::remove(&mut session, id, Reach::unless(no_apply), &mut show_plan)?;
    errln!(g.printer, "Removed node `{id}`.");
    Ok(ExitStatus::Success)
}

fn update(g: &Globals, id: Option<&str>, version: Option<&str>, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "node update")?;
    report_recovery(g.printer, &session.recovery);
    nodes::update(&mut session, id, version, !no_apply, &mut show_plan)?;
    Ok(ExitStatus::Success)
}

fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let report = nodes::list(&session)?;
    if json {
        super::print_report(&report);
        return Ok(ExitStatus::Success);
    }
    if report.nodes.is_empty() {
        errln!(g.printer, "No node packs. Add one with `comfydock node add URL`.");
    }
    for row in &report.nodes {
        outln!(
            "{:24} {:8} {:28} {}",
            row.id.as_str(),
            row.source.as_str(),
            row.version,
            row.state.as_str()
        );
    }
    Ok(ExitStatus::Success)
}
