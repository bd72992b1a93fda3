use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ModelError {
    #[error("model index {}: {source}", path.display())]
    #[diagnostic(
        code(comfydock::models::index),
        help("the index only caches what is on disk: if it is damaged, move it away and run `comfydock model scan`")
    )]
    Index {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("model index {} has schema version {found}; this comfydock knows up to {supported}", path.display())]
    #[diagnostic(
        code(comfydock::models::index_too_new),
        help("a newer comfydock wrote it: upgrade comfydock, or move the file away and rescan")
    )]
    IndexTooNew { path: PathBuf, found: i64, supported: i64 },

    #[error("{} is in use by another comfydock process", path.display())]
    #[diagnostic(
        code(comfydock::models::busy),
        help("wait for it (a model scan, or a download of the same file) to finish, then run the command again")
    )]
    Busy { path: PathBuf },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::models::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is not a folder", path.display())]
    #[diagnostic(code(comfydock::models::not_a_dir), help("give an existing folder"))]
    NotADirectory { path: PathBuf },

    #[error("{} is not inside a model folder of this workspace", path.display())]
    #[diagnostic(
        code(comfydock::models::outside_model_dirs),
        help("model folders: {dirs}; add this one with `comfydock model dirs add {}`", path.display())
    )]
    OutsideModelDirs { path: PathBuf, dirs: String },

    #[error("{} overlaps the model folder {}", path.display(), other.display())]
    #[diagnostic(
        code(comfydock::models::overlapping_dirs),
        help("a file would be indexed twice; add only the outer folder")
    )]
    OverlappingDirs { path: PathBuf, other: PathBuf },

    #[error("{} is not one of the workspace's added model folders", path.display())]
    #[diagnostic(code(comfydock::models::unknown_dir), help("`comfydock model dirs list` shows them"))]
    UnknownDir { path: PathBuf },

    #[error("{} is the workspace's own model folder and cannot be removed", path.display())]
    #[diagnostic(
        code(comfydock::models::builtin_dir),
        help("only folders added with `comfydock model dirs add` can be removed")
    )]
    BuiltinDir { path: PathBuf },

    #[error("`{query}` is not a usable query: {reason}")]
    #[diagnostic(
        code(comfydock::models::bad_query),
        help("give part of a file name, or 8+ hex digits of a hash, optionally typed: `blake3:7c49a1f0`, `sha256:…`")
    )]
    BadQuery { query: String, reason: String },

    #[error("no model in the index matches `{query}`")]
    #[diagnostic(
        code(comfydock::models::not_found),
        help("`comfydock model find` searches by name or hash; `comfydock model scan` indexes new files")
    )]
    NotFound { query: String },

    #[error("`{query}` matches {count} models")]
    #[diagnostic(
        code(comfydock::models::ambiguous),
        help("give more hex digits; candidates:\n{candidates}")
    )]
    Ambiguous {
        query: String,
        count: usize,
        candidates: String,
    },

    #[error("{} was not written by comfydock", path.display())]
    #[diagnostic(
        code(comfydock::models::foreign_file),
        help("pass --force to replace it; your file is kept at {}", backup.display())
    )]
    ForeignFile { path: PathBuf, backup: PathBuf },

    #[error("download of {url} failed: {reason}")]
    #[diagnostic(
        code(comfydock::models::download),
        help("check the URL and your network; for gated models set HF_TOKEN or CIVITAI_API_KEY")
    )]
    Download { url: String, reason: String },

    #[error("download of {url} stopped after {received} bytes: {reason}")]
    #[diagnostic(
        code(comfydock::models::interrupted),
        help("the partial file {} is kept; running the same download again resumes it", partial.display())
    )]
    Interrupted {
        url: String,
        received: u64,
        reason: String,
        partial: PathBuf,
    },

    #[error("{url} answered HTTP {status}")]
    #[diagnostic(code(comfydock::models::http_status), help("{help}"))]
    HttpStatus { url: String, status: u16, help: String },

    #[error("downloaded file from {url} has {hash_type} {actual}, expected {expected}")]
    #[diagnostic(
        code(comfydock::models::hash_mismatch),
        help("the file was discarded; the source serves different content than the lock expects")
    )]
    HashMismatch {
        url: String,
        hash_type: &'static str,
        expected: String,
        actual: String,
    },

    #[error("{} already exists", path.display())]
    #[diagnostic(code(comfydock::models::exists), help("move it away, or download to another path"))]
    DestinationExists { path: PathBuf },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(crate::store::StoreError),
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ModelError {
        let path = path.into();
        move |source| ModelError::Io { path, source }
    }
}
