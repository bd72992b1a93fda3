use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum WorkspaceError {
    #[error("{} is a file, not a workspace folder", path.display())]
    #[diagnostic(
        code(comfydock::workspace::not_a_directory),
        help("choose another path with --workspace or COMFYDOCK_HOME, or move the file away")
    )]
    NotADirectory { path: PathBuf },

    #[error("no comfydock workspace at {}", path.display())]
    #[diagnostic(
        code(comfydock::workspace::missing),
        help("create one with `comfydock init` (or `comfydock --workspace DIR init`)")
    )]
    NotAWorkspace { path: PathBuf },

    #[error("`{name}` is not a valid environment name: {reason}")]
    #[diagnostic(
        code(comfydock::workspace::invalid_name),
        help("use letters, digits, `-`, `_` and `.`, not starting with `-` or `.`")
    )]
    InvalidName { name: String, reason: &'static str },

    #[error("no environment named `{name}`")]
    #[diagnostic(
        code(comfydock::workspace::unknown_environment),
        help("existing environments: {known}; `comfydock list` shows them")
    )]
    UnknownEnvironment { name: String, known: String },

    #[error("environment `{name}` already exists")]
    #[diagnostic(
        code(comfydock::workspace::exists),
        help("pick another name, or remove it with `comfydock delete {name}`")
    )]
    AlreadyExists { name: String },

    #[error("no environment selected")]
    #[diagnostic(
        code(comfydock::workspace::no_active),
        help("pass `-e NAME`, or make one active with `comfydock use NAME`")
    )]
    NoActiveEnvironment,

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::workspace::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::git::GitError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Uv(#[from] crate::python::UvError),

    #[error("ComfyUI's requirements.txt has lines comfydock cannot lock")]
    #[diagnostic(code(comfydock::workspace::requirements), help("{details}"))]
    Requirements { details: String },
}
