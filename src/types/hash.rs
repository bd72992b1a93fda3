//! Content hashes and commits. The only place that knows their text forms: `blake3:<64 hex>`,
//! `sha256:<64 hex>` (bare hex accepted on input, since model hubs publish it so), and git
//! object ids (40 hex, or 64 for SHA-256 repositories). Stored lowercase.

use super::InvalidValue;
use serde::{Deserialize, Serialize};

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

macro_rules! prefixed_hash {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $what:literal, $bare_ok:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// From 64 hex digits without the prefix.
            pub fn from_hex(hex: &str) -> Result<Self, InvalidValue> {
                if is_hex(hex, 64) {
                    Ok($name(hex.to_ascii_lowercase()))
                } else {
                    Err(InvalidValue::new($what, hex, concat!("expected ", $prefix, "<64 hex digits>")))
                }
            }

            /// The 64 hex digits, lowercase.
            pub fn hex(&self) -> &str {
                &self.0
            }

            /// The first 12 hex digits, for messages and file names.
            pub fn short(&self) -> &str {
                &self.0[..12]
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                match s.get(..$prefix.len()) {
                    Some(p) if p.eq_ignore_ascii_case($prefix) => $name::from_hex(&s[$prefix.len()..]),
                    _ if $bare_ok => $name::from_hex(s),
                    _ => Err(InvalidValue::new($what, s, concat!("expected ", $prefix, "<64 hex digits>"))),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(h: $name) -> String {
                h.to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

prefixed_hash!(
    /// blake3 of a file's content or of a node tree (`store::tree_hash`).
    Blake3,
    "blake3:",
    "blake3 hash",
    false
);
prefixed_hash!(
    /// sha256 of a file (archives, model files).
    Sha256,
    "sha256:",
    "sha256 hash",
    true
);

impl Blake3 {
    pub fn of_bytes(bytes: &[u8]) -> Blake3 {
        Blake3(blake3::hash(bytes).to_hex().to_string())
    }

    /// What `hasher` has been fed so far.
    pub fn from_hasher(hasher: &blake3::Hasher) -> Blake3 {
        Blake3(hasher.finalize().to_hex().to_string())
    }
}

impl Sha256 {
    /// From a finished sha256 digest.
    pub fn from_digest(digest: [u8; 32]) -> Sha256 {
        Sha256(hex::encode(digest))
    }
}

/// A full git object id of a commit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GitCommit(String);

impl GitCommit {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 10 hex digits, as plans and lists show a commit.
    pub fn short(&self) -> &str {
        &self.0[..10]
    }
}

impl std::str::FromStr for GitCommit {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if is_hex(s, 40) || is_hex(s, 64) {
            Ok(GitCommit(s.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::new(
                "git commit",
                s,
                "expected a full commit id (40 hex digits)",
            ))
        }
    }
}

impl TryFrom<String> for GitCommit {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

impl From<GitCommit> for String {
    fn from(c: GitCommit) -> String {
        c.0
    }
}

impl std::fmt::Display for GitCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for GitCommit {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_refuse_bad_text() {
        let hex = "ab".repeat(32);
        let b: Blake3 = format!("blake3:{}", hex.to_uppercase()).parse().unwrap();
        assert_eq!(b.to_string(), format!("blake3:{hex}"));
        assert_eq!(b.short(), &hex[..12]);
        for bad in ["blake3:ab", "ab", &hex, "blake3:éééé", "sha256:00"] {
            assert!(bad.parse::<Blake3>().is_err(), "{bad}");
        }
        let s: Sha256 = hex.parse().unwrap();
        assert_eq!(s.to_string(), format!("sha256:{hex}"));
        assert_eq!(format!("sha256:{hex}").parse::<Sha256>().unwrap(), s);
    }

    #[test]
    fn commits_are_full_hex_ids() {
        let c: GitCommit = "0123456789abcdef0123456789abcdef01234567".parse().unwrap();
        assert_eq!(c.short(), "0123456789");
        for bad in ["aéééééééé", "0123", "main", "-x"] {
            assert!(bad.parse::<GitCommit>().is_err(), "{bad}");
        }
    }
}
