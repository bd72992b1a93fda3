//! Typed view of `[tool.comfydock]`.

//! Every value is checked where it is read (see `crate::types`), and unknown keys are errors:
//! a typo such as `revv` must not silently drop a pin.

use crate::types::{
    Blake3, FileName, GitRef, ModelKey, NodeId, PackVersion, PythonVersion, RelPath, RepoUrl, Sha256, TorchBackend,
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
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: Option<String>,
    pub source: Option<NodeSource>,
    pub registry_id: Option<NodeId>,
    /// A registry version or spec (`1.2.0`, `latest`, `>=1.2`).
    pub version: Option<PackVersion>,
    pub repository: Option<RepoUrl>,
    pub rev: Option<GitRef>,
    pub path: Option<String>,
    /// `install = "run"`: the pack's `install.py` runs when the pack is staged. Absent: it never runs.
    pub install: Option<InstallScript>,
}

/// What comfydock does with a pack's `install.py`; the only accepted value is `run`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InstallScript {
    Run,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: Option<String>,
    pub hash: Blake3,
    pub size: Option<u64>,
    pub category: Option<RelPath>,
    pub filename: Option<FileName>,
    #[serde(default)]
    pub sources: Vec<ModelSource>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
    #[serde(default)]
    pub requires: Requires,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub python: Vec<String>,
}
