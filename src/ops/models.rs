//! The workspace's model index: scanned (`model scan`), searched by name or hash (`model
//! find`), and written for ComfyUI as `extra_model_paths.yaml` (`model export-paths`).

use crate::models::{Model, ModelDirs, ModelError, ModelIndex, ScanOptions, ScanReport, ScanTarget};
use crate::progress::Reporter;
use crate::workspace::Workspace;
use miette::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize)]
pub struct ModelsReport {
    pub query: String,
    pub models: Vec<Model>,
}

/// Models whose name matches `query`, or whose hash starts with it; an empty query lists none.
pub fn find(ws: &Workspace, query: &str) -> Result<ModelsReport> {
    let path = crate::models::index_path(ws);
    let models = if query.trim().is_empty() || !path.exists() {
        Vec::new()
    } else {
        let index = crate::models::ModelIndex::open(&path)?;
        crate::models::find::find(&index, query.trim())?
    };
    Ok(ModelsReport {
        query: query.to_string(),
        models,
    })
}

/// Scans `dirs` (each inside a model folder), or every model folder when none is given, into
/// the index, under the index's writer lock.
pub fn scan(ws: &Workspace, dirs: &[PathBuf], sha256: bool, reporter: &dyn Reporter) -> Result<ScanReport> {
    let model_dirs = ModelDirs::of(ws)?;
    let targets = if dirs.is_empty() {
        model_dirs
            .all()
            .into_iter()
            .map(|d| ScanTarget {
                root: d.clone(),
                dir: d,
            })
            .collect()
    } else {
        let mut targets = Vec::new();
        for d in dirs {
            if !d.is_dir() {
                return Err(ModelError::NotADirectory { path: d.clone() }.into());
            }
            let dir = std::fs::canonicalize(d).map_err(ModelError::io(d))?;
            let root = model_dirs
                .containing(&dir)
                .ok_or_else(|| ModelError::OutsideModelDirs {
                    path: dir.clone(),
                    dirs: model_dirs.describe(),
                })?;
            targets.push(ScanTarget { root, dir });
        }
        targets
    };
    let index_path = crate::models::index_path(ws);
    let _lock = crate::models::scan::lock_index(&index_path)?;
    let mut index = ModelIndex::open(&index_path)?;
    Ok(crate::models::scan(
        &mut index,
        &targets,
        &ScanOptions { sha256 },
        reporter,
    )?)
}

/// What `model export-paths` wrote.
pub struct ExportedPaths {
    pub path: PathBuf,
    /// The user's previous file, kept.
    pub backup: Option<PathBuf>,
    pub folders: usize,
}

/// Writes the workspace's model folders into `comfyui`'s `extra_model_paths.yaml`; a file the
/// user wrote is replaced only with `force`, and kept in the environment's trash.
pub fn export_paths(ws: &Workspace, comfyui: &Path, state: &Path, force: bool) -> Result<ExportedPaths> {
    if !comfyui.is_dir() {
        return Err(ModelError::NotADirectory {
            path: comfyui.to_path_buf(),
        }
        .into());
    }
    let dirs = ModelDirs::of(ws)?.all();
    let backups = state.join("trash").join("export-paths");
    let (path, backup) = crate::models::paths_yaml::export(comfyui, &dirs, force, &backups)?;
    Ok(ExportedPaths {
        path,
        backup,
        folders: dirs.len(),
    })
}
