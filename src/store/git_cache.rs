//! `store/git/<key>.git`: a bare mirror of every repository an environment uses (ComfyUI and
//! git node packs). Fetches go through the `git` command; everything after (resolving a
//! revision, exporting a commit's tree) is local, which is what makes a rollback work offline.

use crate::git::{self, GitError};
use std::path::{Path, PathBuf};

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

    /// Makes the mirror current with the remote (clone on first use).
    pub fn update(&self, url: &str) -> Result<PathBuf, GitError> {
        let path = self.mirror_path(url);
        if path.join("HEAD").is_file() {
            git::fetch_mirror(&path)?;
        } else {
            std::fs::create_dir_all(&self.dir).map_err(|e| GitError::Command {
                args: "mkdir".into(),
                stderr: e.to_string(),
            })?;
            git::clone_mirror(url, &path)?;
        }
        Ok(path)
    }

    /// The mirror if it already holds `commit` (no network), else an updated one.
    pub fn with_commit(&self, url: &str, commit: &str) -> Result<PathBuf, GitError> {
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
