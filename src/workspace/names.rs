use super::WorkspaceError;

/// Environment names become folder names and appear in commands: keep them to a safe,
/// portable alphabet that cannot escape `environments/` or look like a flag.
pub fn validate_env_name(name: &str) -> Result<(), WorkspaceError> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.starts_with('-') {
        Some("it starts with `-`, which reads as a command-line flag")
    } else if name.starts_with('.') {
        Some("it starts with `.` (hidden, and `..` escapes the workspace)")
    } else if name.contains('/') || name.contains('\\') {
        Some("it contains a path separator")
    } else if name.len() > 64 {
        Some("it is longer than 64 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("it contains characters other than letters, digits, `-`, `_` and `.`")
    } else {
        None
    };
    match problem {
        Some(reason) => Err(WorkspaceError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::validate_env_name;

    #[test]
    fn accepts_ordinary_names_and_refuses_escapes() {
        for ok in ["demo", "sdxl-2", "team_env.v1"] {
            assert!(validate_env_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "..", "../x", "-rf", ".hidden", "sp ace", "é"] {
            assert!(validate_env_name(bad).is_err(), "{bad}");
        }
    }
}
