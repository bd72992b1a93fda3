//! HTTP for everything comfydock fetches: bounded timeouts, retries with exponential backoff and
//! jitter on 429 (honouring `Retry-After`), 5xx and network failures, and resumable downloads
//! into `store/downloads/` with sha256 verification.
//!
//! Blocking on purpose: callers that fetch in parallel use threads (each request is I/O bound and
//! short-lived), and nothing here may run inside a tokio runtime.

use super::{Result, StoreError};
use crate::progress::Reporter;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Timeouts and retry policy. `from_env` reads the overrides tests and slow links use.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// Longest wait for response headers, and for each read of the body: a stalled server fails
    /// in this time, while a large download that keeps flowing is never cut off.
    pub read_timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A `Retry-After` longer than this is not waited out: the request fails and says so.
    pub max_retry_after: Duration,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 4,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            user_agent: format!(
                "comfydock/{} (+https://github.com/comfydock)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

impl HttpConfig {
    /// Defaults, overridden by `COMFYDOCK_HTTP_TIMEOUT` (read timeout, seconds, fractions
    /// allowed), `COMFYDOCK_HTTP_CONNECT_TIMEOUT` and `COMFYDOCK_HTTP_RETRIES`.
    pub fn from_env() -> Self {
        let mut c = HttpConfig::default();
        if let Some(d) = env_seconds("COMFYDOCK_HTTP_TIMEOUT") {
            c.read_timeout = d;
        }
        if let Some(d) = env_seconds("COMFYDOCK_HTTP_CONNECT_TIMEOUT") {
            c.connect_timeout = d;
        }
        if let Some(n) = std::env::var("COMFYDOCK_HTTP_RETRIES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            c.retries = n;
        }
        c
    }
}

fn env_seconds(name: &str) -> Option<Duration> {
    let v: f64 = std::env::var(name).ok()?.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then(|| Duration::from_secs_f64(v))
}

/// Why a request was given up on. Callers turn it into their own error type.
#[derive(Debug, Clone)]
pub struct HttpFailure {
    pub url: String,
    pub attempts: u32,
    pub reason: String,
    /// The last HTTP status, when the server answered at all.
    pub status: Option<u16>,
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gave up on {} after {} attempt{}: {}",
            self.url,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.reason
        )
    }
}

impl From<HttpFailure> for StoreError {
    fn from(f: HttpFailure) -> Self {
        StoreError::Download {
            reason: format!(
                "{} (after {} attempt{})",
                f.reason,
                f.attempts,
                if f.attempts == 1 { "" } else { "s" }
            ),
            url: f.url,
            attempts: f.attempts,
        }
    }
}

/// A shared HTTP client with comfydock's retry policy. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: Client,
    config: HttpConfig,
}

impl Http {
    pub fn new(config: HttpConfig) -> Self {
        let client = Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.read_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .expect("the TLS backend is compiled in");
        Http { client, config }
    }

