//! `registry cache build`: the registry data pipeline's cache, which is a registry snapshot
//! (one format for the mirror, the pipeline and tests) with bookkeeping per pack and version.
//!
//! Three phases, each skippable: the pack list (`/nodes` pages), each changed pack's versions
//! (`/nodes/{id}/versions`), and the node classes of each pack's newest versions
//! (`/comfy-nodes`, with an explicit page `limit`). Incremental: a pack whose list entry (latest
//! version, its date, status, update time) is what it was at the last sync is not fetched again,
//! so a refresh with nothing changed costs the pack pages and nothing else. Nothing is ever
//! removed: vanished packs and versions are marked, deprecated and banned ones keep their flags.
//! The snapshot is written atomically every `checkpoint_interval` packs, so a killed build
//! resumes from its last checkpoint: packs already synced match their fingerprint and are
//! skipped. Failures are retried, then reported per pack; the build always finishes.

use super::client::RegistryClient;
use super::resolve::parse_version;
use super::snapshot::{SNAPSHOT_FILE, Snapshot, SnapshotPack, SnapshotVersion, download_archive, rfc3339_now};
use super::types::{ComfyNode, Node, NodeVersion};
use super::{RegistryError, Result};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Written beside the snapshot: what was built, when, from where, and its counts.
pub const METADATA_FILE: &str = "metadata.json";
/// `sha256sum`-style sidecar of the snapshot file.
pub const SHA256_FILE: &str = "registry-snapshot.json.sha256";
/// Packs asked for per `/nodes` page (the API clamps and says what it served).
const PAGE_LIMIT: u64 = 100;
/// Node classes asked for per comfy-nodes page; the API's default of 10 would cost 10x pages.
const COMFY_NODES_LIMIT: u64 = 100;
/// A version with more pages than this is cut off (a server announcing endless pages).
const MAX_COMFY_PAGES: u64 = 1000;
/// Attempts per pack for failures the HTTP layer does not retry (unreadable JSON).
const PACK_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct CacheBuildOptions {
    pub out: PathBuf,
    /// Start from this cache when `out` has none yet (copied, never changed).
    pub input: Option<PathBuf>,
    pub nodes: bool,
    pub versions: bool,
    pub metadata: bool,
    /// Node classes for this many newest versions per pack; 0 = all.
    pub max_versions: usize,
    pub concurrency: usize,
    pub checkpoint_interval: usize,
    /// At most this many pack pages (a partial listing never marks packs vanished).
    pub pages: Option<u64>,
    /// Also download the archives of the versions metadata is fetched for.
    pub archives: bool,
    /// Also keep a dated, gzip-compressed copy under `DIR/YYYY/MM/`.
    pub history: Option<PathBuf>,
}

impl CacheBuildOptions {
    pub fn new(out: PathBuf) -> CacheBuildOptions {
        CacheBuildOptions {
            out,
            input: None,
            nodes: true,
            versions: true,
            metadata: true,
            max_versions: 1,
            concurrency: 4,
            checkpoint_interval: 500,
            pages: None,
            archives: false,
            history: None,
        }
    }
}

