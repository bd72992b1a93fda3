//! `workflow status|track|untrack|sync|import|export|diff`: tracked workflows in `.cec/workflows/`
//! and ComfyUI's copies of them. Every change goes through the manifest, the lock and a normal
//! apply (a new generation); a command that fails puts `.cec` back as it was.

use super::{ExitStatus, Globals};
use crate::manifest::{Manifest, Requires, TrackedWorkflow};
use crate::observe::workflows;
use crate::ops::workflows::{Looked, WorkflowEdit, not_tracked};
use crate::reconcile::Session;
use crate::types::WorkflowName;
use crate::workflow::requires::Needs;
use crate::workspace::{EnvPaths, Workspace};
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

/// A tracked workflow's entry and the bytes of its file in `.cec`.
fn read_tracked<'m>(manifest: &'m Manifest, cec: &Path, name: &WorkflowName) -> Result<(&'m TrackedWorkflow, Vec<u8>)> {
    let tracked = manifest
        .config()
        .workflows
        .tracked
        .get(name)
        .ok_or_else(|| not_tracked(name))?;
    let path = cec.join(tracked.file.as_str());
    let bytes = crate::workflow::read_tracked(&path).map_err(|e| miette!("cannot read {}: {e}", path.display()))?;
    Ok((tracked, bytes))
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

/// What a workflow requires, from its bytes: analysis, resolution through the environment's
/// packs and the workspace's indexes, then the declared packs and models that cover it.
fn needs_of(
    g: &Globals,
    ws: &Workspace,
    env: &EnvPaths,
    bytes: &[u8],
    label: &str,
    manifest: &Manifest,
) -> Result<Needs> {
    let resolution = resolution_of(g, ws, env, manifest, bytes, label)?;
    Ok(crate::workflow::requires::needs(&resolution, manifest.config()))
}

/// The workflow in `bytes` analysed and resolved: node types to the packs `env` declares
/// first (what they register, read statically), then packs of the workspace's other
/// environments, the workflow's own stamps, registry data and mappings.
pub(super) fn resolution_of(
    g: &Globals,
    ws: &Workspace,
    env: &EnvPaths,
    manifest: &Manifest,
    bytes: &[u8],
    label: &str,
) -> Result<crate::workflow::resolve::Resolution> {
    let builtins = super::workflow::env_builtins(g, ws);
    let builtins = builtins.as_ref().unwrap_or(crate::workflow::Builtins::shipped());
    let analysis = crate::workflow::analyze(bytes, label, builtins)?;
    let models = super::workflow::model_index(ws);
    let nodes = super::workflow::node_index(ws);
    let lookup: &dyn crate::workflow::resolve::ModelLookup = match &models {
        Some(i) => i,
        None => &crate::workflow::resolve::NoModels,
    };
    let providers = super::workflow::env_providers(ws, env, manifest, nodes.as_ref());
    Ok(crate::workflow::resolve::resolve(&analysis, &providers, lookup))
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
fn report_looked(edit: &WorkflowEdit) {
    for looked in &edit.looked {
        match looked {
            Looked::Taken { name, needs } => report_needs(name, needs),
            Looked::BadName { file } => errln!(
                "skipped `{file}.json`: not a name comfydock can track (it has `:`, control characters or a leading dot)"
            ),
            Looked::Unreadable { name, error } => errln!("warning: skipped `{name}`: {error}"),
        }
    }
}

fn report_needs(name: &str, needs: &Needs) {
    if !needs.missing_nodes.is_empty() || !needs.missing_models.is_empty() {
        errln!(
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
    super::reconcile::report_recovery(&session.recovery);
    let env = session.env.clone();
    let chosen: Vec<WorkflowName> = names.iter().map(|n| parse_name(n)).collect::<Result<_>>()?;
    let mut needs = |bytes: &[u8], label: &str, manifest: &Manifest| needs_of(g, &ws, &env, bytes, label, manifest);
    let edit = crate::ops::workflows::track(&session, &chosen, all, &mut needs)?;
    report_looked(&edit);
    let list = edit.taken();
    if list.is_empty() {
        errln!("Nothing to track.");
        return Ok(ExitStatus::Success);
    }
    apply_edit(&mut session, &edit, &format!("Track workflows: {}", list.join(", ")))?;
    errln!("Tracking {} workflow(s): {}.", list.len(), list.join(", "));
    Ok(ExitStatus::Success)
}

pub fn untrack(g: &Globals, raw: &str) -> Result<ExitStatus> {
    let name = parse_name(raw)?;
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow untrack")?;
    super::reconcile::report_recovery(&session.recovery);
    let edit = crate::ops::workflows::untrack(&session, &name)?;
    apply_edit(&mut session, &edit, &format!("Untrack workflow {name}"))?;
    errln!(
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
    super::reconcile::report_recovery(&session.recovery);
    let env = session.env.clone();
    let mut needs = |bytes: &[u8], label: &str, manifest: &Manifest| needs_of(g, &ws, &env, bytes, label, manifest);
    let edit = crate::ops::workflows::sync(&session, only.as_ref(), &mut needs)?;
    report_looked(&edit);
    let taken = edit.taken();
    if taken.is_empty() {
        if !quiet {
            errln!("Nothing to sync: ComfyUI's copies are the tracked versions.");
        }
        return Ok(0);
    }
    apply_edit(
        &mut session,
        &edit,
        &format!("Sync workflows from ComfyUI: {}", taken.join(", ")),
    )?;
    errln!("Took ComfyUI's version of {} into .cec.", taken.join(", "));
    Ok(taken.len())
}

pub fn import(g: &Globals, file: &Path, name: Option<&str>) -> Result<ExitStatus> {
    let bytes = crate::workflow::read_file(file).map_err(|e| miette!("cannot read {}: {e}", file.display()))?;
    let label = file.display().to_string();
    let json = workflow_json(&bytes, &label)?;
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
    super::reconcile::report_recovery(&session.recovery);
    let env = session.env.clone();
    let mut needs = |bytes: &[u8], label: &str, manifest: &Manifest| needs_of(g, &ws, &env, bytes, label, manifest);
    let edit = crate::ops::workflows::import(&session, name.clone(), json, &label, &mut needs)?;
    report_looked(&edit);
    apply_edit(&mut session, &edit, &format!("Import workflow {name}"))?;
    errln!("Imported {} as tracked workflow `{name}`.", file.display());
    Ok(ExitStatus::Success)
}

/// The workflow JSON in `bytes`: the file itself, or the text embedded in a PNG/WebP/FLAC/MP4
/// (the UI workflow when there is one). Refused when it is not a workflow.
fn workflow_json(bytes: &[u8], label: &str) -> Result<Vec<u8>> {
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

pub fn export(g: &Globals, raw: &str, output: Option<&Path>, with_deps: bool) -> Result<ExitStatus> {
    let name = parse_name(raw)?;
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let (tracked, bytes) = read_tracked(&manifest, &session.env.cec, &name)?;
    let bytes = if with_deps {
        let lock = session.lock_on_disk()?;
        with_dependencies(&bytes, &tracked.requires, lock.as_ref())?
    } else {
        bytes
    };
    match output {
        Some(path) => {
            crate::fsx::write_atomic(path, &bytes).into_diagnostic()?;
            errln!("Wrote workflow `{name}` to {}.", path.display());
        }
        None => super::printer::out_raw(format_args!("{}", String::from_utf8_lossy(&bytes))),
    }
    Ok(ExitStatus::Success)
}

/// The workflow with `extra.comfydock` naming the node packs and models it requires, as pinned
/// in the lock: whoever imports it knows exactly what it runs with.
/// Each required id with what the lock pins for it (null when the lock has no entry).
fn pins<I: AsRef<str>, K, V>(
    ids: &[I],
    pinned: Option<&std::collections::BTreeMap<K, V>>,
) -> serde_json::Map<String, serde_json::Value>
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

fn with_dependencies(bytes: &[u8], requires: &Requires, lock: Option<&crate::manifest::Lock>) -> Result<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        miette!(
            code = "comfydock::workflow::invalid_json",
            "the tracked workflow is not JSON: {e}"
        )
    })?;
    let nodes = pins(&requires.nodes, lock.map(|l| &l.nodes));
    let models = pins(&requires.models, lock.map(|l| &l.models));
    let Some(obj) = value.as_object_mut() else {
        return Err(miette!("the tracked workflow is not a JSON object"));
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

pub fn diff(g: &Globals, raw: &str) -> Result<ExitStatus> {
    use crate::workflow::semantic_diff::{Outcome, diff};
    let name = parse_name(raw)?;
    let (_ws, env) = g.env()?;
    let manifest = Manifest::load(&env.pyproject())?;
    let (tracked, cec) = read_tracked(&manifest, &env.cec, &name)?;
    let copy_path = workflows::copy_path(&env, &name);
    let Ok(copy) = crate::workflow::read_file(&copy_path) else {
        outln!("ComfyUI has no copy of `{name}` ({}).", copy_path.display());
        return Ok(ExitStatus::Success);
    };
    let old_label = format!(".cec/{}", tracked.file);
    let new_label = format!("ComfyUI/{}/{name}.json", workflows::WORKFLOWS_DIR);
    match diff(&cec, &copy, &old_label, &new_label) {
        Outcome::Same => outln!("No differences: ComfyUI's copy is the tracked version."),
        Outcome::Semantic { changes, other_changes } => {
            outln!("{old_label} -> {new_label}");
            for c in &changes {
                outln!("  {}", c.describe());
            }
            if other_changes {
                outln!("  (no node, widget or link changed; layout or other data did)");
            }
        }
        Outcome::Text(text) => out!("{text}"),
    }
    Ok(ExitStatus::Success)
}
