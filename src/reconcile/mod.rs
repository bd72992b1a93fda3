//! The reconcile loop in one place: manifest → (resolve) → lock; disk → observe; diff → plan;
//! apply. Commands in `cli/` are thin wrappers over a `Session`, which also holds the
//! environment's writer lock and runs crash recovery before anything changes.

mod create;
mod locked;
pub mod pack_notes;
mod verify;

pub use create::{CreateOptions, create_environment};
pub use locked::check_locked;
pub use verify::{Problem, VerifyReport, verify};

use crate::apply::{self, EnvLock, Generation, Recovery};
use crate::manifest::{LOCK_FILE, Lock, Manifest};
use crate::observe::{Observed, observe};
use crate::plan::{self, Plan};
use crate::progress::Reporter;
use crate::python::Uv;
use crate::resolve::{self, Freshness, Resolved, Resolver, Update};
use crate::types::TorchBackend;
use crate::workspace::{EnvPaths, Workspace};
use miette::Diagnostic;
use thiserror::Error;

/// `.comfydock/pulled-stale`: the commit a `pull` brought with a lock out of date.
pub const PULLED_STALE: &str = "pulled-stale";

#[derive(Debug, Error, Diagnostic)]
pub enum ReconcileError {
    #[error("the lock arrived out of date with its manifest from a pull ({commit}): {reason}")]
    #[diagnostic(
        code(comfydock::lock::pulled_stale),
        help(
            "resolving it runs code of the pulled commit (uv lock builds git and source requirements): review the pull, then run `comfydock lock` to resolve it here, or pull a commit whose lock is up to date"
        )
    )]
    PulledStale { commit: String, reason: String },

    #[error("the lock is out of date: {reason}")]
    #[diagnostic(
        code(comfydock::lock::stale),
        help("run `comfydock lock` (or apply without --locked) to resolve it again")
    )]
    StaleLock { reason: String },

    #[error("the environment has no comfydock.lock yet")]
    #[diagnostic(
        code(comfydock::lock::missing),
        help("run `comfydock lock`, or apply without --frozen")
    )]
    NoLock,

    #[error("uv.lock is missing")]
    #[diagnostic(code(comfydock::lock::no_uv_lock), help("run `comfydock lock` to make it"))]
    NoUvLock,

    #[error("torch backend `{requested}` is not one this environment's lock covers")]
    #[diagnostic(
        code(comfydock::python::unknown_backend),
        help(
            "the lock covers: {available}; add the backend to torch_backends in [tool.comfydock] (then `comfydock lock`), or pick one of those"
        )
    )]
    UnknownBackend { requested: String, available: String },

    #[error("refusing to start ComfyUI: {reason}")]
    #[diagnostic(code(comfydock::run::not_as_locked), help("{fix}"))]
    NotAsLocked { reason: String, fix: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::git::GitError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Uv(#[from] crate::python::UvError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Locked(#[from] crate::apply::Locked),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] Box<crate::plan::SavedPlanError>),
    #[error("file operation failed")]
    #[diagnostic(code(comfydock::reconcile::io))]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = ReconcileError> = std::result::Result<T, E>;

/// How `apply` treats the lock (uv's `--locked` / `--frozen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Resolve again when the lock is stale.
    Resolve,
    /// Fail when the lock is stale.
    Locked,
    /// Use the lock as it is, never resolve.
    Frozen,
}

/// The desired state a plan is made from, and whether it is the lock on disk.
pub struct Desired {
    pub resolved: Resolved,
    /// "fresh" (the lock on disk), "updated" (newly resolved, not yet written) or "frozen".
    pub status: &'static str,
}

/// The inputs of a plan as read from disk (see `Session::read_state`).
pub struct State {
    pub manifest: Manifest,
    pub lock: Option<Lock>,
    pub uv_lock: Option<Vec<u8>>,
    pub observed: Observed,
}

pub struct Planned {
    pub plan: Plan,
    pub observed: Observed,
    pub fingerprint: String,
    /// The torch backend the plan syncs (None: the lock declares no backends).
    pub torch_backend: Option<crate::types::TorchBackend>,
}

/// Copies of `.cec/pyproject.toml`, `comfydock.lock` and `uv.lock` (None: the file was absent).
pub struct DesiredBackup {
    files: Vec<std::path::PathBuf>,
    bytes: Vec<Option<Vec<u8>>>,
}

impl DesiredBackup {
    pub fn restore(self) {
        for (file, bytes) in self.files.iter().zip(self.bytes) {
            let _ = match bytes {
                Some(b) => crate::fsx::write_atomic(file, &b),
                None => fs_err::remove_file(file).or(Ok(())),
            };
        }
    }
}

pub struct Session<'a, A = Writes> {
    /// `--offline`: registry answers come from the cache only.
    pub offline: bool,
    pub ws: &'a Workspace,
    pub env: EnvPaths,
    pub reporter: &'a dyn Reporter,
    uv: Option<Uv>,
    _lock: Option<EnvLock>,
    pub recovery: Recovery,
    /// The command this session serves (`workflow sync`), as the writer lock names it.
    pub command: String,
    /// `--torch-backend`: the backend to sync; None picks one (see `choose_backend`).
    pub torch_backend: Option<crate::types::TorchBackend>,
    /// `--link-mode`: how models reach ComfyUI/models (symlink unless asked).
    pub link_mode: crate::observe::LinkMode,
    /// `apply --place-models`: place the models `import --models skip` left out, and stop
    /// skipping them on this machine.
    pub place_models: bool,
    /// `apply --rebuild NODE`: run these packs' install scripts again (a new build replaces the
    /// recorded one).
    pub rebuild: Vec<String>,
    /// `apply --rebuild-venv`: a new venv is built from uv.lock (uv's cache makes it quick), not
    /// the live one reused: what repairs packages deleted or changed by hand.
    pub rebuild_venv: bool,
    /// Where download progress goes (shared with worker threads, hence an `Arc`).
    pub transfers: std::sync::Arc<dyn Reporter + Send + Sync>,
    /// The manifest last parsed, with the bytes it was parsed from (see `manifest`).
    parsed: std::sync::Mutex<Option<(Vec<u8>, Manifest)>>,
    access: std::marker::PhantomData<A>,
}

