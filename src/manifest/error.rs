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

    #[error("{} is not valid{}", .path.display(), unlabelled(.message, .span))]
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
        let message = match did_you_mean(&message) {
            Some(hint) => format!("{message}; did you mean `{hint}`?"),
            None => message,
        };
        ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
            src: Arc::new(NamedSource::new(path.display().to_string(), source.to_string())),
            span: span.map(|r| SourceSpan::from(r.start..r.end.max(r.start + 1).min(source.len().max(r.start + 1)))),
        }
    }
}

/// The message, for the error line, when there is no place in the file to label with it.
fn unlabelled(message: &str, span: &Option<SourceSpan>) -> String {
    match span {
        Some(_) => String::new(),
        None => format!(": {message}"),
    }
}

/// For serde's "unknown field `revv`, expected one of `rev`, ..." (and "unknown variant"), the
/// expected name closest to the unknown one, when it is close enough to be a typo.
fn did_you_mean(message: &str) -> Option<String> {
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let mut quoted = message.split('`').skip(1).step_by(2);
    let unknown = quoted.next()?;
    quoted
        .map(|candidate| (edit_distance(unknown, candidate), candidate))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min()
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn typos_get_a_suggestion() {
        let m = "unknown field `revv`, expected one of `name`, `source`, `rev`, `path`";
        assert_eq!(super::did_you_mean(m).as_deref(), Some("rev"));
        let m = "unknown field `zzzzzz`, expected one of `name`, `source`";
        assert_eq!(super::did_you_mean(m), None);
        assert_eq!(super::did_you_mean("invalid type"), None);
    }

    /// Without a place to point at, the message is in the error line itself (it used to be
    /// dropped, leaving only "… is not valid").
    #[test]
    fn the_message_is_kept_when_there_is_no_span() {
        let path = std::path::Path::new("pyproject.toml");
        let e = super::ManifestError::invalid(path, "x = 1\n", "`nodes` must be a table".into(), None);
        assert_eq!(e.to_string(), "pyproject.toml is not valid: `nodes` must be a table");
        let e = super::ManifestError::invalid(path, "x = 1\n", "`nodes` must be a table".into(), Some(0..1));
        assert_eq!(e.to_string(), "pyproject.toml is not valid");
    }
}
