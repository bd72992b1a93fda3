//! A small Python tokenizer: just enough to find statements and expressions in node pack sources.
//! It never fails: text it does not understand becomes `Op` tokens the parser skips.

/// One token. Strings are decoded (escapes resolved unless raw); f-strings keep their raw text so the
/// evaluator can substitute simple `{name}` fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Name(String),
    Str(String),
    FStr(String),
    /// Bytes literals and numbers: values the scanner never needs.
    Opaque,
    Op(&'static str),
    /// An operator character the table does not know (`$`, `?`, a stray `!`).
    Stray,
    Newline,
    Indent,
    Dedent,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: u32,
}

/// Longest operators first, so `**=` wins over `**` and `*`.
const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "->", "+=", "-=", "*=", "/=", "|=", "&=",
    "^=", "%=", "@=", ":=", "<<", ">>", "+", "-", "*", "/", "%", "@", "<", ">", "=", "|", "&", "^", "~", "(", ")", "[",
    "]", "{", "}", ",", ":", ".", ";",
];

/// Tokenizes `src`. Newlines inside brackets and after `\` do not end a statement; indentation becomes
/// `Indent`/`Dedent` pairs (always balanced at the end).
pub fn tokenize(src: &str) -> Vec<Token> {
    // A UTF-8 byte order mark is allowed at the start of a Python file.
    let chars: Vec<char> = src.strip_prefix('\u{feff}').unwrap_or(src).chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut indents: Vec<usize> = vec![0];
    let mut depth: usize = 0;
    let mut line: u32 = 1;
    let mut i = 0;
    let mut at_line_start = true;
    while i < chars.len() {
        if at_line_start && depth == 0 {
            // Measure indentation; blank and comment-only lines do not count.
            let mut col = 0;
            let mut j = i;
            while let Some(&c) = chars.get(j) {
                match c {
                    ' ' => col += 1,
                    '\t' => col = (col / 8 + 1) * 8,
                    '\x0c' => col = 0,
                    _ => break,
                }
                j += 1;
            }
            let next = chars.get(j).copied();
            i = j;
            if matches!(next, None | Some('\n') | Some('\r') | Some('#')) {
                at_line_start = matches!(next, Some('\n') | Some('\r'));
                if at_line_start {
                    i += newline_len(&chars, i);
                    line += 1;
                }
                continue;
            }
            if next == Some('\\') {
                // A continuation at the start of a line: keep reading without an indentation change.
            } else if col > indents.last().copied().unwrap_or(0) {
                indents.push(col);
                out.push(Token { tok: Tok::Indent, line });
            } else {
                while indents.len() > 1 && col < indents.last().copied().unwrap_or(0) {
                    indents.pop();
                    out.push(Token { tok: Tok::Dedent, line });
                }
            }
            at_line_start = false;
        }
        let Some(&c) = chars.get(i) else { break };
        match c {
            '\n' | '\r' => {
                i += newline_len(&chars, i);
                if depth == 0 && !matches!(out.last().map(|t| &t.tok), None | Some(Tok::Newline)) {
                    out.push(Token {
                        tok: Tok::Newline,
                        line,
                    });
                }
                line += 1;
                // Inside brackets a new line is a continuation: its indentation means nothing.
                at_line_start = depth == 0;
            }
            ' ' | '\t' | '\x0c' => i += 1,
            '#' => {
                while chars.get(i).is_some_and(|c| *c != '\n' && *c != '\r') {
                    i += 1;
                }
            }
            '\\' => {
                // Line continuation: skip the backslash and the newline that follows it.
                i += 1;
                if matches!(chars.get(i), Some('\n') | Some('\r')) {
                    i += newline_len(&chars, i);
                    line += 1;
                }
            }
            _ if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                    i += 1;
                }
                let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
                if let Some(q) = chars.get(i).copied().filter(|q| *q == '"' || *q == '\'')
                    && is_string_prefix(&word)
                {
                    let (tok, end, lines) = string(&chars, i, q, &word);
                    out.push(Token { tok, line });
                    line += lines;
                    i = end;
                } else {
                    out.push(Token {
                        tok: Tok::Name(word),
                        line,
                    });
                }
            }
            '"' | '\'' => {
                let (tok, end, lines) = string(&chars, i, c, "");
                out.push(Token { tok, line });
                line += lines;
                i = end;
            }
            _ if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let hex = c == '0' && matches!(chars.get(i + 1), Some('x') | Some('X'));
                while let Some(&d) = chars.get(i) {
                    // `1e-5`: the sign belongs to the exponent (not in hex, where `e` is a digit).
                    let exp_sign = !hex
                        && (d == '+' || d == '-')
                        && matches!(i.checked_sub(1).and_then(|k| chars.get(k)), Some('e' | 'E'));
                    if d.is_alphanumeric() || d == '_' || d == '.' || exp_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push(Token { tok: Tok::Opaque, line });
            }
            _ => {
                let op = OPS
                    .iter()
                    .find(|op| op.chars().enumerate().all(|(k, oc)| chars.get(i + k) == Some(&oc)));
                match op {
                    Some(op) => {
                        match *op {
                            "(" | "[" | "{" => depth += 1,
                            ")" | "]" | "}" => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                        i += op.len();
                        out.push(Token { tok: Tok::Op(op), line });
                    }
                    None => {
                        i += 1;
                        out.push(Token { tok: Tok::Stray, line });
                    }
                }
            }
        }
    }
    if !matches!(
        out.last().map(|t| &t.tok),
        None | Some(Tok::Newline) | Some(Tok::Dedent)
    ) {
        out.push(Token {
            tok: Tok::Newline,
            line,
        });
    }
    for _ in 1..indents.len() {
        out.push(Token { tok: Tok::Dedent, line });
    }
    out
}

