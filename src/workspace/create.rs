//! `create`: a new environment from a ComfyUI repository, with its venv built by uv.
//!
//! The environment folder is claimed with a non-recursive `mkdir` (two concurrent creates of
//! one name cannot both win) and marked as incomplete until the last step. Any failure removes
//! the folder again: it holds nothing but what this call made.

use super::{EnvPaths, Result, Workspace, WorkspaceError, validate_env_name};
use crate::manifest::{Manifest, NewEnvironment, new_pyproject};
use crate::progress::Reporter;
use crate::{fsx, git, python};
use std::fs;
use std::path::Path;

pub const DEFAULT_COMFYUI_REPO: &str = "https://github.com/comfyanonymous/ComfyUI";

pub struct CreateOptions {
    pub name: String,
    /// Tag, branch or commit; None picks the newest release tag.
    pub comfyui_ref: Option<String>,
    pub comfyui_repo: String,
    /// `3.12` or any request uv understands; None takes the Python uv finds.
    pub python: Option<String>,
    pub torch_backend: String,
}

const CEC_GITIGNORE: &str = "# Written by comfydock. Temporary files of interrupted writes:\n.comfydock-tmp-*\n";

pub fn create_environment(ws: &Workspace, opts: &CreateOptions, reporter: &dyn Reporter) -> Result<EnvPaths> {
    validate_env_name(&opts.name)?;
    let uv = ws.uv()?;
    let paths = EnvPaths::new(ws.environments_dir().join(&opts.name), &opts.name);
    match fs::create_dir(&paths.root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(WorkspaceError::AlreadyExists {
                name: opts.name.clone(),
            });
        }
        Err(source) => {
            return Err(WorkspaceError::Io {
                path: paths.root.clone(),
                source,
            });
        }
    }
    let result = build(&paths, opts, &uv, reporter);
    if result.is_err() {
        let _ = fs::remove_dir_all(&paths.root);
    }
    result.map(|()| paths)
}

fn build(paths: &EnvPaths, opts: &CreateOptions, uv: &python::Uv, reporter: &dyn Reporter) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WorkspaceError::Io { path, source }
    };
    fs::create_dir_all(&paths.state).map_err(io(&paths.state))?;
    fsx::write_atomic(&paths.creating_marker(), b"").map_err(io(&paths.state))?;

    let repo = normalize_repo(&opts.comfyui_repo);
    let comfyui_ref = match &opts.comfyui_ref {
        Some(r) => r.clone(),
        None => {
            reporter.step(&format!("Finding the newest ComfyUI release in {repo}"));
            git::newest_tag(&repo)?
        }
    };
    reporter.step(&format!("Cloning ComfyUI {comfyui_ref} from {repo}"));
    git::clone(&repo, &paths.comfyui)?;
    let commit = git::resolve_rev(&paths.comfyui, &comfyui_ref).map_err(|e| match e {
        git::GitError::RevNotFound { rev, .. } => git::GitError::RevNotFound {
            rev,
            repo: repo.clone(),
        },
        other => other,
    })?;
    git::checkout_detached(&paths.comfyui, &commit)?;

    let requirements_path = paths.comfyui.join("requirements.txt");
    let requirements = match fs::read_to_string(&requirements_path) {
        Ok(text) => python::parse_requirements(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => python::Requirements::default(),
        Err(source) => {
            return Err(WorkspaceError::Io {
                path: requirements_path,
                source,
            });
        }
    };
    if !requirements.rejected.is_empty() {
        let details = requirements
            .rejected
            .iter()
            .map(|r| format!("requirements.txt line {}: `{}`: {}", r.line, r.text, r.reason))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(WorkspaceError::Requirements { details });
    }

    let python_version = match &opts.python {
        Some(v) => v.clone(),
        None => uv.python_version(None)?,
    };
    let text = new_pyproject(&NewEnvironment {
        name: &opts.name,
        comfyui_version: &comfyui_ref,
        comfyui_repo: &repo,
        python_version: &python_version,
        torch_backend: &opts.torch_backend,
    });
    let mut manifest = Manifest::parse(&paths.pyproject(), &text)?;
    manifest.set_dependencies(&requirements.accepted);
    fs::create_dir_all(paths.cec.join("workflows")).map_err(io(&paths.cec))?;
    manifest.save().map_err(io(&paths.cec))?;
    fsx::write_atomic(&paths.cec.join(".gitignore"), CEC_GITIGNORE.as_bytes()).map_err(io(&paths.cec))?;
    fsx::write_atomic(&paths.cec.join("workflows/.gitkeep"), b"").map_err(io(&paths.cec))?;
    fsx::write_atomic(
        &paths.cec.join(".python-version"),
        format!("{python_version}\n").as_bytes(),
    )
    .map_err(io(&paths.cec))?;

    reporter.step("Resolving Python packages (uv lock)");
    uv.lock(&paths.cec)?;
    reporter.step("Installing Python packages (uv sync)");
    uv.sync_frozen(&paths.cec, &paths.venv, &[])?;

    git::init_repo(&paths.cec)?;
    git::commit_all(
        &paths.cec,
        &format!("Create environment {} (ComfyUI {comfyui_ref})", opts.name),
    )?;
    fs::remove_file(paths.creating_marker()).map_err(io(&paths.state))?;
    Ok(())
}

/// A local path becomes absolute, so the manifest means the same thing from any directory.
fn normalize_repo(repo: &str) -> String {
    let path = Path::new(repo);
    if !repo.contains("://")
        && path.exists()
        && let Ok(abs) = fs::canonicalize(path)
    {
        return abs.display().to_string();
    }
    repo.to_string()
}
