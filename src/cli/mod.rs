//! The edge of the program: parses arguments, runs a command, renders errors. The only module
//! that prints or prompts.
//!
//! Exit codes, stated once: 0 success, 1 error (usage errors included), 2 "changes present"
//! (only under `plan --detailed-exitcode`).

#[macro_use]
mod printer;
mod args;
mod edit;
mod env_models;
mod environments;
mod generations;
mod models;
mod nodes;
mod python;
mod reconcile;
mod registry;
mod run;
mod ui;
mod workflow;

use args::{Cli, Command};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::workspace::Workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Failure,
    /// `plan --detailed-exitcode` found changes.
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes => ExitCode::from(2),
        }
    }
}

/// Options every command sees.
pub struct Globals {
    pub workspace: Option<PathBuf>,
    pub env: Option<String>,
    pub offline: bool,
}

impl Globals {
    pub fn workspace(&self) -> miette::Result<Workspace> {
        Ok(Workspace::open(&Workspace::locate(self.workspace.as_deref()))?)
    }

    /// A session that may change `env`: the writer lock, recovery, `--offline`, progress bars.
    pub fn writer<'a>(
        &self,
        ws: &'a Workspace,
        env: crate::workspace::EnvPaths,
        command: &str,
    ) -> miette::Result<crate::reconcile::Session<'a>> {
        Ok(
            crate::reconcile::Session::writer(ws, env, &ui::StderrReporter, command)?
                .offline(self.offline)
                .transfers(std::sync::Arc::new(ui::StderrReporter)),
        )
    }

    /// A session that only reads `env` (plan, status, lists).
    pub fn reader<'a>(&self, ws: &'a Workspace, env: crate::workspace::EnvPaths) -> crate::reconcile::Session<'a> {
        crate::reconcile::Session::reader(ws, env, &ui::StderrReporter)
            .offline(self.offline)
            .transfers(std::sync::Arc::new(ui::StderrReporter))
    }

    /// The workspace and the environment this command acts on.
    pub fn env(&self) -> miette::Result<(Workspace, crate::workspace::EnvPaths)> {
        let ws = self.workspace()?;
        let env = ws.select_env(self.env.as_deref())?;
        Ok((ws, env))
    }
}

pub fn main() -> ExitCode {
    install_error_renderer();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors, which would read as "changes present".
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let globals = Globals {
        workspace: cli.global.workspace,
        env: cli.global.env,
        offline: cli.global.offline,
    };
    let result = match &cli.command {
        Command::Init => environments::init(&globals),
        Command::Create(a) => environments::create(&globals, a),
        Command::List(a) => environments::list(&globals, a),
        Command::Use { name } => environments::use_env(&globals, name),
        Command::Delete { name, yes } => environments::delete(&globals, name, *yes),
        Command::Run { args } => run::run(&globals, args),
        Command::Node(cmd) => nodes::node(&globals, cmd),
        Command::Py(cmd) => python::py(&globals, cmd),
        Command::Constraint(cmd) => python::constraint(&globals, cmd),
        Command::Lock { check } => reconcile::lock(&globals, *check),
        Command::Plan(a) => reconcile::plan(&globals, a),
        Command::Apply(a) => reconcile::apply(&globals, a),
        Command::Status { json } => reconcile::status(&globals, *json),
        Command::Verify { models, json } => reconcile::verify(&globals, *models, *json),
        Command::Log { json } => generations::log(&globals, *json),
        Command::Rollback { generation, yes } => generations::rollback(&globals, *generation, *yes),
        Command::Recover => generations::recover(&globals),
        Command::Gc { keep, dry_run, json } => generations::gc(&globals, *keep, *dry_run, *json),
        Command::Registry(c) => registry::registry(&globals, c),
        Command::Model(c) => models::run(&globals, c),
        Command::Workflow(args::WorkflowCommand::Analyze(a)) | Command::Analyze(a) => workflow::analyze(&globals, a),
    };
    match result {
        Ok(status) => status.into(),
        Err(report) => {
            errln!("{report:?}");
            ExitCode::from(1)
        }
    }
}

/// A typed value from a command-line argument, or a diagnostic that says why it is not one.
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

/// Diagnostics wrap to the terminal's width on a terminal; in logs and pipes, lines stay whole
/// so that CI output and `grep` see each message on one line.
fn install_error_renderer() {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(terminal).build())
    }));
}
