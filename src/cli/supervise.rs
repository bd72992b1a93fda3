//! `comfydock run` supervises ComfyUI: it starts main.py as a child and starts it again, on the
//! environment's current generation (`.venv` and `custom_nodes/` as the last apply left them),
//! when ComfyUI exits with [`RESTART_EXIT_CODE`] (the panel's restart route) or when this process
//! gets SIGHUP. Ctrl-C reaches ComfyUI from the terminal; SIGTERM is passed on. Otherwise
//! ComfyUI's exit code is this command's.

use super::ExitStatus;
use miette::{Result, miette};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The exit code with which ComfyUI asks to be started again (EX_TEMPFAIL).
pub const RESTART_EXIT_CODE: i32 = 75;

static HANGUP: AtomicBool = AtomicBool::new(false);
static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    match signal {
        libc::SIGHUP => HANGUP.store(true, Ordering::SeqCst),
        _ => TERMINATE.store(true, Ordering::SeqCst),
    }
}

fn install_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to atomics. A handler (not SIG_IGN) is reset at exec, so
    // ComfyUI gets the default dispositions, and Ctrl-C still stops it.
    unsafe {
        libc::signal(libc::SIGHUP, handler);
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
}

pub fn run(python: &Path, comfyui: &Path, args: &[String], env: &[(&str, OsString)]) -> Result<ExitStatus> {
    install_handlers();
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
        let pid = child.id() as libc::pid_t;
        let mut restart = false;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| miette!("could not wait for ComfyUI: {e}"))?
            {
                break status;
            }
            if HANGUP.swap(false, Ordering::SeqCst) {
                restart = true;
                // SAFETY: a signal to our own child, by its pid.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            if TERMINATE.swap(false, Ordering::SeqCst) {
                // SAFETY: as above. (Ctrl-C reached ComfyUI too; a second SIGTERM is harmless.)
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if restart || status.code() == Some(RESTART_EXIT_CODE) {
            errln!("comfydock: starting ComfyUI again on the environment's current generation");
            continue;
        }
        return Ok(match status.code() {
            Some(0) => ExitStatus::Success,
            _ => ExitStatus::Failure,
        });
    }
}
