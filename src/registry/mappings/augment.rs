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
    let bad = |reason: String| MappingsError::BadManagerMap {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(super::io(path))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let map = match doc.get("extensions") {
        Some(inner) => inner,
        None => &doc,
    };
    let Some(obj) = map.as_object() else {
        return Err(bad("the top level is not an object of URL -> entry".into()));
    };
    let mut out = Vec::with_capacity(obj.len());
    for (url, value) in obj {
        let Some(arr) = value.as_array() else {
            return Err(bad(format!("entry {url:?} is not [[node types], {{metadata}}]")));
        };
        let names = arr
            .first()
            .and_then(Value::as_array)
            .ok_or_else(|| bad(format!("entry {url:?} has no list of node types")))?;
        let node_types = names
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let meta = arr.get(1).and_then(Value::as_object);
        let text = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let preemptions = meta
            .and_then(|m| m.get("preemptions"))
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

/// Merges `manager` into `m` and re-ranks every key. `now` is the augmentation date.
pub fn augment(m: &mut Mappings, manager: &[ManagerEntry], now: &str) -> AugmentSummary {
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
                    m.packages.insert(
                        id.clone(),
                        Package {
                            display_name: e.title.clone().unwrap_or(last),
                            author: e.author.clone().or(Some(first)),
                            description: e.description.clone(),
                            repository: Some(url.clone()),
                            downloads: Some(0),
                            github_stars: Some(0),
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
