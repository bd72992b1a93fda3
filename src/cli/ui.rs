//! What a person sees: progress on stderr, prompts, and the refusal to prompt without a terminal.

use super::printer::Printer;
use crate::progress::Reporter;
use std::io::{BufRead, IsTerminal, Write};

/// Progress lines on stderr, so stdout stays data; on a terminal, one bar per download. Under
/// `-q` (its printer's) neither.
#[derive(Debug, Clone, Copy)]
pub struct StderrReporter(pub Printer);

struct Bars {
    multi: indicatif::MultiProgress,
    open: std::collections::HashMap<String, indicatif::ProgressBar>,
}

/// The download bars of this process, when stderr is a terminal (never in logs or CI). One set
/// for the process: every reporter of a command draws into it, so bars are not torn.
fn bars(p: Printer) -> Option<&'static std::sync::Mutex<Bars>> {
    static BARS: std::sync::OnceLock<Option<std::sync::Mutex<Bars>>> = std::sync::OnceLock::new();
    BARS.get_or_init(|| {
        (std::io::stderr().is_terminal() && !p.quiet()).then(|| {
            std::sync::Mutex::new(Bars {
                multi: indicatif::MultiProgress::new(),
                open: Default::default(),
            })
        })
    })
    .as_ref()
}

fn line(p: Printer, text: &str) {
    match bars(p).and_then(|b| b.lock().ok()) {
        // Above the bars, so they are not torn.
        Some(b) if !b.open.is_empty() => {
            let _ = b.multi.println(super::escape::untrusted_text(text));
        }
        _ => errln!(p, "{text}"),
    }
}

impl Reporter for StderrReporter {
    fn step(&self, message: &str) {
        line(self.0, message);
    }
    fn warn(&self, message: &str) {
        line(self.0, &format!("warning: {message}"));
    }
    fn note(&self, message: &str) {
        line(self.0, &format!("note: {message}"));
    }
    fn terminal(&self) -> bool {
        std::io::stderr().is_terminal() && !self.0.quiet()
    }
    fn transfer(&self, label: &str, done: u64, total: Option<u64>) {
        show_bar(self.0, BYTES, label, done, total);
    }
    fn transfer_end(&self, label: &str) {
        end_bar(self.0, label);
    }
    fn count(&self, label: &str, done: u64, total: u64) {
        show_bar(self.0, ITEMS, label, done, Some(total));
    }
    fn count_end(&self, label: &str) {
        end_bar(self.0, label);
    }
}

const BYTES: &str = "{msg:30!} {bytes:>10}/{total_bytes:<10} [{bar:30}] {bytes_per_sec:>12} {eta:>4}";
const ITEMS: &str = "{msg:30!} {pos:>10}/{len:<10} [{bar:30}] {per_sec:>12} {eta:>4}";

/// Creates (first call) or moves the bar named `label`; nothing without a terminal.
fn show_bar(p: Printer, template: &str, label: &str, done: u64, total: Option<u64>) {
    let Some(mut guard) = bars(p).and_then(|b| b.lock().ok()) else {
        return;
    };
    let Bars { multi, open } = &mut *guard;
    let bar = open.entry(label.to_string()).or_insert_with(|| {
        let bar = multi.add(indicatif::ProgressBar::new(total.unwrap_or(0)));
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(super::escape::untrusted(label).into_owned());
        bar
    });
    if let Some(t) = total {
        bar.set_length(t);
    }
    bar.set_position(done);
}

fn end_bar(p: Printer, label: &str) {
    if let Some(mut guard) = bars(p).and_then(|b| b.lock().ok())
        && let Some(bar) = guard.open.remove(label)
    {
        bar.finish_and_clear();
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
pub fn confirm(p: Printer, question: &str, yes: bool, action: &str) -> Result<bool, NoTerminal> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(NoTerminal {
            action: action.to_string(),
        });
    }
    err!(p, "{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
