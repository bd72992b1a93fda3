//! `registry serve`: a read-only mirror of the Comfy Registry API, served from a snapshot
//! folder, in the live API's shapes (envelopes, field names, error bodies). Archives are served
//! at `/files/{id}/{version}/{name}`, and every `downloadUrl` points there.
//!
//! Files are only ever read through the snapshot's own archive table, whose paths were checked
//! at load to lie inside the snapshot folder: nothing in a request names a file. Each request
//! opens its file again component by component from the snapshot folder without following
//! symlinks, so a file swapped for a symlink after start is refused, not followed. Archives are
//! streamed, and connections idle longer than `ServeOptions::idle_timeout` are closed.

use super::resolve::{VersionSpec, parse_version};
use super::snapshot::{Snapshot, archive_path};
use super::types::{BulkRequest, BulkResponse, BulkResult, ComfyNode, ComfyNodeList, ComfyNodePage, ErrorBody};
use super::types::{Node, NodePage, NodeStatus, NodeVersion};
use super::{RegistryError, Result};
use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the API clamps page sizes it is asked for.
const MAX_LIMIT: u64 = 100;

struct Version {
    v: NodeVersion,
    /// Relative to the snapshot folder; checked at load to hold only normal components.
    archive: Option<PathBuf>,
    file_name: Option<String>,
    comfy_nodes: Option<Vec<ComfyNode>>,
}

struct Pack {
    node: Node,
    versions: Vec<Version>,
}

/// A loaded snapshot, ready to answer requests.
pub struct Mirror {
    packs: Vec<Pack>,
    by_id: HashMap<String, usize>,
    base_url: String,
    /// The snapshot folder, canonical: every file is opened below it.
    root: PathBuf,
}

impl Mirror {
    /// Loads `dir` and checks every archive it names. `base_url` is what `downloadUrl`s start
    /// with (usually the address the server listens on).
    pub fn load(dir: &Path, base_url: &str) -> Result<Mirror> {
        let snap = Snapshot::load(dir)?;
        let mut packs = Vec::with_capacity(snap.packs.len());
        let mut by_id = HashMap::new();
        for p in snap.packs {
            let mut versions = Vec::with_capacity(p.versions.len());
            for sv in p.versions {
                let archive = match &sv.archive {
                    Some(rel) => {
                        archive_path(dir, rel).map_err(|reason| RegistryError::BadSnapshot {
                            path: dir.join(super::snapshot::SNAPSHOT_FILE),
                            reason,
                        })?;
                        Some(PathBuf::from(rel))
                    }
                    None => None,
                };
                let file_name = archive
                    .as_ref()
                    .and_then(|a| a.file_name())
                    .map(|n| n.to_string_lossy().into_owned());
                let mut v = sv.node_version;
                if v.node_id.is_empty() {
                    v.node_id = p.node.id.clone();
                }
                versions.push(Version {
                    v,
                    archive,
                    file_name,
                    comfy_nodes: sv.comfy_nodes,
                });
            }
            by_id.insert(p.node.id.clone(), packs.len());
            packs.push(Pack { node: p.node, versions });
        }
        let root = std::fs::canonicalize(dir).map_err(RegistryError::io(dir))?;
        Ok(Mirror {
            packs,
            by_id,
            base_url: base_url.trim_end_matches('/').to_string(),
            root,
        })
    }

    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    fn pack(&self, id: &str) -> Option<&Pack> {
        self.by_id.get(id).map(|i| &self.packs[*i])
    }

    /// A version as served: `downloadUrl` at this mirror, or empty when it holds no file.
    fn render_version(&self, pack: &Pack, v: &Version) -> NodeVersion {
        let mut out = v.v.clone();
        out.download_url = match &v.file_name {
            Some(name) => format!(
                "{}/files/{}/{}/{}",
                self.base_url,
                encode(&pack.node.id),
                encode(&v.v.version),
                encode(name)
            ),
            None => String::new(),
        };
        out
    }

    /// The registry's "latest" for a pack, but ordered by semver rather than as strings.
    fn latest(&self, pack: &Pack) -> Option<NodeVersion> {
        pack.versions
            .iter()
            .filter(|v| v.v.status.installable())
            .filter_map(|v| parse_version(&v.v.version).map(|sv| (sv, v)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v)| self.render_version(pack, v))
    }

    fn render_node(&self, pack: &Pack) -> Node {
        let mut n = pack.node.clone();
        n.latest_version = self.latest(pack);
        n
    }

