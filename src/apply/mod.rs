//! Applying a plan, in three phases:
//! 1. stage: fetch, export, copy and build everything outside the live environment (in
//!    parallel waves of the plan's DAG); a failure here leaves the environment untouched;
//! 2. switch: short journaled steps (renames, links, a checkout, the venv symlink flip), undone
//!    in reverse on failure and by `recover` after a crash;
//! 3. commit: the installed record and the generation record, the last journaled steps.

pub mod edit_journal;
mod env_lock;
pub mod gc;
pub mod generations;
mod install_script;
mod journal;
mod model_tree;
pub mod model_tree_record;
mod stage;
mod stage_models;
mod stage_remote;
mod stage_workflows;

pub use env_lock::{EnvLock, Locked};
pub use generations::Generation;
pub use journal::{JOURNAL_FILE, Recovery, recover};

use crate::observe::{INSTALLED_FILE, Installed, Observed};
use crate::plan::{Action, Plan};
use crate::progress::Reporter;
use crate::python::Uv;
use crate::resolve::Resolved;
use crate::workspace::{EnvPaths, Workspace};
use journal::{Journal, Step};
use miette::Diagnostic;
use std::collections::BTreeMap;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ApplyError {
    #[error("the lock pins the panel of comfydock {locked}; this is comfydock {running}, whose panel differs")]
    #[diagnostic(
        code(comfydock::apply::panel_version),
        help(
            "`comfydock panel enable` pins this comfydock's panel (a new lock, shared like any edit); or fetch the locked entry from the shared store"
        )
    )]
    PanelVersion { locked: String, running: &'static str },

    #[error("{} exists and comfydock did not put it there", path.display())]
    #[diagnostic(
        code(comfydock::apply::model_slot_taken),
        help(
            "move that file into a model folder (`comfydock model scan` indexes it) or rename it; nothing was changed"
        )
    )]
    ModelSlotTaken { path: PathBuf },

    #[error("model `{key}` cannot be found or downloaded: {reasons}")]
    #[diagnostic(
        code(comfydock::apply::model_unavailable),
        help(
            "put the file in a model folder and run `comfydock model scan`, or add a source: `comfydock model add HASH --source URL`"
        )
    )]
    ModelUnavailable { key: String, reasons: String },

    #[error("cannot hardlink {}: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::apply::hardlink),
        help(
            "hardlinks need the model and the environment on one filesystem; use `--link-mode symlink` or `--link-mode copy`"
        )
    )]
    Hardlink { path: PathBuf, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(Box<crate::models::ModelError>),

    #[error("tracked workflow `{name}` in .cec is not the version the lock pins")]
    #[diagnostic(
        code(comfydock::apply::workflow_changed),
        help("the file changed while applying; run `comfydock plan` again (the lock is re-pinned from .cec)")
    )]
    WorkflowChanged { name: String },

    #[error("tracked workflow `{name}` is missing from .cec: {} could not be read", path.display())]
    #[diagnostic(
        code(comfydock::apply::workflow_missing),
        help(
            "the lock pins this workflow; copy .cec/workflows/ along with the manifest and locks, restore the file (`git -C .cec checkout -- workflows/`), or stop tracking it with `comfydock workflow untrack {}`",
            crate::shell::quote(name)
        )
    )]
    WorkflowMissing {
        name: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("generation {0} does not exist")]
    #[diagnostic(code(comfydock::apply::no_generation), help("`comfydock log` lists the generations"))]
    NoGeneration(u64),

    #[error("generation {number} was compacted by `gc`: only its summary is kept")]
    #[diagnostic(
        code(comfydock::apply::compacted_generation),
        help(
            "`comfydock log` lists the generations that can be restored; its desired state is in the .cec history{}",
            cec_commit.as_deref().map(|c| format!(" at commit {c}")).unwrap_or_default()
        )
    )]
    CompactedGeneration {
        number: u64,
        cec_commit: Option<crate::types::GitCommit>,
    },

    #[error("there is no earlier generation to roll back to")]
    #[diagnostic(
        code(comfydock::apply::nothing_to_roll_back),
        help("`comfydock log` lists the generations")
    )]
    NothingToRollBack,

    #[error(
        "applying failed at step `{step}`; the steps before it were undone{}",
        undo_note(undo_failures)
    )]
    #[diagnostic(
        code(comfydock::apply::switch),
        help("fix the cause shown below and apply again; `comfydock status` shows the environment as it is now")
    )]
    Switch {
        step: String,
        #[source]
        source: std::io::Error,
        undo_failures: Vec<String>,
    },

    #[error("install.py of node `{id}` failed: {reason}")]
    #[diagnostic(
        code(comfydock::apply::install_script),
        help(
            "nothing was changed; fix the script (or the pack's requirements), or drop `install = \"run\"` from the node's table in .cec/pyproject.toml"
        )
    )]
    InstallScript { id: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::git::GitError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Uv(#[from] crate::python::UvError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Remote(Box<crate::store::remote::RemoteError>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(Box<crate::workspace::WorkspaceError>),

    #[error("file operation failed while applying")]
    #[diagnostic(code(comfydock::apply::io))]
    Io(#[from] std::io::Error),
}

fn undo_note(failures: &[String]) -> String {
    if failures.is_empty() {
        String::new()
    } else {
        format!(
            ", except:\n  {}\n(the journal is kept in .comfydock/ as journal.failed-*.jsonl)",
            failures.join("\n  ")
        )
    }
}

pub type Result<T, E = ApplyError> = std::result::Result<T, E>;

impl ApplyError {
    pub(crate) fn model(e: crate::models::ModelError) -> Self {
        ApplyError::Model(Box::new(e))
    }
}

/// Everything one apply reads: its input (through `Deref`) and what apply itself decided.
pub struct Ctx<'a> {
    input: &'a ApplyInput<'a>,
    pub generation: u64,
    staging: PathBuf,
    /// The uv project `uv sync` reads (`.cec`).
    project_dir: PathBuf,
    /// The workspace's model index, opened once by the first model staged and shared by the
    /// stage threads.
    model_index: std::sync::Mutex<Option<crate::models::ModelIndex>>,
    /// The model tree already built for the lock's models, looked up once by the first model
    /// staged (`model_tree_record`): when it holds, staging a model reads nothing else.
    known_tree: std::sync::OnceLock<Option<model_tree_record::TreeRecord>>,
    /// The workspace's remote store, asked before original sources (None: none configured).
    remote: Option<crate::store::remote::Remote>,
    /// The node tables of the manifest the session wrote (read once): each node's
    /// `runtime_paths` and `install_timeout`.
    declared: BTreeMap<crate::types::NodeId, crate::manifest::NodeSpec>,
}

impl<'a> std::ops::Deref for Ctx<'a> {
    type Target = ApplyInput<'a>;
    fn deref(&self) -> &ApplyInput<'a> {
        self.input
    }
}

