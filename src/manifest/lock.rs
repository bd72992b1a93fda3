//! `.cec/comfydock.lock`: what the manifest resolved to, pinned exactly. TOML written
//! deterministically (sorted maps, fixed field order) so it diffs well in review.

use super::{ComfydockConfig, ManifestError, ModelSource, NodeSource, PackSource};
use crate::types::{
    Blake3, GitCommit, GitRef, ModelFile, ModelKey, NodeId, PackVersion, PythonVersion, RelPath, RepoUrl, Sha256,
    TorchBackend, WorkflowName,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const LOCK_VERSION: u32 = 1;
pub const LOCK_FILE: &str = "comfydock.lock";

const HEADER: &str = "# comfydock.lock: written by `comfydock lock`; do not edit by hand.\n";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    /// blake3 of the manifest inputs this lock was resolved from: staleness is one comparison.
    pub inputs: Blake3,
    pub comfyui: LockedComfyUI,
    pub python: LockedPython,
    #[serde(default)]
    pub nodes: BTreeMap<NodeId, LockedNode>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<ModelKey, LockedModel>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workflows: BTreeMap<WorkflowName, LockedWorkflow>,
}

/// A tracked workflow pinned by content: apply places exactly these bytes, and the models it
/// requires are pinned by hash so a review of the lock shows what the workflow runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedWorkflow {
    /// Relative to `.cec/`.
    pub file: RelPath,
    pub blake3: Blake3,
    /// The declared models it requires, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<ModelKey, Blake3>,
}

/// A model pinned by content: where ComfyUI finds it (category folder and file name) and where it
/// can be downloaded from when no local file has that content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedModel {
    pub blake3: Blake3,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub category: RelPath,
    pub filename: ModelFile,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ModelSource>,
}

impl LockedModel {
    /// `models/<category>/<filename>`, relative to the ComfyUI folder.
    pub fn link_path(&self) -> RelPath {
        let models: RelPath = "models".parse().expect("a valid relative path");
        models.join(&self.category).join_file(&self.filename)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedComfyUI {
    pub repo: RepoUrl,
    pub rev: GitRef,
    pub commit: GitCommit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPython {
    /// The Python the venv is made with; None when the manifest names none.
    #[serde(default, deserialize_with = "empty_as_none", serialize_with = "none_as_empty")]
    pub version: Option<PythonVersion>,
    /// blake3 of the Python inputs (dependencies, groups, `[tool.uv]`) uv.lock was made from.
    pub inputs: Blake3,
    /// blake3 of `.cec/uv.lock`.
    pub uv_lock: Blake3,
    /// The torch backends uv.lock covers (extras of the project); empty: none declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub torch_backends: Vec<TorchBackend>,
    /// What resolution did not take from node packs, one line each: requirement lines uv cannot
    /// read, torch family requests the environment overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PythonVersion>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Ok(None);
    }
    text.try_into().map(Some).map_err(serde::de::Error::custom)
}

fn none_as_empty<S: serde::Serializer>(v: &Option<PythonVersion>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_ref().map_or("", |v| v.as_str()))
}

/// A node pinned exactly; each source kind has the fields it needs, all checked when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum LockedNode {
    Registry(RegistryPin),
    Git(GitPin),
    /// A dev node (`source = "local"`): linked, never copied or deleted.
    #[serde(rename = "local")]
    Dev(DevLink),
    /// comfydock's panel pack: files embedded in the comfydock binary that pinned it.
    #[serde(rename = "comfydock")]
    Panel(PanelPin),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelPin {
    /// The comfydock version whose embedded files these are (only that version can place them
    /// without the store).
    pub version: PackVersion,
    /// blake3 tree hash of the files: the entry's name in `store/nodes/`.
    pub tree: Blake3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryPin {
    /// The pack's id in the registry (the manifest key may differ).
    pub registry_id: NodeId,
    pub version: PackVersion,
    /// Where the archive was downloaded from, and its sha256 (the registry publishes none, so the
    /// first fetch computes it and later fetches must match).
    pub url: String,
    pub sha256: Sha256,
    /// blake3 tree hash of the extracted files: the entry's name in `store/nodes/`.
    pub tree: Blake3,
    /// Its folder in `custom_nodes/` when that is not the manifest key: the registry id, as
    /// ComfyUI-Manager and comfy-cli name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitPin {
    pub repository: RepoUrl,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<GitRef>,
    pub commit: GitCommit,
    pub tree: Blake3,
    /// Its folder in `custom_nodes/` when that is not the manifest key: the repository's name as
    /// the repository spells it, as `git clone` names it (packs that refer to their own folder,
    /// such as `/extensions/ComfyUI-Custom-Scripts/`, need that name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevLink {
    /// Absolute path of the folder the user develops in.
    pub path: String,
}

/// A locked node whose files come from the store: every entry but a dev link. The plan's
/// install and update actions carry one, so apply places a node without looking it up again
/// and a dev node can never reach the store path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackPin {
    Registry(RegistryPin),
    Git(GitPin),
    Panel(PanelPin),
}

impl PackPin {
    pub fn source(&self) -> NodeSource {
        match self {
            PackPin::Registry(_) => NodeSource::Registry,
            PackPin::Git(_) => NodeSource::Git,
            PackPin::Panel(_) => NodeSource::Comfydock,
        }
    }

