use miette::Diagnostic;
use thiserror::Error;

/// Why a file could not be analysed. Every variant names the file (as the caller called it) and
/// says what is wrong with it; none is a panic.
#[derive(Debug, Clone, Error, Diagnostic)]
pub enum WorkflowError {
    #[error("{file}: cannot read it: {reason}")]
    #[diagnostic(code(comfydock::workflow::unreadable), help("check the path and its permissions"))]
    Unreadable { file: String, reason: String },

    #[error("{file} is empty")]
    #[diagnostic(
        code(comfydock::workflow::empty),
        help("export the workflow again from ComfyUI (Workflow > Export, or Export (API))")
    )]
    Empty { file: String },

    #[error("{file} is not valid JSON: {reason} (line {line}, column {column})")]
    #[diagnostic(code(comfydock::workflow::invalid_json), help("{help}"))]
    InvalidJson {
        file: String,
        reason: String,
        line: usize,
        column: usize,
        help: String,
    },

    #[error("{file} nests JSON deeper than {limit} levels")]
    #[diagnostic(
        code(comfydock::workflow::too_deep),
        help("no ComfyUI workflow nests this deep; the file is damaged or is not a workflow")
    )]
    TooDeep { file: String, limit: usize },

    #[error("{file} is JSON but not a ComfyUI workflow: {found}")]
    #[diagnostic(
        code(comfydock::workflow::not_a_workflow),
        help(
            "a UI workflow has a top-level `nodes` array; an API (prompt) workflow maps node ids to objects with `class_type`"
        )
    )]
    NotAWorkflow { file: String, found: String },

    #[error("{file} is a {container} file without an embedded workflow")]
    #[diagnostic(
        code(comfydock::workflow::no_embedded_workflow),
        help(
            "ComfyUI embeds the workflow when it saves the file; images re-saved by other tools, or saved with metadata disabled, lose it"
        )
    )]
    NoEmbeddedWorkflow { file: String, container: &'static str },

    #[error("{file} is a damaged {container} file: {reason}")]
    #[diagnostic(
        code(comfydock::workflow::damaged_container),
        help("the file is truncated or corrupt; fetch it again")
    )]
    DamagedContainer {
        file: String,
        container: &'static str,
        reason: String,
    },

    #[error("{file} is neither JSON nor a PNG, WebP, FLAC or MP4 file")]
    #[diagnostic(
        code(comfydock::workflow::unknown_format),
        help("give a workflow JSON (UI or API export), or an image/audio/video file saved by ComfyUI")
    )]
    UnknownFormat { file: String },
}
