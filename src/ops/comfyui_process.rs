//! An environment's ComfyUI started for a while (`comfydock test`): its venv's Python runs
//! `main.py` on a free loopback port with a scratch output folder, in its own process group,
//! its output captured to a log file; it is waited for until it answers (bounded) and always
//! stopped, the whole group, when the value is dropped, on error paths too.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often a starting ComfyUI is asked whether it answers.
const POLL: Duration = Duration::from_millis(50);
/// How long a stopping ComfyUI gets after SIGTERM before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Lines of the log shown when ComfyUI could not start.
pub const LOG_TAIL_LINES: usize = 30;

/// How to start ComfyUI.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Leave out `--cpu` (use the machine's GPU).
    pub gpu: bool,
    /// How long ComfyUI may take to answer.
    pub start_timeout: Duration,
}

/// Why ComfyUI did not come up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not start {python}: {source}")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ComfyUI exited ({status}) before it answered")]
    Exited { status: String, log: PathBuf, tail: String },
    #[error("ComfyUI did not answer within {seconds} s")]
    Timeout { seconds: u64, log: PathBuf, tail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl StartError {
    /// The end of ComfyUI's log, when it ran at all.
    pub fn log_tail(&self) -> Option<(&Path, &str)> {
        match self {
            StartError::Exited { log, tail, .. } | StartError::Timeout { log, tail, .. } => Some((log, tail)),
            _ => None,
        }
    }
}

/// A running ComfyUI; stopped (its process group killed) when dropped.
pub struct ComfyUi {
    child: Child,
    pub port: u16,
    pub base_url: String,
    pub log: PathBuf,
    pub output_dir: PathBuf,
    pub started_in: Duration,
}

/// A free port on 127.0.0.1 (the kernel's pick; released just before ComfyUI binds it).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

impl ComfyUi {
    /// Starts `python main.py` in `comfyui`, logging to `log` and writing outputs to
    /// `output_dir`, and waits until `GET /system_stats` answers.
    pub fn start(
        python: &Path,
        comfyui: &Path,
        log: &Path,
        output_dir: &Path,
        opts: &StartOptions,
    ) -> Result<ComfyUi, StartError> {
        let started = Instant::now();
        fs_err::create_dir_all(output_dir)?;
        if let Some(parent) = log.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let file = std::fs::File::create(log)?;
        let port = free_port()?;
        let mut cmd = Command::new(python);
        cmd.arg("main.py")
            .args(["--listen", "127.0.0.1", "--port", &port.to_string()])
            .arg("--output-directory")
            .arg(output_dir)
            .arg("--disable-auto-launch");
        if !opts.gpu {
            cmd.arg("--cpu");
        }
        cmd.current_dir(comfyui)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        crate::process::die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|source| StartError::Spawn {
            python: python.display().to_string(),
            source,
        })?;
        let mut me = ComfyUi {
            child,
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
            output_dir: output_dir.to_path_buf(),
            started_in: Duration::ZERO,
        };
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| StartError::Io(std::io::Error::other(e)))?;
        let url = format!("{}/system_stats", me.base_url);
        loop {
            if let Some(status) = me.child.try_wait()? {
                return Err(StartError::Exited {
                    status: status.to_string(),
                    log: me.log.clone(),
                    tail: me.log_tail(LOG_TAIL_LINES),
                });
            }
            if client
                .get(&url)
                .send()
                .is_ok_and(|r| r.status().is_success() && r.json::<Value>().is_ok())
            {
                break;
            }
            if started.elapsed() >= opts.start_timeout {
                me.stop();
                return Err(StartError::Timeout {
                    seconds: opts.start_timeout.as_secs(),
                    log: me.log.clone(),
                    tail: me.log_tail(LOG_TAIL_LINES),
                });
            }
            std::thread::sleep(POLL);
        }
        me.started_in = started.elapsed();
        Ok(me)
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&fs_err::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_text(), lines)
    }

    /// Stops ComfyUI: SIGTERM to its process group, then SIGKILL after a grace period.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        use rustix::process::{Pid, Signal, kill_process_group};
        let Some(pid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        };
        // The process group this child leads (process_group(0) above).
        let _ = kill_process_group(pid, Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                // The group may hold children of ComfyUI's: they go too.
                let _ = kill_process_group(pid, Signal::KILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill_process_group(pid, Signal::KILL);
        let _ = self.child.wait();
    }
}

impl Drop for ComfyUi {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A custom node pack that failed to import, as ComfyUI's log says: its folder under
/// `custom_nodes/` and the error (the traceback and `Cannot import …` line before the
/// `IMPORT FAILED` line), when the log has it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportFailure {
    pub folder: String,
    pub error: String,
}

/// The import failures in a ComfyUI log.
pub fn import_failures(log: &str) -> Vec<ImportFailure> {
    let lines: Vec<&str> = log.lines().collect();
    let folder_of = |path: &str| {
        path.trim()
            .trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .trim_end_matches(".py")
            .to_string()
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.split("Cannot import ").nth(1) else {
            continue;
        };
        let Some((path, message)) = rest.split_once(" module for custom nodes:") else {
            continue;
        };
        // The traceback printed just before, if any.
        let start = lines[..i]
            .iter()
            .rposition(|l| l.starts_with("Traceback (most recent call last):"))
            .filter(|&s| !lines[s..i].iter().any(|l| l.contains("Cannot import ")))
            .unwrap_or(i);
        let mut text: Vec<&str> = lines[start..i]
            .iter()
            .copied()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if text.is_empty() {
            text.push(message.trim());
        }
        errors.push((folder_of(path), text.join("\n")));
    }
    let mut out: Vec<ImportFailure> = Vec::new();
    for line in &lines {
        let Some(path) = line.split("(IMPORT FAILED):").nth(1) else {
            continue;
        };
        let folder = folder_of(path);
        if out.iter().any(|f| f.folder == folder) {
            continue;
        }
        let error = errors
            .iter()
            .rev()
            .find(|(f, _)| *f == folder)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| "IMPORT FAILED (ComfyUI's log has no error for it)".to_string());
        out.push(ImportFailure { folder, error });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_failures_take_the_traceback_before_the_failed_line() {
        let log = "\
Traceback (most recent call last):
  File \"/c/nodes.py\", line 2131, in load_custom_node
    module_spec.loader.exec_module(module)
ModuleNotFoundError: No module named 'cv2'

Cannot import /c/custom_nodes/ComfyUI-Broken module for custom nodes: No module named 'cv2'
Cannot import /c/custom_nodes/single.py module for custom nodes: boom

Import times for custom nodes:
   0.0 seconds: /c/custom_nodes/fine
   0.0 seconds (IMPORT FAILED): /c/custom_nodes/ComfyUI-Broken
   0.0 seconds (IMPORT FAILED): /c/custom_nodes/single.py
";
        let f = import_failures(log);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].folder, "ComfyUI-Broken");
        assert!(
            f[0].error.starts_with("Traceback (most recent call last):"),
            "{}",
            f[0].error
        );
        assert!(f[0].error.ends_with("No module named 'cv2'"), "{}", f[0].error);
        assert_eq!(
            f[1],
            ImportFailure {
                folder: "single".into(),
                error: "boom".into()
            }
        );
    }
}
