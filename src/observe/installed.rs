//! `.comfydock/installed.json`: what comfydock put on disk in the live generation, with file
//! fingerprints (size, mtime, inode) so the next observe is a round of `stat` calls.

use crate::manifest::NodeSource;
use crate::types::{Blake3, GitCommit, ModelKey, NodeId, WorkflowName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const INSTALLED_FILE: &str = "installed.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    pub generation: u64,
    pub comfyui_commit: Option<GitCommit>,
    /// Folder name of the live venv (`.venv-gen-N`); `.venv` links to it.
    pub venv: Option<String>,
    /// blake3 of the uv.lock that venv was synced from.
    pub uv_lock: Option<Blake3>,
    /// The torch backend extra that venv was synced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<crate::types::TorchBackend>,
    #[serde(default)]
    pub nodes: BTreeMap<NodeId, InstalledNode>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<ModelKey, InstalledModel>,
    /// The model tree `.comfydock/models` links to, holding `models`. None with models: they
    /// were placed in `ComfyUI/models/` by a comfydock from before model trees, and the next
    /// apply moves them into a tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_tree: Option<ModelTree>,
    /// Tracked workflows placed in `ComfyUI/user/default/workflows/`, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workflows: BTreeMap<WorkflowName, super::workflows::InstalledWorkflow>,
}

/// A generation's placed models as one tree, built once in `store/model-trees/<id>/` (the id is
/// a hash of what it holds) and switched by one symlink, `.comfydock/models`. ComfyUI reads
/// its categories through comfydock's section of `extra_model_paths.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelTree {
    pub id: String,
    /// Category folders of the tree, as that section lists them.
    pub categories: Vec<String>,
    /// The tree's folders and those of the files its symlinks point to, as apply left them:
    /// while each is unchanged (git's racy-clean rule against `stamped_at`), no entry was added,
    /// removed or renamed in them, so observe trusts the symlinks without reading each one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stamps: Vec<DirStamp>,
    /// When the stamps were taken, in nanoseconds since the epoch.
    #[serde(default)]
    pub stamped_at: i64,
}

/// A folder's modification time (ns) and inode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirStamp {
    pub path: String,
    pub mtime: i64,
    pub ino: u64,
}

/// How much older than the stamps a folder's mtime must be for the stamp to vouch for it: more
/// than a filesystem timestamp tick, so a change right after the stamp cannot keep the mtime.
const RACY_NS: i64 = 50_000_000;

impl DirStamp {
    pub fn of(path: &Path) -> Option<DirStamp> {
        let meta = fs_err::metadata(path).ok()?;
        Some(DirStamp {
            path: path.to_string_lossy().into_owned(),
            mtime: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ino: meta.ino(),
        })
    }
}

impl ModelTree {
    /// Whether every stamped folder is as it was and was not racily new when stamped.
    pub fn stamps_hold(&self) -> bool {
        !self.stamps.is_empty()
            && self
                .stamps
                .iter()
                .all(|s| s.mtime + RACY_NS < self.stamped_at && DirStamp::of(Path::new(&s.path)).as_ref() == Some(s))
    }
}

/// The folder of the workspace's store holding model trees.
pub const MODEL_TREES: &str = "model-trees";

impl Installed {
    /// Where the placed model at `path` (`models/<category>/<file>`) is: in the model tree,
    /// through the environment's link, or in `ComfyUI/` for models placed before model trees.
    pub fn model_entry(&self, env: &crate::workspace::EnvPaths, path: &str) -> std::path::PathBuf {
        if self.model_tree.is_some() {
            env.placed_models().join(tree_rel(path))
        } else {
            env.comfyui.join(path)
        }
    }

    /// Models placed in `ComfyUI/models/` by a comfydock from before model trees.
    pub fn legacy_models(&self) -> bool {
        self.model_tree.is_none() && !self.models.is_empty()
    }
}

/// A model's path in a model tree: its path under ComfyUI without `models/`.
pub fn tree_rel(path: &str) -> &str {
    path.strip_prefix("models/").unwrap_or(path)
}

