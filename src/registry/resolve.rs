//! Choosing a version: "latest" by semver (the registry's own `latest_version` compares strings,
//! so `1.9.0` beats `1.10.0` there), never a deprecated, banned or deleted version unless that
//! exact version is asked for.

use super::client::RegistryClient;
use super::types::{NodeVersion, VersionStatus};
use super::{RegistryError, Result};
use semver::{Version, VersionReq};
use std::fmt;

/// What a user asks for after `ID@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    /// One version, chosen whatever its status (the user asked for it by name).
    Exact(String),
    Req(VersionReq),
}

impl VersionSpec {
    /// `latest`, `*` or nothing → latest; a full version (`1.2.0`, `v1.2.0`) → exactly it;
    /// anything else is a semver requirement (`^1.2`, `>=1.0, <2`, `~0.3`).
    pub fn parse(text: &str) -> Result<VersionSpec> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("latest") || t == "*" {
            return Ok(VersionSpec::Latest);
        }
        if let Ok(v) = Version::parse(t.strip_prefix('v').unwrap_or(t)) {
            return Ok(VersionSpec::Exact(v.to_string()));
        }
        let req = t.strip_prefix('=').map(str::trim).unwrap_or(t);
        if t.starts_with('=')
            && let Some(v) = parse_version(req)
        {
            return Ok(VersionSpec::Exact(v.to_string()));
        }
        VersionReq::parse(t)
            .map(VersionSpec::Req)
            .map_err(|e| RegistryError::BadVersionSpec {
                text: text.to_string(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Latest => f.write_str("latest"),
            VersionSpec::Exact(v) => f.write_str(v),
            VersionSpec::Req(r) => write!(f, "{r}"),
        }
    }
}

/// Registry version strings are meant to be semver; tolerate `v1.2.0` and `1.2`.
pub fn parse_version(s: &str) -> Option<Version> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    if let Ok(v) = Version::parse(s) {
        return Some(v);
    }
    let dots = s.chars().filter(|c| *c == '.').count();
    let padded = match dots {
        0 => format!("{s}.0.0"),
        1 => format!("{s}.0"),
        _ => return None,
    };
    Version::parse(&padded).ok()
}

/// Whether a version may be picked without being named exactly.
pub fn choosable(v: &NodeVersion) -> bool {
    v.status.installable() && !v.deprecated
}

/// The newest choosable version by semver; pre-releases only when there is nothing else.
pub fn latest(versions: &[NodeVersion]) -> Option<&NodeVersion> {
    let candidates: Vec<(Version, &NodeVersion)> = versions
        .iter()
        .filter(|v| choosable(v))
        .filter_map(|v| parse_version(&v.version).map(|sv| (sv, v)))
        .collect();
    let stable = candidates
        .iter()
        .filter(|(sv, _)| sv.pre.is_empty())
        .max_by(|a, b| a.0.cmp(&b.0));
    stable
        .or_else(|| candidates.iter().max_by(|a, b| a.0.cmp(&b.0)))
        .map(|(_, v)| *v)
}

/// The version `spec` selects among `versions`.
pub fn choose<'a>(versions: &'a [NodeVersion], spec: &VersionSpec) -> Option<&'a NodeVersion> {
    match spec {
        VersionSpec::Latest => latest(versions),
        VersionSpec::Exact(want) => {
            let want_sv = parse_version(want);
            versions.iter().find(|v| v.version == *want).or_else(|| {
                versions
                    .iter()
                    .find(|v| want_sv.is_some() && parse_version(&v.version) == want_sv)
            })
        }
        VersionSpec::Req(req) => versions
            .iter()
            .filter(|v| choosable(v))
            .filter_map(|v| parse_version(&v.version).map(|sv| (sv, v)))
            .filter(|(sv, _)| req.matches(sv))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v)| v),
    }
}

/// A pinned registry version: what the lock records and the fetch step downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedVersion {
    pub node_id: String,
    pub version: String,
    /// Empty when the registry listed none; `fetch_and_extract` then asks `/install`.
    pub download_url: String,
    pub dependencies: Vec<String>,
    pub deprecated: bool,
    pub status: VersionStatus,
}

impl ResolvedVersion {
    fn from_version(node_id: &str, v: &NodeVersion) -> Self {
        ResolvedVersion {
            node_id: node_id.to_string(),
            version: v.version.clone(),
            download_url: v.download_url.clone(),
            dependencies: v.dependencies.clone(),
            deprecated: v.deprecated,
            status: v.status.clone(),
        }
    }

