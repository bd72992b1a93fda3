//! Which model tree already holds a set of models, without looking at each model: the record
//! `store/model-trees/want-<hash>.json`, written when a tree is built or checked entry by
//! entry. The hash covers what a lock asks of each placed model (its path, link mode and
//! content hash), so a plan or apply can compute it from the lock alone; the record gives the
//! tree, each entry's source file and the stamps of the tree's folders and of the folders its
//! symlinks point into. While those stamps hold (git's racy-clean rule, as the no-op plan trusts
//! the live tree), rolling back to those models, or a second environment with them, is one
//! switch: no model index lookup and no check of each entry.

use crate::observe::{InstalledModel, LinkMode, ModelTree, NodeState, tree_rel};
use crate::types::Blake3;
use crate::workspace::Workspace;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Record files in the model-trees folder: `want-<hash>.json`.
pub const PREFIX: &str = "want-";
/// A record is comfydock's own file in the store; larger than this it is not read.
const MAX_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TreeRecord {
    /// The tree (its id) and the stamps taken when it was built or checked.
    pub tree: ModelTree,
    /// Its entries, by path under ComfyUI (`models/<category>/<file>`).
    pub models: BTreeMap<String, InstalledModel>,
}

/// The hash of what is asked of the placed models: (path, link mode, content hash) of each,
/// the hash in its text form (`blake3:<hex>`), as the ids of existing records were made.
pub fn want_id<'a, P: AsRef<str>>(entries: impl IntoIterator<Item = (P, LinkMode, &'a Blake3)>) -> String {
    let mut entries: Vec<(P, LinkMode, &Blake3)> = entries.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut hasher = blake3::Hasher::new();
    for (path, mode, blake3) in entries {
        for part in [path.as_ref(), &mode.to_string(), &blake3.to_string()] {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
    }
    hasher.finalize().to_hex()[..32].to_string()
}

/// [`want_id`] of placed models.
pub fn want_of<K>(models: &BTreeMap<K, InstalledModel>) -> String {
    want_id(models.values().map(|m| (m.path.as_str(), m.mode, &m.blake3)))
}

/// The trusted record ([`find`]) of the tree holding every model of `lock` that `placed` says
/// this machine places, each in `mode`.
pub fn for_lock(
    ws: &Workspace,
    lock: &crate::manifest::Lock,
    mode: LinkMode,
    placed: impl Fn(&str) -> bool,
) -> Option<TreeRecord> {
    let wanted: Vec<_> = lock
        .models
        .iter()
        .filter(|(key, _)| placed(key.as_str()))
        .map(|(_, m)| (m.link_path().to_string(), mode, &m.blake3))
        .collect();
    if wanted.is_empty() {
        return None;
    }
    find(ws, &want_id(wanted))
}

impl TreeRecord {
    /// The entry at `path` when it is the model `blake3` in `mode`.
    pub fn entry(&self, path: &str, mode: LinkMode, blake3: &Blake3) -> Option<&InstalledModel> {
        self.models.get(path).filter(|m| m.mode == mode && m.blake3 == *blake3)
    }
}

fn path(ws: &Workspace, want: &str) -> PathBuf {
    ws.store_dir()
        .join(crate::observe::MODEL_TREES)
        .join(format!("{PREFIX}{want}.json"))
}

/// The tree recorded for `want`, when it can be trusted as it is: its folders and those of its
/// symlinks' targets unchanged since they were stamped, and each hardlink or copy the file that
/// was placed (one `stat` per folder and per non-symlink entry). None otherwise: the caller
/// looks at each model.
pub fn find(ws: &Workspace, want: &str) -> Option<TreeRecord> {
    let file = path(ws, want);
    if fs_err::metadata(&file).ok()?.len() > MAX_BYTES {
        return None;
    }
    let record: TreeRecord = serde_json::from_slice(&fs_err::read(&file).ok()?).ok()?;
    let dir = file.parent()?.join(&record.tree.id);
    let holds = record.tree.stamps_hold()
        && record.tree.stamps.iter().any(|s| Path::new(&s.path) == dir)
        && record.models.values().all(|m| {
            m.mode == LinkMode::Symlink
                || crate::observe::model_state(&dir.join(tree_rel(&m.path)), m) == NodeState::Intact
        });
    holds.then_some(record)
}

/// Records `tree` as holding `models` (comfydock's own cache: a failure to write it costs the
/// next switch its shortcut, nothing else).
pub fn save<K>(ws: &Workspace, tree: &ModelTree, models: &BTreeMap<K, InstalledModel>) {
    let record = TreeRecord {
        tree: tree.clone(),
        models: models.values().map(|m| (m.path.clone(), m.clone())).collect(),
    };
    if let Ok(json) = serde_json::to_vec(&record) {
        let _ = crate::fsx::write_atomic(&path(ws, &want_of(models)), &json);
    }
}

/// The tree a record file names, for `gc` (None: not a record, or unreadable).
pub fn tree_of(file: &Path) -> Option<String> {
    let name = file.file_name()?.to_str()?;
    if !(name.starts_with(PREFIX) && name.ends_with(".json")) {
        return None;
    }
    #[derive(Deserialize)]
    struct Head {
        tree: Tree,
    }
    #[derive(Deserialize)]
    struct Tree {
        id: String,
    }
    let text = fs_err::read(file).ok()?;
    Some(serde_json::from_slice::<Head>(&text).ok()?.tree.id)
}