/// A session that holds the environment's writer lock: it may write the lock, apply, and
/// restore generations.
pub struct Writes;

/// A session without the lock (plan, status, lists): it reads, resolves and plans like a writer,
/// and the type has no method that writes, so a reader cannot apply by mistake:
///
/// ```compile_fail
/// use comfydock::reconcile::{Reads, Session};
/// fn restore_without_the_lock(session: &mut Session<'_, Reads>) {
///     let _ = session.restore_generation(None);
/// }
/// ```
pub struct Reads;

impl<'a> Session<'a, Writes> {
    /// A session that may change the environment: takes the writer lock, then finishes or undoes
    /// an interrupted apply.
    pub fn writer(ws: &'a Workspace, env: EnvPaths, reporter: &'a dyn Reporter, command: &str) -> Result<Self> {
        let lock = EnvLock::acquire(&env.state, &env.name, command)?;
        let mut recovery = apply::recover(&env.state)?;
        // After the apply journal's recovery: the live generation says whether an interrupted
        // edit's apply had finished.
        let live = crate::observe::Installed::load(&env.state)?.generation;
        if let Some(edit) = apply::edit_journal::recover(&env.state, &env.cec, live)? {
            recovery = Recovery::Edit {
                edit,
                apply: Box::new(recovery),
            };
        }
        Ok(Session {
            ws,
            offline: false,
            env,
            reporter,
            uv: None,
            _lock: Some(lock),
            recovery,
            command: command.to_string(),
            torch_backend: None,
            link_mode: Default::default(),
            place_models: false,
            rebuild: Vec::new(),
            rebuild_venv: false,
            transfers: std::sync::Arc::new(crate::progress::Silent),
            parsed: Default::default(),
            access: std::marker::PhantomData,
        })
    }
}