/// How a model file reaches ComfyUI (its entry in the model tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    #[default]
    Symlink,
    Hardlink,
    Copy,
}

impl std::str::FromStr for LinkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "symlink" => Ok(LinkMode::Symlink),
            "hardlink" => Ok(LinkMode::Hardlink),
            "copy" => Ok(LinkMode::Copy),
            _ => Err(format!("`{s}` is not a link mode: symlink, hardlink or copy")),
        }
    }
}

impl std::fmt::Display for LinkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkMode::Symlink => "symlink",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Copy => "copy",
        })
    }
}

/// A model comfydock placed in the ComfyUI tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledModel {
    /// Of the content.
    pub blake3: Blake3,
    /// Relative to the ComfyUI folder (`models/checkpoints/x.safetensors`).
    pub path: String,
    pub mode: LinkMode,
    /// The file it came from (a symlink's target; for a hardlink or copy, where it was made from).
    pub target: String,
    pub fingerprint: Fingerprint,
}

/// A node comfydock put in `custom_nodes/`: a dev node's link, or a pack's files placed from a
/// store entry. Read and written as the record always was ([`NodeRecord`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NodeRecord", into = "NodeRecord")]
pub enum InstalledNode {
    /// A dev node: `custom_nodes/<id>` links to the folder the user develops in (or is it,
    /// adopted in place).
    Linked {
        link: String,
    },
    Placed(PlacedNode),
}

/// A pack whose files comfydock copied from a store entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedNode {
    /// Registry, git or comfydock (never local: a local pack is linked).
    pub source: NodeSource,
    /// As the lock describes it (version, `rev@commit`), for plan lines.
    pub version: Option<String>,
    /// The locked tree placed.
    pub tree: Blake3,
    /// Files comfydock placed, by path relative to the node folder. Files the pack writes at run
    /// time are not here, so they are never drift.
    pub files: BTreeMap<String, Fingerprint>,
    /// Its folder in `custom_nodes/` when that is not its id.
    pub folder: Option<String>,
    /// The derived store entry placed (the pack as its install.py left it), when a script ran.
    pub derived: Option<Blake3>,
    /// The node's declared runtime paths (`runtime_paths` in its table), as placed.
    pub runtime_paths: Vec<String>,
}

/// `installed.json`'s node entry as written, every source in one shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NodeRecord {
    source: NodeSource,
    version: Option<String>,
    tree: Option<Blake3>,
    link: Option<String>,
    #[serde(default)]
    files: BTreeMap<String, Fingerprint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    derived: Option<Blake3>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    runtime_paths: Vec<String>,
}

impl TryFrom<NodeRecord> for InstalledNode {
    type Error = String;

    fn try_from(r: NodeRecord) -> Result<Self, String> {
        match (r.link, r.tree) {
            (Some(link), _) => Ok(InstalledNode::Linked { link }),
            (None, Some(tree)) if r.source != NodeSource::Local => Ok(InstalledNode::Placed(PlacedNode {
                source: r.source,
                version: r.version,
                tree,
                files: r.files,
                folder: r.folder,
                derived: r.derived,
                runtime_paths: r.runtime_paths,
            })),
            _ => Err("a node record has neither a dev link nor a placed tree".into()),
        }
    }
}

impl From<InstalledNode> for NodeRecord {
    fn from(node: InstalledNode) -> NodeRecord {
        match node {
            // The path is what `plan` shows as a dev node's version.
            InstalledNode::Linked { link } => NodeRecord {
                source: NodeSource::Local,
                version: Some(link.clone()),
                tree: None,
                link: Some(link),
                files: BTreeMap::new(),
                folder: None,
                derived: None,
                runtime_paths: Vec::new(),
            },
            InstalledNode::Placed(p) => NodeRecord {
                source: p.source,
                version: p.version,
                tree: Some(p.tree),
                link: None,
                files: p.files,
                folder: p.folder,
                derived: p.derived,
                runtime_paths: p.runtime_paths,
            },
        }
    }
}

