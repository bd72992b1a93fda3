//! A node pack's Python requirements, read from its extracted tree.

use super::{Result, StoreError};
use crate::python::{Requirements, parse_requirements};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequirementsSource {
    RequirementsTxt(PathBuf),
    Pyproject(PathBuf),
    /// The pack declares no requirements.
    None,
}

#[derive(Debug, Clone)]
pub struct PackRequirements {
    pub source: RequirementsSource,
    pub requirements: Requirements,
}

/// `requirements.txt` when the pack has one (that is what ComfyUI-Manager and comfy-cli
/// install), else `[project].dependencies` of its `pyproject.toml`.
pub fn read_pack_requirements(pack_root: &Path) -> Result<PackRequirements> {
    let txt = pack_root.join("requirements.txt");
    if txt.is_file() {
        let text = read_text(&txt)?;
        return Ok(PackRequirements {
            requirements: parse_requirements(&text),
            source: RequirementsSource::RequirementsTxt(txt),
        });
    }
    let pyproject = pack_root.join("pyproject.toml");
    if pyproject.is_file() {
        let text = read_text(&pyproject)?;
        let invalid = |reason: String| StoreError::InvalidPyproject {
            path: pyproject.clone(),
            reason,
        };
        let doc: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.message().to_string()))?;
        let deps = match doc.get("project").and_then(|p| p.get("dependencies")) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid(format!("[project].dependencies holds a non-string: {v}")))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(other) => {
                return Err(invalid(format!(
                    "[project].dependencies must be a list, not {}",
                    other.type_str()
                )));
            }
        };
        // Through the same parser as requirements.txt, so both report what uv cannot take.
        return Ok(PackRequirements {
            requirements: parse_requirements(&deps.join("\n")),
            source: RequirementsSource::Pyproject(pyproject),
        });
    }
    Ok(PackRequirements {
        source: RequirementsSource::None,
        requirements: Requirements::default(),
    })
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(StoreError::io(path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn requirements_txt_wins_over_pyproject() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("requirements.txt"), "numpy\n# c\n-e ./x\n").unwrap();
        fs::write(
            d.path().join("pyproject.toml"),
            "[project]\nname='p'\ndependencies=['torch']\n",
        )
        .unwrap();
        let r = read_pack_requirements(d.path()).unwrap();
        assert!(matches!(r.source, RequirementsSource::RequirementsTxt(_)));
        assert_eq!(r.requirements.accepted, vec!["numpy"]);
        assert_eq!(r.requirements.rejected[0].line, 3);
    }

    #[test]
    fn pyproject_dependencies_and_none() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            read_pack_requirements(d.path()).unwrap().source,
            RequirementsSource::None
        );
        fs::write(
            d.path().join("pyproject.toml"),
            "[project]\nname = 'p'\ndependencies = ['piexif', 'opencv-python-headless>=4.0.1.24']\n",
        )
        .unwrap();
        let r = read_pack_requirements(d.path()).unwrap();
        assert_eq!(
            r.requirements.accepted,
            vec!["piexif", "opencv-python-headless>=4.0.1.24"]
        );
        fs::write(d.path().join("pyproject.toml"), "[project]\ndependencies = 'x'\n").unwrap();
        assert!(matches!(
            read_pack_requirements(d.path()),
            Err(StoreError::InvalidPyproject { .. })
        ));
    }
}
