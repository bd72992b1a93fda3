//! The remote store's address (`s3://bucket/prefix`) and its key layout. Every key is a content
//! hash, so an object's name says what its bytes must be:
//!
//! - `<prefix>/nodes/<tree hash>.tar.gz` and `<prefix>/nodes/<tree hash>.json`
//! - `<prefix>/models/<blake3>` and `<prefix>/models/<blake3>.json`
//! - `<prefix>/tmp/…`: uploads not yet committed (a crashed push leaves them; nothing reads them).

use super::RemoteError;
use crate::types::Blake3;
use object_store::path::Path as Key;

/// A parsed `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    pub bucket: String,
    /// Path segments below the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl RemoteUrl {
    pub fn parse(url: &str) -> Result<RemoteUrl, RemoteError> {
        let bad = |reason: &str| RemoteError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("only s3:// addresses are supported (AWS S3, MinIO, R2, GCS through its S3 API)"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad(
                "a bucket name is 3 to 63 characters: lowercase letters, digits, `-` and `.`",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        for segment in prefix.split('/').filter(|_| !prefix.is_empty()) {
            let segment_ok = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !segment_ok {
                return Err(bad(
                    "the prefix is `/`-separated names of letters, digits, `-`, `_` and `.` (no empty, `.` or `..` parts)",
                ));
            }
        }
        Ok(RemoteUrl {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl std::fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// What kind of object a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A node tree, as a tar.gz archive, named by its tree hash.
    Node,
    /// A model file, named by the blake3 of its bytes.
    Model,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Node => "nodes",
            Kind::Model => "models",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(url: &RemoteUrl) -> Self {
        Keys {
            prefix: url.prefix.clone(),
        }
    }

    fn key(&self, rest: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(rest)
        } else {
            Key::from(format!("{}/{rest}", self.prefix))
        }
    }

    /// The object holding the content.
    pub fn data(&self, kind: Kind, hash: &Blake3) -> Key {
        match kind {
            Kind::Node => self.key(&format!("nodes/{}.tar.gz", hash.hex())),
            Kind::Model => self.key(&format!("models/{}", hash.hex())),
        }
    }

    /// The JSON record, written last: an object counts as present only when it has one.
    pub fn record(&self, kind: Kind, hash: &Blake3) -> Key {
        self.key(&format!("{}/{}.json", kind.folder(), hash.hex()))
    }

    /// The record of an install script's build with the inputs hashing to `key`.
    pub fn derived(&self, key: &Blake3) -> Key {
        self.key(&format!("derived/{}.json", key.hex()))
    }

    /// The folder whose records list what the remote holds of a kind.
    pub fn folder(&self, kind: Kind) -> Key {
        self.key(kind.folder())
    }

    /// The hash a listed key is the record of, if it is one.
    pub fn parse_record(&self, kind: Kind, key: &Key) -> Option<Blake3> {
        let name = key.filename()?;
        let hex = name.strip_suffix(".json")?;
        (key.as_ref() == self.record(kind, &Blake3::from_hex(hex).ok()?).as_ref())
            .then(|| Blake3::from_hex(hex).ok())
            .flatten()
    }

    /// A fresh key for an upload not yet committed.
    pub fn temporary(&self, hash: &Blake3) -> Key {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        self.key(&format!("tmp/{}-{}-{nanos}", hash.short(), std::process::id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let u = RemoteUrl::parse("s3://fleet-store/comfy/v1/").unwrap();
        assert_eq!(u.bucket, "fleet-store");
        assert_eq!(u.prefix, "comfy/v1");
        assert_eq!(u.to_string(), "s3://fleet-store/comfy/v1");
        assert_eq!(RemoteUrl::parse("s3://bucket").unwrap().prefix, "");
        for bad in [
            "http://x/y",
            "s3://",
            "s3://UPPER",
            "s3://b/../x",
            "s3://bkt/a//b",
            "s3://bkt/a b",
        ] {
            assert!(RemoteUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_content_hashes_under_the_prefix() {
        let keys = Keys::new(&RemoteUrl::parse("s3://bkt/p").unwrap());
        let h = Blake3::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(
            keys.data(Kind::Node, &h).as_ref(),
            format!("p/nodes/{}.tar.gz", h.hex())
        );
        assert_eq!(keys.data(Kind::Model, &h).as_ref(), format!("p/models/{}", h.hex()));
        let record = keys.record(Kind::Model, &h);
        assert_eq!(keys.parse_record(Kind::Model, &record), Some(h.clone()));
        assert_eq!(keys.parse_record(Kind::Node, &record), None);
        assert_eq!(keys.parse_record(Kind::Model, &keys.data(Kind::Model, &h)), None);
    }
}
