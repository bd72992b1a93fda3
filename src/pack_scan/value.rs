//! The values the evaluator tracks. Anything it cannot know is `Unknown`; a dict remembers, as `gaps`,
//! which parts of it could not be followed, so the notes say what a count may be missing.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::ast::FuncDef;

/// Most entries kept in one dict or list, and most gaps remembered per dict.
pub const MAX_ENTRIES: usize = 100_000;
/// Deepest nesting of values (a list in a list in a dict...): a loop like `for x in y: L = [L]` would
/// otherwise build a chain whose drop overflows the stack. Deeper values become `Unknown`.
const MAX_DEPTH: u16 = 64;
const MAX_GAPS: usize = 32;

#[derive(Debug, Clone)]
pub enum Value {
    Unknown,
    Str(String),
    /// Lists, tuples and sets, with their nesting depth.
    Seq(Rc<Vec<Value>>, u16),
    Dict(Rc<Dict>),
    Class(Rc<Class>),
    Instance(Rc<Class>),
    Func(Rc<Func>),
    /// A function reached through a class or an instance: `self`/`cls` comes first.
    Bound(Rc<Func>, Rc<Value>),
    /// A module of the pack, by index in the evaluator.
    Module(usize),
    /// A name imported from outside the pack, by dotted path (`comfy_api.latest.io.Schema`).
    Extern(Rc<str>),
    /// `io.Schema(node_id=...)` of a schema-style node.
    Schema(Option<String>),
    Builtin(Builtin),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Builtin {
    Dict,
    /// `list`, `tuple`, `set`, `sorted`: a copy of a sequence.
    Seq,
    Getattr,
}

#[derive(Debug, Clone, Default)]
pub struct Dict {
    pub entries: BTreeMap<String, Value>,
    pub gaps: Vec<String>,
    depth: u16,
}

impl Dict {
    pub fn insert(&mut self, key: String, value: Value) {
        let value = value.contained();
        self.depth = self.depth.max(value.depth() + 1);
        if self.entries.len() < MAX_ENTRIES || self.entries.contains_key(&key) {
            self.entries.insert(key, value);
        } else {
            self.gap("too many entries".to_string());
        }
    }

    pub fn gap(&mut self, what: String) {
        if self.gaps.len() < MAX_GAPS && !self.gaps.contains(&what) {
            self.gaps.push(what);
        }
    }

    pub fn merge(&mut self, other: &Dict) {
        for (k, v) in &other.entries {
            self.insert(k.clone(), v.clone());
        }
        for g in &other.gaps {
            self.gap(g.clone());
        }
    }
}

#[derive(Debug)]
pub struct Class {
    pub name: String,
    pub attrs: HashMap<String, Value>,
    pub bases: Vec<Value>,
    depth: u16,
}

impl Class {
    pub fn new(name: String, attrs: HashMap<String, Value>, bases: Vec<Value>) -> Class {
        let attrs: HashMap<String, Value> = attrs.into_iter().map(|(k, v)| (k, v.contained())).collect();
        let bases: Vec<Value> = bases.into_iter().map(Value::contained).collect();
        let depth = attrs.values().chain(&bases).map(Value::depth).max().unwrap_or(0) + 1;
        Class {
            name,
            attrs,
            bases,
            depth,
        }
    }

    /// An attribute of the class or of its bases (depth-first, as far as they are known).
    pub fn lookup(&self, name: &str, depth: usize) -> Option<Value> {
        if let Some(v) = self.attrs.get(name) {
            return Some(v.clone());
        }
        if depth > 16 {
            return None;
        }
        self.bases.iter().find_map(|b| match b {
            Value::Class(c) => c.lookup(name, depth + 1),
            _ => None,
        })
    }
}

#[derive(Debug)]
pub struct Func {
    pub def: Rc<FuncDef>,
    /// The module whose globals the body sees.
    pub module: usize,
}

impl Value {
    pub fn seq(items: Vec<Value>) -> Value {
        let items: Vec<Value> = items.into_iter().map(Value::contained).collect();
        let depth = items.iter().map(Value::depth).max().unwrap_or(0) + 1;
        Value::Seq(Rc::new(items), depth)
    }

    pub fn depth(&self) -> u16 {
        match self {
            Value::Seq(_, d) => *d,
            Value::Dict(d) => d.depth,
            Value::Class(c) | Value::Instance(c) => c.depth,
            Value::Bound(_, this) => this.depth().saturating_add(1),
            _ => 0,
        }
    }

    /// The value as an item of a container: `Unknown` if that would nest too deep.
    pub fn contained(self) -> Value {
        if self.depth() >= MAX_DEPTH {
            Value::Unknown
        } else {
            self
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// The items a `for` or a comprehension walks: a sequence's elements, a dict's keys.
    pub fn iter_items(&self) -> Option<Vec<Value>> {
        match self {
            Value::Seq(items, _) => Some(items.to_vec()),
            Value::Dict(d) => Some(d.entries.keys().map(|k| Value::Str(k.clone())).collect()),
            Value::Str(_) => None,
            _ => None,
        }
    }

    /// Two values a name may hold (branches, `a or b`): dicts and lists are joined, otherwise the
    /// first known one is kept.
    pub fn either(self, other: Value) -> Value {
        match (self, other) {
            (Value::Dict(mut a), Value::Dict(b)) => {
                Rc::make_mut(&mut a).merge(&b);
                Value::Dict(a)
            }
            (Value::Seq(a, _), Value::Seq(b, _)) => {
                let mut items = a.to_vec();
                items.extend(b.iter().take(MAX_ENTRIES.saturating_sub(items.len())).cloned());
                Value::seq(items)
            }
            (Value::Unknown, b) => b,
            (a, _) => a,
        }
    }
}
