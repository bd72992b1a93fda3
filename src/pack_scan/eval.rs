//! A tiny abstract interpreter over the parsed modules of one pack: module-level statements run in
//! order, relative imports load other files of the pack, and dicts, lists, strings, classes and simple
//! functions are tracked. Branches (`if`, `try`) are all taken and their dicts joined: the result
//! over-approximates what a real import registers. Every loop, call and import is bounded.

use std::collections::HashMap;
use std::rc::Rc;

use super::MAX_STEPS;
use super::ast::{Arg, Block, DictItem, Expr, Stmt, StmtKind, render};
use super::value::{Builtin, Class, Dict, Func, MAX_ENTRIES, Value};

mod imports;
mod strings;

pub use imports::{Read, Source};
use strings::format_str;

/// Deepest nesting of evaluation (blocks, expressions, calls and imports together), so that hostile
/// input cannot overflow the stack.
const MAX_EVAL_NEST: usize = 600;
/// Deepest chain of calls into the pack's own functions.
const MAX_CALL_DEPTH: usize = 16;
/// Most iterations of one loop or comprehension.
const MAX_ITERATIONS: usize = 10_000;
/// Most notes kept.
const MAX_NOTES: usize = 200;

struct Module {
    file: String,
    /// Folder components of the module's package (the module's own folder for an `__init__.py`).
    package: Vec<String>,
    env: HashMap<String, Value>,
    /// For names bound to `Unknown`: the expression and place, for notes.
    origins: HashMap<String, String>,
}

/// Evaluation context of a block: its module and, inside functions, class bodies and comprehensions,
/// the local scopes (innermost last).
struct Cx {
    module: usize,
    locals: Vec<HashMap<String, Value>>,
    /// Return values seen, inside a function.
    returns: Vec<Value>,
    line: u32,
}

pub struct Interp<'s> {
    source: &'s mut dyn Source,
    modules: Vec<Module>,
    by_file: HashMap<String, usize>,
    pub notes: Vec<String>,
    steps: usize,
    nest: usize,
    /// Functions being called, innermost last: a function is never re-entered (recursion over
    /// unknown data would branch exponentially).
    calls: Vec<Rc<Func>>,
    imports: usize,
    /// Inside alternatives (`if`, `try`): assigning a dict over a dict joins them.
    branching: usize,
}

impl<'s> Interp<'s> {
    pub fn new(source: &'s mut dyn Source) -> Self {
        Interp {
            source,
            modules: Vec::new(),
            by_file: HashMap::new(),
            notes: Vec::new(),
            steps: 0,
            nest: 0,
            calls: Vec::new(),
            imports: 0,
            branching: 0,
        }
    }

    pub fn files_read(&self) -> usize {
        self.modules.len()
    }

