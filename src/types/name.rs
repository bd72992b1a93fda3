//! Names that become one folder or file name: node ids (`custom_nodes/<id>`), environment names
//! (`environments/<name>`), model keys (staging and trash entries).

use super::{InvalidValue, checked_string};

const MAX_LEN: usize = 128;
const RULE: &str = "use 1 to 128 letters, digits, `.`, `_`, `-` or `+`, not starting with `.` or `-`";

/// A name that is safe as a single path component on every platform we run on.
fn check_name(what: &'static str, value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty()
        && value.len() <= MAX_LEN
        && !value.starts_with(['.', '-'])
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(what, value, RULE))
    }
}

fn check_node_id(value: &str) -> Result<(), InvalidValue> {
    check_name("node id", value)
}
fn check_env_name(value: &str) -> Result<(), InvalidValue> {
    check_name("environment name", value)
}
fn check_model_key(value: &str) -> Result<(), InvalidValue> {
    check_name("model key", value)
}

checked_string!(
    /// A node pack's id: its folder name in `custom_nodes/` and its key in the manifest and lock.
    NodeId,
    check_node_id
);
checked_string!(
    /// An environment's name: its folder in `environments/`.
    EnvName,
    check_env_name
);
checked_string!(
    /// A declared model's key in `[tool.comfydock.models]`.
    ModelKey,
    check_model_key
);

/// Workflow names come from file names in ComfyUI's workflows folder, so people use spaces,
/// brackets and any script; what must not pass is anything that leaves the folder or hides.
fn check_workflow_name(value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && !value.starts_with(['.', '-', ' '])
        && !value.ends_with([' ', '.'])
        // `NAME.cec.json` is where comfydock puts the tracked version beside an edited copy.
        && !value.to_ascii_lowercase().ends_with(".cec")
        && !value
            .chars()
            .any(|c| c == '/' || c == '\\' || c == ':' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "workflow name",
            value,
            "use 1 to 200 characters without `/`, `\\`, `:` or control characters, not starting with `.`, `-` or a space, not ending in `.cec`",
        ))
    }
}

checked_string!(
    /// A tracked workflow's name: `.cec/workflows/<name>.json` and
    /// `ComfyUI/user/default/workflows/<name>.json`.
    WorkflowName,
    check_workflow_name
);

impl NodeId {
    /// The closest valid id to a free-form name (a repository or folder name): characters
    /// outside the allowed set become `-`; None when nothing usable is left.
    pub fn sanitize(raw: &str) -> Option<NodeId> {
        sanitize(raw).and_then(|s| s.parse().ok())
    }
}

impl ModelKey {
    /// The closest valid key to a file stem (`realisticVision v5.1` -> `realisticVision-v5.1`).
    pub fn sanitize(raw: &str) -> Option<ModelKey> {
        sanitize(raw).and_then(|s| s.parse().ok())
    }
}

fn sanitize(raw: &str) -> Option<String> {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['.', '-']);
    let cut: String = trimmed.chars().take(MAX_LEN).collect();
    (!cut.is_empty()).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_leave_their_folder_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../models",
            "a/b",
            "/abs",
            "-rf",
            ".hidden",
            "a\\b",
            "a b",
            "é",
        ] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad:?} accepted");
        }
        for good in [
            "comfyui-impact-pack",
            "ComfyUI_essentials",
            "was-node-suite-comfyui",
            "x.y",
            "a+b",
            "7",
        ] {
            assert_eq!(good.parse::<NodeId>().unwrap().as_str(), good);
        }
        assert!("a".repeat(129).parse::<NodeId>().is_err());
    }

    #[test]
    fn workflow_names_stay_one_file_name() {
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", "-x", ".hidden", "a\nb", "a\u{0}b", "c:x", " x", "x ",
        ] {
            assert!(bad.parse::<WorkflowName>().is_err(), "{bad:?} accepted");
        }
        for good in ["my flow", "wan2.2 (i2v) v3", "ワークフロー", "a+b_c-d"] {
            assert_eq!(good.parse::<WorkflowName>().unwrap().as_str(), good);
        }
    }

    #[test]
    fn sanitize_makes_a_valid_name_or_none() {
        assert_eq!(NodeId::sanitize("../My Pack!").unwrap().as_str(), "My-Pack-");
        assert_eq!(ModelKey::sanitize("v1 5").unwrap().as_str(), "v1-5");
        assert!(NodeId::sanitize("..").is_none());
        assert!(NodeId::sanitize("").is_none());
    }

    #[test]
    fn serde_refuses_invalid_values() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            id: NodeId,
        }
        assert!(toml::from_str::<T>("id = \"../x\"").is_err());
        assert!(toml::from_str::<T>("id = \"ok\"").is_ok());
    }
}
