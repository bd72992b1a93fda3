//! The Python side: requirement files, the uv driver, torch backends, uv.lock reading and the
//! diagnosis of resolution conflicts.

pub mod conflict;
pub mod detect;
pub mod installed;
pub mod markers;
pub mod requirements;
pub mod specifiers;
pub mod torch;
pub mod uv;
pub mod uvlock;

pub use conflict::{PythonConflict, diagnose};
pub use requirements::{
    NodeRequirements, Rejected, Requirements, node_requirements, parse_requirements, requirement_name,
};
pub use torch::{TORCH_FAMILY, TorchSettings, is_torch_family};
pub use uv::{Uv, UvError, VENV_COMPLETE, venv_is_whole};
pub use uvlock::{PackageChange, Variant, diff_locks};
