//! Node mappings: which packs provide which node types, built offline from the registry cache
//! (`build`), merged with ComfyUI-Manager's extension-node-map (`augment`) and checked
//! (`validate`). The file format is the published `node_mappings.json` one (REGISTRY-NOTES
//! §2.4–2.7), so existing consumers read ours, plus optional `builtin` and `patterns` sections
//! and per-package `preempts`. Schema: `schema/node-mappings.schema.json`.

pub mod augment;
pub mod build;
pub mod cache_view;
pub mod signature;
pub mod url;
pub mod validate;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a mapping entry's knowledge came from.
pub const SOURCE_MANAGER: &str = "manager";

/// The end of a name-only key (`NodeType::_`).
pub const NAME_ONLY_SUFFIX: &str = "::_";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mappings {
    /// `YYYY.MM.DD` of the cache it was built from.
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub generated_at: String,
    #[serde(default)]
    pub stats: Stats,
    /// Key (`Type::hash` or `Type::_`) to the packs providing it, best first.
    #[serde(default)]
    pub mappings: BTreeMap<String, Vec<MappingEntry>>,
    #[serde(default)]
    pub packages: BTreeMap<String, Package>,
    /// Node types ComfyUI itself provides (from Manager's entry for ComfyUI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builtin: Vec<String>,
    /// Manager `nodename_pattern`s: node types matching `pattern` come from `package_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<PatternRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    #[serde(default)]
    pub packages: usize,
    #[serde(default)]
    pub signatures: usize,
    #[serde(default)]
    pub total_nodes: usize,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub augmented: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augmentation_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes_from_manager: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic_packages: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MappingEntry {
    pub package_id: String,
    #[serde(default)]
    pub versions: Vec<String>,
    /// 1 = best.
    #[serde(default)]
    pub rank: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Package {
    #[serde(default)]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Normalised (`url::normalize_repository`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_stars: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Lower is better; breaks ranking ties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_ranking: Option<i64>,
    /// Node types this pack claims over others (registry `preempted_comfy_node_names`,
    /// Manager `preemptions`): it ranks first for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preempts: Vec<String>,
    /// For a pack known only from ComfyUI-Manager: its repository as the repository spells it
    /// (`https://github.com/cubiq/ComfyUI_essentials`), which identifies it to users and to
    /// `git clone`; the package key is internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_url: Option<String>,
    /// The repository's last update (ComfyUI-Manager's `github-stats.json`), for the recency
    /// step of packs that have no registry releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
    #[serde(default)]
    pub versions: BTreeMap<String, PackageVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PackageVersion {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    #[serde(default)]
    pub deprecated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternRule {
    pub package_id: String,
    pub pattern: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MappingsError {
    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::registry::bad_mappings),
        help(
            "a node mappings file is JSON as described in schema/node-mappings.schema.json; rebuild it with `comfydock registry mappings build`"
        )
    )]
    BadFile { path: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::registry::bad_manager_map),
        help(
            "pass ComfyUI-Manager's extension-node-map.json: an object of repository URL -> [[node types], {{metadata}}]"
        )
    )]
    BadManagerMap { path: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::registry::bad_manager_stats),
        help(
            "pass ComfyUI-Manager's github-stats.json: an object of repository URL -> {{\"stars\": N, \"last_update\": …}}"
        )
    )]
    BadManagerStats { path: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::registry::bad_manager_list),
        help("pass ComfyUI-Manager's custom-node-list.json: {{\"custom_nodes\": [{{\"reference\": URL, …}}]}}")
    )]
    BadManagerList { path: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::registry::bad_output_schema),
        help("the output filter is TOML with [packages], [versions] and [mappings] tables of `field = true|false`")
    )]
    BadOutputSchema { path: PathBuf, reason: String },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::registry::mappings_io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Registry(#[from] super::RegistryError),
}

