use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum RemoteError {
    #[error("`{url}` is not a usable remote store: {reason}")]
    #[diagnostic(
        code(comfydock::store::remote_url),
        help(
            "set `[store] remote = \"s3://BUCKET/PREFIX\"` in workspace.toml (or COMFYDOCK_STORE_REMOTE); endpoint and credentials come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION"
        )
    )]
    BadUrl { url: String, reason: String },

    #[error("no remote store is configured")]
    #[diagnostic(
        code(comfydock::store::no_remote),
        help("add `[store] remote = \"s3://BUCKET/PREFIX\"` to workspace.toml, or set COMFYDOCK_STORE_REMOTE")
    )]
    NotConfigured,

    #[error("cannot set up the client for {url}: {reason}")]
    #[diagnostic(
        code(comfydock::store::remote_client),
        help("check AWS_ENDPOINT_URL, AWS_REGION and AWS_ALLOW_HTTP (an http:// endpoint needs AWS_ALLOW_HTTP=true)")
    )]
    Client { url: String, reason: String },

    #[error("the remote store answered `{op} {key}` with an error: {reason}")]
    #[diagnostic(
        code(comfydock::store::remote_request),
        help(
            "check that the endpoint is reachable and the credentials may read and write the bucket; run the command again to resume"
        )
    )]
    Request {
        op: &'static str,
        key: String,
        reason: String,
    },

    #[error("{key} in the remote store is not what its name says: {reason}")]
    #[diagnostic(
        code(comfydock::store::remote_corrupt),
        help("the object was not used; delete it from the bucket and push it again from a machine that has it")
    )]
    Corrupt { key: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(Box<crate::manifest::ManifestError>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(Box<crate::models::ModelError>),

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::store::remote_io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RemoteError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RemoteError {
        let path = path.into();
        move |source| RemoteError::Io { path, source }
    }

    pub(crate) fn request(
        op: &'static str,
        key: &object_store::path::Path,
    ) -> impl FnOnce(object_store::Error) -> RemoteError {
        let key = key.to_string();
        move |e| RemoteError::Request {
            op,
            key,
            reason: one_line(&e),
        }
    }
}

/// An object_store error with its causes, on one line.
fn one_line(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
