//! One environment's paths, and what `list` shows about it.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct EnvPaths {
    pub name: String,
    pub root: PathBuf,
    /// `.cec/`: the desired state, a git repository.
    pub cec: PathBuf,
    /// `.comfydock/`: per-environment state (journal, generations, trash, lock).
    pub state: PathBuf,
    pub venv: PathBuf,
    pub comfyui: PathBuf,
}

impl EnvPaths {
    pub fn new(root: PathBuf, name: &str) -> Self {
        EnvPaths {
            name: name.to_string(),
            cec: root.join(".cec"),
            state: root.join(".comfydock"),
            venv: root.join(".venv"),
            comfyui: root.join("ComfyUI"),
            root,
        }
    }

    pub fn pyproject(&self) -> PathBuf {
        self.cec.join("pyproject.toml")
    }

    pub fn custom_nodes(&self) -> PathBuf {
        self.comfyui.join("custom_nodes")
    }

    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    /// The link to the live generation's model tree (`store/model-trees/<id>`), which ComfyUI
    /// reads through comfydock's section of `ComfyUI/extra_model_paths.yaml`.
    pub fn placed_models(&self) -> PathBuf {
        self.state.join("models")
    }

    /// Present while `create` is still building the environment (or after it was killed).
    pub fn creating_marker(&self) -> PathBuf {
        self.state.join("creating")
    }

    /// Present while this machine does not place the environment's models, until
    /// `apply --place-models` (written by `import --models skip`). Per machine, so not in `.cec`.
    pub fn models_skipped_marker(&self) -> PathBuf {
        self.state.join("models-skipped")
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvInfo {
    pub name: String,
    pub active: bool,
    pub path: PathBuf,
    pub comfyui_version: Option<String>,
    pub python_version: Option<String>,
    /// False when a `create` did not finish (killed); `delete` cleans it up.
    pub complete: bool,
}

impl EnvInfo {
    pub fn read(paths: &EnvPaths, active: bool) -> Self {
        let config = crate::manifest::Manifest::load(&paths.pyproject())
            .ok()
            .map(|m| m.config().clone());
        EnvInfo {
            name: paths.name.clone(),
            active,
            path: paths.root.clone(),
            comfyui_version: config
                .as_ref()
                .and_then(|c| c.comfyui_version.as_ref().map(ToString::to_string)),
            python_version: config
                .as_ref()
                .and_then(|c| c.python_version.as_ref().map(ToString::to_string)),
            complete: !Path::exists(&paths.creating_marker()),
        }
    }
}