fn newline_len(chars: &[char], i: usize) -> usize {
    if chars.get(i) == Some(&'\r') && chars.get(i + 1) == Some(&'\n') {
        2
    } else {
        1
    }
}

/// Python's string prefixes: any mix of r, b, f, u, t (at most one of each kind, case-insensitive).
fn is_string_prefix(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "r" | "b" | "f" | "u" | "t" | "rb" | "br" | "fr" | "rf" | "tr" | "rt"
    )
}

/// Reads a string starting at the quote `chars[at]`. Returns the token, the index after it and the number
/// of newlines it spans. An unterminated string ends at the end of its line (or of the text, if triple).
fn string(chars: &[char], at: usize, q: char, prefix: &str) -> (Tok, usize, u32) {
    let lower = prefix.to_ascii_lowercase();
    let raw = lower.contains('r');
    let triple = chars.get(at + 1) == Some(&q) && chars.get(at + 2) == Some(&q);
    let mut i = at + if triple { 3 } else { 1 };
    let mut text = String::new();
    let mut lines = 0;
    while let Some(&c) = chars.get(i) {
        if c == q && (!triple || (chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q))) {
            i += if triple { 3 } else { 1 };
            break;
        }
        if c == '\n' {
            if !triple {
                break;
            }
            lines += 1;
        }
        if c == '\\' {
            let next = chars.get(i + 1).copied();
            if next == Some('\n') {
                lines += 1;
            }
            if raw {
                text.push('\\');
                if let Some(n) = next {
                    text.push(n);
                }
            } else if let Some(n) = next {
                match n {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    '0' => text.push('\0'),
                    '\\' | '\'' | '"' => text.push(n),
                    '\n' => {}
                    _ => {
                        text.push('\\');
                        text.push(n);
                    }
                }
            }
            i += 2;
            continue;
        }
        text.push(c);
        i += 1;
    }
    let tok = if lower.contains('b') {
        Tok::Opaque
    } else if lower.contains('f') || lower.contains('t') {
        Tok::FStr(text)
    } else {
        Tok::Str(text)
    };
    (tok, i, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_of_every_kind() {
        let t = toks("a = r'x\\'y' + b\"z\" + f'{n}' + '''l1\nl2''' + \"q\\\"\"\n");
        assert_eq!(
            t,
            vec![
                Tok::Name("a".into()),
                Tok::Op("="),
                Tok::Str("x\\'y".into()),
                Tok::Op("+"),
                Tok::Opaque,
                Tok::Op("+"),
                Tok::FStr("{n}".into()),
                Tok::Op("+"),
                Tok::Str("l1\nl2".into()),
                Tok::Op("+"),
                Tok::Str("q\"".into()),
                Tok::Newline,
            ]
        );
    }

    #[test]
    fn brackets_continuations_and_indentation() {
        let t = toks("if x:\n    d = {\n  'a': 1,  # c\n}\n    y = 1 + \\\n 2\nz\n");
        let n = |s: &str| Tok::Name(s.into());
        assert_eq!(
            t,
            vec![
                n("if"),
                n("x"),
                Tok::Op(":"),
                Tok::Newline,
                Tok::Indent,
                n("d"),
                Tok::Op("="),
                Tok::Op("{"),
                Tok::Str("a".into()),
                Tok::Op(":"),
                Tok::Opaque,
                Tok::Op(","),
                Tok::Op("}"),
                Tok::Newline,
                n("y"),
                Tok::Op("="),
                Tok::Opaque,
                Tok::Op("+"),
                Tok::Opaque,
                Tok::Newline,
                Tok::Dedent,
                n("z"),
                Tok::Newline,
            ]
        );
    }

    #[test]
    fn hostile_text_does_not_panic() {
        for src in [
            "'''",
            "\"abc\\",
            ")))]]]",
            "\t\t x\n y\n\tz",
            "1e-5 0x1e-5 ü = 'é'",
            "\\",
            "f'",
            "\r\n\r",
        ] {
            let _ = tokenize(src);
        }
    }
}
