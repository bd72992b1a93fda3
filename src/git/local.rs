//! Local repository work through libgit2.

use super::{GitError, Result};
use crate::types::GitCommit;
use git2::{IndexAddOption, ObjectType, Oid, Repository, Signature};
use std::path::Path;

pub(super) fn local(path: &Path) -> impl Fn(git2::Error) -> GitError + '_ {
    move |source| GitError::Local {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn open(path: &Path) -> Result<Repository> {
    Repository::open(path).map_err(local(path))
}

fn oid_to_commit(oid: Oid) -> GitCommit {
    oid.to_string().parse().expect("git object ids are hex")
}

/// Tracked files that may differ from the index: missing, or with stat data (size, mtime,
/// inode) other than the index recorded, or written in the same moment as the index (git's
/// "racily clean" case). None when the shortcut cannot answer: no index, no work tree, or an
/// index that differs from HEAD (a staged change), which only a full status sees.
fn stat_suspects(repo: &Repository) -> Option<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let workdir = repo.workdir()?;
    let index = repo.index().ok()?;
    let head = repo.head().ok()?.peel_to_tree().ok()?;
    let staged = repo.diff_tree_to_index(Some(&head), Some(&index), None).ok()?;
    if staged.deltas().len() > 0 {
        return None;
    }
    let written = fs_err::metadata(repo.path().join("index")).ok()?;
    let written = (written.mtime(), written.mtime_nsec());
    let mut suspects = Vec::new();
    for entry in index.iter() {
        let rel = std::ffi::OsStr::from_bytes(&entry.path);
        let clean = workdir.join(rel).symlink_metadata().is_ok_and(|meta| {
            let mtime = (i64::from(entry.mtime.seconds()), i64::from(entry.mtime.nanoseconds()));
            (meta.mtime(), meta.mtime_nsec()) == mtime
                && meta.size() as u32 == entry.file_size
                && meta.ino() as u32 == entry.ino
                && mtime < written
        });
        if !clean {
            suspects.push(rel.to_os_string());
        }
    }
    Some(suspects)
}

/// Resolves a tag, branch (local or `origin/`), or commit (full or abbreviated) to a commit id.
/// In a working clone (a ComfyUI checkout) a branch is what was last fetched into `origin/`; in
/// a bare mirror it is the mirrored repository's own branch: a mirror of someone's working
/// clone also holds that clone's `origin/` refs, as stale as its last fetch.
pub fn resolve_rev(repo_path: &Path, rev: &str) -> Result<GitCommit> {
    let repo = open(repo_path)?;
    let (tag, remote, head) = (
        format!("refs/tags/{rev}"),
        format!("refs/remotes/origin/{rev}"),
        format!("refs/heads/{rev}"),
    );
    let candidates = if repo.is_bare() {
        [tag, head, remote, rev.to_string()]
    } else {
        [tag, remote, head, rev.to_string()]
    };
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
pub fn checkout_detached(repo_path: &Path, commit: &GitCommit) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit.as_str()).map_err(&err)?;
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
pub fn has_commit(repo_path: &Path, commit: &GitCommit) -> bool {
    let Ok(repo) = Repository::open(repo_path) else {
        return false;
    };
    Oid::from_str(commit.as_str()).is_ok_and(|oid| repo.find_commit(oid).is_ok())
}

/// Writes the tree of `commit` into `dest` (no `.git`): how a git node pack enters the store.
pub fn export_tree(repo_path: &Path, commit: &GitCommit, dest: &Path) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit.as_str()).map_err(&err)?;
    let obj = repo.find_commit(oid).map_err(&err)?.into_object();
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.target_dir(dest).force().recreate_missing(true);
    repo.checkout_tree(&obj, Some(&mut opts)).map_err(&err)
}

/// The content of `path` at `commit`, or None when the commit has no such file.
pub fn read_file_at(repo_path: &Path, commit: &GitCommit, path: &str) -> Result<Option<Vec<u8>>> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit.as_str()).map_err(&err)?;
    let tree = repo.find_commit(oid).map_err(&err)?.tree().map_err(&err)?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    let blob = repo.find_blob(entry.id()).map_err(&err)?;
    Ok(Some(blob.content().to_vec()))
}

/// Fills the index and the work tree of a clone made with `--no-checkout` from its HEAD, the
/// branch staying checked out (not detached).
pub fn checkout_head(repo_path: &Path) -> Result<()> {
    let repo = open(repo_path)?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.force();
    repo.checkout_head(Some(&mut opts)).map_err(local(repo_path))
}

