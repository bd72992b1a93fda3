//! The switch journal: `.comfydock/journal.jsonl`. The whole list of steps is written first,
//! then one line as each step starts, then `committed`. Every line is fsync'd before the step
//! it announces runs, so after a crash `recover` knows exactly which steps may have happened
//! and undoes them in reverse. Every undo is idempotent: it checks before it moves.
//!
//! Most steps need no line of their own: undoing a rename, a link, a file write or a switch
//! that never ran changes nothing (it checks first), so `recover` undoes every such step of an
//! interrupted switch, and only a checkout (whose undo would check out again) is announced. A
//! small apply is then one fsync'd record before its steps and one after, not one per step.

use crate::git;
use crate::types::GitCommit;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const JOURNAL_FILE: &str = "journal.jsonl";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Symlink {
        target: PathBuf,
        link: PathBuf,
    },
    Unlink {
        link: PathBuf,
        target: PathBuf,
    },
    Checkout {
        repo: PathBuf,
        from: GitCommit,
        to: GitCommit,
    },
    SwitchVenv {
        link: PathBuf,
        from: Option<String>,
        to: String,
    },
    WriteFile {
        path: PathBuf,
        old: Option<String>,
        new: String,
    },
    /// Restores a checkout's tracked files to `commit`; undo puts the user's versions (saved in
    /// the trash by stage) back and deletes again what they had deleted.
    RestoreTracked {
        repo: PathBuf,
        commit: GitCommit,
        saved: PathBuf,
        modified: Vec<String>,
        deleted: Vec<String>,
    },
    /// Points `link` (`.comfydock/models`) at another model tree, or removes it (`to` None):
    /// a generation's placed models switched by one rename, whatever they hold.
    SwitchModels {
        link: PathBuf,
        from: Option<PathBuf>,
        to: Option<PathBuf>,
    },
    /// Many small steps (the model links of an apply) as one journal step: one journal line and
    /// one fsync per folder touched, instead of one journal line and fsyncs per link. Undone as
    /// a whole, each part idempotently, in reverse.
    Batch {
        steps: Vec<Step>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Record {
    /// `cleanup`: staging paths removed whatever the outcome; `discard`: what the new generation
    /// alone uses (its new venv), removed only when the switch is undone.
    Begin {
        generation: u64,
        steps: Vec<Step>,
        cleanup: Vec<PathBuf>,
        discard: Vec<PathBuf>,
    },
    Started(usize),
    Committed,
}

impl Step {
    pub fn run(&self) -> io::Result<()> {
        match self {
            Step::Rename { from, to } => {
                if let Some(parent) = to.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                crate::fsx::rename_durable(from, to)
            }
            Step::Symlink { target, link } => {
                std::os::unix::fs::symlink(target, link)?;
                crate::fsx::sync_dir(link.parent().unwrap_or(Path::new(".")))
            }
            Step::Unlink { link, .. } => fs_err::remove_file(link),
            Step::Checkout { repo, to, .. } => git::checkout_detached(repo, to).map_err(io::Error::other),
            Step::SwitchVenv { link, to, .. } => crate::fsx::replace_symlink(Path::new(to), link),
            Step::WriteFile { path, new, .. } => crate::fsx::write_atomic(path, new.as_bytes()),
            Step::RestoreTracked { repo, commit, .. } => git::checkout_detached(repo, commit).map_err(io::Error::other),
            Step::SwitchModels { link, to, .. } => point(link, to.as_deref()),
            Step::Batch { steps } => {
                let mut touched = std::collections::BTreeSet::new();
                for step in steps {
                    step.run_unsynced(&mut touched)?;
                }
                for dir in touched {
                    crate::fsx::sync_dir(&dir)?;
                }
                Ok(())
            }
        }
    }

    /// Whether it must be announced by a journal line before it runs: its undo is not a no-op
    /// when it never ran (a checkout's undo checks out again).
    pub fn announced(&self) -> bool {
        matches!(self, Step::Checkout { .. } | Step::RestoreTracked { .. })
    }

    /// The step in words, with its paths, for messages.
    pub fn describe(&self) -> String {
        match self {
            Step::Rename { from, to } => format!("move {} -> {}", from.display(), to.display()),
            Step::Symlink { link, target } => format!("link {} -> {}", link.display(), target.display()),
            Step::Unlink { link, .. } => format!("unlink {}", link.display()),
            Step::Checkout { repo, to, .. } => format!("checkout {} in {}", to, repo.display()),
            Step::SwitchVenv { link, to, .. } => format!("switch {} -> {to}", link.display()),
            Step::WriteFile { path, .. } => format!("write {}", path.display()),
            Step::RestoreTracked { repo, .. } => format!("restore edited files in {}", repo.display()),
            Step::SwitchModels { link, to, .. } => match to {
                Some(to) => format!("switch {} -> {}", link.display(), to.display()),
                None => format!("remove {}", link.display()),
            },
            Step::Batch { steps } => format!("{} model links", steps.len()),
        }
    }

    /// `run` without the folder fsyncs of links and renames; the folders are collected in
    /// `touched` for the caller to sync once.
    fn run_unsynced(&self, touched: &mut std::collections::BTreeSet<PathBuf>) -> io::Result<()> {
        let parent = |p: &Path| p.parent().unwrap_or(Path::new(".")).to_path_buf();
        match self {
            Step::Rename { from, to } => {
                if let Some(dir) = to.parent() {
                    fs_err::create_dir_all(dir)?;
                }
                fs_err::rename(from, to)?;
                touched.insert(parent(from));
                touched.insert(parent(to));
                Ok(())
            }
            Step::Symlink { target, link } => {
                if let Some(dir) = link.parent() {
                    fs_err::create_dir_all(dir)?;
                }
                std::os::unix::fs::symlink(target, link)?;
                touched.insert(parent(link));
                Ok(())
            }
            Step::Unlink { link, .. } => {
                fs_err::remove_file(link)?;
                touched.insert(parent(link));
                Ok(())
            }
            other => other.run(),
        }
    }

    /// Returns the disk to how it was before `run`, whether `run` finished, half-ran or never ran.
    pub fn undo(&self) -> io::Result<()> {
        match self {
            Step::Rename { from, to } => {
                if to.symlink_metadata().is_ok() && from.symlink_metadata().is_err() {
                    crate::fsx::rename_durable(to, from)?;
                }
                Ok(())
            }
            Step::Symlink { target, link } => {
                if fs_err::read_link(link).is_ok_and(|t| &t == target) {
                    fs_err::remove_file(link)?;
                }
                Ok(())
            }
            Step::Unlink { link, target } => {
                if link.symlink_metadata().is_err() {
                    std::os::unix::fs::symlink(target, link)?;
                }
                Ok(())
            }
            Step::Checkout { repo, from, .. } => git::checkout_detached(repo, from).map_err(io::Error::other),
            Step::SwitchVenv { link, from, .. } => match from {
                Some(old) => crate::fsx::replace_symlink(Path::new(old), link),
                None => match fs_err::remove_file(link) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                },
            },
            Step::WriteFile { path, old, .. } => match old {
                Some(text) => crate::fsx::write_atomic(path, text.as_bytes()),
                None => match fs_err::remove_file(path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                },
            },
            Step::RestoreTracked {
                repo,
                saved,
                modified,
                deleted,
                ..
            } => {
                for rel in modified {
                    let from = saved.join(rel);
                    if from.is_file() {
                        fs_err::copy(&from, repo.join(rel))?;
                    }
                }
                for rel in deleted {
                    match fs_err::remove_file(repo.join(rel)) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                Ok(())
            }
            Step::SwitchModels { link, from, .. } => point(link, from.as_deref()),
            Step::Batch { steps } => steps.iter().rev().try_for_each(Step::undo),
        }
    }
}

/// `link` pointing at `target` (an atomic rename of a new link over it), or gone (None); either
/// way durable. Idempotent, so it serves as run and as undo; a temporary link a kill left
/// behind goes too.
fn point(link: &Path, target: Option<&Path>) -> io::Result<()> {
    let parent = link.parent().unwrap_or(Path::new("."));
    let suffix = format!("-{}", link.file_name().and_then(|n| n.to_str()).unwrap_or("link"));
    if let Ok(read) = fs::read_dir(parent) {
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_LINK) && name.ends_with(&suffix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    match target {
        Some(target) if fs::read_link(link).is_ok_and(|t| t == target) => Ok(()),
        Some(target) => {
            let tmp = parent.join(format!("{TEMP_LINK}{}{suffix}", std::process::id()));
            std::os::unix::fs::symlink(target, &tmp)?;
            super::failpoint("model-tree-rename");
            fs::rename(&tmp, link)?;
            crate::fsx::sync_dir(parent)
        }
        None => match fs::remove_file(link) {
            Ok(()) => crate::fsx::sync_dir(parent),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        },
    }
}

const TEMP_LINK: &str = ".comfydock-link-";

pub struct Journal {
    file: fs::File,
    path: PathBuf,
}

impl Journal {
    /// Starts a journal for `steps`; `cleanup` lists staging paths to remove when it ends.
    pub fn begin(
        state_dir: &Path,
        generation: u64,
        steps: &[Step],
        cleanup: &[PathBuf],
        discard: &[PathBuf],
    ) -> io::Result<Journal> {
        let path = state_dir.join(JOURNAL_FILE);
        let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
        crate::fsx::sync_dir(state_dir)?;
        let mut j = Journal { file, path };
        j.append(&Record::Begin {
            generation,
            steps: steps.to_vec(),
            cleanup: cleanup.to_vec(),
            discard: discard.to_vec(),
        })?;
        Ok(j)
    }

    fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }

    /// Records that step `i` of `steps` starts, when its undo needs that ([`Step::announced`]).
    pub fn started(&mut self, steps: &[Step], i: usize) -> io::Result<()> {
        match steps.get(i).is_some_and(Step::announced) {
            true => self.append(&Record::Started(i)),
            false => Ok(()),
        }
    }

    pub fn committed(&mut self) -> io::Result<()> {
        self.append(&Record::Committed)
    }

    /// Ends a switch whose undo left failures: the journal stays, renamed, for a person to read.
    pub fn keep_as_failed(self, generation: u64) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs_err::rename(&self.path, dir.join(format!("journal.failed-{generation}.jsonl")))?;
        crate::fsx::sync_dir(dir)
    }

    /// Ends a switch. The removal is not synced: a journal that comes back after a power loss
    /// ends in `committed` (the switch stands) or its steps were undone, and `recover` removes
    /// it either way.
    pub fn finish(self) -> io::Result<()> {
        fs_err::remove_file(&self.path)
    }
}

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    Nothing,
    /// The interrupted switch was undone. `failures` are the steps that could not be undone,
    /// each with its path and error: the rest were undone all the same, and the journal is kept
    /// as `journal.failed-<generation>.jsonl` for a person to read, not left to block commands.
    RolledBack {
        generation: u64,
        steps: usize,
        failures: Vec<String>,
    },
    Completed {
        generation: u64,
    },
    /// An edit of the desired state (`workflow sync`, `node add`, ...) was interrupted (see
    /// `edit_journal`); `apply` is what the apply journal's own recovery did first.
    Edit {
        edit: super::edit_journal::EditRecovery,
        apply: Box<Recovery>,
    },
}

