//! `workflow status|track|untrack|sync|import|export|diff`: tracked workflows in `.cec/workflows/`
//! and ComfyUI's copies of them. Every change goes through the manifest, the lock and a normal
//! apply (a new generation); a command that fails puts `.cec` back as it was.

use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::manifest::Manifest;
use crate::observe::workflows;
use crate::ops::workflows::{Looked, WorkflowEdit};
use crate::reconcile::Session;
use crate::types::WorkflowName;
use crate::workflow::requires::Needs;
use miette::{IntoDiagnostic, Result, miette};
use std::path::Path;

/// A workflow name from the command line (`my flow` or `my flow.json`), checked.
pub(super) fn parse_name(raw: &str) -> Result<WorkflowName> {
    let bare = raw.strip_suffix(".json").unwrap_or(raw);
    bare.parse::<WorkflowName>().map_err(|e| {
        miette!(
            code = "comfydock::workflow::invalid_name",
            help = "a workflow name is a file name in ComfyUI's workflows folder, without `.json`",
            "{e}"
        )
    })
}

pub fn status(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (_ws, env) = g.env()?;
    let report = crate::ops::workflows::status(&env)?;
    let rows = &report.workflows;
    if json {
        // Through a `Value`: its keys come out sorted, as this command has always printed them.
        let doc = serde_json::to_value(crate::ops::Envelope::new(&report)).into_diagnostic()?;
        outln!("{}", serde_json::to_string_pretty(&doc).into_diagnostic()?);
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        outln!("No tracked workflows. `comfydock workflow track NAME` (or --all) tracks ComfyUI's.");
    }
    for r in rows {
        let label = match &r.version {
            Some(v) => format!("{} {v}", r.name),
            None => r.name.clone(),
        };
        outln!("{label:<32} {}", r.state);
        if let Some(d) = &r.description {
            outln!("{:<32} {d}", "");
        }
    }
    Ok(ExitStatus::Success)
}

/// Applies `edit` through the one edit transaction (`ops::workflows::apply_edit`), showing the
/// plan and the generation it made.
fn apply_edit(session: &mut Session, edit: &WorkflowEdit, message: &str) -> Result<()> {
    let edited = crate::ops::workflows::apply_edit(session, edit, message, &mut super::edit::show_plan)?;
    if let Some(generation) = edited.generation {
        outln!("\nApply complete: generation {}.", generation.number);
    }
    Ok(())
}

/// A tracking edit's notes, in the order it looked at the workflows: what each needs that the
/// manifest does not declare, and what `track --all` skipped.
fn report_looked(p: Printer, edit: &WorkflowEdit) {
    for looked in &edit.looked {
        match looked {
            Looked::Taken { name, needs } => report_needs(p, name, needs),
            Looked::BadName { file } => errln!(
                p,
                "skipped `{file}.json`: not a name comfydock can track (it has `:`, control characters or a leading dot)"
            ),
            Looked::Unreadable { name, error } => errln!(p, "warning: skipped `{name}`: {error}"),
        }
    }
}

fn report_needs(p: Printer, name: &str, needs: &Needs) {
    if !needs.missing_nodes.is_empty() || !needs.missing_models.is_empty() {
        errln!(
            p,
            "note: `{name}` needs {} node type(s) and {} model(s) the manifest does not declare ({}); `comfydock workflow resolve {}` adds them",
            needs.missing_nodes.len(),
            needs.missing_models.len(),
            needs
                .missing_nodes
                .iter()
                .chain(&needs.missing_models)
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            crate::shell::quote(name)
        );
    }
}

pub fn track(g: &Globals, names: &[String], all: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow track")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let chosen: Vec<WorkflowName> = names.iter().map(|n| parse_name(n)).collect::<Result<_>>()?;
    let edit = crate::ops::workflows::track(&session, &chosen, all)?;
    report_looked(g.printer, &edit);
    let list = edit.taken();
    if list.is_empty() {
        errln!(g.printer, "Nothing to track.");
        return Ok(ExitStatus::Success);
    }
    apply_edit(&mut session, &edit, &format!("Track workflows: {}", list.join(", ")))?;
    errln!(g.printer, "Tracking {} workflow(s): {}.", list.len(), list.join(", "));
    Ok(ExitStatus::Success)
}

