//! Registry snapshots: a folder with `registry-snapshot.json` (packs, versions, node classes, as
//! the API returns them) and the archives it names. `registry serve` serves one; `registry
//! snapshot` builds one from a registry (the live one or another mirror). Format:
//! `schema/registry-snapshot.schema.json`, prose in `docs/registry.md`.

use super::client::RegistryClient;
use super::resolve::{self, VersionSpec};
use super::types::{ComfyNode, Node, NodeVersion};
use super::{RegistryError, Result};
use crate::store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

pub const SNAPSHOT_FILE: &str = "registry-snapshot.json";
pub const FORMAT: &str = "comfydock-registry-snapshot";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: String,
    pub format_version: u32,
    /// The registry it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default)]
    pub packs: Vec<SnapshotPack>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotPack {
    /// The pack as `GET /nodes/{id}` returns it; its `latest_version` is ignored (the mirror
    /// computes it from `versions`).
    pub node: Node,
    #[serde(default)]
    pub versions: Vec<SnapshotVersion>,
    /// Bookkeeping of `registry cache build` (absent in plain snapshots): when the pack was
    /// first listed, when its versions were last fetched, what the pack list said then, and
    /// when it stopped being listed upstream. Nothing is dropped: a vanished pack is marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanished_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotVersion {
    /// The version as `GET /nodes/{id}/versions/{v}` returns it; `downloadUrl` is rewritten
    /// by the mirror to point at itself.
    pub node_version: NodeVersion,
    /// The archive, relative to the snapshot folder; absent when the snapshot holds no file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    /// sha256 of the archive, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The version's node classes; absent (null) when the registry has no metadata for it,
    /// which the mirror answers with 404 like the registry does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comfy_nodes: Option<Vec<ComfyNode>>,
    /// Bookkeeping of `registry cache build`: first listed, last seen in the version list,
    /// when its node classes were fetched (with `comfy_nodes` null: the registry has none),
    /// and when it stopped being listed upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_checked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanished_at: Option<String>,
}

impl SnapshotVersion {
    pub fn new(node_version: NodeVersion) -> SnapshotVersion {
        SnapshotVersion {
            node_version,
            archive: None,
            sha256: None,
            comfy_nodes: None,
            first_seen: None,
            last_checked: None,
            metadata_checked: None,
            vanished_at: None,
        }
    }
}

impl SnapshotPack {
    pub fn new(node: Node) -> SnapshotPack {
        SnapshotPack {
            node,
            versions: Vec::new(),
            first_seen: None,
            last_checked: None,
            synced: None,
            vanished_at: None,
        }
    }
}

impl Snapshot {
    pub fn empty(source: Option<String>) -> Snapshot {
        Snapshot {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            source,
            created_at: Some(rfc3339_now()),
            packs: Vec::new(),
        }
    }

    /// Reads and checks `dir/registry-snapshot.json`.
    pub fn load(dir: &Path) -> Result<Snapshot> {
        let path = dir.join(SNAPSHOT_FILE);
        let text = std::fs::read(&path).map_err(RegistryError::io(&path))?;
        let bad = |reason: String| RegistryError::BadSnapshot {
            path: path.clone(),
            reason,
        };
        let snap: Snapshot = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        if snap.format != FORMAT {
            return Err(bad(format!("`format` is {:?}, expected {FORMAT:?}", snap.format)));
        }
        if snap.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format_version {} is not supported (this comfydock reads {FORMAT_VERSION})",
                snap.format_version
            )));
        }
        let mut ids = std::collections::HashSet::new();
        for p in &snap.packs {
            if p.node.id.is_empty() {
                return Err(bad("a pack has no `id`".into()));
            }
            if !ids.insert(p.node.id.as_str()) {
                return Err(bad(format!("pack `{}` appears twice", p.node.id)));
            }
            for v in &p.versions {
                if v.node_version.version.is_empty() {
                    return Err(bad(format!("a version of `{}` has no `version`", p.node.id)));
                }
            }
        }
        Ok(snap)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        self.save_bytes(dir).map(|_| ())
    }

    /// Saves, and returns the bytes written (for checksums without reading the file back).
    pub fn save_bytes(&self, dir: &Path) -> Result<Vec<u8>> {
        let path = dir.join(SNAPSHOT_FILE);
        let mut text = serde_json::to_vec_pretty(self).expect("snapshot serializes");
        text.push(b'\n');
        crate::fsx::write_atomic(&path, &text).map_err(RegistryError::io(&path))?;
        Ok(text)
    }
}

