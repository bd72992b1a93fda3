//! Moving an environment between machines: `export` writes its `.cec` as a checked bundle,
//! `import` builds a new environment from a bundle, a `.cec` folder or a git repository, exactly
//! from the lock. See docs/portability.md.

pub mod bundle;
mod cec_files;
pub mod error;
pub mod export;
mod from_manager;
pub mod import;
pub mod manager_snapshot;

pub use error::PortabilityError;
pub use export::{Allow, ExportOptions, Exported, export};
pub use from_manager::{SnapshotImportOptions, SnapshotImported, import_manager_snapshot};
pub use import::{ImportOptions, Imported, ModelPolicy, SourceKind, import};

/// Where an import stages its source, in the workspace folder (`<this><pid>-…`): `gc` removes
/// those whose import was killed.
pub const IMPORT_SCRATCH: &str = ".comfydock-tmp-import-";