impl<'a> Session<'a, Reads> {
    /// A session that only reads (plan, status): no lock, no recovery.
    pub fn reader(ws: &'a Workspace, env: EnvPaths, reporter: &'a dyn Reporter) -> Self {
        Session {
            ws,
            offline: false,
            env,
            reporter,
            uv: None,
            _lock: None,
            recovery: Recovery::Nothing,
            command: String::new(),
            torch_backend: None,
            link_mode: Default::default(),
            place_models: false,
            rebuild: Vec::new(),
            rebuild_venv: false,
            transfers: std::sync::Arc::new(crate::progress::Silent),
            parsed: Default::default(),
            access: std::marker::PhantomData,
        }
    }
}

impl<'a, A> Session<'a, A> {
    /// Download progress goes to `transfers` (bars on a terminal).
    pub fn transfers(mut self, transfers: std::sync::Arc<dyn Reporter + Send + Sync>) -> Self {
        self.transfers = transfers;
        self
    }

    /// Registry answers from the cache only (`--offline`).
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    fn uv(&mut self) -> Result<Uv> {
        if self.uv.is_none() {
            self.uv = Some(self.ws.uv()?);
        }
        Ok(self.uv.clone().expect("set above"))
    }

    /// The manifest on disk. Parsing a big one costs tens of milliseconds, and a command
    /// loads it, then plans (which reads it again): the same bytes are parsed once per session.
    pub fn manifest(&self) -> Result<Manifest> {
        let path = self.env.pyproject();
        let bytes = fs_err::read(&path).map_err(|source| crate::manifest::ManifestError::Io {
            path: path.clone(),
            source,
        })?;
        self.manifest_of(bytes)
    }

