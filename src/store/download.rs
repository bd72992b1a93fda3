//! The one resumable download engine, [`fetch`], used for node-pack archives and model files
//! alike, on the HTTP layer of `http.rs` (its client, timeouts and retry policy).
//!
//! A download's partial file lives in `store/downloads/`, named after the content it must become
//! (or the URL when nothing is expected), and is locked while written. An interrupted transfer is
//! resumed with `Range`, guarded by `If-Range` so that a file changed on the server restarts from
//! zero instead of being spliced. The content is hashed while it streams (blake3, and sha256 when
//! expected or when the file is kept by its sha256); on a size or hash mismatch the partial file is
//! deleted and the error names both values. A verified file is either kept in `store/downloads/`
//! as `sha256-<hex>` (archives, which later calls reuse without network) or placed at a
//! destination that must not exist. Tokens go in an `Authorization` header marked sensitive; they
//! are never written anywhere, and URLs in download messages are shown without query or user info.
//!
//! Blocking on purpose: callers that fetch in parallel use threads (each request is I/O bound and
//! short-lived), and nothing here may run inside a tokio runtime.

use super::http::{Failed, Try, describe_io, is_retryable};
pub use super::http::{Http, HttpConfig, HttpFailure, MAX_BODY_BYTES, Token};
use super::{Result, StoreError};
use crate::progress::Reporter;
use crate::types::{Blake3, Sha256};
use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::Digest;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most a download without a recorded size may bring when it is placed at a destination
/// (model files: the largest checkpoints are tens of GiB). A server that sends more is cut off
/// and the partial file deleted.
pub const MAX_DOWNLOAD_BYTES: u64 = 128 << 30;

/// The most a download kept in `store/downloads/` (node-pack archives, registry snapshots) may
/// bring: a little over what extraction accepts ([`super::Limits`], 4 GiB unpacked).
pub const MAX_ARCHIVE_DOWNLOAD_BYTES: u64 = 5 << 30;

/// What the downloaded content must be.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub blake3: Option<Blake3>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
}

/// One download for [`fetch`].
#[derive(Debug)]
pub struct Request<'a> {
    pub url: &'a str,
    /// `<workspace>/store/downloads`: partial files, and the archives kept by their sha256.
    pub downloads_dir: &'a Path,
    pub expected: &'a Expected,
    pub token: Option<&'a Token>,
    /// Where the verified file goes; it must not exist. None: it stays in `downloads_dir` as
    /// `sha256-<hex>`, where a later request expecting that sha256 finds it without network.
    pub dest: Option<&'a Path>,
    /// At most this many requests, whatever the retry policy says (at least one). None: the
    /// policy of the `Http` alone.
    pub attempts: Option<u32>,
}

/// A verified download.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    pub size: u64,
    /// None only for an archive reused from `store/downloads/` when no blake3 was expected (it
    /// is not recorded with the archive, and hashing it again is paid only by who asks).
    pub blake3: Option<Blake3>,
    /// Computed when one was expected, or when the file is kept by its sha256.
    pub sha256: Option<Sha256>,
    /// Bytes that were already on disk from an earlier, interrupted transfer.
    pub resumed_from: u64,
    /// Requests made (0: a kept archive was reused).
    pub requests: u32,
}

/// Hashes of a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHashes {
    pub blake3: Blake3,
    pub sha256: Option<Sha256>,
    /// Bytes actually read.
    pub size: u64,
}

/// Incremental hashing of a stream: blake3 always, sha256 when asked.
pub struct StreamHasher {
    b3: blake3::Hasher,
    sha: Option<sha2::Sha256>,
}

