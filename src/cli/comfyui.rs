//! `comfyui show` and `comfyui update`: arguments in, reports rendered (the operations are
//! `ops::comfyui`).

use super::{ExitStatus, Globals};
use crate::ops::comfyui;
use crate::ops::edit::Reach;
use miette::Result;

pub fn show(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let shown = comfyui::show(&session)?;
    if json {
        super::print_report_sorted(&shown);
        return Ok(ExitStatus::Success);
    }
    let dash = || "-".to_string();
    outln!("requested   {}", shown.requested.unwrap_or_else(dash));
    outln!("version     {}", shown.version.unwrap_or_else(dash));
    outln!(
        "commit      {}",
        shown
            .commit
            .unwrap_or_else(|| "- (not locked; run `comfydock lock`)".into())
    );
    outln!("repository  {}", shown.repository.unwrap_or_else(dash));
    if let Some(frontend) = shown.frontend_package {
        outln!("frontend    comfyui-frontend-package {frontend}");
    }
    Ok(ExitStatus::Success)
}

pub fn update(g: &Globals, rev: Option<&str>, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "comfyui update")?;
    super::reconcile::report_recovery(g.printer, &session.recovery);
    let updated = comfyui::update(&mut session, rev, Reach::unless(no_apply), &mut super::edit::show_plan)?;
    errln!(
        g.printer,
        "ComfyUI is at {} ({}){}.",
        updated.rev,
        crate::plan::short(&updated.commit),
        updated.version.map(|v| format!(", version {v}")).unwrap_or_default()
    );
    Ok(ExitStatus::Success)
}
