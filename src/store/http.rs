//! comfydock's HTTP layer: one client per process (a client holds a connection pool, the TLS
//! configuration and, blocking, a runtime thread: it was built again for every model download),
//! bounded timeouts, and one retry policy: exponential backoff with jitter on 429, 5xx and
//! network failures, honouring `Retry-After` (parsed by `httpdate`), and resuming a transfer
//! that still brought bytes. What is fetched, and where it goes, is `download.rs`'s.

use crate::progress::Reporter;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue};
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest answer read into memory whole ([`Http::get_body`]: registry pages, Manager's
/// node map): far above any real one (the node map is a few MiB), far below a memory problem.
pub const MAX_BODY_BYTES: u64 = 64 << 20;

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
    /// Requests for one download at the most, however it fails: a server that keeps sending
    /// the same few bytes again (a `Content-Length` larger than the body, `Range` ignored) is
    /// not asked forever.
    pub max_attempts: u32,
    /// A transfer slower than `low_speed_limit` bytes/s over `low_speed_time` fails like a
    /// stalled one (a byte every 2 s would otherwise hold an apply indefinitely).
    pub low_speed_limit: u64,
    pub low_speed_time: Duration,
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
            max_attempts: 50,
            low_speed_limit: 1024,
            low_speed_time: Duration::from_secs(30),
            user_agent: format!(
                "comfydock/{} (+https://github.com/comfydock)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

impl HttpConfig {
    /// Defaults, overridden by `COMFYDOCK_HTTP_TIMEOUT` (read timeout, seconds, fractions
    /// allowed), `COMFYDOCK_HTTP_CONNECT_TIMEOUT`, `COMFYDOCK_HTTP_RETRIES`,
    /// `COMFYDOCK_HTTP_MAX_ATTEMPTS`, `COMFYDOCK_HTTP_LOW_SPEED_LIMIT` (bytes/s) and
    /// `COMFYDOCK_HTTP_LOW_SPEED_TIME` (seconds).
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
        if let Some(n) = env_number("COMFYDOCK_HTTP_MAX_ATTEMPTS") {
            c.max_attempts = u32::try_from(n).unwrap_or(u32::MAX).max(1);
        }
        if let Some(n) = env_number("COMFYDOCK_HTTP_LOW_SPEED_LIMIT") {
            c.low_speed_limit = n;
        }
        if let Some(d) = env_seconds("COMFYDOCK_HTTP_LOW_SPEED_TIME") {
            c.low_speed_time = d;
        }
        c
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn env_seconds(name: &str) -> Option<Duration> {
    let v: f64 = std::env::var(name).ok()?.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then(|| Duration::from_secs_f64(v))
}

type ClientKey = (Duration, Duration, String);

/// The clients built so far, by configuration.
static CLIENTS: std::sync::Mutex<Vec<(ClientKey, Client)>> = std::sync::Mutex::new(Vec::new());

/// The one client of this process for a connect timeout, read timeout and user agent (in
/// practice one: every caller takes `HttpConfig::from_env()`), built on first use. A client is a
/// connection pool, a TLS configuration and a runtime thread; reqwest's clients are handles,
/// cheap to clone.
fn shared_client(config: &HttpConfig) -> Client {
    let key = (config.connect_timeout, config.read_timeout, config.user_agent.clone());
    let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, client)) = clients.iter().find(|(k, _)| *k == key) {
        return client.clone();
    }
    let client = Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.read_timeout)
        .user_agent(config.user_agent.clone())
        .build()
        .expect("the TLS backend is compiled in");
    clients.push((key, client.clone()));
    client
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

/// A shared HTTP client with comfydock's retry policy. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: Client,
    config: HttpConfig,
}

impl Http {
    /// An `Http` on the process's client for `config`'s timeouts and user agent (see
    /// [`shared_client`]).
    pub fn new(config: HttpConfig) -> Self {
        Http {
            client: shared_client(&config),
            config,
        }
    }

