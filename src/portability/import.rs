//! `comfydock import SOURCE`: a new environment of this workspace from a `.cec` folder, a git
//! repository holding one, or a bundle made by `export`.
//!
//! The source's files are checked before anything is created (bundle hashes, manifest and lock
//! parse, the lock matches its manifest and uv.lock). Then the environment folder is claimed,
//! the files are copied byte for byte, and generation 1 is applied from the lock exactly as
//! `apply --locked` would. What was installed is verified (node trees, uv.lock, models) and the
//! plan made afterwards must be empty. Any failure removes the folder: a failed import leaves
//! no environment behind.

use super::bundle;
use super::cec_files;
use super::error::{PortabilityError, Result};
use crate::manifest::{LOCK_FILE, Lock, Manifest};
use crate::progress::Reporter;
use crate::reconcile::{LockMode, ReconcileError, Session};
use crate::resolve::{Freshness, Update};
use crate::types::EnvName;
use crate::workspace::{EnvPaths, Workspace, WorkspaceError};
use std::fs;
use std::path::{Path, PathBuf};

/// How the environment's models are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelPolicy {
    /// From a local file with the same content when the index has one, else downloaded.
    #[default]
    Download,
    /// Only from local files (a shared model volume): a model without one is refused up front.
    Link,
    /// Not placed: this machine leaves the models out of its plans until `apply --place-models`.
    Skip,
}

pub struct ImportOptions {
    pub source: String,
    pub subdir: Option<String>,
    pub name: Option<EnvName>,
    pub torch_backend: Option<crate::types::TorchBackend>,
    pub models: ModelPolicy,
    /// Resolve again instead of refusing a lock that does not match its manifest.
    pub update: bool,
    pub offline: bool,
}

/// Where the `.cec` came from, for messages and the generation's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Bundle,
    Folder,
    Git,
}

pub struct Imported {
    pub env: EnvPaths,
    pub kind: SourceKind,
    pub files: usize,
    pub nodes: usize,
    pub models: usize,
    /// Items re-hashed by the final verification.
    pub verified: usize,
    /// Warnings the bundle carries from its export.
    pub warnings: Vec<String>,
}

/// The source's `.cec` files, checked, in a folder that lives as long as this value.
struct Staged {
    kind: SourceKind,
    cec: PathBuf,
    files: Vec<String>,
    default_name: Option<String>,
    bundle: Option<bundle::BundleManifest>,
    /// A git repository whose root is the `.cec`: the clone becomes the environment's `.cec`,
    /// history and `origin` included, so `pull` follows it.
    history: Option<PathBuf>,
    _keep: Option<Box<dyn std::any::Any>>,
}

pub fn import(ws: &Workspace, opts: &ImportOptions, reporter: &dyn Reporter) -> Result<Imported> {
    let staged = stage_source(ws, opts, reporter)?;
    let manifest_text = read_text(&staged.cec, "pyproject.toml", "pyproject.toml")?;
    let manifest = Manifest::parse(&staged.cec.join("pyproject.toml"), &manifest_text)?;
    let lock_text = read_text(&staged.cec, LOCK_FILE, "comfydock.lock")?;
    let lock = Lock::parse(&staged.cec.join(LOCK_FILE), &lock_text)?;
    let uv_lock = fs::read(staged.cec.join("uv.lock")).map_err(|_| PortabilityError::MissingFile {
        dir: staged.cec.clone(),
        what: "uv.lock",
    })?;
    if !opts.update
        && let Freshness::Stale(reason) = crate::resolve::freshness(&manifest, Some(&lock), Some(&uv_lock))
    {
        return Err(PortabilityError::StaleLock { reason });
    }
    if let Some(b) = &staged.bundle {
        check_models(b, &lock)?;
    }
    // A dev node (exported with `--allow dev-nodes`) links a folder that must exist here.
    for (id, node) in &lock.nodes {
        if let crate::manifest::LockedNode::Dev(dev) = node
            && !Path::new(&dev.path).is_dir()
        {
            return Err(PortabilityError::DevNodeMissing {
                id: id.to_string(),
                path: dev.path.clone(),
            });
        }
    }
    if opts.models == ModelPolicy::Link {
        check_models_local(ws, &lock)?;
    }

    let name: EnvName = match (&opts.name, &staged.default_name) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n.parse().map_err(|_| PortabilityError::NoName)?,
        (None, None) => name_from_project(&manifest_text).ok_or(PortabilityError::NoName)?,
    };
    let paths = EnvPaths::new(ws.environments_dir().join(name.as_str()), name.as_str());
    match fs::create_dir(&paths.root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(WorkspaceError::AlreadyExists { name: name.to_string() }.into());
        }
        Err(source) => {
            return Err(PortabilityError::Io {
                path: paths.root,
                source,
            });
        }
    }
    let result = build(ws, &paths, &staged, opts, reporter);
    if result.is_err() {
        let _ = fs::remove_dir_all(&paths.root);
    }
    let verified = result?;
    Ok(Imported {
        env: paths,
        kind: staged.kind.clone(),
        files: staged.files.len(),
        nodes: lock.nodes.len(),
        models: lock.models.len(),
        verified,
        warnings: staged.bundle.map(|b| b.warnings).unwrap_or_default(),
    })
}