impl InstalledNode {
    /// The folder in `custom_nodes/` the node `id` was placed in.
    pub fn folder<'a>(&'a self, id: &'a str) -> &'a str {
        match self {
            InstalledNode::Placed(PlacedNode { folder: Some(f), .. }) => f,
            _ => id,
        }
    }

    /// A dev node's link target.
    pub fn link(&self) -> Option<&str> {
        match self {
            InstalledNode::Linked { link } => Some(link),
            InstalledNode::Placed(_) => None,
        }
    }

    pub fn placed(&self) -> Option<&PlacedNode> {
        match self {
            InstalledNode::Placed(p) => Some(p),
            InstalledNode::Linked { .. } => None,
        }
    }

    /// How plans show what is installed: the placed version, or a dev node's path.
    pub fn version(&self) -> Option<&str> {
        match self {
            InstalledNode::Linked { link } => Some(link),
            InstalledNode::Placed(p) => p.version.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint(pub u64, pub i64, pub u64);

impl Fingerprint {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Fingerprint(
            meta.size(),
            meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            meta.ino(),
        )
    }
}

impl Installed {
    pub fn load(state_dir: &Path) -> std::io::Result<Installed> {
        let path = state_dir.join(INSTALLED_FILE);
        match fs_err::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Installed::default()),
            Err(e) => Err(e),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable")
    }
}

/// Fingerprints of every regular file and symlink below `dir`.
pub fn fingerprint_tree(dir: &Path) -> std::io::Result<BTreeMap<String, Fingerprint>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(std::io::Error::other)?
            .to_string_lossy()
            .into_owned();
        out.insert(rel, Fingerprint::of(&entry.path().symlink_metadata()?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `installed.json` as comfydock wrote it before its values were typed: it reads, and
    /// writes back the same JSON.
    #[test]
    fn a_record_written_before_the_types_reads_and_round_trips() {
        let b3 = format!("blake3:{}", "ab".repeat(32));
        let text = format!(
            r#"{{
  "generation": 3,
  "comfyui_commit": "{commit}",
  "venv": ".venv-gen-3",
  "uv_lock": "{b3}",
  "nodes": {{
    "alpha": {{
      "source": "git",
      "version": "main@0123456789",
      "tree": "{b3}",
      "link": null,
      "files": {{
        "__init__.py": [12, 1700000000000000000, 42]
      }},
      "folder": "Alpha",
      "derived": "{b3}",
      "runtime_paths": ["cache"]
    }},
    "mine": {{
      "source": "local",
      "version": "/home/me/mine",
      "tree": null,
      "link": "/home/me/mine",
      "files": {{}}
    }}
  }},
  "models": {{
    "sd15": {{
      "blake3": "{b3}",
      "path": "models/checkpoints/sd15.safetensors",
      "mode": "symlink",
      "target": "/models/sd15.safetensors",
      "fingerprint": [1, 2, 3]
    }}
  }},
  "workflows": {{
    "my flow": {{
      "blake3": "{b3}",
      "fingerprint": [4, 5, 6],
      "beside": "{b3}"
    }}
  }}
}}"#,
            commit = "c".repeat(40)
        );
        let installed: Installed = serde_json::from_str(&text).unwrap();
        assert_eq!(installed.models["sd15"].blake3.to_string(), b3);
        assert_eq!(
            installed.nodes["mine"],
            InstalledNode::Linked {
                link: "/home/me/mine".into()
            }
        );
        assert_eq!(installed.nodes["alpha"].folder("alpha"), "Alpha");
        let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
        assert_eq!(json(&installed.to_json()), json(&text));
        // A record that is neither a link nor a placed tree is refused, not guessed at.
        let neither = text.replace(
            &format!("\"tree\": \"{b3}\",\n      \"link\": null"),
            "\"tree\": null,\n      \"link\": null",
        );
        assert_ne!(neither, text);
        assert!(serde_json::from_str::<Installed>(&neither).is_err());
    }
}