/// One pack (or pack page) that could not be fetched after retries.
#[derive(Debug, Clone, Serialize)]
pub struct PackFailure {
    pub pack: String,
    pub phase: &'static str,
    pub error: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheCounts {
    pub packs: usize,
    pub versions: usize,
    pub comfy_nodes: usize,
    pub versions_with_metadata: usize,
    pub vanished_packs: usize,
    pub vanished_versions: usize,
    pub deprecated_versions: usize,
    pub banned_versions: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheBuildSummary {
    pub listed_packs: usize,
    pub new_packs: usize,
    pub packs_refreshed: usize,
    pub new_versions: usize,
    pub metadata_fetched: usize,
    pub metadata_missing: usize,
    pub archives_downloaded: usize,
    pub requests: u64,
    pub duration_secs: f64,
    pub counts: CacheCounts,
    pub failures: Vec<PackFailure>,
}

/// `metadata.json`.
#[derive(Debug, Clone, Serialize)]
struct BuildMetadata<'a> {
    format: &'static str,
    format_version: u32,
    date: String,
    source: &'a str,
    duration_secs: f64,
    requests: u64,
    failures: usize,
    counts: &'a CacheCounts,
    snapshot_sha256: &'a str,
}

/// Runs the build into `options.out`. Errors are reserved for what stops the whole build (the
/// folder cannot be written, the existing cache is unreadable); per-pack failures are in the
/// summary.
pub fn build_cache(client: &RegistryClient, options: &CacheBuildOptions) -> Result<CacheBuildSummary> {
    let started = Instant::now();
    let reporter = client.reporter();
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(RegistryError::io(out))?;
    if !out.join(SNAPSHOT_FILE).is_file()
        && let Some(input) = &options.input
    {
        reporter.step(&format!("Starting from the cache in {}", input.display()));
        crate::fsx::copy_tree(input, out).map_err(RegistryError::io(out))?;
    }
    let mut snap = if out.join(SNAPSHOT_FILE).is_file() {
        Snapshot::load(out)?
    } else {
        Snapshot::empty(Some(client.base_url().to_string()))
    };
    snap.source = Some(client.base_url().to_string());
    let requests = AtomicU64::new(0);
    let mut summary = CacheBuildSummary::default();
    let concurrency = options.concurrency.max(1);
    let interval = options.checkpoint_interval.max(1);

    // Phase 1: the pack list.
    let mut fingerprints: HashMap<String, String> = HashMap::new();
    if options.nodes {
        reporter.step(&format!("Listing packs at {}", client.base_url()));
        let listed = list_packs(client, options.pages, &requests, &mut summary.failures);
        summary.listed_packs = listed.nodes.len();
        let now = rfc3339_now();
        let mut index: HashMap<String, usize> = snap
            .packs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.node.id.clone(), i))
            .collect();
        let mut seen = HashSet::new();
        // A listing that changes nothing is not worth rewriting a large file for.
        let mut changed = false;
        for node in listed.nodes {
            seen.insert(node.id.clone());
            fingerprints.insert(node.id.clone(), fingerprint(&node));
            let mut node = node;
            node.latest_version = None;
            match index.get(&node.id) {
                Some(&i) => {
                    let pack = &mut snap.packs[i];
                    if pack.vanished_at.is_some()
                        || serde_json::to_value(&pack.node).ok() != serde_json::to_value(&node).ok()
                    {
                        changed = true;
                    }
                    pack.node = node;
                    pack.vanished_at = None;
                }
                None => {
                    changed = true;
                    index.insert(node.id.clone(), snap.packs.len());
                    summary.new_packs += 1;
                    snap.packs.push(SnapshotPack {
                        first_seen: Some(now.clone()),
                        ..SnapshotPack::new(node)
                    });
                }
            }
        }
        // Only a complete listing can say a pack is gone.
        if listed.complete {
            for pack in snap.packs.iter_mut().filter(|p| !seen.contains(&p.node.id)) {
                if pack.vanished_at.is_none() {
                    pack.vanished_at = Some(now.clone());
                    changed = true;
                }
            }
        }
        if changed {
            snap.save(out)?;
        }
    }

    // Phase 2: versions of the packs whose list entry changed since their last sync.
    if options.versions {
        let todo: Vec<usize> = snap
            .packs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.vanished_at.is_none())
            .filter(|(_, p)| match fingerprints.get(&p.node.id) {
                Some(f) => p.synced.as_deref() != Some(f.as_str()),
                // Not listed this run (--no-nodes, --pages): only packs never synced.
                None => p.synced.is_none(),
            })
            .map(|(i, _)| i)
            .collect();
        reporter.step(&format!("Fetching versions of {} pack(s)", todo.len()));
        let tally = Tally::new(reporter, "versions (packs)", todo.len());
        let mut done = 0;
        for batch in todo.chunks(interval) {
            let ids: Vec<String> = batch.iter().map(|&i| snap.packs[i].node.id.clone()).collect();
            let results = crate::pool::map(&ids, concurrency, |id| {
                let r = with_retries(|| fetch_versions(client, id, &requests));
                tally.tick();
                r
            });
            let now = rfc3339_now();
            for (&i, result) in batch.iter().zip(results) {
                let pack = &mut snap.packs[i];
                match result {
                    Ok(upstream) => {
                        summary.packs_refreshed += 1;
                        summary.new_versions += merge_versions(pack, upstream, &now);
                        pack.last_checked = Some(now.clone());
                        pack.synced = fingerprints.get(&pack.node.id).cloned().or_else(|| Some(String::new()));
                    }
                    Err(e) => summary.failures.push(PackFailure {
                        pack: pack.node.id.clone(),
                        phase: "versions",
                        error: e.to_string(),
                    }),
                }
            }
            done += batch.len();
            snap.save(out)?;
            reporter.step(&format!("versions: {done}/{} packs (checkpoint saved)", todo.len()));
        }
    }

    // Phase 3: node classes of the newest versions not yet asked about.
    if options.metadata {
        let todo: Vec<(usize, Vec<String>)> = snap
            .packs
            .iter()
            .enumerate()
            // A vanished pack keeps what it had; asking about it would only collect 404s.
            .filter(|(_, p)| p.vanished_at.is_none())
            .filter_map(|(i, p)| {
                let wanted: Vec<String> = newest(p, options.max_versions)
                    .filter(|v| v.metadata_checked.is_none())
                    .map(|v| v.node_version.version.clone())
                    .collect();
                (!wanted.is_empty()).then_some((i, wanted))
            })
            .collect();
        reporter.step(&format!("Fetching node classes of {} pack(s)", todo.len()));
        let tally = Tally::new(reporter, "node classes (packs)", todo.len());
        let mut done = 0;
        for batch in todo.chunks(interval) {
            let jobs: Vec<(String, Vec<String>)> = batch
                .iter()
                .map(|(i, vs)| (snap.packs[*i].node.id.clone(), vs.clone()))
                .collect();
            let results = crate::pool::map(&jobs, concurrency, |(id, versions)| {
                let r = versions
                    .iter()
                    .map(|v| with_retries(|| fetch_comfy_nodes(client, id, v, &requests)).map(|n| (v.clone(), n)))
                    .collect::<Result<Vec<_>>>();
                tally.tick();
                r
            });
            let now = rfc3339_now();
            for ((i, _), result) in batch.iter().zip(results) {
                let pack = &mut snap.packs[*i];
                match result {
                    Ok(found) => {
                        for (version, nodes) in found {
                            if let Some(sv) = pack.versions.iter_mut().find(|v| v.node_version.version == version) {
                                match &nodes {
                                    Some(_) => summary.metadata_fetched += 1,
                                    None => summary.metadata_missing += 1,
                                }
                                sv.comfy_nodes = nodes;
                                sv.metadata_checked = Some(now.clone());
                            }
                        }
                    }
                    Err(e) => summary.failures.push(PackFailure {
                        pack: pack.node.id.clone(),
                        phase: "metadata",
                        error: e.to_string(),
                    }),
                }
            }
            done += batch.len();
            snap.save(out)?;
            reporter.step(&format!("metadata: {done}/{} packs (checkpoint saved)", todo.len()));
        }
    }

    if options.archives {
        let partial = out.join(".partial");
        for pack in snap.packs.iter_mut() {
            let id = pack.node.id.clone();
            let wanted: Vec<String> = newest(pack, options.max_versions)
                .filter(|v| v.archive.is_none() && !v.node_version.download_url.is_empty())
                .map(|v| v.node_version.version.clone())
                .collect();
            for version in wanted {
                let Some(sv) = pack.versions.iter_mut().find(|v| v.node_version.version == version) else {
                    continue;
                };
                requests.fetch_add(1, Ordering::Relaxed);
                match download_archive(client, out, &partial, &id, sv) {
                    Ok(_) => summary.archives_downloaded += 1,
                    Err(e) => summary.failures.push(PackFailure {
                        pack: id.clone(),
                        phase: "archives",
                        error: e.to_string(),
                    }),
                }
            }
        }
        let _ = fs_err::remove_dir_all(&partial);
    }

    snap.created_at = Some(rfc3339_now());
    let bytes = snap.save_bytes(out)?;
    summary.counts = counts(&snap);
    summary.requests = requests.load(Ordering::Relaxed);
    summary.duration_secs = started.elapsed().as_secs_f64();
    write_sidecars(out, &bytes, client.base_url(), &summary, options.history.as_deref())?;
    Ok(summary)
}

