//! The desired state on disk: `.cec/pyproject.toml` and its `[tool.comfydock]` section.
//!
//! Reading goes through serde into typed values (`ComfydockConfig`); writing goes through
//! toml_edit on the user's own document, so comments, order and formatting survive and an edit
//! touches only the table it is about.

mod error;
mod lock;
mod pyproject;
mod python;
mod spec;
mod template;

pub use error::ManifestError;
pub use lock::{
    DevLink, GitPin, LOCK_FILE, LOCK_VERSION, Lock, LockedComfyUI, LockedModel, LockedNode, LockedPython,
    LockedWorkflow, PackPin, PanelPin, RegistryPin,
};
pub use pyproject::Manifest;
pub use spec::{
    ComfydockConfig, InstallScript, ModelSource, ModelSpec, NodeSource, NodeSpec, PackSource, Requires, TestLevel,
    TrackedWorkflow, Workflows,
};
pub use template::{NewEnvironment, new_pyproject};

/// The schema version of `[tool.comfydock]` this build reads and writes.
pub const SCHEMA_VERSION: &str = "1";
