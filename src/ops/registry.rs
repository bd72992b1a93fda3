//! The registry side of the workspace: a registry client with the workspace's answer cache, the
//! node index's age, refresh and status, and the two ways of finding a pack (`node find`: the
//! registry's search, or `--provides`: the node index alone).

use crate::progress::Reporter;
use crate::registry::mappings_update::{self, Source};
use crate::registry::node_index::{IndexInfo, NodeIndex, PackCandidate, index_path};
use crate::registry::types::{Node, NodeStatus};
use crate::registry::{ApiCache, ClientOptions, RegistryClient, RegistryError};
use crate::workspace::Workspace;
use miette::Result;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// A client for the workspace's registry, with its answer cache when `cached`. Without a
/// workspace the client still works, uncached (and `offline` then has nothing to offer).
pub fn client(
    ws: Option<&Workspace>,
    offline: bool,
    cached: bool,
    reporter: Arc<dyn Reporter + Send>,
) -> Result<RegistryClient> {
    let configured = match ws {
        Some(ws) => ws.config()?.registry_url,
        None => None,
    };
    let mut options = ClientOptions::from_env(configured.as_deref());
    options.offline = offline;
    let cache = match (ws, cached) {
        (Some(ws), true) => Some(ApiCache::open(&crate::registry::cache_path(ws.root()))?),
        _ => None,
    };
    Ok(RegistryClient::new(options, cache)?.with_reporter(reporter))
}

/// `registry snapshot --nodes a,b@1.2`: each pack id with the version asked for, if any.
pub fn pack_list(items: &[String]) -> Vec<(String, Option<String>)> {
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('@') {
            Some((id, v)) => (id.to_string(), Some(v.to_string())),
            None => (item.to_string(), None),
        })
        .collect()
}

/// Where the node index is refreshed from: `from` when given, else the workspace's configured
/// mappings, else ComfyUI-Manager's public data.
fn source(ws: &Workspace, from: Option<&str>) -> Result<Source> {
    let config = ws.config()?;
    Ok(match from {
        Some(f) => Source::Mappings(f.to_string()),
        None => Source::configured(config.mappings_url.as_deref(), config.manager_data_url.as_deref()),
    })
}

/// `registry update` (and a refresh of a stale index): fills the node index from its source.
pub fn update_index(ws: &Workspace, from: Option<&str>, reporter: &dyn Reporter) -> Result<IndexInfo> {
    let source = source(ws, from)?;
    let http = crate::store::Http::new(crate::store::HttpConfig::from_env());
    Ok(mappings_update::update_from(ws.root(), &source, &http, reporter)?)
}

/// How old the node index is, against `mappings_max_age_days`.
pub enum IndexAge {
    /// Nothing was ever loaded into it (or it cannot be read).
    Empty,
    /// Younger than the limit, or of an unreadable date.
    Fresh,
    /// Older than `max` days: updated `when` ("9 days ago").
    Stale { when: String, max: u64 },
}

pub fn index_age(ws: &Workspace) -> Result<IndexAge> {
    let config = ws.config()?;
    let path = index_path(ws.root());
    let info = path
        .is_file()
        .then(|| NodeIndex::open(&path).ok()?.info().ok().flatten())
        .flatten();
    let Some(info) = info else {
        return Ok(IndexAge::Empty);
    };
    let max = mappings_update::max_age_days(config.mappings_max_age_days);
    Ok(match mappings_update::age_days(&info, crate::clock::now_secs()) {
        Some(age) if age >= max as f64 => IndexAge::Stale {
            when: mappings_update::human_age(age),
            max,
        },
        _ => IndexAge::Fresh,
    })
}

/// `registry status --json`.
#[derive(Debug, Serialize)]
pub struct IndexStatus {
    pub index: PathBuf,
    pub data: Option<IndexInfo>,
    pub age_days: Option<f64>,
    pub max_age_days: u64,
    pub stale: Option<bool>,
}

pub fn index_status(ws: &Workspace) -> Result<IndexStatus> {
    let path = index_path(ws.root());
    let info = if path.is_file() {
        NodeIndex::open(&path)?.info()?
    } else {
        None
    };
    let max = mappings_update::max_age_days(ws.config()?.mappings_max_age_days);
    let age = info
        .as_ref()
        .and_then(|i| mappings_update::age_days(i, crate::clock::now_secs()));
    Ok(IndexStatus {
        index: path,
        data: info,
        age_days: age,
        max_age_days: max,
        stale: age.map(|d| d >= max as f64),
    })
}

/// `node find --provides`: the packs the node index knows to provide a node type.
#[derive(Debug, Serialize)]
pub struct ProvidersReport {
    pub node_type: String,
    pub builtin: bool,
    pub providers: Vec<PackCandidate>,
    /// Nothing was ever loaded into the node index.
    #[serde(skip)]
    pub index_empty: bool,
}

/// The node index only, no network: at most `limit` providers, best first.
pub fn providers(ws: &Workspace, node_type: &str, signature: Option<&str>, limit: u64) -> Result<ProvidersReport> {
    let index = NodeIndex::open(&index_path(ws.root()))?;
    let builtin = index.is_builtin(node_type)?;
    let providers = index
        .providers(node_type, signature)?
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok(ProvidersReport {
        node_type: node_type.to_string(),
        builtin,
        providers,
        index_empty: index.info()?.is_none(),
    })
}

/// `node find QUERY`: the registry's search, each pack with its newest version.
#[derive(Debug, Serialize)]
pub struct SearchReport {
    pub registry: String,
    pub query: String,
    /// Matches in the registry; `nodes` holds the first `limit`.
    pub total: u64,
    pub nodes: Vec<Found>,
}

#[derive(Debug, Serialize)]
pub struct Found {
    pub id: String,
    pub name: String,
    pub latest_version: Option<String>,
    pub downloads: u64,
    pub status: String,
    pub description: String,
    pub repository: String,
    #[serde(skip)]
    pub banned: bool,
}

pub fn search(client: &RegistryClient, query: &str, limit: u64) -> Result<SearchReport> {
    let page = client.search_nodes(query, 1, limit.clamp(1, 100))?;
    let nodes: Vec<Node> = page
        .nodes
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let latest = latest_versions(client, &nodes)?;
    Ok(SearchReport {
        registry: client.base_url().to_string(),
        query: query.to_string(),
        total: page.total,
        nodes: nodes
            .into_iter()
            .zip(latest)
            .map(|(node, latest_version)| Found {
                banned: node.status == NodeStatus::Banned,
                status: node.status.as_str().to_string(),
                id: node.id,
                name: node.name,
                latest_version,
                downloads: node.downloads,
                description: node.description,
                repository: node.repository,
            })
            .collect(),
    })
}

/// The newest choosable version of each pack by semver, from its version list (the
/// `latest_version` in search results compares strings). Fetched a few at a time; a banned pack
/// has none.
fn latest_versions(client: &RegistryClient, nodes: &[Node]) -> Result<Vec<Option<String>>, RegistryError> {
    crate::pool::map(nodes, 4, |node| match client.latest_version(&node.id) {
        Ok(v) => Ok(v.map(|v| v.version)),
        Err(RegistryError::BannedNode { .. }) => Ok(None),
        Err(e) => Err(e),
    })
    .into_iter()
    .collect()
}