pub type Result<T, E = MappingsError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MappingsError + '_ {
    move |source| MappingsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Mappings {
    pub fn load(path: &Path) -> Result<Mappings> {
        let bytes = fs_err::read(path).map_err(io(path))?;
        Mappings::parse(&bytes, path)
    }

    /// Parses and checks the shape: no empty keys, entries naming a package.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Mappings> {
        let bad = |reason: String| MappingsError::BadFile {
            path: path.to_path_buf(),
            reason,
        };
        let m: Mappings = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        for (key, entries) in &m.mappings {
            if signature::split_key(key).is_none() {
                return Err(bad(format!("mapping key {key:?} is not `NodeType::signature`")));
            }
            if entries.iter().any(|e| e.package_id.is_empty()) {
                return Err(bad(format!("mapping {key:?} has an entry without package_id")));
            }
        }
        Ok(m)
    }

    /// Deterministic bytes: sorted maps, pretty-printed, a final newline.
    /// Fields keep the published order (version, generated_at, stats, mappings, packages).
    pub fn to_bytes(&self, filter: Option<&OutputFilter>) -> Vec<u8> {
        let mut out = match filter {
            // The filter edits a JSON tree; without one, serialise directly (a tree of a large
            // file costs more than the writing).
            Some(f) => {
                let mut value = serde_json::to_value(self).unwrap_or_default();
                f.apply(&mut value);
                serde_json::to_vec_pretty(&value).unwrap_or_default()
            }
            None => serde_json::to_vec_pretty(self).unwrap_or_default(),
        };
        out.push(b'\n');
        out
    }

    pub fn save(&self, path: &Path, filter: Option<&OutputFilter>) -> Result<()> {
        crate::fsx::write_atomic(path, &self.to_bytes(filter)).map_err(io(path))
    }

    /// Recounts `stats.packages`, `signatures` and `total_nodes` (entries over all keys).
    pub fn recount(&mut self) {
        self.stats.packages = self.packages.len();
        self.stats.signatures = self.mappings.len();
        self.stats.total_nodes = self.mappings.values().map(Vec::len).sum();
    }

    /// Orders every key's entries and numbers them 1..n (see `rank`).
    pub fn rerank(&mut self) {
        let now = reference_time(&self.generated_at);
        let scores: BTreeMap<&str, f64> = self
            .packages
            .iter()
            .map(|(id, p)| (id.as_str(), rank::score(p, now)))
            .collect();
        let conventions = rank::Conventions::of(self);
        for (key, entries) in self.mappings.iter_mut() {
            let node_type = signature::split_key(key).map(|(t, _)| t).unwrap_or(key);
            entries.sort_by(|a, b| {
                rank::order(
                    node_type,
                    (a, self.packages.get(&a.package_id), scores.get(a.package_id.as_str())),
                    (b, self.packages.get(&b.package_id), scores.get(b.package_id.as_str())),
                    &conventions,
                )
            });
            for (i, e) in entries.iter_mut().enumerate() {
                e.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            }
        }
    }
}

/// The seconds since the epoch of an RFC 3339 UTC time (`2025-01-02T03:04:05Z`), which ranks
/// use as "now" so that the same input always ranks the same.
pub(crate) fn reference_time(rfc3339: &str) -> Option<u64> {
    parse_rfc3339(rfc3339)
}