impl StreamHasher {
    pub fn new(sha256: bool) -> Self {
        StreamHasher {
            b3: blake3::Hasher::new(),
            sha: sha256.then(sha2::Sha256::new),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.b3.update(bytes);
        if let Some(sha) = &mut self.sha {
            sha.update(bytes);
        }
    }

    /// Bytes hashed so far.
    pub fn count(&self) -> u64 {
        self.b3.count()
    }

    pub fn finish(self) -> FileHashes {
        FileHashes {
            size: self.b3.count(),
            blake3: Blake3::from_hasher(&self.b3),
            sha256: self.sha.map(|s| Sha256::from_digest(s.finalize().into())),
        }
    }
}

/// Downloads `req.url`, resuming what an earlier call left, verifies it against `req.expected`,
/// and keeps it in `store/downloads/` or places it at `req.dest`. See the module's documentation.
pub fn fetch(http: &Http, req: &Request<'_>, reporter: &dyn Reporter) -> Result<Fetched> {
    fetch_inner(http, req, None, reporter, true)
}

/// [`fetch`] refusing a body larger than `max_size` bytes, by its `Content-Length` before
/// anything is written or as soon as the stream passes the limit (data files whose size is not
/// known in advance, such as ComfyUI-Manager's lists). The partial file is removed.
pub fn fetch_at_most(http: &Http, req: &Request<'_>, max_size: u64, reporter: &dyn Reporter) -> Result<Fetched> {
    let got = fetch_inner(http, req, Some(max_size), reporter, true);
    if matches!(got, Err(StoreError::DownloadTooLarge { .. })) {
        let key = req.expected.key(req.url);
        let _ = fs::remove_file(req.downloads_dir.join(format!("{key}.part")));
        let _ = fs::remove_file(req.downloads_dir.join(format!("{key}.validator")));
    }
    got
}

/// `fetch` under a caller's size bound (`max_size`), and with `durable` false: no fsync of the
/// partial file, the kept file or its folder. For callers that write a set of files and make
/// them durable at once afterwards (one `syncfs`), and that never trust a partial or kept file
/// an earlier, possibly crashed, run left.
fn fetch_inner(
    http: &Http,
    req: &Request<'_>,
    max_size: Option<u64>,
    reporter: &dyn Reporter,
    durable: bool,
) -> Result<Fetched> {
    let shown = redact(req.url);
    if let Some(dest) = req.dest
        && dest.symlink_metadata().is_ok()
    {
        return Err(StoreError::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    let expected = req.expected;
    let dir = req.downloads_dir;
    fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
    if req.dest.is_none()
        && let Some(kept) = kept(dir, expected)?
    {
        return Ok(kept);
    }
    let key = expected.key(req.url);
    let part = dir.join(format!("{key}.part"));
    let meta = dir.join(format!("{key}.validator"));
    let mut file = open_locked(&part)?;
    // Another process may have finished this very archive while we waited for the lock.
    if req.dest.is_none()
        && let Some(kept) = kept(dir, expected)?
    {
        return Ok(kept);
    }
    let resumed_from = len(&file, &part)?;
    if resumed_from > 0 {
        reporter.step(&format!("Resuming {shown} at {resumed_from} bytes"));
    } else {
        reporter.step(&format!("Downloading {shown}"));
    }
    let want_sha256 = expected.sha256.is_some() || req.dest.is_none();
    let cap = match (expected.size, req.dest) {
        (Some(size), _) => (size, "the size that was recorded for it"),
        (None, Some(_)) => (
            MAX_DOWNLOAD_BYTES,
            "the most comfydock downloads without a recorded size",
        ),
        (None, None) => (
            MAX_ARCHIVE_DOWNLOAD_BYTES,
            "the most comfydock downloads for an archive",
        ),
    };
    // A caller's own bound (data files of unknown size) tightens it.
    let cap = match max_size {
        Some(max) if max < cap.0 => (max, "the most comfydock takes for this file"),
        _ => cap,
    };
    let label = crate::progress::transfer_label(req.url);
    let bar = TransferBar {
        reporter,
        label: &label,
    };
    let mut hashed: Option<StreamHasher> = None;
    let mut requests = 0;
    let mut transfer = Transfer {
        http,
        req,
        shown: &shown,
        file: &mut file,
        part: &part,
        meta: &meta,
        want_sha256,
        hashed: &mut hashed,
        bar: &bar,
        cap,
        durable,
    };
    let outcome = http.retry(&shown, req.attempts, reporter, || {
        requests += 1;
        transfer.once()
    });
    drop(bar);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(failure) => {
            return Err(StoreError::Download {
                url: shown,
                reason: format!(
                    "{} (after {} attempt{})",
                    failure.reason,
                    failure.attempts,
                    if failure.attempts == 1 { "" } else { "s" }
                ),
                attempts: failure.attempts,
                received: len(&file, &part)?,
                partial: Some(part),
            });
        }
    }

    let total = len(&file, &part)?;
    let hashes = match hashed.take() {
        Some(h) if h.count() == total => h.finish(),
        _ => rehash(&mut file, total, want_sha256)
            .map_err(StoreError::io(&part))?
            .finish(),
    };
    if let Some((hash_type, expected, actual)) = expected.mismatch(&hashes) {
        drop(file);
        let _ = fs::remove_file(&part);
        let _ = fs::remove_file(&meta);
        return Err(StoreError::HashMismatch {
            url: shown,
            hash_type,
            expected,
            actual,
        });
    }
    if durable {
        file.sync_all().map_err(StoreError::io(&part))?;
    }
    drop(file);
    let path = match req.dest {
        Some(dest) => {
            place(&part, dest)?;
            dest.to_path_buf()
        }
        None => {
            let sha = hashes.sha256.as_ref().map_or("", Sha256::hex);
            let path = dir.join(format!("sha256-{sha}"));
            if durable {
                crate::fsx::rename_durable(&part, &path).map_err(StoreError::io(&path))?;
            } else {
                fs::rename(&part, &path).map_err(StoreError::io(&path))?;
            }
            path
        }
    };
    let _ = fs::remove_file(&meta);
    Ok(Fetched {
        path,
        size: hashes.size,
        blake3: Some(hashes.blake3),
        sha256: hashes.sha256,
        resumed_from,
        requests,
    })
}

/// A finished, verified archive in `store/downloads/`.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub path: PathBuf,
    pub sha256: Sha256,
    pub size: u64,
    /// Bytes that were already on disk from an earlier, interrupted attempt.
    pub resumed_from: u64,
}

/// Downloads `url` into `downloads_dir` as `sha256-<hex>` (node-pack archives), reusing one kept
/// there when `expected_sha256` names it, and refuses the result when `expected_sha256` differs.
pub fn download(
    http: &Http,
    url: &str,
    downloads_dir: &Path,
    expected_sha256: Option<&Sha256>,
    reporter: &dyn Reporter,
) -> Result<Downloaded> {
    download_with(http, url, downloads_dir, expected_sha256, reporter, true)
}

/// `download` without any fsync (see `fetch_inner`): the caller syncs the files it keeps, all at
/// once, and starts from an empty `downloads_dir`, so nothing an earlier run left unsynced is
/// trusted.
pub fn download_unsynced(
    http: &Http,
    url: &str,
    downloads_dir: &Path,
    expected_sha256: Option<&Sha256>,
    reporter: &dyn Reporter,
) -> Result<Downloaded> {
    download_with(http, url, downloads_dir, expected_sha256, reporter, false)
}

fn download_with(
    http: &Http,
    url: &str,
    downloads_dir: &Path,
    expected_sha256: Option<&Sha256>,
    reporter: &dyn Reporter,
    durable: bool,
) -> Result<Downloaded> {
    let expected = Expected {
        sha256: expected_sha256.cloned(),
        ..Expected::default()
    };
    let request = Request {
        url,
        downloads_dir,
        expected: &expected,
        token: None,
        dest: None,
        attempts: None,
    };
    let got = fetch_inner(http, &request, None, reporter, durable)?;
    // A download kept in `downloads_dir` is always hashed with sha256 (`want_sha256`).
    let sha256 = got.sha256.ok_or_else(|| StoreError::HashMismatch {
        url: redact(url),
        hash_type: "sha256",
        expected: "a sha256".into(),
        actual: "none computed".into(),
    })?;
    Ok(Downloaded {
        path: got.path,
        sha256,
        size: got.size,
        resumed_from: got.resumed_from,
    })
}

/// An archive kept by an earlier download with the expected sha256. Files named so are only
/// ever renamed into place after verification, so they are not read again.
fn kept(dir: &Path, expected: &Expected) -> Result<Option<Fetched>> {
    let Some(sha) = expected.sha256.as_ref() else {
        return Ok(None);
    };
    let path = dir.join(format!("sha256-{}", sha.hex()));
    let Ok(meta) = fs::metadata(&path) else {
        return Ok(None);
    };
    // The blake3 is not recorded with the archive; only a caller expecting one pays for it.
    let blake3 = match &expected.blake3 {
        Some(_) => {
            let mut f = File::open(&path).map_err(StoreError::io(&path))?;
            Some(
                rehash(&mut f, meta.len(), false)
                    .map_err(StoreError::io(&path))?
                    .finish()
                    .blake3,
            )
        }
        None => None,
    };
    if expected.blake3.as_ref().is_some_and(|b| Some(b) != blake3.as_ref())
        || expected.size.is_some_and(|s| s != meta.len())
    {
        return Ok(None);
    }
    Ok(Some(Fetched {
        path,
        size: meta.len(),
        blake3,
        sha256: Some(sha.clone()),
        resumed_from: meta.len(),
        requests: 0,
    }))
}

/// Ends the progress bar of a download however the download ends.
struct TransferBar<'a> {
    reporter: &'a dyn Reporter,
    label: &'a str,
}

