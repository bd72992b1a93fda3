//! `node adopt`: an untracked folder of `custom_nodes/` (installed with ComfyUI-Manager or
//! `git clone`) becomes a declared pack where it is, instead of going to the trash at the next
//! apply.
//!
//! - a git checkout → a git pack at its `origin` and HEAD commit (a dirty tree is refused);
//! - a folder ComfyUI-Manager installed from the registry (its `.tracking` file next to a
//!   `pyproject.toml` with `[project] name` and `version`, as `cnr_utils.read_cnr_info` reads
//!   it; or that pyproject alone when the registry has that id at that version) → a registry
//!   pack at that version;
//! - with `--dev`, any folder → a local pack linked in place (the folder is the pack);
//! - anything else is refused, with those options.
//!
//! The folder must already have the name comfydock gives the pack (`NodeSpec::folder`: the
//! repository's name as spelled, or the registry id), so that it can stay where it is; and its
//! files must be the locked tree's files (checked after resolution, before the plan). It is then
//! recorded as installed, with the files it holds beyond the tree that are the tool's own
//! bookkeeping (`.git`, `.tracking`) recorded as run-time paths: not drift, and not carried to
//! the pack's next version, which comes from the store without them.

use super::edit::{Hooks, Reach, edit_and_apply_with};
use crate::manifest::{LockedNode, NodeSpec};
use crate::observe::runtime_paths::RuntimePaths;
use crate::observe::{INSTALLED_FILE, Installed, InstalledNode, observe};
use crate::plan::{Action, Plan};
use crate::reconcile::Session;
use crate::resolve::Update;
use crate::types::{GitRef, NodeId, PackVersion, RepoUrl};
use miette::{Result, miette};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which folders to adopt, and how.
#[derive(Debug, Clone, Default)]
pub struct AdoptInput {
    /// Folder names in `custom_nodes/`.
    pub names: Vec<String>,
    /// Every untracked folder (those that cannot be adopted are reported, not refused).
    pub all: bool,
    /// Link the folders in place as local packs, whatever they are.
    pub dev: bool,
}

/// What `node adopt` did.
#[derive(Debug, Serialize)]
pub struct AdoptReport {
    pub adopted: Vec<AdoptedPack>,
    /// Folders `--all` left as they were, with why and what to do.
    pub skipped: Vec<Refusal>,
    /// The generation the apply made (None: nothing but the records changed).
    pub generation: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdoptedPack {
    /// The manifest key (the folder's name).
    pub id: String,
    pub folder: String,
    #[serde(flatten)]
    pub source: AdoptedSource,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum AdoptedSource {
    Git {
        repository: String,
        commit: String,
    },
    Registry {
        registry_id: String,
        version: String,
        /// `manager` (a `.tracking` file) or `pyproject` (the registry has that id and version).
        found_by: &'static str,
    },
    Local {
        path: String,
    },
}

/// A folder that cannot be adopted as it is.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub folder: String,
    pub reason: String,
    pub help: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "custom_nodes/{}: {}\n    {}", self.folder, self.reason, self.help)
    }
}

/// A folder as it will be declared: its spec, and the paths in it that are its installer's own
/// bookkeeping rather than the pack.
struct Candidate {
    id: NodeId,
    spec: NodeSpec,
    source: AdoptedSource,
    bookkeeping: Vec<String>,
}

const PYPROJECT_MAX_BYTES: u64 = 1 << 20;