    fn node_page(&self, query: &Query, filter: impl Fn(&Pack) -> bool) -> Result<NodePage, BadQuery> {
        let include_banned = query.get("include_banned") != Some("false");
        let matching: Vec<&Pack> = self
            .packs
            .iter()
            .filter(|p| include_banned || p.node.status != NodeStatus::Banned)
            .filter(|p| filter(p))
            .collect();
        let w = query.window("limit", 10)?;
        let total = matching.len() as u64;
        let nodes = matching
            .iter()
            .skip(w.offset)
            .take(w.take)
            .map(|p| self.render_node(p))
            .collect();
        Ok(NodePage {
            total,
            nodes,
            page: w.page,
            limit: w.limit,
            total_pages: total.div_ceil(w.limit),
        })
    }
}

fn encode(segment: &str) -> String {
    let mut u = reqwest::Url::parse("http://x/").expect("static URL");
    u.path_segments_mut().expect("http URL").push(segment);
    u.path()[1..].to_string()
}

/// Query parameters, repeated keys kept (`statuses=A&statuses=B`).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Query {
        let raw = raw.unwrap_or_default();
        let url = reqwest::Url::parse(&format!("http://q/?{raw}")).ok();
        Query(
            url.map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
                .unwrap_or_default(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A non-negative integer parameter; absent is `Ok(None)`, anything else unreadable is a
    /// 400 naming the parameter.
    fn num(&self, key: &str) -> Result<Option<u64>, BadQuery> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| BadQuery(format!("`{key}` must be a non-negative integer, got {v:?}"))),
        }
    }

    /// The slice a paged request asks for: a 1-based page (0 reads as 1), a limit clamped to
    /// what the API serves, and the offset, which must fit in memory arithmetic (a page that
    /// far out is refused with 400 rather than overflowing).
    fn window(&self, limit_key: &str, default_limit: u64) -> Result<Window, BadQuery> {
        let page = self.num("page")?.unwrap_or(1).max(1);
        let limit = self.num(limit_key)?.unwrap_or(default_limit).clamp(1, MAX_LIMIT);
        let offset = (page - 1)
            .checked_mul(limit)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| BadQuery(format!("page {page} is out of range")))?;
        Ok(Window {
            page,
            limit,
            offset,
            take: usize::try_from(limit).unwrap_or(usize::MAX),
        })
    }
}

/// A query the mirror refuses with 400, and why.
struct BadQuery(String);

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        error_response(StatusCode::BAD_REQUEST, &self.0)
    }
}

struct Window {
    page: u64,
    limit: u64,
    offset: usize,
    take: usize,
}

type Shared = State<Arc<Mirror>>;

fn json<T: serde::Serialize>(value: &T) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// `ErrorResponse`: `{error, message}`.
fn error_response(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody {
        error: Some(status.canonical_reason().unwrap_or("Error").to_string()),
        message: Some(message.to_string()),
        details: None,
    };
    (status, axum::Json(body)).into_response()
}

/// `Error`: `{message, details}`, which the version endpoints use for 404.
fn error_details(status: StatusCode, message: &str, details: &[&str]) -> Response {
    let body = ErrorBody {
        error: None,
        message: Some(message.to_string()),
        details: Some(details.iter().map(|d| d.to_string()).collect()),
    };
    (status, axum::Json(body)).into_response()
}

fn node_not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "Node not found")
}

async fn list_nodes(State(m): Shared, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q);
    match m.node_page(&q, |_| true) {
        Ok(page) => json(&page),
        Err(refused) => refused.into_response(),
    }
}

async fn search_nodes(State(m): Shared, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q);
    let words = q.get("search").unwrap_or("").to_lowercase();
    let class = q.get("comfy_node_search").unwrap_or("").to_string();
    let repo = q.get("repository_url_search").unwrap_or("").to_lowercase();
    let page = m.node_page(&q, |p| {
        let n = &p.node;
        let text_ok = words.is_empty()
            || [&n.id, &n.name, &n.description, &n.author]
                .iter()
                .any(|f| f.to_lowercase().contains(&words))
            || n.tags.iter().any(|t| t.to_lowercase().contains(&words));
        let class_ok = class.is_empty()
            || p.versions
                .iter()
                .any(|v| v.comfy_nodes.iter().flatten().any(|c| c.comfy_node_name == class));
        let repo_ok = repo.is_empty() || n.repository.to_lowercase().contains(&repo);
        text_ok && class_ok && repo_ok
    });
    match page {
        Ok(page) => json(&page),
        Err(refused) => refused.into_response(),
    }
}

