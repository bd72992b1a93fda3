//! `init`, `create`, `list`, `use`, `delete`.

use super::args::{CreateArgs, ListArgs};
use super::printer::Printer;
use super::ui::confirm;
use super::{ExitStatus, Globals};
use crate::reconcile::{CreateOptions, create_environment};
use crate::workspace::Workspace;
use miette::Result;

pub fn init(g: &Globals) -> Result<ExitStatus> {
    let root = Workspace::locate(g.workspace.as_deref());
    let (ws, created) = Workspace::init(&root)?;
    if created {
        errln!(g.printer, "Initialized workspace at {}", ws.root().display());
    } else {
        errln!(g.printer, "Workspace already initialized at {}", ws.root().display());
    }
    Ok(ExitStatus::Success)
}

pub fn create(g: &Globals, args: &CreateArgs) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let opts = CreateOptions {
        name: args.name.clone(),
        comfyui_ref: args.comfyui.clone(),
        comfyui_repo: args.comfyui_repo.clone(),
        python: args.python.clone(),
        torch_backends: args
            .torch_backend
            .iter()
            .map(|b| pick_backend(g.printer, b))
            .filter(|b| *b != "none")
            .filter_map(|b| b.parse().ok())
            .collect(),
    };
    let paths = create_environment(&ws, &opts, &g.reporter)?;
    let make_active = args.use_it || ws.config()?.active_environment.is_none();
    if make_active {
        ws.set_active(Some(&args.name))?;
    }
    errln!(
        g.printer,
        "Created environment `{}` at {}{}",
        args.name,
        paths.root.display(),
        if make_active { " (active)" } else { "" }
    );
    Ok(ExitStatus::Success)
}

/// `auto` becomes the backend this machine can use, said with the reason; anything else stays.
/// `--torch-backend` of plan, apply and import: one backend to sync (`auto`: this machine's).
pub(super) fn chosen_backend(p: Printer, value: Option<&str>) -> miette::Result<Option<crate::types::TorchBackend>> {
    value.map(|v| super::typed(&pick_backend(p, v))).transpose()
}

pub(super) fn pick_backend(p: Printer, value: &str) -> String {
    if value != "auto" {
        return value.to_string();
    }
    let detected = crate::python::detect::detect();
    errln!(p, "Torch backend: {} ({})", detected.backend, detected.reason);
    detected.backend
}

pub fn list(g: &Globals, args: &ListArgs) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let envs = ws.list()?;
    if args.json {
        let doc = serde_json::json!({ "format_version": "1", "environments": envs });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
        return Ok(ExitStatus::Success);
    }
    if envs.is_empty() {
        errln!(
            g.printer,
            "No environments yet. Create one with `comfydock create NAME`."
        );
    }
    let width = envs.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for env in envs {
        let mark = if env.active { '*' } else { ' ' };
        let mut line = format!(
            "{mark} {:width$}  ComfyUI {}",
            env.name,
            env.comfyui_version.as_deref().unwrap_or("?")
        );
        if let Some(py) = &env.python_version {
            line.push_str(&format!("  Python {py}"));
        }
        if !env.complete {
            line.push_str(&format!("  (incomplete: `comfydock delete {}` removes it)", env.name));
        }
        outln!("{line}");
    }
    Ok(ExitStatus::Success)
}

pub fn use_env(g: &Globals, name: &str) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    ws.set_active(Some(name))?;
    errln!(g.printer, "Active environment: {name}");
    Ok(ExitStatus::Success)
}

pub fn delete(g: &Globals, name: &str, yes: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let paths = ws.env(name)?;
    let question = format!(
        "Delete environment `{name}` and everything in {}?",
        paths.root.display()
    );
    if !confirm(g.printer, &question, yes, &format!("deleting environment `{name}`"))? {
        errln!(g.printer, "Nothing deleted.");
        return Ok(ExitStatus::Failure);
    }
    ws.delete_env(name, &g.reporter)?;
    // Its packs no longer answer for the workspace's other environments.
    let index = crate::registry::node_index::index_path(ws.root());
    if index.is_file()
        && let Err(e) = crate::registry::node_index::NodeIndex::open(&index).and_then(|mut i| i.clear_installed(name))
    {
        tracing::warn!("could not forget {name}'s packs in {}: {e}", index.display());
    }
    errln!(g.printer, "Deleted environment `{name}`");
    Ok(ExitStatus::Success)
}
