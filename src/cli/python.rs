//! `py add/remove/list` and `constraint add/remove/list`: arguments in, reports rendered (the
//! operations are `ops::python_deps`).

use super::args::{ConstraintCommand, PyCommand};
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::ops::edit::Reach;
use crate::ops::python_deps::{self, PythonEdited};
use crate::plan::Plan;
use crate::reconcile::Session;
use miette::Result;

pub fn py(g: &Globals, cmd: &PyCommand) -> Result<ExitStatus> {
    match cmd {
        PyCommand::Add { requirements, no_apply } => edit(g, "py add", *no_apply, |s, reach, show| {
            python_deps::add(s, requirements, reach, show)
        }),
        PyCommand::Remove { name, no_apply } => edit(g, "py remove", *no_apply, |s, reach, show| {
            python_deps::remove(s, name, reach, show)
        }),
        PyCommand::List { json } => list(g, *json),
    }
}

pub fn constraint(g: &Globals, cmd: &ConstraintCommand) -> Result<ExitStatus> {
    match cmd {
        ConstraintCommand::Add { constraints, no_apply } => edit(g, "constraint add", *no_apply, |s, reach, show| {
            python_deps::add_constraints(s, constraints, reach, show)
        }),
        ConstraintCommand::Remove { name, no_apply } => edit(g, "constraint remove", *no_apply, |s, reach, show| {
            python_deps::remove_constraint(s, name, reach, show)
        }),
        ConstraintCommand::List { json } => {
            let (ws, env) = g.env()?;
            let session = g.reader(&ws, env);
            let constraints = session.manifest()?.constraints();
            if *json {
                let doc = serde_json::json!({ "format_version": "1", "constraints": constraints });
                outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
            } else if constraints.is_empty() {
                errln!(
                    g.printer,
                    "No constraints. Add one with `comfydock constraint add \"numpy<2\"`."
                );
            } else {
                for c in constraints {
                    outln!("{c}");
                }
            }
            Ok(ExitStatus::Success)
        }
    }
}

/// Runs one edit under the writer lock, showing its plan.
fn edit(
    g: &Globals,
    command: &str,
    no_apply: bool,
    run: impl FnOnce(&mut Session, Reach, &mut dyn FnMut(&Plan)) -> Result<PythonEdited>,
) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, command)?;
    report_recovery(g.printer, &session.recovery);
    let edited = run(&mut session, Reach::unless(no_apply), &mut super::edit::show_plan)?;
    errln!(g.printer, "{}: done.", edited.message);
    Ok(ExitStatus::Success)
}

fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let report = python_deps::list(&session)?;
    if json {
        super::print_report_sorted(&report);
        return Ok(ExitStatus::Success);
    }
    for r in &report.requirements {
        outln!(
            "{:32} {:28} {}",
            r.requirement,
            r.from,
            r.locked.as_deref().unwrap_or("-")
        );
    }
    for c in &report.constraints {
        outln!("{c:32} {:28} -", "constraint");
    }
    Ok(ExitStatus::Success)
}
