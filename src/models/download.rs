//! Downloading a model file: the store's download engine ([`crate::store::download::fetch`])
//! with a destination in a model folder, its errors told in model terms (which token to set,
//! that the partial file is kept for the next run).

use super::{ModelError, Result};
use crate::progress::Reporter;
use crate::store::{Http, StoreError};

pub use crate::store::download::{Expected, Fetched as Downloaded, Request as DownloadRequest, Token, redact};

/// Downloads `req.url` to `req.dest` (which must not exist), resumable and verified.
pub fn download(http: &Http, req: &DownloadRequest<'_>, reporter: &dyn Reporter) -> Result<Downloaded> {
    crate::store::fetch(http, req, reporter).map_err(from_store)
}

fn from_store(e: StoreError) -> ModelError {
    match e {
        StoreError::Download {
            url,
            reason,
            received,
            partial: Some(partial),
            ..
        } => ModelError::Interrupted {
            url,
            received,
            reason,
            partial,
        },
        StoreError::Status { url, status, .. } => ModelError::HttpStatus {
            help: status_help(status).to_string(),
            url,
            status,
        },
        StoreError::HashMismatch {
            url,
            hash_type,
            expected,
            actual,
        } => ModelError::HashMismatch {
            url,
            hash_type,
            expected,
            actual,
        },
        StoreError::DestinationExists { path } => ModelError::DestinationExists { path },
        StoreError::Busy { path } => ModelError::Busy { path },
        StoreError::Io { path, source } => ModelError::Io { path, source },
        other => ModelError::Store(other),
    }
}

/// What to do about a refusal, for the sources models come from.
fn status_help(status: u16) -> &'static str {
    match status {
        401 | 403 => {
            "the source wants credentials: set HF_TOKEN (Hugging Face) or CIVITAI_API_KEY (Civitai), and accept the model's licence on its page if it is gated"
        }
        404 => "the file is not at that URL: check the repository, file name and revision",
        _ => "the server refused the download",
    }
}