/// Paths at `commit` that are symbolic links or submodules (git modes 120000 and 160000): what a
/// pulled `.cec` must not hold, since writing through them would land outside it.
pub fn links_at(repo_path: &Path, commit: &GitCommit) -> Result<Vec<String>> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit.as_str()).map_err(&err)?;
    let tree = repo.find_commit(oid).map_err(&err)?.tree().map_err(&err)?;
    let mut links = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if matches!(entry.filemode(), 0o120000 | 0o160000) {
            links.push(format!("{dir}{}", entry.name().unwrap_or("?")));
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(&err)?;
    Ok(links)
}

/// Moves the current branch back to `commit`, the work tree left as it is (`git reset
/// --mixed`): what puts `.cec` back after an interrupted edit that had committed.
pub fn reset_to(repo_path: &Path, commit: &GitCommit) -> Result<()> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit.as_str()).map_err(&err)?;
    let target = repo.find_object(oid, None).map_err(&err)?;
    repo.reset(&target, git2::ResetType::Mixed, None).map_err(&err)
}

/// Creates an empty repository (harmless on an existing one).
pub fn init_repo(path: &Path) -> Result<()> {
    Repository::init(path).map(drop).map_err(local(path))
}

/// Stages every change (additions, edits, deletions) and commits it. Returns the new commit,
/// or the current HEAD when there was nothing to commit.
pub fn commit_all(repo_path: &Path, message: &str) -> Result<GitCommit> {
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
        return Ok(oid_to_commit(p.id()));
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
    Ok(oid_to_commit(oid))
}

/// Names in folder `dir` of `commit`'s tree (empty when there is no such folder).
pub fn list_dir_at(repo_path: &Path, commit: &GitCommit, dir: &str) -> Result<std::collections::BTreeSet<String>> {
    let repo = open(repo_path)?;
    let err = local(repo_path);
    let oid = Oid::from_str(commit.as_str()).map_err(&err)?;
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
    // libgit2's status walks the whole working tree, model links and all (thousands of stat
    // calls in a big environment). Files whose stat data match the index are clean, as git
    // itself decides; only the others are handed to libgit2 to compare by content.
    match stat_suspects(&repo) {
        Some(suspects) if suspects.is_empty() => return Ok((Vec::new(), Vec::new())),
        Some(suspects) => {
            opts.disable_pathspec_match(true);
            for path in suspects {
                opts.pathspec(path);
            }
        }
        None => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::{Duration, SystemTime};

    /// A repository with `a.py`, `b.py` and `models/m/put_here` committed, and a link in
    /// `models/m/` as comfydock places them (untracked).
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        init_repo(root).unwrap();
        fs::create_dir_all(root.join("models/m")).unwrap();
        fs::write(root.join("a.py"), "A = 1\n").unwrap();
        fs::write(root.join("b.py"), "B = 1\n").unwrap();
        fs::write(root.join("models/m/put_here"), "").unwrap();
        commit_all(root, "first").unwrap();
        std::os::unix::fs::symlink(root.join("a.py"), root.join("models/m/x.safetensors")).unwrap();
        dir
    }

    fn set_mtime(path: &Path, when: SystemTime) {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn a_clean_checkout_has_no_edits_and_untracked_links_do_not_count() {
        let r = repo();
        assert_eq!(edited_tracked_files(r.path()).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn edits_of_the_same_size_and_deletions_are_found() {
        let r = repo();
        fs::write(r.path().join("a.py"), "A = 2\n").unwrap();
        fs::remove_file(r.path().join("b.py")).unwrap();
        assert_eq!(
            edited_tracked_files(r.path()).unwrap(),
            (vec!["a.py".to_string()], vec!["b.py".to_string()])
        );
    }

    #[test]
    fn a_staged_edit_is_found_though_the_file_matches_the_index() {
        let r = repo();
        fs::write(r.path().join("a.py"), "A = 22\n").unwrap();
        let repo = Repository::open(r.path()).unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.py")).unwrap();
        index.write().unwrap();
        assert_eq!(edited_tracked_files(r.path()).unwrap().0, vec!["a.py".to_string()]);
    }

    /// git's "racily clean" case: a file stamped no earlier than the index was written may have
    /// changed without its stat data changing, so it is compared by content.
    #[test]
    fn a_file_as_new_as_the_index_is_compared_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        init_repo(root).unwrap();
        let file = root.join("a.py");
        fs::write(&file, "A = 1\n").unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);
        set_mtime(&file, later);
        commit_all(root, "first").unwrap();
        // Same size, same inode, same mtime as the index recorded.
        fs::write(&file, "A = 2\n").unwrap();
        set_mtime(&file, later);
        assert_eq!(edited_tracked_files(root).unwrap().0, vec!["a.py".to_string()]);
    }
}
