use miette::{Diagnostic, NamedSource, SourceSpan};
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ManifestError {
    #[error("could not read {}", path.display())]
    #[diagnostic(code(comfydock::manifest::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is not valid", path.display())]
    #[diagnostic(
        code(comfydock::manifest::invalid),
        help("fix the file at the marked place, then run the command again; nothing was changed")
    )]
    Invalid {
        path: PathBuf,
        message: String,
        #[source_code]
        src: Arc<NamedSource<String>>,
        #[label("{message}")]
        span: Option<SourceSpan>,
    },

    #[error("{} has no [tool.comfydock] section", path.display())]
    #[diagnostic(
        code(comfydock::manifest::missing_section),
        help("this file is not a comfydock environment manifest; `comfydock create` writes one")
    )]
    MissingSection { path: PathBuf },

    #[error("[tool.comfydock] version {found} is not supported by this comfydock (it reads version {supported})")]
    #[diagnostic(code(comfydock::manifest::version), help("upgrade comfydock"))]
    UnsupportedVersion { found: String, supported: &'static str },
}

impl ManifestError {
    pub(crate) fn invalid(
        path: &std::path::Path,
        source: &str,
        message: String,
        span: Option<std::ops::Range<usize>>,
    ) -> Self {
        ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
            src: Arc::new(NamedSource::new(path.display().to_string(), source.to_string())),
            span: span.map(|r| SourceSpan::from(r.start..r.end.max(r.start + 1).min(source.len().max(r.start + 1)))),
        }
    }
}
