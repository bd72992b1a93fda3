//! The one way `cli/` writes. Data goes to stdout, messages to stderr; a reader that goes away
//! (`comfydock log | head -1`) ends the program quietly with success, as `git log | head` does,
//! instead of a panic from `println!`. Everything written here goes through
//! [`super::escape::untrusted_text`]: text from other people's files (node types, model names,
//! commit messages) never reaches the terminal with its control characters raw. Bytes that are
//! data for another program (`workflow export` to stdout, completion scripts) use [`out_raw`].

use std::fmt::Arguments;
use std::io::Write;

/// Writes one piece of program output to stdout, control characters escaped.
pub fn out(args: Arguments<'_>) {
    out_raw(format_args!("{}", super::escape::untrusted_text(&args.to_string())));
}

/// Writes data to stdout as it is: bytes another program reads (an exported workflow, a
/// completion script), never text for the terminal.
pub fn out_raw(args: Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        closed(e);
    }
}

/// How messages reach the user, decided once from the command line and passed down (as uv's
/// `Printer` is): `-q` silences messages and progress; errors and data (stdout) still go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    quiet: bool,
}

impl Printer {
    pub fn new(quiet: bool) -> Printer {
        Printer { quiet }
    }

    /// `-q`: messages and progress are not written.
    pub fn quiet(self) -> bool {
        self.quiet
    }

    /// Writes one message to stderr (not under `-q`); a closed stderr is ignored (there is
    /// nobody to tell).
    pub fn err(self, args: Arguments<'_>) {
        if !self.quiet {
            error(args);
        }
    }
}

/// Writes an error to stderr, `-q` or not, control characters escaped.
pub fn error(args: Arguments<'_>) {
    error_raw(format_args!("{}", super::escape::untrusted_text(&args.to_string())));
}

/// Writes a rendered diagnostic to stderr as it is: its colours are the renderer's, and the
/// untrusted text in it was escaped by [`super::escape::EscapingHandler`] before rendering.
pub fn error_raw(args: Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

fn closed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    // Any other failure to write our output (a full disk under a redirect) is an error.
    let _ = writeln!(std::io::stderr(), "error: could not write output: {e}");
    std::process::exit(1);
}

/// `println!` through the printer.
macro_rules! outln {
    () => { $crate::cli::printer::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::printer::out(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `print!` through the printer.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::printer::out(format_args!($($arg)*)) };
}
/// `eprintln!` through a [`Printer`](crate::cli::printer::Printer): `errln!(printer, ...)`.
macro_rules! errln {
    ($p:expr) => { $p.err(format_args!("\n")) };
    ($p:expr, $($arg:tt)*) => { $p.err(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `eprint!` through a [`Printer`](crate::cli::printer::Printer).
macro_rules! err {
    ($p:expr, $($arg:tt)*) => { $p.err(format_args!($($arg)*)) };
}
