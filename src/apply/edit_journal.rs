//! The edit journal: `.comfydock/edit/`. An edit of the desired state (`workflow sync`,
//! `node add`, ...) writes `.cec` before its apply makes a generation; a kill in between would
//! leave `.cec` changed with nothing applied. So before the first byte of `.cec` changes, the
//! files the edit touches are copied here and `edit.json` names them (fsync'd); the journal goes
//! when the edit ends. `recover` (every writer session) finds a journal left behind and puts
//! `.cec` back, unless the edit's apply had made its generation: then the edit was complete.

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

const DIR: &str = "edit";
const RECORD: &str = "edit.json";

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// The command that edited (`workflow sync`), for the recovery message.
    command: String,
    /// The live generation when the edit began: a newer one means its apply finished.
    generation: u64,
    /// `.cec`'s commit when the edit began (None: no commit yet).
    head: Option<crate::types::GitCommit>,
    /// Each file the edit may write, with the name of its saved copy (None: it did not exist).
    files: Vec<(PathBuf, Option<String>)>,
}

/// An edit in progress; `finish` or `undo` ends it.
pub struct EditJournal {
    dir: PathBuf,
    cec: PathBuf,
    record: Record,
}

impl EditJournal {
    /// Saves `files` as they are now and records them, durably, before anything is written.
    pub fn begin(state: &Path, cec: &Path, command: &str, generation: u64, files: &[PathBuf]) -> io::Result<Self> {
        let dir = state.join(DIR);
        let _ = fs_err::remove_dir_all(&dir);
        fs_err::create_dir_all(&dir)?;
        // The copies are written and each fsync'd, then the folder once; the record, written
        // atomically after them, is what makes them count (a kill before it leaves copies no
        // record names, which recovery ignores).
        let mut saved = Vec::new();
        for (i, path) in files.iter().enumerate() {
            let copy = match fs_err::read(path) {
                Ok(bytes) => {
                    let name = format!("{i}");
                    let mut file = fs_err::File::create(dir.join(&name))?;
                    io::Write::write_all(&mut file, &bytes)?;
                    file.sync_data()?;
                    Some(name)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            };
            saved.push((path.clone(), copy));
        }
        if saved.iter().any(|(_, copy)| copy.is_some()) {
            crate::fsx::sync_dir(&dir)?;
        }
        let record = Record {
            command: command.to_string(),
            generation,
            head: crate::git::head_commit(cec).ok().flatten(),
            files: saved,
        };
        let json = serde_json::to_vec_pretty(&record).map_err(io::Error::other)?;
        crate::fsx::write_atomic(&dir.join(RECORD), &json)?;
        Ok(EditJournal {
            dir,
            cec: cec.to_path_buf(),
            record,
        })
    }

    /// The edit is done: the journal goes.
    pub fn finish(self) -> io::Result<()> {
        remove(&self.dir)
    }

    /// The edit failed: `.cec` is put back as it was, then the journal goes. Returns what
    /// could not be put back.
    pub fn undo(self) -> io::Result<Vec<String>> {
        let failures = put_back(&self.dir, &self.cec, &self.record);
        remove(&self.dir)?;
        Ok(failures)
    }
}

/// Writes the saved copies back (deletes what did not exist), and moves `.cec`'s branch back to
/// the commit it was at: the edit may have committed (an apply commits before its switch).
fn put_back(dir: &Path, cec: &Path, record: &Record) -> Vec<String> {
    let mut failures = Vec::new();
    for (path, copy) in &record.files {
        let put_back = match copy {
            Some(name) => fs_err::read(dir.join(name)).and_then(|bytes| crate::fsx::write_atomic(path, &bytes)),
            None => match fs_err::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        };
        if let Err(e) = put_back {
            failures.push(format!("could not put back {}: {e}", path.display()));
        }
    }
    if let Some(head) = &record.head
        && crate::git::head_commit(cec).ok().flatten().as_ref() != Some(head)
        && let Err(e) = crate::git::reset_to(cec, head)
    {
        failures.push(format!("could not move .cec back to commit {head}: {e}"));
    }
    failures
}

fn remove(dir: &Path) -> io::Result<()> {
    // The record first: a crash half-way through leaves saved copies and no record, which
    // recovery ignores.
    // Only a removed record needs its removal made durable: with none (every writer's recovery
    // when no edit was interrupted) there is nothing to sync.
    let removed = match fs_err::remove_file(dir.join(RECORD)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => false,
        Ok(()) => true,
    };
    if removed && let Some(parent) = dir.parent() {
        crate::fsx::sync_dir(parent).ok();
    }
    match fs_err::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What recovery found of an interrupted edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditRecovery {
    /// Its apply had made the generation: the edit was complete.
    Complete { command: String },
    /// `.cec` was put back as it was before the edit; `failures` are files that could not be.
    Undone { command: String, failures: Vec<String> },
}

/// Finishes an interrupted edit (see the module). `live` is the live generation now, after the
/// apply journal's own recovery. Safe to run any number of times.
pub fn recover(state: &Path, cec: &Path, live: u64) -> io::Result<Option<EditRecovery>> {
    let dir = state.join(DIR);
    let record: Record = match fs_err::read(dir.join(RECORD)) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            // A torn record cannot be: it is written atomically. Unreadable: nothing to trust.
            Err(_) => {
                remove(&dir)?;
                return Ok(None);
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            remove(&dir)?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if live > record.generation {
        remove(&dir)?;
        return Ok(Some(EditRecovery::Complete {
            command: record.command,
        }));
    }
    let failures = put_back(&dir, cec, &record);
    remove(&dir)?;
    Ok(Some(EditRecovery::Undone {
        command: record.command,
        failures,
    }))
}
