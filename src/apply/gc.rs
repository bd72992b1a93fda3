//! `gc --keep N`: frees what generations older than the last N alone use: their trash, their
//! venvs, their full records (compacted to a row of the generation index), and node store
//! entries no kept generation of any environment (nor any lock) uses.
//!
//! Freed bytes are the truth, not a sum of file sizes: what counts is the blocks the disk gets
//! back, of files, folders and links alike (as `du` counts them); venv files are hardlinks into
//! uv's cache, so such a file counts only when its last link goes (each inode once, when every
//! one of its links is among what gc removes). `dry_run` reports the same without removing anything.

use super::generations;
use crate::manifest::{LOCK_FILE, Lock};
use crate::observe::Installed;
use crate::progress::Reporter;
use crate::store::NodeStore;
use crate::workspace::{EnvPaths, Workspace};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Default, serde::Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub removed: Vec<String>,
    /// Bytes the filesystem gets back (or would, under `dry_run`): the blocks of every file,
    /// folder and link removed, a hardlinked file's only when its last link goes.
    pub freed_bytes: u64,
    /// The blocks of everything removed, hardlinks counted each time: how much bigger the
    /// removed folders look than what they free.
    pub apparent_bytes: u64,
}

/// What the removed entries free: folders, links and files with one link outright; a file with
/// more links only once all of them are among what is removed: (links seen, links it has,
/// bytes).
#[derive(Default)]
struct Inodes {
    own: u64,
    shared: std::collections::HashMap<(u64, u64), (u64, u64, u64)>,
}

impl Inodes {
    /// Accounts for everything below `path`; returns how many entries that is.
    fn account(&mut self, path: &Path, report: &mut GcReport) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let mut entries = 0;
        for entry in walkdir::WalkDir::new(path).into_iter().filter_map(Result::ok) {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            entries += 1;
            // Allocated blocks, not lengths: what `du` and the filesystem count (a 100-byte
            // file takes a 4 KiB block; a folder of a venv takes blocks of its own).
            let bytes = meta.blocks() * 512;
            report.apparent_bytes += bytes;
            if meta.is_file() && meta.nlink() > 1 {
                let seen = self
                    .shared
                    .entry((meta.dev(), meta.ino()))
                    .or_insert((0, meta.nlink(), bytes));
                seen.0 += 1;
            } else {
                self.own += bytes;
            }
        }
        entries
    }

    /// Bytes of what was accounted for that the filesystem gets back.
    fn freed(&self) -> u64 {
        self.own
            + self
                .shared
                .values()
                .filter(|(seen, links, _)| seen >= links)
                .map(|(_, _, size)| size)
                .sum::<u64>()
    }
}

pub fn gc(
    ws: &Workspace,
    env: &EnvPaths,
    keep: usize,
    dry_run: bool,
    reporter: &dyn Reporter,
) -> std::io::Result<GcReport> {
    let mut report = GcReport {
        dry_run,
        ..GcReport::default()
    };
    let mut inodes = Inodes::default();
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
                let what = trash_contents(&entry.path())
                    .map(|names| {
                        format!("trash of generation {n}: {names} (what apply {n} replaced, your own edits among them)")
                    })
                    .unwrap_or_else(|| format!("trash of generation {n}"));
                remove(&entry.path(), &what, &mut report, &mut inodes, reporter)?;
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
                remove(
                    &entry.path(),
                    &format!("venv {name}"),
                    &mut report,
                    &mut inodes,
                    reporter,
                )?;
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
    if !dry_run && (compacted > 0 || !generations::index_path(&env.state).exists()) {
        crate::fsx::write_atomic(&generations::index_path(&env.state), index.to_json().as_bytes())?;
    }
    let mut freed = 0;
    for row in index.generations.iter().filter(|g| g.compacted) {
        let record = generations::path(&env.state, row.number);
        if let Ok(meta) = record.metadata() {
            if !dry_run {
                fs_err::remove_file(&record)?;
            }
            freed += std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
        }
    }
    if compacted > 0 {
        report.freed_bytes += freed;
        report.apparent_bytes += freed;
        report.removed.push(format!(
            "{compacted} old generation record{} (compacted: still listed by `log`)",
            if compacted == 1 { "" } else { "s" }
        ));
    }

    // Trees in use anywhere in the workspace: this environment's kept generations, every other
    // environment's generations, and every environment's current lock and installed nodes.
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut used_model_trees: BTreeSet<String> = BTreeSet::new();
    for name in ws.env_names().map_err(std::io::Error::other)? {
        let other = EnvPaths::new(ws.environments_dir().join(&name), &name);
        // Full records only exist for generations not compacted; the others need no trees.
        for row in generations::index(&other.state)?.generations {
            if row.compacted || (other.root == env.root && !kept.contains(&row.number)) {
                continue;
            }
            if let Some(g) = generations::read(&other.state, row.number)? {
                used.extend(g.trees.iter().map(ToString::to_string));
                used_model_trees.extend(g.model_tree);
            }
        }
        if let Ok(Some(lock)) = Lock::load(&other.cec.join(LOCK_FILE)) {
            used.extend(lock.nodes.values().filter_map(|n| n.tree()).map(ToString::to_string));
        }
        // The pack's tree and, when its install.py ran, the build placed from it.
        let installed = Installed::load(&other.state)?;
        used_model_trees.extend(installed.model_tree.map(|t| t.id));
        used.extend(
            installed
                .nodes
                .into_values()
                .filter_map(|n| match n {
                    crate::observe::InstalledNode::Placed(p) => Some(p),
                    crate::observe::InstalledNode::Linked { .. } => None,
                })
                .flat_map(|p| std::iter::once(p.tree.to_string()).chain(p.derived.map(|d| d.to_string()))),
        );
    }
    model_trees(ws, &used_model_trees, &mut report, &mut inodes, reporter)?;
    let store = NodeStore::new(&ws.store_dir());
    for tree in store.entries()? {
        if !used.contains(&tree.to_string()) {
            inodes.account(&store.path(&tree), &mut report);
            if !dry_run {
                reporter.step(&format!("Removing store entry blake3:{}", tree.short()));
                store.remove(&tree)?;
            }
            report.removed.push(format!("store entry blake3:{}", tree.short()));
        }
    }
    // A build record whose output is gone can never be reused: it goes too.
    let derived = crate::store::derived::DerivedStore::new(&ws.store_dir());
    for record in derived.records() {
        if !used.contains(&record.tree.to_string()) {
            let path = derived.dir().join(format!("{}.json", record.inputs.key().hex()));
            if !dry_run {
                let _ = fs_err::remove_file(&path);
            }
        }
    }
    workspace_scratch(ws, &mut report, &mut inodes, reporter)?;
    report.freed_bytes += inodes.freed();
    Ok(report)
}

