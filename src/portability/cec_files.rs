//! Which files of a `.cec` folder travel with an environment: every regular file except git's
//! own folder and the temporary files of interrupted writes. The same list is used by export
//! (what goes into a bundle) and by import from a folder or repository (what is copied).

use super::error::{PortabilityError, Result};
use std::path::Path;

/// Relative paths (`/`-separated), sorted. A symlink or special file is refused: a link could
/// point anywhere on the machine that reads it.
pub fn list(cec: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(cec)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && e.file_name() == ".git"));
    for entry in walker {
        let entry = entry.map_err(|e| PortabilityError::Io {
            path: cec.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        let Ok(rel) = entry.path().strip_prefix(cec) else {
            continue;
        };
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if !ft.is_file() {
            return Err(PortabilityError::SpecialFile {
                dir: cec.to_path_buf(),
                entry: rel,
            });
        }
        if entry.file_name().to_string_lossy().starts_with(".comfydock-tmp-") {
            continue;
        }
        files.push(rel);
    }
    files.sort();
    Ok(files)
}

/// Copies `files` (from `list`) from `from` to `to`, each written atomically.
pub fn copy(from: &Path, to: &Path, files: &[String]) -> Result<()> {
    for rel in files {
        let src = from.join(rel);
        let bytes = std::fs::read(&src).map_err(PortabilityError::io(&src))?;
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(PortabilityError::io(parent))?;
        }
        crate::fsx::write_atomic(&dest, &bytes).map_err(PortabilityError::io(&dest))?;
    }
    Ok(())
}
