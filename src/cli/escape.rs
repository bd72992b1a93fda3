//! Untrusted text on the terminal. Node types, model names, pack ids, commit messages pulled
//! from a remote, archive entry names and file names come from files other people wrote; a raw
//! ESC, BEL or CR in them could move the cursor, rewrite what was printed before (hide
//! "(not applied)"), set the window title or ring the bell. Everything such text shows goes
//! through [`untrusted`], which shows control characters as Rust escapes (`\u{1b}`) instead.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw: C0 and C1 controls, DEL, and the Unicode
/// bidirectional overrides and isolates (which reorder what is shown, "Trojan Source").
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// `text` with every control character shown as `\u{XX}` (a backslash itself is doubled only
/// when something was escaped, so clean text is returned unchanged and unallocated).
pub fn untrusted(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`untrusted`] for each line of `text`, keeping its line breaks (commit messages, notes).
pub fn untrusted_lines(text: &str) -> String {
    text.split('\n').map(untrusted).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert!(matches!(untrusted("KSampler (Advanced)"), Cow::Borrowed(_)));
        assert_eq!(untrusted("a\u{1b}[2Kb\u{7}c\rd"), "a\\u{1b}[2Kb\\u{7}c\\u{d}d");
        assert_eq!(untrusted("x\u{9b}31my\\"), "x\\u{9b}31my\\\\");
        assert_eq!(untrusted("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(untrusted_lines("one\ntwo\u{1b}"), "one\ntwo\\u{1b}");
        assert_eq!(untrusted("päck ✓"), "päck ✓");
    }
}