    pub fn from_env() -> Self {
        Http::new(HttpConfig::from_env())
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// GET and read the whole body, retrying 429, 5xx, network errors and timeouts (including a
    /// body that stalls). Returns the status and body of the first answer that is not retried.
    /// A body larger than [`MAX_BODY_BYTES`] is refused as soon as it is (not retried).
    pub fn get_body(&self, url: &str, reporter: &dyn Reporter) -> Result<(u16, Vec<u8>), HttpFailure> {
        let answer = self.retry(url, None, reporter, || {
            let mut resp = match self.send(url, HeaderMap::new()) {
                Ok(resp) => resp,
                Err(reason) => return Try::Failed(Failed::new(reason, None)),
            };
            let status = resp.status();
            if is_retryable(status) {
                return Try::Failed(Failed::status(&resp));
            }
            let mut body = Vec::new();
            match (&mut resp).take(MAX_BODY_BYTES + 1).read_to_end(&mut body) {
                Ok(_) if body.len() as u64 > MAX_BODY_BYTES => Try::Done(Err(status.as_u16())),
                Ok(_) => Try::Done(Ok((status.as_u16(), body))),
                Err(e) => Try::Failed(Failed::new(describe_io(&e, &self.config), Some(status.as_u16()))),
            }
        })?;
        answer.map_err(|status| {
            let reason = format!(
                "the answer is larger than {} MiB (MAX_BODY_BYTES); the rest was not read",
                MAX_BODY_BYTES >> 20
            );
            self.give_up(url, 1, reason, Some(status))
        })
    }

    /// One GET with `headers`; a failure to get an answer at all is described for people.
    pub(super) fn send(&self, url: &str, headers: HeaderMap) -> Result<Response, String> {
        self.client
            .get(url)
            .headers(headers)
            .send()
            .map_err(|e| describe_reqwest(&e, &self.config))
    }

    /// The retry policy, in one place: runs `attempt` until it is done, waiting between failures
    /// (the server's `Retry-After`, else backoff with jitter). Up to `retries` failures in a row
    /// are retried; a failure that still brought new bytes resets that count and is resumed at
    /// once, so a large download that keeps flowing is never given up on. `max_tries`, when set,
    /// bounds the number of tries whatever happens.
    pub(super) fn retry<T>(
        &self,
        shown_url: &str,
        max_tries: Option<u32>,
        reporter: &dyn Reporter,
        mut attempt: impl FnMut() -> Try<T>,
    ) -> Result<T, HttpFailure> {
        let mut tries = 0;
        let mut failures = 0;
        let mut restarts = 0;
        let mut last: Option<Failed> = None;
        // The furthest a transfer got: only bytes beyond it count as progress.
        let mut high_water = 0u64;
        loop {
            // One restart is normal (the file changed on the server); a server that answers every
            // request with another range than asked for would otherwise be asked forever.
            let restarting = restarts > self.config.retries + 1;
            let exhausted = tries >= self.config.max_attempts.max(1);
            if restarting || exhausted || max_tries.is_some_and(|max| tries >= max.max(1)) {
                let last = last.unwrap_or_else(|| Failed::new("the server kept restarting the transfer".into(), None));
                return Err(self.give_up(shown_url, tries, last.reason, last.status));
            }
            tries += 1;
            let failed = match attempt() {
                Try::Done(v) => return Ok(v),
                Try::Again => {
                    restarts += 1;
                    last = None;
                    continue;
                }
                Try::Failed(f) => f,
            };
            let progressed = failed.progressed_to.is_some_and(|to| to > high_water);
            if let Some(to) = failed.progressed_to {
                high_water = high_water.max(to);
            }
            failures = if progressed { 0 } else { failures + 1 };
            let out_of_tries = failures > self.config.retries || max_tries.is_some_and(|max| tries >= max);
            if out_of_tries {
                return Err(self.give_up(shown_url, tries, failed.reason, failed.status));
            }
            if let Some(offset) = failed.progressed_to.filter(|_| progressed) {
                reporter.warn(&format!("{shown_url}: {}; resuming at {offset} bytes", failed.reason));
                last = Some(failed);
                continue;
            }
            let wait = match failed.retry_after {
                Some(d) if d > self.config.max_retry_after => {
                    let reason = format!(
                        "{}, and the server asks to wait {}s before retrying",
                        failed.reason,
                        d.as_secs()
                    );
                    return Err(self.give_up(shown_url, tries, reason, failed.status));
                }
                Some(d) => d,
                None => backoff(&self.config, failures),
            };
            let total = max_tries.unwrap_or(self.config.retries + 1);
            reporter.warn(&format!(
                "{shown_url}: {}; retrying in {:.1}s (attempt {} of {total})",
                failed.reason,
                wait.as_secs_f64(),
                tries + 1
            ));
            std::thread::sleep(wait);
            last = Some(failed);
        }
    }

    fn give_up(&self, url: &str, attempts: u32, reason: String, status: Option<u16>) -> HttpFailure {
        HttpFailure {
            url: url.to_string(),
            attempts,
            reason,
            status,
        }
    }
}

/// What one try of a request came to.
pub(super) enum Try<T> {
    Done(T),
    /// Not a failure: the server's answer did not continue the partial file, which was emptied;
    /// ask again from the start.
    Again,
    Failed(Failed),
}

/// A try that failed in a way another try may not.
pub(super) struct Failed {
    pub(super) reason: String,
    pub(super) status: Option<u16>,
    pub(super) retry_after: Option<Duration>,
    /// Where the partial file stands, when this try added bytes to it before failing.
    pub(super) progressed_to: Option<u64>,
}

impl Failed {
    pub(super) fn new(reason: String, status: Option<u16>) -> Self {
        Failed {
            reason,
            status,
            retry_after: None,
            progressed_to: None,
        }
    }

