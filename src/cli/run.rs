//! `run`: ComfyUI's main.py with the environment's Python.

use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::manifest::Manifest;
use miette::{Result, miette};
use std::process::Command;

pub fn run(g: &Globals, locked: bool, args: &[String]) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let env = ws.select_env(g.env.as_deref())?;
    // A manifest that does not parse means the environment is not what the user declared.
    let manifest = Manifest::load(&env.pyproject())?;
    let env = if locked {
        let session = g.reader(&ws, env);
        crate::reconcile::check_locked(&session, &manifest)?;
        session.env
    } else {
        env
    };
    let python = env.python();
    if !python.exists() {
        return Err(miette!(
            code = "comfydock::run::no_venv",
            help = "the environment's venv is missing; recreate the environment",
            "no Python at {}",
            python.display()
        ));
    }
    if args.iter().any(|a| a == "--quick-test-for-ci") {
        return quick_test(g.printer, &python, &env.comfyui, args);
    }
    let remote = match std::env::var(PANEL_REMOTE_VAR) {
        Ok(v) => v,
        Err(_) => {
            let setting = crate::workspace::settings::find("panel_remote_changes")?;
            crate::workspace::settings::get(ws.root(), setting)?.unwrap_or_default()
        }
    };
    let exe = std::env::current_exe().map_err(|e| miette!("cannot find comfydock's own binary: {e}"))?;
    let panel_env = [
        ("COMFYDOCK_BIN", exe.into_os_string()),
        ("COMFYDOCK_ENV", env.name.clone().into()),
        ("COMFYDOCK_HOME", ws.root().as_os_str().to_owned()),
        ("COMFYDOCK_SUPERVISED", "1".into()),
        (
            PANEL_REMOTE_VAR,
            if remote == "true" || remote == "1" { "1" } else { "0" }.into(),
        ),
    ];
    super::supervise::run(g.printer, &python, &env.comfyui, args, &panel_env)
}

/// Read by the panel pack: changes accepted from other machines (`panel_remote_changes`).
const PANEL_REMOTE_VAR: &str = "COMFYDOCK_PANEL_REMOTE_CHANGES";

/// ComfyUI's quick test as a child, its stderr passed through and read: a module it imports but
/// nothing installed (ComfyUI imports `requests` without listing it) gets a hint.
fn quick_test(p: Printer, python: &std::path::Path, comfyui: &std::path::Path, args: &[String]) -> Result<ExitStatus> {
    use std::io::BufRead;
    let mut cmd = Command::new(python);
    cmd.arg("main.py")
        .args(args)
        .current_dir(comfyui)
        .stderr(std::process::Stdio::piped());
    crate::process::die_with_parent(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| miette!("could not start {}: {e}", python.display()))?;
    let mut missing = None;
    if let Some(stderr) = child.stderr.take() {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if let Some(rest) = line.split("No module named '").nth(1) {
                missing = rest.split('\'').next().map(str::to_string);
            }
            errln!(p, "{line}");
        }
    }
    let status = child
        .wait()
        .map_err(|e| miette!("could not wait for {}: {e}", python.display()))?;
    if status.success() {
        return Ok(ExitStatus::Success);
    }
    if let Some(module) = missing {
        let package = module.split('.').next().unwrap_or(&module);
        super::printer::error(format_args!(
            "hint: ComfyUI (or a node pack) imports `{module}`, which no requirement installs; `comfydock py add {package}` adds it (the package name may differ from the module's)\n"
        ));
    }
    Ok(ExitStatus::Failure)
}
