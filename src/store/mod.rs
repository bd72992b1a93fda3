//! The content-addressed store's input side: resumable downloads into `store/downloads/`,
//! safe extraction of node-pack archives into a staging folder, the blake3 tree hash that
//! names `store/nodes/<hash>/`, and a pack's Python requirements.

pub mod archive;
pub mod download;
mod error;
mod requirements;
mod treehash;

pub use archive::{ArchiveFormat, Extracted, Limits, extract, pack_root};
pub use download::{Downloaded, Http, HttpConfig, download};
pub use error::StoreError;
pub use requirements::{PackRequirements, RequirementsSource, read_pack_requirements};
pub use treehash::tree_hash;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
