//! Tokens to statements: a recursive-descent parser for the subset of Python the evaluator reads.
//! A line it cannot parse becomes `Other` (its indented block, if any, is still read as a body), and
//! nesting deeper than `MAX_NEST` is cut, so hostile input cannot overflow the stack.

use std::rc::Rc;

use super::ast::{Arg, Block, ClassDef, DictItem, Expr, FuncDef, Stmt, StmtKind};
use super::lexer::{Tok, Token};

/// Deepest nesting of brackets, operators and blocks followed.
const MAX_NEST: usize = 100;

/// Words that never start an expression.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "elif", "for", "while", "def", "class", "return", "import", "from",
    "as", "with", "try", "except", "finally", "raise", "lambda", "pass", "break", "continue", "global", "nonlocal",
    "del", "assert", "yield", "async", "await",
];

const AUG_OPS: &[&str] = &[
    "+=", "-=", "*=", "/=", "//=", "%=", "@=", "&=", "|=", "^=", ">>=", "<<=", "**=",
];

pub fn parse(tokens: &[Token]) -> Block {
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        depth: 0,
    };
    let mut out = Vec::new();
    while p.pos < p.toks.len() {
        match p.peek() {
            Some(Tok::Dedent) | Some(Tok::Newline) => p.pos += 1,
            Some(Tok::Indent) => {
                // An indented block without a header we understood: read it as a plain body.
                let line = p.line();
                let body = p.indented_block();
                out.push(Stmt {
                    line,
                    kind: StmtKind::Body(body),
                });
            }
            _ => p.statement(&mut out),
        }
    }
    Rc::new(out)
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&'a Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }

    fn line(&self) -> u32 {
        self.toks.get(self.pos).or(self.toks.last()).map_or(0, |t| t.line)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == kw)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.is_op(op);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn name(&mut self) -> Option<String> {
        match self.peek() {
            Some(Tok::Name(n)) if !KEYWORDS.contains(&n.as_str()) => {
                let n = n.clone();
                self.pos += 1;
                Some(n)
            }
            _ => None,
        }
    }

    /// Skips to the end of the logical line (its `Newline` consumed).
    fn skip_line(&mut self) {
        while let Some(t) = self.peek() {
            self.pos += 1;
            if *t == Tok::Newline {
                break;
            }
        }
    }

    /// Skips a compound statement's header up to its `:` at bracket depth 0 (lambdas aside).
    fn skip_header(&mut self) -> bool {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") => depth = depth.saturating_sub(1),
                Tok::Op(":") if depth == 0 => {
                    self.pos += 1;
                    return true;
                }
                Tok::Newline => return false,
                _ => {}
            }
            self.pos += 1;
        }
        false
    }

    /// Whether the current line is a compound header: it ends with `:` and an indented block follows.
    fn line_opens_block(&self) -> bool {
        let mut k = self.pos;
        while let Some(t) = self.toks.get(k) {
            if t.tok == Tok::Newline {
                return k > self.pos
                    && matches!(self.toks.get(k - 1).map(|t| &t.tok), Some(Tok::Op(":")))
                    && matches!(self.toks.get(k + 1).map(|t| &t.tok), Some(Tok::Indent));
            }
            k += 1;
        }
        false
    }

    fn indented_block(&mut self) -> Block {
        let mut out = Vec::new();
        if !matches!(self.peek(), Some(Tok::Indent)) {
            return Rc::new(out);
        }
        self.pos += 1;
        self.depth += 1;
        while let Some(t) = self.peek() {
            match t {
                Tok::Dedent => {
                    self.pos += 1;
                    break;
                }
                Tok::Newline => self.pos += 1,
                Tok::Indent => {
                    let line = self.line();
                    let body = self.indented_block();
                    out.push(Stmt {
                        line,
                        kind: StmtKind::Body(body),
                    });
                }
                _ => self.statement(&mut out),
            }
        }
        self.depth -= 1;
        Rc::new(out)
    }

    /// The body after a header's `:`: an indented block, or simple statements on the same line.
    fn suite(&mut self) -> Block {
        if self.eat_newline() {
            if self.depth > MAX_NEST {
                self.skip_block();
                return Rc::new(Vec::new());
            }
            return self.indented_block();
        }
        let mut out = Vec::new();
        self.simple_statements(&mut out);
        Rc::new(out)
    }

    fn eat_newline(&mut self) -> bool {
        if matches!(self.peek(), Some(Tok::Newline)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips an indented block without reading it (nesting too deep).
    fn skip_block(&mut self) {
        let mut level = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Indent => level += 1,
                Tok::Dedent => {
                    level = level.saturating_sub(1);
                    if level == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn statement(&mut self, out: &mut Vec<Stmt>) {
        let line = self.line();
        if self.eat_kw("async") && !(self.is_kw("def") || self.is_kw("for") || self.is_kw("with")) {
            self.skip_line();
            return;
        }
        let kw = match self.peek() {
            Some(Tok::Name(n)) => n.clone(),
            Some(Tok::Op("@")) => {
                self.skip_line();
                return;
            }
            _ => String::new(),
        };
        let kind = match kw.as_str() {
            "if" => Some(self.if_stmt()),
            "try" => Some(self.try_stmt()),
            "for" => self.for_stmt(),
            "while" => {
                self.pos += 1;
                self.skip_header();
                let body = self.suite();
                let orelse = self.else_suite();
                Some(StmtKind::Branches(vec![body, orelse]))
            }
            "def" => self.def_stmt(),
            "class" => self.class_stmt(),
            "with" => {
                self.skip_header();
                Some(StmtKind::Body(self.suite()))
            }
            _ if self.line_opens_block() => {
                // `match`/`case` and anything else with a block: read the block.
                self.skip_header();
                Some(StmtKind::Body(self.suite()))
            }
            _ => {
                self.simple_statements(out);
                return;
            }
        };
        match kind {
            Some(kind) => out.push(Stmt { line, kind }),
            None => {
                // A header we could not read: its block (if any) still counts as a body.
                self.skip_line();
                if matches!(self.peek(), Some(Tok::Indent)) {
                    let body = self.indented_block();
                    out.push(Stmt {
                        line,
                        kind: StmtKind::Body(body),
                    });
                }
            }
        }
    }

    fn else_suite(&mut self) -> Block {
        if self.is_kw("else") && matches!(self.peek_at(1), Some(Tok::Op(":"))) {
            self.pos += 2;
            return self.suite();
        }
        Rc::new(Vec::new())
    }

    fn if_stmt(&mut self) -> StmtKind {
        let mut bodies = Vec::new();
        self.pos += 1;
        self.skip_header();
        bodies.push(self.suite());
        while self.is_kw("elif") {
            self.pos += 1;
            self.skip_header();
            bodies.push(self.suite());
        }
        bodies.push(self.else_suite());
        StmtKind::Branches(bodies)
    }

    fn try_stmt(&mut self) -> StmtKind {
        let mut bodies = Vec::new();
        self.pos += 1;
        self.skip_header();
        bodies.push(self.suite());
        while self.is_kw("except") || self.is_kw("finally") || self.is_kw("else") {
            self.skip_header();
            bodies.push(self.suite());
        }
        StmtKind::Branches(bodies)
    }

    fn for_stmt(&mut self) -> Option<StmtKind> {
        self.pos += 1;
        let target = self.target_list()?;
        if !self.eat_kw("in") {
            return None;
        }
        let iter = self.testlist()?;
        if !self.eat_op(":") {
            return None;
        }
        let body = self.suite();
        let orelse = self.else_suite();
        Some(StmtKind::For {
            target,
            iter,
            body,
            orelse,
        })
    }

    fn def_stmt(&mut self) -> Option<StmtKind> {
        self.pos += 1;
        let name = self.name()?;
        if !self.eat_op("(") {
            return None;
        }
        let mut params = Vec::new();
        let mut depth = 1usize;
        let mut expect_name = true;
        // Parameter names only: annotations and defaults are skipped.
        while depth > 0 {
            match self.peek()? {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") => depth -= 1,
                Tok::Op(",") if depth == 1 => expect_name = true,
                Tok::Op("*" | "**" | "/") => {}
                Tok::Name(n) if expect_name && depth == 1 => {
                    params.push(n.clone());
                    expect_name = false;
                }
                Tok::Newline => return None,
                _ => expect_name = false,
            }
            self.pos += 1;
        }
        if !self.skip_header() {
            return None;
        }
        let body = self.suite();
        Some(StmtKind::Def(Rc::new(FuncDef { name, params, body })))
    }

    fn class_stmt(&mut self) -> Option<StmtKind> {
        self.pos += 1;
        let name = self.name()?;
        let mut bases = Vec::new();
        if self.eat_op("(") {
            for arg in self.call_args()? {
                if let Arg::Pos(e) = arg {
                    bases.push(e);
                }
            }
        }
        if !self.eat_op(":") {
            return None;
        }
        let body = self.suite();
        Some(StmtKind::Class(Rc::new(ClassDef { name, bases, body })))
    }

    fn simple_statements(&mut self, out: &mut Vec<Stmt>) {
        loop {
            let line = self.line();
            let kind = self.simple_statement().unwrap_or(StmtKind::Other);
            out.push(Stmt { line, kind });
            if self.eat_op(";") && !matches!(self.peek(), Some(Tok::Newline) | None) {
                continue;
            }
            if !self.eat_newline() {
                self.skip_line();
            }
            return;
        }
    }

    fn simple_statement(&mut self) -> Option<StmtKind> {
        let Some(Tok::Name(first)) = self.peek() else {
            return self.expr_statement();
        };
        match first.as_str() {
            "import" => {
                self.pos += 1;
                let mut names = Vec::new();
                loop {
                    let dotted = self.dotted()?;
                    let alias = if self.eat_kw("as") { Some(self.name()?) } else { None };
                    names.push((dotted, alias));
                    if !self.eat_op(",") {
                        break;
                    }
                }
                Some(StmtKind::Import { names })
            }
            "from" => self.import_from(),
            "return" => {
                self.pos += 1;
                if matches!(self.peek(), Some(Tok::Newline) | Some(Tok::Op(";")) | None) {
                    return Some(StmtKind::Return(None));
                }
                Some(StmtKind::Return(Some(self.testlist()?)))
            }
            "pass" | "break" | "continue" | "global" | "nonlocal" | "del" | "assert" | "raise" | "yield" => None,
            _ => self.expr_statement(),
        }
    }

    fn dotted(&mut self) -> Option<String> {
        let mut s = self.name()?;
        while self.is_op(".") {
            self.pos += 1;
            s.push('.');
            s.push_str(&self.name()?);
        }
        Some(s)
    }

    fn import_from(&mut self) -> Option<StmtKind> {
        self.pos += 1;
        let mut level = 0;
        loop {
            if self.eat_op(".") {
                level += 1;
            } else if self.eat_op("...") {
                level += 3;
            } else {
                break;
            }
        }
        let module = if self.is_kw("import") {
            None
        } else {
            Some(self.dotted()?)
        };
        if !self.eat_kw("import") {
            return None;
        }
        if self.eat_op("*") {
            return Some(StmtKind::ImportFrom {
                level,
                module,
                names: Vec::new(),
                star: true,
            });
        }
        let paren = self.eat_op("(");
        let mut names = Vec::new();
        while let Some(n) = self.name() {
            let alias = if self.eat_kw("as") { Some(self.name()?) } else { None };
            names.push((n, alias));
            if !self.eat_op(",") {
                break;
            }
        }
        if paren && !self.eat_op(")") {
            return None;
        }
        Some(StmtKind::ImportFrom {
            level,
            module,
            names,
            star: false,
        })
    }

    fn expr_statement(&mut self) -> Option<StmtKind> {
        let first = self.testlist()?;
        if let Some(Tok::Op(op)) = self.peek()
            && let Some(op) = AUG_OPS.iter().find(|a| *a == op)
        {
            self.pos += 1;
            let value = self.testlist()?;
            return Some(StmtKind::AugAssign {
                target: first,
                op,
                value,
            });
        }
        if self.eat_op(":") {
            // Annotated assignment: `x: T = value`.
            self.test()?;
            if !self.eat_op("=") {
                return Some(StmtKind::Other);
            }
            let value = self.testlist()?;
            return Some(StmtKind::Assign {
                targets: vec![first],
                value,
            });
        }
        if !self.is_op("=") {
            return Some(StmtKind::Expr(first));
        }
        let mut targets = vec![first];
        while self.eat_op("=") {
            if self.is_kw("yield") {
                return None;
            }
            targets.push(self.testlist()?);
        }
        let value = targets.pop()?;
        Some(StmtKind::Assign { targets, value })
    }

    /// Comma-separated expressions (a tuple when there is a comma), starred items allowed.
    fn testlist(&mut self) -> Option<Expr> {
        let first = self.star_or_test()?;
        if !self.is_op(",") {
            return Some(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.ends_list() {
                break;
            }
            items.push(self.star_or_test()?);
        }
        Some(Expr::Seq(items))
    }

    fn ends_list(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(Tok::Newline) | Some(Tok::Op(")" | "]" | "}" | "=" | ":" | ";")) | Some(Tok::Indent)
        ) || AUG_OPS.iter().any(|a| self.is_op(a))
    }

    /// Assignment targets of `for` and comprehensions: stops before `in`.
    fn target_list(&mut self) -> Option<Expr> {
        let mut items = vec![self.star_or(Self::or_expr)?];
        while self.eat_op(",") {
            if self.is_kw("in") {
                break;
            }
            items.push(self.star_or(Self::or_expr)?);
        }
        Some(if items.len() == 1 {
            items.pop()?
        } else {
            Expr::Seq(items)
        })
    }

    fn star_or_test(&mut self) -> Option<Expr> {
        self.star_or(Self::test)
    }

    fn star_or(&mut self, f: fn(&mut Self) -> Option<Expr>) -> Option<Expr> {
        if self.eat_op("*") {
            return Some(Expr::Star(Box::new(f(self)?)));
        }
        f(self)
    }

    /// Counts one more link of a left-nested chain (`a + b + c`, `a.b.c`, `f()()`): each link makes
    /// the tree one level deeper, so chains count against the same bound as brackets.
    fn chain(&self, links: &mut usize) -> Option<()> {
        *links += 1;
        (self.depth + *links <= MAX_NEST).then_some(())
    }

    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth > MAX_NEST {
            return None;
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn test(&mut self) -> Option<Expr> {
        self.nest(|p| {
            if p.eat_kw("lambda") {
                if !p.skip_header() {
                    return None;
                }
                p.test()?;
                return Some(Expr::Other);
            }
            let a = p.or_test()?;
            if p.is_kw("if") && !p.in_comprehension_if() {
                p.pos += 1;
                p.or_test()?;
                if !p.eat_kw("else") {
                    return None;
                }
                let b = p.test()?;
                return Some(Expr::Either(Box::new(a), Box::new(b)));
            }
            Some(a)
        })
    }

    /// `[x for x in y if c]`: that `if` is a filter, not a conditional expression. A conditional
    /// expression's `if` is always followed by an `else` at the same depth before the end of the item.
    fn in_comprehension_if(&self) -> bool {
        let mut depth = 0usize;
        let mut k = self.pos + 1;
        while let Some(t) = self.toks.get(k).map(|t| &t.tok) {
            match t {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") if depth == 0 => return true,
                Tok::Op(")" | "]" | "}") => depth -= 1,
                Tok::Op(",") | Tok::Newline if depth == 0 => return true,
                Tok::Name(n) if depth == 0 && (n == "for" || n == "if") => return true,
                Tok::Name(n) if depth == 0 && n == "else" => return false,
                Tok::Newline => return true,
                _ => {}
            }
            k += 1;
        }
        true
    }

    /// `or`/`and` give one of their operands: either.
    fn or_test(&mut self) -> Option<Expr> {
        let mut a = self.not_test()?;
        let mut chain = 0;
        while self.is_kw("or") || self.is_kw("and") {
            self.pos += 1;
            self.chain(&mut chain)?;
            let b = self.nest(Self::not_test)?;
            a = Expr::Either(Box::new(a), Box::new(b));
        }
        Some(a)
    }

    fn not_test(&mut self) -> Option<Expr> {
        if self.eat_kw("not") {
            self.nest(Self::not_test)?;
            return Some(Expr::Other);
        }
        let a = self.or_expr()?;
        let mut compared = false;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("<" | ">" | "==" | ">=" | "<=" | "!=")) => 1,
                Some(Tok::Name(n)) if n == "in" || n == "is" => 1,
                Some(Tok::Name(n)) if n == "not" && matches!(self.peek_at(1), Some(Tok::Name(m)) if m == "in") => 2,
                _ => 0,
            };
            if op == 0 {
                break;
            }
            self.pos += op;
            self.eat_kw("not");
            self.nest(Self::or_expr)?;
            compared = true;
        }
        Some(if compared { Expr::Other } else { a })
    }

    fn or_expr(&mut self) -> Option<Expr> {
        self.binary(0)
    }

    /// Binary operators by precedence level, loosest first.
    fn binary(&mut self, level: usize) -> Option<Expr> {
        const LEVELS: &[&[&str]] = &[
            &["|"],
            &["^"],
            &["&"],
            &["<<", ">>"],
            &["+", "-"],
            &["*", "/", "//", "%", "@"],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.factor();
        };
        let mut a = self.nest(|p| p.binary(level + 1))?;
        let mut chain = 0;
        while let Some(Tok::Op(op)) = self.peek() {
            let Some(op) = ops.iter().find(|o| *o == op) else { break };
            self.pos += 1;
            self.chain(&mut chain)?;
            let b = self.nest(|p| p.binary(level + 1))?;
            a = Expr::BinOp(Box::new(a), op, Box::new(b));
        }
        Some(a)
    }

    fn factor(&mut self) -> Option<Expr> {
        if self.eat_op("-") || self.eat_op("+") || self.eat_op("~") {
            self.nest(Self::factor)?;
            return Some(Expr::Other);
        }
        // `await x` is read as `x`: a coroutine's result is what the scanner wants.
        self.eat_kw("await");
        let a = self.primary()?;
        if self.eat_op("**") {
            self.nest(Self::factor)?;
            return Some(Expr::Other);
        }
        Some(a)
    }

    fn primary(&mut self) -> Option<Expr> {
        let mut e = self.atom()?;
        let mut chain = 0;
        loop {
            if matches!(self.peek(), Some(Tok::Op("." | "(" | "["))) {
                self.chain(&mut chain)?;
            }
            if self.eat_op(".") {
                e = Expr::Attr(Box::new(e), self.name()?);
            } else if self.eat_op("(") {
                let args = self.nest(Self::call_args)?;
                e = Expr::Call(Box::new(e), args);
            } else if self.eat_op("[") {
                let index = self.nest(Self::subscript)?;
                e = Expr::Subscript(Box::new(e), Box::new(index));
            } else {
                return Some(e);
            }
        }
    }

    /// Call arguments after `(`, through the closing `)`.
    fn call_args(&mut self) -> Option<Vec<Arg>> {
        let mut args = Vec::new();
        while !self.eat_op(")") {
            if self.eat_op("**") {
                args.push(Arg::DoubleStar(self.test()?));
            } else if self.eat_op("*") {
                args.push(Arg::Star(self.test()?));
            } else if matches!(self.peek_at(1), Some(Tok::Op("="))) {
                let n = self.name()?;
                self.pos += 1;
                args.push(Arg::Kw(n, self.test()?));
            } else {
                let mut e = self.test()?;
                if self.eat_op(":=") {
                    e = self.test()?;
                }
                if self.is_kw("for") {
                    e = self.comprehension(None, e)?;
                }
                args.push(Arg::Pos(e));
            }
            if !self.eat_op(",") {
                if !self.eat_op(")") {
                    return None;
                }
                break;
            }
        }
        Some(args)
    }

    /// Index after `[`, through `]`; slices become `Other`.
    fn subscript(&mut self) -> Option<Expr> {
        let mut depth = 0usize;
        let mut k = self.pos;
        let mut slice = false;
        while let Some(t) = self.toks.get(k).map(|t| &t.tok) {
            match t {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") if depth == 0 => break,
                Tok::Op(")" | "]" | "}") => depth -= 1,
                Tok::Op(":") if depth == 0 => slice = true,
                Tok::Newline => return None,
                _ => {}
            }
            k += 1;
        }
        if slice {
            self.pos = k;
            self.eat_op("]");
            return Some(Expr::Other);
        }
        let e = self.testlist()?;
        self.eat_op("]").then_some(e)
    }

    fn atom(&mut self) -> Option<Expr> {
        match self.peek()?.clone() {
            Tok::Name(n) => {
                if KEYWORDS.contains(&n.as_str()) {
                    return None;
                }
                self.pos += 1;
                Some(Expr::Name(n))
            }
            Tok::Str(_) | Tok::FStr(_) => Some(self.strings()),
            Tok::Opaque | Tok::Op("...") => {
                self.pos += 1;
                // Implicit concatenation with bytes: skip the rest.
                while matches!(self.peek(), Some(Tok::Opaque | Tok::Str(_) | Tok::FStr(_))) {
                    self.pos += 1;
                }
                Some(Expr::Other)
            }
            Tok::Op("(") => {
                self.pos += 1;
                self.nest(|p| p.group(")", false))
            }
            Tok::Op("[") => {
                self.pos += 1;
                self.nest(|p| p.group("]", true))
            }
            Tok::Op("{") => {
                self.pos += 1;
                self.nest(Self::braces)
            }
            _ => None,
        }
    }

    /// Adjacent string literals concatenate; with an f-string among them the result is an f-string,
    /// the plain parts' braces escaped.
    fn strings(&mut self) -> Expr {
        let mut text = String::new();
        let mut is_f = false;
        let mut parts: Vec<(bool, String)> = Vec::new();
        while let Some(t) = self.peek() {
            match t {
                Tok::Str(s) => parts.push((false, s.clone())),
                Tok::FStr(s) => {
                    is_f = true;
                    parts.push((true, s.clone()));
                }
                _ => break,
            }
            self.pos += 1;
        }
        for (f, s) in parts {
            if is_f && !f {
                text.push_str(&s.replace('{', "{{").replace('}', "}}"));
            } else {
                text.push_str(&s);
            }
        }
        if is_f { Expr::FStr(text) } else { Expr::Str(text) }
    }

    /// `( ... )` or `[ ... ]` after the opening bracket: a sequence, a comprehension or a parenthesized
    /// expression.
    fn group(&mut self, close: &str, list: bool) -> Option<Expr> {
        if self.eat_op(close) {
            return Some(Expr::Seq(Vec::new()));
        }
        if !list && self.eat_kw("yield") {
            self.skip_to_close(close);
            return Some(Expr::Other);
        }
        let mut first = self.star_or_test()?;
        if self.eat_op(":=") {
            first = self.test()?;
        }
        if self.is_kw("for") {
            let c = self.comprehension(None, first)?;
            return self.eat_op(close).then_some(c);
        }
        if !list && self.eat_op(close) {
            return Some(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op(close) {
                break;
            }
            items.push(self.star_or_test()?);
        }
        self.eat_op(close).then_some(Expr::Seq(items))
    }

    fn skip_to_close(&mut self, close: &str) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(o) if *o == close && depth == 0 => {
                    self.pos += 1;
                    return;
                }
                Tok::Op(")" | "]" | "}") => depth = depth.saturating_sub(1),
                Tok::Newline => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// After `{`: a dict, a set, or a comprehension of either.
    fn braces(&mut self) -> Option<Expr> {
        if self.eat_op("}") {
            return Some(Expr::Dict(Vec::new()));
        }
        let mut items = Vec::new();
        let mut set_items = Vec::new();
        loop {
            if self.eat_op("**") {
                items.push(DictItem::Spread(self.or_expr()?));
            } else {
                let k = self.star_or_test()?;
                if self.eat_op(":") {
                    let v = self.test()?;
                    if items.is_empty() && self.is_kw("for") {
                        let c = self.comprehension(Some(k), v)?;
                        return self.eat_op("}").then_some(c);
                    }
                    items.push(DictItem::Pair(k, v));
                } else {
                    if set_items.is_empty() && self.is_kw("for") {
                        let c = self.comprehension(None, k)?;
                        return self.eat_op("}").then_some(c);
                    }
                    set_items.push(k);
                }
            }
            if !self.eat_op(",") || self.is_op("}") {
                break;
            }
        }
        if !self.eat_op("}") {
            return None;
        }
        Some(if set_items.is_empty() {
            Expr::Dict(items)
        } else {
            Expr::Seq(set_items)
        })
    }

    /// `for t in it [if c]... [for ...]` after the element (and key, for a dict comprehension).
    fn comprehension(&mut self, key: Option<Expr>, value: Expr) -> Option<Expr> {
        let mut gens = Vec::new();
        loop {
            self.eat_kw("async");
            if !self.eat_kw("for") {
                break;
            }
            let target = self.target_list()?;
            if !self.eat_kw("in") {
                return None;
            }
            let iter = self.nest(Self::or_test)?;
            while self.eat_kw("if") {
                self.nest(Self::or_test)?;
            }
            gens.push((target, iter));
        }
        Some(Expr::Comp {
            key: key.map(Box::new),
            value: Box::new(value),
            gens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse_src(src: &str) -> Block {
        parse(&tokenize(src))
    }

    #[test]
    fn statements_and_blocks() {
        let b = parse_src(
            "from .a.b import X as Y, Z\nfrom . import m\nimport os.path\nif c:\n    M = {'a': A, **B}\nelse:\n    pass\n\
             for k, v in L: M[k] = v\nclass C(Base):\n    NAME = 'n'\n    def f(self, x=1): return [A, B]\n",
        );
        let kinds: Vec<&str> = b
            .iter()
            .map(|s| match &s.kind {
                StmtKind::ImportFrom { .. } => "from",
                StmtKind::Import { .. } => "import",
                StmtKind::Branches(_) => "if",
                StmtKind::For { .. } => "for",
                StmtKind::Class(_) => "class",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["from", "from", "import", "if", "for", "class"]);
        let StmtKind::ImportFrom {
            level, module, names, ..
        } = &b[0].kind
        else {
            panic!()
        };
        assert_eq!((*level, module.as_deref()), (1, Some("a.b")));
        assert_eq!(names[0], ("X".to_string(), Some("Y".to_string())));
    }

    #[test]
    fn comprehension_filter_and_conditional() {
        let b = parse_src("M = {c.__name__: c for c in L if c}\nx = a if b else c\n");
        assert!(matches!(
            &b[0].kind,
            StmtKind::Assign {
                value: Expr::Comp { key: Some(_), .. },
                ..
            }
        ));
        assert!(matches!(
            &b[1].kind,
            StmtKind::Assign {
                value: Expr::Either(..),
                ..
            }
        ));
    }

    #[test]
    fn deep_nesting_is_cut_not_overflowed() {
        let src = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
        let _ = parse_src(&src);
        let mut src = String::new();
        for i in 0..3000 {
            src.push_str(&" ".repeat(i));
            src.push_str("if x:\n");
        }
        let _ = parse_src(&src);
    }
}