    /// The manifest read as `bytes`, parsed unless these are the bytes parsed last.
    fn manifest_of(&self, bytes: Vec<u8>) -> Result<Manifest> {
        let path = self.env.pyproject();
        let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, manifest)) = parsed.as_ref()
            && *seen == bytes
        {
            return Ok(manifest.clone());
        }
        let manifest = match std::str::from_utf8(&bytes) {
            Ok(text) => Manifest::parse(&path, text)?,
            // Not UTF-8: `load` says so in its own words.
            Err(_) => Manifest::load(&path)?,
        };
        *parsed = Some((bytes, manifest.clone()));
        Ok(manifest)
    }

    pub fn lock_on_disk(&self) -> Result<Option<Lock>> {
        Ok(Lock::load(&self.env.cec.join(LOCK_FILE))?)
    }

    fn uv_lock_on_disk(&self) -> Option<Vec<u8>> {
        fs_err::read(self.env.cec.join("uv.lock")).ok()
    }

    pub fn freshness(&self, manifest: &Manifest) -> Result<Freshness> {
        let lock = self.lock_on_disk()?;
        Ok(self.freshness_of(manifest, lock.as_ref(), self.uv_lock_on_disk().as_deref()))
    }

    /// Whether `lock` and `uv_lock` (as read) are what `manifest` and the tracked workflows pin.
    pub fn freshness_of(&self, manifest: &Manifest, lock: Option<&Lock>, uv_lock: Option<&[u8]>) -> Freshness {
        let freshness = resolve::freshness(manifest, lock, uv_lock);
        match (freshness, lock) {
            (Freshness::Fresh, Some(lock)) => match self.workflows_changed(manifest, lock) {
                Ok(Some(why)) => Freshness::Stale(why),
                Ok(None) => Freshness::Fresh,
                Err(e) => Freshness::Stale(e.to_string()),
            },
            (other, _) => other,
        }
    }

    /// Whether the tracked workflows in `.cec` are still the ones `lock` pins (their content
    /// does not enter the inputs hash: hashing them is cheap and needs no resolution).
    fn workflows_changed(&self, manifest: &Manifest, lock: &Lock) -> Result<Option<String>> {
        let current = resolve::workflows::lock_workflows(&self.env.cec, manifest.config(), &lock.models)?;
        Ok(resolve::workflows::workflows_changed(&lock.workflows, &current))
    }

    /// Resolves the manifest, keeping the pins of the lock on disk unless `update` says otherwise.
    pub fn resolve(&mut self, manifest: &Manifest, update: &Update) -> Result<Resolved> {
        let uv = self.uv()?;
        let previous = self.lock_on_disk()?;
        let resolver = Resolver {
            ws: self.ws,
            env: &self.env,
            uv: &uv,
            reporter: self.reporter,
            offline: self.offline,
            transfers: self.transfers.clone(),
        };
        Ok(resolver.resolve(manifest, previous.as_ref(), update)?)
    }

    /// Everything a plan is made from, read at once: the manifest (parsed here), the lock and
    /// uv.lock (parsed on a second thread) and the disk (observed on a third). On a big
    /// environment each is tens of milliseconds; a no-op plan should cost the longest, not the sum.
    pub fn read_state(&self) -> Result<State> {
        let env = &self.env;
        std::thread::scope(|scope| {
            let observing = scope.spawn(|| observe(env));
            let locking = scope.spawn(|| {
                let lock = Lock::load(&env.cec.join(LOCK_FILE));
                (lock, fs_err::read(env.cec.join("uv.lock")).ok())
            });
            let manifest = self.manifest();
            let (lock, uv_lock) = locking.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            let observed = observing.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            Ok(State {
                manifest: manifest?,
                lock: lock?,
                uv_lock,
                observed: observed?,
            })
        })
    }

    /// The desired state under `mode` and the plan to reach it: what `plan` and `apply` show.
    pub fn survey(&mut self, mode: LockMode) -> Result<(Desired, Planned)> {
        let state = self.read_state()?;
        let desired = self.desired_from(&state.manifest, state.lock, state.uv_lock, mode)?;
        let planned = self.plan_observed(&desired.resolved, state.observed)?;
        Ok((desired, planned))
    }

    /// The desired state under `mode`.
    pub fn desired(&mut self, manifest: &Manifest, mode: LockMode) -> Result<Desired> {
        let lock = self.lock_on_disk()?;
        let uv_lock = self.uv_lock_on_disk();
        self.desired_from(manifest, lock, uv_lock, mode)
    }

    /// The desired state under `mode`, from the lock and uv.lock as read (None: absent).
    fn desired_from(
        &mut self,
        manifest: &Manifest,
        lock: Option<Lock>,
        uv_lock: Option<Vec<u8>>,
        mode: LockMode,
    ) -> Result<Desired> {
        let freshness = resolve::freshness(manifest, lock.as_ref(), uv_lock.as_deref());
        let on_disk = move || -> Result<Resolved> {
            Ok(Resolved {
                lock: lock.ok_or(ReconcileError::NoLock)?,
                uv_lock: uv_lock.ok_or(ReconcileError::NoUvLock)?,
                pyproject: None,
            })
        };
        match (mode, freshness) {
            (LockMode::Frozen, _) => Ok(Desired {
                resolved: on_disk()?,
                status: "frozen",
            }),
            (_, Freshness::Fresh) => {
                let mut resolved = on_disk()?;
                let current =
                    resolve::workflows::lock_workflows(&self.env.cec, manifest.config(), &resolved.lock.models)?;
                match resolve::workflows::workflows_changed(&resolved.lock.workflows, &current) {
                    None => Ok(Desired {
                        resolved,
                        status: "fresh",
                    }),
                    Some(reason) if mode == LockMode::Locked => Err(ReconcileError::StaleLock { reason }),
                    // Only workflow files changed: the new pins need no resolution.
                    Some(_) => {
                        resolved.lock.workflows = current;
                        Ok(Desired {
                            resolved,
                            status: "updated",
                        })
                    }
                }
            }
            (LockMode::Locked, Freshness::Missing) => Err(ReconcileError::NoLock),
            (LockMode::Locked, Freshness::Stale(reason)) => Err(ReconcileError::StaleLock { reason }),
            // A stale lock that came with a pull is resolved only when the user says `lock`.
            (LockMode::Resolve, Freshness::Stale(reason)) if let Some(commit) = self.pulled_stale() => {
                Err(ReconcileError::PulledStale { commit, reason })
            }
            (LockMode::Resolve, _) => Ok(Desired {
                resolved: self.resolve(manifest, &Update::Nothing)?,
                status: "updated",
            }),
        }
    }

    /// The pulled commit whose stale lock waits for an explicit `lock`, while `.cec` is still
    /// at that commit (`.comfydock/pulled-stale`, written by `pull`).
    fn pulled_stale(&self) -> Option<String> {
        let marked = fs_err::read_to_string(self.env.state.join(PULLED_STALE)).ok()?;
        let head = crate::git::head_commit(&self.env.cec).ok().flatten()?;
        (marked.trim() == head.as_str()).then(|| crate::plan::short(head.as_str()).to_string())
    }
}

