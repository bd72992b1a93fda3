//! Remotes, `push` and `pull` of the `.cec` repository. A pull only fast-forwards, only into a
//! clean `.cec`, and only to a commit whose manifest and lock parse: anything else is refused
//! with nothing changed.

use super::{CecError, Result};
use crate::git::{self, cec};
use crate::manifest::{LOCK_FILE, Lock, Manifest};
use crate::types::{GitCommit, RepoUrl};
use std::path::Path;

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// The remote has nothing new.
    UpToDate,
    /// The local branch has commits the remote lacks, and nothing else: push them.
    Ahead,
    /// The branch moved from `from` to `to`.
    FastForwarded { from: Option<GitCommit>, to: GitCommit },
}

fn check_name(name: &str) -> Result<()> {
    if cec::is_valid_remote_name(name) {
        Ok(())
    } else {
        Err(CecError::InvalidRemoteName { name: name.to_string() })
    }
}

/// Adds (or re-points) remote `name`. A local path is stored absolute, since git runs in `.cec`.
pub fn add_remote(cec_dir: &Path, name: &str, url: &RepoUrl) -> Result<String> {
    check_name(name)?;
    let path = Path::new(url.as_str());
    let stored = match path.exists() {
        true => fs_err::canonicalize(path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| url.to_string()),
        false => url.to_string(),
    };
    cec::set_remote(cec_dir, name, &stored)?;
    Ok(stored)
}

pub fn remotes(cec_dir: &Path) -> Result<Vec<(String, String)>> {
    Ok(cec::remotes(cec_dir)?)
}

/// The branch to push or pull, after checking the remote exists.
fn branch_and_remote(cec_dir: &Path, remote: &str) -> Result<String> {
    check_name(remote)?;
    let known = cec::remotes(cec_dir)?;
    if !known.iter().any(|(n, _)| n == remote) {
        return Err(CecError::NoRemote {
            cec: cec_dir.to_path_buf(),
            name: remote.to_string(),
            known: match known.is_empty() {
                true => "none".into(),
                false => known.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
            },
        });
    }
    cec::current_branch(cec_dir)?.ok_or_else(|| CecError::Detached {
        cec: cec_dir.to_path_buf(),
    })
}

/// Pushes the current branch to `remote`; returns the branch name.
pub fn push(cec_dir: &Path, remote: &str) -> Result<String> {
    let branch = branch_and_remote(cec_dir, remote)?;
    if git::head_commit(cec_dir)?.is_none() {
        return Err(CecError::NoCommits);
    }
    match git::push_branch(cec_dir, remote, &branch) {
        Err(git::GitError::Command { stderr, .. }) if stderr.contains("[rejected]") => Err(CecError::PushRejected {
            remote: remote.to_string(),
            branch,
        }),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(branch),
    }
}

/// Fetches the current branch from `remote` and fast-forwards to it.
pub fn pull(cec_dir: &Path, remote: &str) -> Result<PullOutcome> {
    let branch = branch_and_remote(cec_dir, remote)?;
    let dirty = cec::uncommitted_files(cec_dir)?;
    if !dirty.is_empty() {
        return Err(CecError::Uncommitted {
            cec: cec_dir.to_path_buf(),
            files: dirty.join(", "),
        });
    }
    git::fetch_branch(cec_dir, remote, &branch)?;
    let theirs = cec::ref_commit(cec_dir, &format!("refs/remotes/{remote}/{branch}"))?.ok_or_else(|| {
        CecError::NoRemoteBranch {
            remote: remote.to_string(),
            branch: branch.clone(),
        }
    })?;
    let local = git::head_commit(cec_dir)?;
    if let Some(local) = &local {
        if *local == theirs || cec::is_ancestor(cec_dir, &theirs, local)? {
            return Ok(if *local == theirs {
                PullOutcome::UpToDate
            } else {
                PullOutcome::Ahead
            });
        }
        if !cec::is_ancestor(cec_dir, local, &theirs)? {
            return Err(CecError::Diverged {
                cec: cec_dir.display().to_string(),
                local: crate::plan::short(local.as_str()).to_string(),
                theirs: crate::plan::short(theirs.as_str()).to_string(),
                remote: remote.to_string(),
                branch,
            });
        }
    }
    check_state(cec_dir, &theirs)?;
    cec::fast_forward(cec_dir, &branch, &theirs)?;
    Ok(PullOutcome::FastForwarded {
        from: local,
        to: theirs,
    })
}

/// The pulled commit's manifest and lock become typed values before anything moves: a
/// commit that does not parse is refused here, not discovered by the next apply.
fn check_state(cec_dir: &Path, commit: &GitCommit) -> Result<()> {
    let invalid = |reason: String| CecError::InvalidPulledState {
        commit: crate::plan::short(commit.as_str()).to_string(),
        reason,
    };
    let read = |name: &str| -> Result<Option<String>> {
        match git::read_file_at(cec_dir, commit, name)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| invalid(format!("{name} is not UTF-8 text"))),
        }
    };
    let short = crate::plan::short(commit.as_str());
    // Messages name the file in the pulled commit (`<commit>:pyproject.toml`), not the local one.
    let in_commit = |name: &str| std::path::PathBuf::from(format!("{short}:{name}"));
    let bad_file = |problem| CecError::InvalidPulledFile {
        commit: short.to_string(),
        problems: vec![problem],
    };
    let links = git::links_at(cec_dir, commit)?;
    if !links.is_empty() {
        return Err(invalid(format!(
            "it holds symbolic links or submodules ({}): comfydock writes inside .cec and never through a link; replace them with the files themselves",
            links.join(", ")
        )));
    }
    // uv runs the interpreter `.python-version` names: it must be a version, never a path.
    if let Some(pinned) = read(".python-version")?
        && pinned.trim().parse::<crate::types::PythonVersion>().is_err()
    {
        return Err(invalid(format!(
            ".python-version holds `{}`, not a Python version",
            pinned.trim().chars().take(80).collect::<String>()
        )));
    }
    let manifest = read("pyproject.toml")?.ok_or_else(|| invalid("it has no pyproject.toml".into()))?;
    Manifest::parse(&in_commit("pyproject.toml"), &manifest).map_err(bad_file)?;
    if let Some(lock) = read(LOCK_FILE)? {
        Lock::parse(&in_commit(LOCK_FILE), &lock).map_err(bad_file)?;
    }
    Ok(())
}
