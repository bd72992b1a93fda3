use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum RegistryError {
    #[error("the registry could not be reached: {failure}")]
    #[diagnostic(
        code(comfydock::registry::unreachable),
        help(
            "check the network or the registry address (COMFYDOCK_REGISTRY_URL, `registry_url` in workspace.toml); --offline uses cached answers only"
        )
    )]
    Unreachable {
        failure: crate::store::download::HttpFailure,
    },

    #[error("{url} answered HTTP {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    #[diagnostic(
        code(comfydock::registry::http_status),
        help("the registry refused the request; if it persists, the registry may be down or the address wrong")
    )]
    Status {
        url: String,
        status: u16,
        message: Option<String>,
    },

    #[error("--offline: no cached answer for {url}")]
    #[diagnostic(
        code(comfydock::registry::offline_miss),
        help(
            "run the command once without --offline to cache it, or point COMFYDOCK_REGISTRY_URL at a local mirror (`comfydock registry serve`)"
        )
    )]
    OfflineMiss { url: String },

    #[error("{url} returned JSON comfydock cannot read: {reason}")]
    #[diagnostic(
        code(comfydock::registry::bad_response),
        help("the registry (or the mirror at that address) may not speak the Comfy Registry API")
    )]
    BadResponse { url: String, reason: String },

    #[error("no node pack `{id}` in the registry")]
    #[diagnostic(
        code(comfydock::registry::unknown_node),
        help("search for it with `comfydock node find WORDS`")
    )]
    UnknownNode { id: String },

    #[error("node pack `{id}` is banned in the registry")]
    #[diagnostic(
        code(comfydock::registry::banned_node),
        help("a banned pack is never chosen automatically; ask for an exact version to install it anyway")
    )]
    BannedNode { id: String },

    #[error("node pack `{id}` has no version matching `{wanted}`")]
    #[diagnostic(code(comfydock::registry::no_version), help("{available}"))]
    NoVersion {
        id: String,
        wanted: String,
        available: String,
    },

    #[error("`{text}` is not a version or version requirement: {reason}")]
    #[diagnostic(
        code(comfydock::registry::bad_version_spec),
        help("use an exact version (1.2.0), a requirement (^1.2, >=1.0, <2) or `latest`")
    )]
    BadVersionSpec { text: String, reason: String },

    #[error("`{url}` is not a usable registry address: {reason}")]
    #[diagnostic(
        code(comfydock::registry::bad_url),
        help("use an http(s) URL such as https://api.comfy.org or http://127.0.0.1:8188")
    )]
    BadUrl { url: String, reason: String },

    #[error("version {version} of `{id}` has no download")]
    #[diagnostic(
        code(comfydock::registry::no_download),
        help("the registry holds no archive for it; pick another version")
    )]
    NoDownload { id: String, version: String },

    #[error("the registry cache at {} failed: {source}", path.display())]
    #[diagnostic(
        code(comfydock::registry::cache),
        help("the cache holds only copies; delete the file and it is rebuilt")
    )]
    Cache {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::registry::bad_snapshot),
        help("a snapshot folder holds registry-snapshot.json (see docs/registry.md) and the archives it names")
    )]
    BadSnapshot { path: PathBuf, reason: String },

    #[error("could not listen on {addr}: {source}")]
    #[diagnostic(
        code(comfydock::registry::bind),
        help("pick another address with --addr (port 0 picks a free port)")
    )]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::registry::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl RegistryError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RegistryError {
        let path = path.into();
        move |source| RegistryError::Io { path, source }
    }
}
