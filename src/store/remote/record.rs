//! The small JSON record beside each object: what the object is and how to check it. Read from
//! the bucket, so it is untrusted: parsed strictly, bounded in size, and checked against the key
//! it was found under.

use super::RemoteError;
use super::keys::Kind;
use crate::types::{Blake3, Sha256};
use serde::{Deserialize, Serialize};

/// Records are a few hundred bytes; anything much larger is not one of ours.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub version: u32,
    pub kind: Kind,
    /// The hash the object is named by: a tree hash (nodes) or the file's blake3 (models).
    pub hash: Blake3,
    /// Bytes of the stored object.
    pub size: u64,
    /// blake3 of the stored object's bytes (for models, the same as `hash`).
    pub object_blake3: Blake3,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// Where the content came from originally (URLs, repositories), for people reading the bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

impl Record {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Parses a record found under the key of (`kind`, `hash`).
    pub fn parse(key: &str, bytes: &[u8], kind: Kind, hash: &Blake3) -> Result<Record, RemoteError> {
        let corrupt = |reason: String| RemoteError::Corrupt {
            key: key.to_string(),
            reason,
        };
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(corrupt(format!("a record of {} bytes is too large", bytes.len())));
        }
        let record: Record = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a valid record: {e}")))?;
        if record.version != 1 {
            return Err(corrupt(format!("record version {} is not supported", record.version)));
        }
        if record.kind != kind || record.hash != *hash {
            return Err(corrupt("the record describes another object".into()));
        }
        if kind == Kind::Model && record.object_blake3 != *hash {
            return Err(corrupt("a model's object hash must be its name".into()));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_are_checked_against_their_key() {
        let h = Blake3::from_hex(&"cd".repeat(32)).unwrap();
        let record = Record {
            version: 1,
            kind: Kind::Model,
            hash: h.clone(),
            size: 3,
            object_blake3: h.clone(),
            sha256: None,
            sources: vec!["https://example.org/m".into()],
        };
        let json = record.to_json();
        assert_eq!(Record::parse("k", &json, Kind::Model, &h).unwrap(), record);
        let other = Blake3::from_hex(&"ef".repeat(32)).unwrap();
        assert!(Record::parse("k", &json, Kind::Model, &other).is_err());
        assert!(Record::parse("k", &json, Kind::Node, &h).is_err());
        assert!(Record::parse("k", b"{\"version\":1", Kind::Model, &h).is_err());
        assert!(Record::parse("k", &vec![b' '; MAX_RECORD_BYTES + 1], Kind::Model, &h).is_err());
    }
}
