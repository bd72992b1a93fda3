//! `comfydock verify`: re-hashes what the lock pins instead of trusting fingerprints. Store
//! entries against their tree hash; each file comfydock installed into `custom_nodes/` against
//! the same file of the store entry; uv.lock against the lock; ComfyUI's HEAD against the
//! locked commit; with `models`, each placed model file against its blake3. Reads only.

use crate::manifest::Lock;
use crate::observe::Installed;
use crate::store::{EntryCheck, NodeStore};
use crate::workspace::{EnvPaths, Workspace};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    /// How many things were hashed and compared.
    pub checked: usize,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
pub struct Problem {
    /// `node alpha`, `store entry blake3:…`, `uv.lock`, `comfyui`, `model sd15`.
    pub subject: String,
    pub detail: String,
}

impl VerifyReport {
    fn problem(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.problems.push(Problem {
            subject: subject.into(),
            detail: detail.into(),
        });
    }
}

pub fn verify(
    ws: &Workspace,
    env: &EnvPaths,
    lock: &Lock,
    installed: &Installed,
    models: bool,
) -> std::io::Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let store = NodeStore::new(&ws.store_dir());
    // The runtime paths the manifest declares now count, as they do for `plan`.
    let declared = crate::manifest::Manifest::load(&env.pyproject()).ok();
    for (id, node) in &lock.nodes {
        let Some(tree) = node.tree() else { continue };
        report.checked += 1;
        let entry_ok = match store.check(tree)? {
            EntryCheck::Intact => true,
            // Not an error: apply fetches it again from the lock's source.
            EntryCheck::Missing => false,
            EntryCheck::Corrupt { actual } => {
                report.problem(
                    format!("store entry {tree}"),
                    format!(
                        "node `{id}`: its files hash to {actual}; `comfydock gc` cannot fix this, remove the folder"
                    ),
                );
                false
            }
        };
        let Some(inst) = installed.nodes.get(id.as_str()).and_then(|n| n.placed()) else {
            continue;
        };
        if inst.tree != *tree || !entry_ok {
            continue;
        }
        let live = env.custom_nodes().join(inst.folder.as_deref().unwrap_or(id.as_str()));
        // What was placed: the derived entry when an install script built one, else the
        // locked tree. A derived entry that is gone or damaged is a problem of its own.
        let expected = match &inst.derived {
            Some(derived) => {
                report.checked += 1;
                match store.check(derived)? {
                    EntryCheck::Intact => store.path(derived),
                    state => {
                        let state = if state == EntryCheck::Missing {
                            "missing"
                        } else {
                            "damaged"
                        };
                        report.problem(
                            format!("node {id}"),
                            format!("the build of its install.py (store entry {derived}) is {state}; `comfydock apply --rebuild {id}` builds it again"),
                        );
                        continue;
                    }
                }
            }
            _ => store.path(tree),
        };
        for rel in inst.files.keys() {
            report.checked += 1;
            match (file_hash(&live.join(rel)), file_hash(&expected.join(rel))) {
                (Some(a), Some(b)) if a == b => {}
                (None, _) => report.problem(format!("node {id}"), format!("`{rel}` deleted")),
                _ => report.problem(format!("node {id}"), format!("`{rel}` changed")),
            }
        }
        let mut placed = inst.clone();
        if let Some(spec) = declared
            .as_ref()
            .and_then(|m| m.config().nodes.get(id.as_str()).cloned())
        {
            placed
                .runtime_paths
                .extend(spec.runtime_paths.iter().map(ToString::to_string));
        }
        for rel in crate::observe::added_files(&live, &placed) {
            report.problem(
                format!("node {id}"),
                format!("`{rel}` added (not placed by comfydock; declare it in the node's `runtime_paths` if the pack writes it)"),
            );
        }
    }
    report.checked += 1;
    match fs_err::read(env.cec.join("uv.lock")) {
        Ok(bytes) if crate::resolve::hash_bytes(&bytes) == lock.python.uv_lock => {}
        Ok(_) => report.problem("uv.lock", "its hash is not the one comfydock.lock pins"),
        Err(_) => report.problem("uv.lock", "missing"),
    }
    verify_venv(env, installed, &mut report);
    report.checked += 1;
    match crate::git::head_commit(&env.comfyui).ok().flatten() {
        Some(head) if head == lock.comfyui.commit => {
            // ComfyUI's own files as `status` sees them: edited or deleted by hand.
            if let Ok((edited, deleted)) = crate::git::edited_tracked_files(&env.comfyui) {
                for rel in edited {
                    report.problem("comfyui", format!("`{rel}` changed"));
                }
                for rel in deleted {
                    report.problem("comfyui", format!("`{rel}` deleted"));
                }
            }
        }
        Some(head) => report.problem(
            "comfyui",
            format!(
                "HEAD is {} but the lock pins {}",
                head.short(),
                lock.comfyui.commit.short()
            ),
        ),
        None => report.problem("comfyui", "no checkout"),
    }
    if models {
        // Models this machine skips (`import --models skip`) and never placed are not expected.
        let skipping = env.models_skipped_marker().exists();
        for (key, model) in &lock.models {
            if skipping && !installed.models.contains_key(key.as_str()) {
                continue;
            }
            report.checked += 1;
            let path = installed.model_entry(env, model.link_path().as_str());
            match file_hash(&path) {
                Some(h) if h == model.blake3.hex() => {}
                Some(_) => report.problem(
                    format!("model {key}"),
                    format!("{} is not the locked content", path.display()),
                ),
                None => report.problem(format!("model {key}"), format!("{} is missing", path.display())),
            }
        }
    }
    Ok(report)
}

/// blake3 of a file (following a symlink), None when it cannot be read.
fn file_hash(path: &Path) -> Option<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap_rayon(path).ok()?;
    Some(hasher.finalize().to_hex().to_string())
}

/// The live venv against the uv.lock it was synced from: every locked package installed at its
/// version with the files its RECORD lists, and nothing installed beside uv.
fn verify_venv(env: &EnvPaths, installed: &Installed, report: &mut VerifyReport) {
    let Some(site) = crate::python::installed::site_packages(&env.venv) else {
        return;
    };
    let Ok(uv_lock) = fs_err::read_to_string(env.cec.join("uv.lock")) else {
        return;
    };
    let python = crate::python::installed::python_full_version(&env.venv);
    let locked =
        crate::python::uvlock::locked_packages(&uv_lock, installed.torch_backend.as_deref(), python.as_deref());
    let have = crate::python::installed::distributions(&site);
    for (name, pin) in &locked {
        report.checked += 1;
        // A locked package may be absent for a reason (a dependency behind a platform marker):
        // only what is installed is compared.
        match have.get(name) {
            None => {}
            Some(d) if !same_version(&d.version, &pin.version) => report.problem(
                "python",
                format!("`{name}` is {} but uv.lock pins {}; {REPAIR}", d.version, pin.version),
            ),
            Some(d) if !d.missing.is_empty() => report.problem(
                "python",
                format!("`{name}`: files deleted ({}); {REPAIR}", d.missing.join(", ")),
            ),
            Some(_) => {}
        }
    }
}

/// How a damaged venv is repaired.
const REPAIR: &str = "`comfydock apply --rebuild-venv` builds the venv again";

/// `2.0` and `2.0.0`, or `1.0+cpu` and `1.0+cpu`: the same version as uv.lock writes it.
fn same_version(installed: &str, locked: &str) -> bool {
    let trim = |v: &str| v.trim_end_matches(".0").to_string();
    installed == locked || trim(installed) == trim(locked)
}
