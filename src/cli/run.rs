//! `run`: ComfyUI's main.py with the environment's Python.

use super::{ExitStatus, Globals};
use crate::manifest::Manifest;
use miette::{Result, miette};
use std::os::unix::process::CommandExt;
use std::process::Command;

pub fn run(g: &Globals, args: &[String]) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let env = ws.select_env(g.env.as_deref())?;
    // A manifest that does not parse means the environment is not what the user declared.
    Manifest::load(&env.pyproject())?;
    let python = env.python();
    if !python.exists() {
        return Err(miette!(
            code = "comfydock::run::no_venv",
            help = "the environment's venv is missing; recreate the environment",
            "no Python at {}",
            python.display()
        ));
    }
    // exec: ComfyUI becomes this process, so its exit code and signals are the user's directly.
    let err = Command::new(&python)
        .arg("main.py")
        .args(args)
        .current_dir(&env.comfyui)
        .exec();
    Err(miette!("could not start {}: {err}", python.display()))
}