impl TransferBar<'_> {
    fn at(&self, done: u64, total: Option<u64>) {
        self.reporter.transfer(self.label, done, total);
    }
}

impl Drop for TransferBar<'_> {
    fn drop(&mut self) {
        self.reporter.transfer_end(self.label);
    }
}

/// The state one request of a download works on.
struct Transfer<'a> {
    http: &'a Http,
    req: &'a Request<'a>,
    shown: &'a str,
    file: &'a mut File,
    part: &'a Path,
    meta: &'a Path,
    want_sha256: bool,
    /// Covers the first `count()` bytes of the partial file, when known.
    hashed: &'a mut Option<StreamHasher>,
    bar: &'a TransferBar<'a>,
    /// The most the whole file may be, and what that bound is (for the message).
    cap: (u64, &'static str),
    /// Whether what arrived is fsync'd at the end of each request (see `fetch_inner`).
    durable: bool,
}

impl Transfer<'_> {
    /// One request, appending what it brings to the partial file.
    fn once(&mut self) -> Try<Result<()>> {
        let part = self.part;
        let io_fatal = |e: io::Error| Try::Done(Err(StoreError::io(part)(e)));
        let offset = match len(self.file, part) {
            Ok(n) => n,
            Err(e) => return Try::Done(Err(e)),
        };
        let mut headers = HeaderMap::new();
        if let Some(value) = self.req.token.and_then(Token::header) {
            headers.insert(header::AUTHORIZATION, value);
        }
        if offset > 0 {
            headers.insert(
                header::RANGE,
                HeaderValue::from_str(&format!("bytes={offset}-")).expect("ASCII"),
            );
            if let Some(v) = fs::read_to_string(self.meta)
                .ok()
                .and_then(|v| HeaderValue::from_str(v.trim()).ok())
            {
                headers.insert(header::IF_RANGE, v);
            }
        }
        let mut resp = match self.http.send(self.req.url, headers) {
            Ok(resp) => resp,
            Err(reason) => return Try::Failed(Failed::new(reason, None)),
        };
        let status = resp.status();
        if is_retryable(status) {
            return Try::Failed(Failed::status(&resp));
        }
        let start = match status {
            StatusCode::PARTIAL_CONTENT => match content_range(&resp) {
                Some((start, _)) if start == offset => offset,
                // Another range than the one asked for: nothing to splice safely.
                _ => return self.restart(),
            },
            StatusCode::OK => 0,
            StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
                // The partial file already holds everything (an earlier run stopped before moving
                // it), or it is longer than the file now is.
                return match content_range(&resp) {
                    Some((_, Some(total))) if total == offset => Try::Done(Ok(())),
                    _ => self.restart(),
                };
            }
            s => {
                return Try::Done(Err(StoreError::Status {
                    url: self.shown.to_string(),
                    status: s.as_u16(),
                    detail: None,
                }));
            }
        };
        if start == 0 && offset > 0 {
            // A whole body where a range was asked for: the server ignored the range, or the
            // file changed and If-Range said so.
            if let Err(e) = self.file.set_len(0) {
                return io_fatal(e);
            }
            *self.hashed = None;
        }
        let written = match validator(&resp) {
            Some(v) => crate::fsx::write_atomic(self.meta, v.as_bytes()),
            // A validator from an earlier answer would describe another version of the file.
            None if start == 0 => fs::remove_file(self.meta).or_else(|e| match e.kind() {
                io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }),
            None => Ok(()),
        };
        if let Err(e) = written {
            return io_fatal(e);
        }
        if self.hashed.as_ref().map(StreamHasher::count) != Some(start) {
            match rehash(self.file, start, self.want_sha256) {
                Ok(h) => *self.hashed = Some(h),
                Err(e) => return io_fatal(e),
            }
        }
        let hasher = self.hashed.as_mut().expect("set above");
        if let Err(e) = self.file.seek(SeekFrom::Start(start)) {
            return io_fatal(e);
        }
        let remaining = resp.content_length();
        if remaining.is_some_and(|r| start.saturating_add(r) > self.cap.0) {
            return self.too_large();
        }
        let total = remaining.map(|r| r + start);
        self.bar.at(start, total);
        let mut buf = vec![0u8; 256 << 10];
        let mut received = 0u64;
        let config = self.http.config();
        let mut window = (std::time::Instant::now(), 0u64);
        let mut too_slow = false;
        let broken = loop {
            let n = match resp.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(describe_io(&e, self.http.config())),
            };
            if start + received + n as u64 > self.cap.0 {
                return self.too_large();
            }
            if let Err(e) = self.file.write_all(&buf[..n]) {
                return io_fatal(e);
            }
            hasher.update(&buf[..n]);
            received += n as u64;
            self.bar.at(start + received, total);
            window.1 += n as u64;
            let elapsed = window.0.elapsed();
            if elapsed >= config.low_speed_time {
                if (window.1 as f64) < config.low_speed_limit as f64 * elapsed.as_secs_f64() {
                    too_slow = true;
                    break Some(format!(
                        "too slow: {} bytes in {:.0}s (below COMFYDOCK_HTTP_LOW_SPEED_LIMIT={} bytes/s over COMFYDOCK_HTTP_LOW_SPEED_TIME={}s)",
                        window.1,
                        elapsed.as_secs_f64(),
                        config.low_speed_limit,
                        config.low_speed_time.as_secs_f64()
                    ));
                }
                window = (std::time::Instant::now(), 0);
            }
        };
        // What arrived stays for the next try (or the next run), so it must reach the disk.
        if self.durable
            && let Err(e) = self.file.sync_data()
        {
            return io_fatal(e);
        }
        let broken = broken.or_else(|| {
            remaining
                .is_some_and(|r| r != received)
                .then(|| "the connection closed before the end".to_string())
        });
        match broken {
            None => Try::Done(Ok(())),
            // A transfer cut for being too slow is not progress: it must not be resumed forever.
            Some(reason) => Try::Failed(Failed {
                progressed_to: (received > 0 && !too_slow).then_some(start + received),
                ..Failed::new(reason, Some(status.as_u16()))
            }),
        }
    }

    /// The server sends more than the file may be: the partial file (comfydock's own, in
    /// `store/downloads/`) is deleted, and the download refused without another try.
    fn too_large(&mut self) -> Try<Result<()>> {
        *self.hashed = None;
        let _ = self.file.set_len(0);
        let _ = fs::remove_file(self.part);
        let _ = fs::remove_file(self.meta);
        Try::Done(Err(StoreError::DownloadTooLarge {
            url: self.shown.to_string(),
            limit: self.cap.0,
            bound: self.cap.1,
        }))
    }

    /// Empties the partial file for a fresh start.
    fn restart(&mut self) -> Try<Result<()>> {
        *self.hashed = None;
        match self.file.set_len(0) {
            Ok(()) => Try::Again,
            Err(e) => Try::Done(Err(StoreError::io(self.part)(e))),
        }
    }
}

