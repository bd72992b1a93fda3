//! `panel enable|disable`: comfydock's ComfyUI panel as a declared node (`source = "comfydock"`),
//! locked, placed and rolled back like any pack (see docs/panel.md).

use super::args::PanelCommand;
use super::edit::edit_and_apply;
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::manifest::NodeSource;
use crate::resolve::Update;
use miette::{Result, miette};

pub fn panel(g: &Globals, cmd: &PanelCommand) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let key = crate::panel::KEY;
    let mut session = g.writer(&ws, env, "panel")?;
    report_recovery(g.printer, &session.recovery);
    let mut manifest = session.manifest()?;
    let declared = manifest.config().nodes.get(key).map(|s| s.kind());
    if declared.is_some_and(|s| s != NodeSource::Comfydock) {
        return Err(miette!(
            code = "comfydock::panel::key_taken",
            help = format!("rename that node (`comfydock node remove {key}`, then add it under another name)"),
            "the manifest has a node `{key}` that is not comfydock's panel"
        ));
    }
    match cmd {
        PanelCommand::Enable { no_apply } => {
            manifest.set_node(key, &crate::panel::spec());
            // Always re-pinned: enabling again takes this comfydock's panel.
            let update = Update::Nodes(vec![key.to_string()]);
            edit_and_apply(&mut session, &manifest, update, *no_apply, "Enable the comfydock panel")?;
            errln!(
                g.printer,
                "The comfydock panel {} is {}. Start ComfyUI with `comfydock run`; the panel is its comfydock tab.",
                crate::panel::VERSION,
                if *no_apply { "declared" } else { "installed" }
            );
        }
        PanelCommand::Disable { no_apply } => {
            if declared.is_none() {
                errln!(g.printer, "The comfydock panel is not enabled; nothing changed.");
                return Ok(ExitStatus::Success);
            }
            manifest.remove_node(key);
            edit_and_apply(
                &mut session,
                &manifest,
                Update::Nothing,
                *no_apply,
                "Disable the comfydock panel",
            )?;
            errln!(
                g.printer,
                "The comfydock panel is removed (its folder is in the trash of this generation)."
            );
        }
    }
    Ok(ExitStatus::Success)
}
