//! `registry validate`: integrity of a cache and, optionally, of mappings built from it. Every
//! finding is collected (nothing stops at the first), so one run lists what to fix.

use super::{Mappings, SOURCE_MANAGER, signature};
use crate::registry::cache_build::{METADATA_FILE, SHA256_FILE, counts};
use crate::registry::snapshot::{SNAPSHOT_FILE, Snapshot};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Things that are wrong: `validate` exits 1 when there are any.
    pub problems: Vec<String>,
    /// Worth knowing, not wrong.
    pub warnings: Vec<String>,
    pub packs: usize,
    pub keys: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn validate(cache_dir: &Path, mappings: Option<&Path>) -> Report {
    let mut r = Report::default();
    let snap = match Snapshot::load(cache_dir) {
        Ok(s) => Some(s),
        Err(e) => {
            r.problems.push(format!("cache: {e}"));
            None
        }
    };
    if let Some(snap) = &snap {
        check_cache(cache_dir, snap, &mut r);
    }
    if let Some(path) = mappings {
        match Mappings::load(path) {
            Ok(m) => check_mappings(&m, snap.as_ref(), &mut r),
            Err(e) => r.problems.push(format!("mappings: {e}")),
        }
    }
    r
}

fn check_cache(dir: &Path, snap: &Snapshot, r: &mut Report) {
    r.packs = snap.packs.len();
    for p in &snap.packs {
        if p.node.name.is_empty() {
            r.warnings.push(format!("pack {} has no name", p.node.id));
        }
        let mut seen = HashSet::new();
        for v in &p.versions {
            if !seen.insert(v.node_version.version.as_str()) {
                r.problems.push(format!(
                    "pack {} lists version {} twice",
                    p.node.id, v.node_version.version
                ));
            }
        }
    }
    let bytes = fs_err::read(dir.join(SNAPSHOT_FILE)).unwrap_or_default();
    match fs_err::read_to_string(dir.join(SHA256_FILE)) {
        Ok(text) => {
            use sha2::{Digest, Sha256};
            let actual = hex::encode(Sha256::digest(&bytes));
            let recorded = text.split_whitespace().next().unwrap_or("");
            if recorded != actual {
                r.problems.push(format!(
                    "{SHA256_FILE} says {recorded}, but {SNAPSHOT_FILE} hashes to {actual}"
                ));
            }
        }
        Err(_) => r.warnings.push(format!("no {SHA256_FILE} beside the cache")),
    }
    match fs_err::read(dir.join(METADATA_FILE)) {
        Ok(meta) => match serde_json::from_slice::<serde_json::Value>(&meta) {
            Ok(meta) => {
                let c = counts(snap);
                let actual = [
                    ("packs", c.packs),
                    ("versions", c.versions),
                    ("comfy_nodes", c.comfy_nodes),
                ];
                for (name, n) in actual {
                    let said = meta["counts"][name].as_u64();
                    if said != Some(n as u64) {
                        r.problems.push(format!(
                            "{METADATA_FILE} counts {name} = {}, the cache holds {n}",
                            said.map_or("nothing".to_string(), |s| s.to_string())
                        ));
                    }
                }
            }
            Err(e) => r.problems.push(format!("{METADATA_FILE}: {e}")),
        },
        Err(_) => r.warnings.push(format!("no {METADATA_FILE} beside the cache")),
    }
}

fn check_mappings(m: &Mappings, snap: Option<&Snapshot>, r: &mut Report) {
    r.keys = m.mappings.len();
    for (key, entries) in &m.mappings {
        if entries.is_empty() {
            r.problems.push(format!("mapping {key:?} lists no package"));
        }
        if signature::split_key(key).is_none() {
            r.problems
                .push(format!("mapping key {key:?} is not `NodeType::signature`"));
        }
        for (i, e) in entries.iter().enumerate() {
            if e.rank as usize != i + 1 {
                r.problems.push(format!(
                    "mapping {key:?}: {} has rank {} at position {} (ranks must be 1..n in order)",
                    e.package_id,
                    e.rank,
                    i + 1
                ));
            }
            let Some(p) = m.packages.get(&e.package_id) else {
                r.problems.push(format!(
                    "mapping {key:?} names package {} which is not in `packages`",
                    e.package_id
                ));
                continue;
            };
            if e.source.as_deref() != Some(SOURCE_MANAGER) {
                for v in &e.versions {
                    if !p.versions.contains_key(v) {
                        r.problems
                            .push(format!("mapping {key:?}: {} has no version {v}", e.package_id));
                    }
                }
            }
        }
    }
    if m.stats.packages != m.packages.len() {
        r.problems.push(format!(
            "stats.packages is {}, the file has {} packages",
            m.stats.packages,
            m.packages.len()
        ));
    }
    if m.stats.signatures != m.mappings.len() {
        r.problems.push(format!(
            "stats.signatures is {}, the file has {} keys",
            m.stats.signatures,
            m.mappings.len()
        ));
    }
    for rule in &m.patterns {
        if !m.packages.contains_key(&rule.package_id) {
            r.problems.push(format!(
                "pattern {:?} names unknown package {}",
                rule.pattern, rule.package_id
            ));
        }
        if regex::Regex::new(&rule.pattern).is_err() {
            r.problems.push(format!(
                "pattern {:?} of {} is not a valid regular expression",
                rule.pattern, rule.package_id
            ));
        }
    }
    if let Some(snap) = snap {
        let in_cache: HashSet<&str> = snap.packs.iter().map(|p| p.node.id.as_str()).collect();
        for (id, p) in &m.packages {
            if p.source.as_deref() != Some(SOURCE_MANAGER) && !in_cache.contains(id.as_str()) {
                r.problems
                    .push(format!("package {id} is in the mappings but not in the cache"));
            }
        }
        let missing = in_cache.iter().filter(|id| !m.packages.contains_key(**id)).count();
        if missing > 0 {
            r.warnings.push(format!(
                "{missing} pack(s) of the cache are not in the mappings (older mappings?)"
            ));
        }
        if let (Some(c), g) = (&snap.created_at, &m.generated_at)
            && !g.is_empty()
            && g < c
        {
            r.warnings
                .push(format!("the mappings ({g}) are older than the cache ({c})"));
        }
    }
}