async fn get_node(State(m): Shared, UrlPath(id): UrlPath<String>) -> Response {
    match m.pack(&id) {
        Some(p) => json(&m.render_node(p)),
        None => node_not_found(),
    }
}

async fn list_versions(State(m): Shared, UrlPath(id): UrlPath<String>, RawQuery(q): RawQuery) -> Response {
    let Some(p) = m.pack(&id) else {
        return error_details(StatusCode::NOT_FOUND, "Node not found", &[]);
    };
    if p.node.status == NodeStatus::Banned {
        return error_response(StatusCode::FORBIDDEN, "Node is banned");
    }
    let q = Query::parse(q);
    let statuses = q.all("statuses");
    let with_reason = q.get("include_status_reason") == Some("true");
    let mut out: Vec<NodeVersion> = p
        .versions
        .iter()
        .filter(|v| statuses.is_empty() || statuses.contains(&v.v.status.as_str()))
        .map(|v| {
            let mut r = m.render_version(p, v);
            if !with_reason {
                r.status_reason = None;
            }
            r
        })
        .collect();
    // Newest first, as the registry lists them.
    out.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| parse_version(&b.version).cmp(&parse_version(&a.version)))
    });
    json(&out)
}

fn find_version<'a>(p: &'a Pack, version: &str) -> Option<&'a Version> {
    let spec = VersionSpec::Exact(version.to_string());
    let all: Vec<NodeVersion> = p.versions.iter().map(|v| v.v.clone()).collect();
    let found = super::resolve::choose(&all, &spec)?;
    p.versions.iter().find(|v| v.v.version == found.version)
}

async fn get_version(State(m): Shared, UrlPath((id, version)): UrlPath<(String, String)>) -> Response {
    let Some(p) = m.pack(&id) else {
        return error_details(StatusCode::NOT_FOUND, "Node not found", &[]);
    };
    match find_version(p, &version) {
        Some(v) => json(&m.render_version(p, v)),
        None => error_details(StatusCode::NOT_FOUND, "Node version not found", &[]),
    }
}

async fn install(State(m): Shared, UrlPath(id): UrlPath<String>, RawQuery(q): RawQuery) -> Response {
    let Some(p) = m.pack(&id) else {
        return node_not_found();
    };
    let q = Query::parse(q);
    match q.get("version") {
        Some(v) => {
            let plain = v.split('.').count() == 3
                && v.split('.')
                    .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            if !plain {
                return error_response(StatusCode::BAD_REQUEST, "version must be of the form MAJOR.MINOR.PATCH");
            }
            match find_version(p, v) {
                Some(found) => json(&m.render_version(p, found)),
                None => error_response(StatusCode::NOT_FOUND, "Node version not found"),
            }
        }
        None => match m.latest(p) {
            Some(v) => json(&v),
            None => error_response(StatusCode::NOT_FOUND, "Node has no installable version"),
        },
    }
}

async fn version_comfy_nodes(
    State(m): Shared,
    UrlPath((id, version)): UrlPath<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(nodes) = m
        .pack(&id)
        .and_then(|p| find_version(p, &version))
        .and_then(|v| v.comfy_nodes.as_ref())
    else {
        return error_response(StatusCode::NOT_FOUND, "Version not found");
    };
    let q = Query::parse(q);
    let w = match q.window("limit", 10) {
        Ok(w) => w,
        Err(refused) => return refused.into_response(),
    };
    let page_nodes = nodes.iter().skip(w.offset).take(w.take).cloned().collect();
    json(&ComfyNodePage {
        comfy_nodes: page_nodes,
        total_number_of_pages: (nodes.len() as u64).div_ceil(w.limit),
    })
}

async fn version_comfy_node(
    State(m): Shared,
    UrlPath((id, version, name)): UrlPath<(String, String, String)>,
) -> Response {
    let found = m
        .pack(&id)
        .and_then(|p| find_version(p, &version))
        .and_then(|v| v.comfy_nodes.as_ref())
        .and_then(|ns| ns.iter().find(|c| c.comfy_node_name == name));
    match found {
        Some(c) => json(c),
        None => error_response(StatusCode::NOT_FOUND, "Comfy node not found"),
    }
}

