//! Saved plans (`plan --out FILE`, `apply FILE`). A saved plan carries the lock it was made
//! with and a fingerprint of everything it was computed from (manifest, lock, uv.lock, the
//! observed disk); `apply FILE` refuses it when the fingerprint no longer matches.

use super::FORMAT_VERSION;
use crate::observe::Observed;
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    pub environment: String,
    pub fingerprint: String,
    /// The lock the plan applies (TOML), and the uv.lock it names.
    pub lock: String,
    pub uv_lock: String,
    /// The torch backend the plan syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<crate::types::TorchBackend>,
    /// How the plan places models (`--link-mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_mode: Option<crate::observe::LinkMode>,
    /// The manifest as resolution completed it, when it differs from the file on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pyproject: Option<String>,
    /// The plan as `plan --json` printed it, for people reading the file.
    pub plan: serde_json::Value,
}

const KIND: &str = "comfydock-plan";

#[derive(Debug, Error, Diagnostic)]
pub enum SavedPlanError {
    #[error("could not read plan file {}", path.display())]
    #[diagnostic(code(comfydock::plan::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a comfydock plan file", path.display())]
    #[diagnostic(code(comfydock::plan::malformed), help("make one with `comfydock plan --out FILE`"))]
    Malformed {
        path: PathBuf,
        #[source_code]
        src: NamedSource<String>,
        #[label("{message}")]
        span: SourceSpan,
        message: String,
    },
    #[error("plan file format {found} is not supported (this comfydock reads {FORMAT_VERSION})")]
    #[diagnostic(code(comfydock::plan::version), help("make the plan again with this comfydock"))]
    Version { found: String },
    #[error("the plan is for environment `{planned}`, not `{actual}`")]
    #[diagnostic(
        code(comfydock::plan::wrong_environment),
        help("pass `-e {planned}`, or make a new plan")
    )]
    WrongEnvironment { planned: String, actual: String },
    #[error("the saved plan is stale: the manifest, the lock or the disk changed since it was made")]
    #[diagnostic(
        code(comfydock::plan::stale),
        help("run `comfydock plan --out FILE` again and review the new plan")
    )]
    Stale,
}

impl SavedPlan {
    pub fn new(environment: &str, fingerprint: &str, lock: String, uv_lock: String, plan: serde_json::Value) -> Self {
        SavedPlan {
            format_version: FORMAT_VERSION.into(),
            kind: KIND.into(),
            environment: environment.into(),
            fingerprint: fingerprint.into(),
            lock,
            uv_lock,
            torch_backend: None,
            link_mode: None,
            pyproject: None,
            plan,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable") + "\n"
    }

    pub fn load(path: &Path) -> Result<SavedPlan, Box<SavedPlanError>> {
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Io {
            path: path.into(),
            source,
        })?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| {
            let offset = line_col_offset(&text, e.line(), e.column());
            SavedPlanError::Malformed {
                path: path.into(),
                message: e.to_string(),
                src: NamedSource::new(path.display().to_string(), text.clone()),
                span: SourceSpan::from(offset..offset),
            }
        })?;
        if plan.kind != KIND {
            return Err(Box::new(SavedPlanError::Malformed {
                path: path.into(),
                message: format!("`kind` is {:?}", plan.kind),
                src: NamedSource::new(path.display().to_string(), text.clone()),
                span: SourceSpan::from(0..0),
            }));
        }
        if plan.format_version != FORMAT_VERSION {
            return Err(Box::new(SavedPlanError::Version {
                found: plan.format_version,
            }));
        }
        // The manifest a plan would write is untrusted like any other: it must be a valid one.
        if let Some(pyproject) = &plan.pyproject
            && let Err(e) = crate::manifest::Manifest::parse(path, pyproject)
        {
            return Err(Box::new(SavedPlanError::Malformed {
                path: path.into(),
                message: format!("its `pyproject` is not a valid manifest: {e}"),
                src: NamedSource::new(path.display().to_string(), text.clone()),
                span: SourceSpan::from(0..0),
            }));
        }
        Ok(plan)
    }
}

fn line_col_offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + col.saturating_sub(1)).min(text.len())
}

/// Hash of what a plan is computed from. Equal fingerprints mean an equal plan.
pub fn fingerprint(
    pyproject: &[u8],
    lock: &[u8],
    uv_lock: &[u8],
    torch_backend: Option<&str>,
    observed: &Observed,
) -> String {
    let mut h = blake3::Hasher::new();
    for part in [pyproject, lock, uv_lock, torch_backend.unwrap_or("").as_bytes()] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    // Streamed into the hasher (the same bytes as the JSON text, without building it).
    let _ = serde_json::to_writer(&mut h, observed);
    let _ = serde_json::to_writer(&mut h, &observed.installed);
    format!("blake3:{}", h.finalize().to_hex())
}
