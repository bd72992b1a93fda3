//! The Comfy Registry client: typed reads, cached in `.metadata/api_cache.db`, with the retry
//! policy of `store::Http`. Browsing never calls `/install` (it counts as an install upstream).

use super::cache::ApiCache;
use super::types::{ComfyNode, ComfyNodePage, ErrorBody, Node, NodePage, NodeVersion};
use super::{RegistryError, Result};
use crate::progress::{Reporter, Silent};
use crate::store::{Http, HttpConfig};
use reqwest::Url;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_REGISTRY_URL: &str = "https://api.comfy.org";
/// How long a cached answer counts as fresh. Registry data changes slowly, and the live API's
/// own edge cache is minutes behind anyway.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Pages asked for when walking lists; the API clamps larger values and says what it served.
const PAGE_LIMIT: u64 = 100;
/// A walk stops here even if the server keeps announcing more pages.
const MAX_PAGES: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: String,
    /// Cached answers only, whatever their age; a miss is an error.
    pub offline: bool,
    pub ttl: Duration,
    pub http: HttpConfig,
}

impl ClientOptions {
    /// The registry address is `COMFYDOCK_REGISTRY_URL`, else `registry_url` from
    /// workspace.toml, else the public registry. `COMFYDOCK_REGISTRY_TTL` (seconds) sets the
    /// cache's freshness.
    pub fn from_env(configured_url: Option<&str>) -> ClientOptions {
        let base_url = std::env::var("COMFYDOCK_REGISTRY_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| configured_url.map(str::to_string))
            .unwrap_or_else(|| DEFAULT_REGISTRY_URL.to_string());
        let ttl = std::env::var("COMFYDOCK_REGISTRY_TTL")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TTL);
        ClientOptions {
            base_url,
            offline: false,
            ttl,
            http: HttpConfig::from_env(),
        }
    }
}

pub struct RegistryClient {
    base: Url,
    http: Http,
    cache: Option<ApiCache>,
    offline: bool,
    ttl: Duration,
    reporter: Arc<dyn Reporter + Send>,
}

