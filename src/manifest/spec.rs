//! Typed view of `[tool.comfydock]`.

//! Every value is checked where it is read (see `crate::types`), and unknown keys are errors:
//! a typo such as `revv` must not silently drop a pin.

use crate::types::{
    Blake3, GitRef, ModelFile, ModelKey, NodeId, PackVersion, PythonRequirement, PythonVersion, RelPath, RepoUrl,
    Sha256, TorchBackend,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ComfydockConfig {
    pub version: String,
    pub comfyui_version: Option<GitRef>,
    pub comfyui_repo: Option<RepoUrl>,
    pub python_version: Option<PythonVersion>,
    /// The torch backends (`cpu`, `cu124`, `rocm6.2`, ...) the lock covers, each an extra of the
    /// uv project with its own index; empty: torch comes as the requirements say.
    #[serde(default)]
    pub torch_backends: Vec<TorchBackend>,
    #[serde(default)]
    pub nodes: BTreeMap<NodeId, NodeSpec>,
    #[serde(default)]
    pub models: BTreeMap<ModelKey, ModelSpec>,
    #[serde(default)]
    pub workflows: Workflows,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum NodeSource {
    Registry,
    Git,
    Local,
    /// comfydock's own ComfyUI panel, embedded in the binary (`comfydock panel enable`).
    Comfydock,
}

/// A declared node pack: where it comes from ([`PackSource`], only the fields that source has)
/// beside what any pack may have. Read from the table as written ([`NodeFields`]), so a
/// combination no source has (a registry pack with a `repository`, a git pack without one) is
/// refused where the manifest is read, at the table's place in the file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(try_from = "NodeFields", into = "NodeFields")]
pub struct NodeSpec {
    pub name: Option<String>,
    pub source: PackSource,
    /// `install = "run"`: the pack's `install.py` runs when the pack is staged. Absent: it never runs.
    pub install: Option<InstallScript>,
    /// Seconds this pack's install.py may run (the workspace's `install_timeout` otherwise).
    pub install_timeout: Option<InstallTimeout>,
    /// Paths inside the pack folder the pack writes at run time (config files, caches, fetched
    /// weights): never drift. `*` matches within one path part.
    pub runtime_paths: Vec<RelPath>,
}

/// Where a declared pack comes from, with the fields that source has.
#[derive(Debug, Clone, PartialEq)]
pub enum PackSource {
    Registry {
        /// The pack's id in the registry; None: the manifest key.
        registry_id: Option<NodeId>,
        /// A registry version or spec (`1.2.0`, `latest`, `>=1.2`); None: the latest.
        version: Option<PackVersion>,
    },
    Git {
        repository: RepoUrl,
        rev: Option<GitRef>,
        /// The table has no `source` key (a pack with a `repository` is a git pack): kept so
        /// comfydock's edits write the table in the user's form.
        implied: bool,
    },
    /// A dev node: a folder the user develops in, linked.
    Local { path: String },
    /// comfydock's own ComfyUI panel.
    Comfydock,
}

/// A node table as written: every key optional, checked against `source` by
/// `TryFrom<NodeFields> for NodeSpec`.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
struct NodeFields {
    name: Option<String>,
    source: Option<NodeSource>,
    registry_id: Option<NodeId>,
    version: Option<PackVersion>,
    repository: Option<RepoUrl>,
    rev: Option<GitRef>,
    path: Option<String>,
    install: Option<InstallScript>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    install_timeout: Option<InstallTimeout>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    runtime_paths: Vec<RelPath>,
}

impl TryFrom<NodeFields> for NodeSpec {
    type Error = String;

    fn try_from(f: NodeFields) -> Result<Self, String> {
        let kind = f.source.unwrap_or(NodeSource::Git);
        let written = |key: &'static str, present: bool| present.then_some(key);
        // The keys each source does not have, if written.
        let foreign: Vec<&str> = [
            written("registry_id", f.registry_id.is_some() && kind != NodeSource::Registry),
            written("version", f.version.is_some() && kind != NodeSource::Registry),
            written("repository", f.repository.is_some() && kind != NodeSource::Git),
            written("rev", f.rev.is_some() && kind != NodeSource::Git),
            written("path", f.path.is_some() && kind != NodeSource::Local),
        ]
        .into_iter()
        .flatten()
        .collect();
        let source_text = match f.source {
            Some(s) => format!("`source = \"{}\"`", source_word(s)),
            None => "no `source` (a git pack)".to_string(),
        };
        if let Some(first) = foreign.first() {
            let owner = match *first {
                "registry_id" | "version" => "registry",
                "repository" | "rev" => "git",
                _ => "local",
            };
            return Err(format!(
                "{} belong{} to a {owner} pack, but this pack has {source_text}: remove {} or set `source = \"{owner}\"`",
                foreign.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                if foreign.len() == 1 { "s" } else { "" },
                if foreign.len() == 1 { "it" } else { "them" },
            ));
        }
        let source = match kind {
            NodeSource::Registry => PackSource::Registry {
                registry_id: f.registry_id,
                version: f.version,
            },
            NodeSource::Git => PackSource::Git {
                repository: f.repository.ok_or_else(|| {
                    format!("a git pack needs `repository = \"URL\"` ({source_text}); a registry, local or comfydock pack says so with `source`")
                })?,
                rev: f.rev,
                implied: f.source.is_none(),
            },
            NodeSource::Local => PackSource::Local {
                path: f.path.ok_or("a local pack needs `path = \"FOLDER\"`, the folder you develop it in")?,
            },
            NodeSource::Comfydock => PackSource::Comfydock,
        };
        Ok(NodeSpec {
            name: f.name,
            source,
            install: f.install,
            install_timeout: f.install_timeout,
            runtime_paths: f.runtime_paths,
        })
    }
}

impl From<NodeSpec> for NodeFields {
    fn from(spec: NodeSpec) -> NodeFields {
        let mut f = NodeFields {
            name: spec.name,
            source: (!spec.source.implied()).then(|| spec.source.kind()),
            install: spec.install,
            install_timeout: spec.install_timeout,
            runtime_paths: spec.runtime_paths,
            ..NodeFields::default()
        };
        match spec.source {
            PackSource::Registry { registry_id, version } => {
                f.registry_id = registry_id;
                f.version = version;
            }
            PackSource::Git { repository, rev, .. } => {
                f.repository = Some(repository);
                f.rev = rev;
            }
            PackSource::Local { path } => f.path = Some(path),
            PackSource::Comfydock => {}
        }
        f
    }
}

fn source_word(source: NodeSource) -> &'static str {
    match source {
        NodeSource::Registry => "registry",
        NodeSource::Git => "git",
        NodeSource::Local => "local",
        NodeSource::Comfydock => "comfydock",
    }
}

impl PackSource {
    pub fn kind(&self) -> NodeSource {
        match self {
            PackSource::Registry { .. } => NodeSource::Registry,
            PackSource::Git { .. } => NodeSource::Git,
            PackSource::Local { .. } => NodeSource::Local,
            PackSource::Comfydock => NodeSource::Comfydock,
        }
    }

    /// Whether the table leaves `source` out (a git pack).
    fn implied(&self) -> bool {
        matches!(self, PackSource::Git { implied: true, .. })
    }
}

/// A time limit in seconds, 1 to a day.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(try_from = "u64", into = "u64")]
pub struct InstallTimeout(u64);

impl InstallTimeout {
    pub fn seconds(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for InstallTimeout {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        match n {
            1..=86_400 => Ok(InstallTimeout(n)),
            _ => Err(format!("install_timeout = {n}: give seconds from 1 to 86400")),
        }
    }
}

impl From<InstallTimeout> for u64 {
    fn from(t: InstallTimeout) -> u64 {
        t.0
    }
}

impl NodeSpec {
    fn of(source: PackSource) -> NodeSpec {
        NodeSpec {
            name: None,
            source,
            install: None,
            install_timeout: None,
            runtime_paths: Vec::new(),
        }
    }

    /// A registry pack (`source = "registry"`).
    pub fn registry(registry_id: Option<NodeId>, version: Option<PackVersion>) -> NodeSpec {
        NodeSpec::of(PackSource::Registry { registry_id, version })
    }

    /// A git pack, written with `source = "git"`.
    pub fn git(repository: RepoUrl, rev: Option<GitRef>) -> NodeSpec {
        NodeSpec::of(PackSource::Git {
            repository,
            rev,
            implied: false,
        })
    }

    /// A dev node linked from `path`.
    pub fn local(path: String) -> NodeSpec {
        NodeSpec::of(PackSource::Local { path })
    }

    /// comfydock's panel.
    pub fn panel() -> NodeSpec {
        NodeSpec::of(PackSource::Comfydock)
    }

    pub fn kind(&self) -> NodeSource {
        self.source.kind()
    }

    /// The table's string keys as the user would write them, in the documented order (what
    /// `Manifest::set_node` writes).
    pub(crate) fn string_keys(&self) -> Vec<(&'static str, String)> {
        let f = NodeFields::from(self.clone());
        [
            ("name", f.name),
            ("source", f.source.map(|s| source_word(s).to_string())),
            ("registry_id", f.registry_id.map(String::from)),
            ("version", f.version.map(String::from)),
            ("repository", f.repository.map(String::from)),
            ("rev", f.rev.map(String::from)),
            ("path", f.path),
            ("install", f.install.map(|InstallScript::Run| "run".to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// The git repository, for a git pack.
    pub fn repository(&self) -> Option<&RepoUrl> {
        match &self.source {
            PackSource::Git { repository, .. } => Some(repository),
            _ => None,
        }
    }

    /// The pack's folder in `custom_nodes/`, as the tools people use name it: a git pack's
    /// repository name as the repository spells it (`git clone`), a registry pack's registry id
    /// (ComfyUI-Manager, comfy-cli); a local pack's key. The manifest key may differ.
    pub fn folder(&self, key: &NodeId) -> NodeId {
        let named = match &self.source {
            PackSource::Git { repository, .. } => {
                crate::types::CanonicalRepo::parse(repository.as_str()).and_then(|r| NodeId::sanitize(r.name()))
            }
            PackSource::Registry { registry_id, .. } => registry_id.clone(),
            PackSource::Local { .. } | PackSource::Comfydock => None,
        };
        named.unwrap_or_else(|| key.clone())
    }

    /// The pack this entry names: a registry pack by its registry id (the key when none is
    /// written), a git pack by its repository; a local pack has no identity beyond its key.
    pub fn identity(&self, key: &str) -> crate::types::PackIdentity {
        match &self.source {
            PackSource::Registry { registry_id, .. } => {
                crate::types::PackIdentity::of(Some(registry_id.as_ref().map_or(key, |r| r.as_str())), None)
            }
            PackSource::Git { repository, .. } => crate::types::PackIdentity::of(None, Some(repository.as_str())),
            PackSource::Local { .. } | PackSource::Comfydock => crate::types::PackIdentity::of(None, None),
        }
    }
}

/// What comfydock does with a pack's `install.py`; the only accepted value is `run`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InstallScript {
    Run,
}

/// A declared model, with its fields as the user wrote them (comfydock's edits keep the form:
/// `category` + `filename`, or the brief's `local_path`). Where it goes is [`ModelSpec::category`]
/// and [`ModelSpec::filename`], whichever form gave it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, try_from = "ModelFields")]
pub struct ModelSpec {
    pub name: Option<String>,
    pub hash: Blake3,
    pub size: Option<u64>,
    pub category: Option<RelPath>,
    pub filename: Option<ModelFile>,
    /// `models/<category>/<file>`, relative to `ComfyUI/`: category and file in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_path: Option<RelPath>,
    #[serde(default)]
    pub sources: Vec<ModelSource>,
}

/// A model table as written, before `local_path` is checked against `category` and `filename`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFields {
    name: Option<String>,
    hash: Blake3,
    size: Option<u64>,
    category: Option<RelPath>,
    filename: Option<ModelFile>,
    local_path: Option<RelPath>,
    #[serde(default)]
    sources: Vec<ModelSource>,
}

impl TryFrom<ModelFields> for ModelSpec {
    type Error = String;

    fn try_from(f: ModelFields) -> Result<Self, String> {
        let spec = ModelSpec {
            name: f.name,
            hash: f.hash,
            size: f.size,
            category: f.category,
            filename: f.filename,
            local_path: f.local_path,
            sources: f.sources,
        };
        if let Some(path) = &spec.local_path {
            let (category, file) = split_local_path(path)?;
            if spec.category.as_ref().is_some_and(|c| *c != category) {
                return Err(format!(
                    "`local_path = \"{path}\"` puts the model in category `{category}`, but `category` says `{}`: keep one of the two",
                    spec.category.as_ref().map(RelPath::as_str).unwrap_or_default()
                ));
            }
            if spec.filename.as_ref().is_some_and(|f| *f != file) {
                return Err(format!(
                    "`local_path = \"{path}\"` names the file `{file}`, but `filename` says `{}`: keep one of the two",
                    spec.filename.as_ref().map(ModelFile::as_str).unwrap_or_default()
                ));
            }
        }
        Ok(spec)
    }
}

/// `models/<category>/<file…>` into its category (the first folder under `models/`, as ComfyUI
/// names them) and the file inside it (which may sit in subfolders).
fn split_local_path(path: &RelPath) -> Result<(RelPath, ModelFile), String> {
    let wrong = || {
        format!(
            "`local_path = \"{path}\"` must be `models/<category>/<file>` (relative to ComfyUI/, e.g. `models/checkpoints/sd15.safetensors`)"
        )
    };
    let rest = path.as_str().strip_prefix("models/").ok_or_else(wrong)?;
    let (category, file) = rest.split_once('/').ok_or_else(wrong)?;
    Ok((
        category.parse().map_err(|_| wrong())?,
        file.parse().map_err(|e: crate::types::InvalidValue| e.to_string())?,
    ))
}

impl ModelSpec {
    /// The category folder under `models/`, from `category` or `local_path`.
    pub fn category(&self) -> Option<RelPath> {
        self.category.clone().or_else(|| self.placed().map(|(c, _)| c))
    }

    /// The file inside the category folder, from `filename` or `local_path`.
    pub fn filename(&self) -> Option<ModelFile> {
        self.filename.clone().or_else(|| self.placed().map(|(_, f)| f))
    }

    fn placed(&self) -> Option<(RelPath, ModelFile)> {
        self.local_path.as_ref().and_then(|p| split_local_path(p).ok())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ModelSource {
    Huggingface {
        repo: String,
        file: String,
        revision: Option<String>,
    },
    Civitai {
        model_id: String,
        version_id: Option<String>,
    },
    Url {
        url: String,
        sha256: Option<Sha256>,
    },
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Workflows {
    #[serde(default)]
    pub tracked: BTreeMap<crate::types::WorkflowName, TrackedWorkflow>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrackedWorkflow {
    /// Relative to `.cec/`.
    pub file: RelPath,
    /// The user's own label for this workflow (`1.0.0`), kept through every edit and shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The user's own description, kept and shown like `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How far `comfydock test` takes this workflow (`run`, `validate`, `import`, `skip`); unset:
    /// the command's `--level` (default `validate`). Kept through every edit like `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestLevel>,
    #[serde(default)]
    pub requires: Requires,
}

/// A level of `comfydock test`, in order: each level includes the ones before it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum TestLevel {
    /// Not tested.
    Skip,
    /// Every node type the workflow uses is registered (`/object_info`).
    Import,
    /// Converted to a prompt and checked as ComfyUI's own validation would.
    Validate,
    /// Queued and executed; success is ComfyUI's `status_str == "success"`.
    Run,
}

impl TestLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TestLevel::Skip => "skip",
            TestLevel::Import => "import",
            TestLevel::Validate => "validate",
            TestLevel::Run => "run",
        }
    }
}

/// What a tracked workflow needs, each entry checked where the manifest is read: declared node
/// ids, declared model keys and PEP 508 requirements.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    #[serde(default)]
    pub nodes: Vec<NodeId>,
    #[serde(default)]
    pub models: Vec<ModelKey>,
    #[serde(default)]
    pub python: Vec<PythonRequirement>,
}
