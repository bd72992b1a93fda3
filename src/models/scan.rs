//! Scanning model folders into the index.
//!
//! A file whose size, mtime, inode and device match what the index recorded is not read
//! again. A file at a new path whose fingerprint matches a file that vanished (a `mv` within
//! a filesystem keeps inode and mtime) is recognised as moved without reading it; anything
//! else new or changed is hashed (blake3, in parallel) and matched by content: the same content
//! is the same model row, whose path is updated. Files gone from disk leave the index; a model
//! with no file left is kept, marked missing. Results are written in batched transactions, so a
//! killed scan keeps the batches it finished and never leaves a torn index.
//!
//! Only what changed is written: an unchanged file costs a `stat` and nothing in the index. The
//! scan ends with one transaction that removes the files gone and records the scan time of each
//! folder walked (`model_scans`), which is what "last seen" of a present model reads.

use super::hash::{hash_file, sha256_file};
use super::index::{Fingerprint, Location, ModelIndex, NewModel};
use super::{ModelError, Result};
use crate::progress::Reporter;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Results written per transaction, and the longest a finished hash waits to be written. A
/// transaction costs a WAL commit and rewrites the pages it touched, and new hashes land at
/// random places of the hash table: few large transactions keep a first index of many small
/// files linear, while a killed scan still keeps what finished more than `BATCH_DELAY` ago.
const BATCH_FILES: usize = 8192;
const BATCH_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Also compute sha256 (for new files, and for indexed ones that lack it).
    pub sha256: bool,
}

/// One folder to scan, inside the model folder `root` (which decides categories).
#[derive(Debug, Clone)]
pub struct ScanTarget {
    pub root: PathBuf,
    pub dir: PathBuf,
}

/// What a scan saw and did; `--json` prints it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Model files found on disk.
    pub files_seen: u64,
    /// Files read to compute a hash.
    pub files_hashed: u64,
    pub bytes_hashed: u64,
    /// Files whose content was not in the index.
    pub new: u64,
    /// Files found at a new path with content the index knew from a file that is gone.
    pub moved: u64,
    /// Files already indexed and unchanged.
    pub unchanged: u64,
    /// Files whose content changed since the last scan.
    pub changed: u64,
    /// Further files with content already indexed at another path that still exists.
    pub duplicates: u64,
    /// Indexed files no longer on disk.
    pub missing: u64,
    /// Files that could not be read, or changed while being read (the next scan retries them).
    pub skipped: u64,
    pub elapsed_ms: u64,
}

/// A file found by the walk.
struct Seen {
    path: String,
    category: Option<String>,
    fp: Fingerprint,
}

enum Job {
    /// Hash the file; `previous` is the model its path held before (content changed).
    Hash { seen: Seen, previous: Option<i64> },
    /// Only sha256 is wanted, for an unchanged file of a model that lacks it.
    Sha256 { path: String, model_id: i64, size: u64 },
}

enum Outcome {
    Hashed {
        seen: Seen,
        previous: Option<i64>,
        blake3: crate::types::Blake3,
        sha256: Option<crate::types::Sha256>,
    },
    Sha256 {
        model_id: i64,
        sha256: String,
    },
    Skipped {
        path: String,
        reason: String,
    },
}

/// Takes the index's writer lock: one scan (or dirs change) at a time per workspace.
pub fn lock_index(index_path: &Path) -> Result<std::fs::File> {
    let lock_path = index_path.with_extension("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(ModelError::io(&lock_path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ModelError::Busy { path: lock_path }),
        Err(std::fs::TryLockError::Error(e)) => Err(ModelError::Io {
            path: lock_path,
            source: e,
        }),
    }
}

