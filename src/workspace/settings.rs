//! `comfydock config`: the known keys of `workspace.toml`, each with its type, validator and
//! help, and edits that keep the user's comments and layout (toml_edit, atomic writes).
//! Tokens are not settings: they live in `credentials.rs`'s file.

use super::config::FILE_NAME;
use miette::Diagnostic;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml_edit::DocumentMut;

/// What a setting's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A path (a relative one is relative to the workspace), or a command name on PATH.
    Path,
    /// An http(s) URL.
    HttpUrl,
    /// A torch backend name (cpu, cuXXX, rocmX.Y, xpu).
    TorchBackend,
    /// An index URL template (`{backend}` allowed) or an absolute folder of wheels.
    IndexUrl,
    /// `s3://bucket/prefix`.
    S3Url,
    /// A whole number of seconds, 1 to a day; written as a TOML integer.
    Seconds,
    /// An http(s) URL or an absolute folder.
    UrlOrFolder,
    /// A whole number of days.
    Days,
    /// `true` or `false`; written as a TOML boolean.
    Bool,
}

pub struct Setting {
    /// The key, dotted for a table (`store.remote` is `[store] remote`).
    pub key: &'static str,
    pub kind: ValueKind,
    /// The environment variable that overrides the file, if any.
    pub env: Option<&'static str>,
    pub help: &'static str,
}

/// Every key `config` edits. `active_environment` is `comfydock use`'s and `model_dirs` is
/// `comfydock model dirs`', so they are not here.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "registry_url",
        kind: ValueKind::HttpUrl,
        env: Some("COMFYDOCK_REGISTRY_URL"),
        help: "the Comfy Registry, or a mirror (`comfydock registry serve`)",
    },
    Setting {
        key: "install_timeout",
        kind: ValueKind::Seconds,
        env: Some("COMFYDOCK_INSTALL_TIMEOUT"),
        help: "seconds a pack's install.py may run before it is stopped (default 600; a node's own `install_timeout` wins)",
    },
    Setting {
        key: "mappings_url",
        kind: ValueKind::HttpUrl,
        env: Some("COMFYDOCK_MAPPINGS_URL"),
        help: "where `registry update` downloads node mappings (a .sha256 sidecar beside them)",
    },
    Setting {
        key: "manager_data_url",
        kind: ValueKind::UrlOrFolder,
        env: Some("COMFYDOCK_MANAGER_DATA_URL"),
        help: "without mappings_url, `registry update` reads ComfyUI-Manager's public files under this base URL (or folder)",
    },
    Setting {
        key: "mappings_max_age_days",
        kind: ValueKind::Days,
        env: Some("COMFYDOCK_MAPPINGS_MAX_AGE_DAYS"),
        help: "`workflow resolve` refreshes a node index older than this many days (default 7)",
    },
    Setting {
        key: "store.remote",
        kind: ValueKind::S3Url,
        env: None,
        help: "a shared store in object storage, `s3://bucket/prefix`",
    },
    Setting {
        key: "torch_backend",
        kind: ValueKind::TorchBackend,
        env: Some("COMFYDOCK_TORCH_BACKEND"),
        help: "the torch backend apply syncs when --torch-backend is not given",
    },
    Setting {
        key: "torch_index_url",
        kind: ValueKind::IndexUrl,
        env: Some("COMFYDOCK_TORCH_INDEX_URL"),
        help: "the torch index URL template (`{backend}` is replaced), or a folder of wheels",
    },
    Setting {
        key: "uv",
        kind: ValueKind::Path,
        env: Some("COMFYDOCK_UV"),
        help: "the uv binary to run",
    },
    Setting {
        key: "uv_cache",
        kind: ValueKind::Path,
        env: Some("COMFYDOCK_UV_CACHE"),
        help: "uv's cache, shareable by several workspaces (keep it on the venvs' filesystem)",
    },
    Setting {
        key: "panel_remote_changes",
        kind: ValueKind::Bool,
        env: Some("COMFYDOCK_PANEL_REMOTE_CHANGES"),
        help: "the ComfyUI panel accepts changes from other machines (ComfyUI has no login: see docs/security.md; default false)",
    },
];