/// Opens the partial file and takes its lock: two processes appending to one partial file would
/// corrupt it. The lock is waited for a while, because a child process forked elsewhere in this
/// program briefly holds a copy of the descriptor (and of its lock) until it execs; a download
/// of the same file by another process fails with `Busy` rather than waiting for it unseen. A
/// partial file that another download finished (and moved away) while we waited is opened afresh.
fn open_locked(part: &Path) -> Result<File> {
    use std::os::unix::fs::MetadataExt;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(part)
            .map_err(StoreError::io(part))?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => {
                    return Err(StoreError::Busy {
                        path: part.to_path_buf(),
                    });
                }
            }
        }
        let same = match (file.metadata(), fs::metadata(part)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if same {
            return Ok(file);
        }
    }
}

/// Hashes the first `upto` bytes of `file` (a partial file being resumed).
fn rehash(file: &mut File, upto: u64, sha256: bool) -> io::Result<StreamHasher> {
    let mut h = StreamHasher::new(sha256);
    file.seek(SeekFrom::Start(0))?;
    let mut reader = (&mut *file).take(upto);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    if h.count() != upto {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "partial file shorter than recorded",
        ));
    }
    Ok(h)
}

/// Moves the verified file to `dest` without replacing anything there: a hard link (atomic,
/// fails if `dest` exists) then removal of the partial; across filesystems, a synced copy.
fn place(part: &Path, dest: &Path) -> Result<()> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
    let exists = || StoreError::DestinationExists {
        path: dest.to_path_buf(),
    };
    match fs::hard_link(part, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
        Err(_) => {
            let mut tmp = tempfile::Builder::new()
                .prefix(".comfydock-tmp-")
                .tempfile_in(parent)
                .map_err(StoreError::io(parent))?;
            let mut src = File::open(part).map_err(StoreError::io(part))?;
            io::copy(&mut src, tmp.as_file_mut()).map_err(StoreError::io(dest))?;
            tmp.as_file().sync_all().map_err(StoreError::io(dest))?;
            tmp.persist_noclobber(dest).map_err(|e| {
                if e.error.kind() == io::ErrorKind::AlreadyExists {
                    exists()
                } else {
                    StoreError::io(dest)(e.error)
                }
            })?;
        }
    }
    crate::fsx::sync_dir(parent).map_err(StoreError::io(parent))?;
    fs::remove_file(part).map_err(StoreError::io(part))?;
    Ok(())
}

