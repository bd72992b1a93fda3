//! Local repository work through libgit2.

use super::{GitError, Result};
use crate::types::GitCommit;
use git2::{IndexAddOption, ObjectType, Oid, Repository, Signature};
use std::path::Path;

fn local(path: &Path) -> impl Fn(git2::Error) -> GitError + '_ {
    move |source| GitError::Local {
        path: path.to_path_buf(),
        source,
    }
}

fn open(path: &Path) -> Result<Repository> {
    Repository::open(path).map_err(local(path))
}

fn oid_to_commit(oid: Oid) -> GitCommit {
    oid.to_string().parse().expect("git object ids are hex")
}

/// Resolves a tag, branch (local or `origin/`), or commit (full or abbreviated) to a commit id.
pub fn resolve_rev(repo_path: &Path, rev: &str) -> Result<GitCommit> {
    let repo = open(repo_path)?;
    let candidates = [
        format!("refs/tags/{rev}"),
        format!("refs/remotes/origin/{rev}"),
        format!("refs/heads/{rev}"),
        rev.to_string(),
    ];
    for spec in &candidates {
        if let Ok(obj) = repo.revparse_single(spec)
            && let Ok(commit) = obj.peel(ObjectType::Commit)
        {
            return Ok(oid_to_commit(commit.id()));
        }
    }
    Err(GitError::RevNotFound {
        rev: rev.to_string(),
        repo: repo_path.display().to_string(),
    })
}

/// Checks out `commit` with a detached HEAD, overwriting tracked files.
pub fn checkout_detached(repo_path: &Path, commit: &str) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit).map_err(&err)?;
    let obj = repo.find_object(oid, Some(ObjectType::Commit)).map_err(&err)?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.force();
    repo.checkout_tree(&obj, Some(&mut opts)).map_err(&err)?;
    repo.set_head_detached(oid).map_err(&err)
}

/// The commit HEAD points at, or None for a repository with no commits.
pub fn head_commit(repo_path: &Path) -> Result<Option<GitCommit>> {
    let repo = open(repo_path)?;
    let head = match repo.head() {
        Ok(h) => h,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => return Ok(None),
        Err(e) => return Err(local(repo_path)(e)),
    };
    Ok(head.peel_to_commit().ok().map(|c| oid_to_commit(c.id())))
}

/// True when the repository has `commit` (full id).
pub fn has_commit(repo_path: &Path, commit: &str) -> bool {
    let Ok(repo) = Repository::open(repo_path) else {
        return false;
    };
    Oid::from_str(commit).is_ok_and(|oid| repo.find_commit(oid).is_ok())
}

/// Writes the tree of `commit` into `dest` (no `.git`): how a git node pack enters the store.
pub fn export_tree(repo_path: &Path, commit: &str, dest: &Path) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit).map_err(&err)?;
    let obj = repo.find_commit(oid).map_err(&err)?.into_object();
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.target_dir(dest).force().recreate_missing(true);
    repo.checkout_tree(&obj, Some(&mut opts)).map_err(&err)
}

/// The content of `path` at `commit`, or None when the commit has no such file.
pub fn read_file_at(repo_path: &Path, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit).map_err(&err)?;
    let tree = repo.find_commit(oid).map_err(&err)?.tree().map_err(&err)?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    let blob = repo.find_blob(entry.id()).map_err(&err)?;
    Ok(Some(blob.content().to_vec()))
}

/// Creates an empty repository (harmless on an existing one).
pub fn init_repo(path: &Path) -> Result<()> {
    Repository::init(path).map(drop).map_err(local(path))
}

/// Stages every change (additions, edits, deletions) and commits it. Returns the new commit,
/// or the current HEAD when there was nothing to commit.
pub fn commit_all(repo_path: &Path, message: &str) -> Result<String> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let mut index = repo.index().map_err(&err)?;
    index.add_all(["*"], IndexAddOption::DEFAULT, None).map_err(&err)?;
    index.update_all(["*"], None).map_err(&err)?;
    index.write().map_err(&err)?;
    let tree_id = index.write_tree().map_err(&err)?;
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    if let Some(p) = &parent
        && p.tree_id() == tree_id
    {
        return Ok(p.id().to_string());
    }
    let tree = repo.find_tree(tree_id).map_err(&err)?;
    // The user's identity when git knows it; otherwise a neutral one, so a fresh machine works.
    let sig = repo
        .signature()
        .or_else(|_| Signature::now("comfydock", "comfydock@localhost"))
        .map_err(&err)?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let oid = repo
        .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .map_err(&err)?;
    Ok(oid.to_string())
}

/// Names in folder `dir` of `commit`'s tree (empty when there is no such folder).
pub fn list_dir_at(repo_path: &Path, commit: &str, dir: &str) -> Result<std::collections::BTreeSet<String>> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit).map_err(&err)?;
    let tree = repo.find_commit(oid).map_err(&err)?.tree().map_err(&err)?;
    let Ok(entry) = tree.get_path(Path::new(dir)) else {
        return Ok(Default::default());
    };
    let Ok(sub) = repo.find_tree(entry.id()) else {
        return Ok(Default::default());
    };
    Ok(sub.iter().filter_map(|e| e.name().ok().map(str::to_string)).collect())
}

/// Tracked files of a checkout that differ from HEAD: (modified, deleted), relative paths,
/// sorted. Untracked and ignored files are not looked at (custom_nodes/ and models/ are full of
/// them); the index is refreshed by stat, so an untouched checkout costs one `stat` per file.
pub fn edited_tracked_files(repo_path: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let repo = open(repo_path)?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .exclude_submodules(true)
        .show(git2::StatusShow::IndexAndWorkdir);
    let statuses = repo.statuses(Some(&mut opts)).map_err(local(repo_path))?;
    let (mut modified, mut deleted) = (Vec::new(), Vec::new());
    for entry in statuses.iter() {
        let Ok(path) = entry.path() else { continue };
        let s = entry.status();
        if s.intersects(git2::Status::WT_DELETED | git2::Status::INDEX_DELETED) {
            deleted.push(path.to_string());
        } else if s.intersects(
            git2::Status::WT_MODIFIED
                | git2::Status::WT_TYPECHANGE
                | git2::Status::WT_RENAMED
                | git2::Status::INDEX_MODIFIED
                | git2::Status::INDEX_TYPECHANGE
                | git2::Status::INDEX_RENAMED,
        ) {
            modified.push(path.to_string());
        }
    }
    modified.sort();
    deleted.sort();
    Ok((modified, deleted))
}