#[derive(Debug, Error, Diagnostic)]
pub enum SettingsError {
    #[error("`{key}` is not a setting comfydock knows")]
    #[diagnostic(
        code(comfydock::config::unknown_key),
        help("known keys: {known}; `comfydock config list` shows them with their values")
    )]
    UnknownKey { key: String, known: String },

    #[error("`{value}` is not a valid value for `{key}`: {reason}")]
    #[diagnostic(code(comfydock::config::invalid_value), help("nothing was changed; {expected}"))]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
        expected: &'static str,
    },

    #[error("{} has `{table}` as a value, not a table, so `{key}` cannot be set in it", path.display())]
    #[diagnostic(
        code(comfydock::config::not_a_table),
        help("edit the file by hand: make `{table}` a `[{table}]` table")
    )]
    NotATable { path: PathBuf, table: String, key: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] super::WorkspaceError),
}

type Result<T> = std::result::Result<T, SettingsError>;

/// The setting named `key`, or a diagnostic listing the known ones.
pub fn find(key: &str) -> Result<&'static Setting> {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .ok_or_else(|| SettingsError::UnknownKey {
            key: key.to_string(),
            known: SETTINGS.iter().map(|s| s.key).collect::<Vec<_>>().join(", "),
        })
}

/// Checks `value` for `setting`; the error says why not.
pub fn validate(setting: &Setting, value: &str) -> Result<()> {
    let invalid = |reason: &str, expected: &'static str| SettingsError::InvalidValue {
        key: setting.key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
        expected,
    };
    if value.trim().is_empty() {
        return Err(invalid(
            "it is empty",
            "use `comfydock config unset KEY` to remove a setting",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid("it contains control characters", "give the value on one line"));
    }
    match setting.kind {
        ValueKind::Path => Ok(()),
        ValueKind::HttpUrl => http_url(value).map_err(|r| invalid(&r, "give an http:// or https:// URL")),
        ValueKind::TorchBackend if crate::python::torch::is_backend_name(value) => Ok(()),
        ValueKind::TorchBackend => Err(invalid(
            "not a torch backend name",
            "use cpu, cuXXX (e.g. cu124), rocmX.Y or xpu",
        )),
        ValueKind::IndexUrl if Path::new(value).is_absolute() => Ok(()),
        ValueKind::IndexUrl => http_url(&value.replace("{backend}", "cpu")).map_err(|r| {
            invalid(
                &r,
                "give an http(s) URL (`{backend}` is replaced by the backend name) or an absolute folder of wheels",
            )
        }),
        ValueKind::S3Url => s3_url(value).map_err(|r| invalid(&r, "give `s3://bucket` or `s3://bucket/prefix`")),
        ValueKind::Seconds => match value.parse::<u64>() {
            Ok(1..=MAX_SECONDS) => Ok(()),
            _ => Err(invalid(
                "not a whole number of seconds from 1 to 86400",
                "give seconds, e.g. 600",
            )),
        },
        ValueKind::UrlOrFolder if Path::new(value).is_absolute() => Ok(()),
        ValueKind::UrlOrFolder => http_url(value).map_err(|r| invalid(&r, "give an http(s) URL or an absolute folder")),
        ValueKind::Days if value.trim().parse::<u64>().is_ok() => Ok(()),
        ValueKind::Days => Err(invalid("not a whole number", "give a number of days, e.g. 7")),
        ValueKind::Bool if value == "true" || value == "false" => Ok(()),
        ValueKind::Bool => Err(invalid("not a boolean", "give true or false")),
    }
}

/// The longest time limit a setting takes: a day.
pub const MAX_SECONDS: u64 = 86_400;

fn http_url(value: &str) -> std::result::Result<(), String> {
    let url = reqwest::Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(()),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("the scheme is `{other}`, not http or https")),
    }
}

/// `s3://bucket[/prefix]`: a bucket name as S3 allows it (3–63 lowercase letters, digits, `.`
/// and `-`, starting and ending with a letter or digit) and a prefix without empty, `.` or `..`
/// segments.
fn s3_url(value: &str) -> std::result::Result<(), String> {
    let rest = value.strip_prefix("s3://").ok_or("it does not start with `s3://`")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&bucket.len())
        || !bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        || !edge_ok(bucket.chars().next())
        || !edge_ok(bucket.chars().last())
    {
        return Err(format!(
            "`{bucket}` is not a bucket name (3-63 lowercase letters, digits, `.` and `-`)"
        ));
    }
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if !prefix.is_empty() && prefix.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err("the prefix has an empty, `.` or `..` segment".into());
    }
    Ok(())
}

fn file(root: &Path) -> PathBuf {
    root.join(FILE_NAME)
}