    /// Worth telling the user about: an exact pin on a version the registry discourages.
    pub fn warning(&self) -> Option<String> {
        let why = match (&self.status, self.deprecated) {
            (VersionStatus::Banned, _) => "banned",
            (VersionStatus::Deleted, _) => "deleted",
            (_, true) => "deprecated",
            (VersionStatus::Flagged, _) => "flagged for review",
            _ => return None,
        };
        Some(format!("{}@{} is {why} in the registry", self.node_id, self.version))
    }
}

/// A readable list of what a pack offers, for "no matching version" errors.
fn describe_available(versions: &[NodeVersion]) -> String {
    let mut sorted: Vec<&NodeVersion> = versions.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(parse_version(&v.version)));
    let shown: Vec<String> = sorted
        .iter()
        .take(12)
        .map(|v| {
            if choosable(v) {
                v.version.clone()
            } else if v.deprecated {
                format!("{} (deprecated)", v.version)
            } else {
                format!(
                    "{} ({})",
                    v.version,
                    v.status.as_str().trim_start_matches("NodeVersionStatus").to_lowercase()
                )
            }
        })
        .collect();
    if shown.is_empty() {
        "the pack has no published versions".to_string()
    } else {
        format!("available: {}", shown.join(", "))
    }
}

impl RegistryClient {
    /// Pins `id` at `spec`. An exact version is looked up directly (so a pinned version of a
    /// pack that was later banned stays reproducible); otherwise the version list decides.
    pub fn resolve(&self, id: &str, spec: &VersionSpec) -> Result<ResolvedVersion> {
        if let VersionSpec::Exact(want) = spec {
            if let Some(v) = self.version(id, want)? {
                return Ok(ResolvedVersion::from_version(id, &v));
            }
            let available = match self.versions(id) {
                Ok(vs) => describe_available(&vs),
                Err(RegistryError::UnknownNode { .. }) => {
                    return Err(RegistryError::UnknownNode { id: id.to_string() });
                }
                Err(_) => "`comfydock node find` lists packs and their latest versions".to_string(),
            };
            return Err(RegistryError::NoVersion {
                id: id.to_string(),
                wanted: want.clone(),
                available,
            });
        }
        let versions = self.versions(id)?;
        match choose(&versions, spec) {
            Some(v) => Ok(ResolvedVersion::from_version(id, v)),
            None => Err(RegistryError::NoVersion {
                id: id.to_string(),
                wanted: spec.to_string(),
                available: describe_available(&versions),
            }),
        }
    }

    /// The version `node find` shows: the newest choosable one by semver.
    pub fn latest_version(&self, id: &str) -> Result<Option<NodeVersion>> {
        Ok(latest(&self.versions(id)?).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: &str, status: VersionStatus, deprecated: bool) -> NodeVersion {
        NodeVersion {
            version: version.into(),
            status,
            deprecated,
            ..NodeVersion::default()
        }
    }

    fn sample() -> Vec<NodeVersion> {
        use VersionStatus::*;
        vec![
            v("1.9.0", Active, false),
            v("1.10.0", Active, false),
            v("2.0.0", Active, true),
            v("3.0.0", Banned, false),
            v("1.11.0", Deleted, false),
            v("4.0.0-beta.1", Active, false),
            v("not-semver", Active, false),
        ]
    }

    #[test]
    fn latest_is_semver_and_skips_deprecated_banned_deleted_and_prereleases() {
        assert_eq!(latest(&sample()).unwrap().version, "1.10.0");
        let only_pre = vec![v("0.1.0-rc.1", VersionStatus::Pending, false)];
        assert_eq!(latest(&only_pre).unwrap().version, "0.1.0-rc.1");
        assert!(latest(&[v("1.0.0", VersionStatus::Banned, false)]).is_none());
    }

    #[test]
    fn specs_parse_and_choose() {
        let vs = sample();
        let pick = |s: &str| choose(&vs, &VersionSpec::parse(s).unwrap()).map(|v| v.version.clone());
        assert_eq!(pick("latest").as_deref(), Some("1.10.0"));
        assert_eq!(pick("^1.9").as_deref(), Some("1.10.0"));
        assert_eq!(pick("<1.10").as_deref(), Some("1.9.0"));
        // Asked for by exact version: deprecated and banned are allowed.
        assert_eq!(pick("2.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(pick("v3.0.0").as_deref(), Some("3.0.0"));
        assert_eq!(pick("=3.0.0").as_deref(), Some("3.0.0"));
        assert_eq!(pick(">=2").as_deref(), None);
        assert!(matches!(
            VersionSpec::parse("not a version"),
            Err(RegistryError::BadVersionSpec { .. })
        ));
    }

    #[test]
    fn unavailable_versions_are_listed_with_reasons() {
        let text = describe_available(&sample());
        assert!(
            text.starts_with("available: 4.0.0-beta.1, 3.0.0 (banned), 2.0.0 (deprecated)"),
            "{text}"
        );
    }
}