/// Adopts the folders `input` names; `on_plan` sees the plan before it is applied.
pub fn adopt(session: &mut Session, input: &AdoptInput, on_plan: &mut dyn FnMut(&Plan)) -> Result<AdoptReport> {
    let observed = observe(&session.env).map_err(|e| miette!("could not read {}: {e}", session.env.root.display()))?;
    let names: Vec<String> = if input.all {
        observed.untracked.clone()
    } else {
        input.names.clone()
    };
    let mut manifest = session.manifest()?;
    let mut candidates = Vec::new();
    let mut refusals = Vec::new();
    for name in &names {
        let found = if !observed.untracked.contains(name) {
            Err(not_untracked(session, &observed.installed, name))
        } else {
            examine(session, name, input.dev)
        };
        match found {
            Ok(c) if manifest.config().nodes.contains_key(c.id.as_str()) => refusals.push(Refusal {
                folder: name.clone(),
                reason: format!("the manifest already declares a node `{}`", c.id),
                help: format!(
                    "`comfydock node remove {}` first, or adopt the folder under another name",
                    c.id
                ),
            }),
            Ok(c) => candidates.push(c),
            Err(r) => refusals.push(r),
        }
    }
    if !refusals.is_empty() && !input.all {
        let list = refusals.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        return Err(miette!(
            code = "comfydock::node::adopt_refused",
            help = "nothing was changed",
            "cannot adopt:\n{list}"
        ));
    }
    let mut report = AdoptReport {
        adopted: Vec::new(),
        skipped: refusals,
        generation: None,
    };
    if candidates.is_empty() {
        return Ok(report);
    }
    for c in &candidates {
        manifest.set_node(c.id.as_str(), &c.spec);
    }
    let ids: Vec<String> = candidates.iter().map(|c| c.id.to_string()).collect();
    let message = format!("Adopt node {}", ids.join(", "));
    let installed_path = session.env.state.join(INSTALLED_FILE);
    let installed_before = fs_err::read(&installed_path).ok();
    // Other untracked folders stay as they are: adopting one folder is no time to trash others.
    let mut hooks = Hooks {
        prepare: &mut |session, resolved| record_in_place(session, &resolved.lock, &candidates),
        leave_out: &|action| matches!(action, Action::TrashUntracked { .. }),
    };
    let edited = edit_and_apply_with(
        session,
        &manifest,
        Update::Nodes(ids),
        Reach::Apply,
        &message,
        &mut hooks,
        on_plan,
    );
    let edited = match edited {
        Ok(e) => e,
        Err(e) => {
            let _ = match &installed_before {
                Some(bytes) => crate::fsx::write_atomic(&installed_path, bytes),
                None => fs_err::remove_file(&installed_path).or(Ok(())),
            };
            return Err(e);
        }
    };
    report.generation = edited.generation.map(|g| g.number);
    report.adopted = candidates
        .into_iter()
        .map(|c| AdoptedPack {
            folder: c.spec.folder(&c.id).to_string(),
            id: c.id.to_string(),
            source: c.source,
        })
        .collect();
    Ok(report)
}

/// Why `name` is not an untracked folder.
fn not_untracked(session: &Session, installed: &Installed, name: &str) -> Refusal {
    let declared = installed.nodes.iter().find(|(id, n)| n.folder(id) == name);
    let (reason, help) = match declared {
        Some((id, _)) => (
            format!("it is the installed node `{id}`"),
            "`comfydock node list` shows the declared packs".to_string(),
        ),
        None if session.env.custom_nodes().join(name).symlink_metadata().is_ok() => (
            "comfydock does not treat it as a pack (hidden, disabled, or part of ComfyUI)".to_string(),
            "nothing to adopt".to_string(),
        ),
        None => (
            "no such folder".to_string(),
            "`comfydock plan` lists the untracked folders of custom_nodes/".to_string(),
        ),
    };
    Refusal {
        folder: name.to_string(),
        reason,
        help,
    }
}

/// What the folder is, as a declared pack.
fn examine(session: &Session, name: &str, dev: bool) -> std::result::Result<Candidate, Refusal> {
    let refuse = |reason: String, help: String| Refusal {
        folder: name.to_string(),
        reason,
        help,
    };
    let options = |name: &str| {
        format!(
            "`comfydock node adopt {name} --dev` links it in place as a local pack (never copied, moved or deleted); \
             or add the pack from its source (`comfydock node add ID|URL`) and let the next apply move this folder to the trash"
        )
    };
    let Ok(id) = name.parse::<NodeId>() else {
        return Err(refuse(
            "its name cannot be a node id (letters, digits, `.`, `_`, `-`, `+`)".to_string(),
            "rename the folder, then adopt it".to_string(),
        ));
    };
    let dir = session.env.custom_nodes().join(name);
    let meta = dir
        .symlink_metadata()
        .map_err(|e| refuse(e.to_string(), options(name)))?;
    if !meta.is_dir() {
        return Err(refuse(
            "it is not a folder (a link or a file)".to_string(),
            "`comfydock node add --dev PATH` links a folder you develop elsewhere".to_string(),
        ));
    }
    if dev {
        let path = std::fs::canonicalize(&dir).map_err(|e| refuse(e.to_string(), options(name)))?;
        let path = path.display().to_string();
        return Ok(Candidate {
            spec: NodeSpec::local(path.clone()),
            id,
            source: AdoptedSource::Local { path },
            bookkeeping: Vec::new(),
        });
    }
    let candidate = if dir.join(".git").exists() {
        git_candidate(&dir, id, name).map_err(|(reason, help)| refuse(reason, help.unwrap_or_else(|| options(name))))?
    } else if let Some(c) = registry_candidate(session, &dir, id.clone()) {
        c
    } else {
        return Err(refuse(
            "neither a git checkout nor a registry pack installed by ComfyUI-Manager (no `.git`, no `.tracking` or registry `pyproject.toml`)".to_string(),
            options(name),
        ));
    };
    let folder = candidate.spec.folder(&candidate.id);
    if folder.as_str() != name {
        return Err(refuse(
            format!("comfydock places this pack at custom_nodes/{folder}, not custom_nodes/{name}"),
            format!(
                "rename it where it is (`mv custom_nodes/{name} custom_nodes/{folder}`) and adopt `{folder}`, or adopt it with --dev"
            ),
        ));
    }
    Ok(candidate)
}

