//! Downloading a model file: resumable, verified, and never leaving a wrong file behind.
//!
//! The partial file lives in `<workspace>/store/downloads/`, named after the expected hash (or
//! the URL when none is known), so a later run resumes it with an HTTP `Range` request, guarded
//! by `If-Range` so that a file changed on the server restarts from zero instead of being
//! spliced. The content is hashed while it streams; on a mismatch the partial file is deleted and
//! the error names both hashes. Only a verified file is moved to its destination, which must not
//! exist (nothing the user made is replaced). Tokens go in an `Authorization` header marked
//! sensitive; they are never written anywhere and never appear in errors (URLs in messages are
//! shown without their query).

use super::hash::StreamHasher;
use super::{ModelError, ModelProgress, Result};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderValue};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A bearer token. Its `Debug` output is redacted, so it cannot leak through logs.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    fn header(&self) -> Option<HeaderValue> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", self.0.trim())).ok()?;
        v.set_sensitive(true);
        Some(v)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What the downloaded content must be. Hashes are lowercase or uppercase hex, with or without
/// a `blake3:`/`sha256:` prefix.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub blake3: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

#[derive(Debug)]
pub struct DownloadRequest<'a> {
    pub url: &'a str,
    /// Where the verified file goes; must not exist.
    pub dest: &'a Path,
    pub expected: &'a Expected,
    pub token: Option<&'a Token>,
    /// Folder for partial files (`<workspace>/store/downloads`).
    pub partial_dir: &'a Path,
    /// Tries, each resuming where the previous one stopped (at least one).
    pub attempts: u32,
}

/// A verified download.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub path: PathBuf,
    pub size: u64,
    pub blake3: String,
    pub sha256: Option<String>,
    /// Bytes that were already on disk from an earlier, interrupted transfer.
    pub resumed_from: u64,
    /// Requests made.
    pub requests: u32,
}

enum Step {
    Complete,
    /// The server's answer does not continue our partial file: start again from zero.
    Restart,
}

enum Failure {
    /// Worth another try (network, 5xx, 429); the partial file is kept.
    Retry(String),
    /// Another try would fail the same way.
    Fatal(ModelError),
}

pub fn download(req: &DownloadRequest<'_>, progress: &dyn ModelProgress) -> Result<Downloaded> {
    let shown = redact(req.url);
    if req.dest.exists() {
        return Err(ModelError::DestinationExists {
            path: req.dest.to_path_buf(),
        });
    }
    let expected = Normalised::new(req.expected);
    std::fs::create_dir_all(req.partial_dir).map_err(ModelError::io(req.partial_dir))?;
    let key = expected.key(req.url);
    let part = req.partial_dir.join(format!("{key}.part"));
    let meta = req.partial_dir.join(format!("{key}.validator"));
    let mut file = open_locked(&part)?;
    let resumed_from = len(&file, &part)?;
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("comfydock/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // Per read, in the blocking client: a stalled transfer fails, a long one does not.
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| ModelError::Download {
            url: shown.clone(),
            reason: e.without_url().to_string(),
        })?;
    let mut hashed: Option<(StreamHasher, u64)> = None;
    let attempts = req.attempts.max(1);
    let mut requests = 0;
    let mut last_reason = String::new();
    let mut done = false;
    while requests < attempts {
        if requests > 0 && !last_reason.is_empty() {
            std::thread::sleep(Duration::from_millis(200 << (requests - 1).min(5)));
        }
        requests += 1;
        match fetch(
            &client,
            req,
            &shown,
            &mut file,
            &part,
            &meta,
            &expected,
            &mut hashed,
            progress,
        ) {
            Ok(Step::Complete) => {
                done = true;
                break;
            }
            Ok(Step::Restart) => {
                file.set_len(0).map_err(ModelError::io(&part))?;
                hashed = None;
                last_reason = String::new();
            }
            Err(Failure::Retry(reason)) => last_reason = reason,
            Err(Failure::Fatal(e)) => {
                progress.finish();
                return Err(e);
            }
        }
    }
    progress.finish();
    if !done {
        return Err(ModelError::Interrupted {
            url: shown,
            received: len(&file, &part)?,
            reason: if last_reason.is_empty() {
                "the server kept restarting the transfer".into()
            } else {
                last_reason
            },
            partial: part,
        });
    }

    let total = len(&file, &part)?;
    let hashes = match hashed.take() {
        Some((h, n)) if n == total => h.finish(),
        _ => rehash(&mut file, total, expected.sha256.is_some())
            .map_err(ModelError::io(&part))?
            .0
            .finish(),
    };
    let discard = |file: File| {
        drop(file);
        let _ = std::fs::remove_file(&part);
        let _ = std::fs::remove_file(&meta);
    };
    let mismatch = if let Some(size) = expected.size.filter(|&s| s != hashes.size) {
        Some(("size", size.to_string(), hashes.size.to_string()))
    } else if let Some(b3) = expected.blake3.as_ref().filter(|b3| **b3 != hashes.blake3) {
        Some(("blake3", b3.clone(), hashes.blake3.clone()))
    } else if let Some(sha) = expected
        .sha256
        .as_ref()
        .filter(|sha| Some(*sha) != hashes.sha256.as_ref())
    {
        Some(("sha256", sha.clone(), hashes.sha256.clone().unwrap_or_default()))
    } else {
        None
    };
    if let Some((hash_type, expected, actual)) = mismatch {
        discard(file);
        return Err(ModelError::HashMismatch {
            url: shown,
            hash_type,
            expected,
            actual,
        });
    }
    file.sync_all().map_err(ModelError::io(&part))?;
    drop(file);
    place(&part, req.dest)?;
    let _ = std::fs::remove_file(&meta);
    Ok(Downloaded {
        path: req.dest.to_path_buf(),
        size: hashes.size,
        blake3: hashes.blake3,
        sha256: hashes.sha256,
        resumed_from,
        requests,
    })
}

