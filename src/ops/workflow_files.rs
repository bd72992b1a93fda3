//! A tracked workflow's file as it leaves or enters `.cec`: exported with the packs and models
//! it runs with (`workflow export --with-deps`), compared with ComfyUI's copy (`workflow
//! diff`), and the workflow JSON found in any file `workflow import` is given.

use crate::manifest::{Lock, Manifest, Requires, TrackedWorkflow};
use crate::observe::workflows;
use crate::types::WorkflowName;
use crate::workflow::semantic_diff::{self, Outcome};
use crate::workspace::EnvPaths;
use miette::{IntoDiagnostic, Result, miette};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A tracked workflow's entry and the bytes of its file in `.cec`.
pub fn read_tracked<'m>(
    manifest: &'m Manifest,
    env: &EnvPaths,
    name: &WorkflowName,
) -> Result<(&'m TrackedWorkflow, Vec<u8>)> {
    let tracked = manifest
        .config()
        .workflows
        .tracked
        .get(name)
        .ok_or_else(|| super::workflows::not_tracked(name))?;
    let path = env.cec.join(tracked.file.as_str());
    let bytes = crate::workflow::read_tracked(&path).map_err(|e| miette!("cannot read {}: {e}", path.display()))?;
    Ok((tracked, bytes))
}

/// The tracked workflow `name`, with `extra.comfydock` naming the node packs and models it
/// requires as pinned in `lock` when `with_deps`: whoever imports it knows exactly what it runs
/// with.
pub fn export(
    manifest: &Manifest,
    env: &EnvPaths,
    name: &WorkflowName,
    lock: Option<&Lock>,
    with_deps: bool,
) -> Result<Vec<u8>> {
    let (tracked, bytes) = read_tracked(manifest, env, name)?;
    if with_deps {
        with_dependencies(&bytes, &tracked.requires, lock)
    } else {
        Ok(bytes)
    }
}

/// Each required id with what the lock pins for it (null when the lock has no entry).
fn pins<I: AsRef<str>, K, V>(ids: &[I], pinned: Option<&BTreeMap<K, V>>) -> serde_json::Map<String, serde_json::Value>
where
    K: Ord + std::borrow::Borrow<str>,
    V: serde::Serialize,
{
    ids.iter()
        .map(|id| {
            let value = pinned
                .and_then(|m| m.get(id.as_ref()))
                .map(|v| serde_json::to_value(v).unwrap_or_default())
                .unwrap_or(serde_json::Value::Null);
            (id.as_ref().to_string(), value)
        })
        .collect()
}

fn with_dependencies(bytes: &[u8], requires: &Requires, lock: Option<&Lock>) -> Result<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        miette!(
            code = "comfydock::workflow::invalid_json",
            "the tracked workflow is not JSON: {e}"
        )
    })?;
    let nodes = pins(&requires.nodes, lock.map(|l| &l.nodes));
    let models = pins(&requires.models, lock.map(|l| &l.models));
    let Some(obj) = value.as_object_mut() else {
        return Err(miette!(
            code = "comfydock::workflow::invalid_json",
            "the tracked workflow is not a JSON object"
        ));
    };
    let extra = obj
        .entry("extra")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(extra) = extra.as_object_mut() {
        extra.insert(
            "comfydock".into(),
            serde_json::json!({ "nodes": nodes, "models": models, "python": requires.python }),
        );
    }
    serde_json::to_vec_pretty(&value).into_diagnostic()
}

/// The workflow JSON in `bytes`: the file itself, or the text embedded in a PNG/WebP/FLAC/MP4
/// (the UI workflow when there is one). Refused when it is not a workflow.
pub fn workflow_json(bytes: &[u8], label: &str) -> Result<Vec<u8>> {
    let analysis = crate::workflow::analyze(bytes, label, crate::workflow::Builtins::shipped())?;
    let Some(key) = analysis.embedded_key else {
        return Ok(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes).to_vec());
    };
    let entries = crate::workflow::embedded::entries(analysis.container, bytes).map_err(|e| miette!("{e}"))?;
    entries
        .into_iter()
        .find(|e| e.key == key)
        .map(|e| e.text.into_bytes())
        .ok_or_else(|| miette!("the embedded workflow of {label} could not be read again"))
}

/// `workflow diff`: the tracked version against ComfyUI's copy.
pub enum Compared {
    /// ComfyUI has no copy (at `path`).
    NoCopy { path: PathBuf },
    Diff {
        old_label: String,
        new_label: String,
        outcome: Outcome,
    },
}

pub fn compare(manifest: &Manifest, env: &EnvPaths, name: &WorkflowName) -> Result<Compared> {
    let (tracked, cec) = read_tracked(manifest, env, name)?;
    let path = workflows::copy_path(env, name);
    let Ok(copy) = crate::workflow::read_file(&path) else {
        return Ok(Compared::NoCopy { path });
    };
    let old_label = format!(".cec/{}", tracked.file);
    let new_label = format!("ComfyUI/{}/{name}.json", workflows::WORKFLOWS_DIR);
    let outcome = semantic_diff::diff(&cec, &copy, &old_label, &new_label);
    Ok(Compared::Diff {
        old_label,
        new_label,
        outcome,
    })
}
