//! `registry update`: fetch node mappings (a URL with its `.sha256` sidecar, or a local file)
//! and install them into the workspace's node index. The download goes through the store's
//! engine (retries, resume, hash check); the index is swapped atomically, so a failed update
//! keeps the old one.

use super::mappings::Mappings;
use super::node_index::{IndexInfo, NodeIndexError, index_path, install_mappings};
use crate::progress::Reporter;
use crate::store::Http;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `COMFYDOCK_MAPPINGS_URL`, else `mappings_url` from workspace.toml.
pub fn configured_url(from_workspace: Option<&str>) -> Option<String> {
    std::env::var("COMFYDOCK_MAPPINGS_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| from_workspace.map(str::to_string))
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum UpdateError {
    #[error("no node mappings address is configured")]
    #[diagnostic(
        code(comfydock::registry::no_mappings_url),
        help("pass --from URL|FILE, set COMFYDOCK_MAPPINGS_URL, or `mappings_url` in workspace.toml")
    )]
    NoSource,

    #[error("{url}: the sha256 sidecar could not be used: {reason}")]
    #[diagnostic(
        code(comfydock::registry::mappings_sidecar),
        help(
            "node mappings are published with `<file>.sha256` beside them (`sha256sum` format); the old index was kept"
        )
    )]
    Sidecar { url: String, reason: String },

    #[error("{} does not match its sha256 sidecar: expected {expected}, got {actual}", path.display())]
    #[diagnostic(
        code(comfydock::registry::mappings_hash),
        help("the file changed or was cut short; the old index was kept")
    )]
    Mismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::registry::mappings_update_io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] crate::store::StoreError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Mappings(#[from] super::mappings::MappingsError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Index(#[from] NodeIndexError),
}

/// The first word of a `sha256sum` line, if it is 64 hex digits.
fn parse_sidecar(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?.to_ascii_lowercase();
    (word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit())).then_some(word)
}

fn is_url(from: &str) -> bool {
    from.starts_with("http://") || from.starts_with("https://")
}

/// Installs the mappings at `from` (URL or file) into `workspace_root`'s node index.
pub fn update(
    workspace_root: &Path,
    from: &str,
    http: &Http,
    reporter: &dyn Reporter,
) -> Result<IndexInfo, UpdateError> {
    let (bytes, sha) = if is_url(from) {
        fetch_url(workspace_root, from, http, reporter)?
    } else {
        read_file(Path::new(from))?
    };
    let mappings = Mappings::parse(&bytes, Path::new(from))?;
    reporter.step(&format!(
        "Loading {} keys of {} packages into the node index",
        mappings.mappings.len(),
        mappings.packages.len()
    ));
    Ok(install_mappings(&index_path(workspace_root), &mappings, from, &sha)?)
}

fn fetch_url(root: &Path, url: &str, http: &Http, reporter: &dyn Reporter) -> Result<(Vec<u8>, String), UpdateError> {
    let sidecar_url = format!("{url}.sha256");
    let sidecar = |reason: String| UpdateError::Sidecar {
        url: sidecar_url.clone(),
        reason,
    };
    let (status, body) = http
        .get_body(&sidecar_url, reporter)
        .map_err(|e| sidecar(e.to_string()))?;
    if status != 200 {
        return Err(sidecar(format!("HTTP {status}")));
    }
    let expected = parse_sidecar(&String::from_utf8_lossy(&body))
        .ok_or_else(|| sidecar("it does not start with a sha256 in hex".into()))?;
    let downloads = root.join(".metadata").join(".mappings-download");
    std::fs::create_dir_all(&downloads).map_err(|source| UpdateError::Io {
        path: downloads.clone(),
        source,
    })?;
    reporter.step(&format!("Downloading node mappings from {url}"));
    let got = crate::store::download(http, url, &downloads, Some(&expected), reporter)?;
    let bytes = std::fs::read(&got.path).map_err(|source| UpdateError::Io {
        path: got.path.clone(),
        source,
    })?;
    let _ = std::fs::remove_dir_all(&downloads);
    Ok((bytes, got.sha256))
}

fn read_file(path: &Path) -> Result<(Vec<u8>, String), UpdateError> {
    let bytes = std::fs::read(path).map_err(|source| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".sha256");
    if let Ok(text) = std::fs::read_to_string(&sidecar) {
        let expected = parse_sidecar(&text).ok_or_else(|| UpdateError::Sidecar {
            url: PathBuf::from(&sidecar).display().to_string(),
            reason: "it does not start with a sha256 in hex".into(),
        })?;
        if expected != actual {
            return Err(UpdateError::Mismatch {
                path: path.to_path_buf(),
                expected,
                actual,
            });
        }
    }
    Ok((bytes, actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_parse_sha256sum_lines() {
        let h = "a".repeat(64);
        assert_eq!(parse_sidecar(&format!("{h}  node_mappings.json\n")), Some(h.clone()));
        assert_eq!(parse_sidecar(&h.to_uppercase()), Some(h));
        assert_eq!(parse_sidecar("abc"), None);
        assert_eq!(parse_sidecar(""), None);
    }
}
