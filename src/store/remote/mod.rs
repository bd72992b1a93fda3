//! The workspace's shared store in S3-compatible object storage (`[store] remote` in
//! workspace.toml). A fleet of machines pushes node trees and model files there once and every
//! other machine reads them instead of the original sources.
//!
//! object_store is async; this module runs it on the process's runtime (`crate::runtime`) and offers blocking calls, so
//! the rest of comfydock stays synchronous. Everything read from the bucket is verified against
//! the hash in its key before use (`fetch`); writes commit by a conditional copy from a
//! temporary key and write the record last (`push`), so readers never see a torn object.

mod derived;
mod error;
mod fetch;
pub mod inventory;
pub mod keys;
mod push;
pub mod record;

pub use error::RemoteError;
pub use fetch::Lookup;
pub use keys::{Kind, RemoteUrl};
pub use push::{PushItem, PushReport};

use keys::Keys;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub type Result<T, E = RemoteError> = std::result::Result<T, E>;

/// The variable that overrides `[store] remote` (an empty value turns the remote off).
pub const ENV_REMOTE: &str = "COMFYDOCK_STORE_REMOTE";

/// How many objects move at once, and how many parts of one large file.
const CONCURRENCY: usize = 4;

pub struct Remote {
    url: RemoteUrl,
    store: Arc<dyn ObjectStore>,
    keys: Keys,
    runtime: &'static tokio::runtime::Runtime,
}

impl Remote {
    /// The configured remote: COMFYDOCK_STORE_REMOTE, else `[store] remote`; None when neither.
    pub fn configured(from_config: Option<&str>) -> Result<Option<Remote>> {
        let url = match std::env::var(ENV_REMOTE) {
            Ok(v) => Some(v),
            Err(_) => from_config.map(str::to_string),
        };
        match url.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(url) => Remote::open(&RemoteUrl::parse(url)?).map(Some),
        }
    }

    /// A client for `url`; endpoint, region and credentials from the usual AWS variables.
    pub fn open(url: &RemoteUrl) -> Result<Remote> {
        let client_error = |reason: String| RemoteError::Client {
            url: url.to_string(),
            reason,
        };
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            builder = builder.with_region("us-east-1");
        }
        // Plain S3 commits a copy only-if-absent through a multipart upload completed with
        // If-None-Match; AWS_COPY_IF_NOT_EXISTS picks another way (e.g. R2's header).
        if std::env::var_os("AWS_COPY_IF_NOT_EXISTS").is_none() {
            builder = builder.with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
        }
        // Fail in seconds, not minutes, when the endpoint is down: apply falls back to the
        // original sources and push can be run again.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            backoff: object_store::BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
        };
        let allow_http = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let options = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(Duration::from_secs(10));
        let store = builder
            .with_retry(retry)
            .with_client_options(options)
            .build()
            .map_err(|e| client_error(e.to_string()))?;
        let runtime = crate::runtime::runtime().map_err(|e| client_error(e.to_string()))?;
        Ok(Remote {
            keys: Keys::new(url),
            url: url.clone(),
            store: Arc::new(store),
            runtime,
        })
    }

    pub fn url(&self) -> &RemoteUrl {
        &self.url
    }

    /// The hashes of every committed object of a kind (those with a record).
    pub fn list(&self, kind: Kind) -> Result<BTreeSet<crate::types::Blake3>> {
        use futures::TryStreamExt;
        let folder = self.keys.folder(kind);
        self.runtime.block_on(async {
            let metas: Vec<object_store::ObjectMeta> = self
                .store
                .list(Some(&folder))
                .try_collect()
                .await
                .map_err(RemoteError::request("LIST", &folder))?;
            Ok(metas
                .iter()
                .filter_map(|m| self.keys.parse_record(kind, &m.location))
                .collect())
        })
    }
}