impl<'a> Session<'a, Writes> {
    /// Writes `comfydock.lock` and `uv.lock` into `.cec` (each atomically), and the manifest
    /// when resolution completed it.
    /// A file whose bytes are already these is left alone (no rewrite, no new mtime).
    pub fn write_lock(&self, resolved: &Resolved) -> Result<()> {
        if let Some(text) = &resolved.pyproject {
            write_if_changed(&self.env.pyproject(), text.as_bytes())?;
        }
        write_if_changed(&self.env.cec.join("uv.lock"), &resolved.uv_lock)?;
        write_if_changed(&self.env.cec.join(LOCK_FILE), resolved.lock.render().as_bytes())?;
        Ok(())
    }
}

impl<'a, A> Session<'a, A> {
    pub fn plan(&self, resolved: &Resolved) -> Result<Planned> {
        self.plan_observed(resolved, observe(&self.env)?)
    }

    /// The plan from `resolved` to the disk as `observed` (just now, by this command).
    pub fn plan_observed(&self, resolved: &Resolved, mut observed: Observed) -> Result<Planned> {
        if self.place_models {
            observed.models_skipped = false;
        }
        for name in resolved.lock.workflows.keys() {
            if !observed.workflows.contains_key(name.as_str()) {
                let copy = crate::observe::workflows::observe_copy(&self.env, name, None);
                observed.workflows.insert(name.clone(), copy);
            }
        }
        let mut venvs = apply::reusable_venvs(&self.env)?;
        if self.rebuild_venv {
            venvs.clear();
            observed.venv = None;
        }
        let backend = self.choose_backend(&resolved.lock, &observed)?;
        // The uv.lock the live venv was synced from, as its generation recorded it.
        let live = match observed.installed.generation {
            0 => None,
            n => apply::generations::read(&self.env.state, n)
                .ok()
                .flatten()
                .map(|g| (g.uv_lock, g.torch_backend)),
        };
        let target = plan::PythonTarget {
            backend: backend.clone(),
            uv_lock: &resolved.uv_lock,
            live,
            venvs: &venvs,
            python_full: crate::python::installed::python_full_version(&self.env.venv),
        };
        let models = plan::ModelTarget {
            mode: self.link_mode,
            origins: self.model_origins(&resolved.lock, &observed),
        };
        // Read once: the notes and workflow impact come from it, and the fingerprint hashes it.
        let pyproject = fs_err::read(self.env.pyproject())?;
        let manifest = self.manifest_of(pyproject.clone()).ok();
        if let Some(m) = &manifest {
            observed.forgive_runtime_paths(m.config());
        }
        let mut plan = plan::diff(&self.env.name, &resolved.lock, &observed, &target, &models);
        self.add_rebuilds(&mut plan, resolved, &observed)?;
        if self.rebuild_venv {
            for action in &mut plan.actions {
                if let plan::Action::SyncPython { reason, .. } = action {
                    *reason = "rebuild the venv (--rebuild-venv)".to_string();
                }
            }
        }
        pack_notes::annotate(&mut plan, self.ws, &resolved.lock, manifest.as_ref());
        if let Some(m) = &manifest {
            plan::impact::mark(&mut plan, &m.config().workflows);
        }
        // The manifest as resolution completed it, and the link mode, are part of what the plan
        // applies.
        // JSON, not the TOML rendering: the same content, at a fraction of the cost on a lock of
        // thousands of models (this runs on every no-op plan).
        let desired = format!(
            "{}{}link_mode={}",
            serde_json::to_string(&resolved.lock).unwrap_or_default(),
            resolved.pyproject.as_deref().unwrap_or(""),
            self.link_mode
        );
        let fingerprint = plan::fingerprint(
            &pyproject,
            desired.as_bytes(),
            &resolved.uv_lock,
            backend.as_deref(),
            &observed,
        );
        Ok(Planned {
            plan,
            observed,
            fingerprint,
            torch_backend: backend,
        })
    }

