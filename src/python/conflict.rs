//! Turning uv's "No solution found" into a diagnostic that names the node packs whose
//! requirements clash and the packages involved. uv already explains the conflict in terms of
//! the project's dependency groups (`project:group`), and each node pack's requirements are the
//! group named after the node, so the explanation maps back to node packs.

use miette::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// The group that holds the requirements added with `comfydock py add`.
pub const ENVIRONMENT_GROUP: &str = "environment";

#[derive(Debug, Error, Diagnostic)]
#[error("{}", headline(self))]
#[diagnostic(
    code(comfydock::python::conflict),
    help("uv explains:\n{explanation}\n\nNothing was changed. {}", remedies(self))
)]
pub struct PythonConflict {
    /// Packages uv could not find at all (not on the indexes, or offline and not cached): a
    /// different problem from versions that clash, with different ways out.
    pub unavailable: Vec<String>,
    /// Node ids, `ComfyUI` (the project's own dependencies) or `environment` (py add), sorted.
    pub parties: Vec<String>,
    /// Normalised names of the packages uv names in its explanation.
    pub packages: Vec<String>,
    pub explanation: String,
    /// Direct requirements that no version can satisfy together, one line per pair
    /// (`` node pack `a` needs `numpy<2`, node pack `b` needs `numpy>=2` ``). When there are
    /// any, no constraint can help and none is suggested.
    pub exclusive: Vec<String>,
    first_package: String,
    last_party: String,
}

impl PythonConflict {
    pub fn nodes(&self) -> Vec<&str> {
        self.parties
            .iter()
            .map(String::as_str)
            .filter(|p| *p != "ComfyUI" && *p != ENVIRONMENT_GROUP)
            .collect()
    }
}

