//! `registry mappings build`: node mappings from the registry cache alone, offline. Every
//! version goes into its package record; node classes of non-deprecated versions (newest
//! `max_versions` per pack with metadata) give a `Type::signature` key and a name-only
//! `Type::_` key. The result depends only on the cache: the same cache gives the same bytes
//! (dates come from the cache, maps are sorted).

use super::cache_view::{CacheView, PackView};
use super::signature::{canonical_signature, name_only_key, node_key};
use super::url::normalize_repository;
use super::{MappingEntry, Mappings, Package, PackageVersion, Result};
use crate::registry::resolve::parse_version;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Node classes of this many newest versions with metadata per pack; 0 = all.
    pub max_versions: usize,
    /// A previous mappings file: its packages and entries that the cache does not have (such
    /// as Manager-only ones) are kept.
    pub input: Option<Mappings>,
}

pub fn build_from_cache(cache_dir: &Path, options: &BuildOptions) -> Result<Mappings> {
    let snap = CacheView::load(cache_dir)?;
    Ok(build(&snap, options))
}

pub fn build(snap: &CacheView, options: &BuildOptions) -> Mappings {
    let generated_at = snap.created_at.clone().unwrap_or_default();
    let version = generated_at.get(0..10).map(|d| d.replace('-', ".")).unwrap_or_default();
    let mut m = Mappings {
        version,
        generated_at,
        ..Mappings::default()
    };
    // Reading signatures (a JSON parse and a SHA-1 per node class) is most of the work and
    // independent per pack; the merge into the sorted map stays sequential and in cache order,
    // so the output does not depend on scheduling.
    let per_pack: Vec<(String, Package, Vec<NodeClass>)> = snap
        .packs
        .par_iter()
        .map(|pack| {
            let id = pack.node.id.clone().unwrap_or_default();
            let record = package_record(&id, pack);
            (id, record, node_classes(pack, options.max_versions))
        })
        .collect();
    let mut total_nodes = 0;
    for (id, record, classes) in per_pack {
        m.packages.insert(id.clone(), record);
        total_nodes += classes.len();
        for (key, name, version) in classes {
            add_entry(&mut m.mappings, key, &id, version);
            add_entry(&mut m.mappings, name_only_key(name), &id, version);
        }
    }
    if let Some(previous) = &options.input {
        keep_previous(&mut m, previous);
    }
    m.recount();
    // As published: every node class of every version read, duplicates included.
    m.stats.total_nodes = total_nodes;
    m.rerank();
    m
}

/// `(signature key, node type, version)` of one node class of one version.
type NodeClass<'a> = (String, &'a str, &'a str);

/// The node classes of the pack's newest
/// `max_versions` non-deprecated versions with metadata (0 = all).
fn node_classes(pack: &PackView, max_versions: usize) -> Vec<NodeClass<'_>> {
    let mut with_metadata: Vec<_> = pack
        .versions
        .iter()
        .filter(|v| v.node_version.deprecated != Some(true) && v.comfy_nodes.is_some())
        .filter(|v| v.node_version.version.as_deref().is_some_and(|s| !s.is_empty()))
        .collect();
    with_metadata.sort_by_key(|v| std::cmp::Reverse(parse_version(v.node_version.version.as_deref().unwrap_or(""))));
    let take = if max_versions == 0 {
        with_metadata.len()
    } else {
        max_versions
    };
    let mut out = Vec::new();
    for v in with_metadata.into_iter().take(take) {
        let version = v.node_version.version.as_deref().unwrap_or("");
        for node in v.comfy_nodes.iter().flatten() {
            let name = node.comfy_node_name.as_deref().unwrap_or("");
            if !name.is_empty() {
                out.push((
                    node_key(name, &canonical_signature(&node.input_types_text())),
                    name,
                    version,
                ));
            }
        }
    }
    out
}

fn add_entry(mappings: &mut BTreeMap<String, Vec<MappingEntry>>, key: String, id: &str, version: &str) {
    let entries = mappings.entry(key).or_default();
    match entries.iter_mut().find(|e| e.package_id == id) {
        Some(e) => {
            if !e.versions.iter().any(|v| v == version) {
                e.versions.push(version.to_string());
            }
        }
        None => entries.push(MappingEntry {
            package_id: id.to_string(),
            versions: vec![version.to_string()],
            rank: 0,
            source: None,
        }),
    }
}

fn package_record(id: &str, pack: &PackView) -> Package {
    let n = &pack.node;
    let text = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Package {
        display_name: text(&n.name).unwrap_or_else(|| id.to_string()),
        author: text(&n.author),
        description: text(&n.description),
        repository: text(&n.repository).map(|r| normalize_repository(&r)),
        downloads: Some(n.downloads.unwrap_or(0)),
        github_stars: Some(n.github_stars.unwrap_or(0)),
        rating: Some(n.rating.unwrap_or(0.0)),
        license: text(&n.license),
        category: text(&n.category),
        icon: text(&n.icon),
        tags: Some(n.tags.clone().unwrap_or_default()),
        status: text(&n.status),
        created_at: n.created_at.clone(),
        search_ranking: n.search_ranking,
        preempts: n.preempted_comfy_node_names.clone().unwrap_or_default(),
        git_url: None,
        last_update: None,
        versions: pack
            .versions
            .iter()
            .filter_map(|v| {
                let nv = &v.node_version;
                let version = text(&nv.version)?;
                Some((
                    version.clone(),
                    PackageVersion {
                        version,
                        changelog: text(&nv.changelog),
                        release_date: nv.created_at.clone(),
                        dependencies: Some(nv.dependencies.clone().unwrap_or_default()),
                        deprecated: nv.deprecated.unwrap_or(false),
                        download_url: text(&nv.download_url),
                        status: text(&nv.status),
                    },
                ))
            })
            .collect(),
        source: None,
    }
}

/// Packages and entries of a previous file that this build does not know stay.
fn keep_previous(m: &mut Mappings, previous: &Mappings) {
    for (id, p) in &previous.packages {
        m.packages.entry(id.clone()).or_insert_with(|| p.clone());
    }
    for (key, entries) in &previous.mappings {
        let now = m.mappings.entry(key.clone()).or_default();
        for e in entries {
            if !now.iter().any(|x| x.package_id == e.package_id) {
                now.push(e.clone());
            }
        }
    }
    for b in &previous.builtin {
        if !m.builtin.contains(b) {
            m.builtin.push(b.clone());
        }
    }
    m.builtin.sort();
    for r in &previous.patterns {
        if !m.patterns.contains(r) {
            m.patterns.push(r.clone());
        }
    }
}
