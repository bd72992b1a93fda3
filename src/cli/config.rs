//! `config get|set|unset|list`: workspace settings through the table in
//! `workspace/settings.rs`, and tokens through `workspace/credentials.rs`. A token's value is
//! never printed: only whether it is set and where from.

use super::args::ConfigCommand;
use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::workspace::credentials::{self, TOKENS};
use crate::workspace::settings::{self, SETTINGS};
use miette::{Result, miette};

pub fn config(g: &Globals, cmd: &ConfigCommand) -> Result<ExitStatus> {
    match cmd {
        ConfigCommand::Get { key } => get(g, key),
        ConfigCommand::Set { key, value } => set(g, key, value.as_deref()),
        ConfigCommand::Unset { key } => unset(g, key),
        ConfigCommand::List { json } => list(g, *json),
    }
}

fn is_token(key: &str) -> bool {
    TOKENS.iter().any(|(name, _)| *name == key)
}

fn get(g: &Globals, key: &str) -> Result<ExitStatus> {
    if is_token(key) {
        return Ok(match credentials::status(key)? {
            Some(source) => {
                outln!("{}", source.describe());
                ExitStatus::Success
            }
            None => {
                errln!(g.printer, "{key} is not set.");
                ExitStatus::Failure
            }
        });
    }
    let setting = settings::find(key)?;
    let ws = g.workspace()?;
    match settings::get(ws.root(), setting)? {
        Some(value) => {
            outln!("{value}");
            if let Some(var) = setting
                .env
                .filter(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
            {
                errln!(g.printer, "note: {var} is set and overrides this value.");
            }
            Ok(ExitStatus::Success)
        }
        None => {
            errln!(g.printer, "{key} is not set.");
            Ok(ExitStatus::Failure)
        }
    }
}

fn set(g: &Globals, key: &str, value: Option<&str>) -> Result<ExitStatus> {
    if is_token(key) {
        let value = match value {
            Some(v) => v.to_string(),
            None => read_secret_line(g.printer, key)?,
        };
        if value.trim().is_empty() || value.chars().any(char::is_control) {
            return Err(miette!(
                code = "comfydock::config::invalid_value",
                help = "nothing was changed; give the token on one line",
                "the value for {key} is empty or has control characters"
            ));
        }
        credentials::store(key, value.trim())?;
        errln!(
            g.printer,
            "Stored {key} in {} (readable by you only).",
            credentials::path()?.display()
        );
        if std::env::var_os(key).is_some_and(|v| !v.is_empty()) {
            errln!(
                g.printer,
                "note: the environment variable {key} is set and wins over the file."
            );
        }
        return Ok(ExitStatus::Success);
    }
    let setting = settings::find(key)?;
    let Some(value) = value else {
        return Err(miette!(
            code = "comfydock::config::missing_value",
            help = format!("`comfydock config set {key} VALUE`; {}", setting.help),
            "no value given for {key}"
        ));
    };
    let ws = g.workspace()?;
    settings::set(ws.root(), setting, value)?;
    errln!(g.printer, "Set {key} = {value}.");
    Ok(ExitStatus::Success)
}

/// A token from stdin (so it stays out of shell history and the process list).
fn read_secret_line(p: Printer, key: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        errln!(p, "Paste the value of {key} and press Enter:");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        miette!(
            code = "comfydock::config::stdin",
            "could not read {key} from stdin: {e}"
        )
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn unset(g: &Globals, key: &str) -> Result<ExitStatus> {
    let removed = if is_token(key) {
        credentials::remove(key)?
    } else {
        let setting = settings::find(key)?;
        settings::unset(g.workspace()?.root(), setting)?
    };
    if removed {
        errln!(g.printer, "Removed {key}.");
    } else {
        errln!(g.printer, "{key} was not set; nothing changed.");
    }
    Ok(ExitStatus::Success)
}

fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    let mut rows = Vec::new();
    for setting in SETTINGS {
        let value = settings::get(ws.root(), setting)?;
        let overridden = setting
            .env
            .filter(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        rows.push((setting.key, value, overridden, setting.help));
    }
    let tokens: Vec<(&str, Option<&str>, &str)> = TOKENS
        .iter()
        .map(|(name, help)| Ok((*name, credentials::status(name)?.map(|s| s.describe()), *help)))
        .collect::<Result<_>>()?;
    if json {
        let settings: Vec<_> = rows
            .iter()
            .map(|(key, value, env, help)| {
                serde_json::json!({ "key": key, "value": value, "overridden_by": env, "help": help })
            })
            .collect();
        let tokens: Vec<_> = tokens
            .iter()
            .map(|(key, status, help)| serde_json::json!({ "key": key, "status": status.unwrap_or("not set"), "help": help }))
            .collect();
        super::print_report_sorted(&serde_json::json!({ "settings": settings, "tokens": tokens }));
        return Ok(ExitStatus::Success);
    }
    let width = rows
        .iter()
        .map(|r| r.0.len())
        .chain(tokens.iter().map(|t| t.0.len()))
        .max()
        .unwrap_or(0);
    for (key, value, env, _) in &rows {
        let shown = value.as_deref().unwrap_or("(not set)");
        let note = env.map(|v| format!("  [{v} overrides it]")).unwrap_or_default();
        outln!("{key:<width$}  {shown}{note}");
    }
    for (key, status, _) in &tokens {
        outln!("{key:<width$}  {}", status.unwrap_or("not set"));
    }
    Ok(ExitStatus::Success)
}
