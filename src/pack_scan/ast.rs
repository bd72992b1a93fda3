//! The syntax the scanner keeps: statements and expressions that can bind names, dicts, classes and
//! imports. Everything else parses to `Other` so one odd construct does not hide the rest of a file.

use std::fmt::{self, Write as _};
use std::rc::Rc;

pub type Block = Rc<Vec<Stmt>>;

#[derive(Debug)]
pub struct Stmt {
    pub line: u32,
    pub kind: StmtKind,
}

#[derive(Debug)]
pub enum StmtKind {
    /// `a = b = value` (targets may be tuples); annotated assignments with a value too.
    Assign {
        targets: Vec<Expr>,
        value: Expr,
    },
    /// `target op= value`, e.g. `M |= {...}`.
    AugAssign {
        target: Expr,
        op: &'static str,
        value: Expr,
    },
    Expr(Expr),
    /// `import a.b [as c]`: absolute, so outside the pack.
    Import {
        names: Vec<(String, Option<String>)>,
    },
    /// `from [dots]module import names` (`names` empty for `*`).
    ImportFrom {
        level: usize,
        module: Option<String>,
        names: Vec<(String, Option<String>)>,
        star: bool,
    },
    /// `if`/`elif`/`else`, `try`/`except`/`else`/`finally`: every body, read as alternatives.
    Branches(Vec<Block>),
    /// `with` bodies and the like: run once.
    Body(Block),
    For {
        target: Expr,
        iter: Expr,
        body: Block,
        orelse: Block,
    },
    Def(Rc<FuncDef>),
    Class(Rc<ClassDef>),
    Return(Option<Expr>),
    Other,
}

#[derive(Debug)]
pub struct FuncDef {
    pub name: String,
    pub params: Vec<String>,
    pub body: Block,
}

#[derive(Debug)]
pub struct ClassDef {
    pub name: String,
    pub bases: Vec<Expr>,
    pub body: Block,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Name(String),
    Str(String),
    FStr(String),
    /// Numbers, bytes, lambdas, comparisons...: never a node name or a mapping.
    Other,
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Arg>),
    Subscript(Box<Expr>, Box<Expr>),
    /// Lists, tuples and sets: the scanner treats them alike.
    Seq(Vec<Expr>),
    Dict(Vec<DictItem>),
    /// `[v for ...]`, `{k: v for ...}` (key present), generator expressions. Conditions are dropped:
    /// over-approximating is the rule.
    Comp {
        key: Option<Box<Expr>>,
        value: Box<Expr>,
        gens: Vec<(Expr, Expr)>,
    },
    /// `*x` inside a sequence.
    Star(Box<Expr>),
    BinOp(Box<Expr>, &'static str, Box<Expr>),
    /// `a if cond else b`: either one.
    Either(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub enum DictItem {
    Pair(Expr, Expr),
    Spread(Expr),
}

#[derive(Debug, Clone)]
pub enum Arg {
    Pos(Expr),
    Star(Expr),
    Kw(String, Expr),
    DoubleStar(Expr),
}

/// Short source-like text of an expression, for notes (long ones are cut).
pub fn render(e: &Expr) -> String {
    let mut s = String::new();
    let _ = write_expr(&mut s, e, 0);
    if s.chars().count() > 80 {
        s = s.chars().take(77).collect::<String>() + "...";
    }
    s
}

fn write_expr(s: &mut String, e: &Expr, depth: usize) -> fmt::Result {
    if depth > 8 || s.len() > 120 {
        return s.write_str("…");
    }
    let d = depth + 1;
    match e {
        Expr::Name(n) => s.write_str(n),
        Expr::Str(t) => write!(s, "{t:?}"),
        Expr::FStr(t) => write!(s, "f{t:?}"),
        Expr::Other => s.write_str("…"),
        Expr::Attr(b, n) => {
            write_expr(s, b, d)?;
            write!(s, ".{n}")
        }
        Expr::Call(f, args) => {
            write_expr(s, f, d)?;
            s.write_str("(")?;
            for (k, a) in args.iter().enumerate() {
                if k > 0 {
                    s.write_str(", ")?;
                }
                match a {
                    Arg::Pos(x) => write_expr(s, x, d)?,
                    Arg::Star(x) => {
                        s.write_str("*")?;
                        write_expr(s, x, d)?
                    }
                    Arg::Kw(n, x) => {
                        write!(s, "{n}=")?;
                        write_expr(s, x, d)?
                    }
                    Arg::DoubleStar(x) => {
                        s.write_str("**")?;
                        write_expr(s, x, d)?
                    }
                }
            }
            s.write_str(")")
        }
        Expr::Subscript(b, i) => {
            write_expr(s, b, d)?;
            s.write_str("[")?;
            write_expr(s, i, d)?;
            s.write_str("]")
        }
        Expr::Seq(items) => {
            s.write_str("[")?;
            for (k, x) in items.iter().enumerate() {
                if k > 0 {
                    s.write_str(", ")?;
                }
                write_expr(s, x, d)?;
            }
            s.write_str("]")
        }
        Expr::Dict(_) => s.write_str("{…}"),
        Expr::Comp { .. } => s.write_str("(… for …)"),
        Expr::Star(x) => {
            s.write_str("*")?;
            write_expr(s, x, d)
        }
        Expr::BinOp(a, op, b) => {
            write_expr(s, a, d)?;
            write!(s, " {op} ")?;
            write_expr(s, b, d)
        }
        Expr::Either(a, b) => {
            write_expr(s, a, d)?;
            s.write_str(" if … else ")?;
            write_expr(s, b, d)
        }
    }
}
