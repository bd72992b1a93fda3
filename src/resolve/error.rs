use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ResolveError {
    #[error("nodes `{first}` and `{second}` would both be installed as custom_nodes/{folder}")]
    #[diagnostic(
        code(comfydock::resolve::shared_folder),
        help("they are the same pack declared twice (a registry id and its repository, say): remove one")
    )]
    SharedFolder {
        folder: String,
        first: String,
        second: String,
    },

    #[error("[tool.comfydock] has no comfyui_version")]
    #[diagnostic(
        code(comfydock::resolve::no_comfyui_version),
        help("set comfyui_version to a tag, branch or commit of ComfyUI")
    )]
    NoComfyUIVersion,

    #[error("tracked workflow `{name}`: cannot read {path}: {reason}")]
    #[diagnostic(
        code(comfydock::resolve::workflow_file),
        help(
            "put the file back (it is in the .cec history), or stop tracking it: `comfydock workflow untrack {}`",
            crate::shell::quote(name)
        )
    )]
    WorkflowFile { name: String, path: String, reason: String },

    #[error("node `{id}`: local path {path} does not exist")]
    #[diagnostic(
        code(comfydock::resolve::missing_path),
        help("fix `path` in [tool.comfydock.nodes.{id}], or remove the node")
    )]
    MissingPath { id: String, path: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Registry(Box<crate::registry::RegistryError>),

    #[error("the registry answered a value comfydock cannot use: {0}")]
    #[diagnostic(
        code(comfydock::resolve::invalid_answer),
        help("the registry (or the mirror behind COMFYDOCK_REGISTRY_URL) sent an unusable value; nothing was changed")
    )]
    InvalidAnswer(crate::types::InvalidValue),

    /// A failure from a layer that reports with a ready-made diagnostic.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Other(Box<dyn Diagnostic + Send + Sync>),

    #[error("the store entry for node `{id}` does not match the lock: expected {expected}, got {actual}")]
    #[diagnostic(
        code(comfydock::resolve::tree_mismatch),
        help(
            "the repository's content at that commit changed, or the store is damaged; `comfydock node update {id}` pins it again"
        )
    )]
    TreeMismatch {
        id: String,
        expected: String,
        actual: String,
    },

    #[error("`{backend}` is not a torch backend")]
    #[diagnostic(
        code(comfydock::resolve::torch_backend),
        help(
            "torch_backends in [tool.comfydock] takes PyTorch's index names: cpu, cuXYZ (cu124, cu128, ...), rocmX.Y, xpu"
        )
    )]
    InvalidTorchBackend { backend: String },

    #[error("model `{key}`: {problem}")]
    #[diagnostic(
        code(comfydock::resolve::model_spec),
        help(
            "fix [tool.comfydock.models.{key}] in .cec/pyproject.toml; `comfydock model add PATH|HASH|URL` writes a complete entry"
        )
    )]
    ModelSpec { key: String, problem: String },

    #[error("node id `{id}` is reserved")]
    #[diagnostic(
        code(comfydock::resolve::reserved_id),
        help("the dependency group `{id}` holds the requirements of `comfydock py add`; give the node another id")
    )]
    ReservedId { id: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Conflict(Box<crate::python::PythonConflict>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::git::GitError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Uv(#[from] crate::python::UvError),

    #[error("file operation failed during resolution")]
    #[diagnostic(code(comfydock::resolve::io))]
    Io(#[from] std::io::Error),
}

impl ResolveError {
    pub(crate) fn invalid_answer(e: crate::types::InvalidValue) -> Self {
        ResolveError::InvalidAnswer(e)
    }

    pub fn registry(e: crate::registry::RegistryError) -> Self {
        ResolveError::Registry(Box::new(e))
    }
}

impl From<crate::python::PythonConflict> for ResolveError {
    fn from(c: crate::python::PythonConflict) -> Self {
        ResolveError::Conflict(Box::new(c))
    }
}
