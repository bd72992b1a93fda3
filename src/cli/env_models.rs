//! `model add`, `model remove`, and `model list` inside an environment: arguments in, reports
//! rendered (the operations are `ops::declared_models`).

use super::edit::show_plan;
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::ops::declared_models;
use crate::ops::edit::Reach;
use crate::workspace::Workspace;
use miette::Result;

/// `model list` speaks of an environment when one is named (`-e`) or the current directory is
/// inside one; otherwise of the workspace index.
pub fn in_environment(g: &Globals, ws: &Workspace) -> bool {
    g.env.is_some()
        || std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .is_ok_and(|cwd| cwd.starts_with(ws.environments_dir()))
}

pub fn add(
    g: &Globals,
    target: &str,
    category: Option<&str>,
    name: Option<&str>,
    extra_sources: &[String],
    no_apply: bool,
) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let model = declared_models::identify_new(&ws, target, category, name, extra_sources, &g.reporter)?;
    let mut session = g.writer(&ws, env, "model add")?;
    report_recovery(g.printer, &session.recovery);
    let added = declared_models::add(&mut session, &model, Reach::unless(no_apply), &mut show_plan)?;
    errln!(g.printer, "Declared model `{}`.", added.key);
    Ok(ExitStatus::Success)
}

pub fn remove(g: &Globals, key: &str, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "model remove")?;
    report_recovery(g.printer, &session.recovery);
    declared_models::remove(&mut session, key, Reach::unless(no_apply), &mut show_plan)?;
    errln!(g.printer, "Removed model `{key}` (its file is kept).");
    Ok(ExitStatus::Success)
}

pub fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let report = declared_models::list(&session)?;
    if json {
        super::print_report(&report);
        return Ok(ExitStatus::Success);
    }
    if report.models.is_empty() {
        errln!(
            g.printer,
            "No models declared. Add one with `comfydock model add PATH|HASH|URL`."
        );
    }
    for m in &report.models {
        let size = m.size.map(crate::plan::human_size).unwrap_or_default();
        outln!("{:24} {:>10}  {:48} {}", m.key.as_str(), size, m.path, m.state.as_str());
    }
    Ok(ExitStatus::Success)
}
