//! `registry mappings augment`: merges ComfyUI-Manager's `extension-node-map.json` into node
//! mappings (REGISTRY-NOTES §2.6, §3.1), better than the published pipeline: one URL
//! normaliser, ComfyUI core filtered into `builtin` instead of becoming a package, Manager
//! `preemptions` ranking the claiming pack first and `nodename_pattern`s kept as `patterns`.

use super::signature::name_only_key;
use super::url::{normalize_repository, supported_host, synthetic_id};
use super::{MappingEntry, Mappings, MappingsError, Package, PatternRule, Result, SOURCE_MANAGER};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// Manager's key for ComfyUI itself, normalised.
const COMFYUI_CORE: &str = "https://github.com/comfyanonymous/comfyui";

/// One entry of the Manager map, typed.
#[derive(Debug, Clone, Default)]
pub struct ManagerEntry {
    pub url: String,
    pub node_types: Vec<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub description: Option<String>,
    pub nodename_pattern: Option<String>,
    pub preemptions: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AugmentSummary {
    pub matched_registry: usize,
    pub synthetic_packages: usize,
    pub entries_added: usize,
    pub builtin: usize,
    pub skipped_hosts: usize,
    /// Patterns that are not valid regular expressions (dropped), with the pack.
    pub bad_patterns: Vec<(String, String)>,
}

/// Reads the raw map, or the `{extensions: …}` wrapper the published fetcher writes. Entries
/// whose shape is wrong are an error naming the key: the file is untrusted input.
pub fn load_manager_map(path: &Path) -> Result<Vec<ManagerEntry>> {
    let bytes = std::fs::read(path).map_err(super::io(path))?;
    parse_manager_map(&bytes, path)
}

/// [`load_manager_map`] from bytes. Manager writes every entry as `[[node types],
/// {metadata}]`; anything else (another shape, a node type that is not a string, an empty map)
/// is refused, so a truncated or foreign file never replaces good data.
pub fn parse_manager_map(bytes: &[u8], path: &Path) -> Result<Vec<ManagerEntry>> {
    let bad = |reason: String| MappingsError::BadManagerMap {
        path: path.to_path_buf(),
        reason,
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let map = match doc.get("extensions") {
        Some(inner) => inner,
        None => &doc,
    };
    let Some(obj) = map.as_object() else {
        return Err(bad("the top level is not an object of URL -> entry".into()));
    };
    if obj.is_empty() {
        return Err(bad("it lists no repositories".into()));
    }
    let mut out = Vec::with_capacity(obj.len());
    for (url, value) in obj {
        let shape = || bad(format!("entry {url:?} is not [[node types], {{metadata}}]"));
        let arr = value.as_array().filter(|a| a.len() == 2).ok_or_else(shape)?;
        let names = arr[0].as_array().ok_or_else(shape)?;
        let meta = arr[1].as_object().ok_or_else(shape)?;
        let mut node_types = Vec::with_capacity(names.len());
        for n in names {
            let n = n
                .as_str()
                .ok_or_else(|| bad(format!("entry {url:?} has a node type that is not a string")))?;
            if !n.is_empty() {
                node_types.push(n.to_string());
            }
        }
        let text = |k: &str| {
            meta.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let preemptions = meta
            .get("preemptions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        out.push(ManagerEntry {
            url: url.clone(),
            node_types,
            title: text("title_aux").or_else(|| text("title")),
            author: text("author"),
            description: text("description"),
            nodename_pattern: text("nodename_pattern"),
            preemptions,
        });
    }
    Ok(out)
}

/// One repository of ComfyUI-Manager's `github-stats.json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepoStats {
    pub stars: u64,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub last_update: Option<String>,
}

/// Reads `github-stats.json` (`{url: {stars, last_update, author_account_age_days, …}}`),
/// keyed by normalised repository. A value that is not an object with a whole, non-negative
/// `stars` is refused.
pub fn load_stats(path: &Path) -> Result<HashMap<String, RepoStats>> {
    let bytes = std::fs::read(path).map_err(super::io(path))?;
    parse_stats(&bytes, path)
}

pub fn parse_stats(bytes: &[u8], path: &Path) -> Result<HashMap<String, RepoStats>> {
    let bad = |reason: String| MappingsError::BadManagerStats {
        path: path.to_path_buf(),
        reason,
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| bad("the top level is not an object of URL -> stats".into()))?;
    if obj.is_empty() {
        return Err(bad("it lists no repositories".into()));
    }
    let mut out = HashMap::with_capacity(obj.len());
    for (url, v) in obj {
        let stars = v
            .as_object()
            .and_then(|o| o.get("stars"))
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(format!("entry {url:?} is not {{\"stars\": N, …}}")))?;
        let last_update = v.get("last_update").and_then(Value::as_str).map(str::to_string);
        out.insert(normalize_repository(url), RepoStats { stars, last_update });
    }
    Ok(out)
}