#[allow(clippy::too_many_arguments)]
fn fetch(
    client: &reqwest::blocking::Client,
    req: &DownloadRequest<'_>,
    shown: &str,
    file: &mut File,
    part: &Path,
    meta: &Path,
    expected: &Normalised,
    hashed: &mut Option<(StreamHasher, u64)>,
    progress: &dyn ModelProgress,
) -> std::result::Result<Step, Failure> {
    let io_fatal = |e: io::Error| Failure::Fatal(ModelError::io(part)(e));
    let offset = len(file, part).map_err(Failure::Fatal)?;
    let mut rb = client.get(req.url);
    if let Some(value) = req.token.and_then(Token::header) {
        rb = rb.header(header::AUTHORIZATION, value);
    }
    if offset > 0 {
        rb = rb.header(header::RANGE, format!("bytes={offset}-"));
        if let Some(v) = std::fs::read_to_string(meta)
            .ok()
            .and_then(|v| HeaderValue::from_str(v.trim()).ok())
        {
            rb = rb.header(header::IF_RANGE, v);
        }
    }
    let mut resp = rb.send().map_err(|e| Failure::Retry(e.without_url().to_string()))?;
    let status = resp.status();
    let start = match status {
        StatusCode::PARTIAL_CONTENT => match content_range(&resp) {
            Some((start, _)) if start == offset => offset,
            _ => return Ok(Step::Restart),
        },
        StatusCode::OK => 0,
        StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
            // Our partial file already holds everything (an earlier run stopped before moving it).
            return match content_range(&resp) {
                Some((_, Some(total))) if total == offset => Ok(Step::Complete),
                _ => Ok(Step::Restart),
            };
        }
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            return Err(Failure::Retry(format!("HTTP {}", s.as_u16())));
        }
        s => {
            let help = match s.as_u16() {
                401 | 403 => {
                    "the source wants credentials: set HF_TOKEN (Hugging Face) or CIVITAI_API_KEY (Civitai), and accept the model's licence on its page if it is gated"
                }
                404 => "the file is not at that URL: check the repository, file name and revision",
                _ => "the server refused the download",
            };
            return Err(Failure::Fatal(ModelError::HttpStatus {
                url: shown.to_string(),
                status: s.as_u16(),
                help: help.to_string(),
            }));
        }
    };
    if start == 0 && offset > 0 {
        file.set_len(0).map_err(io_fatal)?;
        *hashed = None;
    }
    if let Some(v) = validator(&resp) {
        crate::fsx::write_atomic(meta, v.as_bytes()).map_err(io_fatal)?;
    }
    // The hasher must cover exactly the bytes before `start`.
    if hashed.as_ref().map(|h| h.1) != Some(start) {
        *hashed = Some(rehash(file, start, expected.sha256.is_some()).map_err(io_fatal)?);
    }
    let (hasher, count) = hashed.as_mut().expect("set above");
    file.seek(SeekFrom::Start(start)).map_err(io_fatal)?;
    let remaining = resp.content_length();
    progress.begin(1, remaining.map(|r| r + start).unwrap_or(0));
    progress.advance(0, start);
    let mut buf = vec![0u8; 256 << 10];
    let mut received = 0u64;
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                file.sync_data().map_err(io_fatal)?;
                return Err(Failure::Retry(format!("connection lost: {e}")));
            }
        };
        file.write_all(&buf[..n]).map_err(io_fatal)?;
        hasher.update(&buf[..n]);
        *count += n as u64;
        received += n as u64;
        progress.advance(0, n as u64);
    }
    file.sync_data().map_err(io_fatal)?;
    if remaining.is_some_and(|r| r != received) {
        return Err(Failure::Retry("the connection closed before the end".into()));
    }
    Ok(Step::Complete)
}

