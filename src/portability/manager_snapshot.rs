//! ComfyUI-Manager snapshots (`save-snapshot`, JSON or YAML) read into typed values.
//!
//! A snapshot is untrusted input: a writable one was the vector of a published remote-code
//! exploit, because Manager's restore runs each pack's install scripts. Here it is only data:
//! every id, version, commit, URL and requirement is checked where it enters, anything this
//! tool does not take is reported (never silently dropped), and nothing is run.
//!
//! YAML is read with `yaml-rust2` (pure Rust, maintained; `serde_yaml` is archived and
//! `serde_yml` was flagged unsound). Its loader keeps a float's text (`1.0` stays `1.0`, not
//! `1`), which matters because YAML turns versions into floats. Aliases are refused before
//! loading: the loader copies the anchored node for each alias, so a few lines could expand
//! to gigabytes.

use crate::python::{is_torch_family, parse_requirements, requirement_name};
use crate::types::{GitCommit, NodeId, PackVersion, RepoUrl};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Larger than any real snapshot (a few KiB), small enough that reading one is harmless.
pub const MAX_BYTES: u64 = 4 << 20;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("Manager snapshot {}: {reason}", path.display())]
#[diagnostic(
    code(comfydock::import::bad_snapshot),
    help(
        "give a snapshot as ComfyUI-Manager writes it (`cm-cli save-snapshot --output FILE.json|.yaml`): comfyui, git_custom_nodes, cnr_custom_nodes, file_custom_nodes, pips"
    )
)]
pub struct SnapshotError {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagerSnapshot {
    /// The ComfyUI commit; None when the snapshot names none (custom nodes only).
    pub comfyui: Option<GitCommit>,
    pub registry: Vec<RegistryPack>,
    pub git: Vec<GitPack>,
    /// PEP 508 requirement strings for the environment's own group.
    pub pips: Vec<String>,
    /// What is not imported, one line each, with the reason.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegistryPack {
    pub id: NodeId,
    pub version: PackVersion,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GitPack {
    pub id: NodeId,
    pub repository: RepoUrl,
    /// None when Manager recorded `unknown`: the default branch, resolved at lock time.
    pub commit: Option<GitCommit>,
}

pub fn load(path: &Path) -> Result<ManagerSnapshot, SnapshotError> {
    let err = |reason: String| SnapshotError {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > MAX_BYTES {
        return Err(err(format!(
            "it is {} bytes; a snapshot is at most {MAX_BYTES}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse(&text).map_err(err)
}

/// Reads a snapshot from its text: JSON when it starts with `{`, else YAML.
pub fn parse(text: &str) -> Result<ManagerSnapshot, String> {
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        yaml_value(text)?
    };
    let mut root = match value {
        Value::Object(map) => map,
        _ => return Err("the top level is not a mapping".into()),
    };
    // The YAML form nests everything under `custom_nodes`.
    if root.len() == 1
        && let Some(Value::Object(inner)) = root.get("custom_nodes")
    {
        root = inner.clone();
    }
    let mut snap = ManagerSnapshot::default();
    for (key, value) in root {
        match key.as_str() {
            "comfyui" => snap.comfyui = comfyui(&value)?,
            "cnr_custom_nodes" => registry(&value, &mut snap)?,
            "git_custom_nodes" => git(&value, &mut snap)?,
            "file_custom_nodes" => files(&value, &mut snap)?,
            "pips" => pips(&value, &mut snap)?,
            other => snap
                .skipped
                .push(format!("`{other}`: not a part of Manager snapshots this tool knows")),
        }
    }
    Ok(snap)
}

fn comfyui(value: &Value) -> Result<Option<GitCommit>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => s.parse().map(Some).map_err(|e| format!("comfyui: {e}")),
        _ => Err("comfyui is not a commit id".into()),
    }
}

fn object<'v>(value: &'v Value, what: &str) -> Result<Option<&'v serde_json::Map<String, Value>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        _ => Err(format!("{what} is not a mapping")),
    }
}

fn registry(value: &Value, snap: &mut ManagerSnapshot) -> Result<(), String> {
    let Some(map) = object(value, "cnr_custom_nodes")? else {
        return Ok(());
    };
    for (id, version) in map {
        let version = match version {
            Value::String(s) => s.clone(),
            // JSON numbers, or YAML integers (`2`).
            Value::Number(n) => n.to_string(),
            _ => return Err(format!("cnr_custom_nodes.{id}: the version is not text")),
        };
        let id: NodeId = id.parse().map_err(|e| format!("cnr_custom_nodes: {e}"))?;
        let version: PackVersion = version.parse().map_err(|e| format!("cnr_custom_nodes.{id}: {e}"))?;
        if id.as_str() == "comfyui-manager" {
            snap.skipped
                .push("registry pack comfyui-manager: Manager itself is not a part of the environment".into());
            continue;
        }
        snap.registry.push(RegistryPack { id, version });
    }
    Ok(())
}

fn git(value: &Value, snap: &mut ManagerSnapshot) -> Result<(), String> {
    let Some(map) = object(value, "git_custom_nodes")? else {
        return Ok(());
    };
    for (url, entry) in map {
        let Value::Object(entry) = entry else {
            return Err(format!("git_custom_nodes.{url} is not a mapping"));
        };
        let repository: RepoUrl = url.parse().map_err(|e| format!("git_custom_nodes: {e}"))?;
        let base = url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .trim_end_matches(".git");
        let id = NodeId::sanitize(base).ok_or_else(|| format!("git_custom_nodes: no pack name in `{url}`"))?;
        if id.as_str().eq_ignore_ascii_case("comfyui-manager") {
            snap.skipped.push(format!(
                "git pack {url}: Manager itself is not a part of the environment"
            ));
            continue;
        }
        if entry.get("disabled").and_then(Value::as_bool) == Some(true) {
            snap.skipped.push(format!("git pack {url}: disabled in Manager"));
            continue;
        }
        let commit = match entry.get("hash") {
            Some(Value::String(h)) if h == "unknown" => {
                snap.skipped.push(format!(
                    "git pack {url}: Manager did not know its commit; the default branch is locked instead"
                ));
                None
            }
            Some(Value::String(h)) => Some(h.parse().map_err(|e| format!("git_custom_nodes.{url}: {e}"))?),
            _ => return Err(format!("git_custom_nodes.{url}: `hash` is missing or not text")),
        };
        if snap.git.iter().any(|g| g.id == id) || snap.registry.iter().any(|r| r.id == id) {
            snap.skipped
                .push(format!("git pack {url}: a pack named `{id}` is already imported"));
            continue;
        }
        snap.git.push(GitPack { id, repository, commit });
    }
    Ok(())
}

fn files(value: &Value, snap: &mut ManagerSnapshot) -> Result<(), String> {
    let items = match value {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        _ => return Err("file_custom_nodes is not a list".into()),
    };
    for item in items {
        let name = item
            .get("filename")
            .and_then(Value::as_str)
            .ok_or("file_custom_nodes: an entry has no filename")?;
        let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
        snap.skipped.push(format!(
            "single-file node {name}: not a pack with a source; copy it into a pack or a dev node"
        ));
    }
    Ok(())
}

fn pips(value: &Value, snap: &mut ManagerSnapshot) -> Result<(), String> {
    let Some(map) = object(value, "pips")? else {
        return Ok(());
    };
    for (key, url) in map {
        let url = match url {
            Value::String(s) => s.as_str(),
            Value::Null => "",
            _ => return Err(format!("pips.{key}: the value is not text")),
        };
        if !is_freeze_key(key, url.is_empty()) {
            return Err(format!(
                "pips: `{key}` is not a `pip freeze` entry (`name==version`, or `name` with a URL)"
            ));
        }
        let requirement = if url.is_empty() {
            key.clone()
        } else if url.starts_with("file:") {
            snap.skipped.push(format!(
                "Python package {key}: a local file on the machine that wrote the snapshot ({url})"
            ));
            continue;
        } else if is_remote_url(url) {
            format!("{key} @ {url}")
        } else {
            return Err(format!("pips.{key}: `{url}` is not an http(s) or git+ URL"));
        };
        let parsed = parse_requirements(&requirement);
        let (Some(accepted), true) = (parsed.accepted.first(), parsed.rejected.is_empty()) else {
            return Err(format!("pips: `{requirement}` is not a requirement"));
        };
        let name = requirement_name(accepted).unwrap_or_default();
        if is_torch_family(&name) || name.starts_with("nvidia-") {
            snap.skipped.push(format!(
                "Python package {key}: the torch family comes from the environment's torch backend (`--torch-backend`)"
            ));
            continue;
        }
        snap.pips.push(accepted.clone());
    }
    Ok(())
}

/// `name==version` (a pinned line of `pip freeze`) or, with a URL, a bare `name`.
fn is_freeze_key(key: &str, pinned: bool) -> bool {
    let name_ok = |n: &str| {
        n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match key.split_once("==") {
        Some((name, version)) => {
            pinned
                && name_ok(name)
                && !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '-' | '_'))
        }
        None => !pinned && name_ok(key),
    }
}