impl Ctx<'_> {
    /// What node `id` declares it writes at run time.
    fn runtime_paths(&self, id: &str) -> Vec<String> {
        self.declared
            .get(id)
            .map(|spec| spec.runtime_paths.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// Where a replaced or removed entry goes: `.comfydock/trash/<generation>/<name>`.
    fn trash_path(&self, name: &str) -> PathBuf {
        let dir = self.env.state.join("trash").join(self.generation.to_string());
        let mut path = dir.join(name);
        let mut n = 1;
        while path.symlink_metadata().is_ok() {
            path = dir.join(format!("{name}.{n}"));
            n += 1;
        }
        path
    }
}

/// Aborts the process at a named point when `COMFYDOCK_FAILPOINT` names it (debug builds and the
/// `failpoints` feature only): how the tests crash an apply at every journal step.
pub(crate) fn failpoint(name: &str) {
    #[cfg(any(debug_assertions, feature = "failpoints"))]
    if std::env::var("COMFYDOCK_FAILPOINT").is_ok_and(|v| v == name) {
        std::process::abort();
    }
    #[cfg(not(any(debug_assertions, feature = "failpoints")))]
    let _ = name;
}

/// The number the next generation gets.
pub fn next_generation(env: &EnvPaths, observed: &Observed) -> std::io::Result<u64> {
    let last = generations::index(&env.state)?.last().map_or(0, |g| g.number);
    Ok(last.max(observed.installed.generation) + 1)
}

/// Venvs of earlier generations that still exist, by the uv.lock and torch backend they were
/// built from (`plan::venv_key`).
pub fn reusable_venvs(env: &EnvPaths) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for g in generations::index(&env.state)?.generations {
        if let Some(dir) = g.venv
            && crate::python::venv_is_whole(&env.root.join(&dir))
        {
            out.insert(crate::plan::venv_key(&g.uv_lock_hash, g.torch_backend.as_deref()), dir);
        }
    }
    Ok(out)
}

pub struct ApplyInput<'a> {
    pub ws: &'a Workspace,
    pub env: &'a EnvPaths,
    pub uv: &'a Uv,
    pub reporter: &'a dyn Reporter,
    pub resolved: &'a Resolved,
    pub observed: &'a Observed,
    pub plan: &'a Plan,
    /// First line of the `.cec` commit and the generation's summary.
    pub message: String,
    /// `--offline`: registry packs come only from the store or earlier downloads.
    pub offline: bool,
    /// Download progress (registry packs, models).
    pub transfers: std::sync::Arc<dyn Reporter + Send + Sync>,
    /// `apply --rebuild NODE`: these packs' install scripts run again, even when a build with
    /// the same inputs exists.
    pub rebuild: Vec<String>,
    /// Make a generation even when the plan is empty (a rollback that changes only the desired
    /// state, such as which workflows are tracked).
    pub record_empty: bool,
}

