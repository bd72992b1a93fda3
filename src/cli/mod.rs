//! The edge of the program: parses arguments, runs a command, renders errors. The only module
//! that prints or prompts.
//!
//! Exit codes, stated once: 0 success, 1 error (usage errors included, and a test that
//! failed), 2 "changes present" (only under `plan --detailed-exitcode`) or "ComfyUI could not
//! start" (only from `test`; the two commands never share it).

#[macro_use]
mod printer;
mod args;
mod cec;
mod comfyui;
mod config;
mod doctor;
mod edit;
mod env_models;
mod environments;
mod escape;
mod generations;
mod models;
mod nodes;
mod panel;
mod portability;
mod python;
mod reconcile;
mod registry;
mod run;
mod store;
mod supervise;
mod test;
mod ui;
mod workflow;
mod workflow_resolve;
mod workflow_track;
mod workflow_watch;

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
    /// `test`: ComfyUI could not start (its log's tail is shown).
    NotStarted,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes | ExitStatus::NotStarted => ExitCode::from(2),
        }
    }
}

/// Options every command sees.
pub struct Globals {
    pub workspace: Option<PathBuf>,
    pub env: Option<String>,
    pub offline: bool,
    /// Where messages go (`-q`); every command's output passes through it.
    pub printer: printer::Printer,
    /// Progress through the printer, for the sessions and operations this command runs.
    pub reporter: ui::StderrReporter,
}

impl Globals {
    pub fn workspace(&self) -> miette::Result<Workspace> {
        Ok(Workspace::open(&Workspace::locate(self.workspace.as_deref()))?)
    }

    /// A session that may change `env`: the writer lock, recovery, `--offline`, progress bars.
    pub fn writer<'a>(
        &'a self,
        ws: &'a Workspace,
        env: crate::workspace::EnvPaths,
        command: &str,
    ) -> miette::Result<crate::reconcile::Session<'a>> {
        Ok(crate::reconcile::Session::writer(ws, env, &self.reporter, command)?
            .offline(self.offline)
            .transfers(std::sync::Arc::new(self.reporter)))
    }

    /// A session that only reads `env` (plan, status, lists).
    pub fn reader<'a>(
        &'a self,
        ws: &'a Workspace,
        env: crate::workspace::EnvPaths,
    ) -> crate::reconcile::Session<'a, crate::reconcile::Reads> {
        crate::reconcile::Session::reader(ws, env, &self.reporter)
            .offline(self.offline)
            .transfers(std::sync::Arc::new(self.reporter))
    }

    /// The workspace and the environment this command acts on.
    pub fn env(&self) -> miette::Result<(Workspace, crate::workspace::EnvPaths)> {
        let ws = self.workspace()?;
        let env = ws.select_env(self.env.as_deref())?;
        Ok((ws, env))
    }
}

pub fn main() -> ExitCode {
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
    let printer = printer::Printer::new(cli.global.quiet);
    let color = color_choice(&cli.global.color);
    install_error_renderer(color);
    install_tracing(cli.global.verbose, color);
    let globals = Globals {
        workspace: cli.global.workspace,
        env: cli.global.env,
        offline: cli.global.offline,
        printer,
        reporter: ui::StderrReporter(printer),
    };
    let result = match &cli.command {
        Command::Init => environments::init(&globals),
        Command::Doctor => doctor::doctor(&globals),
        Command::Comfyui(args::ComfyuiCommand::Show { json }) => comfyui::show(&globals, *json),
        Command::Comfyui(args::ComfyuiCommand::Update { rev, no_apply }) => {
            comfyui::update(&globals, rev.as_deref(), *no_apply)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "comfydock", &mut script);
            printer::out_raw(format_args!("{}", String::from_utf8_lossy(&script)));
            Ok(ExitStatus::Success)
        }
        Command::Create(a) => environments::create(&globals, a),
        Command::List(a) => environments::list(&globals, a),
        Command::Use { name } => environments::use_env(&globals, name),
        Command::Delete { name, yes } => environments::delete(&globals, name, *yes),
        Command::Run { locked, args } => run::run(&globals, *locked, args),
        Command::Node(cmd) => nodes::node(&globals, cmd),
        Command::Panel(cmd) => panel::panel(&globals, cmd),
        Command::Py(cmd) => python::py(&globals, cmd),
        Command::Constraint(cmd) => python::constraint(&globals, cmd),
        Command::Lock { check } => reconcile::lock(&globals, *check),
        Command::Plan(a) => reconcile::plan(&globals, a),
        Command::Apply(a) => reconcile::apply(&globals, a),
        Command::Status { json } => reconcile::status(&globals, *json),
        Command::Verify { models, json } => reconcile::verify(&globals, *models, *json),
        Command::Serve { port, open } => serve(&globals, *port, *open),
        Command::Log { json } => generations::log(&globals, *json),
        Command::Rollback { generation, yes, test } => generations::rollback(&globals, *generation, *yes, *test),
        Command::Test(a) => test::test(&globals, a),
        Command::Recover => generations::recover(&globals),
        Command::Gc { keep, dry_run, json } => generations::gc(&globals, *keep, *dry_run, *json),
        Command::Registry(c) => registry::registry(&globals, c),
        Command::Store(c) => store::store(&globals, c),
        Command::Model(c) => models::run(&globals, c),
        Command::Workflow(args::WorkflowCommand::Analyze(a)) | Command::Analyze(a) => workflow::analyze(&globals, a),
        Command::Config(c) => config::config(&globals, c),
        Command::Commit { message } => cec::commit(&globals, message.as_deref()),
        Command::Remote(c) => cec::remote(&globals, c),
        Command::Push { remote } => cec::push(&globals, remote),
        Command::Pull { remote, apply, test } => cec::pull(&globals, remote, *apply, *test),
        Command::Export(a) => portability::export(&globals, a),
        Command::Import(a) => portability::import(&globals, a),
        Command::Workflow(w) => workflow_command(&globals, w),
    };
    match result {
        Ok(status) => status.into(),
        Err(report) => {
            printer::error_raw(format_args!("{report:?}\n"));
            ExitCode::from(1)
        }
    }
}

