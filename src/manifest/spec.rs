//! Typed view of `[tool.comfydock]`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ComfydockConfig {
    pub version: String,
    pub comfyui_version: Option<String>,
    pub comfyui_repo: Option<String>,
    pub python_version: Option<String>,
    /// The torch backends (`cpu`, `cu124`, `rocm6.2`, ...) the lock covers, each an extra of the
    /// uv project with its own index; empty: torch comes as the requirements say.
    #[serde(default)]
    pub torch_backends: Vec<String>,
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeSpec>,
    #[serde(default)]
    pub models: BTreeMap<String, ModelSpec>,
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
pub struct NodeSpec {
    pub name: Option<String>,
    pub source: Option<NodeSource>,
    pub registry_id: Option<String>,
    pub version: Option<String>,
    pub repository: Option<String>,
    pub rev: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ModelSpec {
    pub name: Option<String>,
    pub hash: String,
    pub size: Option<u64>,
    pub category: Option<String>,
    pub filename: Option<String>,
    #[serde(default)]
    pub sources: Vec<ModelSource>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
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
        sha256: Option<String>,
    },
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Workflows {
    #[serde(default)]
    pub tracked: BTreeMap<String, TrackedWorkflow>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TrackedWorkflow {
    pub file: String,
    #[serde(default)]
    pub requires: Requires,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Requires {
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub python: Vec<String>,
}
