//! The Comfy Registry: a cached client of its API (`client`), version choice (`resolve`),
//! fetching a pinned version into the store (`fetch`), snapshots (`snapshot`) and the
//! read-only mirror that serves them (`server`).

pub mod cache;
pub mod cache_build;
pub mod client;
mod error;
pub mod fetch;
mod idle;
pub mod local_packs;
pub mod mappings;
pub mod mappings_update;
pub mod node_index;
pub mod resolve;
pub mod server;
pub mod snapshot;
pub mod types;

pub use cache::ApiCache;
pub use client::{ClientOptions, DEFAULT_REGISTRY_URL, RegistryClient};
pub use error::RegistryError;
pub use fetch::{FetchedPack, fetch_and_extract};
pub use resolve::{ResolvedVersion, VersionSpec};

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Where a workspace keeps registry answers.
pub fn cache_path(workspace_root: &std::path::Path) -> std::path::PathBuf {
    workspace_root.join(".metadata").join("api_cache.db")
}

/// The registry client a workspace uses: its configured address, its answer cache, and
/// `offline` when the user said `--offline`.
pub fn workspace_client(
    ws: &crate::workspace::Workspace,
    offline: bool,
    reporter: std::sync::Arc<dyn crate::progress::Reporter + Send + Sync>,
) -> Result<RegistryClient, miette::Report> {
    let configured = ws.config()?.registry_url;
    let mut options = ClientOptions::from_env(configured.as_deref());
    options.offline = offline;
    let cache = ApiCache::open(&cache_path(ws.root()))?;
    Ok(RegistryClient::new(options, Some(cache))?.with_reporter(reporter))
}
