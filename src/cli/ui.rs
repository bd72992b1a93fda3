//! What a person sees: progress on stderr, prompts, and the refusal to prompt without a terminal.

use crate::progress::Reporter;
use std::io::{BufRead, IsTerminal, Write};

/// Progress lines on stderr, so stdout stays data; on a terminal, one bar per download.
pub struct StderrReporter;

struct Bars {
    multi: indicatif::MultiProgress,
    open: std::collections::HashMap<String, indicatif::ProgressBar>,
}

/// The download bars of this process, when stderr is a terminal (never in logs or CI).
fn bars() -> Option<&'static std::sync::Mutex<Bars>> {
    static BARS: std::sync::OnceLock<Option<std::sync::Mutex<Bars>>> = std::sync::OnceLock::new();
    BARS.get_or_init(|| {
        (std::io::stderr().is_terminal() && !super::printer::quiet()).then(|| {
            std::sync::Mutex::new(Bars {
                multi: indicatif::MultiProgress::new(),
                open: Default::default(),
            })
        })
    })
    .as_ref()
}

fn line(text: &str) {
    match bars().and_then(|b| b.lock().ok()) {
        // Above the bars, so they are not torn.
        Some(b) if !b.open.is_empty() => {
            let _ = b.multi.println(super::escape::untrusted_text(text));
        }
        _ => errln!("{text}"),
    }
}

impl Reporter for StderrReporter {
    fn step(&self, message: &str) {
        line(message);
    }
    fn warn(&self, message: &str) {
        line(&format!("warning: {message}"));
    }
    fn note(&self, message: &str) {
        line(&format!("note: {message}"));
    }
    fn terminal(&self) -> bool {
        std::io::stderr().is_terminal() && !super::printer::quiet()
    }
    fn transfer(&self, label: &str, done: u64, total: Option<u64>) {
        show_bar(BYTES, label, done, total);
    }
    fn transfer_end(&self, label: &str) {
        end_bar(label);
    }
    fn count(&self, label: &str, done: u64, total: u64) {
        show_bar(ITEMS, label, done, Some(total));
    }
    fn count_end(&self, label: &str) {
        end_bar(label);
    }
}

const BYTES: &str = "{msg:30!} {bytes:>10}/{total_bytes:<10} [{bar:30}] {bytes_per_sec:>12} {eta:>4}";
const ITEMS: &str = "{msg:30!} {pos:>10}/{len:<10} [{bar:30}] {per_sec:>12} {eta:>4}";

/// Creates (first call) or moves the bar named `label`; nothing without a terminal.
fn show_bar(template: &str, label: &str, done: u64, total: Option<u64>) {
    let Some(mut guard) = bars().and_then(|b| b.lock().ok()) else {
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

fn end_bar(label: &str) {
    if let Some(mut guard) = bars().and_then(|b| b.lock().ok())
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
pub fn confirm(question: &str, yes: bool, action: &str) -> Result<bool, NoTerminal> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(NoTerminal {
            action: action.to_string(),
        });
    }
    err!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
