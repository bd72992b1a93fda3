//! Strings built at import time: f-strings with simple fields and `str.format`.

use super::super::ast::{Expr, Stmt, StmtKind};
use super::super::{lexer, parser};
use super::{Cx, Interp, Value};

impl Interp<'_> {
    /// `f"...{name}..."`: fields that are simple expressions evaluating to strings.
    pub(super) fn fstring(&mut self, cx: &mut Cx, text: &str) -> Value {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let mut field = String::new();
                    let mut depth = 0usize;
                    for c in chars.by_ref() {
                        match c {
                            '{' | '[' | '(' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' | ']' | ')' => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                        field.push(c);
                    }
                    // Conversions and format specs may change the text: not followed.
                    if field.contains('!') || field.contains(':') || field.trim_end().ends_with('=') {
                        return Value::Unknown;
                    }
                    let Some(expr) = parse_expr(&field) else {
                        return Value::Unknown;
                    };
                    match self.eval(cx, &expr) {
                        Value::Str(s) => out.push_str(&s),
                        _ => return Value::Unknown,
                    }
                }
                _ => out.push(c),
            }
        }
        Value::Str(out)
    }
}

/// One expression from text (an f-string field).
fn parse_expr(text: &str) -> Option<Expr> {
    let block = parser::parse(&lexer::tokenize(text));
    match block.as_slice() {
        [
            Stmt {
                kind: StmtKind::Expr(e),
                ..
            },
        ] => Some(e.clone()),
        _ => None,
    }
}

/// `"{} ({})".format(a, b)`: positional, numbered and keyword fields without conversions or specs.
pub(super) fn format_str(template: &str, args: &[(Option<String>, Value)]) -> Value {
    let positional: Vec<&Value> = args.iter().filter(|(k, _)| k.is_none()).map(|(_, v)| v).collect();
    let mut out = String::new();
    let mut next = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let field: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let value = if field.is_empty() {
                    next += 1;
                    positional.get(next - 1).copied()
                } else if let Ok(i) = field.parse::<usize>() {
                    positional.get(i).copied()
                } else {
                    args.iter()
                        .find(|(k, _)| k.as_deref() == Some(field.as_str()))
                        .map(|(_, v)| v)
                };
                match value {
                    Some(Value::Str(s)) => out.push_str(s),
                    _ => return Value::Unknown,
                }
            }
            _ => out.push(c),
        }
    }
    Value::Str(out)
}
