//! ComfyUI itself: which one the environment declares and has locked (`comfyui show`), and
//! moving to another release (`comfyui update`).

use super::edit::{Reach, edit_and_apply};
use super::typed;
use crate::plan::Plan;
use crate::python::{is_torch_family, parse_requirements, requirement_name};
use crate::reconcile::Session;
use crate::types::GitRef;
use miette::Result;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ComfyuiShown {
    pub commit: Option<String>,
    /// The `comfyui-frontend-package` version the locked ComfyUI asks for.
    pub frontend_package: Option<String>,
    pub repository: Option<String>,
    /// `comfyui_version` in the manifest.
    pub requested: Option<String>,
    /// The locked ComfyUI's own version (`comfyui_version.py`).
    pub version: Option<String>,
}

pub fn show<A>(session: &Session<'_, A>) -> Result<ComfyuiShown> {
    let manifest = session.manifest()?;
    let config = manifest.config();
    let lock = session.lock_on_disk()?;
    let facts = lock
        .as_ref()
        .map(|l| crate::reconcile::pack_notes::comfyui_facts(session.ws, l))
        .unwrap_or_default();
    Ok(ComfyuiShown {
        commit: lock.as_ref().map(|l| l.comfyui.commit.to_string()),
        frontend_package: facts.frontend,
        repository: lock
            .as_ref()
            .map(|l| l.comfyui.repo.to_string())
            .or_else(|| config.comfyui_repo.as_ref().map(ToString::to_string)),
        requested: config.comfyui_version.as_ref().map(ToString::to_string),
        version: facts.version,
    })
}

#[derive(Debug, Serialize)]
pub struct ComfyuiUpdated {
    /// The release (or ref) asked for.
    pub rev: GitRef,
    pub commit: crate::types::GitCommit,
    pub version: Option<String>,
    pub generation: Option<u64>,
}

/// Moves ComfyUI to `rev` (default: its newest release tag), takes its requirements.txt into
/// `[project].dependencies` (the torch family pins stay), warns about packs that need another
/// ComfyUI, then locks and applies like any edit.
pub fn update(
    session: &mut Session,
    rev: Option<&str>,
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<ComfyuiUpdated> {
    let ws = session.ws;
    let mut manifest = session.manifest()?;
    let config = manifest.config().clone();
    let repo = config
        .comfyui_repo
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| crate::workspace::DEFAULT_COMFYUI_REPO.to_string());
    let rev: GitRef = match rev {
        Some(r) => typed(r)?,
        None => {
            session
                .reporter
                .step(&format!("Finding the newest ComfyUI release in {repo}"));
            typed(&crate::git::newest_tag(&repo)?)?
        }
    };
    let mirror = crate::store::GitCache::new(&ws.store_dir()).update(&repo)?;
    let commit = crate::git::resolve_rev(&mirror, rev.as_ref()).map_err(|e| e.in_repo(&repo))?;
    let requirements = match crate::git::read_file_at(&mirror, &commit, "requirements.txt")? {
        Some(bytes) => parse_requirements(&String::from_utf8_lossy(&bytes)),
        None => crate::python::Requirements::default(),
    };
    for r in &requirements.rejected {
        session.reporter.warn(&format!(
            "ComfyUI's requirements.txt line {}: `{}` not taken: {}",
            r.line, r.text, r.reason
        ));
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
                session
                    .reporter
                    .warn(&format!("node {id} {}", need.split(';').next().unwrap_or(&need)));
            }
        }
    }
    let message = format!("Update ComfyUI to {rev}");
    let edited = edit_and_apply(
        session,
        &manifest,
        crate::resolve::Update::Nothing,
        reach,
        &message,
        on_plan,
    )?;
    Ok(ComfyuiUpdated {
        rev,
        commit,
        version: facts.version,
        generation: edited.generation.map(|g| g.number),
    })
}
