//! What is on disk now, as an `Observed` value. Cheap by design: the ComfyUI HEAD, a directory
//! listing of `custom_nodes/`, one `stat` per file comfydock installed, and a symlink read.

pub mod builtin_nodes;
mod installed;
pub mod runtime_paths;
pub mod workflows;

pub use installed::{
    DirStamp, Fingerprint, INSTALLED_FILE, Installed, InstalledModel, InstalledNode, LinkMode, MODEL_TREES, ModelTree,
    PlacedNode, fingerprint_tree, tree_rel,
};

use crate::types::{ModelKey, NodeId, WorkflowName};
use crate::workspace::EnvPaths;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    #[serde(skip)]
    pub installed: Installed,
    /// HEAD of the ComfyUI checkout; None when there is no checkout.
    pub comfyui_commit: Option<crate::types::GitCommit>,
    /// ComfyUI's own tracked files as the user left them (Modified: edited or deleted by hand).
    pub comfyui_files: NodeState,
    /// The state of each node comfydock installed.
    pub nodes: BTreeMap<NodeId, NodeState>,
    /// Entries of `custom_nodes/` that comfydock did not put there.
    pub untracked: Vec<String>,
    /// Where `.venv` points (a `.venv-gen-N` name), if it is a working link.
    pub venv: Option<String>,
    /// The state of each model comfydock placed (Intact, or Missing when the entry or, for a
    /// symlink, its target is gone or changed).
    pub models: BTreeMap<ModelKey, NodeState>,
    /// ComfyUI's copy of each tracked workflow: those the live generation placed, and (added by
    /// the planner) those the lock tracks.
    pub workflows: BTreeMap<WorkflowName, workflows::WorkflowCopy>,
    /// The environment was imported with `--models skip`: locked models it never placed are left
    /// out of the plan on this machine (see `EnvPaths::models_skipped_marker`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub models_skipped: bool,
    /// Why comfydock's section of `ComfyUI/extra_model_paths.yaml` must be written again (gone,
    /// or not the one for the live model tree); None when it is as apply left it, or not needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_paths: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NodeState {
    Intact,
    /// Files comfydock placed were changed (`files`) or deleted (`deleted`), paths relative to
    /// the node folder. Files a pack wrote itself are not drift.
    Modified {
        files: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deleted: Vec<String>,
        /// Files found in a pack folder that comfydock did not place and that are not the
        /// pack's runtime paths (added by hand, or by a script nobody declared).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<String>,
    },
    Missing,
}

impl Observed {
    /// Files the manifest now declares as runtime paths are no drift, even before the pack is
    /// installed again (the installed record knows the paths declared when it was placed).
    pub fn forgive_runtime_paths(&mut self, config: &crate::manifest::ComfydockConfig) {
        for (id, state) in self.nodes.iter_mut() {
            let NodeState::Modified { files, deleted, added } = state else {
                continue;
            };
            let Some(spec) = config.nodes.get(id.as_str()) else {
                continue;
            };
            let runtime = runtime_paths::RuntimePaths::new(spec.runtime_paths.iter().map(|p| p.as_str()));
            added.retain(|rel| !runtime.matches(rel));
            if files.is_empty() && deleted.is_empty() && added.is_empty() {
                *state = NodeState::Intact;
            }
        }
    }

    /// Whether the plan leaves locked model `key` out: this machine skips models and has not
    /// placed this one.
    pub fn skips_model(&self, key: &str) -> bool {
        self.models_skipped && !self.installed.models.contains_key(key)
    }
}

impl NodeState {
    /// `modified: a.py, b.py; deleted: c.py` (at most five names each).
    pub fn describe_changes(&self) -> String {
        let NodeState::Modified { files, deleted, added } = self else {
            return String::new();
        };
        let list = |what: &str, names: &[String]| {
            let mut shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            if names.len() > 5 {
                shown.push_str(&format!(" and {} more", names.len() - 5));
            }
            format!("{what}: {shown}")
        };
        let mut parts = Vec::new();
        if !files.is_empty() {
            parts.push(list("modified", files));
        }
        if !deleted.is_empty() {
            parts.push(list("deleted", deleted));
        }
        if !added.is_empty() {
            parts.push(list("added", added));
        }
        parts.join("; ")
    }
}