/// A typed value from a command-line argument, or a diagnostic that says why it is not one.
pub(crate) use crate::ops::typed;

/// Prints an operation's report as `--json` does: in its [`Envelope`](crate::ops::Envelope),
/// fields in the report's order after `format_version`.
pub(crate) fn print_report<T: serde::Serialize>(report: &T) {
    let doc = crate::ops::Envelope::new(report);
    outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
}

/// [`print_report`] with every object's keys in alphabetical order: the order of the commands
/// whose JSON was written as `serde_json::Value` before they had a typed report.
pub(crate) fn print_report_sorted<T: serde::Serialize>(report: &T) {
    let doc = serde_json::to_value(crate::ops::Envelope::new(report)).expect("serializable");
    outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
}

/// `--color`: Some(on) when the user decided (`always`, `never`, or NO_COLOR set), None for auto.
fn color_choice(flag: &str) -> Option<bool> {
    match flag {
        "always" => Some(true),
        "never" => Some(false),
        _ if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => Some(false),
        _ => None,
    }
}

/// Diagnostics wrap to the terminal's width on a terminal; in logs and pipes, lines stay whole
/// so that CI output and `grep` see each message on one line.
fn install_error_renderer(color: Option<bool>) {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        let mut opts = miette::MietteHandlerOpts::new().wrap_lines(terminal);
        if let Some(on) = color {
            opts = opts.color(on);
        }
        Box::new(escape::EscapingHandler(opts.build()))
    }));
}

/// `-v`: the git and uv commands and phase timings (`debug`), `-vv`: everything (`trace`), on
/// stderr; `RUST_LOG` narrows or widens it. Without `-v` nothing is logged.
fn install_tracing(verbose: u8, color: Option<bool>) {
    use std::io::IsTerminal;
    let level = match verbose {
        0 => return,
        1 => "comfydock=debug",
        _ => "comfydock=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color.unwrap_or_else(|| std::io::stderr().is_terminal()))
        .with_target(false)
        .without_time()
        .try_init();
}

fn workflow_command(g: &Globals, w: &args::WorkflowCommand) -> miette::Result<ExitStatus> {
    use args::WorkflowCommand as W;
    match w {
        W::Analyze(a) => workflow::analyze(g, a),
        W::Status { json } => workflow_track::status(g, *json),
        W::Track { names, all } => workflow_track::track(g, names, *all),
        W::Untrack { name } => workflow_track::untrack(g, name),
        W::Sync { name, watch: false } => workflow_track::sync(g, name.as_deref()),
        W::Sync { name, watch: true } => workflow_watch::watch(g, name.as_deref()),
        W::Import { file, name } => workflow_track::import(g, file, name.as_deref()),
        W::Export {
            name,
            output,
            with_deps,
        } => workflow_track::export(g, name, output.as_deref(), *with_deps),
        W::Diff { name } => workflow_track::diff(g, name),
        W::Resolve { name, file, auto, json } => {
            // The node index first: refreshed when older than `mappings_max_age_days`.
            registry::refresh_if_stale(g);
            let target = match (name, file) {
                (_, Some(file)) => workflow_resolve::Named::File(file),
                (Some(name), None) => workflow_resolve::Named::Tracked(name),
                (None, None) => return Err(miette::miette!("give a tracked workflow's name or --file FILE")),
            };
            workflow_resolve::resolve(g, target, *auto, *json)
        }
    }
}

/// `serve`: the URL goes to stdout (a script or test reads it from there), then the server runs
/// until interrupted.
fn serve(g: &Globals, port: Option<u16>, open: bool) -> miette::Result<ExitStatus> {
    let ws = g.workspace()?;
    let options = crate::web::ServeOptions { port };
    crate::web::serve(ws, options, |url| {
        outln!("{url}");
        errln!(
            g.printer,
            "Serving comfydock on {url} (Ctrl-C stops it; the token in the URL is the key: keep it to yourself)"
        );
        if open {
            let opened = std::process::Command::new("xdg-open")
                .arg(url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            if opened.is_err() {
                errln!(g.printer, "xdg-open is not available: open the URL yourself.");
            }
        }
    })
    .map_err(|e| miette::miette!(code = "comfydock::serve::failed", "comfydock serve: {e}"))?;
    Ok(ExitStatus::Success)
}
