//! A pack's `install.py` as a build step, run only when its manifest entry says
//! `install = "run"`. Its inputs are known (`DerivedInputs`: the pack's tree, the script, the
//! ComfyUI commit, the uv.lock, the platform); it runs in the stage, in the staged copy of the
//! pack (cwd), with the new venv's Python and `COMFYUI_PATH` / `COMFYUI_FOLDERS_BASE_PATH` at a
//! ComfyUI checked out at the locked commit (as ComfyUI-Manager sets them), within a time limit;
//! its output goes to the apply log (and to stderr under `-v`). What it leaves is stored as a
//! derived entry: the same inputs anywhere reuse it and the script does not run again. A failing
//! or timed-out script fails the apply before anything live has changed.

use super::{ApplyError, Ctx, Result};
use crate::store::NodeStore;
use crate::store::derived::{DerivedInputs, DerivedRecord, DerivedStore};
use crate::types::{Blake3, NodeId};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The time limit when neither the node nor the workspace sets one.
pub const DEFAULT_INSTALL_TIMEOUT_SECS: u64 = 600;

/// What a script prints before a Python traceback.
const TRACEBACK: &str = "Traceback (most recent call last):";

/// A staged pack whose script is still to run.
#[derive(Debug, Clone)]
pub(super) struct PendingScript {
    pub id: NodeId,
    /// The staged folder (becomes the pack's folder in `custom_nodes/` at the switch).
    pub dir: PathBuf,
    /// Files carried over from the live folder: the pack's own run-time files, not comfydock's.
    pub carried: Vec<String>,
    pub inputs: DerivedInputs,
}

/// The inputs of a pack's build, when its tree has an `install.py`.
pub(super) fn inputs(ctx: &Ctx, store: &NodeStore, tree: &Blake3) -> Option<DerivedInputs> {
    let script = fs_err::read(store.path(tree).join("install.py")).ok()?;
    Some(DerivedInputs {
        pack_tree: tree.clone(),
        script: Blake3::of_bytes(&script),
        comfyui_commit: ctx.resolved.lock.comfyui.commit.clone(),
        python: python_packages(&ctx.resolved.uv_lock),
        platform: DerivedInputs::platform(),
    })
}

/// blake3 of the packages a uv.lock locks, one `name==version` a line, sorted.
fn python_packages(uv_lock: &[u8]) -> Blake3 {
    let packages = crate::python::uvlock::packages(&String::from_utf8_lossy(uv_lock), None);
    let lines: String = packages
        .iter()
        .map(|(name, version)| format!("{name}=={version}\n"))
        .collect();
    Blake3::of_bytes(lines.as_bytes())
}

/// A build of these inputs whose output is whole in the store: this workspace's, else the
/// remote store's (its record and its tree, verified like any node object).
pub(super) fn reusable(ctx: &Ctx, store: &NodeStore, inputs: &DerivedInputs) -> Option<DerivedRecord> {
    let local = DerivedStore::new(&ctx.ws.store_dir());
    if let Some(record) = local.get(inputs).filter(|r| store.contains(&r.tree)) {
        return Some(record);
    }
    let remote = ctx.remote.as_ref()?;
    let record = match remote.get_derived(inputs) {
        crate::store::remote::Lookup::Found(record) => record,
        crate::store::remote::Lookup::Absent => return None,
        crate::store::remote::Lookup::Unusable(e) => {
            ctx.reporter.warn(&format!(
                "remote store: a build record was not used ({e}); the script runs here"
            ));
            return None;
        }
    };
    let label = "install.py build (remote store)";
    match remote.fetch_node(&record.tree, &ctx.ws.store_dir(), (&*ctx.transfers, label)) {
        crate::store::remote::Lookup::Found(()) => {
            ctx.reporter
                .step(&format!("Build of install.py from the remote store {}", remote.url()));
            if let Err(e) = local.put(&record) {
                tracing::debug!("could not keep the build record: {e}");
            }
            Some(record)
        }
        _ => None,
    }
}