pub fn observe(env: &EnvPaths) -> std::io::Result<Observed> {
    let installed = Installed::load(&env.state)?;
    let comfyui_commit = if env.comfyui.join(".git").exists() {
        crate::git::head_commit(&env.comfyui).ok().flatten()
    } else {
        None
    };
    let custom_nodes = env.custom_nodes();
    let mut nodes = BTreeMap::new();
    for (id, node) in &installed.nodes {
        nodes.insert(id.clone(), node_state(&custom_nodes.join(node.folder(id)), node));
    }
    let comfyui_files = match &comfyui_commit {
        Some(_) => match crate::git::edited_tracked_files(&env.comfyui) {
            Ok((files, deleted)) if files.is_empty() && deleted.is_empty() => NodeState::Intact,
            Ok((files, deleted)) => NodeState::Modified {
                files,
                deleted,
                added: Vec::new(),
            },
            Err(_) => NodeState::Intact,
        },
        None => NodeState::Missing,
    };
    let untracked = match &comfyui_commit {
        Some(commit) => untracked_entries(env, commit, &installed)?,
        None => Vec::new(),
    };
    let venv = fs::read_link(&env.venv)
        .ok()
        .filter(|_| crate::python::venv_is_whole(&env.venv))
        .map(|t| t.to_string_lossy().into_owned());
    // The model tree is the one recorded when `.comfydock/models` links to it; otherwise every
    // placed model is missing from ComfyUI's view (the apply that follows switches the link).
    let tree_linked = match &installed.model_tree {
        Some(tree) => fs::read_link(env.placed_models())
            .is_ok_and(|t| t.file_name().is_some_and(|n| n.to_string_lossy() == tree.id)),
        None => true,
    };
    // Unchanged folders vouch for the symlinks in them (one stat per folder, not two calls per
    // model); otherwise two system calls per model, thousands of models: spread over the cores.
    let trusted = tree_linked && installed.model_tree.as_ref().is_some_and(ModelTree::stamps_hold);
    let models = if trusted {
        let mut states = BTreeMap::new();
        for (key, m) in &installed.models {
            let state = match m.mode {
                LinkMode::Symlink => NodeState::Intact,
                _ => model_state(&installed.model_entry(env, &m.path), m),
            };
            states.insert(key.clone(), state);
        }
        states
    } else if tree_linked {
        use rayon::prelude::*;
        let placed: Vec<_> = installed.models.iter().collect();
        placed
            .into_par_iter()
            .map(|(key, m)| (key.clone(), model_state(&installed.model_entry(env, &m.path), m)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    } else {
        installed
            .models
            .keys()
            .map(|k| (k.clone(), NodeState::Missing))
            .collect()
    };
    let model_paths = installed
        .model_tree
        .as_ref()
        .and_then(|tree| model_paths_drift(env, tree));
    let workflows = workflows::observe_placed(env, &installed);
    Ok(Observed {
        models_skipped: env.models_skipped_marker().exists(),
        workflows,
        installed,
        comfyui_commit,
        comfyui_files,
        nodes,
        untracked,
        venv,
        models,
        model_paths,
    })
}

/// Why comfydock's section of `extra_model_paths.yaml` is not the one for `tree`, if it is not.
fn model_paths_drift(env: &EnvPaths, tree: &ModelTree) -> Option<String> {
    use crate::models::paths_yaml;
    let expected = paths_yaml::placed_block(&env.placed_models(), &tree.categories);
    match fs::read_to_string(env.comfyui.join(paths_yaml::FILE_NAME)) {
        Ok(text) => match paths_yaml::current_block(&text) {
            Some(block) if block == expected => None,
            Some(_) => Some("comfydock's section was changed".into()),
            None => Some("comfydock's section is missing".into()),
        },
        Err(_) => Some("the file is missing".into()),
    }
}

/// A model entry is intact when it is what was placed: the same symlink (to a file that still
/// exists), or the same hardlink or copy (same size, mtime and inode). Two system calls for a
/// symlink (read it, stat its target) and one for a file: this runs once per placed model.
pub fn model_state(path: &std::path::Path, m: &InstalledModel) -> NodeState {
    let intact = match m.mode {
        LinkMode::Symlink => match fs::read_link(path) {
            Ok(t) => t.as_os_str().as_encoded_bytes() == m.target.as_bytes() && path.exists(),
            // Not a symlink (EINVAL): something else stands where the link was.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => false,
            Err(_) => return NodeState::Missing,
        },
        LinkMode::Hardlink | LinkMode::Copy => match path.symlink_metadata() {
            Ok(meta) => Fingerprint::of(&meta) == m.fingerprint,
            Err(_) => return NodeState::Missing,
        },
    };
    if intact {
        NodeState::Intact
    } else {
        NodeState::Modified {
            files: vec![m.path.clone()],
            deleted: Vec::new(),
            added: Vec::new(),
        }
    }
}

fn node_state(dir: &std::path::Path, node: &InstalledNode) -> NodeState {
    let node = match node {
        InstalledNode::Placed(p) => p,
        InstalledNode::Linked { link: target } => return link_state(dir, target),
    };
    match dir.symlink_metadata() {
        Ok(meta) if meta.is_dir() => {}
        _ => return NodeState::Missing,
    }
    let mut files = Vec::new();
    let mut deleted = Vec::new();
    for (rel, fp) in &node.files {
        match dir.join(rel).symlink_metadata() {
            Ok(m) if Fingerprint::of(&m) == *fp => {}
            Ok(_) => files.push(rel.clone()),
            Err(_) => deleted.push(rel.clone()),
        }
    }
    let added = added_files(dir, node);
    if files.is_empty() && deleted.is_empty() && added.is_empty() {
        NodeState::Intact
    } else {
        NodeState::Modified { files, deleted, added }
    }
}

/// A dev node's entry: the link to `target`, or the folder itself when adopted in place.
fn link_state(dir: &std::path::Path, target: &str) -> NodeState {
    // A dev pack adopted in place (`node adopt --dev`): the folder is the pack itself.
    if dir.symlink_metadata().is_ok_and(|m| m.is_dir()) && fs::canonicalize(dir).is_ok_and(|c| c.as_os_str() == target)
    {
        return NodeState::Intact;
    }
    match fs::read_link(dir) {
        Ok(t) if t.to_string_lossy() == target && dir.exists() => NodeState::Intact,
        Ok(_) => NodeState::Modified {
            files: vec![".".into()],
            deleted: Vec::new(),
            added: Vec::new(),
        },
        Err(_) => NodeState::Missing,
    }
}

/// Files in a placed pack folder that comfydock did not place and the pack does not declare as
/// written at run time. Folders are listed, never followed through links.
pub fn added_files(dir: &std::path::Path, node: &PlacedNode) -> Vec<String> {
    let runtime = runtime_paths::RuntimePaths::new(node.runtime_paths.iter().map(String::as_str));
    let mut added = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(dir).map(|r| r.to_string_lossy().into_owned());
            !rel.is_ok_and(|r| runtime.matches(&r))
        });
    for entry in walk.flatten() {
        if entry.file_type().is_dir() {
            continue;
        }
        if let Ok(rel) = entry.path().strip_prefix(dir) {
            let rel = rel.to_string_lossy().into_owned();
            if !node.files.contains_key(&rel) {
                added.push(rel);
            }
        }
    }
    added.sort();
    added
}

