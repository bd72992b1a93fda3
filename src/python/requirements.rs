//! Reading `requirements.txt` files into PEP 508 requirement strings that uv accepts in
//! `[project].dependencies` or `[dependency-groups]`. Lines uv cannot take there are returned
//! as `Rejected` with their line number, never dropped silently.

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Requirements {
    /// Requirement strings in file order, trimmed, comments removed.
    pub accepted: Vec<String>,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: usize,
    pub text: String,
    pub reason: &'static str,
}

pub fn parse_requirements(text: &str) -> Requirements {
    let mut out = Requirements::default();
    let mut logical = String::new();
    let mut start_line = 0;
    for (idx, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            start_line = idx + 1;
        }
        // A trailing backslash continues the requirement on the next line.
        if let Some(stripped) = raw.strip_suffix('\\') {
            logical.push_str(stripped);
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        classify(&line, start_line, &mut out);
    }
    if !logical.is_empty() {
        classify(&logical, start_line, &mut out);
    }
    out
}

fn classify(line: &str, number: usize, out: &mut Requirements) {
    let text = strip_comment(line).trim();
    if text.is_empty() {
        return;
    }
    let reject = |reason| Rejected {
        line: number,
        text: text.to_string(),
        reason,
    };
    let rejected = if text.starts_with("-e") || text.starts_with("--editable") {
        Some(reject(
            "editable installs cannot be locked; publish the package or add it as a local node",
        ))
    } else if text.starts_with("-r")
        || text.starts_with("--requirement")
        || text.starts_with("-c")
        || text.starts_with("--constraint")
    {
        Some(reject(
            "included requirement files are not followed; list the requirements directly",
        ))
    } else if text.starts_with('-') {
        Some(reject(
            "pip options do not belong in a requirement; configure indexes in [tool.uv]",
        ))
    } else if looks_like_bare_url(text) {
        Some(reject("a URL without a package name; write it as `name @ URL`"))
    } else if !starts_with_name(text) || text.parse::<pep508_rs::Requirement>().is_err() {
        Some(reject("not a PEP 508 requirement"))
    } else {
        None
    };
    match rejected {
        Some(r) => out.rejected.push(r),
        None => out.accepted.push(text.to_string()),
    }
}

/// A `#` starts a comment at the start of a line or after whitespace (a URL fragment like
/// `#egg=` has no space before it).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// The normalised distribution name of a requirement (PEP 503: lowercase, runs of `-_.` as
/// one `-`), or None when it does not start with a name.
pub fn requirement_name(requirement: &str) -> Option<String> {
    let text = requirement.trim();
    if !starts_with_name(text) {
        return None;
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    let raw = &text[..end];
    if raw.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut sep = false;
    for c in raw.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    Some(out)
}

/// A node pack's Python requirements and the file they came from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NodeRequirements {
    /// `requirements.txt` or `pyproject.toml`; None when the pack declares nothing.
    pub file: Option<&'static str>,
    pub requirements: Requirements,
}