/// Finishes or undoes an interrupted switch. Safe to run any number of times.
pub fn recover(state_dir: &Path) -> io::Result<Recovery> {
    let path = state_dir.join(JOURNAL_FILE);
    let text = match fs_err::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Recovery::Nothing),
        Err(e) => return Err(e),
    };
    let mut begin = None;
    let mut started = Vec::new();
    let mut committed = false;
    // A torn last line (crash mid-write) is ignored: its step had not started.
    for line in text.lines() {
        match serde_json::from_str::<Record>(line) {
            Ok(Record::Begin {
                generation,
                steps,
                cleanup,
                discard,
            }) => begin = Some((generation, steps, cleanup, discard)),
            Ok(Record::Started(i)) => started.push(i),
            Ok(Record::Committed) => committed = true,
            Err(_) => break,
        }
    }
    let Some((generation, steps, cleanup, discard)) = begin else {
        fs_err::remove_file(&path)?;
        return Ok(Recovery::Nothing);
    };
    let outcome = if committed {
        Recovery::Completed { generation }
    } else {
        // Steps that were not announced may have run: undoing them is harmless either way.
        let mut started: Vec<usize> = started
            .into_iter()
            .chain((0..steps.len()).filter(|&i| !steps[i].announced()))
            .collect();
        started.sort_unstable();
        started.dedup();
        let failures = undo_started(&steps, &started);
        remove_all(&discard);
        Recovery::RolledBack {
            generation,
            steps: started.len(),
            failures,
        }
    };
    remove_all(&cleanup);
    match &outcome {
        Recovery::RolledBack { failures, .. } if !failures.is_empty() => {
            fs_err::rename(&path, state_dir.join(format!("journal.failed-{generation}.jsonl")))?
        }
        _ => fs_err::remove_file(&path)?,
    }
    crate::fsx::sync_dir(state_dir)?;
    Ok(outcome)
}

/// Undoes the started steps in reverse. A step that cannot be undone does not stop the others:
/// each failure is returned as one line naming the step and its error.
pub fn undo_started(steps: &[Step], started: &[usize]) -> Vec<String> {
    let mut failures = Vec::new();
    for &i in started.iter().rev() {
        if let Some(step) = steps.get(i)
            && let Err(e) = step.undo()
        {
            failures.push(format!("could not undo {}: {e}", step.describe()));
        }
    }
    failures
}

pub fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        let _ = fs_err::remove_dir_all(p);
    }
}