/// The pack providing a node class: one that claims it (`preempted_comfy_node_names`), then
/// the lowest `search_ranking`, then the most downloads. Banned packs never win.
async fn reverse_lookup(State(m): Shared, UrlPath(name): UrlPath<String>) -> Response {
    let best = m
        .packs
        .iter()
        .filter(|p| p.node.status != NodeStatus::Banned)
        .filter(|p| {
            p.versions
                .iter()
                .any(|v| v.comfy_nodes.iter().flatten().any(|c| c.comfy_node_name == name))
        })
        .min_by_key(|p| {
            (
                !p.node.preempted_comfy_node_names.contains(&name),
                p.node.search_ranking.unwrap_or(i64::MAX),
                std::cmp::Reverse(p.node.downloads),
            )
        });
    match best {
        Some(p) => json(&m.render_node(p)),
        None => error_response(StatusCode::NOT_FOUND, "No node pack provides this comfy node"),
    }
}

async fn all_comfy_nodes(State(m): Shared, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q);
    let w = match q.window("pageSize", 100) {
        Ok(w) => w,
        Err(refused) => return refused.into_response(),
    };
    let node_id = q.get("node_id");
    let node_version = q.get("node_version");
    let name = q.get("comfy_node_name");
    let all: Vec<&ComfyNode> = m
        .packs
        .iter()
        .filter(|p| node_id.is_none_or(|id| p.node.id == id))
        .flat_map(|p| p.versions.iter())
        .filter(|v| node_version.is_none_or(|nv| v.v.version == nv))
        .flat_map(|v| v.comfy_nodes.iter().flatten())
        .filter(|c| name.is_none_or(|n| c.comfy_node_name == n))
        .collect();
    json(&ComfyNodeList {
        total: all.len() as u64,
        page_size: w.limit,
        comfy_nodes: all.into_iter().skip(w.offset).take(w.take).cloned().collect(),
    })
}

async fn bulk_versions(State(m): Shared, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<BulkRequest>(&body) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "body must be {\"node_versions\": [{\"node_id\", \"version\"}]}",
        );
    };
    if req.node_versions.len() > 1000 {
        return error_response(StatusCode::BAD_REQUEST, "at most 1000 node versions per request");
    }
    let results = req
        .node_versions
        .into_iter()
        .map(|ident| {
            let found = m
                .pack(&ident.node_id)
                .and_then(|p| find_version(p, &ident.version).map(|v| m.render_version(p, v)));
            BulkResult {
                status: if found.is_some() { "success" } else { "not_found" }.to_string(),
                error_message: found.is_none().then(|| "node version not found".to_string()),
                node_version: found,
                identifier: ident,
            }
        })
        .collect();
    json(&BulkResponse { node_versions: results })
}

/// Archive bytes, streamed, with single `Range: bytes=N-[M]` support so clients can resume.
async fn file(
    State(m): Shared,
    UrlPath((id, version, name)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let found = m
        .pack(&id)
        .and_then(|p| p.versions.iter().find(|v| v.v.version == version))
        .filter(|v| v.file_name.as_deref() == Some(name.as_str()))
        .and_then(|v| v.archive.clone());
    let Some(rel) = found else {
        return error_response(StatusCode::NOT_FOUND, "File not found");
    };
    let opened = match open_below(&m.root, &rel) {
        Ok(f) => f,
        Err(OpenRefused::NotFound) => return error_response(StatusCode::NOT_FOUND, "File not found"),
        Err(OpenRefused::Escapes) => {
            return error_response(
                StatusCode::FORBIDDEN,
                "the archive is no longer a file inside the snapshot",
            );
        }
    };
    let (file, len) = opened;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, len));
    let (status, start, count, content_range) = match range {
        None => (StatusCode::OK, 0, len, None),
        Some(Err(())) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
        Some(Ok((start, end))) => (
            StatusCode::PARTIAL_CONTENT,
            start,
            end - start + 1,
            Some(format!("bytes {start}-{end}/{len}")),
        ),
    };
    let body = match stream_file(file, start, count).await {
        Ok(b) => b,
        Err(_) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, "the archive could not be read"),
    };
    let mut builder = Response::builder()
        .status(status)
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )
        .header(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"))
        .header(header::CONTENT_LENGTH, count);
    if let Some(cr) = content_range {
        builder = builder.header(header::CONTENT_RANGE, cr);
    }
    builder
        .body(body)
        .unwrap_or_else(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "response could not be built"))
}

/// `count` bytes of `file` from `start`, as a body read in chunks while it is sent.
async fn stream_file(file: std::fs::File, start: u64, count: u64) -> std::io::Result<axum::body::Body> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::from_std(file);
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let reader = tokio_util::io::ReaderStream::with_capacity(file.take(count), 64 * 1024);
    Ok(axum::body::Body::from_stream(reader))
}