/// Applies `plan`. Returns the new generation, or None when the plan was empty.
pub fn apply(input: ApplyInput<'_>) -> Result<Option<Generation>> {
    let (env, reporter, resolved, observed, plan) =
        (input.env, input.reporter, input.resolved, input.observed, input.plan);
    let message = input.message.clone();
    if !plan.has_work() && !input.record_empty {
        return Ok(None);
    }
    let generation = next_generation(env, observed)?;
    let staging = env.state.join("staging");
    let _ = fs_err::remove_dir_all(&staging);
    fs_err::create_dir_all(&staging)?;
    let ctx = Ctx {
        input: &input,
        generation,
        staging,
        project_dir: env.cec.clone(),
        model_index: std::sync::Mutex::new(None),
        known_tree: std::sync::OnceLock::new(),
        remote: if plan.actions.iter().any(needs_content) {
            stage_remote::open(input.ws, input.offline)?
        } else {
            None
        },
        // Unreadable means no runtime paths and no per-node time limits, nothing worse.
        declared: crate::manifest::Manifest::load(&env.pyproject())
            .map(|m| m.config().nodes.clone())
            .unwrap_or_default(),
    };

    // Phase 1: stage.
    let started = std::time::Instant::now();
    let abandon = || {
        let _ = fs_err::remove_dir_all(&ctx.staging);
        let fresh = env.root.join(format!(".venv-gen-{generation}"));
        if observed.venv.as_deref() != Some(&format!(".venv-gen-{generation}")) {
            let _ = fs_err::remove_dir_all(fresh);
        }
    };
    let staged = match stage_all(&ctx, plan).and_then(|mut staged| {
        install_script::run_all(&ctx, &mut staged)?;
        Ok(staged)
    }) {
        Ok(s) => s,
        Err(e) => {
            abandon();
            return Err(e);
        }
    };
    let mut installed = next_installed(observed, plan, &staged, resolved, generation);
    // The generation's model tree is built (or found) in the store before anything switches.
    let model_steps = match model_tree::prepare(&ctx, plan, observed, &mut installed) {
        Ok(steps) => steps,
        Err(e) => {
            abandon();
            return Err(e);
        }
    };

    tracing::debug!("stage: {} action(s) in {:.2?}", plan.actions.len(), started.elapsed());
    let started = std::time::Instant::now();

    // The desired state this generation realises, committed in `.cec` (harmless if the switch
    // is later undone: it is still the desired state).
    let cec_commit = crate::git::commit_all(&env.cec, &message).ok();

    let venv = staged
        .iter()
        .find_map(|s| s.venv.clone())
        .or_else(|| observed.installed.venv.clone());
    installed.venv = venv.clone();
    let record = Generation {
        number: generation,
        created: generations::now_secs(),
        cec_commit,
        summary: message.clone(),
        actions: plan
            .actions
            .iter()
            .map(|a| format!("{} {}", a.kind().symbol(), a.describe()))
            .collect(),
        pyproject: fs_err::read_to_string(env.pyproject())?,
        lock: resolved.lock.render(),
        uv_lock: String::from_utf8_lossy(&resolved.uv_lock).into_owned(),
        uv_lock_hash: resolved.lock.python.uv_lock.clone(),
        venv: venv.clone(),
        torch_backend: installed.torch_backend.clone(),
        // The lock's trees and the derived entries placed from them: gc keeps both.
        trees: resolved
            .lock
            .nodes
            .values()
            .filter_map(|n| n.tree().cloned())
            .chain(installed.nodes.values().filter_map(|n| n.placed()?.derived.clone()))
            .collect(),
        model_tree: installed.model_tree.as_ref().map(|t| t.id.clone()),
    };

    // Phase 2 and 3: the journaled switch, ending with the records. The models go last: the
    // removal of an older comfydock's links, the section of extra_model_paths.yaml, and one
    // switch of the model tree link, whatever the number of models.
    let mut steps: Vec<Step> = staged.into_iter().flat_map(|s| s.steps).collect();
    steps.extend(model_steps);
    let installed_path = env.state.join(INSTALLED_FILE);
    steps.push(Step::WriteFile {
        path: installed_path.clone(),
        old: fs_err::read_to_string(&installed_path).ok(),
        new: installed.to_json(),
    });
    steps.push(Step::WriteFile {
        path: generations::path(&env.state, generation),
        old: None,
        new: serde_json::to_string_pretty(&record).expect("serializable"),
    });
    // The index row goes with the record, in the same journal: both land or neither does.
    let index_path = generations::index_path(&env.state);
    steps.push(Step::WriteFile {
        old: fs_err::read_to_string(&index_path).ok(),
        new: generations::index(&env.state)?.with(&record).to_json(),
        path: index_path,
    });
    let discard: Vec<PathBuf> = match &venv {
        Some(dir) if observed.installed.venv.as_ref() != Some(dir) && *dir == format!(".venv-gen-{generation}") => {
            vec![env.root.join(dir)]
        }
        _ => Vec::new(),
    };
    reporter.step(&format!("Switching to generation {generation}"));
    let mut journal = Journal::begin(
        &env.state,
        generation,
        &steps,
        std::slice::from_ref(&ctx.staging),
        &discard,
    )?;
    for (i, step) in steps.iter().enumerate() {
        journal.started(&steps, i)?;
        failpoint(&format!("switch-before-{i}"));
        if let Err(e) = step.run() {
            let failures = journal::undo_started(&steps, &(0..=i).collect::<Vec<_>>());
            journal::remove_all(&discard);
            journal::remove_all(std::slice::from_ref(&ctx.staging));
            if failures.is_empty() {
                journal.finish()?;
            } else {
                journal.keep_as_failed(generation)?;
            }
            return Err(ApplyError::Switch {
                step: step.describe(),
                source: e,
                undo_failures: failures,
            });
        }
        failpoint(&format!("switch-after-{i}"));
    }
    journal.committed()?;
    tracing::debug!("switch: {} journaled step(s) in {:.2?}", steps.len(), started.elapsed());
    failpoint("committed");
    journal::remove_all(std::slice::from_ref(&ctx.staging));
    journal.finish()?;
    Ok(Some(record))
}

