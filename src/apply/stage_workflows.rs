//! Staging tracked workflows: the tracked version (checked against the lock's hash) is written
//! into staging, and the switch renames it into `ComfyUI/user/default/workflows/`. Whatever was
//! at the destination goes to the trash first; an edited copy is never a destination (the plan
//! writes the tracked version beside it instead).

use super::journal::Step;
use super::stage::Staged;
use super::{ApplyError, Ctx, Result};
use crate::manifest::LockedWorkflow;
use crate::observe::Fingerprint;
use crate::observe::workflows::{self, InstalledWorkflow, WorkflowCopy};
use crate::plan::WorkflowChange;
use crate::types::WorkflowName;
use std::path::Path;

/// `locked` is the lock entry the plan's action carries (see `plan::Action`).
pub(super) fn stage_workflow(
    ctx: &Ctx,
    name: &WorkflowName,
    locked: &LockedWorkflow,
    change: WorkflowChange,
) -> Result<Staged> {
    let mut staged = Staged::default();
    let env = ctx.env;
    let desired = locked.blake3.clone();
    let previous = ctx.observed.installed.workflows.get(name);
    let observed_fingerprint = match ctx.observed.workflows.get(name) {
        Some(WorkflowCopy::Present { fingerprint, .. }) => Some(*fingerprint),
        _ => None,
    };
    let destination = match change {
        WorkflowChange::Edited => return Ok(staged),
        WorkflowChange::Adopt => {
            let fingerprint = observed_fingerprint.unwrap_or(Fingerprint(0, 0, 0));
            staged.workflow = Some((
                name.clone(),
                InstalledWorkflow {
                    blake3: Some(desired),
                    fingerprint,
                    beside: None,
                },
            ));
            return Ok(staged);
        }
        WorkflowChange::Beside => workflows::beside_path(env, name),
        WorkflowChange::Place | WorkflowChange::Restore | WorkflowChange::Update => workflows::copy_path(env, name),
    };
    let tracked = env.cec.join(locked.file.as_str());
    let bytes = crate::workflow::read_tracked(&tracked).map_err(|source| ApplyError::WorkflowMissing {
        name: name.to_string(),
        path: tracked.clone(),
        source,
    })?;
    if crate::types::Blake3::of_bytes(&bytes) != locked.blake3 {
        return Err(ApplyError::WorkflowChanged { name: name.to_string() });
    }
    let file = ctx.staging.join("workflows").join(format!("{name}.json"));
    fs_err::create_dir_all(ctx.staging.join("workflows"))?;
    crate::fsx::write_atomic(&file, &bytes)?;
    let fingerprint = Fingerprint::of(&fs_err::metadata(&file)?);
    if destination.symlink_metadata().is_ok() {
        staged.steps.push(Step::Rename {
            from: destination.clone(),
            to: ctx.trash_path(&trash_name(&destination)),
        });
    }
    staged.steps.push(Step::Rename {
        from: file,
        to: destination,
    });
    let record = match change {
        WorkflowChange::Beside => InstalledWorkflow {
            beside: Some(desired),
            ..previous.cloned().unwrap_or(InstalledWorkflow {
                blake3: None,
                fingerprint: observed_fingerprint.unwrap_or(Fingerprint(0, 0, 0)),
                beside: None,
            })
        },
        _ => InstalledWorkflow {
            blake3: Some(desired),
            fingerprint,
            beside: None,
        },
    };
    staged.workflow = Some((name.clone(), record));
    Ok(staged)
}

/// `workflows/<file name>` in the generation's trash folder.
fn trash_name(destination: &Path) -> String {
    let file = destination
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("workflows/{file}")
}