/// Scans `targets` into `index`. The caller holds [`lock_index`].
pub fn scan(
    index: &mut ModelIndex,
    targets: &[ScanTarget],
    opts: &ScanOptions,
    progress: &dyn Reporter,
) -> Result<ScanReport> {
    let started = Instant::now();
    let now = super::now();
    let mut report = ScanReport::default();
    let targets = outermost(targets);

    // 1. Walk. A folder that cannot be read hides its files; they must not look deleted.
    let mut seen = Vec::new();
    let mut blind: Vec<String> = Vec::new();
    let mut scanned: Vec<String> = Vec::new();
    for t in &targets {
        if !t.dir.is_dir() {
            progress.warn(&format!(
                "{} is not there (unmounted drive?); its files were not checked",
                t.dir.display()
            ));
            continue;
        }
        scanned.push(t.dir.to_string_lossy().into_owned());
        walk(t, &mut seen, &mut blind, &mut report, progress);
    }
    report.files_seen = seen.len() as u64;

    // 2. Compare with the index.
    let all = index.locations(None, opts.sha256)?;
    let scans_before = index.scans()?;
    let in_scope = |p: &str| scanned.iter().any(|d| under(p, d));
    // Hashed once per file found and once per file known (foldhash: these maps are built from
    // paths of the user's own folders, nothing an attacker chooses to collide).
    let mut known: FastMap<&str, usize> = FastMap::with_capacity_and_hasher(all.len(), Default::default());
    for (i, loc) in all.iter().enumerate().filter(|(_, l)| in_scope(&l.path)) {
        known.insert(loc.path.as_str(), i);
    }
    let matched: Vec<Option<usize>> = seen.iter().map(|s| known.get(s.path.as_str()).copied()).collect();
    let mut found = vec![false; all.len()];
    for &i in matched.iter().flatten() {
        found[i] = true;
    }
    let mut vanished: HashSet<String> = known
        .values()
        .filter(|&&i| !found[i] && !blind.iter().any(|b| under(&all[i].path, b)))
        .map(|&i| all[i].path.clone())
        .collect();
    let mut jobs = Vec::new();
    let mut relinks = Vec::new(); // (seen, model_id, old path to drop)
    let mut by_fp: Option<HashMap<Fingerprint, Vec<&Location>>> = None;
    for (s, matched) in seen.into_iter().zip(matched) {
        match matched.map(|i| &all[i]) {
            Some(loc) if loc.fingerprint == s.fp => {
                report.unchanged += 1;
                if opts.sha256 && !loc.has_sha256 {
                    jobs.push(Job::Sha256 {
                        path: s.path,
                        model_id: loc.model_id,
                        size: s.fp.size,
                    });
                }
            }
            Some(loc) => jobs.push(Job::Hash {
                previous: Some(loc.model_id),
                seen: s,
            }),
            None => {
                let fps = by_fp.get_or_insert_with(|| {
                    let mut m: HashMap<Fingerprint, Vec<&Location>> = HashMap::new();
                    for l in &all {
                        m.entry(l.fingerprint).or_default().push(l);
                    }
                    m
                });
                let same_file = fps.get(&s.fp).and_then(|c| c.first().copied());
                match same_file {
                    // Same inode, size and mtime: the same file under another name.
                    Some(loc) if !opts.sha256 || loc.has_sha256 => {
                        if vanished.remove(&loc.path) || (!in_scope(&loc.path) && !Path::new(&loc.path).exists()) {
                            report.moved += 1;
                            relinks.push((s, loc.model_id, Some(loc.path.clone())));
                        } else {
                            report.duplicates += 1;
                            relinks.push((s, loc.model_id, None));
                        }
                    }
                    _ => jobs.push(Job::Hash {
                        seen: s,
                        previous: None,
                    }),
                }
            }
        }
    }
    if !relinks.is_empty() {
        index.write(|w| {
            for (s, id, old) in &relinks {
                if let Some(old) = old {
                    w.delete_location(old)?;
                }
                w.put_location(&s.path, *id, s.category.as_deref(), &s.fp, now)?;
                w.refresh_model(*id, now)?;
            }
            Ok(())
        })?;
    }

    // 3. Hash what must be read, largest first, writing results in batches as they come.
    jobs.sort_by_key(|j| std::cmp::Reverse(job_size(j)));
    let total_bytes: u64 = jobs.iter().map(job_size).sum();
    let hashing = Hashing::new(progress, jobs.len() as u64, total_bytes);
    let mut vanished_by_model: HashMap<i64, Vec<String>> = HashMap::new();
    for p in &vanished {
        if let Some(&i) = known.get(p.as_str()) {
            vanished_by_model.entry(all[i].model_id).or_default().push(p.clone());
        }
    }
    let cancel = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Outcome>(BATCH_FILES * 2);
    let want_sha = opts.sha256;
    let written: Result<()> = std::thread::scope(|scope| {
        let cancel = &cancel;
        let hashing = &hashing;
        scope.spawn(move || {
            jobs.into_par_iter().for_each_with(tx, |tx, job| {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let size = job_size(&job);
                let out = run_job(job, want_sha);
                hashing.advance(size);
                let _ = tx.send(out);
            });
        });
        let mut batch = Vec::new();
        let mut last = Instant::now();
        let result = loop {
            let closed = match rx.recv_timeout(BATCH_DELAY) {
                Ok(o) => {
                    batch.push(o);
                    false
                }
                Err(mpsc::RecvTimeoutError::Timeout) => false,
                Err(mpsc::RecvTimeoutError::Disconnected) => true,
            };
            if !batch.is_empty() && (closed || batch.len() >= BATCH_FILES || last.elapsed() >= BATCH_DELAY) {
                let outcomes = std::mem::take(&mut batch);
                if let Err(e) = write_batch(index, outcomes, &mut vanished_by_model, &mut report, now, progress) {
                    break Err(e);
                }
                last = Instant::now();
            }
            if closed {
                break Ok(());
            }
        };
        if result.is_err() {
            cancel.store(true, Ordering::Relaxed);
            // Let the hashers finish the files in hand and stop.
            for _ in rx.iter() {}
        }
        result
    });
    hashing.finish();
    written?;

    // 4. What is left of the vanished files is gone from disk.
    let gone: Vec<String> = vanished_by_model.into_values().flatten().collect();
    report.missing = gone.len() as u64;
    if gone.is_empty() {
        // Nothing changed here: the scan times alone, without a checkpoint or fsync.
        index.record_scans(&scanned, now)?;
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    index.write(|w| {
        // model -> the last scan that saw one of its files now gone.
        let mut models: HashMap<i64, i64> = HashMap::new();
        for p in &gone {
            if let Some(&i) = known.get(p.as_str()) {
                let seen = models.entry(all[i].model_id).or_default();
                *seen = (*seen).max(scans_before.covering(p));
            }
            w.delete_location(p)?;
        }
        for (id, seen) in models {
            if w.refresh_model(id, now)? {
                w.seen_at_least(id, seen)?;
            }
        }
        for d in &scanned {
            w.record_scan(d, now)?;
        }
        Ok(())
    })?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Indexes one file whose hashes are already known (a verified download placed in a model
/// folder, so `apply` need not read it again). Returns the model's id. The caller holds
/// [`lock_index`].
pub fn record_file(
    index: &mut ModelIndex,
    root: &Path,
    path: &Path,
    blake3: &crate::types::Blake3,
    sha256: Option<&crate::types::Sha256>,
) -> Result<i64> {
    // The index keeps hashes as bare hex.
    let (blake3, sha256) = (blake3.hex(), sha256.map(crate::types::Sha256::hex));
    let meta = std::fs::metadata(path).map_err(ModelError::io(path))?;
    let category = path
        .strip_prefix(root)
        .ok()
        .and_then(super::categories::classify)
        .flatten();
    let key = path.to_str().ok_or_else(|| ModelError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the index keeps UTF-8 paths only"),
    })?;
    let fp = fingerprint(&meta);
    let now = super::now();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    index.write(|w| {
        let id = match w.model_by_hash("blake3", blake3)? {
            Some(id) => id,
            None => {
                let id = w.insert_model(&NewModel {
                    path: key,
                    name: &name,
                    category: category.as_deref(),
                    size: fp.size,
                    now,
                })?;
                w.add_hash(id, "blake3", blake3)?;
                id
            }
        };
        if let Some(sha) = sha256 {
            w.add_hash(id, "sha256", sha)?;
        }
        w.put_location(key, id, category.as_deref(), &fp, now)?;
        w.refresh_model(id, now)?;
        Ok(id)
    })
}

/// Progress of the hashing step: bytes as a transfer, files as a count (two bars on a terminal).
struct Hashing<'a> {
    reporter: &'a dyn Reporter,
    files: u64,
    bytes: u64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
}

impl<'a> Hashing<'a> {
    const BYTES: &'static str = "Hashing";
    const FILES: &'static str = "files hashed";

    fn new(reporter: &'a dyn Reporter, files: u64, bytes: u64) -> Self {
        Hashing {
            reporter,
            files,
            bytes,
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
        }
    }

    /// One more file of `size` bytes is hashed.
    fn advance(&self, size: u64) {
        let bytes = self.bytes_done.fetch_add(size, Ordering::Relaxed) + size;
        let files = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        self.reporter.transfer(Self::BYTES, bytes, Some(self.bytes));
        self.reporter.count(Self::FILES, files, self.files);
    }

    fn finish(&self) {
        if self.files > 0 {
            self.reporter.transfer_end(Self::BYTES);
            self.reporter.count_end(Self::FILES);
        }
    }
}

fn write_batch(
    index: &mut ModelIndex,
    outcomes: Vec<Outcome>,
    vanished_by_model: &mut HashMap<i64, Vec<String>>,
    report: &mut ScanReport,
    now: i64,
    progress: &dyn Reporter,
) -> Result<()> {
    index.write(|w| {
        for o in outcomes {
            match o {
                Outcome::Skipped { path, reason } => {
                    report.skipped += 1;
                    progress.warn(&format!("skipped {path}: {reason}"));
                }
                Outcome::Sha256 { model_id, sha256 } => {
                    report.files_hashed += 1;
                    w.add_hash(model_id, "sha256", &sha256)?;
                }
                Outcome::Hashed {
                    seen,
                    previous,
                    blake3,
                    sha256,
                } => {
                    report.files_hashed += 1;
                    report.bytes_hashed += seen.fp.size;
                    let category = seen.category.as_deref();
                    let mut inserted = false;
                    let id = match w.model_by_hash("blake3", blake3.hex())? {
                        Some(id) => {
                            if previous == Some(id) {
                                // Touched, not changed.
                                report.unchanged += 1;
                            } else if previous.is_some() {
                                report.changed += 1;
                            } else if let Some(old) = vanished_by_model.get_mut(&id).and_then(|v| v.pop()) {
                                w.delete_location(&old)?;
                                report.moved += 1;
                            } else if w.refresh_model(id, now)? {
                                // Was missing everywhere: it came back under this path.
                                report.moved += 1;
                            } else {
                                report.duplicates += 1;
                            }
                            id
                        }
                        None => {
                            if previous.is_some() {
                                report.changed += 1;
                            } else {
                                report.new += 1;
                            }
                            let name = Path::new(&seen.path)
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            let id = w.insert_model(&NewModel {
                                path: &seen.path,
                                name: &name,
                                category,
                                size: seen.fp.size,
                                now,
                            })?;
                            w.add_hash(id, "blake3", blake3.hex())?;
                            inserted = true;
                            id
                        }
                    };
                    if let Some(sha) = &sha256 {
                        w.add_hash(id, "sha256", sha.hex())?;
                    }
                    w.put_location(&seen.path, id, category, &seen.fp, now)?;
                    // A model inserted just now already has this file as its primary one.
                    if !inserted {
                        w.refresh_model(id, now)?;
                    }
                    if let Some(old) = previous.filter(|&old| old != id) {
                        w.refresh_model(old, now)?;
                    }
                }
            }
        }
        Ok(())
    })
}

fn run_job(job: Job, want_sha: bool) -> Outcome {
    match job {
        Job::Sha256 { path, model_id, .. } => match sha256_file(Path::new(&path)) {
            Ok(sha256) => Outcome::Sha256 { model_id, sha256 },
            Err(e) => Outcome::Skipped {
                path,
                reason: e.to_string(),
            },
        },
        Job::Hash { seen, previous } => {
            let path = Path::new(&seen.path);
            let hashes = match hash_file(path, want_sha) {
                Ok(h) => h,
                Err(e) => {
                    return Outcome::Skipped {
                        path: seen.path,
                        reason: e.to_string(),
                    };
                }
            };
            // A file written to while we read it (a download in progress) has no stable hash.
            match fs_err::metadata(path) {
                Ok(m) if fingerprint(&m) == seen.fp && hashes.size == seen.fp.size => Outcome::Hashed {
                    seen,
                    previous,
                    blake3: hashes.blake3,
                    sha256: hashes.sha256,
                },
                _ => Outcome::Skipped {
                    path: seen.path,
                    reason: "it changed while being read; the next scan retries it".into(),
                },
            }
        }
    }
}

fn job_size(job: &Job) -> u64 {
    match job {
        Job::Hash { seen, .. } => seen.fp.size,
        Job::Sha256 { size, .. } => *size,
    }
}

/// Walks `t.dir` (following symlinks, skipping hidden entries below it) into `seen`. A file is
/// stat'ed through its folder's descriptor (`statx(dirfd, name)`), not by its full path: on
/// 100,000 files the kernel's path lookups were a sixth of a rescan. Folders and files that
/// cannot be read go to `blind`: their files must not look deleted.
fn walk(
    t: &ScanTarget,
    seen: &mut Vec<Seen>,
    blind: &mut Vec<String>,
    report: &mut ScanReport,
    progress: &dyn Reporter,
) {
    let mut walker = Walker {
        t,
        seen,
        blind,
        report,
        progress,
    };
    match fs_err::metadata(&t.dir) {
        Ok(m) => walker.dir(&t.dir, &mut vec![(m.dev(), m.ino())]),
        Err(e) => walker.cannot_read(&t.dir, &e),
    }
}

struct Walker<'a> {
    t: &'a ScanTarget,
    seen: &'a mut Vec<Seen>,
    blind: &'a mut Vec<String>,
    report: &'a mut ScanReport,
    progress: &'a dyn Reporter,
}

