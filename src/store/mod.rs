//! Content-addressed, immutable stores shared by every environment of a workspace, and their
//! input side: HTTP and the one resumable download engine (archives and model files, through
//! `store/downloads/`), safe extraction of node-pack archives, the blake3 tree hash that names
//! `store/nodes/<hash>/`, and bare git mirrors in `store/git/`; `remote`: the same content shared through S3-compatible
//! object storage.

pub mod archive;
pub mod derived;
pub mod download;
mod error;
pub mod git_cache;
pub mod http;
pub mod nodes;
pub mod pack_nodes;
pub mod remote;
mod treehash;

pub use archive::{ArchiveFormat, Extracted, Limits, extract, pack_root};
pub use download::{
    Downloaded, Expected, Fetched, Http, HttpConfig, Request, Token, download, download_unsynced, fetch,
};
pub use error::StoreError;
pub use git_cache::GitCache;
pub use nodes::{EntryCheck, NodeStore};
pub use treehash::tree_hash;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