fn build(
    ws: &Workspace,
    paths: &EnvPaths,
    staged: &Staged,
    opts: &ImportOptions,
    reporter: &dyn Reporter,
) -> Result<usize> {
    fs::create_dir_all(&paths.state).map_err(PortabilityError::io(&paths.state))?;
    crate::fsx::write_atomic(&paths.creating_marker(), b"").map_err(PortabilityError::io(&paths.state))?;
    if opts.models == ModelPolicy::Skip {
        let marker = paths.models_skipped_marker();
        crate::fsx::write_atomic(
            &marker,
            b"Imported with --models skip: `comfydock apply --place-models` places the models.\n",
        )
        .map_err(PortabilityError::io(&paths.state))?;
    }
    match &staged.history {
        // A GitOps repository: kept whole, so `pull --apply` follows its branch from `origin`.
        Some(clone) => {
            fs::rename(clone, &paths.cec).map_err(PortabilityError::io(&paths.cec))?;
            crate::git::checkout_head(&paths.cec)?;
        }
        None => {
            cec_files::copy(&staged.cec, &paths.cec, &staged.files)?;
            crate::git::init_repo(&paths.cec)?;
        }
    }

    let mut session = Session::writer(ws, paths.clone(), reporter, "import")?.offline(opts.offline);
    session.torch_backend = opts.torch_backend.clone();
    let manifest = session.manifest()?;
    let resolved = if opts.update {
        // As `comfydock lock`: the lock's pins stay where the manifest still allows them.
        let resolved = session.resolve(&manifest, &Update::Nothing)?;
        session.write_lock(&resolved)?;
        resolved
    } else {
        session.desired(&manifest, LockMode::Locked)?.resolved
    };
    let planned = session.plan(&resolved)?;
    let what = match staged.kind {
        SourceKind::Bundle => "bundle",
        SourceKind::Folder => "folder",
        SourceKind::Git => "repository",
    };
    session.apply(&resolved, &planned, &format!("Import from {what} {}", opts.source))?;

    // What was installed, re-hashed against the lock.
    let lock = session.lock_on_disk()?.ok_or(ReconcileError::NoLock)?;
    let installed = crate::observe::Installed::load(&paths.state).map_err(PortabilityError::io(&paths.state))?;
    let report =
        crate::reconcile::verify(ws, paths, &lock, &installed, true).map_err(PortabilityError::io(&paths.root))?;
    if !report.problems.is_empty() {
        return Err(PortabilityError::VerifyFailed {
            problems: report
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.subject, p.detail))
                .collect(),
        });
    }
    // The equivalent of `plan --detailed-exitcode` == 0.
    let again = session.plan(&resolved)?;
    if !again.plan.is_empty() {
        return Err(PortabilityError::NotConverged {
            count: again.plan.actions.len(),
        });
    }
    drop(session);
    fs::remove_file(paths.creating_marker()).map_err(PortabilityError::io(&paths.state))?;
    Ok(report.checked)
}

/// `comfydock-env-NAME` in `[project] name`, as `create` writes it.
fn name_from_project(manifest_text: &str) -> Option<EnvName> {
    let doc: toml::Table = manifest_text.parse().ok()?;
    let project = doc.get("project")?.get("name")?.as_str()?;
    project.strip_prefix("comfydock-env-")?.parse().ok()
}

fn read_text(dir: &Path, file: &str, what: &'static str) -> Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|_| PortabilityError::MissingFile {
        dir: dir.to_path_buf(),
        what,
    })
}