    /// Where the content of each locked model the plan will place is: a local file the model
    /// index knows, else the first source to download from. A model already placed as the lock
    /// says (what observe found intact) needs no origin: a no-op plan does not open the index,
    /// and an apply looks up only what it places.
    fn model_origins(&self, lock: &Lock, observed: &Observed) -> std::collections::BTreeMap<String, String> {
        let in_place = |key: &crate::types::ModelKey, m: &crate::manifest::LockedModel| {
            observed.comfyui_commit.is_some()
                && matches!(
                    observed.models.get(key.as_str()),
                    Some(crate::observe::NodeState::Intact)
                )
                && observed.installed.models.get(key.as_str()).is_some_and(|i| {
                    i.blake3 == m.blake3 && i.path == m.link_path().as_str() && i.mode == self.link_mode
                })
        };
        let wanted: Vec<_> = lock
            .models
            .iter()
            .filter(|(key, m)| !in_place(key, m) && !observed.skips_model(key.as_str()))
            .collect();
        // A tree already built for these models (a rollback, a second environment) says where
        // each one's file is: no index lookup per model.
        let recorded = match wanted.is_empty() {
            true => None,
            false => {
                apply::model_tree_record::for_lock(self.ws, lock, self.link_mode, |key| !observed.skips_model(key))
            }
        };
        let from_record = |m: &crate::manifest::LockedModel| {
            let record = recorded.as_ref()?;
            let entry = record.entry(m.link_path().as_str(), self.link_mode, &m.blake3)?;
            Some(std::path::PathBuf::from(&entry.target))
        };
        let index = if wanted.iter().all(|(_, m)| from_record(m).is_some()) {
            None
        } else {
            crate::models::ModelIndex::open(&crate::models::index_path(self.ws)).ok()
        };
        wanted
            .into_iter()
            .map(|(key, m)| {
                let local = from_record(m).or_else(|| {
                    index
                        .as_ref()
                        .and_then(|i| crate::models::local_file(i, &m.blake3.to_string()))
                });
                let origin = match (local, m.sources.first()) {
                    (Some(path), _) => path.display().to_string(),
                    (None, Some(source)) => format!("download: {}", source_kind(source)),
                    (None, None) => "unavailable: no local file and no source".to_string(),
                };
                (key.to_string(), origin)
            })
            .collect()
    }

    /// The torch backend to sync: `--torch-backend`, else the workspace's `torch_backend`, else
    /// the live venv's, else `cpu`, else the first the lock covers; among those the lock covers.
    pub fn choose_backend(&self, lock: &Lock, observed: &Observed) -> Result<Option<TorchBackend>> {
        let available = &lock.python.torch_backends;
        let covered = |b: &TorchBackend| available.contains(b);
        if let Some(requested) = &self.torch_backend {
            if covered(requested) {
                return Ok(Some(requested.clone()));
            }
            return Err(ReconcileError::UnknownBackend {
                requested: requested.to_string(),
                available: if available.is_empty() {
                    "no backends (torch_backends is empty)".into()
                } else {
                    available.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                },
            });
        }
        if available.is_empty() {
            return Ok(None);
        }
        let settings = crate::python::TorchSettings::load(self.ws.root());
        Ok(settings
            .torch_backend
            .filter(covered)
            .or_else(|| observed.installed.torch_backend.clone().filter(covered))
            .or_else(|| "cpu".parse().ok().filter(covered))
            .or_else(|| available.first().cloned()))
    }
}

impl<'a> Session<'a, Writes> {
    /// Applies a plan made from `resolved`, writing the lock first when it was newly resolved.
    pub fn apply(&mut self, resolved: &Resolved, planned: &Planned, message: &str) -> Result<Option<Generation>> {
        self.apply_or_record(resolved, planned, message, false)
    }

    /// [`Session::apply`], making a generation even when the plan has nothing to do on disk.
    pub fn apply_recorded(
        &mut self,
        resolved: &Resolved,
        planned: &Planned,
        message: &str,
    ) -> Result<Option<Generation>> {
        self.apply_or_record(resolved, planned, message, true)
    }