/// `YYYY-MM-DD[THH:MM:SS…]` to seconds since the epoch (UTC; offsets ignored).
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.trim();
    let date = s.get(0..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (hh, mm, ss) = match s.get(11..19) {
        Some(t) => {
            let mut tp = t.split(':');
            (
                tp.next()?.parse::<i64>().ok()?,
                tp.next()?.parse::<i64>().ok()?,
                tp.next()?.parse::<i64>().ok()?,
            )
        }
        None => (0, 0, 0),
    };
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

pub mod rank {
    //! One ranking, used at build time and after the Manager merge: `downloads/10 + 2·stars`,
    //! floor 0.1, times a recency step of the newest release; a pack that claims the node type
    //! (preemption) first; then evidence from the name (the pack's naming convention, see
    //! [`Conventions`]); ties broken by registry before Manager, `search_ranking`, then id.

    use super::{MappingEntry, Mappings, NAME_ONLY_SUFFIX, Package, SOURCE_MANAGER, parse_rfc3339};
    use std::cmp::Ordering;
    use std::collections::{BTreeMap, HashMap};

    /// Affixes up to this many characters are considered.
    const MAX_AFFIX: usize = 16;
    /// A pack needs at least this many node types to have a convention.
    const MIN_TYPES: usize = 3;

    /// A naming convention: a prefix or suffix carried by most (more than half) of a pack's
    /// node types, and rare among all node types (at most 1% of them, or 50), such as `+`
    /// (cubiq's ComfyUI_essentials), `|pysssss`, `VHS_` or `IPAdapter`. A node type that carries
    /// a pack's convention is evidence that it comes from that pack rather than from a pack that
    /// merely copied it. The longest qualifying prefix and suffix are kept; an affix is at least
    /// two characters, or one that is not a letter or digit.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Convention {
        pub prefix: Option<String>,
        pub suffix: Option<String>,
    }

    /// How a node type matches its pack's convention.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Evidence {
        Prefix(String),
        Suffix(String),
    }

    impl Evidence {
        /// For people: "its node types share the suffix `+`".
        pub fn describe(&self) -> String {
            match self {
                Evidence::Prefix(p) => format!("its node types share the prefix `{p}`"),
                Evidence::Suffix(s) => format!("its node types share the suffix `{s}`"),
            }
        }

        /// Stored form: `prefix:VHS_` / `suffix:+`.
        pub fn encode(&self) -> String {
            match self {
                Evidence::Prefix(p) => format!("prefix:{p}"),
                Evidence::Suffix(s) => format!("suffix:{s}"),
            }
        }

        pub fn decode(s: &str) -> Option<Evidence> {
            match s.split_once(':')? {
                ("prefix", p) => Some(Evidence::Prefix(p.to_string())),
                ("suffix", s) => Some(Evidence::Suffix(s.to_string())),
                _ => None,
            }
        }
    }

    /// The conventions of every pack of a mappings file, from its name-only keys.
    #[derive(Debug, Default)]
    pub struct Conventions(HashMap<String, Convention>);

    fn prefixes(t: &str) -> impl Iterator<Item = &str> {
        t.char_indices()
            .skip(1)
            .map(move |(i, _)| &t[..i])
            .chain(std::iter::once(t))
            .take(MAX_AFFIX)
    }

    fn suffixes(t: &str) -> impl Iterator<Item = &str> {
        t.char_indices().rev().map(move |(i, _)| &t[i..]).take(MAX_AFFIX)
    }

    fn long_enough(a: &str) -> bool {
        let mut chars = a.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => !c.is_alphanumeric(),
            (Some(_), Some(_)) => true,
            _ => false,
        }
    }

    impl Conventions {
        pub fn of(m: &Mappings) -> Conventions {
            let mut by_pack: HashMap<&str, Vec<&str>> = HashMap::new();
            for (key, entries) in &m.mappings {
                let Some(node_type) = key.strip_suffix(NAME_ONLY_SUFFIX) else {
                    continue;
                };
                for e in entries {
                    by_pack.entry(e.package_id.as_str()).or_default().push(node_type);
                }
            }
            Conventions::from_types(by_pack)
        }

        /// From each pack's node types (each type once per pack).
        pub fn from_types<'a>(by_pack: HashMap<&'a str, Vec<&'a str>>) -> Conventions {
            let mut all: std::collections::HashSet<&str> = std::collections::HashSet::new();
            for types in by_pack.values() {
                all.extend(types.iter().copied());
            }
            let (mut gp, mut gs): (HashMap<&str, u32>, HashMap<&str, u32>) = Default::default();
            for t in &all {
                for p in prefixes(t) {
                    *gp.entry(p).or_default() += 1;
                }
                for s in suffixes(t) {
                    *gs.entry(s).or_default() += 1;
                }
            }
            let rare = (all.len() / 100).max(50) as u32;
            let mut out = HashMap::new();
            for (pack, types) in &by_pack {
                let n = types.len();
                if n < MIN_TYPES {
                    continue;
                }
                let best = |affixes: &dyn Fn(&'a str) -> Vec<&'a str>, global: &HashMap<&str, u32>| {
                    let mut counts: HashMap<&str, usize> = HashMap::new();
                    for t in types {
                        for a in affixes(t) {
                            *counts.entry(a).or_default() += 1;
                        }
                    }
                    counts
                        .into_iter()
                        .filter(|(a, c)| {
                            c * 2 > n && long_enough(a) && global.get(a).copied().unwrap_or(0) <= rare && *a != "_"
                        })
                        .map(|(a, _)| a)
                        .max_by(|a, b| a.chars().count().cmp(&b.chars().count()).then_with(|| b.cmp(a)))
                        .map(str::to_string)
                };
                let convention = Convention {
                    prefix: best(&|t| prefixes(t).filter(|p| *p != t).collect(), &gp),
                    suffix: best(&|t| suffixes(t).filter(|s| *s != t).collect(), &gs),
                };
                if convention.prefix.is_some() || convention.suffix.is_some() {
                    out.insert(pack.to_string(), convention);
                }
            }
            Conventions(out)
        }

        pub fn get(&self, pack: &str) -> Option<&Convention> {
            self.0.get(pack)
        }

        /// Whether `node_type` carries `pack`'s convention.
        pub fn evidence(&self, pack: &str, node_type: &str) -> Option<Evidence> {
            let c = self.0.get(pack)?;
            if let Some(s) = c
                .suffix
                .as_deref()
                .filter(|s| node_type.ends_with(s) && node_type != *s)
            {
                return Some(Evidence::Suffix(s.to_string()));
            }
            c.prefix
                .as_deref()
                .filter(|p| node_type.starts_with(p) && node_type != *p)
                .map(|p| Evidence::Prefix(p.to_string()))
        }

        pub fn len(&self) -> usize {
            self.0.len()
        }

        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// Sorted, for reports.
        pub fn sorted(&self) -> BTreeMap<&str, &Convention> {
            self.0.iter().map(|(k, v)| (k.as_str(), v)).collect()
        }
    }

    pub fn base(p: &Package) -> f64 {
        let s = p.downloads.unwrap_or(0) as f64 / 10.0 + 2.0 * p.github_stars.unwrap_or(0) as f64;
        s.max(0.1)
    }

    /// The recency multiplier of §2.5 against `now`; 1.0 without dates.
    pub fn recency(p: &Package, now: Option<u64>) -> f64 {
        // A pack without registry releases dates from its repository's last update.
        let newest = p
            .versions
            .values()
            .filter_map(|v| v.release_date.as_deref().and_then(parse_rfc3339))
            .max()
            .or_else(|| p.last_update.as_deref().and_then(parse_rfc3339));
        let (Some(newest), Some(now)) = (newest, now) else {
            return 1.0;
        };
        let days = now.saturating_sub(newest) / 86_400;
        match days {
            0..90 => 1.0,
            90..180 => 0.95,
            180..365 => 0.85,
            365..730 => 0.7,
            _ => 0.5,
        }
    }

    /// The floor applies last, so an old registry pack never ranks below a Manager-only pack
    /// that nothing is known about (both 0.1; the tie-break puts the registry first).
    pub fn score(p: &Package, now: Option<u64>) -> f64 {
        (base(p) * recency(p, now)).max(0.1)
    }

    type Side<'a> = (&'a MappingEntry, Option<&'a Package>, Option<&'a f64>);

    pub fn order(node_type: &str, a: Side, b: Side, conventions: &Conventions) -> Ordering {
        let claims = |s: &Side| s.1.is_some_and(|p| p.preempts.iter().any(|n| n == node_type));
        let manager = |s: &Side| s.0.source.as_deref() == Some(SOURCE_MANAGER) && s.0.versions.is_empty();
        let score = |s: &Side| s.2.copied().unwrap_or(0.1);
        let ranking = |s: &Side| s.1.and_then(|p| p.search_ranking).unwrap_or(i64::MAX);
        let named = |s: &Side| conventions.evidence(&s.0.package_id, node_type).is_some();
        claims(&b)
            .cmp(&claims(&a))
            .then_with(|| score(&b).partial_cmp(&score(&a)).unwrap_or(Ordering::Equal))
            .then_with(|| named(&b).cmp(&named(&a)))
            .then_with(|| manager(&a).cmp(&manager(&b)))
            .then_with(|| ranking(&a).cmp(&ranking(&b)))
            .then_with(|| a.0.package_id.cmp(&b.0.package_id))
    }
}