/// What a pack's list entry says about its versions: when this changes, the versions are
/// fetched again.
fn fingerprint(node: &Node) -> String {
    let (v, at) = node
        .latest_version
        .as_ref()
        .map(|l| (l.version.as_str(), l.created_at.as_deref().unwrap_or("")))
        .unwrap_or(("", ""));
    let updated = node
        .extra
        .get("updated_at")
        .or_else(|| node.extra.get("updatedAt"))
        .and_then(|u| u.as_str())
        .unwrap_or("");
    format!("{v}|{at}|{}|{updated}", node.status.as_str())
}

/// The newest `max` versions of a pack (0 = all) by semver, vanished ones left out.
fn newest(pack: &SnapshotPack, max: usize) -> impl Iterator<Item = &SnapshotVersion> {
    let mut vs: Vec<&SnapshotVersion> = pack.versions.iter().filter(|v| v.vanished_at.is_none()).collect();
    vs.sort_by_key(|v| std::cmp::Reverse(parse_version(&v.node_version.version)));
    let take = if max == 0 { vs.len() } else { max };
    vs.into_iter().take(take)
}

struct Listing {
    nodes: Vec<Node>,
    /// Every page announced was read.
    complete: bool,
}

fn list_packs(
    client: &RegistryClient,
    pages: Option<u64>,
    requests: &AtomicU64,
    failures: &mut Vec<PackFailure>,
) -> Listing {
    let mut seen = HashSet::new();
    let mut nodes = Vec::new();
    let mut complete = true;
    let mut page = 1;
    let mut total_pages = 1;
    let reporter = client.reporter();
    loop {
        requests.fetch_add(1, Ordering::Relaxed);
        match with_retries(|| client.list_nodes(page, PAGE_LIMIT)) {
            Ok(p) => {
                total_pages = p.total_pages;
                for n in p.nodes {
                    if !n.id.is_empty() && seen.insert(n.id.clone()) {
                        nodes.push(n);
                    }
                }
            }
            Err(e) => {
                complete = false;
                failures.push(PackFailure {
                    pack: format!("(pack list page {page})"),
                    phase: "packs",
                    error: e.to_string(),
                });
            }
        }
        reporter.count("pack pages", page, total_pages.max(page));
        if page >= total_pages {
            break;
        }
        if pages.is_some_and(|max| page >= max) {
            complete = false;
            break;
        }
        page += 1;
    }
    reporter.count_end("pack pages");
    Listing { nodes, complete }
}

