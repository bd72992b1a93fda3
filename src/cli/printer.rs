//! The one way `cli/` writes. Data goes to stdout, messages to stderr; a reader that goes away
//! (`comfydock log | head -1`) ends the program quietly with success, as `git log | head` does,
//! instead of a panic from `println!`.

use std::fmt::Arguments;
use std::io::Write;

/// Writes one piece of program output to stdout.
pub fn out(args: Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        closed(e);
    }
}

/// `-q`: messages and progress are not written; errors and data (stdout) still are.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Writes one message to stderr (not under `-q`); a closed stderr is ignored (there is nobody
/// to tell).
pub fn err(args: Arguments<'_>) {
    if !quiet() {
        error(args);
    }
}

/// Writes an error to stderr, `-q` or not.
pub fn error(args: Arguments<'_>) {
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
/// `eprintln!` through the printer.
macro_rules! errln {
    () => { $crate::cli::printer::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::printer::err(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `eprint!` through the printer.
macro_rules! err {
    ($($arg:tt)*) => { $crate::cli::printer::err(format_args!($($arg)*)) };
}