fn read_doc(path: &Path) -> Result<DocumentMut> {
    let text = std::fs::read_to_string(path).map_err(|source| super::WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<DocumentMut>().map_err(|e| {
        super::WorkspaceError::from(crate::manifest::ManifestError::invalid(
            path,
            &text,
            e.message().to_string(),
            e.span(),
        ))
        .into()
    })
}

/// `store.remote` → (Some("store"), "remote"); `uv` → (None, "uv").
fn split(key: &str) -> (Option<&str>, &str) {
    match key.split_once('.') {
        Some((table, name)) => (Some(table), name),
        None => (None, key),
    }
}

/// The value of `setting` in the workspace at `root` as the file has it (a non-string value is
/// shown as TOML).
pub fn get(root: &Path, setting: &Setting) -> Result<Option<String>> {
    let doc = read_doc(&file(root))?;
    let item = match split(setting.key) {
        (Some(table), name) => doc.get(table).and_then(|t| t.get(name)),
        (None, name) => doc.get(name),
    };
    Ok(item.and_then(|i| i.as_value()).map(|v| match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string().trim().to_string(),
    }))
}

/// Validates and sets `setting` to `value`, keeping the rest of the file as the user wrote it.
pub fn set(root: &Path, setting: &Setting, value: &str) -> Result<()> {
    validate(setting, value)?;
    let path = file(root);
    let mut doc = read_doc(&path)?;
    match split(setting.key) {
        (Some(table), name) => {
            let entry = doc.entry(table).or_insert(toml_edit::table());
            let Some(t) = entry.as_table_like_mut() else {
                return Err(SettingsError::NotATable {
                    path,
                    table: table.to_string(),
                    key: setting.key.to_string(),
                });
            };
            t.insert(name, typed_value(setting, value));
        }
        (None, name) => doc[name] = typed_value(setting, value),
    }
    write(&path, &doc)
}

/// A validated value as the file keeps it: numbers as numbers, everything else as text.
fn typed_value(setting: &Setting, value: &str) -> toml_edit::Item {
    match (setting.kind, value.parse::<i64>()) {
        (ValueKind::Seconds, Ok(n)) => toml_edit::value(n),
        (ValueKind::Bool, _) => toml_edit::value(value == "true"),
        _ => toml_edit::value(value),
    }
}

/// Removes `setting` from the file; false when it was not set. An emptied table goes too.
pub fn unset(root: &Path, setting: &Setting) -> Result<bool> {
    let path = file(root);
    let mut doc = read_doc(&path)?;
    let removed = match split(setting.key) {
        (Some(table), name) => {
            let Some(t) = doc.get_mut(table).and_then(|t| t.as_table_like_mut()) else {
                return Ok(false);
            };
            let removed = t.remove(name).is_some();
            if t.is_empty() {
                doc.remove(table);
            }
            removed
        }
        (None, name) => doc.remove(name).is_some(),
    };
    if removed {
        write(&path, &doc)?;
    }
    Ok(removed)
}

fn write(path: &Path, doc: &DocumentMut) -> Result<()> {
    crate::fsx::write_atomic(path, doc.to_string().as_bytes()).map_err(|source| {
        super::WorkspaceError::Io {
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_accept_good_values_and_refuse_bad_ones() {
        let ok = |k: &str, v: &str| validate(find(k).unwrap(), v).is_ok();
        assert!(ok("store.remote", "s3://my-bucket/comfy/prod"));
        assert!(ok("store.remote", "s3://my.bucket"));
        assert!(!ok("store.remote", "s3://My_Bucket/x"));
        assert!(!ok("store.remote", "s3://ab"));
        assert!(!ok("store.remote", "s3://bucket/../x"));
        assert!(!ok("store.remote", "https://bucket/x"));
        assert!(ok("registry_url", "https://api.comfy.org"));
        assert!(!ok("registry_url", "ftp://x.org"));
        assert!(!ok("registry_url", "not a url"));
        assert!(ok("torch_backend", "cu124"));
        assert!(!ok("torch_backend", "cuda"));
        assert!(ok("torch_index_url", "https://download.pytorch.org/whl/{backend}"));
        assert!(ok("torch_index_url", "/srv/wheels"));
        assert!(ok("uv_cache", "/srv/uv"));
        assert!(!ok("uv", "uv\nrm -rf /"));
        assert!(!ok("uv", " "));
        assert!(find("nope").is_err());
    }
}