/// `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`): START and TOTAL.
fn content_range(resp: &Response) -> Option<(u64, Option<u64>)> {
    let v = resp.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let total = total.trim().parse().ok();
    let start = match range.split_once('-') {
        Some((s, _)) => s.trim().parse().ok()?,
        None => 0,
    };
    Some((start, total))
}

/// What `If-Range` can carry: a strong ETag, else Last-Modified.
fn validator(resp: &Response) -> Option<String> {
    let h = resp.headers();
    if let Some(etag) = h.get(header::ETAG).and_then(|v| v.to_str().ok())
        && !etag.starts_with("W/")
    {
        return Some(etag.to_string());
    }
    h.get(header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn len(file: &File, path: &Path) -> Result<u64> {
    Ok(file.metadata().map_err(StoreError::io(path))?.len())
}

/// A URL fit for messages: no user info, no query (either may hold a secret).
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let had_query = u.query().is_some();
            u.set_query(None);
            u.set_fragment(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?…");
            }
            s
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_string(),
    }
}

impl Expected {
    /// The partial file's name: the content it must become, else the URL it comes from.
    fn key(&self, url: &str) -> String {
        match (&self.blake3, &self.sha256) {
            (Some(b), _) => format!("blake3-{}", b.hex()),
            (_, Some(s)) => format!("sha256-{}", s.hex()),
            _ => format!("url-{}", &blake3::hash(url.as_bytes()).to_hex()[..32]),
        }
    }

