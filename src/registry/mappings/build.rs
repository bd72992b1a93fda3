//! `registry mappings build`: node mappings from the registry cache alone, offline. Every
//! version goes into its package record; node classes of non-deprecated versions (newest
//! `max_versions` per pack with metadata) give a `Type::signature` key and a name-only
//! `Type::_` key. The result depends only on the cache: the same cache gives the same bytes
//! (dates come from the cache, maps are sorted).

use super::signature::{canonical_signature, name_only_key, node_key};
use super::url::normalize_repository;
use super::{MappingEntry, Mappings, Package, PackageVersion, Result};
use crate::registry::resolve::parse_version;
use crate::registry::snapshot::{Snapshot, SnapshotPack};
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
    let snap = Snapshot::load(cache_dir)?;
    Ok(build(&snap, options))
}

pub fn build(snap: &Snapshot, options: &BuildOptions) -> Mappings {
    let generated_at = snap.created_at.clone().unwrap_or_default();
    let version = generated_at.get(0..10).map(|d| d.replace('-', ".")).unwrap_or_default();
    let mut m = Mappings {
        version,
        generated_at,
        ..Mappings::default()
    };
    let mut total_nodes = 0;
    for pack in &snap.packs {
        let id = pack.node.id.clone();
        m.packages.insert(id.clone(), package_record(pack));
        let mut with_metadata: Vec<_> = pack
            .versions
            .iter()
            .filter(|v| !v.node_version.deprecated && v.comfy_nodes.is_some())
            .collect();
        with_metadata.sort_by_key(|v| std::cmp::Reverse(parse_version(&v.node_version.version)));
        let take = if options.max_versions == 0 {
            with_metadata.len()
        } else {
            options.max_versions
        };
        for v in with_metadata.into_iter().take(take) {
            for node in v.comfy_nodes.iter().flatten() {
                if node.comfy_node_name.is_empty() {
                    continue;
                }
                total_nodes += 1;
                let key = node_key(&node.comfy_node_name, &canonical_signature(&node.input_types));
                let name_only = name_only_key(&node.comfy_node_name);
                for k in [key, name_only] {
                    add_entry(&mut m.mappings, k, &id, &v.node_version.version);
                }
            }
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

fn package_record(pack: &SnapshotPack) -> Package {
    let n = &pack.node;
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Package {
        display_name: if n.name.is_empty() {
            n.id.clone()
        } else {
            n.name.clone()
        },
        author: some(&n.author),
        description: some(&n.description),
        repository: some(&n.repository).map(|r| normalize_repository(&r)),
        downloads: Some(n.downloads),
        github_stars: Some(n.github_stars),
        rating: Some(n.rating),
        license: some(&n.license),
        category: n.extra.get("category").and_then(|c| c.as_str()).map(str::to_string),
        icon: some(&n.icon),
        tags: Some(n.tags.clone()),
        status: some(n.status.as_str()),
        created_at: n.created_at.clone(),
        search_ranking: n.search_ranking,
        preempts: n.preempted_comfy_node_names.clone(),
        versions: pack
            .versions
            .iter()
            .map(|v| {
                let nv = &v.node_version;
                (
                    nv.version.clone(),
                    PackageVersion {
                        version: nv.version.clone(),
                        changelog: some(&nv.changelog),
                        release_date: nv.created_at.clone(),
                        dependencies: Some(nv.dependencies.clone()),
                        deprecated: nv.deprecated,
                        download_url: some(&nv.download_url),
                        status: some(nv.status.as_str()),
                    },
                )
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
