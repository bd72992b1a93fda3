//! Reading `uv.lock` just enough to say which packages a sync adds, changes and removes.
//!
//! A lock that covers several torch backends holds one version of torch per backend
//! (`2.5.1+cpu`, `2.5.1+cu124`); for a given backend the version with that local label is the
//! one installed. Everything else is taken as installed whenever it is in the lock: a package
//! only some platforms get would show as added on all of them, which is acceptable for a plan.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum PackageChange {
    Add {
        name: String,
        version: String,
        /// When the lock holds several versions for different platforms: each with its
        /// markers; `version` is the one this platform installs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        variants: Vec<Variant>,
    },
    Update {
        name: String,
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        variants: Vec<Variant>,
    },
    Remove {
        name: String,
        version: String,
    },
}

/// One version of a package in a forked lock, and the markers under which it is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub version: String,
    /// `resolution-markers` joined with ` or `; empty: every platform.
    pub markers: String,
}

impl PackageChange {
    pub fn symbol(&self) -> char {
        match self {
            PackageChange::Add { .. } => '+',
            PackageChange::Update { .. } => '~',
            PackageChange::Remove { .. } => '-',
        }
    }

    /// `numpy 1.26.4`, `pillow 10.3.0 -> 10.4.0`, `opencv-python`; a forked package says that
    /// other platforms get other versions.
    pub fn describe(&self) -> String {
        let others = |variants: &[Variant], chosen: &str| {
            let other: Vec<String> = variants
                .iter()
                .filter(|v| v.version != chosen)
                .map(|v| format!("{} where {}", v.version, v.markers))
                .collect();
            if other.is_empty() {
                String::new()
            } else {
                format!(" (other platforms: {})", other.join("; "))
            }
        };
        match self {
            PackageChange::Add {
                name,
                version,
                variants,
            } => format!("{name} {version}{}", others(variants, version)),
            PackageChange::Update {
                name,
                from,
                to,
                variants,
            } => format!("{name} {from} -> {to}{}", others(variants, to)),
            PackageChange::Remove { name, .. } => name.clone(),
        }
    }
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: toml::Table,
    #[serde(default, rename = "resolution-markers")]
    resolution_markers: Vec<String>,
}

/// A package as a sync installs it here: its version, and every variant when the lock forks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub version: String,
    pub variants: Vec<Variant>,
}

/// Packages a sync of `uv_lock` installs for `backend`: name → version. The project itself
/// (a virtual source) is not a package.
pub fn packages(uv_lock: &str, backend: Option<&str>) -> BTreeMap<String, String> {
    locked_packages(uv_lock, backend, None)
        .into_iter()
        .map(|(name, l)| (name, l.version))
        .collect()
}

/// Like `packages`, with the variants of forked packages; `python` (`X.Y`) decides which
/// variant this platform gets (markers are evaluated for this machine and that Python).
pub fn locked_packages(uv_lock: &str, backend: Option<&str>, python: Option<&str>) -> BTreeMap<String, Locked> {
    let Ok(lock) = toml::from_str::<LockFile>(uv_lock) else {
        return BTreeMap::new();
    };
    let env = python.map(super::markers::MarkerEnv::current);
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for p in lock.package {
        if p.source.contains_key("virtual") || p.source.contains_key("editable") {
            continue;
        }
        all.entry(p.name)
            .or_default()
            .insert(p.version.unwrap_or_default(), p.resolution_markers.join(" or "));
    }
    all.into_iter()
        .filter_map(|(name, versions)| {
            if versions.len() == 1 {
                let version = versions.into_keys().next()?;
                return Some((
                    name,
                    Locked {
                        version,
                        variants: Vec::new(),
                    },
                ));
            }
            let label = backend.map(|b| format!("+{b}"));
            if let Some(v) = versions
                .keys()
                .find(|v| label.as_ref().is_some_and(|l| v.ends_with(l.as_str())))
            {
                return Some((
                    name,
                    Locked {
                        version: v.clone(),
                        variants: Vec::new(),
                    },
                ));
            }
            // Another backend's build only: not installed for this one.
            if versions.keys().all(|v| v.contains('+')) {
                return None;
            }
            let variants: Vec<Variant> = versions
                .into_iter()
                .map(|(version, markers)| Variant { version, markers })
                .collect();
            let chosen = env
                .as_ref()
                .and_then(|env| {
                    variants
                        .iter()
                        .find(|v| super::markers::evaluate(&v.markers, env) == Some(true))
                })
                .or(variants.last())
                .map(|v| v.version.clone())?;
            Some((
                name,
                Locked {
                    version: chosen,
                    variants,
                },
            ))
        })
        .collect()
}

