//! What `log` shows: generations and `.cec` commits in one timeline. A generation sits where its
//! `.cec` commit is in the history; a commit no generation applied (pulled, or committed by hand
//! and not yet applied) is its own row; a generation whose commit is not in the history (none
//! recorded, or the history was rewritten) is placed by time.

use crate::apply::generations::Summary;
use crate::git::cec::CommitInfo;

#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    Generation(Summary),
    /// A `.cec` commit no generation applied.
    Commit(CommitInfo),
}

impl LogEntry {
    fn time(&self) -> i64 {
        match self {
            LogEntry::Generation(g) => i64::try_from(g.created).unwrap_or(i64::MAX),
            LogEntry::Commit(c) => c.time,
        }
    }
}

/// `generations` in any order, `history` newest first; the timeline newest first.
pub fn timeline(generations: &[Summary], history: &[CommitInfo]) -> Vec<LogEntry> {
    let mut placed = vec![false; generations.len()];
    let mut out = Vec::new();
    for commit in history {
        let mut linked: Vec<usize> = generations
            .iter()
            .enumerate()
            .filter(|(_, g)| g.cec_commit.as_deref() == Some(commit.id.as_str()))
            .map(|(i, _)| i)
            .collect();
        if linked.is_empty() {
            out.push(LogEntry::Commit(commit.clone()));
            continue;
        }
        linked.sort_by_key(|&i| std::cmp::Reverse(generations[i].number));
        for i in linked {
            placed[i] = true;
            out.push(LogEntry::Generation(generations[i].clone()));
        }
    }
    let mut rest: Vec<&Summary> = generations
        .iter()
        .zip(&placed)
        .filter(|(_, p)| !**p)
        .map(|(g, _)| g)
        .collect();
    rest.sort_by_key(|g| std::cmp::Reverse(g.number));
    for g in rest {
        let entry = LogEntry::Generation(g.clone());
        let at = out.iter().position(|e| e.time() < entry.time()).unwrap_or(out.len());
        out.insert(at, entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(n: u8, time: i64) -> CommitInfo {
        CommitInfo {
            id: format!("{:040x}", n).parse().unwrap(),
            time,
            summary: format!("commit {n}"),
        }
    }

    fn generation(number: u64, created: u64, commit: Option<u8>) -> Summary {
        Summary {
            number,
            created,
            cec_commit: commit.map(|n| format!("{:040x}", n).parse().unwrap()),
            summary: format!("gen {number}"),
            actions: 0,
            venv: None,
            uv_lock_hash: crate::types::Blake3::of_bytes(b""),
            torch_backend: None,
            compacted: false,
        }
    }

    #[test]
    fn generations_sit_at_their_commits_and_unapplied_commits_are_rows() {
        // History: 3 (pulled, not applied) <- 2 (gen 2) <- 1 (gen 1); gen 3 has no commit.
        let history = [commit(3, 50), commit(2, 200), commit(1, 100)];
        let gens = [
            generation(1, 100, Some(1)),
            generation(2, 200, Some(2)),
            generation(3, 300, None),
        ];
        let names: Vec<String> = timeline(&gens, &history)
            .into_iter()
            .map(|e| match e {
                LogEntry::Generation(g) => format!("g{}", g.number),
                LogEntry::Commit(c) => c.summary,
            })
            .collect();
        assert_eq!(names, ["g3", "commit 3", "g2", "g1"]);
    }
}