enum OpenRefused {
    NotFound,
    /// A component is a symlink or not what it should be (a folder, then a regular file).
    Escapes,
}

/// Opens `root/rel` walking one component at a time with `O_NOFOLLOW`, so no symlink anywhere
/// below `root` is followed, whatever was swapped in after the snapshot was loaded. Returns the
/// file and its length; only a regular file is accepted.
fn open_below(root: &Path, rel: &Path) -> std::result::Result<(std::fs::File, u64), OpenRefused> {
    use rustix::fs::{Mode, OFlags, openat};
    use std::path::Component;
    let refused = |e: rustix::io::Errno| {
        if e == rustix::io::Errno::NOENT {
            OpenRefused::NotFound
        } else {
            OpenRefused::Escapes
        }
    };
    let names: Vec<&std::ffi::OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::CurDir => None,
            _ => Some(Err(OpenRefused::Escapes)),
        })
        .collect::<std::result::Result<_, _>>()?;
    let Some((last, dirs)) = names.split_last() else {
        return Err(OpenRefused::Escapes);
    };
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = openat(rustix::fs::CWD, root, dir_flags, Mode::empty()).map_err(refused)?;
    for name in dirs {
        dir = openat(&dir, *name, dir_flags, Mode::empty()).map_err(refused)?;
    }
    let fd = openat(
        &dir,
        *last,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(refused)?;
    let file = std::fs::File::from(fd);
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok((file, meta.len())),
        _ => Err(OpenRefused::Escapes),
    }
}

/// `bytes=N-` or `bytes=N-M` → inclusive (start, end); `Err` when unsatisfiable; `None` for
/// forms this mirror does not do (multiple ranges, suffixes), which get the whole file.
fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end: u64 = if b.trim().is_empty() {
        len.saturating_sub(1)
    } else {
        b.trim().parse::<u64>().ok()?.min(len.saturating_sub(1))
    };
    if start >= len || start > end {
        return Some(Err(()));
    }
    Some(Ok((start, end)))
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "Not found")
}

pub fn router(mirror: Arc<Mirror>) -> Router {
    Router::new()
        .route("/nodes", get(list_nodes))
        .route("/nodes/search", get(search_nodes))
        .route("/nodes/{id}", get(get_node))
        .route("/nodes/{id}/install", get(install))
        .route("/nodes/{id}/versions", get(list_versions))
        .route("/nodes/{id}/versions/{version}", get(get_version))
        .route("/nodes/{id}/versions/{version}/comfy-nodes", get(version_comfy_nodes))
        .route(
            "/nodes/{id}/versions/{version}/comfy-nodes/{name}",
            get(version_comfy_node),
        )
        .route("/comfy-nodes", get(all_comfy_nodes))
        .route("/comfy-nodes/{name}/node", get(reverse_lookup))
        .route("/bulk/nodes/versions", post(bulk_versions))
        .route("/files/{id}/{version}/{name}", get(file))
        .fallback(not_found)
        .with_state(mirror)
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub snapshot: PathBuf,
    pub addr: SocketAddr,
    /// What `downloadUrl`s start with, when clients reach the mirror by another name than the
    /// address it listens on (a proxy, a host name). Default: `http://<listening address>`.
    pub base_url: Option<String>,
    /// A connection that neither sends nor receives for this long is closed.
    pub idle_timeout: std::time::Duration,
}

/// The default for `ServeOptions::idle_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Serves until Ctrl-C or SIGTERM. `on_ready` receives the base URL and the number of packs
/// once the socket is bound, before the first request is accepted.
pub fn serve_blocking(options: &ServeOptions, on_ready: impl FnOnce(&str, usize)) -> Result<()> {
    let runtime = crate::runtime::runtime().map_err(RegistryError::io(&options.snapshot))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|source| RegistryError::Bind {
                addr: options.addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| RegistryError::Bind {
            addr: options.addr.to_string(),
            source,
        })?;
        let base = options.base_url.clone().unwrap_or_else(|| format!("http://{local}"));
        let mirror = Arc::new(Mirror::load(&options.snapshot, &base)?);
        on_ready(base.trim_end_matches('/'), mirror.pack_count());
        let listener = super::idle::IdleListener::new(listener, options.idle_timeout);
        axum::serve(listener, router(mirror))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(RegistryError::io(&options.snapshot))
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=10-", 100), Some(Ok((10, 99))));
        assert_eq!(parse_range("bytes=10-19", 100), Some(Ok((10, 19))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-5,7-9", 100), None);
        assert_eq!(parse_range("items=1-2", 100), None);
    }
}