type Refused = (String, Option<String>);

fn git_candidate(dir: &Path, id: NodeId, name: &str) -> std::result::Result<Candidate, Refused> {
    let plain = |e: crate::git::GitError| (format!("its git repository cannot be read: {e}"), None);
    let defaults = RuntimePaths::new([]);
    let dirty: Vec<String> = crate::git::cec::uncommitted_files(dir)
        .map_err(plain)?
        .into_iter()
        .filter(|f| !defaults.matches(f))
        .collect();
    if !dirty.is_empty() {
        return Err((
            format!("its git checkout has changes: {}", shown(&dirty)),
            Some(format!(
                "commit (and push) or discard them, then adopt it; or `comfydock node adopt {name} --dev` to keep developing it in place"
            )),
        ));
    }
    let origin = crate::git::cec::remotes(dir)
        .map_err(plain)?
        .into_iter()
        .find(|(n, _)| n == "origin")
        .map(|(_, url)| url)
        .ok_or_else(|| {
            (
                "its git checkout has no `origin` remote to fetch it from".to_string(),
                None,
            )
        })?;
    let repository: RepoUrl = origin.parse().map_err(|e| {
        (
            format!("its origin `{origin}` is not a repository comfydock can fetch: {e}"),
            None,
        )
    })?;
    let commit = crate::git::head_commit(dir)
        .map_err(plain)?
        .ok_or_else(|| ("its git checkout has no commit".to_string(), None))?;
    let rev: GitRef = commit.to_string().parse().map_err(|e| (format!("{e}"), None))?;
    Ok(Candidate {
        spec: NodeSpec::git(repository, Some(rev)),
        id,
        source: AdoptedSource::Git {
            repository: origin,
            commit: commit.to_string(),
        },
        bookkeeping: vec![".git".to_string()],
    })
}

/// A registry pack as ComfyUI-Manager installs one: `.tracking` beside a pyproject naming the
/// registry id and version; without `.tracking`, only when the registry has that version.
fn registry_candidate(session: &Session, dir: &Path, id: NodeId) -> Option<Candidate> {
    let bytes = crate::fsx::read_regular(&dir.join("pyproject.toml"), PYPROJECT_MAX_BYTES).ok()?;
    let table: toml::Table = toml::from_str(std::str::from_utf8(&bytes).ok()?).ok()?;
    let project = table.get("project")?.as_table()?;
    // Manager: `name.strip().lower()`.
    let registry_id: NodeId = project.get("name")?.as_str()?.trim().to_lowercase().parse().ok()?;
    let version: PackVersion = project.get("version")?.as_str()?.trim().parse().ok()?;
    let tracked = dir.join(".tracking").is_file();
    if !tracked {
        let client = crate::registry::workspace_client(session.ws, session.offline, session.transfers.clone()).ok()?;
        client.version(registry_id.as_str(), version.as_str()).ok()??;
    }
    Some(Candidate {
        spec: NodeSpec::registry(Some(registry_id.clone()), Some(version.clone())),
        id,
        source: AdoptedSource::Registry {
            registry_id: registry_id.to_string(),
            version: version.to_string(),
            found_by: if tracked { "manager" } else { "pyproject" },
        },
        bookkeeping: if tracked {
            vec![".tracking".to_string()]
        } else {
            Vec::new()
        },
    })
}