/// Reads a node pack's requirements from its folder: `requirements.txt`, else the
/// `[project].dependencies` of its own `pyproject.toml`.
pub fn node_requirements(dir: &std::path::Path) -> std::io::Result<NodeRequirements> {
    match fs_err::read(dir.join("requirements.txt")) {
        Ok(bytes) => {
            return Ok(NodeRequirements {
                file: Some("requirements.txt"),
                requirements: parse_requirements(&String::from_utf8_lossy(&bytes)),
            });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let text = match fs_err::read_to_string(dir.join("pyproject.toml")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(NodeRequirements::default()),
        Err(e) => return Err(e),
    };
    let Ok(value) = toml::from_str::<toml::Value>(&text) else {
        return Ok(NodeRequirements {
            file: Some("pyproject.toml"),
            requirements: Requirements {
                accepted: Vec::new(),
                rejected: vec![Rejected {
                    line: 1,
                    text: "pyproject.toml".into(),
                    reason: "the pack's pyproject.toml is not valid TOML; its dependencies were not read",
                }],
            },
        });
    };
    let deps: Vec<String> = value
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Ok(NodeRequirements {
        file: Some("pyproject.toml"),
        requirements: parse_requirements(&deps.join("\n")),
    })
}

fn looks_like_bare_url(text: &str) -> bool {
    ["http://", "https://", "git+", "file:", "./", "../", "/"]
        .iter()
        .any(|p| text.starts_with(p))
}

fn starts_with_name(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_requirements_and_reports_what_uv_cannot_take() {
        let text = "# ComfyUI\ntorch\nnumpy>=1.25.0  # pinned low\n\n-e git+https://x/y#egg=y\n-r other.txt\nhttps://x/y.whl\nPillow ; python_version >= '3.8'\n--extra-index-url https://x\nfoo @ https://x/foo.whl#sha256=ab\n";
        let r = parse_requirements(text);
        assert_eq!(
            r.accepted,
            vec![
                "torch",
                "numpy>=1.25.0",
                "Pillow ; python_version >= '3.8'",
                "foo @ https://x/foo.whl#sha256=ab"
            ]
        );
        let lines: Vec<usize> = r.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![5, 6, 7, 9]);
    }

    #[test]
    fn text_that_only_starts_like_a_name_is_refused_here_not_by_uv_later() {
        let r = parse_requirements("not a requirement!\nnumpy >=\nrich[jupyter]>=13,<14 ; sys_platform != 'win32'\n");
        assert_eq!(r.accepted, vec!["rich[jupyter]>=13,<14 ; sys_platform != 'win32'"]);
        let lines: Vec<usize> = r.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2]);
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(requirement_name("Pillow>=10").as_deref(), Some("pillow"));
        assert_eq!(
            requirement_name("opencv_python.headless ; x").as_deref(),
            Some("opencv-python-headless")
        );
        assert_eq!(requirement_name("torch[cuda]==2").as_deref(), Some("torch"));
        assert_eq!(requirement_name("-e x"), None);
    }

    #[test]
    fn reads_a_pack_pyproject_when_there_is_no_requirements_file() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"p\"\ndependencies = [\"numpy>=1\", \"rich\"]\n",
        )
        .unwrap();
        let r = node_requirements(dir.path()).unwrap();
        assert_eq!(r.file, Some("pyproject.toml"));
        assert_eq!(r.requirements.accepted, vec!["numpy>=1", "rich"]);
        fs_err::write(dir.path().join("requirements.txt"), "pillow\n").unwrap();
        assert_eq!(
            node_requirements(dir.path()).unwrap().requirements.accepted,
            vec!["pillow"]
        );
    }

    #[test]
    fn a_requirements_file_wins_and_its_rejected_lines_keep_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("requirements.txt"), "numpy\n# c\n-e ./x\n").unwrap();
        fs_err::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname='p'\ndependencies=['torch']\n",
        )
        .unwrap();
        let r = node_requirements(dir.path()).unwrap();
        assert_eq!(r.file, Some("requirements.txt"));
        assert_eq!(r.requirements.accepted, vec!["numpy"]);
        assert_eq!(r.requirements.rejected[0].line, 3);
    }

    #[test]
    fn no_file_declares_nothing_and_a_broken_pyproject_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(node_requirements(dir.path()).unwrap(), NodeRequirements::default());
        fs_err::write(dir.path().join("pyproject.toml"), "[project\n").unwrap();
        let r = node_requirements(dir.path()).unwrap();
        assert!(r.requirements.accepted.is_empty());
        assert_eq!(r.requirements.rejected.len(), 1, "{r:?}");
    }

    #[test]
    fn joins_continuation_lines() {
        let r = parse_requirements("numpy \\\n  >=1.0\n");
        assert_eq!(r.accepted, vec!["numpy   >=1.0"]);
    }
}
