//! `.cec/comfydock.lock`: what the manifest resolved to, pinned exactly. TOML written
//! deterministically (sorted maps, fixed field order) so it diffs well in review.

use super::{ManifestError, NodeSource};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const LOCK_VERSION: u32 = 1;
pub const LOCK_FILE: &str = "comfydock.lock";

const HEADER: &str = "# comfydock.lock: written by `comfydock lock`; do not edit by hand.\n";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    /// blake3 of the manifest inputs this lock was resolved from: staleness is one comparison.
    pub inputs: String,
    pub comfyui: LockedComfyUI,
    pub python: LockedPython,
    #[serde(default)]
    pub nodes: BTreeMap<String, LockedNode>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, LockedModel>,
}

/// A model pinned by content: where ComfyUI finds it (category folder and file name) and where it
/// can be downloaded from when no local file has that content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedModel {
    /// `blake3:<hex>` of the whole file.
    pub blake3: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub category: String,
    pub filename: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<super::ModelSource>,
}

impl LockedModel {
    /// `models/<category>/<filename>`, relative to the ComfyUI folder.
    pub fn link_path(&self) -> String {
        format!("models/{}/{}", self.category, self.filename)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedComfyUI {
    pub repo: String,
    pub rev: String,
    pub commit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPython {
    pub version: String,
    /// blake3 of the Python inputs (dependencies, groups, `[tool.uv]`) uv.lock was made from.
    pub inputs: String,
    /// blake3 of `.cec/uv.lock`.
    pub uv_lock: String,
    /// The torch backends uv.lock covers (extras of the project); empty: none declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub torch_backends: Vec<String>,
    /// What resolution did not take from node packs, one line each: requirement lines uv cannot
    /// read, torch family requests the environment overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedNode {
    pub source: NodeSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The pack's id in the registry (the manifest key may differ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the archive was downloaded from, and its sha256 (the registry publishes none, so the
    /// first fetch computes it and later fetches must match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// blake3 tree hash of the node's files: its name in `store/nodes/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    /// Absolute path of a local (dev) node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl LockedNode {
    /// How the node is shown in plans and lists: a version, a short commit, or a path.
    pub fn describe(&self) -> String {
        match self.source {
            NodeSource::Local => self.path.clone().unwrap_or_default(),
            NodeSource::Registry => self.version.clone().unwrap_or_default(),
            NodeSource::Git => {
                let commit = self.commit.as_deref().map(|c| &c[..c.len().min(10)]).unwrap_or("?");
                match &self.rev {
                    Some(rev) if !commit.starts_with(rev.as_str()) => format!("{rev}@{commit}"),
                    _ => commit.to_string(),
                }
            }
        }
    }
}

impl Lock {
    pub fn parse(path: &Path, text: &str) -> Result<Lock, ManifestError> {
        let lock: Lock =
            toml::from_str(text).map_err(|e| ManifestError::invalid(path, text, e.message().to_string(), e.span()))?;
        if lock.version != LOCK_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                found: lock.version.to_string(),
                supported: "1",
            });
        }
        Ok(lock)
    }

    /// Reads the lock beside a manifest; None when there is none yet.
    pub fn load(path: &Path) -> Result<Option<Lock>, ManifestError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ManifestError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn render(&self) -> String {
        format!("{HEADER}{}", toml::to_string(self).expect("lock serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lock {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "b-node".into(),
            LockedNode {
                source: NodeSource::Git,
                repository: Some("https://x/b".into()),
                rev: Some("main".into()),
                commit: Some("0123456789abcdef".into()),
                registry_id: None,
                version: None,
                url: None,
                sha256: None,
                tree: Some("blake3:aa".into()),
                path: None,
            },
        );
        nodes.insert(
            "a-dev".into(),
            LockedNode {
                source: NodeSource::Local,
                path: Some("/src/a".into()),
                ..nodes["b-node"].clone()
            },
        );
        Lock {
            version: 1,
            inputs: "blake3:ff".into(),
            comfyui: LockedComfyUI {
                repo: "r".into(),
                rev: "v1".into(),
                commit: "c".into(),
            },
            python: LockedPython {
                version: "3.11".into(),
                inputs: "blake3:11".into(),
                uv_lock: "blake3:00".into(),
                torch_backends: vec!["cpu".into()],
                notes: vec!["node b-node: `-e x` skipped".into()],
            },
            nodes,
            models: BTreeMap::from([(
                "sd15".to_string(),
                LockedModel {
                    blake3: "blake3:7c".into(),
                    sha256: None,
                    size: Some(4),
                    category: "checkpoints".into(),
                    filename: "sd15.safetensors".into(),
                    sources: vec![super::super::ModelSource::Url {
                        url: "https://x/sd15.safetensors".into(),
                        sha256: None,
                    }],
                },
            )]),
        }
    }

    #[test]
    fn renders_sorted_and_reads_back() {
        let lock = sample();
        let text = lock.render();
        assert!(text.find("[nodes.a-dev]").unwrap() < text.find("[nodes.b-node]").unwrap());
        assert_eq!(Lock::parse(Path::new("l"), &text).unwrap(), lock);
        assert_eq!(lock.render(), text, "rendering is deterministic");
    }

    #[test]
    fn unknown_fields_and_versions_are_refused() {
        let text = sample().render().replace("version = 1", "version = 7");
        assert!(matches!(
            Lock::parse(Path::new("l"), &text),
            Err(ManifestError::UnsupportedVersion { .. })
        ));
        let text = sample()
            .render()
            .replace("version = 1\n", "version = 1\nsurprise = 1\n");
        assert!(Lock::parse(Path::new("l"), &text).is_err());
    }
}
