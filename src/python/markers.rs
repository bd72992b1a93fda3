//! PEP 508 environment markers, evaluated for this machine: enough to say which of a package's
//! versions in a forked `uv.lock` (one per `resolution-markers` set) this platform installs.
//! Unknown variables or syntax make a marker "unknown" (None), never an error.

/// The values markers are compared against.
pub struct MarkerEnv {
    pub python_version: String,
    pub python_full_version: String,
    pub sys_platform: &'static str,
    pub platform_system: &'static str,
    pub platform_machine: &'static str,
    pub os_name: &'static str,
}

impl MarkerEnv {
    /// This machine, with the environment's Python `X.Y` (the full version taken as `X.Y.0`).
    pub fn current(python: &str) -> MarkerEnv {
        let (sys_platform, platform_system, os_name) = match std::env::consts::OS {
            "linux" => ("linux", "Linux", "posix"),
            "macos" => ("darwin", "Darwin", "posix"),
            "windows" => ("win32", "Windows", "nt"),
            other => (other, other, "posix"),
        };
        let platform_machine = match std::env::consts::ARCH {
            "x86_64" => "x86_64",
            "aarch64" if sys_platform == "darwin" => "arm64",
            "aarch64" => "aarch64",
            other => other,
        };
        let python_full_version = if python.split('.').count() >= 3 {
            python.to_string()
        } else {
            format!("{python}.0")
        };
        MarkerEnv {
            python_version: python.split('.').take(2).collect::<Vec<_>>().join("."),
            python_full_version,
            sys_platform,
            platform_system,
            platform_machine,
            os_name,
        }
    }

    fn value(&self, name: &str) -> Option<&str> {
        Some(match name {
            "python_version" => &self.python_version,
            "python_full_version" => &self.python_full_version,
            "sys_platform" => self.sys_platform,
            "platform_system" => self.platform_system,
            "platform_machine" => self.platform_machine,
            "os_name" => self.os_name,
            "implementation_name" => "cpython",
            "platform_python_implementation" => "CPython",
            _ => return None,
        })
    }
}

/// Whether `marker` holds on `env`; None when it cannot be evaluated.
pub fn evaluate(marker: &str, env: &MarkerEnv) -> Option<bool> {
    let tokens = tokenize(marker)?;
    let mut pos = 0;
    let value = or_expr(&tokens, &mut pos, env)?;
    (pos == tokens.len()).then_some(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Op(String),
    Literal(String),
    Name(String),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&x| x == c)? + i + 1;
                out.push(Token::Literal(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '<' | '>' | '=' | '!' | '~' => {
                let start = i;
                while i < chars.len() && "<>=!~".contains(chars[i]) {
                    i += 1;
                }
                out.push(Token::Op(chars[start..i].iter().collect()));
            }
            _ if c.is_ascii_alphanumeric() || c == '_' || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "in" | "not" => Token::Op(word),
                    _ => Token::Name(word),
                });
            }
            _ => return None,
        }
    }
    Some(out)
}

fn or_expr(t: &[Token], pos: &mut usize, env: &MarkerEnv) -> Option<bool> {
    let mut value = and_expr(t, pos, env)?;
    while t.get(*pos) == Some(&Token::Or) {
        *pos += 1;
        let rhs = and_expr(t, pos, env)?;
        value = value || rhs;
    }
    Some(value)
}

fn and_expr(t: &[Token], pos: &mut usize, env: &MarkerEnv) -> Option<bool> {
    let mut value = atom(t, pos, env)?;
    while t.get(*pos) == Some(&Token::And) {
        *pos += 1;
        let rhs = atom(t, pos, env)?;
        value = value && rhs;
    }
    Some(value)
}

fn atom(t: &[Token], pos: &mut usize, env: &MarkerEnv) -> Option<bool> {
    if t.get(*pos) == Some(&Token::Open) {
        *pos += 1;
        let value = or_expr(t, pos, env)?;
        if t.get(*pos) != Some(&Token::Close) {
            return None;
        }
        *pos += 1;
        return Some(value);
    }
    let lhs = operand(t.get(*pos)?, env)?;
    *pos += 1;
    let mut op = match t.get(*pos)? {
        Token::Op(op) => op.clone(),
        _ => return None,
    };
    *pos += 1;
    if op == "not" {
        if t.get(*pos) != Some(&Token::Op("in".into())) {
            return None;
        }
        *pos += 1;
        op = "not in".into();
    }
    let rhs = operand(t.get(*pos)?, env)?;
    *pos += 1;
    compare(&lhs, &op, &rhs)
}

fn operand(token: &Token, env: &MarkerEnv) -> Option<String> {
    match token {
        Token::Literal(s) => Some(s.clone()),
        Token::Name(n) => env.value(n).map(str::to_string),
        _ => None,
    }
}

fn compare(lhs: &str, op: &str, rhs: &str) -> Option<bool> {
    if op == "in" {
        return Some(rhs.contains(lhs));
    }
    if op == "not in" {
        return Some(!rhs.contains(lhs));
    }
    // Versions compare as versions when both sides read as one; strings otherwise.
    let spec = format!("{op}{rhs}");
    match (
        super::specifiers::Allowed::parse(&spec),
        super::specifiers::Allowed::parse(&format!("=={lhs}")),
    ) {
        (Some(range), Some(point)) if lhs.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            Some(range.overlaps(&point))
        }
        _ => match op {
            "==" | "===" => Some(lhs == rhs),
            "!=" => Some(lhs != rhs),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(py: &str) -> MarkerEnv {
        MarkerEnv {
            sys_platform: "linux",
            platform_system: "Linux",
            platform_machine: "x86_64",
            os_name: "posix",
            ..MarkerEnv::current(py)
        }
    }

    #[test]
    fn markers_evaluate_for_a_platform() {
        let env = linux("3.12");
        assert_eq!(evaluate("sys_platform == 'win32'", &env), Some(false));
        assert_eq!(evaluate("sys_platform != 'win32'", &env), Some(true));
        assert_eq!(evaluate("python_full_version < '3.10'", &env), Some(false));
        assert_eq!(evaluate("python_full_version >= '3.10'", &env), Some(true));
        assert_eq!(
            evaluate(
                "(python_version >= '3.11' and sys_platform == 'linux') or os_name == 'nt'",
                &env
            ),
            Some(true)
        );
        assert_eq!(evaluate("platform_machine in 'x86_64 AMD64'", &env), Some(true));
        assert_eq!(evaluate("extra == 'cpu'", &env), None);
        assert_eq!(evaluate("sys_platform == ", &env), None);
    }
}