/// What `gc` removes with no environment at all (none selected, or the first import was
/// killed): scratch folders of interrupted store writes and imports, never those of a process
/// still running.
pub fn gc_workspace(ws: &Workspace, dry_run: bool, reporter: &dyn Reporter) -> std::io::Result<GcReport> {
    let mut report = GcReport {
        dry_run,
        ..Default::default()
    };
    let mut inodes = Inodes::default();
    workspace_scratch(ws, &mut report, &mut inodes, reporter)?;
    report.freed_bytes += inodes.freed();
    Ok(report)
}

fn workspace_scratch(
    ws: &Workspace,
    report: &mut GcReport,
    inodes: &mut Inodes,
    reporter: &dyn Reporter,
) -> std::io::Result<()> {
    for path in NodeStore::new(&ws.store_dir()).abandoned_scratch() {
        remove(&path, "interrupted store write", report, inodes, reporter)?;
    }
    if let Ok(read) = std::fs::read_dir(ws.root()) {
        for path in read.flatten().map(|e| e.path()) {
            if crate::fsx::scratch_abandoned(&path, crate::portability::IMPORT_SCRATCH) {
                remove(&path, "interrupted import", report, inodes, reporter)?;
            }
        }
    }
    Ok(())
}

/// Model trees no kept generation and no live environment uses, trees set aside as damaged,
/// and scratch trees of builds whose process is gone. The model files their links point to are
/// never touched (a copy in a tree is comfydock's own copy).
fn model_trees(
    ws: &Workspace,
    used: &BTreeSet<String>,
    report: &mut GcReport,
    inodes: &mut Inodes,
    reporter: &dyn Reporter,
) -> std::io::Result<()> {
    use super::model_tree::{DAMAGED, SCRATCH};
    let Ok(read) = std::fs::read_dir(ws.store_dir().join(crate::observe::MODEL_TREES)) else {
        return Ok(());
    };
    for path in read.flatten().map(|e| e.path()) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let what = if name.starts_with(DAMAGED) {
            "model tree found damaged".to_string()
        } else if name.starts_with(SCRATCH) {
            if !crate::fsx::scratch_abandoned(&path, SCRATCH) {
                continue;
            }
            "interrupted model tree build".to_string()
        } else if name.starts_with(super::model_tree_record::PREFIX) && path.is_file() {
            // Which tree holds a set of models: kept while that tree is.
            match super::model_tree_record::tree_of(&path) {
                Some(tree) if used.contains(&tree) => continue,
                _ => {
                    if !report.dry_run {
                        let _ = fs_err::remove_file(&path);
                    }
                    continue;
                }
            }
        } else if used.contains(&name) {
            continue;
        } else {
            format!("model tree {name} (links only; the model files stay)")
        };
        remove(&path, &what, report, inodes, reporter)?;
    }
    Ok(())
}

/// The names in a generation's trash folder, comma-separated; None when it is empty.
fn trash_contents(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (!names.is_empty()).then(|| names.join(", "))
}

/// Removes the folder `path` (`what`, in the report), showing its progress: a venv is tens of
/// thousands of files.
fn remove(
    path: &Path,
    what: &str,
    report: &mut GcReport,
    inodes: &mut Inodes,
    reporter: &dyn Reporter,
) -> std::io::Result<()> {
    let entries = inodes.account(path, report);
    if !report.dry_run {
        reporter.step(&format!("Removing {what}"));
        crate::fsx::remove_tree_counted(path, entries, what, reporter)?;
    }
    report.removed.push(what.to_string());
    Ok(())
}
