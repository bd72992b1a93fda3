//! Notes under a plan's node actions, from what each pack says about itself (its files in the
//! store): whether it carries an `install.py` and whether that runs, and a ComfyUI it needs that
//! the locked ComfyUI is older than.

use crate::manifest::{InstallScript, Lock, Manifest};
use crate::plan::{Action, Plan};
use crate::resolve::pack_meta::{PackMeta, parse_version, satisfies};
use crate::store::{GitCache, NodeStore};
use crate::workspace::Workspace;

/// The locked ComfyUI as packs name it: its version and the frontend package it pins.
#[derive(Debug, Default)]
pub struct ComfyuiFacts {
    pub version: Option<String>,
    pub frontend: Option<String>,
}

/// Reads the locked ComfyUI's version and frontend pin from its git mirror (no checkout needed).
pub fn comfyui_facts(ws: &Workspace, lock: &Lock) -> ComfyuiFacts {
    let mirror = GitCache::new(&ws.store_dir()).mirror_path(lock.comfyui.repo.as_ref());
    comfyui_facts_at(&mirror, &lock.comfyui.commit, lock.comfyui.rev.as_ref())
}

/// The same for any commit of a ComfyUI repository (`rev` stands for the version when the files
/// do not say).
pub fn comfyui_facts_at(mirror: &std::path::Path, commit: &crate::types::GitCommit, rev: &str) -> ComfyuiFacts {
    let read = |name: &str| {
        crate::git::read_file_at(mirror, commit, name)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let mut facts = facts_from_files(read("pyproject.toml").as_deref(), read("requirements.txt").as_deref());
    if facts.version.is_none() {
        facts.version = read("comfyui_version.py").as_deref().and_then(version_py);
    }
    facts.or_rev(rev)
}

pub fn facts_from_files(pyproject: Option<&str>, requirements: Option<&str>) -> ComfyuiFacts {
    let version = pyproject
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|d| d.get("project")?.get("version")?.as_str().map(str::to_string));
    let frontend = requirements.unwrap_or("").lines().find_map(|l| {
        let l = l.trim().replace(' ', "");
        l.strip_prefix("comfyui-frontend-package==")
            .or_else(|| l.strip_prefix("comfyui_frontend_package=="))
            .map(str::to_string)
    });
    ComfyuiFacts { version, frontend }
}

/// `__version__ = "0.3.40"` in ComfyUI's `comfyui_version.py`.
fn version_py(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.trim_start().starts_with("__version__"))?;
    let value = line.split_once('=')?.1.trim().trim_matches(['"', '\'']);
    Some(value.to_string())
}

impl ComfyuiFacts {
    /// A tag such as `v0.3.40` stands for the version when the files did not say.
    fn or_rev(mut self, rev: &str) -> Self {
        if self.version.is_none() && parse_version(rev).is_some() {
            self.version = Some(rev.trim_start_matches('v').to_string());
        }
        self
    }
}

/// Sets `run_install` and the notes of every node action in `plan`.
pub fn annotate(plan: &mut Plan, ws: &Workspace, lock: &Lock, manifest: Option<&Manifest>) {
    let store = NodeStore::new(&ws.store_dir());
    let mut facts = None;
    for action in &mut plan.actions {
        let (id, run_install, notes) = match action {
            Action::InstallNode {
                id, run_install, notes, ..
            }
            | Action::UpdateNode {
                id, run_install, notes, ..
            } => (id, run_install, notes),
            _ => continue,
        };
        let Some(tree) = lock.nodes.get(id.as_str()).and_then(|n| n.tree()) else {
            continue;
        };
        let wants_run = manifest
            .and_then(|m| m.config().nodes.get(id.as_str()))
            .is_some_and(|s| s.install == Some(InstallScript::Run));
        *run_install = wants_run;
        let dir = store.path(tree);
        let meta = if dir.is_dir() {
            PackMeta::read_dir(&dir)
        } else {
            PackMeta::default()
        };
        match (meta.has_install_script, wants_run) {
            (true, true) => {
                notes.push("install.py runs in stage with the new venv's Python (install = \"run\")".into())
            }
            (true, false) => notes.push(format!(
                "has an install.py that does not run; `install = \"run\"` under [tool.comfydock.nodes.{id}] runs it"
            )),
            (false, true) if dir.is_dir() => notes.push("install = \"run\", but the pack has no install.py".into()),
            _ => {}
        }
        let facts = facts.get_or_insert_with(|| comfyui_facts(ws, lock));
        notes.extend(comfyui_needs(&meta, facts));
    }
}

/// A note for each ComfyUI requirement of the pack that the locked ComfyUI does not meet.
pub fn comfyui_needs(meta: &PackMeta, facts: &ComfyuiFacts) -> Vec<String> {
    let mut out = Vec::new();
    let checks = [
        ("ComfyUI", &meta.requires_comfyui, &facts.version),
        ("comfyui-frontend-package", &meta.requires_frontend, &facts.frontend),
    ];
    for (what, needs, have) in checks {
        if let (Some(spec), Some(have)) = (needs, have)
            && let Some(v) = parse_version(have)
            && satisfies(&v, spec) == Some(false)
        {
            out.push(format!(
                "needs {what} {spec}, the locked ComfyUI has {have}; `comfydock comfyui update` moves ComfyUI"
            ));
        }
    }
    out
}
