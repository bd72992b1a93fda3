//! `comfydock export`: the environment's `.cec` as one bundle another machine can rebuild from.
//!
//! Export refuses what another machine could not rebuild, listing each case: dev nodes (a path
//! on this machine), models without a source, a lock that no longer matches its manifest, and
//! an environment that differs from its lock. Each kind may be allowed; it is then recorded in
//! `bundle.json` as a warning.

use super::bundle::{self, BundleManifest, BundleModel, FileEntry};
use super::cec_files;
use super::error::{PortabilityError, Result};
use crate::manifest::LockedNode;
use crate::reconcile::{ReconcileError, Session};
use crate::resolve::Freshness;
use crate::types::{Blake3, RelPath};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The kinds of refusal `--allow` turns into warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Allow {
    DevNodes,
    SourcelessModels,
    StaleLock,
    Drift,
}

impl Allow {
    pub fn flag(self) -> &'static str {
        match self {
            Allow::DevNodes => "dev-nodes",
            Allow::SourcelessModels => "sourceless-models",
            Allow::StaleLock => "stale-lock",
            Allow::Drift => "drift",
        }
    }
}

impl std::str::FromStr for Allow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dev-nodes" => Ok(Allow::DevNodes),
            "sourceless-models" => Ok(Allow::SourcelessModels),
            "stale-lock" => Ok(Allow::StaleLock),
            "drift" => Ok(Allow::Drift),
            _ => Err("one of dev-nodes, sourceless-models, stale-lock, drift".into()),
        }
    }
}

pub struct ExportOptions {
    pub out: PathBuf,
    pub allow: BTreeSet<Allow>,
    /// Also write the models list as `<out>.models.json`, for fetching models ahead of import.
    pub include_models_manifest: bool,
}

pub struct Exported {
    pub manifest: BundleManifest,
    pub files: usize,
    pub bytes: u64,
    /// `<out>.models.json` when asked for.
    pub models_manifest: Option<PathBuf>,
}

pub fn export<A>(session: &Session<'_, A>, opts: &ExportOptions) -> Result<Exported> {
    if opts.out.exists() {
        return Err(PortabilityError::OutputExists { path: opts.out.clone() });
    }
    let manifest = session.manifest()?;
    let lock = session.lock_on_disk()?.ok_or(ReconcileError::NoLock)?;
    if !session.env.cec.join("uv.lock").is_file() {
        return Err(ReconcileError::NoUvLock.into());
    }

    let mut found: Vec<(Allow, String)> = Vec::new();
    for (id, node) in &lock.nodes {
        if let LockedNode::Dev(dev) = node {
            found.push((
                Allow::DevNodes,
                format!("node `{id}` is a dev node linked from {}", dev.path),
            ));
        }
    }
    for (key, model) in &lock.models {
        if model.sources.is_empty() {
            found.push((
                Allow::SourcelessModels,
                format!("model `{key}` ({}) has no source to download it from", model.filename),
            ));
        }
    }
    match session.freshness(&manifest)? {
        Freshness::Fresh => {
            // The environment on disk against its lock: what is exported is what runs here.
            let resolved = crate::resolve::Resolved {
                lock: lock.clone(),
                uv_lock: std::fs::read(session.env.cec.join("uv.lock"))
                    .map_err(PortabilityError::io(&session.env.cec))?,
                pyproject: None,
            };
            let planned = session.plan(&resolved)?;
            for action in &planned.plan.actions {
                found.push((
                    Allow::Drift,
                    format!("the environment differs from its lock: {}", action.describe()),
                ));
            }
        }
        Freshness::Missing => return Err(ReconcileError::NoLock.into()),
        Freshness::Stale(reason) => found.push((Allow::StaleLock, format!("the lock is out of date: {reason}"))),
    }
    let (allowed, refused): (Vec<_>, Vec<_>) = found.into_iter().partition(|(kind, _)| opts.allow.contains(kind));
    if !refused.is_empty() {
        return Err(PortabilityError::ExportRefused {
            problems: refused
                .into_iter()
                .map(|(kind, text)| format!("{text} (--allow {})", kind.flag()))
                .collect(),
        });
    }

    let files = cec_files::list(&session.env.cec)?;
    let mut entries = std::collections::BTreeMap::new();
    let mut bytes = 0;
    for rel in &files {
        let path = session.env.cec.join(rel);
        let content = std::fs::read(&path).map_err(PortabilityError::io(&path))?;
        bytes += content.len() as u64;
        let key: RelPath = rel
            .parse()
            .map_err(|e: crate::types::InvalidValue| PortabilityError::Io {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
        entries.insert(
            key,
            FileEntry {
                size: content.len() as u64,
                blake3: Blake3::of_bytes(&content),
            },
        );
    }
    let env_name = session.env.name.parse().map_err(|_| PortabilityError::NoName)?;
    let manifest = BundleManifest {
        format_version: bundle::FORMAT_VERSION,
        comfydock_version: env!("CARGO_PKG_VERSION").to_string(),
        created: crate::clock::rfc3339(crate::clock::now_secs()),
        environment: env_name,
        files: entries,
        models: BundleModel::from_lock(&lock),
        warnings: allowed
            .into_iter()
            .map(|(kind, text)| format!("{text} (allowed with --allow {})", kind.flag()))
            .collect(),
    };
    bundle::write(&opts.out, &session.env.cec, &files, &manifest)?;
    let models_manifest = if opts.include_models_manifest {
        let path = models_manifest_path(&opts.out);
        let json = serde_json::to_vec_pretty(&serde_json::json!({
            "format_version": bundle::FORMAT_VERSION,
            "models": manifest.models,
        }))
        .map_err(|e| PortabilityError::io(&path)(std::io::Error::other(e)))?;
        crate::fsx::write_atomic(&path, &json).map_err(PortabilityError::io(&path))?;
        Some(path)
    } else {
        None
    };
    Ok(Exported {
        files: files.len(),
        bytes,
        manifest,
        models_manifest,
    })
}

fn models_manifest_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".models.json");
    out.with_file_name(name)
}
