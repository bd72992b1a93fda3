//! Moving an environment between machines: `export` writes its `.cec` as a checked bundle,
//! `import` builds a new environment from a bundle, a `.cec` folder or a git repository, exactly
//! from the lock. See docs/portability.md.

pub mod bundle;
mod cec_files;
pub mod error;
pub mod export;
pub mod import;

pub use error::PortabilityError;
pub use export::{Allow, ExportOptions, Exported, export};
pub use import::{ImportOptions, Imported, ModelPolicy, SourceKind, import};