    /// A 429 or 5xx answer, with the wait the server asks for.
    pub(super) fn status(resp: &Response) -> Self {
        let status = resp.status();
        Failed {
            retry_after: parse_retry_after(resp.headers()),
            ..Failed::new(format!("HTTP {status}"), Some(status.as_u16()))
        }
    }
}

pub(super) fn is_retryable(status: StatusCode) -> bool {
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

/// Parses an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, or the two obsolete forms) into
/// seconds since the epoch, with the `httpdate` crate: fixed-width fields, checked ranges, no
/// arithmetic on the header's numbers here.
fn parse_http_date(s: &str) -> Option<u64> {
    let at = httpdate::parse_http_date(s).ok()?;
    Some(at.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

pub(super) fn describe_reqwest(e: &reqwest::Error, config: &HttpConfig) -> String {
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

pub(super) fn describe_io(e: &std::io::Error, config: &HttpConfig) -> String {
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

/// A bearer token. Its `Debug` output is redacted, so it cannot leak through logs.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// Marked sensitive: reqwest keeps it out of its own debug output and drops it on redirects
    /// to another host (Hugging Face redirects to a CDN that must not see it).
    pub(super) fn header(&self) -> Option<HeaderValue> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("yesterday"), None);
        // Hostile values: refused, not an arithmetic overflow.
        for bad in [
            "Sun, 06 Nov 1994 99999999999999999:00:00 GMT",
            "Sun, 99999999999999999 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37:12 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
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

    #[test]
    fn every_http_of_a_configuration_shares_one_client() {
        let config = HttpConfig {
            user_agent: "comfydock-test/shared-client".into(),
            ..HttpConfig::default()
        };
        let _first = Http::new(config.clone());
        let _second = Http::new(config.clone());
        let _third = Http::new(config.clone());
        let built = CLIENTS
            .lock()
            .unwrap()
            .iter()
            .filter(|((_, _, agent), _)| *agent == config.user_agent)
            .count();
        assert_eq!(built, 1);
    }
}