/// Opens the partial file and takes its lock: two processes appending to one partial file would
/// corrupt it. The lock is waited for a while, because a child process forked elsewhere in this
/// program briefly holds a copy of the descriptor (and of its lock) until it execs. A partial
/// file that another download finished (and moved away) while we waited is opened afresh.
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
            .map_err(ModelError::io(part))?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => {
                    return Err(ModelError::Busy {
                        path: part.to_path_buf(),
                    });
                }
            }
        }
        let same = match (file.metadata(), std::fs::metadata(part)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if same {
            return Ok(file);
        }
    }
}

/// Hashes the first `upto` bytes of `file` (a partial file being resumed).
fn rehash(file: &mut File, upto: u64, sha256: bool) -> io::Result<(StreamHasher, u64)> {
    let mut h = StreamHasher::new(sha256);
    file.seek(SeekFrom::Start(0))?;
    let mut reader = (&mut *file).take(upto);
    let mut buf = vec![0u8; 1 << 20];
    let mut n_total = 0;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    if n_total != upto {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "partial file shorter than recorded",
        ));
    }
    Ok((h, upto))
}

/// Moves the verified file to `dest` without replacing anything there: a hard link (atomic,
/// fails if `dest` exists) then removal of the partial; across filesystems, a synced copy.
fn place(part: &Path, dest: &Path) -> Result<()> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(ModelError::io(parent))?;
    match std::fs::hard_link(part, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ModelError::DestinationExists {
                path: dest.to_path_buf(),
            });
        }
        Err(_) => {
            let mut tmp = tempfile::Builder::new()
                .prefix(".comfydock-tmp-")
                .tempfile_in(parent)
                .map_err(ModelError::io(parent))?;
            let mut src = File::open(part).map_err(ModelError::io(part))?;
            io::copy(&mut src, tmp.as_file_mut()).map_err(ModelError::io(dest))?;
            tmp.as_file().sync_all().map_err(ModelError::io(dest))?;
            tmp.persist_noclobber(dest).map_err(|e| {
                if e.error.kind() == io::ErrorKind::AlreadyExists {
                    ModelError::DestinationExists {
                        path: dest.to_path_buf(),
                    }
                } else {
                    ModelError::io(dest)(e.error)
                }
            })?;
        }
    }
    crate::fsx::sync_dir(parent).map_err(ModelError::io(parent))?;
    std::fs::remove_file(part).map_err(ModelError::io(part))?;
    Ok(())
}

/// `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`): START and TOTAL.
fn content_range(resp: &reqwest::blocking::Response) -> Option<(u64, Option<u64>)> {
    let v = resp.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let total = total.trim().parse().ok();
    let start = match range.split_once('-') {
        Some((s, _)) => s.trim().parse().ok()?,
        None => 0,
    };
    Some((start, total))
}

/// What `If-Range` can carry: a strong ETag, else Last-Modified.
fn validator(resp: &reqwest::blocking::Response) -> Option<String> {
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
    Ok(file.metadata().map_err(ModelError::io(path))?.len())
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

/// Expected values in canonical form (lowercase hex, no type prefix).
struct Normalised {
    blake3: Option<String>,
    sha256: Option<String>,
    size: Option<u64>,
}

impl Normalised {
    fn new(e: &Expected) -> Self {
        let norm = |v: &Option<String>, prefix: &str| {
            v.as_ref().map(|h| {
                let h = h.trim();
                let h = h
                    .get(..prefix.len())
                    .filter(|p| p.eq_ignore_ascii_case(prefix))
                    .map_or(h, |_| &h[prefix.len()..]);
                h.to_ascii_lowercase()
            })
        };
        Normalised {
            blake3: norm(&e.blake3, "blake3:"),
            sha256: norm(&e.sha256, "sha256:"),
            size: e.size,
        }
    }

    /// The partial file's name: the content it must become, else the URL it comes from.
    fn key(&self, url: &str) -> String {
        let safe = |h: &str| h.chars().all(|c| c.is_ascii_hexdigit()) && !h.is_empty();
        match (&self.blake3, &self.sha256) {
            (Some(b), _) if safe(b) => format!("blake3-{b}"),
            (_, Some(s)) if safe(s) => format!("sha256-{s}"),
            _ => format!("url-{}", &blake3::hash(url.as_bytes()).to_hex()[..32]),
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
    fn expected_hashes_are_normalised() {
        let n = Normalised::new(&Expected {
            blake3: Some("BLAKE3:ABCD".into()),
            sha256: Some("sha256:EF".into()),
            size: None,
        });
        assert_eq!(n.blake3.as_deref(), Some("abcd"));
        assert_eq!(n.sha256.as_deref(), Some("ef"));
        assert_eq!(n.key("x"), "blake3-abcd");
    }
}
