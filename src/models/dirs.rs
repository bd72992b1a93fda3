//! The workspace's model folders: its own `models/`, plus folders added with `model dirs add`
//! (kept in `workspace.toml` as `model_dirs`).

use super::index::ModelIndex;
use super::{ModelError, Result};
use crate::workspace::{Workspace, WorkspaceConfig};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ModelDirs {
    /// `<workspace>/models`, always present.
    pub builtin: PathBuf,
    /// Added folders, absolute, in the order they were added.
    pub added: Vec<PathBuf>,
}

impl ModelDirs {
    pub fn of(ws: &Workspace) -> Result<Self> {
        Ok(ModelDirs {
            builtin: ws.root().join("models"),
            added: ws.config()?.model_dirs,
        })
    }

    /// Every model folder, the workspace's own first.
    pub fn all(&self) -> Vec<PathBuf> {
        std::iter::once(self.builtin.clone())
            .chain(self.added.iter().cloned())
            .collect()
    }

    /// The model folder holding `path` (absolute), if any.
    pub fn containing(&self, path: &Path) -> Option<PathBuf> {
        self.all().into_iter().find(|d| path.starts_with(d))
    }

    /// The folders as one line, for messages.
    pub fn describe(&self) -> String {
        self.all()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Adds `dir` (which must exist) to the workspace's model folders. Returns its absolute path and
/// whether it was new. Nested folders are refused: a file would be indexed twice.
pub fn add(ws: &Workspace, dir: &Path) -> Result<(PathBuf, bool)> {
    if !dir.is_dir() {
        return Err(ModelError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let dir = std::fs::canonicalize(dir).map_err(ModelError::io(dir))?;
    let mut dirs = ModelDirs::of(ws)?;
    if dirs.all().contains(&dir) {
        return Ok((dir, false));
    }
    if let Some(other) = dirs
        .all()
        .into_iter()
        .find(|d| dir.starts_with(d) || d.starts_with(&dir))
    {
        return Err(ModelError::OverlappingDirs { path: dir, other });
    }
    dirs.added.push(dir.clone());
    WorkspaceConfig::set_model_dirs(ws.root(), &dirs.added)?;
    Ok((dir, true))
}

/// Removes an added folder. The index forgets its files, and the models found nowhere else
/// (with their hashes): the folder is no longer the workspace's. The files themselves are not
/// touched; adding the folder again and scanning brings them back. Returns how many models were
/// forgotten.
pub fn remove(ws: &Workspace, index: &mut ModelIndex, dir: &Path) -> Result<(PathBuf, usize)> {
    let mut dirs = ModelDirs::of(ws)?;
    // The folder may be gone (an unmounted drive): match it as written, else by its real path.
    let wanted = std::path::absolute(dir).map_err(ModelError::io(dir))?;
    let canonical = fs_err::canonicalize(dir).ok();
    if wanted == dirs.builtin || canonical.as_ref() == Some(&dirs.builtin) {
        return Err(ModelError::BuiltinDir { path: dirs.builtin });
    }
    let Some(pos) = dirs
        .added
        .iter()
        .position(|d| *d == wanted || Some(d) == canonical.as_ref())
    else {
        return Err(ModelError::UnknownDir { path: wanted });
    };
    let removed = dirs.added.remove(pos);
    let now = super::now();
    let key = removed.to_string_lossy().into_owned();
    let forgotten = index.write(|w| {
        for id in w.delete_locations_under(&key)? {
            // A model with a file elsewhere gets that file as its primary one.
            w.refresh_model(id, now)?;
        }
        w.forget_unlocated_under(&key)
    })?;
    WorkspaceConfig::set_model_dirs(ws.root(), &dirs.added)?;
    Ok((removed, forgotten))
}
