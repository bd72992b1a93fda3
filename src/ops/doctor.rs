//! Is this machine ready? Tools (uv, git, a Python), free disk, the node index, the selected
//! environment's Python, and whether the registry, PyPI and the torch index answer, each with
//! what to do when not. Unreachable services are warnings (`--offline` still works).

use crate::workspace::Workspace;
use serde::Serialize;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One thing `doctor` looked at.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// Without it comfydock cannot work; the others are warnings.
    pub required: bool,
    pub detail: String,
    /// What to do when it is not ok.
    pub fix: String,
}

#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// Whether something required is missing.
    pub fn missing_required(&self) -> bool {
        self.checks.iter().any(|c| c.required && !c.ok)
    }
}

/// Checks the machine for the workspace at `root` (which may not exist yet) and environment
/// `env` (the selected one when None).
pub fn doctor(root: &Path, env: Option<&str>) -> DoctorReport {
    let root = root.to_path_buf();
    let config = Workspace::open(&root).ok().and_then(|ws| ws.config().ok());
    let mut checks = Vec::new();

    let uv_bin = std::env::var("COMFYDOCK_UV")
        .ok()
        .or_else(|| {
            config
                .as_ref()
                .and_then(|c| c.uv.as_ref())
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| "uv".into());
    let uv = version_of(&uv_bin, &["--version"]);
    checks.push(Check {
        name: "uv",
        ok: uv.is_some(),
        required: true,
        detail: uv.clone().unwrap_or_else(|| format!("`{uv_bin}` did not run")),
        fix: "install uv: `pip install uv` (or https://docs.astral.sh/uv/), or set COMFYDOCK_UV".into(),
    });
    let git = version_of("git", &["--version"]);
    checks.push(Check {
        name: "git",
        ok: git.is_some(),
        required: true,
        detail: git.unwrap_or_else(|| "`git` did not run".into()),
        fix: "install git with your system's package manager".into(),
    });
    let python = uv
        .is_some()
        .then(|| version_of(&uv_bin, &["python", "find", ">=3.10"]))
        .flatten();
    checks.push(Check {
        name: "python",
        ok: python.is_some(),
        required: true,
        detail: python.unwrap_or_else(|| "uv finds no Python >= 3.10".into()),
        fix: "`uv python install 3.12`, or install Python 3.10+ on PATH".into(),
    });
    let free = free_bytes(&root);
    checks.push(Check {
        name: "disk",
        ok: free.is_some_and(|b| b >= 10 << 30),
        required: false,
        detail: match free {
            Some(b) => format!("{} free for {}", crate::plan::human_size(b), root.display()),
            None => format!("cannot tell the free space for {}", root.display()),
        },
        fix: "ComfyUI with torch needs about 6 GiB per venv; free space, `comfydock gc`, or a workspace on a larger disk (--workspace)".into(),
    });

    if let Ok(ws) = Workspace::open(&root) {
        checks.push(node_index_check(&ws, config.as_ref()));
        if let Some(check) = ws.select_env(env).ok().and_then(|env| python_check(&env)) {
            checks.push(check);
        }
    }

    let registry = std::env::var("COMFYDOCK_REGISTRY_URL")
        .ok()
        .or_else(|| config.as_ref().and_then(|c| c.registry_url.clone()))
        .unwrap_or_else(|| crate::registry::client::DEFAULT_REGISTRY_URL.to_string());
    let pypi = std::env::var("UV_DEFAULT_INDEX")
        .or_else(|_| std::env::var("UV_INDEX_URL"))
        .unwrap_or_else(|_| "https://pypi.org/simple/".into());
    let torch = crate::python::TorchSettings::load(&root).index_url("cpu");
    let services = [
        (
            "registry",
            registry,
            "check the network, or set COMFYDOCK_REGISTRY_URL / registry_url to a mirror; `--offline` uses cached answers",
        ),
        (
            "pypi",
            pypi,
            "check the network or proxy; set UV_DEFAULT_INDEX to a mirror",
        ),
        (
            "torch index",
            torch,
            "set COMFYDOCK_TORCH_INDEX_URL to a mirror, or use `--torch-backend none` (torch from PyPI)",
        ),
    ];
    for (name, url, fix) in services {
        let answer = answers(&url);
        checks.push(Check {
            name,
            ok: answer.is_ok(),
            required: false,
            detail: match answer {
                Ok(status) => format!("{url} answered ({status})"),
                Err(e) => format!("{url}: {e}"),
            },
            fix: fix.into(),
        });
    }

    DoctorReport { checks }
}

/// The node index: loaded, from where, and how old (a warning when empty or older than
/// `mappings_max_age_days`).
fn node_index_check(ws: &Workspace, config: Option<&crate::workspace::WorkspaceConfig>) -> Check {
    use crate::registry::mappings_update::{age_days, human_age, max_age_days};
    use crate::registry::node_index::{NodeIndex, index_path};
    let path = index_path(ws.root());
    let info = path
        .is_file()
        .then(|| NodeIndex::open(&path).ok()?.info().ok().flatten())
        .flatten();
    let max = max_age_days(config.and_then(|c| c.mappings_max_age_days));
    match info {
        None => Check {
            name: "node index",
            ok: false,
            required: false,
            detail: "empty: workflows' custom node types cannot be resolved".into(),
            fix: "`comfydock registry update` (ComfyUI-Manager's public data unless mappings_url is set)".into(),
        },
        Some(i) => {
            let age = age_days(&i, crate::clock::now_secs());
            Check {
                name: "node index",
                ok: age.is_some_and(|d| d < max as f64),
                required: false,
                detail: format!(
                    "{} packages from {}, updated {}",
                    i.packages,
                    i.source,
                    age.map_or_else(|| i.installed_at.clone(), human_age)
                ),
                fix: format!(
                    "older than {max} days: `comfydock registry update` (`workflow resolve` also refreshes it)"
                ),
            }
        }
    }
}

/// The Python the selected environment asks for (`python_version`) against the one its venv
/// runs; None when the environment has no venv or asks for none.
fn python_check(env: &crate::workspace::EnvPaths) -> Option<Check> {
    let manifest = crate::manifest::Manifest::load(&env.pyproject()).ok()?;
    let wanted = manifest.config().python_version.clone()?;
    let live = crate::python::installed::python_full_version(&env.venv)?;
    let matches = live == wanted.as_str() || live.starts_with(&format!("{wanted}."));
    Some(Check {
        name: "env python",
        ok: matches,
        required: false,
        detail: format!(
            "environment `{}` asks for Python {wanted}; its venv runs {live}",
            env.name
        ),
        fix: format!(
            "`comfydock apply --rebuild-venv` builds the venv with Python {wanted} (uv installs it when it is missing)"
        ),
    })
}

/// The first line a tool prints for `args`, when it runs and succeeds.
fn version_of(bin: &str, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::null());
    crate::process::die_with_parent(&mut cmd);
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// Free bytes on the filesystem of `path` (or of its nearest existing parent).
fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_bavail * stat.f_frsize)
}

/// Whether `url` answers an HTTP request within a few seconds (any status: it is there).
/// A local folder (a flat index) answers when it exists.
fn answers(url: &str) -> std::result::Result<String, String> {
    if crate::python::torch::is_flat_index(url) && !url.starts_with("file://") {
        return if Path::new(url).is_dir() {
            Ok("local folder".into())
        } else {
            Err("no such folder".into())
        };
    }
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    match client.get(url).send() {
        Ok(r) => Ok(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("no answer within 5 s".into()),
        Err(e) if e.is_connect() => Err("cannot connect (DNS, proxy or firewall)".into()),
        Err(e) => Err(e.to_string()),
    }
}