    /// The tree in the store.
    pub fn tree(&self) -> &Blake3 {
        match self {
            PackPin::Registry(p) => &p.tree,
            PackPin::Git(p) => &p.tree,
            PackPin::Panel(p) => &p.tree,
        }
    }

    /// The node's folder in `custom_nodes/`: the recorded one, else its manifest key.
    pub fn folder<'a>(&'a self, key: &'a str) -> &'a str {
        match self {
            PackPin::Registry(RegistryPin { folder: Some(f), .. }) | PackPin::Git(GitPin { folder: Some(f), .. }) => {
                f.as_str()
            }
            _ => key,
        }
    }

    /// How the node is shown in plans and lists: a version or a short commit.
    pub fn describe(&self) -> String {
        match self {
            PackPin::Registry(p) => p.version.to_string(),
            PackPin::Panel(p) => p.version.to_string(),
            PackPin::Git(p) => {
                let commit = p.commit.short();
                match &p.rev {
                    Some(rev) if !commit.starts_with(rev.as_str()) => format!("{rev}@{commit}"),
                    _ => commit.to_string(),
                }
            }
        }
    }
}

impl LockedNode {
    /// The store pin of this entry; None for a dev link.
    pub fn pack_pin(&self) -> Option<PackPin> {
        match self {
            LockedNode::Registry(p) => Some(PackPin::Registry(p.clone())),
            LockedNode::Git(p) => Some(PackPin::Git(p.clone())),
            LockedNode::Panel(p) => Some(PackPin::Panel(p.clone())),
            LockedNode::Dev(_) => None,
        }
    }

    pub fn source(&self) -> NodeSource {
        match self {
            LockedNode::Registry(_) => NodeSource::Registry,
            LockedNode::Git(_) => NodeSource::Git,
            LockedNode::Dev(_) => NodeSource::Local,
            LockedNode::Panel(_) => NodeSource::Comfydock,
        }
    }

    /// The node's folder in `custom_nodes/`: the recorded one, else its manifest key.
    pub fn folder<'a>(&'a self, key: &'a str) -> &'a str {
        match self {
            LockedNode::Registry(RegistryPin { folder: Some(f), .. })
            | LockedNode::Git(GitPin { folder: Some(f), .. }) => f.as_str(),
            _ => key,
        }
    }

    /// Records `folder` (None when it is the key, so the lock only says it when it matters).
    pub fn with_folder(mut self, key: &str, folder: &NodeId) -> LockedNode {
        let recorded = (folder.as_str() != key).then(|| folder.clone());
        match &mut self {
            LockedNode::Registry(p) => p.folder = recorded,
            LockedNode::Git(p) => p.folder = recorded,
            LockedNode::Dev(_) | LockedNode::Panel(_) => {}
        }
        self
    }

    /// The tree in the store; None for a dev node.
    pub fn tree(&self) -> Option<&Blake3> {
        match self {
            LockedNode::Registry(p) => Some(&p.tree),
            LockedNode::Git(p) => Some(&p.tree),
            LockedNode::Panel(p) => Some(&p.tree),
            LockedNode::Dev(_) => None,
        }
    }

