//! The `.cec` folder as a git repository users share: `commit` of hand edits (checked first),
//! remotes, `push`, `pull` (fetch + fast-forward, the pulled state checked before it lands),
//! and the history `log` shows beside generations. Network goes through the `git` command
//! (`git/remote.rs`); everything else is local libgit2 (`git/cec.rs`).

mod commit;
mod history;
mod sync;

pub use commit::{Committed, commit};
pub use history::{LogEntry, timeline};
pub use sync::{PullOutcome, add_remote, pull, push, remotes};

use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum CecError {
    #[error("{} has changes that are not committed: {files}", cec.display())]
    #[diagnostic(
        code(comfydock::cec::uncommitted),
        help("commit them with `comfydock commit -m MESSAGE` (or discard them with `git -C {} checkout -- .`), then pull again", cec.display())
    )]
    Uncommitted { cec: PathBuf, files: String },

    #[error("no remote named `{name}` in {}", cec.display())]
    #[diagnostic(
        code(comfydock::cec::no_remote),
        help("add one with `comfydock remote add {name} URL` (known remotes: {known})")
    )]
    NoRemote { cec: PathBuf, name: String, known: String },

    #[error("`{name}` is not a valid remote name")]
    #[diagnostic(
        code(comfydock::cec::invalid_remote_name),
        help("use letters, digits, `-`, `_` and `.`, e.g. `origin`")
    )]
    InvalidRemoteName { name: String },

    #[error("the .cec repository is not on a branch (detached HEAD)")]
    #[diagnostic(
        code(comfydock::cec::detached),
        help("check out a branch: `git -C {} switch -c main`", cec.display())
    )]
    Detached { cec: PathBuf },

    #[error("the .cec repository has no commits yet")]
    #[diagnostic(
        code(comfydock::cec::no_commits),
        help("`comfydock apply` or `comfydock commit` makes the first one")
    )]
    NoCommits,

    #[error("remote `{remote}` has no branch `{branch}`")]
    #[diagnostic(
        code(comfydock::cec::no_remote_branch),
        help(
            "push it from the machine that has it (`comfydock push`), or check the remote's URL with `comfydock remote list`"
        )
    )]
    NoRemoteBranch { remote: String, branch: String },

    #[error(
        "the .cec history here ({local}) and {remote}/{branch} ({theirs}) have diverged: each has commits the other lacks"
    )]
    #[diagnostic(
        code(comfydock::cec::diverged),
        help(
            "nothing was changed. To take the remote's state and drop the local commits: `git -C {cec} reset --hard {remote}/{branch}`; to keep both: `git -C {cec} rebase {remote}/{branch}` and then `comfydock push`. Then run `comfydock pull` again."
        )
    )]
    Diverged {
        cec: String,
        local: String,
        theirs: String,
        remote: String,
        branch: String,
    },

    #[error("{remote} refused the push: its {branch} has commits this .cec lacks")]
    #[diagnostic(
        code(comfydock::cec::push_rejected),
        help(
            "`comfydock pull` first (it fast-forwards, or tells how to reconcile a diverged history), then push again"
        )
    )]
    PushRejected { remote: String, branch: String },

    #[error("the pulled commit {commit} does not hold a valid environment; nothing was changed")]
    #[diagnostic(code(comfydock::cec::invalid_pulled_state), help("{reason}"))]
    InvalidPulledState { commit: String, reason: String },

    #[error("the pulled commit {commit} does not hold a valid environment; nothing was changed")]
    #[diagnostic(
        code(comfydock::cec::invalid_pulled_file),
        help("the file is as the remote has it; fix it there (a commit on top), then pull again")
    )]
    InvalidPulledFile {
        commit: String,
        /// The file's own diagnostic, rendered in full (with the marked place) after this one.
        #[related]
        problems: Vec<crate::manifest::ManifestError>,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::git::GitError),
}

pub type Result<T, E = CecError> = std::result::Result<T, E>;
