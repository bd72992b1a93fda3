//! Loading the pack's modules: files through a `Source`, relative imports (`from .x import y`,
//! `from . import x`, `*`, `importlib.import_module(".x")`) resolved inside the pack folder only.

use std::collections::HashMap;

use super::super::ast::Arg;
use super::super::{MAX_FILES, MAX_IMPORT_DEPTH, lexer, parser};
use super::{Cx, Interp, MAX_EVAL_NEST, Module, Value};

/// Where the evaluator gets file text: relative path (`nodes/a.py`) to text.
pub trait Source {
    fn read(&mut self, rel: &str) -> Read;
}

pub enum Read {
    Text(String),
    Missing,
    /// Present but not read (too big, a symlink, unreadable): the note says why.
    Skipped(String),
}

impl Interp<'_> {
    /// Loads (once) the module at package path `parts`: `a/b/__init__.py` first, as Python does, then
    /// `a/b.py`. `None` when neither exists or a bound is reached.
    pub fn load(&mut self, parts: &[String]) -> Option<usize> {
        let dir = parts.join("/");
        let candidates = if parts.is_empty() {
            vec!["__init__.py".to_string()]
        } else {
            vec![format!("{dir}/__init__.py"), format!("{dir}.py")]
        };
        for (k, file) in candidates.into_iter().enumerate() {
            if let Some(&i) = self.by_file.get(&file) {
                return Some(i);
            }
            if self.modules.len() >= MAX_FILES {
                self.note(format!("stopped following imports at {MAX_FILES} files"));
                return None;
            }
            let text = match self.source.read(&file) {
                Read::Text(t) => t,
                Read::Missing => continue,
                Read::Skipped(why) => {
                    self.note(why);
                    return None;
                }
            };
            if self.imports >= MAX_IMPORT_DEPTH || self.nest >= MAX_EVAL_NEST {
                self.note(format!(
                    "{file}: not followed, imports nested deeper than {MAX_IMPORT_DEPTH}"
                ));
                return None;
            }
            let package = if k == 0 {
                parts.to_vec()
            } else {
                parts.get(..parts.len() - 1).unwrap_or_default().to_vec()
            };
            let index = self.modules.len();
            self.modules.push(Module {
                file: file.clone(),
                package,
                env: HashMap::new(),
                origins: HashMap::new(),
            });
            self.by_file.insert(file, index);
            let block = parser::parse(&lexer::tokenize(&text));
            drop(text);
            self.imports += 1;
            let mut cx = Cx {
                module: index,
                locals: Vec::new(),
                returns: Vec::new(),
                line: 0,
            };
            self.exec_block(&mut cx, &block);
            self.imports -= 1;
            return Some(index);
        }
        None
    }

    /// `level` dots and an optional dotted name, from `module`: package path parts, or `None` when the
    /// import climbs above the pack's folder.
    fn relative(&self, module: usize, level: usize, name: Option<&str>) -> Option<Vec<String>> {
        let mut parts = self.modules.get(module)?.package.clone();
        for _ in 1..level {
            parts.pop()?;
        }
        if let Some(name) = name {
            for part in name.split('.') {
                // Names from `import_module` strings are arbitrary text: only identifiers name files.
                if part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return None;
                }
                parts.push(part.to_string());
            }
        }
        Some(parts)
    }

    pub(super) fn import_from(
        &mut self,
        cx: &mut Cx,
        level: usize,
        module: Option<&str>,
        names: &[(String, Option<String>)],
        star: bool,
    ) {
        if level == 0 {
            // Absolute: outside the pack (ComfyUI, site-packages).
            let base = module.unwrap_or_default();
            for (n, alias) in names {
                self.set(
                    cx,
                    alias.as_ref().unwrap_or(n),
                    Value::Extern(format!("{base}.{n}").into()),
                    None,
                );
            }
            return;
        }
        let here = self.file_of(cx.module).to_string();
        let shown = format!("{}{}", ".".repeat(level), module.unwrap_or_default());
        let Some(parts) = self.relative(cx.module, level, module) else {
            self.note(format!(
                "{here}:{}: `from {shown} import` climbs above the pack folder: ignored",
                cx.line
            ));
            return;
        };
        let loaded = self.load(&parts);
        if star {
            let Some(m) = loaded else {
                self.note(format!(
                    "{here}:{}: `from {shown} import *`: module not found in the pack",
                    cx.line
                ));
                return;
            };
            for (name, value, origin) in self.star_names(m) {
                self.set(cx, &name, value, origin);
            }
            return;
        }
        for (name, alias) in names {
            let bound = alias.as_ref().unwrap_or(name).clone();
            let found = loaded.and_then(|m| self.global(m, name));
            let (value, origin) = match found {
                Some((v, o)) => (v, o),
                None => {
                    let mut sub = parts.clone();
                    sub.push(name.clone());
                    match self.load(&sub) {
                        Some(m) => (Value::Module(m), None),
                        None => {
                            let why = format!("{here}:{}: `{name}` not found in `{shown}`", cx.line);
                            (Value::Unknown, Some(why))
                        }
                    }
                }
            };
            self.set(cx, &bound, value, origin);
        }
    }

    /// What `from m import *` binds: `__all__` if it is a list of strings, else the public names.
    fn star_names(&self, m: usize) -> Vec<(String, Value, Option<String>)> {
        let Some(module) = self.modules.get(m) else {
            return Vec::new();
        };
        let all: Option<Vec<String>> = match module.env.get("__all__") {
            Some(Value::Seq(items, _)) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        let names: Vec<String> = match all {
            Some(all) => all,
            None => module.env.keys().filter(|k| !k.starts_with('_')).cloned().collect(),
        };
        names
            .into_iter()
            .filter_map(|n| {
                let v = module.env.get(&n)?.clone();
                let o = module.origins.get(&n).cloned();
                Some((n, v, o))
            })
            .collect()
    }

    /// `importlib.import_module(".name", __name__)`: a relative import of the pack.
    pub(super) fn import_module(&mut self, cx: &mut Cx, args: &[Arg]) -> Value {
        let Some(Arg::Pos(e)) = args.first() else {
            return Value::Unknown;
        };
        let Value::Str(name) = self.eval(cx, e) else {
            return Value::Unknown;
        };
        let level = name.chars().take_while(|c| *c == '.').count();
        if level == 0 {
            return Value::Unknown;
        }
        let rest = name.get(level..).filter(|r| !r.is_empty());
        match self
            .relative(cx.module, level, rest)
            .and_then(|parts| self.load(&parts))
        {
            Some(m) => Value::Module(m),
            None => Value::Unknown,
        }
    }
}