    /// How the node is shown in plans and lists: a version, a short commit, or a path.
    pub fn describe(&self) -> String {
        match self {
            LockedNode::Dev(d) => d.path.clone(),
            placed => placed.pack_pin().map(|p| p.describe()).unwrap_or_default(),
        }
    }
}

impl Lock {
    pub fn parse(path: &Path, text: &str) -> Result<Lock, ManifestError> {
        let lock: Lock =
            toml::from_str(text).map_err(|e| ManifestError::invalid(path, text, e.message().to_string(), e.span()))?;
        if lock.version != LOCK_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                found: lock.version.to_string(),
                supported: "1",
            });
        }
        Ok(lock)
    }

    /// Why this lock is not what `config` resolves to, in entries apply trusts: a node, model or
    /// ComfyUI pin the manifest does not ask for, or asks for differently. The inputs hash
    /// covers the manifest; this covers the lock, so a hand-edited lock cannot add what no
    /// review of the manifest saw.
    pub fn mismatch(&self, config: &ComfydockConfig) -> Option<String> {
        let extra = |what: &str, key: &str| {
            Some(format!(
                "the lock has {what} `{key}` that the manifest does not declare"
            ))
        };
        for id in self.nodes.keys() {
            if !config.nodes.contains_key(id) {
                return extra("node", id);
            }
        }
        for id in config.nodes.keys() {
            if !self.nodes.contains_key(id) {
                return Some(format!("node `{id}` is not in the lock"));
            }
        }
        for (id, node) in &self.nodes {
            let spec = &config.nodes[id];
            let differs = match (node, &spec.source) {
                (LockedNode::Registry(p), PackSource::Registry { registry_id, .. }) => {
                    p.registry_id != *registry_id.as_ref().unwrap_or(id)
                }
                (LockedNode::Git(p), PackSource::Git { repository, rev, .. }) => {
                    *repository != p.repository || *rev != p.rev
                }
                // The folder the lock links must be the one the manifest names, so a hand-edited
                // lock cannot point the dev link elsewhere.
                (LockedNode::Dev(dev), PackSource::Local { path }) => {
                    std::fs::canonicalize(path)
                        .ok()
                        // A folder missing here is reported where it is used.
                        .is_some_and(|p| p.display().to_string() != dev.path)
                }
                (LockedNode::Panel(_), PackSource::Comfydock) => false,
                _ => true,
            } || node.folder(id) != spec.folder(id).as_str();
            if differs {
                return Some(format!("node `{id}` in the lock is not the one the manifest declares"));
            }
        }
        for key in self.models.keys() {
            if !config.models.contains_key(key) {
                return extra("model", key);
            }
        }
        for (key, spec) in &config.models {
            let Some(model) = self.models.get(key) else {
                return Some(format!("model `{key}` is not in the lock"));
            };
            if model.blake3 != spec.hash
                || spec.category().is_some_and(|c| c != model.category)
                || spec.filename().is_some_and(|f| f != model.filename)
            {
                return Some(format!(
                    "model `{key}` in the lock is not the one the manifest declares"
                ));
            }
        }
        // Workflows are compared with `.cec` by `resolve::workflows::workflows_changed`: their
        // pins need no resolution, so a difference there is re-pinned, not resolved.
        if config.comfyui_version.as_ref().is_some_and(|v| *v != self.comfyui.rev)
            || config.comfyui_repo.as_ref().is_some_and(|r| *r != self.comfyui.repo)
        {
            return Some("ComfyUI in the lock is not the version the manifest declares".into());
        }
        if config.torch_backends != self.python.torch_backends {
            return Some("the lock covers other torch backends than the manifest declares".into());
        }
        None
    }

    /// Reads the lock beside a manifest; None when there is none yet.
    pub fn load(path: &Path) -> Result<Option<Lock>, ManifestError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ManifestError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn render(&self) -> String {
        format!("{HEADER}{}", toml::to_string(self).expect("lock serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c";

    fn b3(c: char) -> Blake3 {
        Blake3::from_hex(&c.to_string().repeat(64)).unwrap()
    }

    pub(crate) fn sample() -> Lock {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "b-node".parse().unwrap(),
            LockedNode::Git(GitPin {
                repository: "https://x/b".parse().unwrap(),
                rev: Some("main".parse().unwrap()),
                commit: "0123456789abcdef0123456789abcdef01234567".parse().unwrap(),
                tree: b3('a'),
                folder: Some("b".parse().unwrap()),
            }),
        );
        nodes.insert(
            "a-dev".parse().unwrap(),
            LockedNode::Dev(DevLink { path: "/src/a".into() }),
        );
        nodes.insert(
            "c-reg".parse().unwrap(),
            LockedNode::Registry(RegistryPin {
                registry_id: "c-reg".parse().unwrap(),
                version: "1.2.0".parse().unwrap(),
                url: "https://x/c.zip".into(),
                sha256: Sha256::from_hex(&"5".repeat(64)).unwrap(),
                tree: b3('c'),
                folder: None,
            }),
        );
        Lock {
            version: 1,
            inputs: b3('f'),
            comfyui: LockedComfyUI {
                repo: "r".parse().unwrap(),
                rev: "v1".parse().unwrap(),
                commit: "c0ffee0000c0ffee0000c0ffee0000c0ffee0000".parse().unwrap(),
            },
            python: LockedPython {
                version: Some("3.11".parse().unwrap()),
                inputs: b3('1'),
                uv_lock: b3('0'),
                torch_backends: vec!["cpu".parse().unwrap()],
                notes: vec!["node b-node: `-e x` skipped".into()],
            },
            nodes,
            models: BTreeMap::from([(
                "sd15".parse().unwrap(),
                LockedModel {
                    blake3: format!("blake3:{HEX}").parse().unwrap(),
                    sha256: None,
                    size: Some(4),
                    category: "checkpoints".parse().unwrap(),
                    filename: "sd15.safetensors".parse().unwrap(),
                    sources: vec![ModelSource::Url {
                        url: "https://x/sd15.safetensors".into(),
                        sha256: None,
                    }],
                },
            )]),
            workflows: BTreeMap::new(),
        }
    }

    #[test]
    fn renders_sorted_and_reads_back() {
        let lock = sample();
        let text = lock.render();
        assert!(text.find("[nodes.a-dev]").unwrap() < text.find("[nodes.b-node]").unwrap());
        assert!(
            text.contains("[nodes.a-dev]\nsource = \"local\"\npath = \"/src/a\"\n"),
            "{text}"
        );
        assert_eq!(Lock::parse(Path::new("l"), &text).unwrap(), lock);
        assert_eq!(lock.render(), text, "rendering is deterministic");
        assert_eq!(
            lock.models.values().next().unwrap().link_path().as_str(),
            "models/checkpoints/sd15.safetensors"
        );
    }

    #[test]
    fn unknown_fields_and_versions_are_refused() {
        let text = sample().render().replace("version = 1", "version = 7");
        assert!(matches!(
            Lock::parse(Path::new("l"), &text),
            Err(ManifestError::UnsupportedVersion { .. })
        ));
        let text = sample()
            .render()
            .replace("version = 1\n", "version = 1\nsurprise = 1\n");
        assert!(Lock::parse(Path::new("l"), &text).is_err());
        // A field of one source kind on another is refused too.
        let text = sample()
            .render()
            .replace("path = \"/src/a\"", "path = \"/src/a\"\ncommit = \"x\"");
        assert!(Lock::parse(Path::new("l"), &text).is_err());
    }

    #[test]
    fn values_that_could_steer_apply_are_refused() {
        let good = sample().render();
        for (from, to) in [
            ("[nodes.b-node]", "[nodes.\"../models\"]"),
            ("[nodes.b-node]", "[nodes.\"\"]"),
            ("category = \"checkpoints\"", "category = \"../../../../outside\""),
            ("filename = \"sd15.safetensors\"", "filename = \"../x\""),
            ("0123456789abcdef0123456789abcdef01234567", "aéééééééé"),
            (HEX, "ab"),
            ("rev = \"main\"", "rev = \"--upload-pack=x\""),
            ("torch_backends = [\"cpu\"]", "torch_backends = [\"--all-extras\"]"),
        ] {
            assert!(good.contains(from), "{from}");
            let text = good.replacen(from, to, 1);
            let err = Lock::parse(Path::new("l"), &text);
            assert!(matches!(err, Err(ManifestError::Invalid { .. })), "{to}: {err:?}");
        }
    }
}