/// Runs every pending script, stores what each left as a derived entry, then records the staged
/// folders as the scripts left them, so a file a script wrote is part of what comfydock placed
/// (not drift).
pub(super) fn run_all(ctx: &Ctx, staged: &mut [super::stage::Staged]) -> Result<()> {
    if staged.iter().all(|s| s.install.is_none()) {
        return Ok(());
    }
    let venv = staged
        .iter()
        .find_map(|s| s.venv.clone())
        .or_else(|| ctx.observed.installed.venv.clone());
    let limits = Limits::read(ctx);
    let mut comfyui: Option<PathBuf> = None;
    for s in staged.iter_mut() {
        let Some(pending) = s.install.clone() else { continue };
        let Some(venv) = &venv else {
            return Err(ApplyError::InstallScript {
                id: pending.id.to_string(),
                reason: "the environment has no venv to run it with".into(),
            });
        };
        let comfyui = match &comfyui {
            Some(path) => path.clone(),
            None => comfyui.insert(staged_comfyui(ctx)?).clone(),
        };
        let python = ctx.env.root.join(venv).join("bin").join("python");
        ctx.reporter.step(&format!("Running install.py of {}", pending.id));
        let ran = run_one(ctx, &pending, &python, &comfyui, limits.for_node(&pending.id))?;
        let tree = store_output(ctx, &pending)?;
        let record = DerivedRecord {
            format_version: 1,
            inputs: pending.inputs.clone(),
            tree: tree.clone(),
            warning: ran.warning.clone(),
        };
        DerivedStore::new(&ctx.ws.store_dir()).put(&record)?;
        if let Some(warning) = &ran.warning {
            ctx.reporter.warn(&format!(
                "install.py of {} {warning}; its output is in {}",
                pending.id,
                log_path(ctx).display()
            ));
        }
        if let Some((_, crate::observe::InstalledNode::Placed(node))) = s.node.as_mut() {
            let mut files = crate::observe::fingerprint_tree(&pending.dir)?;
            files.retain(|rel, _| !pending.carried.contains(rel) && !in_pycache(rel));
            node.files = files;
            node.derived = Some(tree.clone());
        }
    }
    Ok(())
}

/// A ComfyUI checked out at the locked commit, for scripts to import from: the one this apply
/// clones (staged), the live one when it is at that commit already, else the commit's files
/// exported into the stage. Never a checkout the switch is about to move.
fn staged_comfyui(ctx: &Ctx) -> Result<PathBuf> {
    let commit = &ctx.resolved.lock.comfyui.commit;
    let cloned = ctx.staging.join("ComfyUI");
    if cloned.is_dir() {
        return Ok(cloned);
    }
    if ctx.observed.comfyui_commit.as_deref() == Some(commit.as_str()) {
        return Ok(ctx.env.comfyui.clone());
    }
    let exported = ctx.staging.join("comfyui-for-scripts");
    let mirror =
        crate::store::GitCache::new(&ctx.ws.store_dir()).with_commit(&ctx.resolved.lock.comfyui.repo, commit)?;
    crate::git::export_tree(&mirror, commit, &exported)?;
    Ok(exported)
}

/// The time limits: a node's own `install_timeout`, else the workspace's, else the default.
struct Limits {
    workspace: Duration,
    nodes: std::collections::BTreeMap<String, Duration>,
}

