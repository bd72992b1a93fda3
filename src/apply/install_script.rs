//! A pack's `install.py`, run only when its manifest entry says `install = "run"`: in the staged
//! copy of the pack (cwd), with the new venv's Python, after the venv is built and before the
//! switch begins. Its output goes to the apply log; a failing script fails the apply before
//! anything live has changed.

use super::{ApplyError, Ctx, Result};
use crate::types::NodeId;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A staged pack whose script is still to run.
#[derive(Debug, Clone)]
pub(super) struct PendingScript {
    pub id: NodeId,
    /// The staged folder (becomes `custom_nodes/<id>` at the switch).
    pub dir: PathBuf,
    /// Files carried over from the live folder: the pack's own run-time files, not comfydock's.
    pub carried: Vec<String>,
}

/// Runs every pending script, then records the staged folders as the scripts left them, so a
/// file a script wrote is part of what comfydock placed (not drift).
pub(super) fn run_all(ctx: &Ctx, staged: &mut [super::stage::Staged]) -> Result<()> {
    let venv = staged
        .iter()
        .find_map(|s| s.venv.clone())
        .or_else(|| ctx.observed.installed.venv.clone());
    for s in staged.iter_mut() {
        let Some(pending) = s.install.clone() else { continue };
        if !pending.dir.join("install.py").is_file() {
            continue;
        }
        let Some(venv) = &venv else {
            return Err(ApplyError::InstallScript {
                id: pending.id.to_string(),
                reason: "the environment has no venv to run it with".into(),
            });
        };
        let python = ctx.env.root.join(venv).join("bin").join("python");
        ctx.reporter.step(&format!("Running install.py of {}", pending.id));
        run_one(ctx, &pending, &python)?;
        if let Some((_, record)) = s.node.as_mut() {
            let mut files = crate::observe::fingerprint_tree(&pending.dir)?;
            files.retain(|rel, _| !pending.carried.contains(rel) && !rel.contains("__pycache__"));
            record.files = files;
        }
    }
    Ok(())
}

fn run_one(ctx: &Ctx, pending: &PendingScript, python: &Path) -> Result<()> {
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
        .env("COMFYUI_PATH", &ctx.env.comfyui)
        .stdin(Stdio::null());
    crate::process::die_with_parent(&mut cmd);
    tracing::debug!(pack = %pending.id, python = %python.display(), "running install.py");
    let output = cmd.output().map_err(|e| ApplyError::InstallScript {
        id: pending.id.to_string(),
        reason: format!("could not start {}: {e}", python.display()),
    })?;
    let log = log_path(ctx);
    append_log(&log, &pending.id, &output);
    if output.status.success() {
        return Ok(());
    }
    let tail: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n  ");
    Err(ApplyError::InstallScript {
        id: pending.id.to_string(),
        reason: format!(
            "it exited with {} (output in {}):\n  {tail}",
            output.status,
            log.display()
        ),
    })
}

fn log_path(ctx: &Ctx) -> PathBuf {
    ctx.ws.root().join("logs").join(format!("{}.log", ctx.env.name))
}

/// The script's output, kept with the apply record; a log that cannot be written does not
/// fail the apply.
fn append_log(log: &Path, id: &NodeId, output: &std::process::Output) {
    let mut text = format!(
        "{}  install.py of {id} ({})\n",
        crate::clock::human(crate::clock::now_secs()),
        output.status
    );
    for stream in [&output.stdout, &output.stderr] {
        for line in String::from_utf8_lossy(stream).lines() {
            text.push_str(&format!("    | {line}\n"));
        }
    }
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = file.write_all(text.as_bytes());
        let _ = file.sync_data();
    }
}