pub fn untrack(g: &Globals, raw: &str) -> Result<ExitStatus> {
    let name = parse_name(raw)?;
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow untrack")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let edit = crate::ops::workflows::untrack(&session, &name)?;
    apply_edit(&mut session, &edit, &format!("Untrack workflow {name}"))?;
    errln!(
        g.printer,
        "Stopped tracking `{name}`; ComfyUI's copy ({}) is kept, and the tracked version stays in the .cec history.",
        workflows::copy_path(&session.env, &name).display()
    );
    Ok(ExitStatus::Success)
}

pub fn sync(g: &Globals, raw: Option<&str>) -> Result<ExitStatus> {
    sync_once(g, raw, false)?;
    Ok(ExitStatus::Success)
}

/// Takes ComfyUI's edited copies into `.cec` and applies; returns how many were taken.
/// `quiet`: say nothing when there is nothing to take (`--watch`).
pub(super) fn sync_once(g: &Globals, raw: Option<&str>, quiet: bool) -> Result<usize> {
    let only = raw.map(parse_name).transpose()?;
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow sync")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let edit = crate::ops::workflows::sync(&session, only.as_ref())?;
    report_looked(g.printer, &edit);
    let taken = edit.taken();
    if taken.is_empty() {
        if !quiet {
            errln!(g.printer, "Nothing to sync: ComfyUI's copies are the tracked versions.");
        }
        return Ok(0);
    }
    apply_edit(
        &mut session,
        &edit,
        &format!("Sync workflows from ComfyUI: {}", taken.join(", ")),
    )?;
    errln!(g.printer, "Took ComfyUI's version of {} into .cec.", taken.join(", "));
    Ok(taken.len())
}

pub fn import(g: &Globals, file: &Path, name: Option<&str>) -> Result<ExitStatus> {
    let bytes = crate::workflow::read_file(file).map_err(|e| miette!("cannot read {}: {e}", file.display()))?;
    let label = file.display().to_string();
    let json = crate::ops::workflow_files::workflow_json(&bytes, &label)?;
    let raw = match name {
        Some(n) => n.to_string(),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let name = parse_name(&raw)?;
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow import")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let edit = crate::ops::workflows::import(&session, name.clone(), json, &label)?;
    report_looked(g.printer, &edit);
    apply_edit(&mut session, &edit, &format!("Import workflow {name}"))?;
    errln!(g.printer, "Imported {} as tracked workflow `{name}`.", file.display());
    Ok(ExitStatus::Success)
}

pub fn export(g: &Globals, raw: &str, output: Option<&Path>, with_deps: bool) -> Result<ExitStatus> {
    let name = parse_name(raw)?;
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let lock = if with_deps { session.lock_on_disk()? } else { None };
    let bytes = crate::ops::workflow_files::export(&manifest, &session.env, &name, lock.as_ref(), with_deps)?;
    match output {
        Some(path) => {
            crate::fsx::write_atomic(path, &bytes).into_diagnostic()?;
            errln!(g.printer, "Wrote workflow `{name}` to {}.", path.display());
        }
        None => super::printer::out_raw(format_args!("{}", String::from_utf8_lossy(&bytes))),
    }
    Ok(ExitStatus::Success)
}

pub fn diff(g: &Globals, raw: &str) -> Result<ExitStatus> {
    use crate::ops::workflow_files::{Compared, compare};
    use crate::workflow::semantic_diff::Outcome;
    let name = parse_name(raw)?;
    let (_ws, env) = g.env()?;
    let manifest = Manifest::load(&env.pyproject())?;
    match compare(&manifest, &env, &name)? {
        Compared::NoCopy { path } => outln!("ComfyUI has no copy of `{name}` ({}).", path.display()),
        Compared::Diff {
            outcome: Outcome::Same, ..
        } => outln!("No differences: ComfyUI's copy is the tracked version."),
        Compared::Diff {
            old_label,
            new_label,
            outcome: Outcome::Semantic { changes, other_changes },
        } => {
            outln!("{old_label} -> {new_label}");
            for c in &changes {
                outln!("  {}", c.describe());
            }
            if other_changes {
                outln!("  (no node, widget or link changed; layout or other data did)");
            }
        }
        Compared::Diff {
            outcome: Outcome::Text(text),
            ..
        } => out!("{text}"),
    }
    Ok(ExitStatus::Success)
}
