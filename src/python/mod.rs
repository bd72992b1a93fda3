//! The Python side: requirement files and the uv driver.

pub mod requirements;
pub mod uv;

pub use requirements::{Rejected, Requirements, parse_requirements};
pub use uv::{Uv, UvError};