fn headline(c: &PythonConflict) -> String {
    if c.unavailable.is_empty() {
        format!(
            "the Python requirements of {} cannot be installed together (packages: {})",
            who(&c.parties),
            c.packages.join(", ")
        )
    } else {
        format!(
            "{} requires {}, which uv cannot find",
            who(&c.parties),
            c.unavailable
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn remedies(c: &PythonConflict) -> String {
    if !c.exclusive.is_empty() {
        format!(
            "These requirements exclude each other, so no version (and no constraint) suits both:\n  - {}\nWays out:\n  - drop a node pack: `comfydock node remove {}`\n  - pin a node pack at a version whose requirements agree: `comfydock node add URL@REV`",
            c.exclusive.join("\n  - "),
            c.last_party
        )
    } else if c.unavailable.is_empty() {
        format!(
            "Ways out:\n  - allow one version of {0} that suits all of them: `comfydock constraint add \"{0}==VERSION\"`\n  - drop a node pack: `comfydock node remove {1}`\n  - pin a node pack at a version whose requirements agree: `comfydock node add URL@REV`",
            c.first_package, c.last_party
        )
    } else {
        format!(
            "Ways out:\n  - check the package index settings (UV_INDEX_URL, UV_FIND_LINKS, [tool.uv] in .cec/pyproject.toml) and the network (UV_OFFLINE)\n  - drop the node pack: `comfydock node remove {}`",
            c.last_party
        )
    }
}

/// Names in "Because X was not found ..." and "there is no version of X".
fn unavailable_packages(stderr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in stderr.split(['\n', ',']) {
        if let Some(at) = line.find(" was not found") {
            let before = line[..at].trim_end();
            if let Some(token) = before.rsplit(char::is_whitespace).next()
                && let Some(name) = super::requirement_name(token)
            {
                out.insert(name);
            }
        }
        if let Some(at) = line.find("there is no version of ") {
            let token = line[at + "there is no version of ".len()..]
                .split_whitespace()
                .next()
                .unwrap_or("");
            if let Some(name) = super::requirement_name(token) {
                out.insert(name);
            }
        }
    }
    out
}

fn who(parties: &[String]) -> String {
    let named: Vec<String> = parties
        .iter()
        .map(|p| match p.as_str() {
            "ComfyUI" => "ComfyUI".to_string(),
            ENVIRONMENT_GROUP => "the environment (`py add`)".to_string(),
            node => format!("node pack `{node}`"),
        })
        .collect();
    match named.len() {
        0 => "the environment".into(),
        1 => named[0].clone(),
        n => format!("{} and {}", named[..n - 1].join(", "), named[n - 1]),
    }
}

/// Reads uv's stderr of a failed `uv lock`. `project` is `[project].name`; `groups` maps each
/// dependency group to its requirements. None when uv did not fail to resolve (a network error,
/// a malformed file): those stay uv's own error.
pub fn diagnose(stderr: &str, project: &str, groups: &BTreeMap<String, Vec<String>>) -> Option<PythonConflict> {
    if !stderr.contains("No solution found") {
        return None;
    }
    // uv's explanation starts at "No solution found"; lines before it are progress.
    let start = stderr[..stderr.find("No solution found").unwrap_or(0)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let explanation: String = stderr[start..]
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("error:").map(str::trim_start).unwrap_or(l);
            let l = l.strip_prefix("cause:").map(str::trim_start).unwrap_or(l);
            format!("  {l}")
        })
        .collect::<Vec<_>>()
        .join("\n");

    let mut parties: BTreeSet<String> = BTreeSet::new();
    let prefix = format!("{project}:");
    let mut rest = stderr;
    while let Some(at) = rest.find(&prefix) {
        let after = &rest[at + prefix.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(after.len());
        let group = after[..end].trim_end_matches('.');
        if groups.contains_key(group) {
            parties.insert(group.to_string());
        }
        rest = &after[end..];
    }

    let mut packages: BTreeSet<String> = BTreeSet::new();
    for keyword in ["depends on ", "Because ", "because ", "only ", "requires "] {
        let mut rest = stderr;
        while let Some(at) = rest.find(keyword) {
            let after = &rest[at + keyword.len()..];
            rest = after;
            let token = after.split_whitespace().next().unwrap_or("");
            if token.starts_with(&prefix) || token.contains(':') {
                continue;
            }
            if let Some(name) = super::requirement_name(token)
                && !matches!(
                    name.as_str(),
                    "your"
                        | "there"
                        | "we"
                        | "the"
                        | "all"
                        | "no"
                        | "of"
                        | "and"
                        | "none"
                        | "it"
                        | "be"
                        | "a"
                        | "an"
                        | "that"
                        | "this"
                        | "when"
                        | "packages"
                        | "registry"
                )
                && name != super::requirement_name(project).unwrap_or_default()
            {
                packages.insert(name);
            }
        }
    }
    if stderr.contains("your project depends on") {
        parties.insert("ComfyUI".into());
    }
    // A transitive clash names the direct requirements; the groups that list them are involved.
    if parties.len() < 2 {
        for (group, reqs) in groups {
            if reqs
                .iter()
                .filter_map(|r| super::requirement_name(r))
                .any(|n| packages.contains(&n))
            {
                parties.insert(group.clone());
            }
        }
    }
    // Requirements that exclude each other outright name the real parties: a third requirement
    // on the same package that agrees with both (ComfyUI's `numpy>=1.25`) is not one of them.
    let (clashing, exclusive) = exclusive_requirements(&packages, groups);
    if !clashing.is_empty() {
        parties = clashing;
    }
    let parties: Vec<String> = parties.into_iter().collect();
    let packages: Vec<String> = packages.into_iter().collect();
    Some(PythonConflict {
        exclusive,
        unavailable: unavailable_packages(stderr).into_iter().collect(),
        first_package: packages.first().cloned().unwrap_or_else(|| "PACKAGE".into()),
        last_party: parties
            .iter()
            .rev()
            .find(|p| *p != "ComfyUI" && *p != ENVIRONMENT_GROUP)
            .cloned()
            .unwrap_or_else(|| "NODE".into()),
        parties,
        packages,
        explanation,
    })
}

/// Pairs of direct requirements (from different groups) on one of `packages` whose version
/// ranges cannot overlap: the groups involved, and one line per pair.
fn exclusive_requirements(
    packages: &BTreeSet<String>,
    groups: &BTreeMap<String, Vec<String>>,
) -> (BTreeSet<String>, Vec<String>) {
    use super::specifiers::{Allowed, specifier_part};
    let mut parties = BTreeSet::new();
    let mut lines = Vec::new();
    for package in packages {
        let wants: Vec<(&String, &String, Allowed)> = groups
            .iter()
            .flat_map(|(group, reqs)| reqs.iter().map(move |r| (group, r)))
            .filter(|(_, r)| super::requirement_name(r).as_ref() == Some(package))
            .filter_map(|(g, r)| Allowed::parse(specifier_part(r)).map(|a| (g, r, a)))
            .collect();
        for (i, (ga, ra, aa)) in wants.iter().enumerate() {
            for (gb, rb, ab) in &wants[i + 1..] {
                if ga != gb && !aa.overlaps(ab) {
                    parties.insert((*ga).clone());
                    parties.insert((*gb).clone());
                    lines.push(format!(
                        "{} needs `{ra}`, {} needs `{rb}`",
                        who(std::slice::from_ref(*ga)),
                        who(std::slice::from_ref(*gb))
                    ));
                }
            }
        }
    }
    (parties, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_packs_and_the_packages() {
        let stderr = "error: No solution found when resolving dependencies:\n  cause: Because comfydock-env-demo:pack-b depends on shared==2.0.0 and comfydock-env-demo:pack-a depends on shared==1.0.0, we can conclude that comfydock-env-demo:pack-a and comfydock-env-demo:pack-b are incompatible.\n         And because your project requires comfydock-env-demo:pack-a and comfydock-env-demo:pack-b, we can conclude that your project's requirements are unsatisfiable.";
        let mut groups = BTreeMap::new();
        groups.insert("pack-a".to_string(), vec!["shared==1.0.0".to_string()]);
        groups.insert("pack-b".to_string(), vec!["shared==2.0.0".to_string()]);
        groups.insert("pack-c".to_string(), vec!["other".to_string()]);
        let stderr = format!("Using CPython 3.11.7 interpreter at: /x\n{stderr}");
        let c = diagnose(&stderr, "comfydock-env-demo", &groups).unwrap();
        assert!(c.explanation.starts_with("  No solution found"), "{}", c.explanation);
        assert_eq!(c.parties, vec!["pack-a", "pack-b"]);
        assert_eq!(c.packages, vec!["shared"]);
        let text = c.to_string();
        assert!(text.contains("node pack `pack-a` and node pack `pack-b`"), "{text}");
        assert!(diagnose("error: network unreachable", "x", &groups).is_none());
    }

    #[test]
    fn only_requirements_that_exclude_each_other_are_parties_and_no_constraint_is_offered() {
        let stderr = "No solution found when resolving dependencies:\n  Because your project depends on numpy>=1.25.0 and comfydock-env-demo:impact depends on numpy<2, we can conclude that your project depends on numpy>=1.25.0,<2.\n  And because comfydock-env-demo:other depends on numpy>=2, we can conclude that your project's requirements are unsatisfiable.";
        let mut groups = BTreeMap::new();
        groups.insert("ComfyUI".to_string(), vec!["numpy>=1.25.0".to_string()]);
        groups.insert("impact".to_string(), vec!["numpy<2".to_string()]);
        groups.insert("other".to_string(), vec!["numpy>=2".to_string()]);
        let c = diagnose(stderr, "comfydock-env-demo", &groups).unwrap();
        assert_eq!(c.parties, vec!["impact", "other"]);
        assert_eq!(
            c.exclusive,
            vec!["node pack `impact` needs `numpy<2`, node pack `other` needs `numpy>=2`"]
        );
        let help = remedies(&c);
        assert!(!help.contains("constraint add"), "{help}");
        assert!(help.contains("exclude each other"), "{help}");
        assert!(!c.to_string().contains("ComfyUI"), "{c}");
    }

    #[test]
    fn a_package_that_cannot_be_found_is_not_called_a_clash() {
        let stderr = "No solution found when resolving dependencies:\n  Because numpy was not found in the cache and comfydock-env-demo:example-impact depends on numpy>=1.0, we can conclude that comfydock-env-demo:example-impact's requirements are unsatisfiable.\n  hint: Packages were unavailable because the network was disabled. When the network is disabled, registry packages may only be read from the cache.";
        let mut groups = BTreeMap::new();
        groups.insert("example-impact".to_string(), vec!["numpy>=1.0".to_string()]);
        let c = diagnose(stderr, "comfydock-env-demo", &groups).unwrap();
        assert_eq!(c.unavailable, vec!["numpy"]);
        assert_eq!(c.packages, vec!["numpy"]);
        assert_eq!(
            c.to_string(),
            "node pack `example-impact` requires `numpy`, which uv cannot find"
        );
    }

    #[test]
    fn transitive_clashes_find_the_groups_that_list_the_package() {
        let stderr = "No solution found when resolving dependencies:\n  Because lib-x==1.0.0 depends on shared==2.0.0 and only lib-x==1.0.0 is available, we can conclude that all versions of lib-x depend on shared==2.0.0.";
        let mut groups = BTreeMap::new();
        groups.insert("pack-a".to_string(), vec!["shared==1.0.0".to_string()]);
        groups.insert("pack-c".to_string(), vec!["lib-x".to_string()]);
        let c = diagnose(stderr, "env", &groups).unwrap();
        assert_eq!(c.parties, vec!["pack-a", "pack-c"]);
        assert_eq!(c.packages, vec!["lib-x", "shared"]);
    }
}