impl Walker<'_> {
    /// `ancestors`: (device, inode) of the folders from the target down to `dir`, so that a
    /// symlink back up the tree is reported instead of followed forever.
    fn dir(&mut self, dir: &Path, ancestors: &mut Vec<(u64, u64)>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.cannot_read(dir, &e),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.cannot_read(dir, &e);
                    continue;
                }
            };
            // Hidden folders hold tool state (.cache, .git, .ipynb_checkpoints), not models.
            if entry.file_name().as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let path = entry.path();
            let file_type = match entry.file_type() {
                Ok(ft) => ft,
                Err(e) => {
                    self.cannot_read(&path, &e);
                    continue;
                }
            };
            if file_type.is_file() {
                self.file(&path, || entry.metadata());
                continue;
            }
            let meta = if file_type.is_symlink() {
                fs_err::metadata(&path)
            } else if file_type.is_dir() {
                entry.metadata()
            } else {
                continue;
            };
            match meta {
                Ok(m) if m.is_dir() => {
                    let id = (m.dev(), m.ino());
                    if ancestors.contains(&id) {
                        let e = std::io::Error::other("a symlink loops back to a folder above it");
                        self.cannot_read(&path, &e);
                        continue;
                    }
                    ancestors.push(id);
                    self.dir(&path, ancestors);
                    ancestors.pop();
                }
                Ok(m) if m.is_file() => self.file(&path, || Ok(m)),
                Ok(_) => {}
                Err(e) => self.cannot_read(&path, &e),
            }
        }
    }

    /// A file: kept when it is a model file of a category; `stat` runs only then.
    fn file(&mut self, path: &Path, stat: impl FnOnce() -> std::io::Result<std::fs::Metadata>) {
        let Ok(rel) = path.strip_prefix(&self.t.root) else {
            return;
        };
        let Some(category) = super::categories::classify(rel) else {
            return;
        };
        let Some(text) = path.to_str() else {
            self.report.skipped += 1;
            self.progress
                .warn(&format!("skipped {}: the index keeps UTF-8 paths only", path.display()));
            return;
        };
        match stat() {
            Ok(m) => self.seen.push(Seen {
                path: text.to_string(),
                category,
                fp: fingerprint(&m),
            }),
            Err(e) => self.cannot_read(path, &e),
        }
    }

    fn cannot_read(&mut self, path: &Path, e: &std::io::Error) {
        self.blind.push(path.to_string_lossy().into_owned());
        self.report.skipped += 1;
        self.progress.warn(&format!("cannot read {}: {e}", path.display()));
    }
}