fn fetch_versions(client: &RegistryClient, id: &str, requests: &AtomicU64) -> Result<Option<Vec<NodeVersion>>> {
    requests.fetch_add(1, Ordering::Relaxed);
    match client.versions(id) {
        Ok(v) => Ok(Some(v)),
        // A banned pack's versions are kept as they were; a pack the registry no longer
        // knows is marked when the pack list stops listing it.
        Err(RegistryError::BannedNode { .. } | RegistryError::UnknownNode { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// All pages of a version's node classes; `None` when the registry has none (404).
fn fetch_comfy_nodes(
    client: &RegistryClient,
    id: &str,
    version: &str,
    requests: &AtomicU64,
) -> Result<Option<Vec<ComfyNode>>> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        requests.fetch_add(1, Ordering::Relaxed);
        let Some(p) = client.comfy_nodes_page(id, version, page, COMFY_NODES_LIMIT)? else {
            return Ok(None);
        };
        let empty = p.comfy_nodes.is_empty();
        out.extend(p.comfy_nodes);
        if empty || page >= p.total_number_of_pages || page >= MAX_COMFY_PAGES {
            return Ok(Some(out));
        }
        page += 1;
    }
}

/// Merges the upstream version list into `pack`: new versions are added with `first_seen`,
/// known ones take the upstream fields (deprecation, status) and keep their bookkeeping and
/// node classes, and versions no longer listed are marked vanished. Returns how many are new.
fn merge_versions(pack: &mut SnapshotPack, upstream: Option<Vec<NodeVersion>>, now: &str) -> usize {
    let Some(upstream) = upstream else { return 0 };
    let mut added = 0;
    let mut listed = HashSet::new();
    for mut v in upstream {
        if v.version.is_empty() {
            continue;
        }
        if v.node_id.is_empty() {
            v.node_id = pack.node.id.clone();
        }
        listed.insert(v.version.clone());
        match pack.versions.iter_mut().find(|sv| sv.node_version.version == v.version) {
            Some(sv) => {
                sv.node_version = v;
                sv.last_checked = Some(now.to_string());
                sv.vanished_at = None;
            }
            None => {
                added += 1;
                pack.versions.push(SnapshotVersion {
                    first_seen: Some(now.to_string()),
                    last_checked: Some(now.to_string()),
                    ..SnapshotVersion::new(v)
                });
            }
        }
    }
    for sv in pack
        .versions
        .iter_mut()
        .filter(|sv| !listed.contains(&sv.node_version.version))
    {
        sv.vanished_at.get_or_insert_with(|| now.to_string());
    }
    pack.versions
        .sort_by_key(|v| std::cmp::Reverse(parse_version(&v.node_version.version)));
    added
}

/// Retries what the HTTP layer does not: a body that arrived but is not the JSON expected (a
/// cut-off answer). Transport failures, 429 and 5xx were already retried below.
fn with_retries<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Err(RegistryError::BadResponse { .. }) if tries < PACK_ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(tries)));
            }
            other => return other,
        }
    }
}

/// `f` over `items` on at most `workers` threads; results in input order.
/// Counted progress of one phase, shown as a bar on a terminal; ended when dropped.
struct Tally<'a> {
    reporter: &'a dyn crate::progress::Reporter,
    label: &'static str,
    total: u64,
    done: AtomicU64,
}

