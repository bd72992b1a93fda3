//! Content-addressed, immutable stores shared by every environment of a workspace.

pub mod git_cache;
pub mod nodes;
pub mod tree;

pub use git_cache::GitCache;
pub use nodes::NodeStore;
pub use tree::tree_hash;
