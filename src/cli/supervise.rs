//! `comfydock run` supervises ComfyUI: it starts main.py as a child and starts it again, on the
//! environment's current generation (`.venv` and `custom_nodes/` as the last apply left them),
//! when ComfyUI exits with [`RESTART_EXIT_CODE`] (the panel's restart route) or when this process
//! gets SIGHUP. Ctrl-C reaches ComfyUI from the terminal; SIGTERM is passed on. Otherwise
//! ComfyUI's exit code is this command's.

use super::ExitStatus;
use super::printer::Printer;
use miette::{Result, miette};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The exit code with which ComfyUI asks to be started again (EX_TEMPFAIL).
pub const RESTART_EXIT_CODE: i32 = 75;

/// Set by SIGHUP (start ComfyUI again) and by SIGTERM/SIGINT (stop it): the handlers only
/// store to these flags (signal-hook's `flag`), which the wait loop reads. A handler is reset at
/// exec, so ComfyUI gets the default dispositions and Ctrl-C still stops it.
struct Signals {
    hangup: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
}

fn install_handlers() -> Result<Signals> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let signals = Signals {
        hangup: Arc::new(AtomicBool::new(false)),
        terminate: Arc::new(AtomicBool::new(false)),
    };
    let register = |signal, flag: &Arc<AtomicBool>| {
        signal_hook::flag::register(signal, Arc::clone(flag)).map_err(|e| {
            miette!(
                code = "comfydock::run::signals",
                "could not handle signal {signal}: {e}"
            )
        })
    };
    register(SIGHUP, &signals.hangup)?;
    register(SIGTERM, &signals.terminate)?;
    register(SIGINT, &signals.terminate)?;
    Ok(signals)
}

/// Asks ComfyUI (our child) to stop.
fn terminate(child: &std::process::Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}

pub fn run(p: Printer, python: &Path, comfyui: &Path, args: &[String], env: &[(&str, OsString)]) -> Result<ExitStatus> {
    let signals = install_handlers()?;
    loop {
        let mut cmd = Command::new(python);
        cmd.arg("main.py").args(args).current_dir(comfyui);
        for (k, v) in env {
            cmd.env(k, v);
        }
        crate::process::die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| miette!("could not start {}: {e}", python.display()))?;
        let mut restart = false;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| miette!("could not wait for ComfyUI: {e}"))?
            {
                break status;
            }
            if signals.hangup.swap(false, Ordering::SeqCst) {
                restart = true;
                terminate(&child);
            }
            if signals.terminate.swap(false, Ordering::SeqCst) {
                // Ctrl-C reached ComfyUI too; a second SIGTERM is harmless.
                terminate(&child);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if restart || status.code() == Some(RESTART_EXIT_CODE) {
            errln!(
                p,
                "comfydock: starting ComfyUI again on the environment's current generation"
            );
            continue;
        }
        return Ok(match status.code() {
            Some(0) => ExitStatus::Success,
            _ => ExitStatus::Failure,
        });
    }
}
