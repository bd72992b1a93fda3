//! The `.cec` repository's local side through libgit2: its state (uncommitted files, branch,
//! history), its remotes, and the fast-forward a pull ends with. The network side (push,
//! fetch) is in `remote.rs`, through the `git` command.

use super::Result;
use super::local::{local, open};
use crate::types::GitCommit;
use git2::{ObjectType, Oid};
use std::path::Path;

fn to_commit(oid: Oid) -> Option<GitCommit> {
    oid.to_string().parse().ok()
}

/// One commit of the history: id, commit time (seconds since the epoch), first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: GitCommit,
    pub time: i64,
    pub summary: String,
}

/// Files that differ from HEAD: edited, added, deleted or untracked (ignored ones are not),
/// relative, sorted.
pub fn uncommitted_files(repo_path: &Path) -> Result<Vec<String>> {
    let repo = open(repo_path)?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo.statuses(Some(&mut opts)).map_err(local(repo_path))?;
    let mut files: Vec<String> = statuses
        .iter()
        .filter(|e| !e.status().is_ignored())
        .filter_map(|e| e.path().ok().map(str::to_string))
        .collect();
    files.sort();
    Ok(files)
}

/// The branch HEAD is on (None: detached or no repository state to tell).
pub fn current_branch(repo_path: &Path) -> Result<Option<String>> {
    let repo = open(repo_path)?;
    let head = match repo.find_reference("HEAD") {
        Ok(h) => h,
        Err(_) => return Ok(None),
    };
    Ok(head
        .symbolic_target()
        .ok()
        .flatten()
        .and_then(|t| t.strip_prefix("refs/heads/"))
        .map(str::to_string))
}

/// The commit a full reference name points to, if it exists.
pub fn ref_commit(repo_path: &Path, refname: &str) -> Result<Option<GitCommit>> {
    let repo = open(repo_path)?;
    let Ok(reference) = repo.find_reference(refname) else {
        return Ok(None);
    };
    Ok(reference.peel_to_commit().ok().and_then(|c| to_commit(c.id())))
}

/// True when `ancestor` is `descendant` or one of its ancestors.
pub fn is_ancestor(repo_path: &Path, ancestor: &GitCommit, descendant: &GitCommit) -> Result<bool> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let a = Oid::from_str(ancestor.as_str()).map_err(&err)?;
    let d = Oid::from_str(descendant.as_str()).map_err(&err)?;
    Ok(a == d || repo.graph_descendant_of(d, a).map_err(&err)?)
}

/// Moves `branch` (which HEAD is on) forward to `to`, updating the files: the checkout is
/// "safe", so a file changed since HEAD stops it before the branch moves.
pub fn fast_forward(repo_path: &Path, branch: &str, to: &GitCommit) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(to.as_str()).map_err(&err)?;
    let target = repo.find_object(oid, Some(ObjectType::Commit)).map_err(&err)?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.safe();
    repo.checkout_tree(&target, Some(&mut opts)).map_err(&err)?;
    repo.reference(
        &format!("refs/heads/{branch}"),
        oid,
        true,
        "comfydock pull: fast-forward",
    )
    .map_err(&err)?;
    repo.set_head(&format!("refs/heads/{branch}")).map_err(&err)
}

/// The first-parent history from HEAD, newest first, at most `limit` commits.
pub fn history(repo_path: &Path, limit: usize) -> Result<Vec<CommitInfo>> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let mut walk = repo.revwalk().map_err(&err)?;
    if walk.push_head().is_err() {
        return Ok(Vec::new());
    }
    walk.simplify_first_parent().map_err(&err)?;
    let mut out = Vec::new();
    for oid in walk.take(limit) {
        let oid = oid.map_err(&err)?;
        let commit = repo.find_commit(oid).map_err(&err)?;
        let Some(id) = to_commit(oid) else { continue };
        out.push(CommitInfo {
            id,
            time: commit.time().seconds(),
            summary: commit.summary().ok().flatten().unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

/// Remotes with their URLs, sorted by name.
pub fn remotes(repo_path: &Path) -> Result<Vec<(String, String)>> {
    let repo = open(repo_path)?;
    let names = repo.remotes().map_err(local(repo_path))?;
    let mut out: Vec<(String, String)> = names
        .iter()
        .flatten()
        .flatten()
        .filter_map(|n| {
            let remote = repo.find_remote(n).ok()?;
            Some((n.to_string(), remote.url().unwrap_or("").to_string()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// True when `name` can be a remote's name (git's rules: no spaces, `..`, leading `-`, ...).
pub fn is_valid_remote_name(name: &str) -> bool {
    !name.starts_with('-') && git2::Remote::is_valid_name(name)
}

/// Adds remote `name` at `url`, or points an existing one at `url`.
pub fn set_remote(repo_path: &Path, name: &str, url: &str) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    if repo.find_remote(name).is_ok() {
        repo.remote_set_url(name, url).map_err(&err)
    } else {
        repo.remote(name, url).map(drop).map_err(&err)
    }
}
