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
