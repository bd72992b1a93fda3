//! `run`: ComfyUI's main.py with the environment's Python.

use super::{ExitStatus, Globals};
use crate::manifest::Manifest;
use miette::{Result, miette};
use std::os::unix::process::CommandExt;
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
        return quick_test(&python, &env.comfyui, args);
    }
    // exec: ComfyUI becomes this process, so its exit code and signals are the user's directly.
    let err = Command::new(&python)
        .arg("main.py")
        .args(args)
        .current_dir(&env.comfyui)
        .exec();
    Err(miette!("could not start {}: {err}", python.display()))
}

/// ComfyUI's quick test as a child, its stderr passed through and read: a module it imports but
/// nothing installed (ComfyUI imports `requests` without listing it) gets a hint.
fn quick_test(python: &std::path::Path, comfyui: &std::path::Path, args: &[String]) -> Result<ExitStatus> {
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
            errln!("{line}");
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