fn is_remote_url(url: &str) -> bool {
    ["https://", "http://", "git+https://", "git+http://", "git+ssh://"]
        .iter()
        .any(|p| url.starts_with(p))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The deepest nesting of sequences and mappings a YAML snapshot may have (a real one has 3).
/// Checked on the parser's events, before any tree is built: building, converting and dropping
/// a deeper tree recurses once per level, and 10,000 levels overflow the stack.
pub const MAX_SNAPSHOT_DEPTH: usize = 64;

/// YAML to a JSON value, refusing aliases and deep nesting; scalars keep their text.
fn yaml_value(text: &str) -> Result<Value, String> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), mark)) => {
                depth += 1;
                if depth > MAX_SNAPSHOT_DEPTH {
                    return Err(format!(
                        "not valid YAML for a snapshot: nested more than {MAX_SNAPSHOT_DEPTH} levels deep at line {}",
                        mark.line()
                    ));
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            Ok((Event::Alias(_), mark)) => {
                return Err(format!(
                    "not valid YAML for a snapshot: an alias (`*name`) at line {}; snapshots have none",
                    mark.line()
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(format!("not valid YAML: {e}")),
        }
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let mut docs = docs.into_iter();
    match (docs.next(), docs.next()) {
        (Some(doc), None) => to_json(doc),
        (None, _) => Err("the file is empty".into()),
        (Some(_), Some(_)) => Err("it holds more than one YAML document".into()),
    }
}

fn to_json(yaml: yaml_rust2::Yaml) -> Result<Value, String> {
    use yaml_rust2::Yaml;
    Ok(match yaml {
        Yaml::Real(s) | Yaml::String(s) => Value::String(s),
        Yaml::Integer(i) => Value::String(i.to_string()),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Null => Value::Null,
        Yaml::Array(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    _ => return Err("a mapping key is not text".into()),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Yaml::Alias(_) | Yaml::BadValue => return Err("not valid YAML for a snapshot".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{
        "comfyui": "0123456789abcdef0123456789abcdef01234567",
        "git_custom_nodes": {
            "https://example.invalid/pub/alpha-pack.git": {"hash": "89abcdef0123456789abcdef0123456789abcdef", "disabled": false},
            "https://example.invalid/pub/off": {"hash": "89abcdef0123456789abcdef0123456789abcdef", "disabled": true}
        },
        "cnr_custom_nodes": {"example-impact": "1.9.0"},
        "file_custom_nodes": [{"filename": "x.py", "disabled": false}],
        "pips": {"extra-lib==1.0.0": "", "torch": "https://example.invalid/torch.whl", "mine": "file:///opt/x.whl"}
    }"#;

    #[test]
    fn json_and_yaml_forms_read_the_same() {
        let json = parse(JSON).unwrap();
        assert_eq!(json.registry[0].version.as_str(), "1.9.0");
        assert_eq!(json.git.len(), 1);
        assert_eq!(json.git[0].id.as_str(), "alpha-pack");
        assert_eq!(json.pips, vec!["extra-lib==1.0.0".to_string()]);
        assert_eq!(json.skipped.len(), 4, "{:?}", json.skipped);
        let yaml = "custom_nodes:\n  comfyui: 0123456789abcdef0123456789abcdef01234567\n  cnr_custom_nodes:\n    example-impact: 1.9.0\n    other-pack: 1.0\n";
        let y = parse(yaml).unwrap();
        assert_eq!(y.comfyui, json.comfyui);
        // A YAML float keeps its text.
        assert_eq!(y.registry[1].version.as_str(), "1.0");
    }

    #[test]
    fn malformed_snapshots_are_refused() {
        for bad in [
            "[1, 2]",
            "{\"comfyui\": 5}",
            "{\"cnr_custom_nodes\": {\"../evil\": \"1.0\"}}",
            "{\"cnr_custom_nodes\": {\"ok\": \"1.0/../../x\"}}",
            "{\"git_custom_nodes\": {\"ext::sh -c evil\": {\"hash\": \"unknown\"}}}",
            "{\"git_custom_nodes\": {\"https://x.invalid/a\": {\"hash\": \"not-a-commit\"}}}",
            "{\"pips\": {\"bad req ==\": \"\"}}",
            "a: &x [1]\nb: *x\n",
            "a: [unclosed\n",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let block_maps: String = (0..200).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        for deep in ["- ".repeat(10_000) + "1", "[".repeat(10_000), block_maps] {
            let err = parse(&deep).unwrap_err();
            // (flow collections hit yaml-rust2's own recursion limit first)
            assert!(err.contains("nested") || err.contains("recursion limit"), "{err}");
        }
        let json = "{\"pips\": ".to_string() + &"[".repeat(10_000);
        assert!(parse(&json).is_err());
    }
}