/// One entry of ComfyUI-Manager's `custom-node-list.json`, as far as it is used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListEntry {
    pub reference: String,
    pub title: Option<String>,
    pub author: Option<String>,
    pub description: Option<String>,
    pub install_type: Option<String>,
}

/// Reads `custom-node-list.json` (`{"custom_nodes": [{author, title, reference, files,
/// install_type, description, …}]}`); an entry without a `reference` URL is refused.
pub fn parse_custom_node_list(bytes: &[u8], path: &Path) -> Result<Vec<ListEntry>> {
    let bad = |reason: String| MappingsError::BadManagerList {
        path: path.to_path_buf(),
        reason,
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let list = doc
        .get("custom_nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("there is no `custom_nodes` list".into()))?;
    if list.is_empty() {
        return Err(bad("`custom_nodes` is empty".into()));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let o = e
            .as_object()
            .ok_or_else(|| bad(format!("custom_nodes[{i}] is not an object")))?;
        let reference = o
            .get("reference")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| bad(format!("custom_nodes[{i}] has no `reference`")))?;
        let text = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        out.push(ListEntry {
            reference: reference.to_string(),
            title: text("title"),
            author: text("author"),
            description: text("description"),
            install_type: text("install_type"),
        });
    }
    Ok(out)
}

/// Everything ComfyUI-Manager publishes that the merge uses: the node map, and optionally the
/// repositories' GitHub stats and the custom node list.
#[derive(Debug, Clone, Default)]
pub struct ManagerData {
    pub map: Vec<ManagerEntry>,
    pub stats: HashMap<String, RepoStats>,
    pub list: Vec<ListEntry>,
}

/// The repository as Manager's key spells it, without `.git` or a trailing `/`, when it is a
/// repository address (`https://host/owner/repo`); else the normalised form.
pub fn spelled_repository(key: &str, normalised: &str) -> String {
    let trimmed = key.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    if trimmed.eq_ignore_ascii_case(normalised) {
        trimmed.to_string()
    } else {
        normalised.to_string()
    }
}

/// Merges `manager` into `m` and re-ranks every key. `now` is the augmentation date.
pub fn augment(m: &mut Mappings, manager: &[ManagerEntry], now: &str) -> AugmentSummary {
    let data = ManagerData {
        map: manager.to_vec(),
        ..ManagerData::default()
    };
    augment_with(m, &data, now)
}

/// Merges Manager's data into `m` (stars from `data.stats` for its packs and for registry packs
/// that have none, titles and descriptions from `data.list` where the map has none) and
/// re-ranks every key. `now` is the augmentation date.
pub fn augment_with(m: &mut Mappings, data: &ManagerData, now: &str) -> AugmentSummary {
    let manager = &data.map;
    let listed: HashMap<String, &ListEntry> = data
        .list
        .iter()
        .map(|e| (normalize_repository(&e.reference), e))
        .collect();
    let mut summary = AugmentSummary::default();
    // Registry repositories; with duplicates the smallest id wins, for determinism.
    let mut by_repo: HashMap<String, String> = HashMap::new();
    for (id, p) in &m.packages {
        if p.source.as_deref() == Some(SOURCE_MANAGER) {
            continue;
        }
        if let Some(r) = &p.repository {
            by_repo.entry(normalize_repository(r)).or_insert_with(|| id.clone());
        }
    }
    for e in manager {
        let url = normalize_repository(&e.url);
        if url == COMFYUI_CORE {
            for n in &e.node_types {
                if !m.builtin.contains(n) {
                    m.builtin.push(n.clone());
                    summary.builtin += 1;
                }
            }
            continue;
        }
        if !supported_host(&url) {
            summary.skipped_hosts += 1;
            continue;
        }
        let id = match by_repo.get(&url) {
            Some(id) => {
                summary.matched_registry += 1;
                if let (Some(p), Some(stats)) = (m.packages.get_mut(id), data.stats.get(&url))
                    && p.github_stars.unwrap_or(0) == 0
                {
                    p.github_stars = Some(stats.stars);
                }
                id.clone()
            }
            None => {
                let id = synthetic_id(&url);
                if !m.packages.contains_key(&id) {
                    summary.synthetic_packages += 1;
                    let last = url.rsplit('/').next().unwrap_or(&url).to_string();
                    let first = url
                        .split_once("://")
                        .and_then(|(_, r)| r.split('/').nth(1))
                        .unwrap_or("")
                        .to_string();
                    let entry = listed.get(&url);
                    let stats = data.stats.get(&url);
                    m.packages.insert(
                        id.clone(),
                        Package {
                            display_name: e
                                .title
                                .clone()
                                .or_else(|| entry.and_then(|l| l.title.clone()))
                                .unwrap_or(last),
                            author: e
                                .author
                                .clone()
                                .or_else(|| entry.and_then(|l| l.author.clone()))
                                .or(Some(first)),
                            description: e
                                .description
                                .clone()
                                .or_else(|| entry.and_then(|l| l.description.clone())),
                            repository: Some(url.clone()),
                            git_url: Some(spelled_repository(&e.url, &url)),
                            downloads: Some(0),
                            github_stars: Some(stats.map_or(0, |s| s.stars)),
                            last_update: stats.and_then(|s| s.last_update.clone()),
                            status: Some("NodeStatusActive".into()),
                            source: Some(SOURCE_MANAGER.into()),
                            ..Package::default()
                        },
                    );
                }
                id
            }
        };
        if let Some(p) = m.packages.get_mut(&id) {
            for claim in &e.preemptions {
                if !p.preempts.contains(claim) {
                    p.preempts.push(claim.clone());
                }
            }
        }
        for n in &e.node_types {
            let entries = m.mappings.entry(name_only_key(n)).or_default();
            if !entries.iter().any(|x| x.package_id == id) {
                entries.push(MappingEntry {
                    package_id: id.clone(),
                    versions: Vec::new(),
                    rank: 0,
                    source: Some(SOURCE_MANAGER.into()),
                });
                summary.entries_added += 1;
            }
        }
        if let Some(pattern) = &e.nodename_pattern {
            match regex::Regex::new(pattern) {
                Ok(_) => {
                    let rule = PatternRule {
                        package_id: id.clone(),
                        pattern: pattern.clone(),
                    };
                    if !m.patterns.contains(&rule) {
                        m.patterns.push(rule);
                    }
                }
                Err(_) => summary.bad_patterns.push((id.clone(), pattern.clone())),
            }
        }
    }
    m.builtin.sort();
    m.patterns
        .sort_by(|a, b| (&a.package_id, &a.pattern).cmp(&(&b.package_id, &b.pattern)));
    // Built-in node types are ComfyUI's; no pack provides them by name only.
    let builtin: std::collections::HashSet<String> = m.builtin.iter().map(|b| name_only_key(b)).collect();
    m.mappings.retain(|k, _| !builtin.contains(k));
    m.mappings.retain(|_, v| !v.is_empty());
    m.stats.augmented = true;
    m.stats.augmentation_date = Some(now.to_string());
    m.stats.nodes_from_manager = Some(m.stats.nodes_from_manager.unwrap_or(0) + summary.entries_added);
    m.stats.synthetic_packages = Some(
        m.packages
            .values()
            .filter(|p| p.source.as_deref() == Some(SOURCE_MANAGER))
            .count(),
    );
    m.recount();
    m.rerank();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("test.json")
    }

    #[test]
    fn manager_files_of_another_shape_are_refused() {
        let ok = br#"{"https://github.com/a/B": [["X+", "Y+"], {"title_aux": "B"}]}"#;
        assert_eq!(parse_manager_map(ok, p()).unwrap()[0].node_types, vec!["X+", "Y+"]);
        for bad in [
            &br#"{"https://github.com/a/B": [["X"]]}"#[..],
            br#"{"https://github.com/a/B": [["X"], {}, 3]}"#,
            br#"{"https://github.com/a/B": [[1], {}]}"#,
            br#"{"https://github.com/a/B": ["X", {}]}"#,
            br#"{}"#,
            br#"[]"#,
            br#"{"https://github.com/a/B": [["X"], {"#,
        ] {
            assert!(parse_manager_map(bad, p()).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let stats = parse_stats(
            br#"{"https://github.com/A/B.git": {"stars": 7, "last_update": "2025-01-01 00:00:00", "author_account_age_days": 3}}"#,
            p(),
        )
        .unwrap();
        assert_eq!(stats["https://github.com/a/b"].stars, 7);
        for bad in [
            &br#"{"u": {"stars": -1}}"#[..],
            br#"{"u": {"stars": "7"}}"#,
            br#"{"u": 7}"#,
            br#"{}"#,
        ] {
            assert!(parse_stats(bad, p()).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let list = parse_custom_node_list(
            br#"{"custom_nodes": [{"reference": "https://github.com/a/B", "title": "B"}]}"#,
            p(),
        )
        .unwrap();
        assert_eq!(list[0].title.as_deref(), Some("B"));
        for bad in [
            &br#"{"custom_nodes": []}"#[..],
            br#"{"custom_nodes": [{"title": "x"}]}"#,
            br#"{"nodes": []}"#,
        ] {
            assert!(
                parse_custom_node_list(bad, p()).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn manager_packs_keep_their_spelling_and_get_stars() {
        let map = parse_manager_map(
            br#"{"https://github.com/zed/Real-Pack": [["Resize+", "Blend+", "Crop+"], {"title_aux": "Real"}],
                 "https://github.com/aaa/Copy.git": [["Resize+", "Other", "Thing"], {}]}"#,
            p(),
        )
        .unwrap();
        let stats = parse_stats(br#"{"https://github.com/zed/real-pack": {"stars": 50}}"#, p()).unwrap();
        let mut m = Mappings::default();
        let data = ManagerData {
            map,
            stats,
            list: Vec::new(),
        };
        augment_with(&mut m, &data, "2025-01-01T00:00:00Z");
        let real = &m.packages["manager_zed_real_pack"];
        assert_eq!(real.git_url.as_deref(), Some("https://github.com/zed/Real-Pack"));
        assert_eq!(real.repository.as_deref(), Some("https://github.com/zed/real-pack"));
        assert_eq!(real.github_stars, Some(50));
        assert_eq!(
            m.packages["manager_aaa_copy"].git_url.as_deref(),
            Some("https://github.com/aaa/Copy")
        );
        assert_eq!(m.mappings["Resize+::_"][0].package_id, "manager_zed_real_pack");
        assert_eq!(
            spelled_repository(
                "https://gist.githubusercontent.com/u/abc/raw/x.py",
                "https://gist.github.com/abc"
            ),
            "https://gist.github.com/abc"
        );
    }
}
