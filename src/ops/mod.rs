//! The operations both edges call (the CLI in `cli/`, and the web view and ComfyUI panel): typed
//! inputs, typed reports, and one edit transaction. A report is `Serialize` and is exactly what
//! `--json` prints, inside one [`Envelope`] that carries the format version. Nothing here
//! prints: progress goes through `progress::Reporter`, and a plan about to be applied is handed
//! to the caller's `on_plan`, so each edge shows it its own way.

pub mod adopt;
pub mod apply;
pub mod comfyui;
pub mod comfyui_client;
pub mod comfyui_process;
pub mod declared_models;
pub mod doctor;
pub mod edit;
pub mod generations;
pub mod lock;
pub mod models;
pub mod nodes;
pub mod pull;
pub mod python_deps;
pub mod registry;
pub mod registry_data;
pub mod rollback;
pub mod saved_plan;
pub mod shared_store;
pub mod status;
pub mod test_suite;
pub mod workflow_files;
pub mod workflow_needs;
pub mod workflow_resolve;
pub mod workflows;

use serde::Serialize;

/// The version of every JSON document comfydock prints.
pub const FORMAT_VERSION: &str = "1";

/// A report as `--json` prints it: `{"format_version": "1", ...the report's fields}`.
#[derive(Debug, Serialize)]
pub struct Envelope<'a, T: Serialize> {
    pub format_version: &'static str,
    #[serde(flatten)]
    pub report: &'a T,
}

impl<'a, T: Serialize> Envelope<'a, T> {
    pub fn new(report: &'a T) -> Self {
        Envelope {
            format_version: FORMAT_VERSION,
            report,
        }
    }
}

/// `list --json`: the workspace's environments.
#[derive(Debug, Serialize)]
pub struct EnvironmentsReport {
    pub environments: Vec<crate::workspace::EnvInfo>,
}

pub fn environments(ws: &crate::workspace::Workspace) -> miette::Result<EnvironmentsReport> {
    Ok(EnvironmentsReport {
        environments: ws.list()?,
    })
}

/// A value typed by the user, as the typed value it names; refused with what was wrong.
pub(crate) fn typed<T>(value: &str) -> miette::Result<T>
where
    T: std::str::FromStr<Err = crate::types::InvalidValue>,
{
    value.parse().map_err(|e: crate::types::InvalidValue| {
        miette::miette!(
            code = "comfydock::invalid_value",
            help = "nothing was changed; correct the value and run the command again",
            "{e}"
        )
    })
}