    /// The first expected value the content does not have: (what, expected, actual), hashes
    /// in hex.
    fn mismatch(&self, got: &FileHashes) -> Option<(&'static str, String, String)> {
        if let Some(size) = self.size.filter(|&s| s != got.size) {
            Some(("size", size.to_string(), got.size.to_string()))
        } else if let Some(b3) = self.blake3.as_ref().filter(|b3| **b3 != got.blake3) {
            Some(("blake3", b3.hex().to_string(), got.blake3.hex().to_string()))
        } else {
            self.sha256
                .as_ref()
                .filter(|sha| Some(*sha) != got.sha256.as_ref())
                .map(|sha| {
                    let actual = got.sha256.as_ref().map(|s| s.hex().to_string());
                    ("sha256", sha.hex().to_string(), actual.unwrap_or_default())
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_in_urls() {
        assert_eq!(
            redact("https://user:pw@civitai.com/api/download/models/1?token=s3cret"),
            "https://civitai.com/api/download/models/1?…"
        );
        assert_eq!(format!("{:?}", Token::new("s3cret")), "Token(<redacted>)");
    }

    #[test]
    fn a_partial_download_is_named_after_the_content_it_must_become() {
        let b3 = Blake3::of_bytes(b"x");
        let expected = Expected {
            blake3: Some(b3.clone()),
            sha256: None,
            size: None,
        };
        assert_eq!(expected.key("u"), format!("blake3-{}", b3.hex()));
        assert!(Expected::default().key("u").starts_with("url-"));
    }
}