/// What changes from the packages of `old` (None: an empty venv) to those of `new`; `python`
/// (`X.Y`) picks the variant this platform installs when the lock forks.
pub fn diff_locks(
    old: Option<&str>,
    old_backend: Option<&str>,
    new: &str,
    new_backend: Option<&str>,
    python: Option<&str>,
) -> Vec<PackageChange> {
    let before = old.map(|o| locked_packages(o, old_backend, python)).unwrap_or_default();
    let after = locked_packages(new, new_backend, python);
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| match (before.get(name), after.get(name)) {
            (None, Some(v)) => Some(PackageChange::Add {
                name: name.clone(),
                version: v.version.clone(),
                variants: v.variants.clone(),
            }),
            (Some(v), None) => Some(PackageChange::Remove {
                name: name.clone(),
                version: v.version.clone(),
            }),
            (Some(a), Some(b)) if a.version != b.version => Some(PackageChange::Update {
                name: name.clone(),
                from: a.version.clone(),
                to: b.version.clone(),
                variants: b.variants.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"version = 1
[[package]]
name = "env"
version = "0.1.0"
source = { virtual = "." }

[[package]]
name = "pillow"
version = "10.3.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "opencv-python"
version = "4.9.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "torch"
version = "2.5.1+cpu"
source = { registry = "https://download.pytorch.org/whl/cpu" }

[[package]]
name = "torch"
version = "2.5.1+cu124"
source = { registry = "https://download.pytorch.org/whl/cu124" }
"#;

    #[test]
    fn one_line_per_changed_package() {
        let new = OLD
            .replace("10.3.0", "10.4.0")
            .replace("name = \"opencv-python\"", "name = \"numpy\"")
            .replace("4.9.0", "1.26.4");
        let changes = diff_locks(Some(OLD), Some("cpu"), &new, Some("cpu"), None);
        let lines: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {}", c.symbol(), c.describe()))
            .collect();
        assert_eq!(
            lines,
            vec!["+ numpy 1.26.4", "- opencv-python", "~ pillow 10.3.0 -> 10.4.0"]
        );
        let switch = diff_locks(Some(OLD), Some("cpu"), OLD, Some("cu124"), None);
        assert_eq!(
            switch,
            vec![PackageChange::Update {
                name: "torch".into(),
                from: "2.5.1+cpu".into(),
                to: "2.5.1+cu124".into(),
                variants: Vec::new(),
            }]
        );
        assert!(!packages(OLD, None).contains_key("torch"));
    }

    #[test]
    fn a_forked_package_gives_each_version_with_its_markers_and_the_one_installed_here() {
        let lock = r#"version = 1
[[package]]
name = "fork-lib"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["sys_platform == 'win32'"]

[[package]]
name = "fork-lib"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["sys_platform != 'win32'"]
"#;
        let changes = diff_locks(None, None, lock, None, Some("3.12"));
        let PackageChange::Add { version, variants, .. } = &changes[0] else {
            panic!("{changes:?}")
        };
        let here = if cfg!(windows) { "1.0.0" } else { "2.0.0" };
        assert_eq!(version, here);
        assert_eq!(variants.len(), 2);
        assert_eq!(variants[0].markers, "sys_platform == 'win32'");
        assert!(
            changes[0].describe().contains("other platforms"),
            "{}",
            changes[0].describe()
        );
        let json = serde_json::to_value(&changes[0]).unwrap();
        assert_eq!(json["version"], here);
        assert_eq!(json["variants"][1]["version"], "2.0.0");
    }
}
