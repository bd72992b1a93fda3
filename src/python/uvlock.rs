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
    Add { name: String, version: String },
    Update { name: String, from: String, to: String },
    Remove { name: String, version: String },
}

impl PackageChange {
    pub fn symbol(&self) -> char {
        match self {
            PackageChange::Add { .. } => '+',
            PackageChange::Update { .. } => '~',
            PackageChange::Remove { .. } => '-',
        }
    }

    /// `numpy 1.26.4`, `pillow 10.3.0 -> 10.4.0`, `opencv-python`.
    pub fn describe(&self) -> String {
        match self {
            PackageChange::Add { name, version } => format!("{name} {version}"),
            PackageChange::Update { name, from, to } => format!("{name} {from} -> {to}"),
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
}

/// Packages a sync of `uv_lock` installs for `backend`: name → version. The project itself
/// (a virtual source) is not a package.
pub fn packages(uv_lock: &str, backend: Option<&str>) -> BTreeMap<String, String> {
    let Ok(lock) = toml::from_str::<LockFile>(uv_lock) else {
        return BTreeMap::new();
    };
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in lock.package {
        if p.source.contains_key("virtual") || p.source.contains_key("editable") {
            continue;
        }
        all.entry(p.name).or_default().insert(p.version.unwrap_or_default());
    }
    all.into_iter()
        .filter_map(|(name, versions)| {
            let version = if versions.len() == 1 {
                versions.into_iter().next()
            } else {
                let label = backend.map(|b| format!("+{b}"));
                match versions
                    .iter()
                    .find(|v| label.as_ref().is_some_and(|l| v.ends_with(l.as_str())))
                {
                    Some(v) => Some(v.clone()),
                    // Another backend's build only: not installed for this one.
                    None if versions.iter().all(|v| v.contains('+')) => None,
                    None => Some(versions.into_iter().collect::<Vec<_>>().join(" | ")),
                }
            };
            version.map(|v| (name, v))
        })
        .collect()
}

/// What changes from the packages of `old` (None: an empty venv) to those of `new`.
pub fn diff_locks(
    old: Option<&str>,
    old_backend: Option<&str>,
    new: &str,
    new_backend: Option<&str>,
) -> Vec<PackageChange> {
    let before = old.map(|o| packages(o, old_backend)).unwrap_or_default();
    let after = packages(new, new_backend);
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| match (before.get(name), after.get(name)) {
            (None, Some(v)) => Some(PackageChange::Add {
                name: name.clone(),
                version: v.clone(),
            }),
            (Some(v), None) => Some(PackageChange::Remove {
                name: name.clone(),
                version: v.clone(),
            }),
            (Some(a), Some(b)) if a != b => Some(PackageChange::Update {
                name: name.clone(),
                from: a.clone(),
                to: b.clone(),
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
        let changes = diff_locks(Some(OLD), Some("cpu"), &new, Some("cpu"));
        let lines: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {}", c.symbol(), c.describe()))
            .collect();
        assert_eq!(
            lines,
            vec!["+ numpy 1.26.4", "- opencv-python", "~ pillow 10.3.0 -> 10.4.0"]
        );
        let switch = diff_locks(Some(OLD), Some("cpu"), OLD, Some("cu124"));
        assert_eq!(
            switch,
            vec![PackageChange::Update {
                name: "torch".into(),
                from: "2.5.1+cpu".into(),
                to: "2.5.1+cu124".into()
            }]
        );
        assert!(!packages(OLD, None).contains_key("torch"));
    }
}