impl Limits {
    fn read(ctx: &Ctx) -> Limits {
        let from_env = std::env::var("COMFYDOCK_INSTALL_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| (1..=crate::workspace::settings::MAX_SECONDS).contains(n));
        let configured = ctx.ws.config().ok().and_then(|c| c.install_timeout);
        let workspace = Duration::from_secs(from_env.or(configured).unwrap_or(DEFAULT_INSTALL_TIMEOUT_SECS));
        let nodes = ctx
            .declared
            .iter()
            .filter_map(|(id, spec)| Some((id.to_string(), Duration::from_secs(spec.install_timeout?.seconds()))))
            .collect();
        Limits { workspace, nodes }
    }

    fn for_node(&self, id: &NodeId) -> Duration {
        self.nodes.get(id.as_str()).copied().unwrap_or(self.workspace)
    }
}

/// How a script went, when it did not fail.
struct Ran {
    /// "printed a traceback but exited 0", when it did.
    warning: Option<String>,
}

fn run_one(ctx: &Ctx, pending: &PendingScript, python: &Path, comfyui: &Path, limit: Duration) -> Result<Ran> {
    let failed = |reason: String| ApplyError::InstallScript {
        id: pending.id.to_string(),
        reason,
    };
    let bin = python.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = match std::env::var_os("PATH") {
        Some(p) => std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(&p)))
            .unwrap_or_else(|_| bin.clone().into_os_string()),
        None => bin.clone().into_os_string(),
    };
    let mut cmd = Command::new(python);
    cmd.arg("install.py")
        .current_dir(&pending.dir)
        .env("VIRTUAL_ENV", bin.parent().unwrap_or(&bin))
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env("COMFYUI_PATH", comfyui)
        .env("COMFYUI_FOLDERS_BASE_PATH", comfyui)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::process::die_with_parent(&mut cmd);
    new_process_group(&mut cmd);
    tracing::debug!(pack = %pending.id, python = %python.display(), comfyui = %comfyui.display(), "running install.py");
    let mut child = cmd
        .spawn()
        .map_err(|e| failed(format!("could not start {}: {e}", python.display())))?;
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String)>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .enumerate()
    .filter_map(|(i, stream)| {
        let stream = stream?;
        let tx = tx.clone();
        Some(std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream).lines().map_while(|l| l.ok()) {
                if tx.send((i == 1, line)).is_err() {
                    break;
                }
            }
        }))
    })
    .collect();
    drop(tx);
    let started = Instant::now();
    let mut output: Vec<(bool, String)> = Vec::new();
    let mut timed_out = false;
    let status = loop {
        while let Ok((is_err, line)) = rx.recv_timeout(Duration::from_millis(20)) {
            tracing::debug!(pack = %pending.id, "install.py: {line}");
            if output.len() < MAX_LOG_LINES {
                output.push((is_err, line));
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| failed(e.to_string()))? {
            break Some(status);
        }
        if started.elapsed() > limit {
            timed_out = true;
            kill_group(&mut child);
            break child.wait().ok();
        }
    };
    for r in readers {
        let _ = r.join();
    }
    output.extend(rx.try_iter().take(MAX_LOG_LINES.saturating_sub(output.len())));
    let log = log_path(ctx);
    let status_text = match (&status, timed_out) {
        (_, true) => format!("stopped after {}s, its time limit", limit.as_secs()),
        (Some(s), false) => s.to_string(),
        (None, false) => "unknown exit".into(),
    };
    append_log(&log, &pending.id, &status_text, &output);
    if timed_out {
        return Err(failed(format!(
            "it ran longer than its time limit of {}s and was stopped (output in {}); raise `install_timeout` in the node's table or `comfydock config set install_timeout SECONDS`",
            limit.as_secs(),
            log.display()
        )));
    }
    if status.is_some_and(|s| s.success()) {
        let traceback = output.iter().any(|(_, l)| l.starts_with(TRACEBACK));
        return Ok(Ran {
            warning: traceback.then(|| "printed a Python traceback but exited 0".to_string()),
        });
    }
    let tail: Vec<&str> = output
        .iter()
        .filter(|(is_err, _)| *is_err)
        .map(|(_, l)| l.as_str())
        .collect();
    let tail = tail[tail.len().saturating_sub(5)..].join("\n  ");
    Err(failed(format!(
        "it exited with {status_text} (output in {}):\n  {tail}",
        log.display()
    )))
}

/// Lines of a script's output kept for the log (a script printing without end is still cut).
const MAX_LOG_LINES: usize = 20_000;

/// The script and everything it starts form one process group, so a timeout stops them all.
fn new_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

fn kill_group(child: &mut std::process::Child) {
    use rustix::process::{Pid, Signal, kill_process_group};
    // The group this child leads.
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, Signal::KILL);
    }
    let _ = child.kill();
}

/// The staged folder as the script left it, without `__pycache__` and the carried run-time
/// files, as an entry of the node store.
fn store_output(ctx: &Ctx, pending: &PendingScript) -> Result<Blake3> {
    let store = NodeStore::new(&ctx.ws.store_dir());
    let scratch = store.scratch()?;
    for entry in walkdir::WalkDir::new(&pending.dir).min_depth(1).follow_links(false) {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(&pending.dir)
            .map_err(std::io::Error::other)?
            .to_string_lossy()
            .into_owned();
        if in_pycache(&rel) || pending.carried.contains(&rel) {
            continue;
        }
        let to = scratch.path().join(&rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            fs_err::create_dir_all(&to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs_err::read_link(entry.path())?, &to)?;
        } else {
            fs_err::copy(entry.path(), &to)?;
        }
    }
    Ok(store.insert(scratch)?)
}

fn in_pycache(rel: &str) -> bool {
    rel.split('/').any(|c| c == "__pycache__")
}

fn log_path(ctx: &Ctx) -> PathBuf {
    ctx.ws.root().join("logs").join(format!("{}.log", ctx.env.name))
}

/// The script's output, kept with the apply record; a log that cannot be written does not
/// fail the apply.
fn append_log(log: &Path, id: &NodeId, status: &str, output: &[(bool, String)]) {
    let mut text = format!(
        "{}  install.py of {id} ({status})\n",
        crate::clock::human(crate::clock::now_secs()),
    );
    for (is_err, line) in output {
        text.push_str(&format!("    {} {line}\n", if *is_err { "!" } else { "|" }));
    }
    if let Some(dir) = log.parent() {
        let _ = fs_err::create_dir_all(dir);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = file.write_all(text.as_bytes());
        let _ = file.sync_data();
    }
}
