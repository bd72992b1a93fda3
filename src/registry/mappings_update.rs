//! `registry update`: fetch node mappings (a URL with its `.sha256` sidecar, or a local file)
//! and install them into the workspace's node index. With no mappings configured, the index is
//! built from ComfyUI-Manager's public data (`extension-node-map.json`, `github-stats.json`,
//! `custom-node-list.json`), so workflow resolution works on a fresh install. Downloads go
//! through the store's engine (retries, resume, hash check, a size cap); the index is swapped
//! atomically, so a failed update keeps the old one.

use super::mappings::Mappings;
use super::node_index::{IndexInfo, NodeIndexError, index_path, install_mappings};
use crate::progress::Reporter;
use crate::store::Http;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// ComfyUI-Manager's repository, raw files of its main branch.
pub const DEFAULT_MANAGER_DATA_URL: &str = "https://raw.githubusercontent.com/Comfy-Org/ComfyUI-Manager/main/";
/// The node map, the repositories' GitHub stats and the custom node list.
pub const MANAGER_FILES: [&str; 3] = ["extension-node-map.json", "github-stats.json", "custom-node-list.json"];
/// The largest Manager file accepted (the real ones are a few MB).
pub const MAX_MANAGER_FILE: u64 = 64 << 20;
/// `mappings_max_age_days` when not set.
pub const DEFAULT_MAX_AGE_DAYS: u64 = 7;
/// What the index records as its kind of data.
pub const KIND_MAPPINGS: &str = "node-mappings";
pub const KIND_MANAGER: &str = "comfyui-manager";

