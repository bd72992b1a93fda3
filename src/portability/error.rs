use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum PortabilityError {
    #[error(
        "the repository holds symbolic links or submodules ({links}); comfydock writes inside .cec and never through a link"
    )]
    #[diagnostic(
        code(comfydock::import::unsafe_repository),
        help("replace them with the files themselves in the repository, then import again; nothing was created")
    )]
    UnsafeRepository { links: String },

    #[error(
        "this environment cannot be rebuilt on another machine as it is:\n{}",
        list(problems)
    )]
    #[diagnostic(
        code(comfydock::export::refused),
        help(
            "fix each one, or pass `--allow KIND` for each kind to export anyway (recorded as a warning in bundle.json)"
        )
    )]
    ExportRefused { problems: Vec<String> },

    #[error("{} already exists", path.display())]
    #[diagnostic(
        code(comfydock::export::exists),
        help("choose another file with `-o FILE`, or move the existing one away")
    )]
    OutputExists { path: PathBuf },

    #[error("{} has a symlink or special file at `{entry}`", dir.display())]
    #[diagnostic(
        code(comfydock::portability::special_file),
        help("a .cec folder holds regular files only; replace the link with the file it points to")
    )]
    SpecialFile { dir: PathBuf, entry: String },

    #[error("bundle {}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::import::bad_bundle),
        help("the bundle is damaged or was changed after `comfydock export`; export it again on the source machine")
    )]
    BadBundle { path: PathBuf, reason: String },

    #[error("no .cec found in {source_text}{}", subdir.as_deref().map(|s| format!(" (looked in `{s}`)")).unwrap_or_default())]
    #[diagnostic(
        code(comfydock::import::no_cec),
        help(
            "give a .cec folder, a repository whose root or `.cec/` holds pyproject.toml and comfydock.lock (`--subdir DIR` for another folder), or a bundle made by `comfydock export`"
        )
    )]
    NoCec {
        source_text: String,
        subdir: Option<String>,
    },

    #[error("{source_text} does not exist")]
    #[diagnostic(
        code(comfydock::import::no_source),
        help("give a bundle file, a .cec folder, or a git URL (https://, ssh://, git@host:path, file://)")
    )]
    NoSource { source_text: String },

    #[error("{what} is missing from {}", dir.display())]
    #[diagnostic(
        code(comfydock::import::missing_file),
        help(
            "import needs the manifest and both locks; run `comfydock lock` where the environment comes from and commit them"
        )
    )]
    MissingFile { dir: PathBuf, what: &'static str },

    #[error("the lock does not match its manifest: {reason}")]
    #[diagnostic(
        code(comfydock::import::stale_lock),
        help(
            "lock it where it comes from (`comfydock lock`) and export or commit again, or import with `--update` to resolve it here"
        )
    )]
    StaleLock { reason: String },

    #[error("bundle.json and comfydock.lock disagree about model `{key}`: {reason}")]
    #[diagnostic(
        code(comfydock::import::model_mismatch),
        help("the bundle was changed after `comfydock export`; export it again on the source machine")
    )]
    ModelMismatch { key: String, reason: String },

    #[error("`--models link` needs a local file for every model; missing: {}", keys.join(", "))]
    #[diagnostic(
        code(comfydock::import::models_not_local),
        help(
            "put those files in a model folder of this workspace and run `comfydock model scan`, or import with `--models download`"
        )
    )]
    ModelsNotLocal { keys: Vec<String> },

    #[error("dev node `{id}` is linked from {path}, which is not a folder on this machine")]
    #[diagnostic(
        code(comfydock::import::dev_node_missing),
        help(
            "put the node's folder at that path first, or remove the node where the environment comes from and export again"
        )
    )]
    DevNodeMissing { id: String, path: String },

    #[error("the imported environment does not match its lock:\n{}", list(problems))]
    #[diagnostic(
        code(comfydock::import::verify_failed),
        help("nothing was kept; the sources answered with other content than the lock records")
    )]
    VerifyFailed { problems: Vec<String> },

    #[error("after import, `plan` still shows {count} change(s)")]
    #[diagnostic(
        code(comfydock::import::not_converged),
        help("nothing was kept; run the import with -v and report it")
    )]
    NotConverged { count: usize },

    #[error("the environment name could not be taken from the source (its [project] name is not `comfydock-env-NAME`)")]
    #[diagnostic(code(comfydock::import::no_name), help("pass `--name NAME`"))]
    NoName,

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::portability::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Snapshot(#[from] Box<super::manager_snapshot::SnapshotError>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Reconcile(#[from] crate::reconcile::ReconcileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::git::GitError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
}

fn list(items: &[String]) -> String {
    items.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

impl PortabilityError {
    pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> PortabilityError + '_ {
        move |source| PortabilityError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = PortabilityError> = std::result::Result<T, E>;
