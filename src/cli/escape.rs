//! Untrusted text on the terminal. Node types, model names, pack ids, commit messages pulled
//! from a remote, archive entry names and file names come from files other people wrote; a raw
//! ESC, BEL or CR in them could move the cursor, rewrite what was printed before (hide
//! "(not applied)"), set the window title or ring the bell. Everything such text shows goes
//! through [`untrusted`], which shows control characters as Rust escapes (`\u{1b}`) instead:
//! everything the printer writes ([`untrusted_text`], keeping line breaks and tabs), and every
//! diagnostic, whose messages, causes, help and labels [`EscapingHandler`] escapes before
//! miette renders (and colours) them.

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

/// [`untrusted`] for printed text, keeping its line breaks and tabs.
pub fn untrusted_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| l.split('\t').map(untrusted).collect::<Vec<_>>().join("\t"))
        .collect();
    Cow::Owned(lines.join("\n"))
}

/// The error renderer: miette's, given a copy of the diagnostic whose text is escaped.
pub struct EscapingHandler(pub miette::MietteHandler);

impl miette::ReportHandler for EscapingHandler {
    fn debug(&self, diagnostic: &dyn miette::Diagnostic, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.debug(&Escaped::new(diagnostic), f)
    }
}

/// A diagnostic with its message, causes, help, labels and related diagnostics escaped, and
/// its source text (a manifest someone else wrote, shown as a snippet) with every unsafe
/// character replaced by `?`s of the same width in bytes, so the spans into it still hold; its
/// code and URL are the original's.
struct Escaped<'a> {
    inner: &'a dyn miette::Diagnostic,
    message: String,
    cause: Option<Box<Cause>>,
    related: Vec<Escaped<'a>>,
    /// The source text made safe; None: it was safe already (or there is none).
    source: Option<miette::NamedSource<String>>,
}

/// `text` with every unsafe character but line breaks and tabs replaced by as many `?` as it
/// has bytes; None when there is none.
fn same_width_safe(text: &str) -> Option<String> {
    let unsafe_here = |c: char| is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t');
    if !text.chars().any(unsafe_here) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if unsafe_here(c) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The whole of `code`, made safe (see [`Escaped`]); None when it is safe as it is.
fn safe_source(code: &dyn miette::SourceCode) -> Option<miette::NamedSource<String>> {
    // A span at the start with unbounded context after it: the whole text.
    let all = code.read_span(&(0, 0).into(), 0, usize::MAX).ok()?;
    let safe = same_width_safe(std::str::from_utf8(all.data()).ok()?)?;
    let name = all.name().unwrap_or_default().to_string();
    Some(miette::NamedSource::new(name, safe))
}

#[derive(Debug)]
struct Cause {
    message: String,
    next: Option<Box<Cause>>,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl<'a> Escaped<'a> {
    fn new(inner: &'a dyn miette::Diagnostic) -> Self {
        let mut causes = Vec::new();
        let mut next = inner.source();
        while let Some(e) = next {
            causes.push(untrusted_text(&e.to_string()).into_owned());
            next = e.source();
        }
        let cause = causes
            .into_iter()
            .rev()
            .fold(None, |next, message| Some(Box::new(Cause { message, next })));
        Escaped {
            inner,
            message: untrusted_text(&inner.to_string()).into_owned(),
            cause,
            related: inner
                .related()
                .map(|r| r.map(Escaped::new).collect())
                .unwrap_or_default(),
            source: inner.source_code().and_then(safe_source),
        }
    }
}

impl std::fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Escaped<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl miette::Diagnostic for Escaped<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        let help = self.inner.help()?.to_string();
        Some(Box::new(untrusted_text(&help).into_owned()))
    }

    fn url<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.url()
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match &self.source {
            Some(safe) => Some(safe),
            None => self.inner.source_code(),
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let labels = self.inner.labels()?;
        Some(Box::new(labels.map(|l| {
            let text = l.label().map(|t| untrusted(t).into_owned());
            miette::LabeledSpan::new_with_span(text, *l.inner())
        })))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|d| d as &dyn miette::Diagnostic)))
    }
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
        assert_eq!(untrusted_text("one\n\ttwo\u{1b}"), "one\n\ttwo\\u{1b}");
        assert_eq!(untrusted("päck ✓"), "päck ✓");
    }

    #[test]
    fn a_snippet_keeps_its_width_and_loses_its_controls() {
        assert_eq!(same_width_safe("a = 1\r\n\tb"), None);
        assert_eq!(
            same_width_safe("# \u{1b}]0;x\u{7}\n\u{9b}\u{202e}").as_deref(),
            Some("# ?]0;x?\n?????")
        );
    }
}
