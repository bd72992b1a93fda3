//! `doctor`: is this machine ready? Each check on a line, with what to do when it is not ok
//! (the checks are `ops::doctor`). Exit 1 when something required is missing.

use super::{ExitStatus, Globals};
use crate::workspace::Workspace;
use miette::Result;

pub fn doctor(g: &Globals) -> Result<ExitStatus> {
    let root = Workspace::locate(g.workspace.as_deref());
    let report = crate::ops::doctor::doctor(&root, g.env.as_deref());
    for c in &report.checks {
        let mark = match (c.ok, c.required) {
            (true, _) => "ok  ",
            (false, true) => "FAIL",
            (false, false) => "warn",
        };
        outln!("{mark}  {:12} {}", c.name, c.detail);
        if !c.ok {
            outln!("      {:12} fix: {}", "", c.fix);
        }
    }
    Ok(if report.missing_required() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