/// Whether an action may need a node tree or model file from a store.
fn needs_content(action: &crate::plan::Action) -> bool {
    use crate::plan::Action;
    matches!(
        action,
        Action::InstallNode { .. } | Action::UpdateNode { .. } | Action::LinkModel { .. }
    )
}

/// Stages every action, wave by wave, each wave on at most `PARALLEL` threads (the one bounded
/// pool, [`crate::pool`]): a fixed number whatever the number of actions (2,000 model links are
/// 2,000 actions). After a failure no further action starts, and the first error is that of the
/// lowest failed action.
fn stage_all(ctx: &Ctx, plan: &Plan) -> Result<Vec<stage::Staged>> {
    const PARALLEL: usize = 4;
    let mut results: Vec<Option<stage::Staged>> = (0..plan.actions.len()).map(|_| None).collect();
    for wave in plan.waves() {
        let staged = crate::pool::try_map(&wave, PARALLEL, |&i| {
            stage::stage_action(ctx, &plan.actions[i]).map(|outcome| (i, outcome))
        })?;
        for (i, outcome) in staged {
            results[i] = Some(outcome);
        }
    }
    Ok(results.into_iter().map(|r| r.expect("every action staged")).collect())
}

fn next_installed(
    observed: &Observed,
    plan: &Plan,
    staged: &[stage::Staged],
    resolved: &Resolved,
    generation: u64,
) -> Installed {
    let mut installed = observed.installed.clone();
    installed.generation = generation;
    installed.comfyui_commit = Some(resolved.lock.comfyui.commit.clone());
    installed.uv_lock = Some(resolved.lock.python.uv_lock.clone());
    if observed.comfyui_commit.is_none() {
        // A fresh checkout: what was placed in the old tree is gone with it; links are re-made.
        installed.nodes.clear();
        installed.models.clear();
        installed.workflows.clear();
    }
    // An untracked workflow is forgotten; ComfyUI's copy of it stays where it is.
    installed
        .workflows
        .retain(|name, _| resolved.lock.workflows.contains_key(name));
    for action in &plan.actions {
        match action {
            Action::RemoveNode { id, .. } => {
                installed.nodes.remove(id);
            }
            Action::UnlinkModel { key, .. } => {
                installed.models.remove(key);
            }
            Action::SyncPython { backend, .. } => installed.torch_backend = backend.clone(),
            _ => {}
        }
    }
    for s in staged {
        if let Some((id, node)) = &s.node {
            installed.nodes.insert(id.clone(), node.clone());
        }
        if let Some((key, model)) = &s.model {
            installed.models.insert(key.clone(), model.clone());
        }
        if let Some((name, workflow)) = &s.workflow {
            installed.workflows.insert(name.clone(), workflow.clone());
        }
    }
    installed
}