fn fingerprint(m: &std::fs::Metadata) -> Fingerprint {
    Fingerprint {
        size: m.len(),
        mtime_ns: m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec()),
        inode: m.ino(),
        dev: m.dev(),
    }
}

use super::index::is_under as under;

/// Drops targets inside other targets (and repeats), so no file is walked twice.
fn outermost(targets: &[ScanTarget]) -> Vec<ScanTarget> {
    let mut out: Vec<ScanTarget> = Vec::new();
    for t in targets {
        if targets.iter().any(|o| o.dir != t.dir && t.dir.starts_with(&o.dir)) || out.iter().any(|o| o.dir == t.dir) {
            continue;
        }
        out.push(t.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent as NoProgress;

    #[test]
    fn a_recorded_file_is_unchanged_for_the_next_scan() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("models");
        let file = root.join("vae/v.safetensors");
        fs_err::create_dir_all(file.parent().unwrap()).unwrap();
        fs_err::write(&file, b"weights").unwrap();
        let mut index = ModelIndex::open(&dir.path().join("index.db")).unwrap();
        let b3 = crate::types::Blake3::of_bytes(b"weights");
        let sha = crate::types::Sha256::from_digest([0xab; 32]);
        let id = record_file(&mut index, &root, &file, &b3, Some(&sha)).unwrap();
        let m = index.by_id(id).unwrap().unwrap();
        assert_eq!(m.category.as_deref(), Some("vae"));
        assert_eq!(m.hashes.get("sha256").map(String::as_str), Some(sha.hex()));

        let target = ScanTarget {
            root: root.clone(),
            dir: root,
        };
        let r = scan(&mut index, &[target], &ScanOptions::default(), &NoProgress).unwrap();
        assert_eq!((r.unchanged, r.files_hashed, r.new), (1, 0, 0));
    }

    #[test]
    fn the_walk_follows_links_skips_hidden_entries_and_reports_loops_and_broken_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("models");
        let put = |rel: &str| {
            let p = root.join(rel);
            fs_err::create_dir_all(p.parent().unwrap()).unwrap();
            fs_err::write(&p, rel.as_bytes()).unwrap();
        };
        put("loras/a.safetensors");
        put("loras/notes.txt");
        put("loras/.cache/hidden.safetensors");
        put("loras/.hidden.safetensors");
        let outside = dir.path().join("elsewhere");
        fs_err::create_dir_all(&outside).unwrap();
        fs_err::write(outside.join("b.safetensors"), b"b").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("loras/linked")).unwrap();
        std::os::unix::fs::symlink(root.join("loras"), root.join("loras/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("gone.safetensors"), root.join("loras/broken.safetensors")).unwrap();
        let target = ScanTarget {
            root: root.clone(),
            dir: root.clone(),
        };
        let (mut seen, mut blind, mut report) = (Vec::new(), Vec::new(), ScanReport::default());
        walk(&target, &mut seen, &mut blind, &mut report, &NoProgress);
        let mut paths: Vec<&str> = seen
            .iter()
            .map(|s| s.path.strip_prefix(root.to_str().unwrap()).unwrap())
            .collect();
        paths.sort();
        assert_eq!(paths, ["/loras/a.safetensors", "/loras/linked/b.safetensors"]);
        assert!(seen.iter().all(|s| s.category.as_deref() == Some("loras")));
        let mut blind: Vec<&str> = blind
            .iter()
            .map(|b| b.strip_prefix(root.to_str().unwrap()).unwrap())
            .collect();
        blind.sort();
        assert_eq!(blind, ["/loras/broken.safetensors", "/loras/loop"]);
        assert_eq!(report.skipped, 2);
    }
}