/// The source made into a checked folder of `.cec` files.
fn stage_source(ws: &Workspace, opts: &ImportOptions, reporter: &dyn Reporter) -> Result<Staged> {
    let no_cec = || PortabilityError::NoCec {
        source_text: opts.source.clone(),
        subdir: opts.subdir.clone(),
    };
    let subdir = match &opts.subdir {
        Some(s) => Some(
            s.trim_end_matches('/')
                .parse::<crate::types::RelPath>()
                .map_err(|_| no_cec())?,
        ),
        None => None,
    };
    let path = Path::new(&opts.source);
    if path.is_file() {
        reporter.step(&format!("Checking bundle {}", path.display()));
        let opened = bundle::open(path, ws.root())?;
        return Ok(Staged {
            kind: SourceKind::Bundle,
            cec: opened.cec.clone(),
            files: opened.files.clone(),
            default_name: Some(opened.manifest.environment.to_string()),
            history: None,
            bundle: Some(opened.manifest.clone()),
            _keep: Some(Box::new(opened)),
        });
    }
    if path.is_dir() && !is_bare_repo(path) {
        let cec = find_cec(path, subdir.as_ref()).ok_or_else(no_cec)?;
        return Ok(Staged {
            kind: SourceKind::Folder,
            files: cec_files::list(&cec)?,
            default_name: None,
            cec,
            bundle: None,
            history: None,
            _keep: None,
        });
    }
    if !path.exists() && !looks_remote(&opts.source) {
        return Err(PortabilityError::NoSource {
            source_text: opts.source.clone(),
        });
    }
    // A git URL, or a bare repository: cloned, and the files of its HEAD commit used.
    reporter.step(&format!("Cloning {}", opts.source));
    let scratch = tempfile::Builder::new()
        .prefix(&crate::fsx::scratch_prefix(super::IMPORT_SCRATCH))
        .tempdir_in(ws.root())
        .map_err(PortabilityError::io(ws.root()))?;
    let clone = scratch.path().join("clone");
    crate::git::clone(&opts.source, &clone)?;
    let head = crate::git::head_commit(&clone)?.ok_or_else(no_cec)?;
    let tree = scratch.path().join("tree");
    crate::git::export_tree(&clone, &head, &tree)?;
    let cec = find_cec(&tree, subdir.as_ref()).ok_or_else(no_cec)?;
    let history = (cec == tree).then_some(clone.clone());
    if history.is_some() {
        // The whole repository becomes `.cec`: it must hold nothing comfydock would follow out.
        let links = crate::git::links_at(&clone, &head)?;
        if !links.is_empty() {
            return Err(PortabilityError::UnsafeRepository {
                links: links.join(", "),
            });
        }
    }
    Ok(Staged {
        kind: SourceKind::Git,
        files: cec_files::list(&cec)?,
        default_name: None,
        cec,
        bundle: None,
        history,
        _keep: Some(Box::new(scratch)),
    })
}

/// The folder holding `pyproject.toml` and `comfydock.lock`: `root/subdir`, else `root`, else
/// `root/.cec`.
fn find_cec(root: &Path, subdir: Option<&crate::types::RelPath>) -> Option<PathBuf> {
    let is_cec = |p: &Path| p.join("pyproject.toml").is_file() && p.join(LOCK_FILE).is_file();
    let candidates = match subdir {
        Some(s) => vec![root.join(s.as_str()), root.join(s.as_str()).join(".cec")],
        None => vec![root.to_path_buf(), root.join(".cec")],
    };
    candidates.into_iter().find(|p| is_cec(p))
}

/// A URL (`scheme://…`) or git's scp-like `host:path` (a `:` before any `/`).
fn looks_remote(source: &str) -> bool {
    source.contains("://")
        || source
            .split_once(':')
            .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'))
}

fn is_bare_repo(path: &Path) -> bool {
    path.join("HEAD").is_file() && path.join("objects").is_dir() && path.join("refs").is_dir()
}

/// bundle.json's models must be the lock's, hash for hash.
fn check_models(manifest: &bundle::BundleManifest, lock: &Lock) -> Result<()> {
    let from_lock = bundle::BundleModel::from_lock(lock);
    for (key, model) in &manifest.models {
        match from_lock.get(key) {
            None => {
                return Err(PortabilityError::ModelMismatch {
                    key: key.to_string(),
                    reason: "the lock has no such model".into(),
                });
            }
            Some(locked) if locked != model => {
                return Err(PortabilityError::ModelMismatch {
                    key: key.to_string(),
                    reason: format!("bundle.json records {}, the lock {}", model.blake3, locked.blake3),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(key) = from_lock.keys().find(|k| !manifest.models.contains_key(*k)) {
        return Err(PortabilityError::ModelMismatch {
            key: key.to_string(),
            reason: "bundle.json does not list it".into(),
        });
    }
    Ok(())
}

fn check_models_local(ws: &Workspace, lock: &Lock) -> Result<()> {
    if lock.models.is_empty() {
        return Ok(());
    }
    let index = crate::models::ModelIndex::open(&crate::models::index_path(ws)).ok();
    let missing: Vec<String> = lock
        .models
        .iter()
        .filter(|(_, m)| {
            index
                .as_ref()
                .and_then(|i| crate::models::local_file(i, &m.blake3.to_string()))
                .is_none()
        })
        .map(|(k, _)| k.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PortabilityError::ModelsNotLocal { keys: missing })
    }
}
