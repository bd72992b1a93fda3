//! The workspace: a root folder holding environments, shared stores and indexes
//! (layout in docs/architecture.md), its settings file, and how environments are found.

mod config;
pub mod credentials;
mod env;
mod error;
mod names;
pub mod settings;

pub use config::{StoreConfig, WorkspaceConfig};
pub use env::{EnvInfo, EnvPaths};
pub use error::WorkspaceError;
pub use names::validate_env_name;

/// Where ComfyUI comes from unless the manifest says otherwise.
pub const DEFAULT_COMFYUI_REPO: &str = "https://github.com/Comfy-Org/ComfyUI";

use crate::python::Uv;
use std::fs;
use std::path::{Path, PathBuf};

pub type Result<T, E = WorkspaceError> = std::result::Result<T, E>;

/// Folders every workspace has; `init` creates them and `open` relies on them.
const LAYOUT: &[&str] = &[
    ".metadata",
    "store/nodes",
    "store/downloads",
    "models",
    "uv_cache",
    "uv/python",
    "logs",
    "environments",
];

#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Where the workspace is: `--workspace`, else `COMFYDOCK_HOME`, else `~/.comfydock_workspace`.
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        if let Some(p) = explicit {
            return p.to_path_buf();
        }
        if let Some(p) = std::env::var_os("COMFYDOCK_HOME").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".comfydock_workspace")
    }

    /// Creates the workspace, or completes a partial one. Returns whether anything was new.
    pub fn init(root: &Path) -> Result<(Workspace, bool)> {
        if root.exists() && !root.is_dir() {
            return Err(WorkspaceError::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        let io = |source| WorkspaceError::Io {
            path: root.to_path_buf(),
            source,
        };
        let mut created = !root.join(config::FILE_NAME).is_file();
        for dir in LAYOUT {
            let path = root.join(dir);
            if !path.is_dir() {
                fs::create_dir_all(&path).map_err(io)?;
                created = true;
            }
        }
        if !root.join(config::FILE_NAME).is_file() {
            crate::fsx::write_atomic(&root.join(config::FILE_NAME), config::TEMPLATE.as_bytes()).map_err(io)?;
        }
        let root = fs::canonicalize(root).map_err(io)?;
        Ok((Workspace { root }, created))
    }

    /// Opens an existing workspace; never creates one (a typo in a path must not make a new one).
    pub fn open(root: &Path) -> Result<Workspace> {
        if root.exists() && !root.is_dir() {
            return Err(WorkspaceError::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        if !root.join(config::FILE_NAME).is_file() {
            return Err(WorkspaceError::NotAWorkspace {
                path: root.to_path_buf(),
            });
        }
        let root = fs::canonicalize(root).map_err(|source| WorkspaceError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Workspace { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> Result<WorkspaceConfig> {
        WorkspaceConfig::load(&self.root.join(config::FILE_NAME))
    }

    pub fn environments_dir(&self) -> PathBuf {
        self.root.join("environments")
    }

    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The uv driver, using the workspace's shared cache and Python installs.
    pub fn uv(&self) -> Result<Uv> {
        let config = self.config()?;
        Ok(Uv::locate(
            config.uv.as_deref(),
            self.uv_cache_dir(&config),
            self.root.join("uv/python"),
        )?)
    }

    /// uv's cache: `COMFYDOCK_UV_CACHE`, else `uv_cache` in workspace.toml (relative to the
    /// workspace), else the workspace's own `uv_cache/`. One cache may serve many workspaces.
    pub fn uv_cache_dir(&self, config: &WorkspaceConfig) -> PathBuf {
        std::env::var_os("COMFYDOCK_UV_CACHE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| config.uv_cache.clone())
            .map_or_else(|| self.root.join("uv_cache"), |p| self.root.join(p))
    }

    /// Paths of environment `name`, which must exist.
    pub fn env(&self, name: &str) -> Result<EnvPaths> {
        validate_env_name(name)?;
        let paths = EnvPaths::new(self.environments_dir().join(name), name);
        if !paths.root.is_dir() {
            return Err(WorkspaceError::UnknownEnvironment {
                name: name.to_string(),
                known: self.env_names()?.join(", "),
            });
        }
        Ok(paths)
    }

    /// The environment a command acts on: `-e NAME`, else the one the current directory is in,
    /// else the active one.
    pub fn select_env(&self, explicit: Option<&str>) -> Result<EnvPaths> {
        if let Some(name) = explicit {
            return self.env(name);
        }
        if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize)
            && let Ok(rel) = cwd.strip_prefix(self.environments_dir())
            && let Some(first) = rel.components().next()
        {
            return self.env(&first.as_os_str().to_string_lossy());
        }
        match self.config()?.active_environment {
            Some(name) => self.env(&name),
            None => Err(WorkspaceError::NoActiveEnvironment),
        }
    }

    pub fn env_names(&self) -> Result<Vec<String>> {
        let dir = self.environments_dir();
        let entries = fs::read_dir(&dir).map_err(|source| WorkspaceError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| validate_env_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    pub fn list(&self) -> Result<Vec<EnvInfo>> {
        let active = self.config()?.active_environment;
        Ok(self
            .env_names()?
            .into_iter()
            .map(|name| {
                let paths = EnvPaths::new(self.environments_dir().join(&name), &name);
                EnvInfo::read(&paths, active.as_deref() == Some(name.as_str()))
            })
            .collect())
    }

    pub fn set_active(&self, name: Option<&str>) -> Result<()> {
        if let Some(n) = name {
            self.env(n)?;
        }
        WorkspaceConfig::set_active(&self.root.join(config::FILE_NAME), name)
    }

    /// Deletes an environment's folder; clears it as the active one.
    pub fn delete_env(&self, name: &str, reporter: &dyn crate::progress::Reporter) -> Result<()> {
        let paths = self.env(name)?;
        // Move out of the way first, so a crash mid-delete never leaves a half environment
        // that still looks like one.
        let doomed = self
            .environments_dir()
            .join(format!(".deleting-{name}-{}", std::process::id()));
        crate::fsx::rename_durable(&paths.root, &doomed).map_err(|source| WorkspaceError::Io {
            path: paths.root.clone(),
            source,
        })?;
        let entries = crate::fsx::count_entries(&doomed);
        reporter.step(&format!("Removing environment `{name}` ({entries} files and folders)"));
        crate::fsx::remove_tree_counted(&doomed, entries, name, reporter).map_err(|source| WorkspaceError::Io {
            path: doomed.clone(),
            source,
        })?;
        if self.config()?.active_environment.as_deref() == Some(name) {
            self.set_active(None)?;
        }
        Ok(())
    }
}