    fn apply_or_record(
        &mut self,
        resolved: &Resolved,
        planned: &Planned,
        message: &str,
        record_empty: bool,
    ) -> Result<Option<Generation>> {
        self.write_lock(resolved)?;
        if !planned.plan.has_work() && !record_empty {
            self.stop_skipping_models()?;
            return Ok(None);
        }
        let uv = self.uv()?;
        let outcome = apply::apply(apply::ApplyInput {
            ws: self.ws,
            env: &self.env,
            uv: &uv,
            reporter: self.reporter,
            resolved,
            observed: &planned.observed,
            plan: &planned.plan,
            message: message.to_string(),
            offline: self.offline,
            transfers: self.transfers.clone(),
            rebuild: self.rebuild.clone(),
            record_empty,
        });
        self.log_apply(
            &planned.plan,
            outcome.as_ref().ok().and_then(Option::as_ref),
            outcome.as_ref().err(),
        );
        let generation = outcome?;
        self.stop_skipping_models()?;
        if generation.is_some() {
            self.record_installed(&resolved.lock);
        }
        Ok(generation)
    }
}

impl<'a, A> Session<'a, A> {
    /// `apply --rebuild NODE`: the node is staged again (its install.py runs) even when nothing
    /// else about it changed.
    fn add_rebuilds(&self, plan: &mut plan::Plan, resolved: &Resolved, observed: &Observed) -> Result<()> {
        for id in &self.rebuild {
            let pinned = resolved.lock.nodes.get_key_value(id.as_str());
            let Some((id, pin)) = pinned.and_then(|(id, n)| n.pack_pin().map(|pin| (id, pin))) else {
                return Err(crate::resolve::ResolveError::Other(
                    miette::miette!(
                        code = "comfydock::apply::rebuild_unknown",
                        help = "`comfydock node list` shows the nodes; a dev node has nothing to build",
                        "--rebuild {id}: no such node pinned in the lock"
                    )
                    .into(),
                )
                .into());
            };
            let already = plan.actions.iter().any(|a| a.id() == format!("node.{id}"));
            if !already {
                let from = observed
                    .installed
                    .nodes
                    .get(id.as_str())
                    .and_then(|i| i.version().map(str::to_string))
                    .unwrap_or_else(|| pin.describe());
                plan.push(plan::Action::UpdateNode {
                    id: id.clone(),
                    source: pin.source(),
                    from,
                    to: pin.describe(),
                    reason: "rebuild: its install.py runs again".to_string(),
                    run_install: false,
                    notes: Vec::new(),
                    pin,
                });
            }
        }
        Ok(())
    }
}

impl<'a> Session<'a, Writes> {
    /// Tells the workspace's node index what this environment now has installed, so workflows
    /// resolved in other environments find packs the user already has. A cache: a failure is
    /// logged, never fatal.
    fn record_installed(&self, lock: &Lock) {
        let path = crate::registry::node_index::index_path(self.ws.root());
        let store = crate::store::NodeStore::new(&self.ws.store_dir());
        let recorded = crate::registry::node_index::NodeIndex::open(&path)
            .and_then(|mut index| crate::registry::local_packs::record_installed(&mut index, &store, &self.env, lock));
        if let Err(e) = recorded {
            tracing::warn!("could not record the installed packs in {}: {e}", path.display());
        }
    }

