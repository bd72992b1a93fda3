//! git, two ways: the `git` command for anything that may touch the network (clone, fetch,
//! ls-remote), so credentials, proxies and ssh behave as the user expects; libgit2 (git2) for
//! local work that must be fast and precise (resolving revisions, checkouts, `.cec` commits).

pub mod cec;
mod local;
mod remote;

pub use local::{
    checkout_detached, checkout_head, commit_all, edited_tracked_files, export_tree, has_commit, head_commit,
    init_repo, links_at, list_dir_at, read_file_at, reset_to, resolve_rev,
};
pub use remote::{
    clone, clone_mirror, fetch_branch, fetch_from, fetch_mirror, ls_remote_tags, newest_tag, push_branch, set_origin,
};

use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum GitError {
    #[error("the `git` command was not found")]
    #[diagnostic(
        code(comfydock::git::missing),
        help("install git (e.g. `apt-get install git`) and make sure it is on PATH")
    )]
    NotInstalled,

    #[error("`git {args}` failed")]
    #[diagnostic(code(comfydock::git::command), help("{stderr}"))]
    Command { args: String, stderr: String },

    #[error("revision `{rev}` was not found in {repo}")]
    #[diagnostic(
        code(comfydock::git::rev_not_found),
        help("use a tag, a branch or a commit that exists in the repository (`git ls-remote {repo}` lists them)")
    )]
    RevNotFound { rev: String, repo: String },

    #[error("{repo} has no tags to pick a default version from")]
    #[diagnostic(code(comfydock::git::no_tags), help("name a tag, branch or commit explicitly"))]
    NoTags { repo: String },

    #[error("git operation failed in {}", path.display())]
    #[diagnostic(code(comfydock::git::libgit2))]
    Local {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
}

impl GitError {
    /// The error as the user knows the repository: a revision looked up in the store's cache of
    /// `repo` is reported as missing from `repo`, not from the cache's path.
    pub fn in_repo(self, repo: &str) -> GitError {
        match self {
            GitError::RevNotFound { rev, .. } => GitError::RevNotFound {
                rev,
                repo: repo.to_string(),
            },
            other => other,
        }
    }
}

pub type Result<T, E = GitError> = std::result::Result<T, E>;
