//! Tracked workflows pinned: the blake3 of each `.cec/workflows/NAME.json` and of the declared
//! models it requires. No network and no resolution: hashing a few hundred small files is cheap,
//! so this runs on every plan to tell whether the lock still pins what `.cec` holds.

use super::ResolveError;
use crate::manifest::{ComfydockConfig, LockedModel, LockedWorkflow};
use crate::types::{Blake3, ModelKey, WorkflowName};
use std::collections::BTreeMap;
use std::path::Path;

/// The `workflows` section of a lock for `config`, reading each tracked file under `cec`.
pub fn lock_workflows(
    cec: &Path,
    config: &ComfydockConfig,
    models: &BTreeMap<ModelKey, LockedModel>,
) -> Result<BTreeMap<WorkflowName, LockedWorkflow>, ResolveError> {
    let mut out = BTreeMap::new();
    for (name, tracked) in &config.workflows.tracked {
        let path = cec.join(tracked.file.as_str());
        let bytes = crate::workflow::read_tracked(&path).map_err(|e| ResolveError::WorkflowFile {
            name: name.to_string(),
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let required = tracked
            .requires
            .models
            .iter()
            .filter_map(|key| {
                let (key, model) = models.get_key_value(key.as_str())?;
                Some((key.clone(), model.blake3.clone()))
            })
            .collect();
        out.insert(
            name.clone(),
            LockedWorkflow {
                file: tracked.file.clone(),
                blake3: Blake3::of_bytes(&bytes),
                models: required,
            },
        );
    }
    Ok(out)
}

/// The first difference between the lock's workflows and `current`, in words; None: the same.
pub fn workflows_changed(
    locked: &BTreeMap<WorkflowName, LockedWorkflow>,
    current: &BTreeMap<WorkflowName, LockedWorkflow>,
) -> Option<String> {
    for (name, w) in current {
        match locked.get(name) {
            None => return Some(format!("workflow `{name}` is not in the lock")),
            Some(l) if l != w => return Some(format!("workflow `{name}` changed since the lock was made")),
            Some(_) => {}
        }
    }
    locked
        .keys()
        .find(|n| !current.contains_key(*n))
        .map(|n| format!("the lock has workflow `{n}` that the manifest does not track"))
}
