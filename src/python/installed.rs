//! What a venv really holds, read from its `*.dist-info` folders (name, version, and the files
//! each `RECORD` lists), to compare with what uv.lock pins: a package deleted by hand, or
//! installed beside uv, shows here and nowhere else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub version: String,
    /// Files its RECORD lists that are not there (relative to site-packages).
    pub missing: Vec<String>,
}

/// Bounds on what is read of a venv: it is comfydock's, but packages write it.
const MAX_RECORD_BYTES: u64 = 16 << 20;
const MAX_MISSING_LISTED: usize = 5;

/// `site-packages` of a venv (`lib/pythonX.Y/site-packages`), when there is one.
pub fn site_packages(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    std::fs::read_dir(&lib)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
}

/// The venv's full Python version (`3.11.7`), from its `pyvenv.cfg` (`version_info = 3.11.7`):
/// markers on `python_full_version` need the patch level, not `X.Y.0`.
pub fn python_full_version(venv: &Path) -> Option<String> {
    let cfg = fs_err::read_to_string(venv.join("pyvenv.cfg")).ok()?;
    let line = cfg
        .lines()
        .find(|l| l.trim_start().starts_with("version_info") || l.trim_start().starts_with("version "))?;
    let full = line.split('=').nth(1)?.trim();
    let parts: Vec<&str> = full.split('.').take(3).collect();
    (parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())))
    .then(|| parts.join("."))
}

/// The distributions installed in `site_packages`, by normalised name.
pub fn distributions(site_packages: &Path) -> BTreeMap<String, Distribution> {
    let mut out = BTreeMap::new();
    let Ok(read) = std::fs::read_dir(site_packages) else {
        return out;
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".dist-info") else {
            continue;
        };
        let Some((dist, version)) = stem.rsplit_once('-') else {
            continue;
        };
        let record = entry.path().join("RECORD");
        let mut missing = Vec::new();
        let readable = fs_err::metadata(&record).is_ok_and(|m| m.len() <= MAX_RECORD_BYTES);
        if let Some(text) = readable.then(|| fs_err::read_to_string(&record).ok()).flatten() {
            for line in text.lines() {
                // `path,hash,size`; paths may climb to the venv's bin/ (`../../../bin/x`).
                let path = line.split(',').next().unwrap_or("");
                if path.is_empty() || path.contains("__pycache__") || path.ends_with(".pyc") {
                    continue;
                }
                if site_packages.join(path).symlink_metadata().is_err() && missing.len() < MAX_MISSING_LISTED {
                    missing.push(path.to_string());
                }
            }
        }
        out.insert(
            crate::python::requirements::requirement_name(dist).unwrap_or_else(|| dist.to_ascii_lowercase()),
            Distribution {
                version: version.to_string(),
                missing,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_package_whose_files_were_deleted_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let sp = dir.path();
        fs_err::create_dir_all(sp.join("Good_Pkg-1.0.dist-info")).unwrap();
        fs_err::write(
            sp.join("Good_Pkg-1.0.dist-info/RECORD"),
            "good_pkg/__init__.py,sha256=x,1\n",
        )
        .unwrap();
        fs_err::create_dir_all(sp.join("good_pkg")).unwrap();
        fs_err::write(sp.join("good_pkg/__init__.py"), "").unwrap();
        fs_err::create_dir_all(sp.join("gone-2.0.dist-info")).unwrap();
        fs_err::write(
            sp.join("gone-2.0.dist-info/RECORD"),
            "gone/__init__.py,sha256=x,1\ngone-2.0.dist-info/RECORD,,\n",
        )
        .unwrap();
        let d = super::distributions(sp);
        assert_eq!(d["good-pkg"].missing, Vec::<String>::new());
        assert_eq!(d["good-pkg"].version, "1.0");
        assert_eq!(d["gone"].missing, vec!["gone/__init__.py".to_string()]);
    }
}
