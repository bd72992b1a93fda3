//! Typed values for text that enters from outside (the manifest, the lock, saved plans,
//! snapshots, the command line). Each type checks its text once, in `FromStr`/`TryFrom<String>`
//! (which serde uses), so a value that exists is valid: deeper layers join ids and relative paths
//! into real paths without checking again, and cannot be steered outside their folder.

mod hash;
mod name;
mod pack;
mod relpath;
mod requirement;
mod source;

pub use hash::{Blake3, GitCommit, Sha256};
pub use name::{EnvName, ModelKey, NodeId, WorkflowName};
pub use pack::{CanonicalRepo, PackIdentity};
pub use relpath::{ModelFile, RelPath};
pub use requirement::PythonRequirement;
pub use source::{GitRef, PackVersion, PythonVersion, RepoUrl, TorchBackend};

/// Why a text is not a valid value of a type: what it was meant to be, the text, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: {rule}")]
pub struct InvalidValue {
    pub what: &'static str,
    pub value: String,
    pub rule: &'static str,
}

impl InvalidValue {
    pub(crate) fn new(what: &'static str, value: &str, rule: &'static str) -> Self {
        // Keep messages readable when the input is huge.
        let value: String = value.chars().take(80).collect();
        InvalidValue { what, value, rule }
    }
}

/// Declares a `String` newtype whose every value passed `$check`: serde reads it through
/// `TryFrom<String>` (so a bad value in a file is an error at its span) and writes it as the
/// plain string; it reads as `&str` everywhere.
macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::types::InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $check(&value).map(|()| $name(value))
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::types::InvalidValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::try_from(value.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                std::path::Path::new(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}
pub(crate) use checked_string;
