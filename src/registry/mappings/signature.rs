//! Node keys: a node type plus the signature of its inputs, exactly as the published
//! `node_mappings.json` spells them (REGISTRY-NOTES §2.4), so files are interchangeable.
//!
//! The canonical signature is `name:TYPE` pairs of the `required` then `optional` inputs (an
//! optional input overrides a required one of the same name), sorted by name and joined by
//! `|`; old-style option lists read as `COMBO`. The key is `Type::<first 8 hex of SHA-1>` or
//! `Type::_` when there are no inputs (also the name-only key).

use serde_json::Value;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;

/// The suffix of name-only keys (and of nodes without inputs).
pub const NAME_ONLY: &str = "_";

/// The canonical signature of an `input_types` JSON text; unreadable text gives `""`.
pub fn canonical_signature(input_types: &str) -> String {
    let Ok(Value::Object(sections)) = serde_json::from_str::<Value>(input_types) else {
        return String::new();
    };
    let mut inputs: BTreeMap<&str, &str> = BTreeMap::new();
    for section in ["required", "optional"] {
        let Some(Value::Object(entries)) = sections.get(section) else {
            continue;
        };
        for (name, spec) in entries {
            let ty = match spec {
                Value::String(s) => Some(s.as_str()),
                Value::Array(items) => match items.first() {
                    Some(Value::Array(_)) => Some("COMBO"),
                    Some(Value::String(s)) => Some(s.as_str()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(ty) = ty {
                inputs.insert(name.as_str(), ty);
            }
        }
    }
    canonical_from_pairs(inputs)
}

/// The canonical signature of (name, type) pairs, e.g. a workflow node's inputs. Pairs with an
/// empty name or type are skipped; a later pair of the same name wins.
pub fn canonical_from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, ty) in pairs {
        if !name.is_empty() && !ty.is_empty() {
            sorted.insert(name, ty);
        }
    }
    sorted
        .into_iter()
        .map(|(n, t)| format!("{n}:{t}"))
        .collect::<Vec<_>>()
        .join("|")
}

/// The 8-hex hash of a canonical signature, or `_` for an empty one. A value that already is
/// 8 lowercase hex digits is returned as is.
pub fn signature_hash(canonical: &str) -> String {
    if canonical.is_empty() {
        return NAME_ONLY.to_string();
    }
    if is_hash(canonical) {
        return canonical.to_string();
    }
    let digest = Sha1::digest(canonical.as_bytes());
    hex::encode(digest).chars().take(8).collect()
}

fn is_hash(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `Type::hash` for a canonical signature (or an 8-hex hash).
pub fn node_key(node_type: &str, canonical: &str) -> String {
    format!("{node_type}::{}", signature_hash(canonical))
}

/// `Type::_`.
pub fn name_only_key(node_type: &str) -> String {
    format!("{node_type}::{NAME_ONLY}")
}

/// Splits a key into node type and signature hash at its last `::`.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    key.rsplit_once("::").filter(|(t, s)| !t.is_empty() && !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from shared/reference/README.md (independently recomputed there).
    #[test]
    fn published_test_vectors() {
        assert_eq!(
            node_key("AK_ScaleMask", "mask:MASK|scale:FLOAT"),
            "AK_ScaleMask::1f54e5ac"
        );
        assert_eq!(node_key("ShowText", "text:STRING"), "ShowText::692ec41a");
        assert_eq!(
            node_key("SAMLoader", "device_mode:COMBO|model_name:COMBO"),
            "SAMLoader::7e7ef7bf"
        );
        assert_eq!(node_key("ExampleNoInputs", ""), "ExampleNoInputs::_");
        assert_eq!(node_key("X", "7e7ef7bf"), "X::7e7ef7bf");
    }

    #[test]
    fn inputs_normalise_like_the_published_pipeline() {
        let t = r#"{"required":{"model_name":[["a.pth","b.pth"]],"device_mode":["COMBO",{"options":["AUTO"]}],"bad":[],"num":[1]},
                    "optional":{"model_name":"STRING"},"hidden":{"id":"UNIQUE_ID"}}"#;
        assert_eq!(canonical_signature(t), "device_mode:COMBO|model_name:STRING");
        assert_eq!(canonical_signature("not json"), "");
        assert_eq!(canonical_signature(""), "");
        assert_eq!(split_key("a::b::_"), Some(("a::b", "_")));
        assert_eq!(split_key("nokey"), None);
    }
}
