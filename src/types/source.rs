//! Where things come from: git repositories and refs, Python versions, torch backends. These
//! reach command lines (`git`, `uv`), so a value can never look like an option.

use super::{InvalidValue, checked_string};

fn check_git_ref(value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && !value.starts_with(['-', '/'])
        && !value.contains("..")
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "git ref",
            value,
            "use a tag, branch or commit: not starting with `-`, no spaces, `..` or `~^:?*[\\`",
        ))
    }
}

/// Transports git may use for repositories named in a manifest or lock (see `git::remote`,
/// which also sets `GIT_ALLOW_PROTOCOL`): `ext::` and other helpers that run commands are refused.
fn check_repo_url(value: &str) -> Result<(), InvalidValue> {
    const RULE: &str = "use an https://, http://, ssh://, git://, file:// URL, `user@host:path` or a path; \
                        not starting with `-`, and no `ext::`-style transports";
    let bad = value.is_empty()
        || value.len() > 2048
        || value.starts_with('-')
        || value.chars().any(char::is_control)
        || value.contains("::");
    let scheme_ok = match value.split_once("://") {
        Some((scheme, rest)) => {
            matches!(
                scheme.to_ascii_lowercase().as_str(),
                "https" | "http" | "ssh" | "git" | "file" | "git+ssh" | "ssh+git"
            ) && !rest.is_empty()
        }
        None => true, // a path, or scp-like `user@host:path`
    };
    if bad || !scheme_ok {
        Err(InvalidValue::new("repository", value, RULE))
    } else {
        Ok(())
    }
}

fn check_python_version(value: &str) -> Result<(), InvalidValue> {
    let parts: Vec<&str> = value.split('.').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "Python version",
            value,
            "use `X.Y` or `X.Y.Z`, e.g. `3.12`",
        ))
    }
}

fn check_torch_backend(value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty()
        && value.len() <= 32
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "torch backend",
            value,
            "use a backend name such as `cpu`, `cu124` or `rocm6.2`",
        ))
    }
}

fn check_pack_version(value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && !value.starts_with('-')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+-_<>=,~^* ".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "version",
            value,
            "use a version or range such as `1.2.0`, `latest` or `>=1.2` (no `/`)",
        ))
    }
}

checked_string!(
    /// A node pack version, or a version spec in the manifest; it reaches registry URLs.
    PackVersion,
    check_pack_version
);
checked_string!(
    /// A tag, branch or commit (prefix) of a git repository.
    GitRef,
    check_git_ref
);
checked_string!(
    /// A git repository: URL or local path.
    RepoUrl,
    check_repo_url
);
checked_string!(
    /// `X.Y` or `X.Y.Z`.
    PythonVersion,
    check_python_version
);
checked_string!(
    /// A torch backend, an extra of the uv project (`cpu`, `cu124`, ...).
    TorchBackend,
    check_torch_backend
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_that_looks_like_an_option_or_a_command() {
        for bad in ["-u", "--upload-pack=x", "ext::sh -c x", "main..x", "a b", ""] {
            assert!(bad.parse::<GitRef>().is_err(), "{bad:?}");
        }
        for good in ["v0.3.10", "main", "feature/x", "0123abc"] {
            assert!(good.parse::<GitRef>().is_ok(), "{good:?}");
        }
        for bad in ["-oProxyCommand=x", "ext::sh -c touch%20x", "fd::3", "ftp://x", ""] {
            assert!(bad.parse::<RepoUrl>().is_err(), "{bad:?}");
        }
        for good in [
            "https://github.com/Comfy-Org/ComfyUI",
            "git@github.com:u/p.git",
            "/tmp/repo",
            "file:///tmp/r",
            "../r",
        ] {
            assert!(good.parse::<RepoUrl>().is_ok(), "{good:?}");
        }
        assert!("--help".parse::<PythonVersion>().is_err());
        assert!("3.12".parse::<PythonVersion>().is_ok());
        assert!("cu124".parse::<TorchBackend>().is_ok());
        assert!("--all".parse::<TorchBackend>().is_err());
    }
}
