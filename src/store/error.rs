use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum StoreError {
    #[error("could not download {url}: {reason}")]
    #[diagnostic(
        code(comfydock::store::download),
        help("check the network (or the mirror at that address); a partial download is kept and resumed next time")
    )]
    Download {
        url: String,
        reason: String,
        /// How many tries were made before giving up.
        attempts: u32,
        /// Bytes of the partial file kept for the next run.
        received: u64,
        partial: Option<PathBuf>,
    },

    #[error("{url} answered HTTP {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    #[diagnostic(
        code(comfydock::store::http_status),
        help("the server refused the request; check the URL, or whether the file still exists")
    )]
    Status {
        url: String,
        status: u16,
        detail: Option<String>,
    },

    #[error("{hash_type} of {url} is {actual}, expected {expected}")]
    #[diagnostic(
        code(comfydock::store::hash_mismatch),
        help(
            "the download was discarded: it is not the file that was recorded; if the publisher replaced it on purpose, re-lock to accept the new hash"
        )
    )]
    HashMismatch {
        url: String,
        /// `size`, `blake3` or `sha256`.
        hash_type: &'static str,
        expected: String,
        actual: String,
    },

    #[error("{url} sent more than {limit} bytes, {bound}; the download was stopped and discarded")]
    #[diagnostic(
        code(comfydock::store::download_too_large),
        help(
            "the server sends more than the file that was recorded (or one that never ends); check the URL, and if the publisher replaced the file on purpose, re-lock to record its new size"
        )
    )]
    DownloadTooLarge {
        url: String,
        limit: u64,
        /// What the limit is: the recorded size, or comfydock's cap.
        bound: &'static str,
    },

    #[error("{} already exists", path.display())]
    #[diagnostic(code(comfydock::store::exists), help("move it away, or download to another path"))]
    DestinationExists { path: PathBuf },

    #[error("{} is in use by another comfydock process", path.display())]
    #[diagnostic(
        code(comfydock::store::busy),
        help("another download of the same file is running; wait for it to finish, then run the command again")
    )]
    Busy { path: PathBuf },

    #[error("refusing to extract {}: entry `{entry}` {reason}", archive.display())]
    #[diagnostic(
        code(comfydock::store::unsafe_entry),
        help("the archive tries to write outside its own folder; report it to the pack's publisher")
    )]
    UnsafeEntry {
        archive: PathBuf,
        entry: String,
        reason: &'static str,
    },

    #[error("refusing to extract {}: {what} exceeds the limit of {limit} bytes", archive.display())]
    #[diagnostic(
        code(comfydock::store::too_large),
        help("raise the extraction limits only if the pack is trusted and really that large")
    )]
    TooLarge { archive: PathBuf, what: String, limit: u64 },

    #[error("{} is damaged or truncated: {reason}", archive.display())]
    #[diagnostic(
        code(comfydock::store::corrupt_archive),
        help("delete it from store/downloads/ and download it again")
    )]
    Corrupt { archive: PathBuf, reason: String },

    #[error("{} is neither a zip nor a gzip-compressed tar archive", archive.display())]
    #[diagnostic(
        code(comfydock::store::unknown_format),
        help("node packs are distributed as .zip or .tar.gz")
    )]
    UnknownFormat { archive: PathBuf },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::store::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