    pub fn from_env() -> Self {
        Http::new(HttpConfig::from_env())
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// GET and read the whole body, retrying 429, 5xx, network errors and timeouts (including a
    /// body that stalls). Returns the status and body of the first answer that is not retried.
    pub fn get_body(&self, url: &str, reporter: &dyn Reporter) -> Result<(u16, Vec<u8>), HttpFailure> {
        self.with_retries(url, None, reporter, |resp| {
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            let mut resp = resp;
            resp.read_to_end(&mut body).map_err(|e| describe_io(&e, &self.config))?;
            Ok((status, body))
        })
    }

    /// GET with an optional `Range: bytes=N-`, retrying until the server answers with something
    /// other than 429/5xx. The body is the caller's to read.
    pub fn get_response(
        &self,
        url: &str,
        range_from: Option<u64>,
        reporter: &dyn Reporter,
    ) -> Result<Response, HttpFailure> {
        self.with_retries(url, range_from, reporter, Ok)
    }

    fn with_retries<T>(
        &self,
        url: &str,
        range_from: Option<u64>,
        reporter: &dyn Reporter,
        mut read: impl FnMut(Response) -> Result<T, String>,
    ) -> Result<T, HttpFailure> {
        let total = self.config.retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.client.get(url);
            if let Some(from) = range_from.filter(|n| *n > 0) {
                req = req.header(reqwest::header::RANGE, format!("bytes={from}-"));
            }
            let (reason, status, retry_after) = match req.send() {
                Ok(resp) if is_retryable(resp.status()) => {
                    let status = resp.status();
                    let retry_after = parse_retry_after(resp.headers());
                    (format!("HTTP {status}"), Some(status.as_u16()), retry_after)
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match read(resp) {
                        Ok(v) => return Ok(v),
                        Err(reason) => (reason, Some(status), None),
                    }
                }
                Err(e) => (describe_reqwest(&e, &self.config), None, None),
            };
            let fail = |reason: String| HttpFailure {
                url: url.to_string(),
                attempts: attempt,
                reason,
                status,
            };
            if attempt >= total {
                return Err(fail(reason));
            }
            let wait = match retry_after {
                Some(d) if d > self.config.max_retry_after => {
                    return Err(fail(format!(
                        "{reason}, and the server asks to wait {}s before retrying",
                        d.as_secs()
                    )));
                }
                Some(d) => d,
                None => backoff(&self.config, attempt),
            };
            reporter.warn(&format!(
                "{url}: {reason}; retrying in {:.1}s (attempt {} of {total})",
                wait.as_secs_f64(),
                attempt + 1
            ));
            std::thread::sleep(wait);
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Exponential backoff with "equal jitter": half the delay is fixed, half random, so that many
/// clients hitting the same 429 do not retry in lockstep.
fn backoff(config: &HttpConfig, attempt: u32) -> Duration {
    let exp = config
        .backoff_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(config.backoff_cap);
    let half = exp / 2;
    half + half.mul_f64(jitter_fraction())
}

/// A number in [0, 1) good enough to spread retries; not for anything secret.
fn jitter_fraction() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ (std::process::id() as u64) << 32;
    // xorshift64*
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (r >> 11) as f64 / (1u64 << 53) as f64
}

/// `Retry-After` as delay-seconds or as an HTTP date (IMF-fixdate).
fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT` into seconds since the epoch.
fn parse_http_date(s: &str) -> Option<u64> {
    let rest = s.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok().map(|d| d * 86_400 + h * 3600 + m * 60 + sec)
}

fn describe_reqwest(e: &reqwest::Error, config: &HttpConfig) -> String {
    if e.is_timeout() {
        format!(
            "timed out (no answer within {:.1}s; COMFYDOCK_HTTP_TIMEOUT sets the limit)",
            config.read_timeout.as_secs_f64()
        )
    } else if e.is_connect() {
        format!("could not connect ({})", root_cause(e))
    } else {
        root_cause(e)
    }
}

fn describe_io(e: &std::io::Error, config: &HttpConfig) -> String {
    let text = root_cause(e);
    if e.kind() == std::io::ErrorKind::TimedOut || text.contains("timed out") {
        format!(
            "timed out reading the response (nothing for {:.1}s; COMFYDOCK_HTTP_TIMEOUT sets the limit)",
            config.read_timeout.as_secs_f64()
        )
    } else {
        format!("the connection broke while reading the response ({text})")
    }
}

/// The innermost message of an error chain: reqwest's outer text ("error sending request")
/// says less than its source ("connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A finished, verified download in `store/downloads/`.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Bytes that were already on disk from an earlier, interrupted attempt.
    pub resumed_from: u64,
}

/// Downloads `url` into `downloads_dir` as `sha256-<hex>`, resuming a partial download left by
/// an earlier attempt (HTTP Range), and refuses the result when `expected_sha256` differs.
pub fn download(
    http: &Http,
    url: &str,
    downloads_dir: &Path,
    expected_sha256: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Downloaded> {
    fs::create_dir_all(downloads_dir).map_err(StoreError::io(downloads_dir))?;
    let expected = expected_sha256.map(|s| s.trim().trim_start_matches("sha256:").to_ascii_lowercase());
    if let Some(exp) = &expected {
        let done = downloads_dir.join(format!("sha256-{exp}"));
        if let Ok(meta) = fs::metadata(&done) {
            // Files here are only ever renamed into place after verification.
            return Ok(Downloaded {
                path: done,
                sha256: exp.clone(),
                size: meta.len(),
                resumed_from: meta.len(),
            });
        }
    }
    let url_key = hex::encode(&Sha256::digest(url.as_bytes())[..16]);
    let part_path = downloads_dir.join(format!("{url_key}.part"));
    let mut part = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&part_path)
        .map_err(StoreError::io(&part_path))?;
    // Two processes resuming the same URL would interleave their bytes.
    part.lock().map_err(StoreError::io(&part_path))?;

    let already = part.metadata().map_err(StoreError::io(&part_path))?.len();
    let resumed_from = already;
    if already > 0 {
        reporter.step(&format!("Resuming {url} at {already} bytes"));
    } else {
        reporter.step(&format!("Downloading {url}"));
    }
    let mut hasher = Sha256::new();
    let mut offset = hash_prefix(&mut part, &part_path, &mut hasher)?;

    let mut stalls = 0;
    loop {
        let resp = http.get_response(url, Some(offset), reporter)?;
        let status = resp.status();
        if status == StatusCode::RANGE_NOT_SATISFIABLE && offset > 0 {
            // The partial file is as long as the resource or longer: start over.
            restart(&mut part, &part_path, &mut hasher, &mut offset)?;
            continue;
        }
        if !status.is_success() {
            return Err(StoreError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                detail: None,
            });
        }
        let partial = status == StatusCode::PARTIAL_CONTENT;
        if offset > 0 && (!partial || content_range_start(&resp) != Some(offset)) {
            // The server ignored the range (or answered another one): the whole body follows.
            restart(&mut part, &part_path, &mut hasher, &mut offset)?;
        }
        let label = crate::progress::transfer_label(url);
        let copied = copy_body(resp, &mut part, &mut hasher, &mut offset, &|done, total| {
            reporter.transfer(&label, done, total)
        });
        reporter.transfer_end(&label);
        match copied {
            Ok(()) => break,
            Err(CopyError::Write(e)) => return Err(StoreError::io(&part_path)(e)),
            Err(CopyError::Read { error, progressed }) => {
                stalls = if progressed { 0 } else { stalls + 1 };
                if stalls > http.config().retries {
                    return Err(StoreError::Download {
                        url: url.to_string(),
                        reason: describe_io(&error, http.config()),
                        attempts: stalls,
                    });
                }
                reporter.warn(&format!(
                    "{url}: {}; resuming at {offset} bytes",
                    describe_io(&error, http.config())
                ));
            }
        }
    }
    part.sync_all().map_err(StoreError::io(&part_path))?;
    let actual = hex::encode(hasher.finalize());
    if let Some(exp) = &expected
        && *exp != actual
    {
        drop(part);
        let _ = fs::remove_file(&part_path);
        return Err(StoreError::HashMismatch {
            url: url.to_string(),
            expected: exp.clone(),
            actual,
        });
    }
    let final_path = downloads_dir.join(format!("sha256-{actual}"));
    crate::fsx::rename_durable(&part_path, &final_path).map_err(StoreError::io(&final_path))?;
    Ok(Downloaded {
        path: final_path,
        sha256: actual,
        size: offset,
        resumed_from,
    })
}

fn hash_prefix(part: &mut File, path: &Path, hasher: &mut Sha256) -> Result<u64> {
    part.seek(SeekFrom::Start(0)).map_err(StoreError::io(path))?;
    let n = std::io::copy(part, hasher).map_err(StoreError::io(path))?;
    part.seek(SeekFrom::End(0)).map_err(StoreError::io(path))?;
    Ok(n)
}

fn restart(part: &mut File, path: &Path, hasher: &mut Sha256, offset: &mut u64) -> Result<()> {
    part.set_len(0).map_err(StoreError::io(path))?;
    part.seek(SeekFrom::Start(0)).map_err(StoreError::io(path))?;
    *hasher = Sha256::new();
    *offset = 0;
    Ok(())
}

fn content_range_start(resp: &Response) -> Option<u64> {
    let v = resp.headers().get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let range = v.trim().strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

enum CopyError {
    Read { error: std::io::Error, progressed: bool },
    Write(std::io::Error),
}

fn copy_body(
    mut resp: Response,
    part: &mut File,
    hasher: &mut Sha256,
    offset: &mut u64,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<(), CopyError> {
    let mut buf = vec![0u8; 256 * 1024];
    let start = *offset;
    let total = resp.content_length().map(|len| len + start);
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(error) => {
                let _ = part.flush();
                return Err(CopyError::Read {
                    error,
                    progressed: *offset > start,
                });
            }
        };
        part.write_all(&buf[..n]).map_err(CopyError::Write)?;
        hasher.update(&buf[..n]);
        *offset += n as u64;
        progress(*offset, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let c = HttpConfig::default();
        let first = backoff(&c, 1);
        assert!(first >= c.backoff_base / 2 && first <= c.backoff_base, "{first:?}");
        let third = backoff(&c, 3);
        assert!(third >= c.backoff_base * 2, "{third:?}");
        assert!(backoff(&c, 30) <= c.backoff_cap);
    }
}