    /// After `apply --place-models` placed them, this machine no longer skips the models.
    fn stop_skipping_models(&self) -> Result<()> {
        if !self.place_models {
            return Ok(());
        }
        match fs_err::remove_file(self.env.models_skipped_marker()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Appends what an apply did (or why it failed) to `logs/<env>.log`: the record support and
    /// CI artifacts want, kept outside the environment. A log that cannot be written is no
    /// reason to fail an apply that worked.
    fn log_apply(&self, plan: &Plan, generation: Option<&Generation>, error: Option<&apply::ApplyError>) {
        use std::io::Write;
        let mut text = format!("{}  ", crate::clock::human(crate::clock::now_secs()));
        match (generation, error) {
            (Some(g), _) => text.push_str(&format!("generation {}: {}\n", g.number, g.summary)),
            (None, Some(e)) => text.push_str(&format!("apply failed, nothing changed: {e}\n")),
            (None, None) => text.push_str("no changes\n"),
        }
        for action in &plan.actions {
            text.push_str(&format!("    {} {}\n", action.kind().symbol(), action.describe()));
        }
        let dir = self.ws.root().join("logs");
        let _ = fs_err::create_dir_all(&dir);
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.log", self.env.name)))
        {
            // Not synced: the log is for people, and the journal is what makes an apply durable.
            let _ = file.write_all(text.as_bytes());
        }
    }

    /// The desired-state files as they are now, to put back if a command fails half-way
    /// (`node add` that does not resolve, a cancelled rollback): a failed command changes nothing.
    pub fn backup_desired(&self) -> DesiredBackup {
        let files = vec![
            self.env.pyproject(),
            self.env.cec.join(LOCK_FILE),
            self.env.cec.join("uv.lock"),
        ];
        let bytes = files.iter().map(|f| fs_err::read(f).ok()).collect();
        DesiredBackup { files, bytes }
    }

    /// Puts the tracked workflow files a lock pins back into `.cec` from the generation's
    /// `.cec` commit, where the files there now are other versions (rollback after a sync).
    fn restore_workflow_files(&self, lock: &Lock, cec_commit: Option<&crate::types::GitCommit>) -> Result<()> {
        let Some(commit) = cec_commit else { return Ok(()) };
        for w in lock.workflows.values() {
            let path = self.env.cec.join(w.file.as_str());
            let current = fs_err::read(&path).ok().map(|b| crate::types::Blake3::of_bytes(&b));
            if current.as_ref() == Some(&w.blake3) {
                continue;
            }
            if let Ok(Some(bytes)) = crate::git::read_file_at(&self.env.cec, commit, w.file.as_str())
                && crate::types::Blake3::of_bytes(&bytes) == w.blake3
            {
                crate::fsx::write_atomic(&path, &bytes)?;
            }
        }
        Ok(())
    }

    /// Makes generation `number` the desired state again (its manifest, lock and uv.lock) and
    /// returns it resolved, frozen: nothing is fetched that the store does not have.
    pub fn restore_generation(&mut self, number: Option<u64>) -> Result<(Generation, Resolved)> {
        // The index says which generation; only that one's record is read.
        let index = apply::generations::index(&self.env.state)?;
        let live = crate::observe::Installed::load(&self.env.state)?.generation;
        let row = match number {
            Some(n) => index.get(n).ok_or(apply::ApplyError::NoGeneration(n))?,
            None => index
                .generations
                .iter()
                .rev()
                .find(|g| g.number < live && !g.compacted)
                .ok_or(apply::ApplyError::NothingToRollBack)?,
        };
        let compacted = || apply::ApplyError::CompactedGeneration {
            number: row.number,
            cec_commit: row.cec_commit.clone(),
        };
        if row.compacted {
            return Err(compacted().into());
        }
        let target = apply::generations::read(&self.env.state, row.number)?.ok_or_else(compacted)?;
        let target = &target;
        let lock = Lock::parse(&self.env.cec.join(LOCK_FILE), &target.lock)?;
        crate::fsx::write_atomic(&self.env.pyproject(), target.pyproject.as_bytes())?;
        self.restore_workflow_files(&lock, target.cec_commit.as_ref())?;
        let resolved = Resolved {
            lock,
            uv_lock: target.uv_lock.clone().into_bytes(),
            pyproject: None,
        };
        self.write_lock(&resolved)?;
        // The generation's venv was synced with its backend: rolling back is a symlink flip.
        if self.torch_backend.is_none() {
            self.torch_backend = target.torch_backend.clone();
        }
        Ok((target.clone(), resolved))
    }
}

fn write_if_changed(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if fs_err::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    crate::fsx::write_atomic(path, bytes)
}

fn source_kind(source: &crate::manifest::ModelSource) -> &'static str {
    match source {
        crate::manifest::ModelSource::Huggingface { .. } => "huggingface",
        crate::manifest::ModelSource::Civitai { .. } => "civitai",
        crate::manifest::ModelSource::Url { .. } => "url",
    }
}
