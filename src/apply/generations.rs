//! `.comfydock/generations/<N>.json`: every applied state, self-contained (manifest, lock and
//! uv.lock as they were), so `rollback` needs neither the network nor `.cec` history.
//!
//! `.comfydock/generations.index.json` lists every generation in one small row each (number,
//! time, summary, venv), written by the same journaled switch as the record it describes. Plan,
//! status, rollback and log read the index and at most the one or two records they need, never
//! every record: their cost does not grow with the number of generations. `gc --keep N`
//! compacts older generations: their full records go, their rows stay (marked `compacted`), so
//! `log` still shows the history. An environment from before the index has its index built from
//! the records, in memory, until its next apply writes it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generation {
    pub number: u64,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub cec_commit: Option<crate::types::GitCommit>,
    pub summary: String,
    pub actions: Vec<String>,
    pub pyproject: String,
    pub lock: String,
    pub uv_lock: String,
    pub uv_lock_hash: crate::types::Blake3,
    pub venv: Option<String>,
    /// The torch backend extra the venv was synced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<crate::types::TorchBackend>,
    /// Store entries (node trees) this generation uses; gc keeps them while it is kept.
    pub trees: Vec<crate::types::Blake3>,
    /// The model tree (`store/model-trees/<id>`) holding its placed models; gc keeps it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_tree: Option<String>,
}

/// One generation's row in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub number: u64,
    pub created: u64,
    pub cec_commit: Option<crate::types::GitCommit>,
    pub summary: String,
    /// How many actions it applied (the record lists them).
    pub actions: usize,
    pub venv: Option<String>,
    pub uv_lock_hash: crate::types::Blake3,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<crate::types::TorchBackend>,
    /// `gc` removed its record: it is history, no longer a state to roll back to.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compacted: bool,
}

/// The index: every generation, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub format_version: u32,
    pub generations: Vec<Summary>,
}

const INDEX_VERSION: u32 = 1;
/// Beside the records' folder, not in it: an older comfydock reads every `*.json` there as a
/// record.
const INDEX_FILE: &str = "generations.index.json";

impl Generation {
    pub fn summary(&self) -> Summary {
        Summary {
            number: self.number,
            created: self.created,
            cec_commit: self.cec_commit.clone(),
            summary: self.summary.clone(),
            actions: self.actions.len(),
            venv: self.venv.clone(),
            uv_lock_hash: self.uv_lock_hash.clone(),
            torch_backend: self.torch_backend.clone(),
            compacted: false,
        }
    }
}

impl Index {
    pub fn last(&self) -> Option<&Summary> {
        self.generations.last()
    }

    pub fn get(&self, number: u64) -> Option<&Summary> {
        self.generations.iter().find(|g| g.number == number)
    }

    /// The index with `generation` added (replacing a row of the same number).
    pub fn with(&self, generation: &Generation) -> Index {
        let mut next = self.clone();
        next.format_version = INDEX_VERSION;
        next.generations.retain(|g| g.number != generation.number);
        next.generations.push(generation.summary());
        next.generations.sort_by_key(|g| g.number);
        next
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable")
    }
}

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("generations")
}

pub fn path(state_dir: &Path, number: u64) -> PathBuf {
    dir(state_dir).join(format!("{number}.json"))
}

pub fn index_path(state_dir: &Path) -> PathBuf {
    state_dir.join(INDEX_FILE)
}

/// The index of generations; built from the records when it does not exist yet.
pub fn index(state_dir: &Path) -> std::io::Result<Index> {
    match fs_err::read(index_path(state_dir)) {
        Ok(bytes) => {
            let index: Index = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
            if index.format_version > INDEX_VERSION {
                return Err(std::io::Error::other(format!(
                    "{} was written by a newer comfydock (format {})",
                    index_path(state_dir).display(),
                    index.format_version
                )));
            }
            Ok(index)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index {
            format_version: INDEX_VERSION,
            generations: list(state_dir)?.iter().map(Generation::summary).collect(),
        }),
        Err(e) => Err(e),
    }
}

/// The full record of generation `number`; None when it does not exist (or was compacted).
pub fn read(state_dir: &Path, number: u64) -> std::io::Result<Option<Generation>> {
    match fs_err::read(path(state_dir, number)) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(std::io::Error::other)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every full record there is, oldest first. Reads them all: for building the index of an
/// environment that has none, and for commands that show every record.
pub fn list(state_dir: &Path) -> std::io::Result<Vec<Generation>> {
    let Ok(read) = std::fs::read_dir(dir(state_dir)) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry?.path();
        let numbered = path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s.parse::<u64>().is_ok());
        if numbered && path.extension().is_some_and(|e| e == "json") {
            let bytes = fs_err::read(&path)?;
            out.push(serde_json::from_slice::<Generation>(&bytes).map_err(std::io::Error::other)?);
        }
    }
    out.sort_by_key(|g| g.number);
    Ok(out)
}

pub use crate::clock::{human as format_time, now_secs};

#[cfg(test)]
mod tests {
    use super::*;

    fn record(number: u64) -> Generation {
        Generation {
            number,
            created: number * 10,
            cec_commit: None,
            summary: format!("gen {number}"),
            actions: vec!["+ node a".into(), "+ model b".into()],
            pyproject: String::new(),
            lock: String::new(),
            uv_lock: String::new(),
            uv_lock_hash: crate::types::Blake3::of_bytes(&number.to_le_bytes()),
            venv: Some(format!(".venv-gen-{number}")),
            torch_backend: None,
            trees: vec![],
            model_tree: None,
        }
    }

    #[test]
    fn an_environment_without_an_index_gets_one_from_its_records() {
        let state = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir(state.path())).unwrap();
        for n in [2, 1, 10] {
            fs_err::write(path(state.path(), n), serde_json::to_string(&record(n)).unwrap()).unwrap();
        }
        let built = index(state.path()).unwrap();
        let numbers: Vec<u64> = built.generations.iter().map(|g| g.number).collect();
        assert_eq!(numbers, [1, 2, 10]);
        assert_eq!(built.generations[0].actions, 2);

        // Once written, the index is what is read (and it is not taken for a record).
        let next = built.with(&record(11));
        fs_err::write(index_path(state.path()), next.to_json()).unwrap();
        fs_err::remove_file(path(state.path(), 1)).unwrap();
        assert_eq!(index(state.path()).unwrap(), next);
        assert_eq!(list(state.path()).unwrap().len(), 2);
        assert_eq!(read(state.path(), 2).unwrap().unwrap().summary, "gen 2");
        assert!(read(state.path(), 1).unwrap().is_none());
    }

    #[test]
    fn an_index_from_a_newer_comfydock_is_refused() {
        let state = tempfile::tempdir().unwrap();
        fs_err::write(index_path(state.path()), r#"{"format_version": 9, "generations": []}"#).unwrap();
        assert!(index(state.path()).unwrap_err().to_string().contains("newer comfydock"));
    }
}
