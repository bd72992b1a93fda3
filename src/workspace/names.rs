use super::WorkspaceError;

/// Environment names become folder names and appear in commands: keep them to a safe,
/// portable alphabet that cannot escape `environments/` or look like a flag.
pub fn validate_env_name(name: &str) -> Result<(), WorkspaceError> {
    name.parse::<crate::types::EnvName>()
        .map(drop)
        .map_err(|e| WorkspaceError::InvalidName {
            name: name.to_string(),
            reason: e.rule,
        })
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
