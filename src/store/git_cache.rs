//! `store/git/<key>.git`: a bare mirror of every repository an environment uses (ComfyUI and
//! git node packs). Fetches go through the `git` command; everything after (resolving a
//! revision, exporting a commit's tree) is local, which is what makes a rollback work offline.

use crate::git::{self, GitError};
use std::path::{Path, PathBuf};

/// How long a fetch of a mirror stands for later asks in the same process.
const FRESH: std::time::Duration = std::time::Duration::from_secs(5);

pub struct GitCache {
    dir: PathBuf,
}

impl GitCache {
    pub fn new(store_dir: &Path) -> Self {
        GitCache {
            dir: store_dir.join("git"),
        }
    }

    /// The mirror's folder for `url` (named by a hash of the URL, readable suffix for people).
    pub fn mirror_path(&self, url: &str) -> PathBuf {
        let key = blake3::hash(url.as_bytes()).to_hex();
        let tail: String = url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("repo")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        self.dir.join(format!("{}-{}.git", &key[..16], tail))
    }

    /// Makes the mirror current with the remote (clone on first use). A fetch the same process
    /// made less than [`FRESH`] ago stands: a command that names a pack and then resolves it
    /// asks twice, and the second fetch, milliseconds after the first, costs a `git` process
    /// tree and brings nothing (a long-running `serve` still fetches again after that).
    pub fn update(&self, url: &str) -> Result<PathBuf, GitError> {
        static FETCHED: std::sync::Mutex<Vec<(PathBuf, std::time::Instant)>> = std::sync::Mutex::new(Vec::new());
        let path = self.mirror_path(url);
        let fetched = || FETCHED.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = fetched().iter().any(|(p, at)| *p == path && at.elapsed() < FRESH);
        if fresh && path.join("HEAD").is_file() {
            return Ok(path);
        }
        self.fetch(url, &path)?;
        let mut list = fetched();
        list.retain(|(p, at)| *p != path && at.elapsed() < FRESH);
        list.push((path.clone(), std::time::Instant::now()));
        Ok(path)
    }

    fn fetch(&self, url: &str, path: &Path) -> Result<(), GitError> {
        if path.join("HEAD").is_file() {
            git::fetch_mirror(path)?;
        } else {
            fs_err::create_dir_all(&self.dir).map_err(|e| GitError::Command {
                args: "mkdir".into(),
                stderr: e.to_string(),
            })?;
            git::clone_mirror(url, path)?;
        }
        Ok(())
    }

    /// The mirror if it already holds `commit` (no network), else an updated one.
    pub fn with_commit(&self, url: &str, commit: &crate::types::GitCommit) -> Result<PathBuf, GitError> {
        let path = self.mirror_path(url);
        if path.join("HEAD").is_file() && git::has_commit(&path, commit) {
            return Ok(path);
        }
        let path = self.update(url)?;
        if !git::has_commit(&path, commit) {
            return Err(GitError::RevNotFound {
                rev: commit.to_string(),
                repo: url.to_string(),
            });
        }
        Ok(path)
    }
}