impl RegistryClient {
    /// `cache` is usually the workspace's `.metadata/api_cache.db`; without one every read goes
    /// to the network (and `offline` fails every read).
    pub fn new(options: ClientOptions, cache: Option<ApiCache>) -> Result<RegistryClient> {
        let bad = |reason: &str| RegistryError::BadUrl {
            url: options.base_url.clone(),
            reason: reason.to_string(),
        };
        let base = Url::parse(options.base_url.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("not an http(s) URL"));
        }
        Ok(RegistryClient {
            base,
            http: Http::new(options.http),
            cache,
            offline: options.offline,
            ttl: options.ttl,
            reporter: Arc::new(Silent),
        })
    }

    /// Where retries and "using stale cache" notices go.
    pub fn with_reporter(mut self, reporter: Arc<dyn Reporter + Send>) -> Self {
        self.reporter = reporter;
        self
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    pub fn reporter(&self) -> &dyn Reporter {
        &*self.reporter
    }

    /// `base` + path segments (percent-encoded) + query.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().expect("checked in new()");
            path.pop_if_empty();
            path.extend(segments);
        }
        url.set_query(None);
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// A page of all packs.
    pub fn list_nodes(&self, page: u64, limit: u64) -> Result<NodePage> {
        let url = self.url(
            &["nodes"],
            &[("page", &page.to_string()), ("limit", &limit.to_string())],
        );
        self.require(url)
    }

    /// A page of packs matching `query`.
    pub fn search_nodes(&self, query: &str, page: u64, limit: u64) -> Result<NodePage> {
        let url = self.url(
            &["nodes", "search"],
            &[
                ("search", query),
                ("page", &page.to_string()),
                ("limit", &limit.to_string()),
            ],
        );
        self.require(url)
    }

    /// Every pack, walking the pages the server announces. The live API's order is unstable
    /// between pages, so packs are deduplicated by id.
    pub fn all_nodes(&self) -> Result<Vec<Node>> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let p = self.list_nodes(page, PAGE_LIMIT)?;
            for n in p.nodes {
                if seen.insert(n.id.clone()) {
                    out.push(n);
                }
            }
            if page >= p.total_pages || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        Ok(out)
    }

    pub fn node(&self, id: &str) -> Result<Node> {
        let url = self.url(&["nodes", id], &[]);
        self.get_json(url)?
            .ok_or_else(|| RegistryError::UnknownNode { id: id.to_string() })
    }

    /// Every version of a pack, of every status; the caller filters (see `resolve`).
    pub fn versions(&self, id: &str) -> Result<Vec<NodeVersion>> {
        let url = self.url(&["nodes", id, "versions"], &[]);
        match self.get_json(url) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(RegistryError::UnknownNode { id: id.to_string() }),
            Err(RegistryError::Status { status: 403, .. }) => Err(RegistryError::BannedNode { id: id.to_string() }),
            Err(e) => Err(e),
        }
    }

    /// One version by its version string; `None` when the registry does not know it.
    pub fn version(&self, id: &str, version: &str) -> Result<Option<NodeVersion>> {
        let url = self.url(&["nodes", id, "versions", version], &[]);
        self.get_json(url)
    }

    /// Install info. Upstream this counts an install, so only the install path calls it, and
    /// only when a version lacks a `downloadUrl`.
    pub fn install_info(&self, id: &str, version: Option<&str>) -> Result<NodeVersion> {
        let query: Vec<(&str, &str)> = version.map(|v| ("version", v)).into_iter().collect();
        let url = self.url(&["nodes", id, "install"], &query);
        self.get_json(url)?.ok_or_else(|| RegistryError::NoVersion {
            id: id.to_string(),
            wanted: version.unwrap_or("latest").to_string(),
            available: "`comfydock node find` lists packs and their latest versions".to_string(),
        })
    }

    /// The node classes of a version, all pages; `None` when the registry has no metadata for
    /// it (extraction failed or pending).
    pub fn comfy_nodes(&self, id: &str, version: &str) -> Result<Option<Vec<ComfyNode>>> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let url = self.url(
                &["nodes", id, "versions", version, "comfy-nodes"],
                &[("page", &page.to_string()), ("limit", &PAGE_LIMIT.to_string())],
            );
            let Some(p) = self.get_json::<ComfyNodePage>(url)? else {
                return Ok(None);
            };
            let empty = p.comfy_nodes.is_empty();
            out.extend(p.comfy_nodes);
            if empty || page >= p.total_number_of_pages || page >= MAX_PAGES {
                return Ok(Some(out));
            }
            page += 1;
        }
    }

    /// One page of a version's node classes with an explicit `limit` (the API's default is
    /// 10); `None` on 404, which means the registry has no metadata for that version.
    pub fn comfy_nodes_page(&self, id: &str, version: &str, page: u64, limit: u64) -> Result<Option<ComfyNodePage>> {
        let url = self.url(
            &["nodes", id, "versions", version, "comfy-nodes"],
            &[("page", &page.to_string()), ("limit", &limit.to_string())],
        );
        self.get_json(url)
    }

    /// The pack the registry considers the provider of a node class, if any.
    pub fn pack_for_node_class(&self, comfy_node_name: &str) -> Result<Option<Node>> {
        let url = self.url(&["comfy-nodes", comfy_node_name, "node"], &[]);
        self.get_json(url)
    }

    fn require<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let text = url.to_string();
        self.get_json(url)?.ok_or(RegistryError::Status {
            url: text,
            status: 404,
            message: None,
        })
    }

    /// GET and decode; `None` on 404.
    fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<Option<T>> {
        let (status, body) = self.fetch(&url)?;
        match status {
            200 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| RegistryError::BadResponse {
                    url: url.to_string(),
                    reason: e.to_string(),
                }),
            404 => Ok(None),
            _ => Err(RegistryError::Status {
                url: url.to_string(),
                status,
                message: serde_json::from_slice::<ErrorBody>(&body)
                    .ok()
                    .and_then(|b| b.summary()),
            }),
        }
    }

    fn fetch(&self, url: &Url) -> Result<(u16, Vec<u8>)> {
        let key = url.as_str();
        let cached = match &self.cache {
            Some(c) => c.get(key)?,
            None => None,
        };
        if let Some(hit) = &cached
            && (self.offline || hit.age() < self.ttl)
        {
            return Ok((hit.status, hit.body.clone()));
        }
        if self.offline {
            return Err(RegistryError::OfflineMiss { url: key.to_string() });
        }
        match self.http.get_body(key, &*self.reporter) {
            Ok((status, body)) => {
                if let Some(c) = &self.cache
                    && matches!(status, 200 | 403 | 404)
                    && let Err(e) = c.put(key, status, &body)
                {
                    // The answer is good; only its copy failed.
                    self.reporter.warn(&format!("could not cache {key}: {e}"));
                }
                Ok((status, body))
            }
            Err(failure) => match cached {
                Some(hit) => {
                    self.reporter.warn(&format!(
                        "{failure}; using the answer cached {} ago",
                        human_age(hit.age())
                    ));
                    Ok((hit.status, hit.body))
                }
                None => Err(RegistryError::Unreachable { failure }),
            },
        }
    }
}

fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> RegistryClient {
        let mut o = ClientOptions::from_env(None);
        o.base_url = base.to_string();
        RegistryClient::new(o, None).unwrap()
    }

    #[test]
    fn urls_encode_segments_and_keep_a_base_path() {
        let c = client("http://127.0.0.1:1/mirror/");
        assert_eq!(
            c.url(&["nodes", "a b/c", "versions"], &[("search", "x&y")]).as_str(),
            "http://127.0.0.1:1/mirror/nodes/a%20b%2Fc/versions?search=x%26y"
        );
        assert_eq!(c.base_url(), "http://127.0.0.1:1/mirror");
    }

    #[test]
    fn bad_base_urls_are_refused() {
        let mut o = ClientOptions::from_env(None);
        o.base_url = "ftp://x".into();
        assert!(matches!(
            RegistryClient::new(o, None),
            Err(RegistryError::BadUrl { .. })
        ));
    }

    #[test]
    fn offline_without_cache_names_the_url() {
        let mut o = ClientOptions::from_env(None);
        o.base_url = "http://127.0.0.1:1".into();
        o.offline = true;
        let c = RegistryClient::new(o, None).unwrap();
        match c.node("x") {
            Err(RegistryError::OfflineMiss { url }) => assert_eq!(url, "http://127.0.0.1:1/nodes/x"),
            other => panic!("{other:?}"),
        }
    }
}