/// The output filter of §2.7: `[packages]`, `[versions]`, `[mappings]` tables of
/// `field = true|false`; fields not listed are kept.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutputFilter {
    #[serde(default)]
    packages: BTreeMap<String, bool>,
    #[serde(default)]
    versions: BTreeMap<String, bool>,
    #[serde(default)]
    mappings: BTreeMap<String, bool>,
}

impl OutputFilter {
    pub fn load(path: &Path) -> Result<OutputFilter> {
        let text = fs_err::read_to_string(path).map_err(io(path))?;
        toml::from_str(&text).map_err(|e| MappingsError::BadOutputSchema {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    fn strip(obj: &mut serde_json::Value, table: &BTreeMap<String, bool>) {
        if let Some(o) = obj.as_object_mut() {
            o.retain(|k, _| table.get(k).copied().unwrap_or(true));
        }
    }

    pub fn apply(&self, doc: &mut serde_json::Value) {
        if let Some(pkgs) = doc.get_mut("packages").and_then(|p| p.as_object_mut()) {
            for p in pkgs.values_mut() {
                if let Some(vs) = p.get_mut("versions").and_then(|v| v.as_object_mut()) {
                    for v in vs.values_mut() {
                        Self::strip(v, &self.versions);
                    }
                }
                Self::strip(p, &self.packages);
            }
        }
        if let Some(maps) = doc.get_mut("mappings").and_then(|m| m.as_object_mut()) {
            for entries in maps.values_mut() {
                for e in entries.as_array_mut().into_iter().flatten() {
                    Self::strip(e, &self.mappings);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_epoch_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2025-01-02T03:04:05Z"), Some(1_735_787_045));
        assert_eq!(parse_rfc3339("2025-01-02"), Some(1_735_776_000));
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(parse_rfc3339("2025-13-01"), None);
    }

    #[test]
    fn ranking_prefers_claims_then_score_then_registry_then_search_ranking_then_id() {
        let pkg = |downloads, ranking, preempts: &[&str]| Package {
            downloads: Some(downloads),
            search_ranking: ranking,
            preempts: preempts.iter().map(|s| s.to_string()).collect(),
            ..Package::default()
        };
        let entry = |id: &str, manager: bool| MappingEntry {
            package_id: id.into(),
            versions: if manager { vec![] } else { vec!["1.0.0".into()] },
            rank: 0,
            source: manager.then(|| SOURCE_MANAGER.to_string()),
        };
        let mut m = Mappings::default();
        m.packages.insert("big".into(), pkg(1000, None, &[]));
        m.packages.insert("claim".into(), pkg(0, None, &["N"]));
        m.packages.insert("a-reg".into(), pkg(0, Some(5), &[]));
        m.packages.insert("b-reg".into(), pkg(0, Some(1), &[]));
        m.packages.insert("a-man".into(), pkg(0, None, &[]));
        m.mappings.insert(
            "N::_".into(),
            vec![
                entry("a-man", true),
                entry("a-reg", false),
                entry("big", false),
                entry("b-reg", false),
                entry("claim", true),
            ],
        );
        m.rerank();
        let order: Vec<(&str, u32)> = m.mappings["N::_"]
            .iter()
            .map(|e| (e.package_id.as_str(), e.rank))
            .collect();
        assert_eq!(
            order,
            vec![("claim", 1), ("big", 2), ("b-reg", 3), ("a-reg", 4), ("a-man", 5)]
        );
    }

    #[test]
    fn conventions_come_from_most_of_a_packs_node_types_and_rank_ties() {
        let entry = |id: &str| MappingEntry {
            package_id: id.into(),
            versions: vec![],
            rank: 0,
            source: Some(SOURCE_MANAGER.to_string()),
        };
        let mut m = Mappings::default();
        let packs: [(&str, &[&str]); 4] = [
            ("real", &["Resize+", "Blend+", "Crop+", "Note"]),
            ("copy", &["Resize+", "Fetch", "Misc", "Other"]),
            ("vhs", &["VHS_Load", "VHS_Save", "VHS_Combine"]),
            ("tiny", &["Resize+"]),
        ];
        for (id, types) in packs {
            m.packages.insert(id.into(), Package::default());
            for t in types {
                m.mappings.entry(format!("{t}::_")).or_default().push(entry(id));
            }
        }
        let c = rank::Conventions::of(&m);
        assert_eq!(c.get("real").and_then(|c| c.suffix.as_deref()), Some("+"));
        assert_eq!(c.get("vhs").and_then(|c| c.prefix.as_deref()), Some("VHS_"));
        assert!(c.get("copy").is_none(), "one `+` in four is no convention");
        assert!(c.get("tiny").is_none(), "too few node types to tell");
        assert_eq!(c.evidence("real", "Resize+"), Some(rank::Evidence::Suffix("+".into())));
        assert_eq!(c.evidence("copy", "Resize+"), None);
        assert_eq!(
            rank::Evidence::decode(&rank::Evidence::Prefix("VHS_".into()).encode()),
            Some(rank::Evidence::Prefix("VHS_".into()))
        );
        // Equal scores (nothing known): the name decides, before the id.
        m.rerank();
        let order: Vec<&str> = m.mappings["Resize+::_"].iter().map(|e| e.package_id.as_str()).collect();
        assert_eq!(order, vec!["real", "copy", "tiny"]);
        // Stars come before the name.
        m.packages.get_mut("copy").unwrap().github_stars = Some(10);
        m.rerank();
        assert_eq!(m.mappings["Resize+::_"][0].package_id, "copy");
    }
}
