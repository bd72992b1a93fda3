//! What a node pack says about itself: its name (`[project] name` in its pyproject.toml), the
//! ComfyUI it needs (`[tool.comfy] requires-comfyui`, or a requirement on `comfyui` /
//! `comfyui-frontend-package`) and whether it carries an `install.py`. Read from the pack's
//! files as untrusted text: anything unreadable is simply absent.

use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackMeta {
    /// `[project] name`.
    pub name: Option<String>,
    /// `[tool.comfy] requires-comfyui`, or the specifier of a `comfyui` requirement.
    pub requires_comfyui: Option<String>,
    /// The specifier of a `comfyui-frontend-package` requirement.
    pub requires_frontend: Option<String>,
    pub has_install_script: bool,
}

impl PackMeta {
    /// Reads the pack folder `dir`.
    pub fn read_dir(dir: &Path) -> PackMeta {
        let read = |name: &str| fs_err::read_to_string(dir.join(name)).ok();
        let mut meta = PackMeta::from_files(read("pyproject.toml").as_deref(), read("requirements.txt").as_deref());
        meta.has_install_script = dir.join("install.py").is_file();
        meta
    }

    /// Reads the pack at `commit` in the git repository `repo` (a mirror), without a checkout.
    pub fn read_git(repo: &Path, commit: &crate::types::GitCommit) -> PackMeta {
        let read = |name: &str| {
            crate::git::read_file_at(repo, commit, name)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let mut meta = PackMeta::from_files(read("pyproject.toml").as_deref(), read("requirements.txt").as_deref());
        meta.has_install_script = read("install.py").is_some();
        meta
    }

    pub fn from_files(pyproject: Option<&str>, requirements: Option<&str>) -> PackMeta {
        let mut meta = PackMeta::default();
        let mut deps: Vec<String> = requirements
            .unwrap_or("")
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
            .collect();
        if let Some(doc) = pyproject.and_then(|t| t.parse::<toml::Table>().ok()) {
            let project = doc.get("project").and_then(|p| p.as_table());
            meta.name = project
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string);
            if let Some(list) = project.and_then(|p| p.get("dependencies")).and_then(|d| d.as_array()) {
                deps.extend(list.iter().filter_map(|d| d.as_str()).map(str::to_string));
            }
            meta.requires_comfyui = doc
                .get("tool")
                .and_then(|t| t.get("comfy"))
                .and_then(|c| c.get("requires-comfyui"))
                .and_then(|r| r.as_str())
                .map(|s| s.trim().to_string());
        }
        for dep in &deps {
            let (name, spec) = split_requirement(dep);
            match name.as_str() {
                "comfyui" if meta.requires_comfyui.is_none() && !spec.is_empty() => {
                    meta.requires_comfyui = Some(spec);
                }
                "comfyui-frontend-package" if !spec.is_empty() => meta.requires_frontend = Some(spec),
                _ => {}
            }
        }
        meta
    }
}

/// `name>=1.2; marker` -> (`name` normalised, `>=1.2`).
fn split_requirement(line: &str) -> (String, String) {
    let line = line.split(';').next().unwrap_or("").trim();
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let name = name.to_ascii_lowercase().replace(['_', '.'], "-");
    let rest = rest.trim();
    // Extras (`name[x]>=1`) are not ours to judge.
    let spec = if rest.starts_with('[') { "" } else { rest };
    (name, spec.replace(' ', ""))
}

/// `0.3.40`, `v0.3.40` -> [0, 3, 40]; None when a part is not a number.
/// A git pack's id from its own metadata (`[project] name` in its pyproject.toml, which is also
/// its registry id), read from the git mirror resolution fetches anyway; None when the pack does
/// not say (its repository's name stands) or cannot be read now (resolution reports why). One
/// rule for `node add` and Manager snapshot import, so both name a repository alike.
pub fn git_pack_id(
    store_dir: &Path,
    repository: &crate::types::RepoUrl,
    rev: Option<&crate::types::GitRef>,
) -> Option<crate::types::NodeId> {
    let mirror = crate::store::GitCache::new(store_dir)
        .update(repository.as_str())
        .ok()?;
    let rev = rev.map_or_else(|| "HEAD".to_string(), ToString::to_string);
    let commit = crate::git::resolve_rev(&mirror, &rev).ok()?;
    let meta = PackMeta::read_git(&mirror, &commit);
    meta.name.as_deref().and_then(crate::types::NodeId::sanitize)
}

pub fn parse_version(text: &str) -> Option<Vec<u64>> {
    let text = text.trim().trim_start_matches('v');
    let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// Whether `version` satisfies a specifier set such as `>=0.3.40,<0.4` or `~=0.3.2`, by PEP 440
/// as uv reads it (`pep440_rs`); a bare version means `>=`. None when it cannot be read.
pub fn satisfies(version: &[u64], spec: &str) -> Option<bool> {
    use std::str::FromStr;
    let clauses: Vec<String> = spec
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| match c.starts_with(|ch: char| ch.is_ascii_digit() || ch == 'v') {
            true => format!(">={}", c.trim_start_matches('v')),
            false => c.to_string(),
        })
        .collect();
    let specifiers = pep440_rs::VersionSpecifiers::from_str(&clauses.join(",")).ok()?;
    Some(specifiers.contains(&pep440_rs::Version::new(version.iter().copied())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_and_needs() {
        let meta = PackMeta::from_files(
            Some(
                "[project]\nname = \"comfyui-kjnodes\"\ndependencies = [\"comfyui-frontend-package>=1.20\"]\n[tool.comfy]\nrequires-comfyui = \">=0.3.45\"\n",
            ),
            Some("numpy\ncomfyui>=0.1 # ignored, tool.comfy wins\n"),
        );
        assert_eq!(meta.name.as_deref(), Some("comfyui-kjnodes"));
        assert_eq!(meta.requires_comfyui.as_deref(), Some(">=0.3.45"));
        assert_eq!(meta.requires_frontend.as_deref(), Some(">=1.20"));
        assert_eq!(PackMeta::from_files(Some("not toml ["), None), PackMeta::default());
    }

    #[test]
    fn specifiers() {
        let v = parse_version("v0.3.40").unwrap();
        assert_eq!(satisfies(&v, ">=0.3.45"), Some(false));
        assert_eq!(satisfies(&v, ">=0.3.4,<0.4"), Some(true));
        assert_eq!(satisfies(&v, "==0.3.*"), Some(true));
        assert_eq!(satisfies(&v, "==0.4.*"), Some(false));
        assert_eq!(satisfies(&v, ">=x"), None);
        // `~=` is compatible release, not `>=` (issue 23: the two comparers disagreed).
        assert_eq!(satisfies(&v, "~=0.3.2"), Some(true));
        assert_eq!(satisfies(&v, "~=0.2.0"), Some(false));
        assert_eq!(satisfies(&v, "0.3.1"), Some(true));
    }
}
