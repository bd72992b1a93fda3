//! `comfyui show`: which ComfyUI the environment declares and has locked.

use super::{ExitStatus, Globals};
use miette::Result;

pub fn show(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let config = manifest.config();
    let lock = session.lock_on_disk()?;
    let facts = lock
        .as_ref()
        .map(|l| crate::reconcile::pack_notes::comfyui_facts(&ws, l))
        .unwrap_or_default();
    let requested = config.comfyui_version.as_ref().map(ToString::to_string);
    let repository = lock
        .as_ref()
        .map(|l| l.comfyui.repo.to_string())
        .or_else(|| config.comfyui_repo.as_ref().map(ToString::to_string));
    let commit = lock.as_ref().map(|l| l.comfyui.commit.to_string());
    if json {
        let doc = serde_json::json!({
            "format_version": "1",
            "requested": requested,
            "version": facts.version,
            "commit": commit,
            "repository": repository,
            "frontend_package": facts.frontend,
        });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
        return Ok(ExitStatus::Success);
    }
    let dash = || "-".to_string();
    outln!("requested   {}", requested.unwrap_or_else(dash));
    outln!("version     {}", facts.version.unwrap_or_else(dash));
    outln!(
        "commit      {}",
        commit.unwrap_or_else(|| "- (not locked; run `comfydock lock`)".into())
    );
    outln!("repository  {}", repository.unwrap_or_else(dash));
    if let Some(frontend) = facts.frontend {
        outln!("frontend    comfyui-frontend-package {frontend}");
    }
    Ok(ExitStatus::Success)
}

/// `comfyui update [REF]`: moves ComfyUI to REF (default: its newest release tag), takes its
/// requirements.txt into `[project].dependencies` (the torch family pins stay), warns about
/// packs that need another ComfyUI, then locks and applies like any edit.
pub fn update(g: &Globals, rev: Option<&str>, no_apply: bool) -> Result<ExitStatus> {
    use crate::python::{is_torch_family, parse_requirements, requirement_name};
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "comfyui update")?;
    super::reconcile::report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    let config = manifest.config().clone();
    let repo = config
        .comfyui_repo
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| crate::workspace::DEFAULT_COMFYUI_REPO.to_string());
    let rev: crate::types::GitRef = match rev {
        Some(r) => super::typed(r)?,
        None => {
            errln!("Finding the newest ComfyUI release in {repo}");
            super::typed(&crate::git::newest_tag(&repo)?)?
        }
    };
    let mirror = crate::store::GitCache::new(&ws.store_dir()).update(&repo)?;
    let commit = crate::git::resolve_rev(&mirror, rev.as_ref())?.to_string();
    let requirements = match crate::git::read_file_at(&mirror, &commit, "requirements.txt")? {
        Some(bytes) => parse_requirements(&String::from_utf8_lossy(&bytes)),
        None => crate::python::Requirements::default(),
    };
    for r in &requirements.rejected {
        errln!(
            "warning: ComfyUI's requirements.txt line {}: `{}` not taken: {}",
            r.line,
            r.text,
            r.reason
        );
    }
    // The torch family pin (`py add "torch==…"`) is the environment's, not ComfyUI's.
    let mut deps = requirements.accepted.clone();
    for kept in manifest.dependencies() {
        let name = requirement_name(&kept).unwrap_or_default();
        if is_torch_family(&name)
            && !deps
                .iter()
                .any(|d| requirement_name(d).as_deref() == Some(name.as_str()))
        {
            deps.push(kept);
        }
    }
    manifest.set_setting("comfyui_version", rev.as_ref());
    manifest.set_dependencies(&deps);

    let facts = crate::reconcile::pack_notes::comfyui_facts_at(&mirror, &commit, rev.as_ref());
    if let Some(lock) = session.lock_on_disk()? {
        let store = crate::store::NodeStore::new(&ws.store_dir());
        for (id, node) in &lock.nodes {
            let Some(tree) = node.tree() else { continue };
            let meta = crate::resolve::pack_meta::PackMeta::read_dir(&store.path(tree));
            for need in crate::reconcile::pack_notes::comfyui_needs(&meta, &facts) {
                errln!("warning: node {id} {}", need.split(';').next().unwrap_or(&need));
            }
        }
    }
    let message = format!("Update ComfyUI to {rev}");
    super::edit::edit_and_apply(
        &mut session,
        &manifest,
        crate::resolve::Update::Nothing,
        no_apply,
        &message,
    )?;
    errln!(
        "ComfyUI is at {rev} ({}){}.",
        crate::plan::short(&commit),
        facts.version.map(|v| format!(", version {v}")).unwrap_or_default()
    );
    Ok(ExitStatus::Success)
}