/// Entries of `custom_nodes/` that are neither installed by comfydock nor part of ComfyUI's own
/// tree (its `example_node.py.example`). Hidden entries, `__pycache__` and `*.disabled` are
/// left alone: ComfyUI does not load them.
fn untracked_entries(
    env: &EnvPaths,
    commit: &crate::types::GitCommit,
    installed: &Installed,
) -> std::io::Result<Vec<String>> {
    let Ok(read) = fs::read_dir(env.custom_nodes()) else {
        return Ok(Vec::new());
    };
    let shipped: BTreeSet<String> = crate::git::list_dir_at(&env.comfyui, commit, "custom_nodes").unwrap_or_default();
    let placed: BTreeSet<&str> = installed.nodes.iter().map(|(id, n)| n.folder(id)).collect();
    let mut out = Vec::new();
    for entry in read {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            || name == "__pycache__"
            || name.ends_with(".disabled")
            || shipped.contains(&name)
            || placed.contains(name.as_str())
        {
            continue;
        }
        out.push(name);
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod added_tests {
    #[test]
    fn placed_and_runtime_files_are_not_added() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.py", "sub/b.py", "sub/__pycache__/b.pyc", "cache/x", "mine.txt"] {
            let p = dir.path().join(f);
            fs_err::create_dir_all(p.parent().unwrap()).unwrap();
            fs_err::write(p, "x").unwrap();
        }
        let node = super::PlacedNode {
            source: crate::manifest::NodeSource::Git,
            version: None,
            tree: crate::types::Blake3::of_bytes(b"tree"),
            files: ["a.py", "sub/b.py"]
                .iter()
                .map(|f| (f.to_string(), super::Fingerprint(0, 0, 0)))
                .collect(),
            folder: None,
            derived: None,
            runtime_paths: vec!["cache".into()],
        };
        assert_eq!(super::added_files(dir.path(), &node), vec!["mine.txt".to_string()]);
    }
}