/// `COMFYDOCK_MANAGER_DATA_URL`, else `manager_data_url` from workspace.toml, else
/// ComfyUI-Manager's repository. A base URL (the file names are appended) or a local folder.
pub fn manager_data_url(from_workspace: Option<&str>) -> String {
    std::env::var("COMFYDOCK_MANAGER_DATA_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| from_workspace.map(str::to_string))
        .unwrap_or_else(|| DEFAULT_MANAGER_DATA_URL.to_string())
}

/// `COMFYDOCK_MAPPINGS_MAX_AGE_DAYS`, else `mappings_max_age_days`, else 7.
pub fn max_age_days(from_workspace: Option<u64>) -> u64 {
    std::env::var("COMFYDOCK_MAPPINGS_MAX_AGE_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .or(from_workspace)
        .unwrap_or(DEFAULT_MAX_AGE_DAYS)
}

/// Where `registry update` (and a refresh) takes its data when not told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A published node mappings file (URL or file).
    Mappings(String),
    /// ComfyUI-Manager's files under this base URL or folder.
    Manager(String),
}

impl Source {
    /// `mappings_url` when configured (env first), else Manager's data.
    pub fn configured(mappings_url: Option<&str>, manager_data_url: Option<&str>) -> Source {
        match configured_url(mappings_url) {
            Some(u) => Source::Mappings(u),
            None => Source::Manager(self::manager_data_url(manager_data_url)),
        }
    }
}

/// Installs from `source`.
pub fn update_from(
    workspace_root: &Path,
    source: &Source,
    http: &Http,
    reporter: &dyn Reporter,
) -> Result<IndexInfo, UpdateError> {
    match source {
        Source::Mappings(from) => update(workspace_root, from, http, reporter),
        Source::Manager(base) => update_from_manager(workspace_root, base, http, reporter),
    }
}

/// The index's age in days at `now` (seconds since the epoch); None when its date is unreadable.
pub fn age_days(info: &IndexInfo, now: u64) -> Option<f64> {
    let at = super::mappings::parse_rfc3339(&info.installed_at)?;
    Some(now.saturating_sub(at) as f64 / 86_400.0)
}

/// "3 days ago", "5 hours ago", "just now".
pub fn human_age(days: f64) -> String {
    let hours = days * 24.0;
    if hours < 1.0 {
        "less than an hour ago".to_string()
    } else if days < 2.0 {
        let h = hours.floor() as u64;
        format!("{h} hour{} ago", if h == 1 { "" } else { "s" })
    } else {
        format!("{} days ago", days.floor() as u64)
    }
}

/// Builds node mappings from ComfyUI-Manager's three files at `base` (a URL the file names are
/// appended to, or a local folder) and installs them. Every file's shape is checked before
/// anything is replaced: a file that is not what Manager writes (truncated, another format,
/// an error page) is refused and the old index stays.
pub fn update_from_manager(
    workspace_root: &Path,
    base: &str,
    http: &Http,
    reporter: &dyn Reporter,
) -> Result<IndexInfo, UpdateError> {
    use super::mappings::augment;
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::with_capacity(3);
    if is_url(base) {
        let scratch = workspace_root.join(".metadata").join(".manager-download");
        let _ = fs_err::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).map_err(|source| UpdateError::Io {
            path: scratch.clone(),
            source,
        })?;
        let result = (|| {
            for name in MANAGER_FILES {
                let url = join_url(base, name);
                // `fetch` reports the step ("Downloading URL") and the transfer.
                let dest = scratch.join(name);
                let request = crate::store::Request {
                    url: &url,
                    downloads_dir: &scratch.join("partial"),
                    expected: &crate::store::Expected::default(),
                    token: None,
                    dest: Some(&dest),
                    attempts: None,
                };
                let got = crate::store::download::fetch_at_most(http, &request, MAX_MANAGER_FILE, reporter)?;
                let bytes = std::fs::read(&got.path).map_err(|source| UpdateError::Io {
                    path: got.path.clone(),
                    source,
                })?;
                files.push((PathBuf::from(url), bytes));
            }
            Ok::<(), UpdateError>(())
        })();
        let _ = fs_err::remove_dir_all(&scratch);
        result?;
    } else {
        let dir = Path::new(base.strip_prefix("file://").unwrap_or(base));
        for name in MANAGER_FILES {
            let path = dir.join(name);
            let len = std::fs::metadata(&path)
                .map_err(|source| UpdateError::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            if len > MAX_MANAGER_FILE {
                return Err(UpdateError::Store(crate::store::StoreError::DownloadTooLarge {
                    url: path.display().to_string(),
                    limit: MAX_MANAGER_FILE,
                    bound: "the most comfydock takes for this file",
                }));
            }
            let (bytes, _) = read_file(&path)?;
            files.push((path, bytes));
        }
    }
    let [
        (map_path, map_bytes),
        (stats_path, stats_bytes),
        (list_path, list_bytes),
    ] = &files[..]
    else {
        unreachable!("three files were read")
    };
    let data = augment::ManagerData {
        map: augment::parse_manager_map(map_bytes, map_path)?,
        stats: augment::parse_stats(stats_bytes, stats_path)?,
        list: augment::parse_custom_node_list(list_bytes, list_path)?,
    };
    let now = super::snapshot::rfc3339_now();
    let mut mappings = Mappings {
        version: now.get(0..10).unwrap_or_default().replace('-', "."),
        generated_at: now.clone(),
        ..Mappings::default()
    };
    let summary = augment::augment_with(&mut mappings, &data, &now);
    reporter.step(&format!(
        "Loading ComfyUI-Manager's data into the node index: {} repositories ({} with GitHub stats), {} name-only keys, {} built-in node types",
        summary.synthetic_packages,
        data.stats.len(),
        mappings.mappings.len(),
        mappings.builtin.len()
    ));
    let sha = hex::encode(Sha256::digest(map_bytes));
    let source = format!("ComfyUI-Manager data at {base}");
    Ok(install_mappings(
        &index_path(workspace_root),
        &mappings,
        &source,
        &sha,
        KIND_MANAGER,
    )?)
}

fn join_url(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

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
fn parse_sidecar(text: &str) -> Option<crate::types::Sha256> {
    crate::types::Sha256::from_hex(text.split_whitespace().next()?).ok()
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
    Ok(install_mappings(
        &index_path(workspace_root),
        &mappings,
        from,
        &sha,
        KIND_MAPPINGS,
    )?)
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
    let _ = fs_err::remove_dir_all(&downloads);
    Ok((bytes, got.sha256.hex().to_string()))
}

fn read_file(path: &Path) -> Result<(Vec<u8>, String), UpdateError> {
    let bytes = std::fs::read(path).map_err(|source| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".sha256");
    if let Ok(text) = fs_err::read_to_string(&sidecar) {
        let expected = parse_sidecar(&text).ok_or_else(|| UpdateError::Sidecar {
            url: PathBuf::from(&sidecar).display().to_string(),
            reason: "it does not start with a sha256 in hex".into(),
        })?;
        if expected.hex() != actual {
            return Err(UpdateError::Mismatch {
                path: path.to_path_buf(),
                expected: expected.hex().to_string(),
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
    fn ages_read_for_people() {
        assert_eq!(human_age(0.01), "less than an hour ago");
        assert_eq!(human_age(1.5), "36 hours ago");
        assert_eq!(human_age(9.9), "9 days ago");
        let info = IndexInfo {
            installed_at: "2025-01-02T00:00:00Z".into(),
            ..IndexInfo::default()
        };
        let now = super::super::mappings::parse_rfc3339("2025-01-05T12:00:00Z").unwrap();
        assert_eq!(age_days(&info, now), Some(3.5));
        assert_eq!(join_url("http://h/x", "a.json"), "http://h/x/a.json");
        assert_eq!(join_url("http://h/x/", "a.json"), "http://h/x/a.json");
    }

    #[test]
    fn sidecars_parse_sha256sum_lines() {
        let h = "a".repeat(64);
        let hex = |s: Option<crate::types::Sha256>| s.map(|s| s.hex().to_string());
        assert_eq!(
            hex(parse_sidecar(&format!("{h}  node_mappings.json\n"))),
            Some(h.clone())
        );
        assert_eq!(hex(parse_sidecar(&h.to_uppercase())), Some(h));
        assert_eq!(parse_sidecar("abc"), None);
        assert_eq!(parse_sidecar(""), None);
    }
}