/// Resolves an archive path from a snapshot to a file inside `root`, refusing anything that
/// would read elsewhere (absolute paths, `..`, symlinks leading out).
pub fn archive_path(root: &Path, rel: &str) -> std::result::Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty() || p.is_absolute() {
        return Err(format!("archive path {rel:?} must be relative to the snapshot folder"));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("archive path {rel:?} must not contain `..`"));
    }
    let canonical_root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let full = fs_err::canonicalize(root.join(p)).map_err(|e| format!("archive {rel:?}: {e}"))?;
    if !full.starts_with(&canonical_root) {
        return Err(format!("archive path {rel:?} leads outside the snapshot folder"));
    }
    if !full.is_file() {
        return Err(format!("archive {rel:?} is not a file"));
    }
    Ok(full)
}

/// What `registry snapshot` should take.
#[derive(Debug, Clone, Default)]
pub struct SnapshotRequest {
    /// Packs by id, each with an optional version spec; `None` means every pack.
    pub nodes: Option<Vec<(String, Option<String>)>>,
    /// Every version with an archive, not only the latest (or the one asked for).
    pub all_versions: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SnapshotSummary {
    pub packs: usize,
    pub versions: usize,
    pub archives_downloaded: usize,
    pub archives_reused: usize,
    pub bytes_downloaded: u64,
}

/// Packs fetched at once by `registry snapshot`: each takes a few requests of a few
/// milliseconds, which one after another make minutes of waiting on a large registry.
const PARALLEL_PACKS: usize = 8;

/// Builds (or extends) the snapshot in `out` from `client`'s registry. Packs already in `out`
/// and not asked for are kept; archives already there with a recorded hash are not fetched
/// again. Up to [`PARALLEL_PACKS`] packs are fetched at once; they are merged into the snapshot
/// in the order they were asked for. Archives are written without an fsync each: before each
/// save of the snapshot file (every few seconds, so an interrupted run keeps most of its work,
/// and at the end) one `syncfs` makes every archive written so far durable, so the file never
/// names an archive that a crash could lose.
pub fn build_snapshot(client: &RegistryClient, out: &Path, request: &SnapshotRequest) -> Result<SnapshotSummary> {
    let reporter = client.reporter();
    std::fs::create_dir_all(out).map_err(RegistryError::io(out))?;
    let mut snap = if out.join(SNAPSHOT_FILE).is_file() {
        Snapshot::load(out)?
    } else {
        Snapshot::empty(Some(client.base_url().to_string()))
    };
    snap.source = Some(client.base_url().to_string());
    snap.created_at = Some(rfc3339_now());

    // (pack, the versions wanted: None = the default choice)
    let wanted: Vec<(Node, Option<VersionSpec>)> = match &request.nodes {
        Some(list) => list
            .iter()
            .map(|(id, spec)| {
                let spec = spec.as_deref().map(VersionSpec::parse).transpose()?;
                Ok((client.node(id)?, spec))
            })
            .collect::<Result<_>>()?,
        None => {
            reporter.step(&format!("Listing every pack of {}", client.base_url()));
            client.all_nodes()?.into_iter().map(|n| (n, None)).collect()
        }
    };

    // Downloads land here unsynced: what an earlier (maybe crashed) run left is not trusted.
    let partial = out.join(".partial");
    match fs_err::remove_dir_all(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(RegistryError::io(&partial)(e)),
        _ => {}
    }
    let previous: Vec<BTreeMap<String, SnapshotVersion>> = wanted
        .iter()
        .map(|(node, _)| {
            snap.packs
                .iter()
                .find(|p| p.node.id == node.id)
                .map(|p| {
                    p.versions
                        .iter()
                        .map(|v| (v.node_version.version.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();

    let mut summary = SnapshotSummary::default();
    let mut last_save = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<FetchedPack>)>();
    let merged: Result<()> = std::thread::scope(|s| {
        for worker in 0..PARALLEL_PACKS.min(wanted.len()) {
            let tx = tx.clone();
            let (wanted, previous, next, failed) = (&wanted, &previous, &next, &failed);
            let partial = partial.join(format!("w{worker}"));
            s.spawn(move || {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((node, spec)) = wanted.get(i) else { break };
                    let got = fetch_pack(client, out, &partial, node, spec.as_ref(), request, &previous[i]);
                    if got.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if tx.send((i, got)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Packs are merged in the order asked, as soon as all before them are in.
        let mut waiting: BTreeMap<usize, FetchedPack> = BTreeMap::new();
        let mut merge_from = 0;
        for (i, got) in rx.iter() {
            let pack = match got {
                Ok(pack) => pack,
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            };
            waiting.insert(i, pack);
            while let Some(pack) = waiting.remove(&merge_from) {
                merge_from += 1;
                summary.archives_downloaded += pack.archives_downloaded;
                summary.archives_reused += pack.archives_reused;
                summary.bytes_downloaded += pack.bytes_downloaded;
                merge_pack(&mut snap, pack.node, pack.versions);
            }
            // A checkpoint now and then, not per pack: rewriting a large file per pack is quadratic.
            if last_save.elapsed() >= std::time::Duration::from_secs(5) {
                sync_files(out)?;
                snap.save(out)?;
                last_save = std::time::Instant::now();
            }
        }
        Ok(())
    });
    merged?;
    let _ = fs_err::remove_dir_all(&partial);
    summary.packs = snap.packs.len();
    summary.versions = snap.packs.iter().map(|p| p.versions.len()).sum();
    sync_files(out)?;
    snap.save(out)?;
    Ok(summary)
}

/// One pack as fetched: its node, the versions to keep, and what it took.
struct FetchedPack {
    node: Node,
    versions: Vec<SnapshotVersion>,
    archives_downloaded: usize,
    archives_reused: usize,
    bytes_downloaded: u64,
}

/// Fetches one pack's versions, node classes and archives (the requests of one pack run one
/// after another; packs run side by side).
fn fetch_pack(
    client: &RegistryClient,
    out: &Path,
    partial: &Path,
    node: &Node,
    spec: Option<&VersionSpec>,
    request: &SnapshotRequest,
    previous: &BTreeMap<String, SnapshotVersion>,
) -> Result<FetchedPack> {
    let reporter = client.reporter();
    let id = node.id.clone();
    reporter.step(&format!("Snapshotting {id}"));
    let all = match client.versions(&id) {
        Ok(v) => v,
        Err(RegistryError::BannedNode { .. }) => {
            reporter.warn(&format!("{id} is banned in the registry; keeping its metadata only"));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let chosen: Vec<NodeVersion> = match (spec, request.all_versions) {
        (Some(VersionSpec::Exact(v)), _) => match client.version(&id, v)? {
            Some(found) => vec![found],
            None => {
                return Err(RegistryError::NoVersion {
                    id: id.clone(),
                    wanted: v.clone(),
                    available: "see `comfydock node find`".into(),
                });
            }
        },
        (Some(s), false) => resolve::choose(&all, s).cloned().into_iter().collect(),
        (None, false) => resolve::latest(&all).cloned().into_iter().collect(),
        (_, true) => all
            .iter()
            .filter(|v| !v.download_url.is_empty() && v.status != super::types::VersionStatus::Deleted)
            .cloned()
            .collect(),
    };
    let mut summary = SnapshotSummary::default();
    let mut versions: BTreeMap<String, SnapshotVersion> = previous.clone();
    for v in chosen {
        let entry = snapshot_version(client, out, partial, &id, v, previous, &mut summary)?;
        versions.insert(entry.node_version.version.clone(), entry);
    }
    let mut versions: Vec<SnapshotVersion> = versions.into_values().collect();
    versions.sort_by(|a, b| {
        resolve::parse_version(&b.node_version.version).cmp(&resolve::parse_version(&a.node_version.version))
    });
    let mut node = node.clone();
    node.latest_version = None;
    Ok(FetchedPack {
        node,
        versions,
        archives_downloaded: summary.archives_downloaded,
        archives_reused: summary.archives_reused,
        bytes_downloaded: summary.bytes_downloaded,
    })
}

fn merge_pack(snap: &mut Snapshot, node: Node, versions: Vec<SnapshotVersion>) {
    match snap.packs.iter_mut().find(|p| p.node.id == node.id) {
        Some(existing) => {
            existing.node = node;
            existing.versions = versions;
        }
        None => snap.packs.push(SnapshotPack {
            versions,
            ..SnapshotPack::new(node)
        }),
    }
}

/// Makes every archive written into `out` so far durable, with one `syncfs` of its filesystem
/// rather than an fsync per file and per folder.
fn sync_files(out: &Path) -> Result<()> {
    let dir = std::fs::File::open(out).map_err(RegistryError::io(out))?;
    rustix::fs::syncfs(&dir).map_err(|e| RegistryError::io(out)(e.into()))
}

fn snapshot_version(
    client: &RegistryClient,
    out: &Path,
    partial: &Path,
    id: &str,
    version: NodeVersion,
    previous: &BTreeMap<String, SnapshotVersion>,
    summary: &mut SnapshotSummary,
) -> Result<SnapshotVersion> {
    let v = version.version.clone();
    let comfy_nodes = client.comfy_nodes(id, &v)?;
    let mut entry = match previous.get(&v) {
        // Keep the bookkeeping a cache build recorded.
        Some(prev) => SnapshotVersion {
            node_version: version,
            comfy_nodes,
            archive: None,
            sha256: None,
            ..prev.clone()
        },
        None => SnapshotVersion {
            comfy_nodes,
            ..SnapshotVersion::new(version)
        },
    };
    if entry.node_version.download_url.is_empty() {
        return Ok(entry);
    }
    if let Some(prev) = previous.get(&v)
        && let (Some(rel), Some(sha)) = (&prev.archive, &prev.sha256)
        && archive_path(out, rel).is_ok()
    {
        entry.archive = Some(rel.clone());
        entry.sha256 = Some(sha.clone());
        summary.archives_reused += 1;
        return Ok(entry);
    }
    let got = fetch_archive(client, out, partial, id, &mut entry, false)?;
    summary.archives_downloaded += 1;
    summary.bytes_downloaded += got;
    Ok(entry)
}

/// Downloads `entry`'s archive into `out/archives/…`, hashing it, and records its path and
/// sha256 in `entry`. Returns the bytes downloaded.
pub(crate) fn download_archive(
    client: &RegistryClient,
    out: &Path,
    partial: &Path,
    id: &str,
    entry: &mut SnapshotVersion,
) -> Result<u64> {
    fetch_archive(client, out, partial, id, entry, true)
}

/// `download_archive`; with `durable` false nothing is fsync'd (the caller syncs the set, see
/// [`build_snapshot`]).
fn fetch_archive(
    client: &RegistryClient,
    out: &Path,
    partial: &Path,
    id: &str,
    entry: &mut SnapshotVersion,
    durable: bool,
) -> Result<u64> {
    let v = entry.node_version.version.clone();
    let url = entry.node_version.download_url.clone();
    let got = if durable {
        store::download(client.http(), &url, partial, None, client.reporter())?
    } else {
        store::download_unsynced(client.http(), &url, partial, None, client.reporter())?
    };
    let rel = format!(
        "archives/{}/{}/{}",
        safe_name(id),
        safe_name(&v),
        archive_file_name(&url)
    );
    let dest = out.join(&rel);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(RegistryError::io(parent))?;
    }
    if durable {
        crate::fsx::rename_durable(&got.path, &dest).map_err(RegistryError::io(&dest))?;
    } else {
        std::fs::rename(&got.path, &dest).map_err(RegistryError::io(&dest))?;
    }
    entry.archive = Some(rel);
    entry.sha256 = Some(got.sha256.hex().to_string());
    Ok(got.size)
}

/// The last segment of a download URL, reduced to characters safe in a file name.
fn archive_file_name(url: &str) -> String {
    let last = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.path_segments().and_then(|mut s| s.next_back().map(str::to_string)))
        .unwrap_or_default();
    let name = safe_name(&last);
    if name.is_empty() || name.starts_with('.') {
        "node.zip".to_string()
    } else {
        name
    }
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// The current time as `2025-06-01T12:00:00Z`.
pub fn rfc3339_now() -> String {
    crate::clock::rfc3339(crate::clock::now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_stay_inside_the_snapshot() {
        let d = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(d.path().join("archives")).unwrap();
        fs_err::write(d.path().join("archives/a.zip"), "x").unwrap();
        fs_err::write(d.path().join("secret"), "x").unwrap();
        let inside = d.path().join("snap");
        fs_err::create_dir_all(inside.join("archives")).unwrap();
        fs_err::write(inside.join("archives/a.zip"), "x").unwrap();
        std::os::unix::fs::symlink("../../secret", inside.join("archives/link.zip")).unwrap();
        assert!(archive_path(&inside, "archives/a.zip").is_ok());
        assert!(archive_path(&inside, "../secret").unwrap_err().contains(".."));
        assert!(archive_path(&inside, "/etc/passwd").unwrap_err().contains("relative"));
        assert!(
            archive_path(&inside, "archives/link.zip")
                .unwrap_err()
                .contains("outside")
        );
        assert!(archive_path(&inside, "archives").is_err());
    }

    #[test]
    fn file_names_from_urls_are_safe() {
        assert_eq!(
            archive_file_name("https://cdn.comfy.org/p/n/1.0.0/node.zip"),
            "node.zip"
        );
        assert_eq!(archive_file_name("https://x/a/..%2F..%2Fetc"), "_2F.._2Fetc");
        assert_eq!(archive_file_name("https://x/"), "node.zip");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }
}