impl<'a> Tally<'a> {
    fn new(reporter: &'a dyn crate::progress::Reporter, label: &'static str, total: usize) -> Self {
        Tally {
            reporter,
            label,
            total: total as u64,
            done: AtomicU64::new(0),
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.reporter.count(self.label, done, self.total);
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        self.reporter.count_end(self.label);
    }
}

pub fn counts(snap: &Snapshot) -> CacheCounts {
    let mut c = CacheCounts {
        packs: snap.packs.len(),
        ..CacheCounts::default()
    };
    for p in &snap.packs {
        c.vanished_packs += usize::from(p.vanished_at.is_some());
        for v in &p.versions {
            c.versions += 1;
            c.vanished_versions += usize::from(v.vanished_at.is_some());
            c.deprecated_versions += usize::from(v.node_version.deprecated);
            c.banned_versions += usize::from(v.node_version.status == super::types::VersionStatus::Banned);
            if let Some(n) = &v.comfy_nodes {
                c.versions_with_metadata += 1;
                c.comfy_nodes += n.len();
            }
        }
    }
    c
}

/// `metadata.json`, the sha256 sidecar and, with `history`, a dated gzip copy.
fn write_sidecars(
    out: &Path,
    bytes: &[u8],
    source: &str,
    summary: &CacheBuildSummary,
    history: Option<&Path>,
) -> Result<()> {
    use sha2::{Digest, Sha256};
    let sha = hex::encode(Sha256::digest(bytes));
    let sidecar = out.join(SHA256_FILE);
    crate::fsx::write_atomic(&sidecar, format!("{sha}  {SNAPSHOT_FILE}\n").as_bytes())
        .map_err(RegistryError::io(&sidecar))?;
    let now = crate::clock::now_secs();
    let meta = BuildMetadata {
        format: "comfydock-registry-cache-metadata",
        format_version: 1,
        date: crate::clock::rfc3339(now),
        source,
        duration_secs: (summary.duration_secs * 1000.0).round() / 1000.0,
        requests: summary.requests,
        failures: summary.failures.len(),
        counts: &summary.counts,
        snapshot_sha256: &sha,
    };
    let path = out.join(METADATA_FILE);
    let mut text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    text.push(b'\n');
    crate::fsx::write_atomic(&path, &text).map_err(RegistryError::io(&path))?;
    if let Some(dir) = history {
        let (y, mo, d, h, mi, s) = crate::clock::utc_fields(now);
        let folder = dir.join(format!("{y:04}")).join(format!("{mo:02}"));
        std::fs::create_dir_all(&folder).map_err(RegistryError::io(&folder))?;
        let file = folder.join(format!(
            "registry-snapshot-{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z.json.gz"
        ));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, bytes).map_err(RegistryError::io(&file))?;
        let compressed = gz.finish().map_err(RegistryError::io(&file))?;
        crate::fsx::write_atomic(&file, &compressed).map_err(RegistryError::io(&file))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: &str) -> NodeVersion {
        NodeVersion {
            version: v.to_string(),
            ..NodeVersion::default()
        }
    }

    #[test]
    fn merging_never_drops_and_marks_what_vanished() {
        let mut pack = SnapshotPack::new(Node {
            id: "p".into(),
            ..Node::default()
        });
        assert_eq!(
            merge_versions(&mut pack, Some(vec![version("1.0.0"), version("1.1.0")]), "t1"),
            2
        );
        pack.versions[0].comfy_nodes = Some(Vec::new());
        let mut dep = version("1.1.0");
        dep.deprecated = true;
        assert_eq!(merge_versions(&mut pack, Some(vec![dep, version("1.2.0")]), "t2"), 1);
        let by = |v: &str| pack.versions.iter().find(|x| x.node_version.version == v).unwrap();
        assert_eq!(by("1.0.0").vanished_at.as_deref(), Some("t2"));
        assert!(by("1.1.0").node_version.deprecated);
        assert!(by("1.1.0").comfy_nodes.is_some(), "node classes survive a refresh");
        assert_eq!(by("1.1.0").first_seen.as_deref(), Some("t1"));
        assert_eq!(pack.versions[0].node_version.version, "1.2.0");
    }

    #[test]
    fn the_fingerprint_follows_the_latest_version_and_status() {
        let mut n = Node::default();
        let a = fingerprint(&n);
        n.latest_version = Some(version("1.0.0"));
        let b = fingerprint(&n);
        assert_ne!(a, b);
        n.status = super::super::types::NodeStatus::Banned;
        assert_ne!(b, fingerprint(&n));
    }
}
