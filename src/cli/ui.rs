//! What a person sees: progress on stderr, prompts, and the refusal to prompt without a terminal.

use crate::progress::Reporter;
use std::io::{BufRead, IsTerminal, Write};

/// Progress lines on stderr, so stdout stays data.
pub struct StderrReporter;

impl Reporter for StderrReporter {
    fn step(&self, message: &str) {
        eprintln!("{message}");
    }
    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{action} needs confirmation, and there is no terminal to ask on")]
#[diagnostic(code(comfydock::cli::no_terminal), help("pass --yes to confirm"))]
pub struct NoTerminal {
    pub action: String,
}

/// Asks a yes/no question on the terminal. `--yes` answers for the user; without a terminal the
/// answer is an error rather than a hang.
pub fn confirm(question: &str, yes: bool, action: &str) -> Result<bool, NoTerminal> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(NoTerminal {
            action: action.to_string(),
        });
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
