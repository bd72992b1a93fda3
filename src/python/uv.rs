//! The uv driver. comfydock never re-implements resolution or installation: it runs the real
//! `uv` with the workspace's shared cache (same filesystem as the venvs, so uv hardlinks) and
//! shared Python installs, and turns uv's failures into diagnostics that keep uv's explanation.

use miette::Diagnostic;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum UvError {
    #[error("uv was not found (looked for `{0}`)")]
    #[diagnostic(
        code(comfydock::uv::missing),
        help(
            "install uv with `pip install uv` (or see https://docs.astral.sh/uv/), or point COMFYDOCK_UV at the binary"
        )
    )]
    NotInstalled(String),

    #[error("`uv {args}` failed")]
    #[diagnostic(code(comfydock::uv::failed), help("uv said:\n{stderr}"))]
    Failed { args: String, stderr: String },

    #[error("`uv {args}` could not reach the package index {url}")]
    #[diagnostic(
        code(comfydock::uv::index_unreachable),
        help(
            "check the network or proxy for that address. For a PyTorch index: set COMFYDOCK_TORCH_INDEX_URL (or torch_index_url in workspace.toml) to a mirror you can reach, or create the environment with `--torch-backend none` (torch then comes from PyPI). uv said:\n{stderr}"
        )
    )]
    IndexUnreachable { args: String, url: String, stderr: String },

    #[error("could not run uv")]
    #[diagnostic(code(comfydock::uv::io))]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = UvError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Uv {
    bin: PathBuf,
    cache_dir: PathBuf,
    python_install_dir: PathBuf,
}

