//! Finding models: by part of a file name, or by a hash or hash prefix (8+ hex digits),
//! optionally typed (`blake3:7c49a1f0`, `sha256:…`).

use super::index::{Model, ModelIndex};
use super::{ModelError, Result};
use std::path::Path;

/// Hash types the index records.
pub const HASH_TYPES: &[&str] = &["blake3", "sha256"];

/// Shortest hash prefix accepted: shorter ones match too much to be useful.
pub const MIN_PREFIX: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A hash prefix (lowercase hex); `hash_type` `None` means any type. A bare hex query
    /// also matches file names (`name`).
    Hash {
        hash_type: Option<&'static str>,
        prefix: String,
        name: Option<String>,
    },
    /// Part of a file name, ignoring ASCII case.
    Name(String),
}

pub fn parse(query: &str) -> Result<Query> {
    let q = query.trim();
    let bad = |reason: &str| ModelError::BadQuery {
        query: query.to_string(),
        reason: reason.to_string(),
    };
    if q.is_empty() {
        return Err(bad("it is empty"));
    }
    if let Some((kind, value)) = q.split_once(':')
        && let Some(t) = HASH_TYPES.iter().find(|t| t.eq_ignore_ascii_case(kind))
    {
        if !value.chars().all(|c| c.is_ascii_hexdigit()) || value.is_empty() {
            return Err(bad("a hash is hex digits (0-9, a-f)"));
        }
        if value.len() < MIN_PREFIX {
            return Err(bad(&format!("a hash prefix needs at least {MIN_PREFIX} hex digits")));
        }
        return Ok(Query::Hash {
            hash_type: Some(t),
            prefix: value.to_ascii_lowercase(),
            name: None,
        });
    }
    if q.len() >= MIN_PREFIX && q.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(Query::Hash {
            hash_type: None,
            prefix: q.to_ascii_lowercase(),
            name: Some(q.to_string()),
        });
    }
    Ok(Query::Name(q.to_string()))
}

/// Every model matching `query`: hash matches first, then name matches.
pub fn find(index: &ModelIndex, query: &str) -> Result<Vec<Model>> {
    match parse(query)? {
        Query::Name(n) => index.by_name(&n),
        Query::Hash {
            hash_type,
            prefix,
            name,
        } => {
            let mut found = index.by_hash_prefix(hash_type, &prefix)?;
            if let Some(n) = name {
                for m in index.by_name(&n)? {
                    if !found.iter().any(|f| f.id == m.id) {
                        found.push(m);
                    }
                }
            }
            Ok(found)
        }
    }
}

/// The one model meant by `arg`: a file path (of an indexed file), a hash (prefix) or a name.
pub fn resolve_one(index: &ModelIndex, arg: &str) -> Result<Model> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        let canonical = std::fs::canonicalize(as_path).map_err(ModelError::io(as_path))?;
        let key = canonical.to_string_lossy();
        // An indexed path may be a symlink the walk followed: try it as given too.
        let absolute = std::path::absolute(as_path).map_err(ModelError::io(as_path))?;
        for candidate in [key.as_ref(), &absolute.to_string_lossy()] {
            if let Some(m) = index.by_path(candidate)? {
                return Ok(m);
            }
        }
        return Err(ModelError::NotFound { query: arg.to_string() });
    }
    let found = find(index, arg)?;
    match found.len() {
        0 => Err(ModelError::NotFound { query: arg.to_string() }),
        1 => Ok(found.into_iter().next().expect("one")),
        n => Err(ModelError::Ambiguous {
            query: arg.to_string(),
            count: n,
            candidates: found
                .iter()
                .take(10)
                .map(|m| {
                    format!(
                        "  blake3:{}  {}",
                        m.hashes.get("blake3").map(|h| &h[..16.min(h.len())]).unwrap_or("?"),
                        m.local_path.as_deref().unwrap_or(&m.name)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(
            parse("BLAKE3:7C49A1F0aa").unwrap(),
            Query::Hash {
                hash_type: Some("blake3"),
                prefix: "7c49a1f0aa".into(),
                name: None
            }
        );
        assert!(matches!(
            parse("deadbeef").unwrap(),
            Query::Hash { hash_type: None, .. }
        ));
        assert_eq!(parse("sd15").unwrap(), Query::Name("sd15".into()));
        assert_eq!(parse("deadbee").unwrap(), Query::Name("deadbee".into()));
        assert!(parse("sha256:abc").is_err());
        assert!(parse("sha256:xyz12345").is_err());
        assert!(parse("  ").is_err());
        assert_eq!(parse("v1:final").unwrap(), Query::Name("v1:final".into()));
    }
}
