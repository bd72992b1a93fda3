//! `gc --keep N`: frees what generations older than the last N alone use: their trash, their
//! venvs, their full records (compacted to a row of the generation index), and node store
//! entries no kept generation of any environment (nor any lock) uses.

use super::generations;
use crate::manifest::{LOCK_FILE, Lock};
use crate::observe::Installed;
use crate::store::NodeStore;
use crate::workspace::{EnvPaths, Workspace};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Default, serde::Serialize)]
pub struct GcReport {
    pub removed: Vec<String>,
    pub freed_bytes: u64,
}

pub fn gc(ws: &Workspace, env: &EnvPaths, keep: usize) -> std::io::Result<GcReport> {
    let mut report = GcReport::default();
    let mut index = generations::index(&env.state)?;
    let live = Installed::load(&env.state)?;
    let kept: BTreeSet<u64> = index
        .generations
        .iter()
        .rev()
        .take(keep.max(1))
        .map(|g| g.number)
        .chain(std::iter::once(live.generation))
        .collect();
    let oldest_kept = kept.iter().copied().min().unwrap_or(0);

    // Trash of generation n holds what apply n replaced: state older than every kept one.
    if let Ok(read) = std::fs::read_dir(env.state.join("trash")) {
        for entry in read.flatten() {
            let n: u64 = entry.file_name().to_string_lossy().parse().unwrap_or(u64::MAX);
            if n <= oldest_kept {
                remove(&entry.path(), &format!("trash of generation {n}"), &mut report)?;
            }
        }
    }

    let kept_venvs: BTreeSet<String> = index
        .generations
        .iter()
        .filter(|g| kept.contains(&g.number))
        .filter_map(|g| g.venv.clone())
        .chain(live.venv.clone())
        .collect();
    if let Ok(read) = std::fs::read_dir(&env.root) {
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".venv-gen-") && !kept_venvs.contains(&name) {
                remove(&entry.path(), &format!("venv {name}"), &mut report)?;
            }
        }
    }

    // Compaction: generations not kept lose their full record (manifest, lock, uv.lock) and
    // keep their row in the index, so `log` still shows them. The index is written first: a
    // crash in between leaves records the index already calls compacted, removed next time.
    let mut compacted = 0;
    for row in &mut index.generations {
        if !kept.contains(&row.number) && !row.compacted {
            row.compacted = true;
            compacted += 1;
        }
    }
    if compacted > 0 || !generations::index_path(&env.state).exists() {
        crate::fsx::write_atomic(&generations::index_path(&env.state), index.to_json().as_bytes())?;
    }
    let mut freed = 0;
    for row in index.generations.iter().filter(|g| g.compacted) {
        let record = generations::path(&env.state, row.number);
        if let Ok(meta) = record.metadata() {
            std::fs::remove_file(&record)?;
            freed += meta.len();
        }
    }
    if compacted > 0 {
        report.freed_bytes += freed;
        report.removed.push(format!(
            "{compacted} old generation record{} (compacted: still listed by `log`)",
            if compacted == 1 { "" } else { "s" }
        ));
    }

    // Trees in use anywhere in the workspace: this environment's kept generations, every other
    // environment's generations, and every environment's current lock and installed nodes.
    let mut used: BTreeSet<String> = BTreeSet::new();
    for name in ws.env_names().map_err(std::io::Error::other)? {
        let other = EnvPaths::new(ws.environments_dir().join(&name), &name);
        // Full records only exist for generations not compacted; the others need no trees.
        for row in generations::index(&other.state)?.generations {
            if row.compacted || (other.root == env.root && !kept.contains(&row.number)) {
                continue;
            }
            if let Some(g) = generations::read(&other.state, row.number)? {
                used.extend(g.trees);
            }
        }
        if let Ok(Some(lock)) = Lock::load(&other.cec.join(LOCK_FILE)) {
            used.extend(lock.nodes.values().filter_map(|n| n.tree()).map(ToString::to_string));
        }
        used.extend(
            Installed::load(&other.state)?
                .nodes
                .into_values()
                .filter_map(|n| n.tree),
        );
    }
    let store = NodeStore::new(&ws.store_dir());
    for tree in store.entries()? {
        if !used.contains(&tree.to_string()) {
            report.freed_bytes += tree_size(&store.path(&tree));
            store.remove(&tree)?;
            report.removed.push(format!("store entry blake3:{}", tree.short()));
        }
    }
    // Scratch folders of interrupted store writes; never those of a process still running.
    for path in store.abandoned_scratch() {
        remove(&path, "interrupted store write", &mut report)?;
    }
    Ok(report)
}

fn tree_size(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.path().symlink_metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn remove(path: &Path, what: &str, report: &mut GcReport) -> std::io::Result<()> {
    let size = tree_size(path);
    std::fs::remove_dir_all(path)?;
    report.freed_bytes += size;
    report.removed.push(what.to_string());
    Ok(())
}