/// Checks each folder against the tree the new lock pins and records it in `installed.json` as
/// placed: the plan then has nothing to do for it.
fn record_in_place(session: &Session, lock: &crate::manifest::Lock, candidates: &[Candidate]) -> Result<()> {
    let env = &session.env;
    let installed_path = env.state.join(INSTALLED_FILE);
    let mut installed =
        Installed::load(&env.state).map_err(|e| miette!("could not read {}: {e}", installed_path.display()))?;
    let store = crate::store::NodeStore::new(&session.ws.store_dir());
    for c in candidates {
        let locked = lock
            .nodes
            .get(c.id.as_str())
            .ok_or_else(|| miette!("`{}` is not in the new lock", c.id))?;
        let folder = locked.folder(&c.id).to_string();
        let dir = env.custom_nodes().join(&folder);
        let record = match (locked, locked.pack_pin()) {
            (LockedNode::Dev(dev), _) => InstalledNode::Linked { link: dev.path.clone() },
            (_, None) => continue,
            (_, Some(other)) => {
                let tree = other.tree();
                session
                    .reporter
                    .step(&format!("Comparing custom_nodes/{folder} with the locked tree"));
                let skip = RuntimePaths::new(c.bookkeeping.iter().map(String::as_str));
                let files = same_files(&dir, &store.path(tree), &skip)?.map_err(|diff| {
                    miette!(
                        code = "comfydock::node::adopt_differs",
                        help = "nothing was changed; put the folder back as its source has it, or adopt it with --dev",
                        "custom_nodes/{folder} is not {} as locked: {diff}",
                        other.describe()
                    )
                })?;
                InstalledNode::Placed(crate::observe::PlacedNode {
                    source: other.source(),
                    version: Some(other.describe()),
                    tree: tree.clone(),
                    files,
                    folder: (folder != c.id.as_str()).then(|| folder.clone()),
                    derived: None,
                    runtime_paths: c.bookkeeping.clone(),
                })
            }
        };
        installed.nodes.insert(c.id.clone(), record);
    }
    crate::fsx::write_atomic(&installed_path, installed.to_json().as_bytes())
        .map_err(|e| miette!("could not write {}: {e}", installed_path.display()))?;
    Ok(())
}

/// The fingerprints of the folder's files when it holds exactly the entry's files (same names,
/// same bytes, same link targets; modes are not compared: ComfyUI-Manager's zip extraction
/// drops them), else what differs. Files of the folder that `skip` (and the run-time defaults)
/// match are not the pack's.
fn same_files(
    dir: &Path,
    entry: &Path,
    skip: &RuntimePaths,
) -> Result<std::result::Result<BTreeMap<String, crate::observe::Fingerprint>, String>> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| miette!("could not read {}: {e}", p.display())
    };
    let list = |root: &Path, skip: Option<&RuntimePaths>| -> Result<BTreeMap<String, PathBuf>> {
        let mut out = BTreeMap::new();
        let walk = walkdir::WalkDir::new(root).min_depth(1).follow_links(false).into_iter();
        for e in walk.filter_entry(|e| {
            let rel = e.path().strip_prefix(root).map(|r| r.to_string_lossy().into_owned());
            !(skip.is_some() && rel.is_ok_and(|r| skip.is_some_and(|s| s.matches(&r))))
        }) {
            let e = e.map_err(|e| miette!("could not read {}: {e}", root.display()))?;
            if e.file_type().is_dir() {
                continue;
            }
            let rel = e
                .path()
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            out.insert(rel, e.path().to_path_buf());
        }
        Ok(out)
    };
    let want = list(entry, None)?;
    let have = list(dir, Some(skip))?;
    let missing: Vec<String> = want.keys().filter(|k| !have.contains_key(*k)).cloned().collect();
    let extra: Vec<String> = have.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
    let mut changed = Vec::new();
    for (rel, w) in &want {
        let Some(h) = have.get(rel) else { continue };
        if !same_content(w, h).map_err(io(h))? {
            changed.push(rel.clone());
        }
    }
    if missing.is_empty() && extra.is_empty() && changed.is_empty() {
        let mut files = BTreeMap::new();
        for (rel, h) in &want {
            let path = &have[rel];
            files.insert(
                rel.clone(),
                crate::observe::Fingerprint::of(&path.symlink_metadata().map_err(io(h))?),
            );
        }
        return Ok(Ok(files));
    }
    let mut parts = Vec::new();
    for (what, list) in [
        ("changed", &changed),
        ("not in the pack", &extra),
        ("missing", &missing),
    ] {
        if !list.is_empty() {
            parts.push(format!("{what}: {}", shown(list)));
        }
    }
    Ok(Err(parts.join("; ")))
}

fn same_content(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (ma, mb) = (a.symlink_metadata()?, b.symlink_metadata()?);
    if ma.file_type().is_symlink() || mb.file_type().is_symlink() {
        return Ok(ma.file_type().is_symlink()
            && mb.file_type().is_symlink()
            && fs_err::read_link(a)? == fs_err::read_link(b)?);
    }
    if ma.len() != mb.len() {
        return Ok(false);
    }
    use std::io::Read;
    let (mut fa, mut fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// At most five names, then how many more.
fn shown(names: &[String]) -> String {
    let mut text = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        text.push_str(&format!(" and {} more", names.len() - 5));
    }
    text
}