    pub fn note(&mut self, text: String) {
        if self.notes.len() < MAX_NOTES && !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    /// A module-level name of a loaded module, with the origin note if it is unknown.
    pub fn global(&self, module: usize, name: &str) -> Option<(Value, Option<String>)> {
        let m = self.modules.get(module)?;
        let v = m.env.get(name)?.clone();
        Some((v, m.origins.get(name).cloned()))
    }

    pub fn file_of(&self, module: usize) -> &str {
        self.modules.get(module).map_or("?", |m| m.file.as_str())
    }

    fn budget_left(&mut self) -> bool {
        self.steps += 1;
        if self.steps == MAX_STEPS {
            self.note(format!(
                "stopped after {MAX_STEPS} evaluation steps: the result may be incomplete"
            ));
        }
        self.steps < MAX_STEPS
    }

    fn exec_block(&mut self, cx: &mut Cx, block: &Block) {
        if self.nest >= MAX_EVAL_NEST {
            return;
        }
        self.nest += 1;
        for stmt in block.iter() {
            if !self.budget_left() {
                break;
            }
            cx.line = stmt.line;
            self.exec(cx, stmt);
        }
        self.nest -= 1;
    }

    fn exec(&mut self, cx: &mut Cx, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Assign { targets, value } => {
                let v = self.eval(cx, value);
                for t in targets {
                    self.assign(cx, t, v.clone(), Some(value));
                }
            }
            StmtKind::AugAssign { target, op, value } => {
                let v = self.eval(cx, value);
                if let Expr::Name(name) = target {
                    match *op {
                        "|=" => self.update_dict(cx, name, v, value),
                        "+=" => self.extend_seq(cx, name, v),
                        _ => {}
                    }
                }
            }
            StmtKind::Expr(e) => self.exec_expr(cx, e),
            StmtKind::Import { names } => {
                for (dotted, alias) in names {
                    // Absolute imports leave the pack: `import a.b` binds `a`, `import a.b as c` binds `a.b`.
                    let (name, path) = match alias {
                        Some(a) => (a.clone(), dotted.clone()),
                        None => {
                            let first = dotted.split('.').next().unwrap_or(dotted).to_string();
                            (first.clone(), first)
                        }
                    };
                    self.set(cx, &name, Value::Extern(path.into()), None);
                }
            }
            StmtKind::ImportFrom {
                level,
                module,
                names,
                star,
            } => self.import_from(cx, *level, module.as_deref(), names, *star),
            StmtKind::Branches(bodies) => {
                self.branching += 1;
                for b in bodies {
                    self.exec_block(cx, b);
                }
                self.branching -= 1;
            }
            StmtKind::Body(b) => self.exec_block(cx, b),
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
            } => {
                let it = self.eval(cx, iter);
                match it.iter_items() {
                    Some(items) => {
                        if items.len() > MAX_ITERATIONS {
                            self.note(format!(
                                "{}:{}: loop cut at {MAX_ITERATIONS} items",
                                self.file_of(cx.module),
                                cx.line
                            ));
                        }
                        for item in items.into_iter().take(MAX_ITERATIONS) {
                            self.bind_loop_target(cx, target, item);
                            self.exec_block(cx, body);
                        }
                    }
                    None => {
                        // Unknown items: run the body once so what it would register shows up as a gap.
                        self.bind_loop_target(cx, target, Value::Unknown);
                        self.branching += 1;
                        self.exec_block(cx, body);
                        self.branching -= 1;
                    }
                }
                self.exec_block(cx, orelse);
            }
            StmtKind::Def(def) => {
                let f = Value::Func(Rc::new(Func {
                    def: def.clone(),
                    module: cx.module,
                }));
                self.set(cx, &def.name.clone(), f, None);
            }
            StmtKind::Class(def) => {
                let bases = def.bases.iter().map(|b| self.eval(cx, b)).collect();
                let mut body_cx = Cx {
                    module: cx.module,
                    locals: vec![HashMap::new()],
                    returns: Vec::new(),
                    line: cx.line,
                };
                self.exec_block(&mut body_cx, &def.body);
                let attrs = body_cx.locals.pop().unwrap_or_default();
                let class = Value::Class(Rc::new(Class::new(def.name.clone(), attrs, bases)));
                self.set(cx, &def.name.clone(), class, None);
            }
            StmtKind::Return(e) => {
                let v = e.as_ref().map_or(Value::Unknown, |e| self.eval(cx, e));
                cx.returns.push(v);
            }
            StmtKind::Other => {}
        }
    }

    /// Expression statements that change a named dict or list: `M.update(...)`, `L.append(x)`...
    fn exec_expr(&mut self, cx: &mut Cx, e: &Expr) {
        if let Expr::Call(f, args) = e
            && let Expr::Attr(obj, method) = f.as_ref()
            && let Expr::Name(name) = obj.as_ref()
        {
            match (method.as_str(), args.as_slice()) {
                ("update", _) => {
                    let v = self.call_builtin_dict(cx, args);
                    self.update_dict(cx, name, v, e);
                    return;
                }
                ("setdefault", [Arg::Pos(k), Arg::Pos(v)]) => {
                    let (k, v) = (self.eval(cx, k), self.eval(cx, v));
                    self.set_item(cx, name, k, v, e);
                    return;
                }
                ("append" | "add", [Arg::Pos(x)]) => {
                    let v = self.eval(cx, x);
                    self.extend_seq(cx, name, Value::seq(vec![v]));
                    return;
                }
                ("extend", [Arg::Pos(x)]) => {
                    let v = self.eval(cx, x);
                    self.extend_seq(cx, name, v);
                    return;
                }
                _ => {}
            }
        }
        self.eval(cx, e);
    }

    /// Binds `name` in the innermost scope. Inside branches a dict or list joins what the name held.
    fn set(&mut self, cx: &mut Cx, name: &str, value: Value, origin: Option<String>) {
        let branching = self.branching > 0;
        let slot = match cx.locals.last_mut() {
            Some(l) => l,
            None => match self.modules.get_mut(cx.module) {
                Some(m) => {
                    match origin {
                        Some(o) if value.is_unknown() => m.origins.insert(name.to_string(), o),
                        _ => m.origins.remove(name),
                    };
                    &mut m.env
                }
                None => return,
            },
        };
        let value = match slot.remove(name) {
            Some(old @ (Value::Dict(_) | Value::Seq(..)))
                if branching && matches!(value, Value::Dict(_) | Value::Seq(..)) =>
            {
                old.either(value)
            }
            _ => value,
        };
        slot.insert(name.to_string(), value);
    }

    /// The scope slot holding `name`, innermost first.
    fn slot_mut<'a>(&'a mut self, cx: &'a mut Cx, name: &str) -> Option<&'a mut Value> {
        if let Some(l) = cx.locals.iter_mut().rev().find(|l| l.contains_key(name)) {
            return l.get_mut(name);
        }
        self.modules.get_mut(cx.module)?.env.get_mut(name)
    }

    fn lookup(&self, cx: &Cx, name: &str) -> Value {
        if let Some(v) = cx.locals.iter().rev().find_map(|l| l.get(name)) {
            return v.clone();
        }
        if let Some(v) = self.modules.get(cx.module).and_then(|m| m.env.get(name)) {
            return v.clone();
        }
        match name {
            "dict" => Value::Builtin(Builtin::Dict),
            "list" | "tuple" | "set" | "sorted" | "frozenset" => Value::Builtin(Builtin::Seq),
            "getattr" => Value::Builtin(Builtin::Getattr),
            _ => Value::Unknown,
        }
    }

    fn here(&self, cx: &Cx) -> String {
        format!("{}:{}", self.file_of(cx.module), cx.line)
    }

    fn assign(&mut self, cx: &mut Cx, target: &Expr, value: Value, source: Option<&Expr>) {
        match target {
            Expr::Name(n) => {
                let origin = source.map(|s| format!("`{}` ({})", render(s), self.here(cx)));
                self.set(cx, n, value, origin);
            }
            Expr::Seq(targets) => {
                let items = match &value {
                    Value::Seq(items, _) if items.len() == targets.len() => Some(items.clone()),
                    _ => None,
                };
                for (k, t) in targets.iter().enumerate() {
                    let v = items.as_ref().and_then(|i| i.get(k)).cloned().unwrap_or(Value::Unknown);
                    let origin = source.map(|s| format!("`{}` ({})", render(s), self.here(cx)));
                    match t {
                        Expr::Name(n) => self.set(cx, n, v, origin),
                        Expr::Star(inner) => self.assign(cx, inner, Value::Unknown, None),
                        _ => self.assign(cx, t, v, None),
                    }
                }
            }
            Expr::Subscript(obj, key) => {
                if let Expr::Name(name) = obj.as_ref() {
                    let k = self.eval(cx, key);
                    self.set_item(cx, name, k, value, target);
                }
            }
            _ => {}
        }
    }

    /// A loop variable is rebound on each item, never joined with its previous value.
    fn bind_loop_target(&mut self, cx: &mut Cx, target: &Expr, item: Value) {
        let saved = std::mem::take(&mut self.branching);
        self.assign(cx, target, item, None);
        self.branching = saved;
    }

    /// Calls a function, bound method or class with no arguments.
    pub fn call_value(&mut self, callee: Value) -> Value {
        match callee {
            Value::Func(f) => self.call_func(&f, None, Vec::new()),
            Value::Bound(f, this) => self.call_func(&f, Some((*this).clone()), Vec::new()),
            Value::Class(c) => Value::Instance(c),
            _ => Value::Unknown,
        }
    }

    /// `name[key] = value` on a dict.
    fn set_item(&mut self, cx: &mut Cx, name: &str, key: Value, value: Value, whole: &Expr) {
        let gap = format!("`{}` ({})", render(whole), self.here(cx));
        if let Some(Value::Dict(d)) = self.slot_mut(cx, name) {
            let d = Rc::make_mut(d);
            match key {
                Value::Str(k) => d.insert(k, value),
                _ => d.gap(gap),
            }
        }
    }

    /// `name.update(value)` / `name |= value` on a dict.
    fn update_dict(&mut self, cx: &mut Cx, name: &str, value: Value, whole: &Expr) {
        let gap = format!("`{}` ({})", render(whole), self.here(cx));
        if let Some(Value::Dict(d)) = self.slot_mut(cx, name) {
            let d = Rc::make_mut(d);
            match value {
                Value::Dict(other) => d.merge(&other),
                _ => d.gap(gap),
            }
        }
    }

    fn extend_seq(&mut self, cx: &mut Cx, name: &str, value: Value) {
        if let Some(Value::Seq(items, depth)) = self.slot_mut(cx, name) {
            let items = Rc::make_mut(items);
            let more = value.iter_items().unwrap_or_else(|| vec![Value::Unknown]);
            for v in more.into_iter().take(MAX_ENTRIES.saturating_sub(items.len())) {
                let v = v.contained();
                *depth = (*depth).max(v.depth() + 1);
                items.push(v);
            }
        }
    }

    fn eval(&mut self, cx: &mut Cx, e: &Expr) -> Value {
        if self.nest >= MAX_EVAL_NEST || !self.budget_left() {
            return Value::Unknown;
        }
        self.nest += 1;
        let v = self.eval_inner(cx, e);
        self.nest -= 1;
        v
    }

    fn eval_inner(&mut self, cx: &mut Cx, e: &Expr) -> Value {
        match e {
            Expr::Name(n) => self.lookup(cx, n),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::FStr(s) => self.fstring(cx, s),
            Expr::Other | Expr::Star(_) => Value::Unknown,
            Expr::Attr(obj, name) => {
                let o = self.eval(cx, obj);
                self.attr(o, name)
            }
            Expr::Call(f, args) => self.call(cx, f, args),
            Expr::Subscript(obj, key) => match (self.eval(cx, obj), self.eval(cx, key)) {
                (Value::Dict(d), Value::Str(k)) => d.entries.get(&k).cloned().unwrap_or(Value::Unknown),
                _ => Value::Unknown,
            },
            Expr::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Expr::Star(inner) => match self.eval(cx, inner).iter_items() {
                            Some(more) => out.extend(more),
                            None => out.push(Value::Unknown),
                        },
                        _ => out.push(self.eval(cx, item)),
                    }
                    out.truncate(MAX_ENTRIES);
                }
                Value::seq(out)
            }
            Expr::Dict(items) => {
                let mut d = Dict::default();
                for item in items {
                    match item {
                        DictItem::Pair(k, v) => {
                            let key = self.eval(cx, k);
                            let val = self.eval(cx, v);
                            match key {
                                Value::Str(k) => d.insert(k, val),
                                _ => d.gap(format!("key `{}` ({})", render(k), self.here(cx))),
                            }
                        }
                        DictItem::Spread(x) => match self.eval(cx, x) {
                            Value::Dict(other) => d.merge(&other),
                            _ => d.gap(format!("`**{}` ({})", render(x), self.here(cx))),
                        },
                    }
                }
                Value::Dict(Rc::new(d))
            }
            Expr::Comp { key, value, gens } => self.comprehension(cx, key.as_deref(), value, gens),
            Expr::BinOp(a, op, b) => {
                let (x, y) = (self.eval(cx, a), self.eval(cx, b));
                match (*op, x, y) {
                    ("|", Value::Dict(x), y) => merged(x, y, e, &self.here(cx)),
                    ("+", Value::Str(x), Value::Str(y)) => Value::Str(x + &y),
                    ("+", x @ Value::Seq(..), y @ Value::Seq(..)) => x.either(y),
                    _ => Value::Unknown,
                }
            }
            Expr::Either(a, b) => {
                let (x, y) = (self.eval(cx, a), self.eval(cx, b));
                match (x, y) {
                    (Value::Dict(x), y) | (y, Value::Dict(x)) => merged(x, y, e, &self.here(cx)),
                    (x, y) => x.either(y),
                }
            }
        }
    }

    pub fn attr(&mut self, obj: Value, name: &str) -> Value {
        match obj {
            Value::Module(m) => self.global(m, name).map_or(Value::Unknown, |(v, _)| v),
            Value::Class(c) if name == "__name__" => Value::Str(c.name.clone()),
            Value::Class(ref c) | Value::Instance(ref c) => match c.lookup(name, 0) {
                Some(Value::Func(f)) => Value::Bound(f, Rc::new(obj.clone())),
                Some(v) => v,
                None => Value::Unknown,
            },
            Value::Extern(path) => Value::Extern(format!("{path}.{name}").into()),
            _ => Value::Unknown,
        }
    }

    fn call(&mut self, cx: &mut Cx, f: &Expr, args: &[Arg]) -> Value {
        // Methods of values the evaluator models.
        if let Expr::Attr(obj, method) = f {
            let o = self.eval(cx, obj);
            match (&o, method.as_str()) {
                (Value::Dict(d), "items") => {
                    let pairs = d
                        .entries
                        .iter()
                        .map(|(k, v)| Value::seq(vec![Value::Str(k.clone()), v.clone()]));
                    return Value::seq(pairs.collect());
                }
                (Value::Dict(d), "keys") => {
                    return Value::seq(d.entries.keys().map(|k| Value::Str(k.clone())).collect());
                }
                (Value::Dict(d), "values") => return Value::seq(d.entries.values().cloned().collect()),
                (Value::Dict(_), "copy") => return o,
                (Value::Str(s), "format") => {
                    let vals = self.eval_args(cx, args);
                    return format_str(s, &vals);
                }
                _ => {}
            }
            let callee = self.attr(o, method);
            return self.apply(cx, callee, args);
        }
        let callee = self.eval(cx, f);
        self.apply(cx, callee, args)
    }

    fn eval_args(&mut self, cx: &mut Cx, args: &[Arg]) -> Vec<(Option<String>, Value)> {
        let mut out = Vec::new();
        for a in args {
            match a {
                Arg::Pos(e) => out.push((None, self.eval(cx, e))),
                Arg::Kw(n, e) => out.push((Some(n.clone()), self.eval(cx, e))),
                Arg::Star(_) | Arg::DoubleStar(_) => out.push((None, Value::Unknown)),
            }
        }
        out
    }

    fn apply(&mut self, cx: &mut Cx, callee: Value, args: &[Arg]) -> Value {
        match callee {
            Value::Class(c) => Value::Instance(c),
            Value::Func(f) => {
                let vals = self.eval_args(cx, args);
                self.call_func(&f, None, vals)
            }
            Value::Bound(f, this) => {
                let vals = self.eval_args(cx, args);
                self.call_func(&f, Some((*this).clone()), vals)
            }
            Value::Builtin(Builtin::Dict) => self.call_builtin_dict(cx, args),
            Value::Builtin(Builtin::Seq) => match args {
                [Arg::Pos(e)] => match self.eval(cx, e).iter_items() {
                    Some(items) => Value::seq(items),
                    None => Value::Unknown,
                },
                _ => Value::Unknown,
            },
            Value::Builtin(Builtin::Getattr) => match args {
                [Arg::Pos(o), Arg::Pos(n), ..] => match (self.eval(cx, o), self.eval(cx, n)) {
                    (o, Value::Str(n)) => self.attr(o, &n),
                    _ => Value::Unknown,
                },
                _ => Value::Unknown,
            },
            Value::Extern(path) if path.as_ref() == "importlib.import_module" => self.import_module(cx, args),
            Value::Extern(path) if path.as_ref() == "Schema" || path.ends_with(".Schema") => {
                let node_id = args.iter().find_map(|a| match a {
                    Arg::Kw(n, e) if n == "node_id" => Some(e),
                    _ => None,
                });
                match node_id.map(|e| self.eval(cx, e)) {
                    Some(Value::Str(id)) => Value::Schema(Some(id)),
                    _ => Value::Schema(None),
                }
            }
            _ => Value::Unknown,
        }
    }

    /// `dict(a, **b, k=v)` and the arguments of `update`: one dict, with gaps for what is unknown.
    fn call_builtin_dict(&mut self, cx: &mut Cx, args: &[Arg]) -> Value {
        let mut d = Dict::default();
        for a in args {
            match a {
                Arg::Pos(e) | Arg::DoubleStar(e) => match self.eval(cx, e) {
                    Value::Dict(other) => d.merge(&other),
                    Value::Seq(pairs, _) => {
                        for p in pairs.iter() {
                            match p {
                                Value::Seq(kv, _) => match kv.as_slice() {
                                    [Value::Str(k), v] => d.insert(k.clone(), v.clone()),
                                    _ => d.gap(format!("a pair of `{}` ({})", render(e), self.here(cx))),
                                },
                                _ => d.gap(format!("an item of `{}` ({})", render(e), self.here(cx))),
                            }
                        }
                    }
                    _ => d.gap(format!("`{}` ({})", render(e), self.here(cx))),
                },
                Arg::Kw(k, e) => {
                    let v = self.eval(cx, e);
                    d.insert(k.clone(), v);
                }
                Arg::Star(e) => d.gap(format!("`*{}` ({})", render(e), self.here(cx))),
            }
        }
        Value::Dict(Rc::new(d))
    }

    /// Runs a pack function with its arguments bound (defaults and `*args` unknown); its result is
    /// every `return` value joined.
    fn call_func(&mut self, f: &Rc<Func>, this: Option<Value>, args: Vec<(Option<String>, Value)>) -> Value {
        if self.calls.len() >= MAX_CALL_DEPTH || self.calls.iter().any(|c| Rc::ptr_eq(c, f)) {
            return Value::Unknown;
        }
        let mut locals: HashMap<String, Value> = HashMap::new();
        let mut params = f.def.params.iter();
        if let Some(this) = this
            && let Some(p) = params.next()
        {
            locals.insert(p.clone(), this);
        }
        let params: Vec<&String> = params.collect();
        let mut pos = 0;
        for (kw, v) in args {
            match kw {
                Some(k) => {
                    locals.insert(k, v);
                }
                None => {
                    if let Some(p) = params.get(pos) {
                        locals.insert((*p).clone(), v);
                    }
                    pos += 1;
                }
            }
        }
        for p in params {
            locals.entry(p.clone()).or_insert(Value::Unknown);
        }
        let mut cx = Cx {
            module: f.module,
            locals: vec![locals],
            returns: Vec::new(),
            line: 0,
        };
        self.calls.push(f.clone());
        let saved = std::mem::take(&mut self.branching);
        self.exec_block(&mut cx, &f.def.body);
        self.branching = saved;
        self.calls.pop();
        cx.returns.into_iter().reduce(Value::either).unwrap_or(Value::Unknown)
    }

    fn comprehension(&mut self, cx: &mut Cx, key: Option<&Expr>, value: &Expr, gens: &[(Expr, Expr)]) -> Value {
        let mut d = Dict::default();
        let mut seq = Vec::new();
        cx.locals.push(HashMap::new());
        self.comp_level(cx, key, value, gens, &mut d, &mut seq);
        cx.locals.pop();
        match key {
            Some(_) => Value::Dict(Rc::new(d)),
            None => Value::seq(seq),
        }
    }

    fn comp_level(
        &mut self,
        cx: &mut Cx,
        key: Option<&Expr>,
        value: &Expr,
        gens: &[(Expr, Expr)],
        d: &mut Dict,
        seq: &mut Vec<Value>,
    ) {
        let Some(((target, iter), rest)) = gens.split_first() else {
            let v = self.eval(cx, value);
            match key {
                Some(k) => match self.eval(cx, k) {
                    Value::Str(s) => d.insert(s, v),
                    _ => d.gap(format!("key `{}` ({})", render(k), self.here(cx))),
                },
                None if seq.len() < MAX_ENTRIES => seq.push(v),
                None => {}
            }
            return;
        };
        let it = self.eval(cx, iter);
        let items = it.iter_items().unwrap_or_else(|| vec![Value::Unknown]);
        for item in items.into_iter().take(MAX_ITERATIONS) {
            if self.steps >= MAX_STEPS {
                return;
            }
            self.bind_loop_target(cx, target, item);
            self.comp_level(cx, key, value, rest, d, seq);
        }
    }
}

/// `x | y` or either of them, where `x` is a dict: `y`'s entries join, or a gap says `y` is unknown.
fn merged(mut x: Rc<Dict>, y: Value, whole: &Expr, here: &str) -> Value {
    let d = Rc::make_mut(&mut x);
    match y {
        Value::Dict(y) => d.merge(&y),
        _ => d.gap(format!("`{}` ({here})", render(whole))),
    }
    Value::Dict(x)
}
