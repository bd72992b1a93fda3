//! `workflow sync --watch`: keeps `.cec` in step while ComfyUI runs. ComfyUI's workflows folder
//! is watched (inotify through `notify`); a burst of saves is debounced into one `sync`. Ctrl-C
//! (or SIGTERM) stops it between syncs, never in the middle of one.

use super::{ExitStatus, Globals};
use miette::{IntoDiagnostic, Result};
use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Quiet time after the last change before syncing: ComfyUI writes a save in several steps.
const DEBOUNCE: Duration = Duration::from_millis(500);

pub fn watch(g: &Globals, only: Option<&str>) -> Result<ExitStatus> {
    let (_ws, env) = g.env()?;
    let dir = crate::observe::workflows::workflows_dir(&env);
    fs_err::create_dir_all(&dir).into_diagnostic()?;
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signal(stop.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .into_diagnostic()?;
    watcher.watch(&dir, RecursiveMode::NonRecursive).into_diagnostic()?;
    errln!(g.printer, "Watching {} (Ctrl-C stops).", dir.display());
    // Edits made while nobody watched come first.
    sync_reporting(g, only);
    let mut pending: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(event)) if event.paths.iter().any(|p| is_user_workflow(p)) => pending = Some(Instant::now()),
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if pending.is_some_and(|t| t.elapsed() >= DEBOUNCE) {
            pending = None;
            sync_reporting(g, only);
        }
    }
    errln!(g.printer, "Stopped watching.");
    Ok(ExitStatus::Success)
}

/// `NAME.json`, not the `NAME.cec.json` apply writes beside an edited copy.
fn is_user_workflow(path: &std::path::Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    name.ends_with(".json") && !name.ends_with(".cec.json")
}

/// One sync; a failure is reported and watching goes on (the next save may fix it).
fn sync_reporting(g: &Globals, only: Option<&str>) {
    if let Err(report) = super::workflow_track::sync_once(g, only, true) {
        errln!(g.printer, "{report:?}");
    }
}

/// Sets `stop` on SIGINT or SIGTERM, so the main loop finishes the sync it is in and exits
/// cleanly.
fn stop_on_signal(stop: Arc<AtomicBool>) {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, stop.clone());
    }
}
