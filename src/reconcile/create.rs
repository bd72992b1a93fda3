//! `create`: a new environment from a ComfyUI repository, with its venv built by uv.
//!
//! The environment folder is claimed with a non-recursive `mkdir` (two concurrent creates of
//! one name cannot both win) and marked as incomplete until the last step. Any failure removes
//! the folder again: it holds nothing but what this call made.

use super::{ReconcileError, Session};
use crate::manifest::{Manifest, NewEnvironment, new_pyproject};
use crate::progress::Reporter;
use crate::resolve::Update;
use crate::store::GitCache;
use crate::types::{EnvName, GitRef, PythonVersion, RepoUrl, TorchBackend};
use crate::workspace::{EnvPaths, Workspace, WorkspaceError};
use crate::{fsx, git, python};
use std::path::Path;

pub struct CreateOptions {
    pub name: EnvName,
    /// Tag, branch or commit; None picks the newest release tag.
    pub comfyui_ref: Option<GitRef>,
    pub comfyui_repo: RepoUrl,
    /// `3.12`; None takes the Python uv finds.
    pub python: Option<PythonVersion>,
    /// Backends the lock covers (`cpu`, `cu124`, ...); empty: torch as the requirements say.
    pub torch_backends: Vec<TorchBackend>,
}

const CEC_GITIGNORE: &str = "# Written by comfydock. Temporary files of interrupted writes:\n.comfydock-tmp-*\n";

type Result<T, E = ReconcileError> = std::result::Result<T, E>;

pub fn create_environment(ws: &Workspace, opts: &CreateOptions, reporter: &dyn Reporter) -> Result<EnvPaths> {
    let uv = ws.uv()?;
    let paths = EnvPaths::new(ws.environments_dir().join(&opts.name), &opts.name);
    match fs_err::create_dir(&paths.root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(WorkspaceError::AlreadyExists {
                name: opts.name.to_string(),
            }
            .into());
        }
        Err(source) => {
            return Err(WorkspaceError::Io {
                path: paths.root.clone(),
                source,
            }
            .into());
        }
    }
    let result = build(ws, &paths, opts, &uv, reporter);
    if result.is_err() {
        let _ = fs_err::remove_dir_all(&paths.root);
    }
    result.map(|()| paths)
}

fn build(
    ws: &Workspace,
    paths: &EnvPaths,
    opts: &CreateOptions,
    uv: &python::Uv,
    reporter: &dyn Reporter,
) -> Result<()> {
    fs_err::create_dir_all(&paths.state)?;
    fsx::write_atomic(&paths.creating_marker(), b"")?;

    let repo = normalize_repo(&opts.comfyui_repo);
    let comfyui_ref = match &opts.comfyui_ref {
        Some(r) => r.clone(),
        None => {
            reporter.step(&format!("Finding the newest ComfyUI release in {repo}"));
            let tag = git::newest_tag(&repo)?;
            tag.parse()
                .map_err(|_| git::GitError::NoTags { repo: repo.to_string() })?
        }
    };
    reporter.step(&format!("Fetching ComfyUI from {repo}"));
    let mirror = GitCache::new(&ws.store_dir()).update(&repo)?;
    let commit = git::resolve_rev(&mirror, &comfyui_ref).map_err(|e| match e {
        git::GitError::RevNotFound { rev, .. } => git::GitError::RevNotFound {
            rev,
            repo: repo.to_string(),
        },
        other => other,
    })?;
    let requirements = match git::read_file_at(&mirror, &commit, "requirements.txt")? {
        Some(bytes) => python::parse_requirements(&String::from_utf8_lossy(&bytes)),
        None => python::Requirements::default(),
    };
    if !requirements.rejected.is_empty() {
        let details = requirements
            .rejected
            .iter()
            .map(|r| format!("requirements.txt line {}: `{}`: {}", r.line, r.text, r.reason))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(WorkspaceError::Requirements { details }.into());
    }

    let python_version = match &opts.python {
        Some(v) => v.clone(),
        None => {
            let found = uv.python_version(None)?;
            found.parse().map_err(|_| python::UvError::Failed {
                args: "python find".into(),
                stderr: format!("uv found a Python whose version reads {found:?}"),
            })?
        }
    };
    let text = new_pyproject(&NewEnvironment {
        name: &opts.name,
        comfyui_version: &comfyui_ref,
        comfyui_repo: &repo,
        python_version: &python_version,
        torch_backends: &opts.torch_backends,
    });
    let mut manifest = Manifest::parse(&paths.pyproject(), &text)?;
    manifest.set_dependencies(&requirements.accepted);
    fs_err::create_dir_all(paths.cec.join("workflows"))?;
    manifest.save()?;
    fsx::write_atomic(&paths.cec.join(".gitignore"), CEC_GITIGNORE.as_bytes())?;
    fsx::write_atomic(&paths.cec.join("workflows/.gitkeep"), b"")?;
    fsx::write_atomic(
        &paths.cec.join(".python-version"),
        format!("{python_version}\n").as_bytes(),
    )?;
    git::init_repo(&paths.cec)?;

    // From here on it is the ordinary reconcile loop: lock, plan, apply generation 1.
    let mut session = Session::writer(ws, paths.clone(), reporter, "create")?;
    let resolved = session.resolve(&manifest, &Update::Nothing)?;
    session.write_lock(&resolved)?;
    let planned = session.plan(&resolved)?;
    session.apply(
        &resolved,
        &planned,
        &format!("Create environment {} (ComfyUI {comfyui_ref})", opts.name),
    )?;
    drop(session);
    fs_err::remove_file(paths.creating_marker())?;
    Ok(())
}

/// A local path becomes absolute, so the manifest means the same thing from any directory.
fn normalize_repo(repo: &RepoUrl) -> RepoUrl {
    let path = Path::new(repo.as_str());
    if !repo.contains("://")
        && path.exists()
        && let Ok(abs) = fs_err::canonicalize(path)
        && let Ok(abs) = abs.display().to_string().parse()
    {
        return abs;
    }
    repo.clone()
}