impl Uv {
    /// Finds uv: `COMFYDOCK_UV`, then a configured path, then `uv` on PATH.
    pub fn locate(configured: Option<&Path>, cache_dir: PathBuf, python_install_dir: PathBuf) -> Result<Self> {
        let bin = std::env::var_os("COMFYDOCK_UV")
            .map(PathBuf::from)
            .or_else(|| configured.map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("uv"));
        let uv = Uv {
            bin,
            cache_dir,
            python_install_dir,
        };
        // Found as the shell would find it, without running it: `uv --version` was a process on
        // every command that opens an environment, most of which never run uv (a rollback, a
        // no-op plan). A uv that is there but cannot run fails at its first use instead.
        match executable(&uv.bin) {
            true => Ok(uv),
            false => Err(UvError::NotInstalled(uv.bin.display().to_string())),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("UV_CACHE_DIR", &self.cache_dir)
            .env("UV_PYTHON_INSTALL_DIR", &self.python_install_dir)
            .env("UV_NO_PROGRESS", "1")
            .stdin(Stdio::null());
        crate::process::die_with_parent(&mut cmd);
        cmd
    }

    fn run<I, S>(&self, args: I, configure: impl FnOnce(&mut Command)) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command();
        cmd.args(args);
        configure(&mut cmd);
        let shown = cmd
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        tracing::debug!("running uv {shown}");
        let started = std::time::Instant::now();
        let out = cmd.output()?;
        tracing::debug!(
            "uv {} finished in {:.2?}",
            shown.split(' ').next().unwrap_or(""),
            started.elapsed()
        );
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if let Some(url) = unreachable_index(&stderr) {
                return Err(UvError::IndexUnreachable {
                    args: shown,
                    url,
                    stderr,
                });
            }
            return Err(UvError::Failed { args: shown, stderr });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a long uv command (a sync may download gigabytes). On a terminal (the reporter's: never
    /// under `-q`) uv draws its own progress on the user's stderr; elsewhere (CI logs, the web
    /// view) its output is kept for the error and a line every 30 s (`COMFYDOCK_PROGRESS_INTERVAL`) says it is still at work, so a log never
    /// looks hung.
    fn run_with_progress(&self, mut cmd: Command, reporter: &dyn crate::progress::Reporter) -> Result<()> {
        use std::io::Read;
        let shown = cmd
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        if reporter.terminal() {
            cmd.env_remove("UV_NO_PROGRESS")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            let status = cmd.status()?;
            return if status.success() {
                Ok(())
            } else {
                Err(UvError::Failed {
                    args: shown,
                    stderr: "(uv's output is above)".into(),
                })
            };
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
        // Read stderr on a thread so a chatty uv never blocks on a full pipe.
        let mut pipe = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(p) = pipe.as_mut() {
                let _ = p.read_to_string(&mut text);
            }
            text
        });
        let every = std::env::var("COMFYDOCK_PROGRESS_INTERVAL")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map_or(std::time::Duration::from_secs(30), std::time::Duration::from_secs);
        let started = std::time::Instant::now();
        let mut next_note = every;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() >= next_note {
                reporter.step(&format!("  uv is still installing ({} s)", next_note.as_secs()));
                next_note += every;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let stderr = reader.join().unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(UvError::Failed {
                args: shown,
                stderr: stderr.trim().to_string(),
            })
        }
    }

    /// The `major.minor` of the interpreter uv picks for `request` (None: any Python >= 3.10).
    pub fn python_version(&self, request: Option<&str>) -> Result<String> {
        let request = request.unwrap_or(">=3.10");
        let path = self.run(["python", "find", request], |_| {})?;
        let out = Command::new(path.trim())
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `uv lock` for the project in `project_dir`: writes `uv.lock` beside its pyproject.
    pub fn lock(&self, project_dir: &Path) -> Result<()> {
        self.run(
            [OsStr::new("lock"), OsStr::new("--project"), project_dir.as_os_str()],
            |_| {},
        )
        .map(drop)
    }

    /// `uv sync --frozen`: installs exactly what `uv.lock` says into `venv` (created if absent),
    /// removing anything else.
    pub fn sync_frozen(
        &self,
        project_dir: &Path,
        venv: &Path,
        extras: &[String],
        reporter: &dyn crate::progress::Reporter,
    ) -> Result<()> {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("sync"),
            OsStr::new("--frozen"),
            OsStr::new("--all-groups"),
            OsStr::new("--project"),
            project_dir.as_os_str(),
        ];
        for extra in extras {
            args.push(OsStr::new("--extra"));
            args.push(OsStr::new(extra));
        }
        let _ = fs_err::remove_file(venv.join(VENV_COMPLETE));
        let mut cmd = self.command();
        cmd.args(&args).env("UV_PROJECT_ENVIRONMENT", venv);
        self.run_with_progress(cmd, reporter)?;
        // Written last: a venv without it (uv killed, a crash mid-sync) is never used.
        crate::fsx::write_atomic(&venv.join(VENV_COMPLETE), b"uv sync --frozen finished\n")?;
        Ok(())
    }
}

/// The index uv could not connect to (DNS, refused, unreachable, timed out), named in its
/// `Failed to fetch: `URL`` line; None for any other failure.
fn unreachable_index(stderr: &str) -> Option<String> {
    const NETWORK: &[&str] = &[
        "dns error",
        "failed to lookup address",
        "Connection refused",
        "tcp connect error",
        "client error (Connect)",
        "Network is unreachable",
        "timed out",
    ];
    if !NETWORK.iter().any(|n| stderr.contains(n)) {
        return None;
    }
    // uv writes the URL bare or in backticks, depending on its version.
    let start = stderr.find("Failed to fetch: ")? + "Failed to fetch: ".len();
    let rest = stderr.get(start..)?.trim_start_matches('`');
    let url: String = rest.chars().take_while(|c| *c != '`' && !c.is_whitespace()).collect();
    (!url.is_empty()).then_some(url)
}

/// The marker `sync_frozen` writes into a venv once uv finished.
pub const VENV_COMPLETE: &str = ".comfydock-complete";

/// Whether the venv at `path` was completed by a successful `uv sync`.
pub fn venv_is_whole(path: &Path) -> bool {
    path.join(VENV_COMPLETE).is_file() && path.join("bin").is_dir()
}

/// Whether `bin` names an executable file: a path as it is, a bare name on `PATH`.
fn executable(bin: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| fs_err::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if bin.components().count() > 1 || bin.is_absolute() {
        return runnable(bin);
    }
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| runnable(&dir.join(bin))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn network_failures_name_the_index() {
        let dns = "error: Failed to fetch: `https://download.pytorch.org/whl/cpu/torch/`\n  Caused by: Request failed after 3 retries\n  Caused by: dns error: failed to lookup address information";
        assert_eq!(
            super::unreachable_index(dns).as_deref(),
            Some("https://download.pytorch.org/whl/cpu/torch/")
        );
        let bare = "error: Failed to fetch: http://127.0.0.1:9/simple/x/\n  cause: tcp connect error\n  cause: Connection refused (os error 111)";
        assert_eq!(
            super::unreachable_index(bare).as_deref(),
            Some("http://127.0.0.1:9/simple/x/")
        );
        assert_eq!(super::unreachable_index("error: No solution found"), None);
    }
}
