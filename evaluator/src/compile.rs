//! Compilation of an rnix syntax tree into the evaluator's [`Expr`] form.
//!
//! The compiler resolves every variable against a stack of scopes. Each scope of the stack
//! becomes one runtime [`crate::value::Env`] frame, so a resolved variable is a
//! `(depth, slot)` pair. Nested attribute paths (`a.b = 1; a.c = 2;`) are merged here, at
//! compile time, as Nix does, and attributes of `rec` sets and `let` get their slots in name
//! order so that building the set needs no sort.
//! Errors (syntax errors, undefined variables, duplicate attributes) are collected, and the
//! first is the one the reference reports: its parser finds every error but undefined
//! variables, and stops at the first in the text; it looks variables up only after.

use crate::builtins::global_index;
use crate::ir::{
    AttrKey, AttrValue, AttrsDef, BinOp, DynamicAttr, Expr, LambdaDef, Literal, OperatorStarts, Param, StaticAttr,
    StrPart,
};
use crate::paths::canonicalize;
use crate::source::{FileId, Pos, Span};
use crate::symbol::Symbol;
use rnix::ast::{self, AstToken, HasEntry, InterpolPart};
use rowan::ast::AstNode;
use rustc_hash::FxHashMap;

/// One problem found while parsing or compiling.
#[derive(Clone, Debug)]
pub struct CompileError {
    /// Where.
    pub span: Span,
    /// What, as a lowercase fragment.
    pub message: String,
}

/// How a lint reports what it finds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LintLevel {
    /// Say nothing.
    #[default]
    Ignore,
    /// Report a warning and go on.
    Warn,
    /// Report an error.
    Fatal,
}

impl LintLevel {
    /// Parses `ignore`, `warn` or `fatal`.
    pub fn parse(text: &str) -> Option<LintLevel> {
        match text {
            "ignore" => Some(LintLevel::Ignore),
            "warn" => Some(LintLevel::Warn),
            "fatal" => Some(LintLevel::Fatal),
            _ => None,
        }
    }
}

/// The reference's lints on literals (`--lint-url-literals` and friends).
#[derive(Clone, Copy, Debug, Default)]
pub struct Lints {
    /// `http://example.com` without quotes.
    pub url_literals: LintLevel,
    /// `foo/bar` instead of `./foo/bar`.
    pub short_path_literals: LintLevel,
    /// `/abs/path` and `~/path` literals.
    pub absolute_path_literals: LintLevel,
}

/// Options that change how a file compiles.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Lints on literals.
    pub lints: Lints,
    /// The directory relative paths are resolved against.
    pub base_dir: String,
    /// The home directory for `~/` paths.
    pub home: Option<String>,
    /// Compile for `scopedImport`: free variables come from a scope set first.
    pub scoped: bool,
}

enum Scope {
    Static(FxHashMap<Symbol, u32>),
    /// A `with`, at its position (none for `scopedImport`'s scope, always a set).
    With(Span),
}

struct Compiler<'a> {
    file: FileId,
    options: &'a CompileOptions,
    scopes: Vec<Scope>,
    errors: Vec<CompileError>,
    warnings: Vec<CompileError>,
    /// The names from the start of the binding being collected down to the set whose
    /// attributes are being added, for the messages about duplicates (`a.b` in `a.b.c`).
    attr_path: Vec<Symbol>,
    /// The first syntax error that rnix does not see (an attribute name written as an
    /// indented string, a function where only an operand may be).
    syntax_error: Option<CompileError>,
    /// Undefined variables: reported only when the text has no other error.
    unbound: Vec<CompileError>,
    /// The file's tree, for [`Compiler::aliases`].
    root: Option<rnix::SyntaxNode>,
    /// The order in which the reference names this file's identifiers, computed when first
    /// needed (see `intern_order.rs`).
    naming: Option<crate::intern_order::Naming>,
}

/// A successful compilation: the code and the lint warnings.
pub struct Compiled {
    /// The compiled tree, leaked: see [`crate::ir`].
    pub expr: &'static Expr,
    /// Warnings to show the user.
    pub warnings: Vec<CompileError>,
    /// The names the reference would name while parsing the file, in its order (see
    /// `intern_order.rs`).
    pub names: Vec<crate::symbol::Symbol>,
}

/// Parses and compiles a source text. The returned tree is leaked: see [`crate::ir`].
pub fn compile(file: FileId, text: &str, options: &CompileOptions) -> Result<Compiled, Vec<CompileError>> {
    let parse = rnix::Root::parse(text);
    let mut compiler = Compiler {
        file,
        options,
        scopes: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        attr_path: Vec::new(),
        syntax_error: None,
        unbound: Vec::new(),
        root: None,
        naming: None,
    };
    // The reference reports the first error in the text: a token its lexer rejects (always a
    // parse error of rnix's too), or else where its parser stopped.
    let root = parse.syntax();
    let early = if parse.errors().is_empty() { None } else { crate::syntax_errors::lexical_error(file, text) };
    let first_parse_error =
        parse.errors().first().map(|error| crate::syntax_errors::error_offset(error).unwrap_or(text.len() as u32));
    if let Some((start, error)) = early {
        if first_parse_error.is_none_or(|offset| offset >= start) {
            compiler.errors.push(error);
        }
    }
    for error in parse.errors() {
        compiler.errors.push(crate::syntax_errors::parse_error(file, error, text, &root));
    }
    if !compiler.errors.is_empty() {
        // rnix may have let an earlier error through on its way to this one (or have stopped
        // at the same place, with less to say).
        let first = compiler.errors[0].span.start;
        if let Some(error) = crate::syntax_errors::let_through(file, &root).filter(|error| error.span.start <= first) {
            compiler.errors.insert(0, error);
        }
        return Err(compiler.errors);
    }
    if options.scoped {
        compiler.scopes.push(Scope::With(Span::nowhere(file)));
    }
    compiler.root = Some(root.clone());
    let root = parse.tree();
    let expr = match root.expr() {
        Some(expr) => compiler.expr(expr),
        None => {
            compiler.error(root.syntax(), "unexpected end of file");
            Expr::Int(0)
        }
    };
    // The reference finds every error but undefined variables while it parses, and stops at
    // the first in the text; variables are looked up once the whole file is parsed.
    compiler.errors.extend(compiler.syntax_error.take());
    if !compiler.errors.is_empty() {
        compiler.errors.sort_by_key(|error| error.span.start);
        return Err(compiler.errors);
    }
    if !compiler.unbound.is_empty() {
        return Err(compiler.unbound);
    }
    let names = compiler.naming().map(|naming| naming.order).unwrap_or_default();
    Ok(Compiled { expr: Box::leak(Box::new(expr)), warnings: compiler.warnings, names })
}

fn leak_str(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// A binding collected from a set literal or `let` before compilation, so that nested
/// attribute paths can be merged.
enum Binding {
    Expr(ast::Expr, Option<Symbol>),
    Nested(Box<Pending>),
    InheritVar(Symbol, Span),
    InheritFrom(usize, Symbol, Span),
}

#[derive(Default)]
struct Pending {
    rec: bool,
    statics: Vec<(Symbol, Binding, Span)>,
    index: FxHashMap<Symbol, usize>,
    dynamics: Vec<(ast::Attr, Binding, Span)>,
    inherit_from: Vec<ast::Expr>,
}

enum Key {
    Static(Symbol),
    Dynamic(ast::Attr),
}

impl Compiler<'_> {
    fn span(&self, node: &rnix::SyntaxNode) -> Span {
        let range = node.text_range();
        Span { file: self.file, start: range.start().into() }
    }

    fn error(&mut self, node: &rnix::SyntaxNode, message: impl Into<String>) {
        let span = self.span(node);
        self.errors.push(CompileError { span, message: message.into() });
    }

    fn expr(&mut self, expr: ast::Expr) -> Expr {
        self.expr_named(expr, None)
    }

    /// Compiles an expression; `name` is the attribute or variable it is bound to, used to
    /// name functions in messages.
    fn expr_named(&mut self, expr: ast::Expr, name: Option<Symbol>) -> Expr {
        let span = self.span(expr.syntax());
        match expr {
            ast::Expr::Paren(paren) => {
                if let Some(error) = crate::syntax_errors::unclosed_paren(self.file, paren.syntax()) {
                    self.note_syntax_error(error);
                }
                match paren.expr() {
                    Some(inner) => self.expr_named(inner, name),
                    None => self.missing(paren.syntax()),
                }
            }
            ast::Expr::Root(root) => match root.expr() {
                Some(inner) => self.expr(inner),
                None => self.missing(root.syntax()),
            },
            ast::Expr::Literal(literal) => self.literal(literal),
            ast::Expr::Ident(ident) => {
                let name = ident_name(&ident);
                self.variable(name, span, 0)
            }
            ast::Expr::Str(string) => self.string(string, span),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) | ast::Expr::PathSearch(_) => {
                self.path(expr, span)
            }
            ast::Expr::List(list) => Expr::List(list.items().map(|item| self.expr(item)).collect()),
            ast::Expr::AttrSet(set) => {
                let rec = set.rec_token().is_some();
                let pending = self.collect(&set, true);
                Expr::Attrs(Box::new(self.attrs_def(pending, rec)))
            }
            ast::Expr::LetIn(let_in) => {
                let pending = self.collect(&let_in, false);
                let body = let_in.body();
                let (def, body) = self.with_rec_scope(pending, |compiler| match body {
                    Some(body) => compiler.expr(body),
                    None => compiler.missing(let_in.syntax()),
                });
                Expr::Let(Box::new(def), Box::new(body))
            }
            ast::Expr::LegacyLet(legacy) => {
                let pending = self.collect(&legacy, true);
                let def = self.attrs_def(pending, true);
                let attrs = Expr::Attrs(Box::new(def));
                Expr::Select(Box::new(attrs), Box::new([AttrKey::Static(Symbol::intern("body"))]), None, span)
            }
            ast::Expr::Lambda(lambda) => self.lambda(lambda, name, span),
            ast::Expr::Apply(apply) => self.apply(apply, span),
            ast::Expr::Select(select) => {
                let target = self.opt_expr(select.expr(), select.syntax());
                let path = self.attrpath(select.attrpath());
                let default = select.default_expr().map(|e| Box::new(self.expr(e)));
                Expr::Select(Box::new(target), path, default, span)
            }
            ast::Expr::HasAttr(has) => {
                let target = self.opt_expr(has.expr(), has.syntax());
                let path = self.attrpath(has.attrpath());
                Expr::HasAttr(Box::new(target), path, span)
            }
            ast::Expr::IfElse(if_else) => {
                let cond = self.opt_expr(if_else.condition(), if_else.syntax());
                let then = self.opt_expr(if_else.body(), if_else.syntax());
                let other = self.opt_expr(if_else.else_body(), if_else.syntax());
                Expr::If(Box::new(cond), Box::new(then), Box::new(other), span)
            }
            ast::Expr::Assert(assert) => {
                let base = crate::show::PathBase { dir: &self.options.base_dir, home: self.options.home.as_deref() };
                let text = assert.condition().map_or(String::new(), |c| crate::show::show_in(&c, &base));
                let cond = self.opt_expr(assert.condition(), assert.syntax());
                let body = self.opt_expr(assert.body(), assert.syntax());
                let span = assert.assert_token().map_or(span, |t| {
                    let r = t.text_range();
                    Span { file: self.file, start: r.start().into() }
                });
                Expr::Assert(Box::new(cond), Box::new(body), leak_str(&text), span)
            }
            ast::Expr::With(with) => {
                let namespace = self.opt_expr(with.namespace(), with.syntax());
                self.scopes.push(Scope::With(span));
                let body = self.opt_expr(with.body(), with.syntax());
                self.scopes.pop();
                Expr::With(Box::new(namespace), Box::new(body), span)
            }
            ast::Expr::UnaryOp(unary) => {
                let operand_pos = self.reference_pos(unary.expr());
                let operand = self.opt_expr(unary.expr(), unary.syntax());
                match unary.operator() {
                    // The reference reports `!` at its operand, which may have no position.
                    Some(ast::UnaryOpKind::Invert) => Expr::Not(Box::new(operand), operand_pos),
                    _ => Expr::Negate(Box::new(operand), span),
                }
            }
            ast::Expr::BinOp(binop) => self.binop(binop, span),
            ast::Expr::CurPos(_) => Expr::CurPos(span),
            ast::Expr::Error(error) => self.missing(error.syntax()),
        }
    }

    fn missing(&mut self, node: &rnix::SyntaxNode) -> Expr {
        self.error(node, "syntax error, missing expression");
        Expr::Int(0)
    }

    fn opt_expr(&mut self, expr: Option<ast::Expr>, parent: &rnix::SyntaxNode) -> Expr {
        match expr {
            Some(expr) => self.expr(expr),
            None => self.missing(parent),
        }
    }

    fn literal(&mut self, literal: ast::Literal) -> Expr {
        match literal.kind() {
            ast::LiteralKind::Integer(int) => match int.value() {
                Ok(value) => Expr::Int(value),
                Err(_) => {
                    self.error(literal.syntax(), format!("invalid integer '{}'", int.syntax().text()));
                    Expr::Int(0)
                }
            },
            ast::LiteralKind::Float(float) => match float.value() {
                Ok(value)
                    if value.is_finite()
                        && (value.is_normal() || (value == 0.0 && !has_nonzero_digit(float.syntax().text()))) =>
                {
                    Expr::Float(value)
                }
                Ok(_) => {
                    self.error(literal.syntax(), format!("invalid float '{}'", float.syntax().text()));
                    Expr::Float(0.0)
                }
                Err(_) => {
                    self.error(literal.syntax(), format!("invalid float '{}'", float.syntax().text()));
                    Expr::Float(0.0)
                }
            },
            ast::LiteralKind::Uri(uri) => {
                let text = uri.syntax().text();
                let verb = match self.options.lints.url_literals {
                    LintLevel::Fatal => "disallowed",
                    _ => "discouraged",
                };
                self.lint(
                    self.options.lints.url_literals,
                    literal.syntax(),
                    format!("URL literals are {verb}. Consider using a string literal \"{text}\" instead (lint-url-literals)"),
                );
                Expr::Str(Literal::new(leak_str(text)))
            }
        }
    }

    /// Resolves a variable, skipping the innermost `skip` scopes (for `inherit` in `rec`
    /// sets and `let`, which looks outside the new scope).
    fn variable(&mut self, name: Symbol, span: Span, skip: usize) -> Expr {
        let mut withs = Vec::new();
        for (depth, scope) in self.scopes.iter().rev().enumerate().skip(skip) {
            match scope {
                Scope::Static(names) => {
                    if let Some(&slot) = names.get(&name) {
                        return Expr::Var { depth: depth as u32, slot, span };
                    }
                }
                Scope::With(with) => withs.push((depth as u32, *with)),
            }
        }
        let global = global_index(name.as_str());
        if self.options.scoped {
            return Expr::WithVar { name, withs: withs.into(), span, global };
        }
        if let Some(index) = global {
            return Expr::Global(index);
        }
        if withs.is_empty() {
            self.unbound.push(CompileError { span, message: format!("undefined variable '{name}'") });
            return Expr::Int(0);
        }
        Expr::WithVar { name, withs: withs.into(), span, global: None }
    }

    fn string(&mut self, string: ast::Str, span: Span) -> Expr {
        let raw = string.syntax().text().to_string();
        if raw.contains('\0') {
            let shown = raw.trim_matches(|c| c == '"' || c == '\'').replace('\0', "␀");
            self.error(
                string.syntax(),
                format!("input string '{shown}' cannot be represented as Nix string because it contains null bytes"),
            );
            return Expr::Str(Literal::new(""));
        }
        let indented = string.syntax().first_token().is_some_and(|t| t.text() == "''");
        if indented {
            return self.indented_string(string, span);
        }
        let parts = string.normalized_parts();
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                InterpolPart::Literal(text) => out.push(StrPart::Literal(leak_str(&text))),
                InterpolPart::Interpolation(interp) => {
                    let expr = self.opt_expr(interp.expr(), interp.syntax());
                    out.push(StrPart::Interp(expr, interp.syntax().text_range().start().into()));
                }
            }
        }
        match out.as_slice() {
            [] => Expr::Str(Literal::new("")),
            [StrPart::Literal(text)] => Expr::Str(Literal::new(text)),
            _ => Expr::Interp(out.into(), span),
        }
    }

    /// An indented string, with Nix's indentation stripping: escapes (`''$`, `'''`, `''\x`)
    /// end the leading whitespace of a line when the minimum indentation is measured, but
    /// the text they produce takes part in stripping, as in the reference
    /// (see eval-okay-indented-escapes.nix).
    fn indented_string(&mut self, string: ast::Str, span: Span) -> Expr {
        let mut pieces = Vec::new();
        for (idx, part) in string.parts().enumerate() {
            match part {
                InterpolPart::Literal(content) => {
                    let mut raw = content.syntax().text();
                    if idx == 0 {
                        let spaces = raw.len() - raw.trim_start_matches(' ').len();
                        if raw[spaces..].starts_with('\n') {
                            raw = &raw[spaces + 1..];
                        }
                    }
                    split_indented(raw, &mut pieces);
                }
                InterpolPart::Interpolation(interp) => {
                    let expr = self.opt_expr(interp.expr(), interp.syntax());
                    pieces.push(IndPiece::Interp(expr, interp.syntax().text_range().start().into()));
                }
            }
        }
        let parts = strip_indentation(pieces);
        match parts.as_slice() {
            [] => Expr::Str(Literal::new("")),
            [StrPart::Literal(text)] => Expr::Str(Literal::new(text)),
            _ => Expr::Interp(parts.into(), span),
        }
    }

    fn lint(&mut self, level: LintLevel, node: &rnix::SyntaxNode, message: String) {
        let span = self.span(node);
        match level {
            LintLevel::Ignore => {}
            LintLevel::Warn => self.warnings.push(CompileError { span, message }),
            LintLevel::Fatal => self.errors.push(CompileError { span, message }),
        }
    }

    fn lint_path(&mut self, path: &ast::Path, node: &rnix::SyntaxNode) {
        let text = node.text().to_string();
        let lints = self.options.lints;
        match path {
            ast::Path::PathAbs(_) => self.lint(
                lints.absolute_path_literals,
                node,
                format!("absolute path literals are not portable. Consider replacing path literal '{text}' by a string, relative path, or parameter (lint-absolute-path-literals)"),
            ),
            ast::Path::PathHome(_) => self.lint(
                lints.absolute_path_literals,
                node,
                format!("home path literals are not portable. Consider replacing path literal '{text}' by a string, relative path, or parameter (lint-absolute-path-literals)"),
            ),
            ast::Path::PathRel(_) if !text.starts_with("./") && !text.starts_with("../") => self.lint(
                lints.short_path_literals,
                node,
                format!("relative path literal '{text}' should be prefixed with '.' for clarity: './{text}' (lint-short-path-literals)"),
            ),
            _ => {}
        }
    }

    fn path(&mut self, expr: ast::Expr, span: Span) -> Expr {
        let Some(path) = ast::Path::cast(expr.syntax().clone()) else { return self.missing(expr.syntax()) };
        if let Some(error) = crate::syntax_errors::path_with_gap(self.file, expr.syntax()) {
            // rnix cannot split such a path into its parts.
            self.note_syntax_error(error);
            return Expr::Int(0);
        }
        self.lint_path(&path, expr.syntax());
        if let ast::Path::PathSearch(search) = &path {
            let text = search.content().map_or(String::new(), |c| c.text().to_string());
            let inner = text.trim_start_matches('<').trim_end_matches('>');
            let find_file = self.variable(Symbol::intern("__findFile"), span, 0);
            let nix_path = self.variable(Symbol::intern("__nixPath"), span, 0);
            return Expr::Apply(
                Box::new(find_file),
                Box::new([nix_path, Expr::Str(Literal::new(leak_str(inner)))]),
                span,
            );
        }
        let mut parts = Vec::new();
        for (idx, part) in path.parts().into_iter().enumerate() {
            match part {
                InterpolPart::Literal(content) => {
                    let mut text = content.text().to_string();
                    if idx == 0 {
                        text = self.path_prefix(&path, &text, expr.syntax());
                    }
                    parts.push(StrPart::Literal(leak_str(&text)));
                }
                InterpolPart::Interpolation(interp) => {
                    let inner = self.opt_expr(interp.expr(), interp.syntax());
                    parts.push(StrPart::Interp(inner, interp.syntax().text_range().start().into()));
                }
            }
        }
        match parts.as_slice() {
            [StrPart::Literal(text)] => Expr::Path(leak_str(&canonicalize(text))),
            _ => Expr::PathInterp(parts.into(), span),
        }
    }

    /// Makes the first literal part of a path absolute.
    fn path_prefix(&mut self, path: &ast::Path, text: &str, node: &rnix::SyntaxNode) -> String {
        match path {
            ast::Path::PathHome(_) => match &self.options.home {
                Some(home) => format!("{home}{}", &text[1..]),
                None => {
                    self.error(node, "the home directory is not known, so '~/' paths cannot be used");
                    text.to_string()
                }
            },
            ast::Path::PathRel(_) => format!("{}/{text}", self.options.base_dir),
            _ => text.to_string(),
        }
    }

    fn apply(&mut self, apply: ast::Apply, span: Span) -> Expr {
        let mut args = Vec::new();
        let mut current = apply;
        loop {
            args.push(current.argument());
            match current.lambda() {
                Some(ast::Expr::Apply(inner)) => current = inner,
                other => {
                    let func = fold_builtin_function(self.opt_expr(other, current.syntax()));
                    args.reverse();
                    let args: Vec<Expr> = args.into_iter().map(|a| self.opt_expr(a, current.syntax())).collect();
                    return Expr::Apply(Box::new(func), args.into(), span);
                }
            }
        }
    }

    fn binop(&mut self, binop: ast::BinOp, span: Span) -> Expr {
        use ast::BinOpKind as K;
        let lhs = self.opt_expr(binop.lhs(), binop.syntax());
        let rhs = self.opt_expr(binop.rhs(), binop.syntax());
        let op = match binop.operator() {
            Some(K::Concat) => BinOp::Concat,
            Some(K::Update) => BinOp::Update,
            Some(K::Add) => BinOp::Add,
            Some(K::Sub) => BinOp::Sub,
            Some(K::Mul) => BinOp::Mul,
            Some(K::Div) => BinOp::Div,
            Some(K::And) => BinOp::And,
            Some(K::Equal) => BinOp::Eq,
            Some(K::Implication) => BinOp::Impl,
            Some(K::Less) => BinOp::Less,
            Some(K::LessOrEq) => BinOp::LessEq,
            Some(K::More) => BinOp::Greater,
            Some(K::MoreOrEq) => BinOp::GreaterEq,
            Some(K::NotEqual) => BinOp::NotEq,
            Some(K::Or) => BinOp::Or,
            Some(K::PipeRight) | Some(K::PipeLeft) | None => BinOp::Add,
        };
        let op_start = operator_start(&binop);
        if matches!(binop.operator(), Some(K::PipeRight) | Some(K::PipeLeft) | None) {
            let at = Span { file: self.file, start: op_start.unwrap_or(span.start) };
            self.errors.push(CompileError { span: at, message: crate::syntax_errors::PIPES_DISABLED.to_string() });
        }
        let starts = OperatorStarts {
            op: op_start.unwrap_or(span.start),
            rhs: binop.rhs().map_or(span.start, |rhs| rhs.syntax().text_range().start().into()),
        };
        // Errors of the operators the reference treats as calls of builtins (arithmetic
        // other than `+`, comparisons), of `++` and of the Boolean ones are reported at the
        // operator, as the reference does; `+` chooses by what failed (see `starts`); the
        // others at the start of the expression.
        let span = match op {
            BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Less
            | BinOp::LessEq
            | BinOp::Greater
            | BinOp::GreaterEq
            | BinOp::And
            | BinOp::Or
            | BinOp::Impl
            | BinOp::Concat => Span { file: self.file, start: starts.op },
            _ => span,
        };
        // `//` reports an operand that is not a set at that operand (the left one at `span`,
        // the right one at `starts.rhs`), inside any parentheses, as the reference does.
        let (span, starts) = match op {
            BinOp::Update => (
                self.reference_pos(binop.lhs()),
                OperatorStarts { rhs: self.reference_pos(binop.rhs()).start, ..starts },
            ),
            _ => (span, starts),
        };
        Expr::BinOp(op, Box::new(lhs), Box::new(rhs), span, starts)
    }

    /// Where the reference places an expression in its messages: most expressions at
    /// their start, inside any parentheses; an operator at its token; a literal, a `let`,
    /// and an empty list nowhere ([`Span::nowhere`]); a list at its first item; `!e` and
    /// `e ? a` at `e`.
    fn reference_pos(&self, expr: Option<ast::Expr>) -> Span {
        let at = |start: rowan::TextSize| Span { file: self.file, start: start.into() };
        let Some(expr) = expr else { return Span::nowhere(self.file) };
        match &expr {
            ast::Expr::Paren(paren) => self.reference_pos(paren.expr()),
            ast::Expr::Literal(_) | ast::Expr::LetIn(_) => Span::nowhere(self.file),
            ast::Expr::Str(string) => match static_string(string) {
                Some(_) => Span::nowhere(self.file),
                // The parts start after the opening quote (`"` or `''`).
                None => {
                    let quote = string.syntax().first_token().map_or(1, |t| t.text().len() as u32);
                    Span { file: self.file, start: u32::from(expr.syntax().text_range().start()) + quote }
                }
            },
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_)
                if !expr.syntax().descendants().any(|n| n.kind() == rnix::SyntaxKind::NODE_INTERPOL) =>
            {
                Span::nowhere(self.file)
            }
            ast::Expr::List(list) => self.reference_pos(list.items().next()),
            ast::Expr::HasAttr(has) => self.reference_pos(has.expr()),
            ast::Expr::UnaryOp(unary) if unary.operator() == Some(ast::UnaryOpKind::Invert) => {
                self.reference_pos(unary.expr())
            }
            ast::Expr::BinOp(binop) => Span {
                file: self.file,
                start: operator_start(binop).unwrap_or_else(|| expr.syntax().text_range().start().into()),
            },
            _ => at(expr.syntax().text_range().start()),
        }
    }

    fn lambda(&mut self, lambda: ast::Lambda, name: Option<Symbol>, span: Span) -> Expr {
        if let Some(error) = crate::syntax_errors::function_as_operand(self.file, lambda.syntax()) {
            self.note_syntax_error(error);
        }
        let mut names = FxHashMap::default();
        let mut formal_positions = Vec::new();
        let param = match lambda.param() {
            Some(ast::Param::IdentParam(ident)) => {
                let sym = ident.ident().map_or(Symbol::intern(""), |i| ident_name(&i));
                names.insert(sym, 0);
                Param::Ident(sym)
            }
            Some(ast::Param::Pattern(pattern)) => {
                let mut formal_names = Vec::new();
                for entry in pattern.pat_entries() {
                    let entry_span = entry.ident().map_or_else(|| self.span(entry.syntax()), |i| self.span(i.syntax()));
                    formal_positions.push(Pos::of(entry_span));
                    let sym = entry.ident().map_or(Symbol::intern(""), |i| ident_name(&i));
                    if names.insert(sym, formal_names.len() as u32).is_some() {
                        self.error(entry.syntax(), format!("duplicate formal function argument '{sym}'"));
                    }
                    formal_names.push((sym, entry.default()));
                }
                let bind = pattern.pat_bind().and_then(|b| b.ident()).map(|i| ident_name(&i));
                if let Some(bind) = bind {
                    if names.contains_key(&bind) {
                        self.error(pattern.syntax(), format!("duplicate formal function argument '{bind}'"));
                    }
                    names.insert(bind, formal_names.len() as u32);
                }
                self.scopes.push(Scope::Static(names));
                let formals =
                    formal_names.into_iter().map(|(sym, default)| (sym, default.map(|d| self.expr(d)))).collect();
                self.scopes.pop();
                Param::Pattern { formals, ellipsis: pattern.ellipsis_token().is_some(), bind }
            }
            None => {
                self.error(lambda.syntax(), "syntax error, missing function parameter");
                Param::Ident(Symbol::intern(""))
            }
        };
        let n_slots = match &param {
            Param::Ident(_) => 1,
            Param::Pattern { formals, bind, .. } => formals.len() + usize::from(bind.is_some()),
        };
        let scope_names = match &param {
            Param::Ident(sym) => FxHashMap::from_iter([(*sym, 0)]),
            Param::Pattern { formals, bind, .. } => {
                let mut map: FxHashMap<Symbol, u32> =
                    formals.iter().enumerate().map(|(i, (sym, _))| (*sym, i as u32)).collect();
                if let Some(bind) = bind {
                    map.insert(*bind, formals.len() as u32);
                }
                map
            }
        };
        self.scopes.push(Scope::Static(scope_names));
        let body = self.opt_expr(lambda.body(), lambda.syntax());
        self.scopes.pop();
        Expr::Lambda(Box::new(LambdaDef { name, param, body, n_slots, span, formal_positions }))
    }

    /// Keeps a syntax error that rnix let through, the first in the text.
    fn note_syntax_error(&mut self, error: CompileError) {
        if self.syntax_error.as_ref().is_none_or(|first| error.span.start < first.span.start) {
            self.syntax_error = Some(error);
        }
    }

    fn attr_key(&mut self, attr: &ast::Attr) -> Key {
        match attr {
            ast::Attr::Ident(ident) => Key::Static(ident_name(ident)),
            ast::Attr::Str(string) => {
                if let Some(error) = crate::syntax_errors::indented_string_name(self.file, string.syntax()) {
                    self.note_syntax_error(error);
                }
                match static_string(string) {
                    Some(text) => Key::Static(Symbol::intern(&text)),
                    None => Key::Dynamic(attr.clone()),
                }
            }
            ast::Attr::Dynamic(dynamic) => match dynamic.expr() {
                Some(ast::Expr::Str(string)) => match static_string(&string) {
                    Some(text) => Key::Static(Symbol::intern(&text)),
                    None => Key::Dynamic(attr.clone()),
                },
                _ => Key::Dynamic(attr.clone()),
            },
        }
    }

    fn attrpath(&mut self, path: Option<ast::Attrpath>) -> Box<[AttrKey]> {
        let Some(path) = path else { return Box::new([]) };
        let attrs: Vec<ast::Attr> = path.attrs().collect();
        attrs
            .iter()
            .map(|attr| match self.attr_key(attr) {
                Key::Static(sym) => AttrKey::Static(sym),
                Key::Dynamic(attr) => AttrKey::Dynamic(self.dynamic_name(&attr)),
            })
            .collect()
    }

    fn dynamic_name(&mut self, attr: &ast::Attr) -> Expr {
        let span = self.span(attr.syntax());
        match attr {
            ast::Attr::Str(string) => self.string(string.clone(), span),
            ast::Attr::Dynamic(dynamic) => self.opt_expr(dynamic.expr(), dynamic.syntax()),
            ast::Attr::Ident(ident) => Expr::Str(Literal::new(ident_name(ident).as_str())),
        }
    }

    /// Gathers the bindings of a set literal or `let`, merging nested attribute paths.
    fn collect(&mut self, node: &impl HasEntry, allow_dynamic: bool) -> Pending {
        // A set literal's own duplicates are named from the literal, whatever it is merged into.
        let outer_path = std::mem::take(&mut self.attr_path);
        let mut pending = Pending::default();
        for entry in node.entries() {
            match entry {
                ast::Entry::Inherit(inherit) => self.collect_inherit(&mut pending, &inherit),
                ast::Entry::AttrpathValue(binding) => {
                    let Some(path) = binding.attrpath() else { continue };
                    let attrs: Vec<ast::Attr> = path.attrs().collect();
                    let Some(value) = binding.value() else {
                        self.missing(binding.syntax());
                        continue;
                    };
                    let span = self.span(binding.syntax());
                    if !allow_dynamic && attrs.first().is_some_and(|a| matches!(self.attr_key(a), Key::Dynamic(_))) {
                        // Reported at the `let`, as the reference reports it.
                        self.error(node.syntax(), "dynamic attributes not allowed in let");
                        continue;
                    }
                    self.insert_path(&mut pending, &attrs, value, span);
                }
            }
        }
        self.attr_path = outer_path;
        pending
    }

    fn collect_inherit(&mut self, pending: &mut Pending, inherit: &ast::Inherit) {
        let from = inherit.from().and_then(|f| f.expr());
        let from_idx = from.map(|expr| {
            pending.inherit_from.push(expr);
            pending.inherit_from.len() - 1
        });
        for attr in inherit.attrs() {
            let span = self.span(attr.syntax());
            let Key::Static(name) = self.attr_key(&attr) else {
                self.error(attr.syntax(), "dynamic attributes not allowed in inherit");
                continue;
            };
            let binding = match from_idx {
                Some(idx) => Binding::InheritFrom(idx, name, span),
                None => Binding::InheritVar(name, span),
            };
            if pending.index.contains_key(&name) {
                self.duplicate(name, span, pending);
                continue;
            }
            pending.index.insert(name, pending.statics.len());
            pending.statics.push((name, binding, span));
        }
    }

    /// Reports `name`, defined again at `span`, as the reference does: with the path from the
    /// binding's start (`a.b.c`), each name quoted unless it is a plain identifier.
    fn duplicate(&mut self, name: Symbol, span: Span, pending: &Pending) {
        let first = pending.index.get(&name).map(|&i| pending.statics[i].2);
        let location = first
            .and_then(|s| crate::source::SourceMap::global().location(s))
            .map_or(String::new(), |l| format!(" at {}:{}:{}", l.file, l.line, l.column));
        let mut shown = String::new();
        for part in self.attr_path.iter().chain(std::iter::once(&name)) {
            if !shown.is_empty() {
                shown.push('.');
            }
            crate::print::print_attr_name(&mut shown, part.as_str());
        }
        self.errors.push(CompileError { span, message: format!("attribute '{shown}' already defined{location}") });
    }

    fn insert_path(&mut self, pending: &mut Pending, path: &[ast::Attr], value: ast::Expr, span: Span) {
        let Some((first, rest)) = path.split_first() else { return };
        let key = self.attr_key(first);
        if rest.is_empty() {
            let value_name = match &key {
                Key::Static(sym) => Some(*sym),
                Key::Dynamic(_) => None,
            };
            match key {
                Key::Static(name) => match pending.index.get(&name).copied() {
                    Some(idx) => self.merge_binding(pending, idx, Binding::Expr(value, value_name), span),
                    None => {
                        pending.index.insert(name, pending.statics.len());
                        pending.statics.push((name, Binding::Expr(value, value_name), span));
                    }
                },
                Key::Dynamic(attr) => pending.dynamics.push((attr, Binding::Expr(value, None), span)),
            }
            return;
        }
        match key {
            Key::Static(name) => {
                let idx = match pending.index.get(&name).copied() {
                    Some(idx) => idx,
                    None => {
                        pending.index.insert(name, pending.statics.len());
                        pending.statics.push((name, Binding::Nested(Box::default()), span));
                        pending.statics.len() - 1
                    }
                };
                if !self.make_nested(pending, idx) {
                    self.duplicate(name, span, pending);
                    return;
                }
                if let Binding::Nested(nested) = &mut pending.statics[idx].1 {
                    let mut nested = std::mem::take(nested);
                    self.attr_path.push(name);
                    self.insert_path(&mut nested, rest, value, span);
                    self.attr_path.pop();
                    pending.statics[idx].1 = Binding::Nested(nested);
                }
            }
            Key::Dynamic(attr) => {
                let mut nested = Box::<Pending>::default();
                self.insert_path(&mut nested, rest, value, span);
                pending.dynamics.push((attr, Binding::Nested(nested), span));
            }
        }
    }

    /// Turns binding `idx` into a nested set if it is a plain set literal; false if it cannot be merged.
    fn make_nested(&mut self, pending: &mut Pending, idx: usize) -> bool {
        let binding = &pending.statics[idx].1;
        match binding {
            Binding::Nested(_) => true,
            Binding::Expr(ast::Expr::AttrSet(set), _) => {
                let set = set.clone();
                let mut nested = self.collect(&set, true);
                // A `rec` set merged with other definitions stays recursive and the merged
                // attributes join its scope (see eval-okay-regrettable-rec-attrset-merge.nix).
                nested.rec = set.rec_token().is_some();
                pending.statics[idx].1 = Binding::Nested(Box::new(nested));
                true
            }
            _ => false,
        }
    }

    /// A second definition of the name bound at `idx`. Two set literals (or sets made by
    /// paths such as `a.b = …`) merge, recursively: `{ a.b.c = 1; a = { b = { d = 2; }; }; }`
    /// is `{ a = { b = { c = 1; d = 2; }; }; }`. The attributes of a merged set join the set
    /// they are merged into, and whether that one is `rec` decides how they see each other:
    /// a second set's own `rec` is lost, as in the reference. Anything else is a duplicate.
    fn merge_binding(&mut self, pending: &mut Pending, idx: usize, binding: Binding, span: Span) {
        let name = pending.statics[idx].0;
        let is_set = matches!(binding, Binding::Nested(_) | Binding::Expr(ast::Expr::AttrSet(_), _));
        // The first definition is collected first: its own duplicates come earlier in the file.
        if !is_set || !self.make_nested(pending, idx) {
            self.duplicate(name, span, pending);
            return;
        }
        let extra = match binding {
            Binding::Nested(nested) => *nested,
            Binding::Expr(ast::Expr::AttrSet(set), _) => self.collect(&set, true),
            _ => return,
        };
        if let Binding::Nested(nested) = &mut pending.statics[idx].1 {
            let mut nested = std::mem::take(nested);
            self.attr_path.push(name);
            self.merge_sets(&mut nested, extra);
            self.attr_path.pop();
            pending.statics[idx].1 = Binding::Nested(nested);
        }
    }

    /// Adds the bindings of `extra` to `into` (see [`Compiler::merge_binding`]).
    fn merge_sets(&mut self, into: &mut Pending, extra: Pending) {
        let shift = into.inherit_from.len();
        for (sym, binding, bspan) in extra.statics {
            let binding = match binding {
                Binding::InheritFrom(i, n, s) => Binding::InheritFrom(i + shift, n, s),
                other => other,
            };
            match into.index.get(&sym).copied() {
                Some(idx) => self.merge_binding(into, idx, binding, bspan),
                None => {
                    into.index.insert(sym, into.statics.len());
                    into.statics.push((sym, binding, bspan));
                }
            }
        }
        into.inherit_from.extend(extra.inherit_from);
        into.dynamics.extend(extra.dynamics);
    }

    /// Compiles collected bindings as a set; a `rec` set gets its own scope.
    fn attrs_def(&mut self, pending: Pending, rec: bool) -> AttrsDef {
        if rec {
            let (def, ()) = self.with_rec_scope(pending, |_| ());
            return def;
        }
        self.compile_pending(pending, false, 0)
    }

    /// Pushes the scope of a `rec` set or `let`, compiles its bindings and `inner` in it.
    fn with_rec_scope<T>(&mut self, mut pending: Pending, inner: impl FnOnce(&mut Self) -> T) -> (AttrsDef, T) {
        pending.statics.sort_by_key(|a| a.0);
        let names = pending.statics.iter().enumerate().map(|(i, (sym, _, _))| (*sym, i as u32)).collect();
        self.scopes.push(Scope::Static(names));
        let mut def = self.compile_pending(pending, true, 1);
        def.aliases = self.aliases(&def);
        let result = inner(self);
        self.scopes.pop();
        (def, result)
    }

    /// The bindings of a `rec` set or `let` that take another binding's cell
    /// ([`AttrsDef::aliases`]): those that are just the name of a binding of the same
    /// scope the reference names earlier, in the order it names them.
    fn aliases(&mut self, def: &AttrsDef) -> Vec<(u32, u32)> {
        let candidates: Vec<(usize, u32)> = def
            .statics
            .iter()
            .enumerate()
            .filter_map(|(i, attr)| match attr.value {
                AttrValue::Expr(Expr::Var { depth: 0, slot, .. }) if slot as usize != i => Some((i, slot)),
                _ => None,
            })
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        if self.naming.is_none() {
            self.naming = self.root.as_ref().map(crate::intern_order::Naming::of);
        }
        let Some(naming) = &self.naming else { return Vec::new() };
        let rank = |slot: usize| def.statics.get(slot).and_then(|attr| naming.rank(attr.name));
        let mut aliases: Vec<(u32, u32, u32)> = candidates
            .into_iter()
            .filter_map(|(i, named)| {
                let (own, other) = (rank(i)?, rank(named as usize)?);
                (other < own).then_some((own, i as u32, named))
            })
            .collect();
        aliases.sort_unstable();
        aliases.into_iter().map(|(_, slot, named)| (slot, named)).collect()
    }

    /// The file's naming (see `intern_order.rs`), taken out of the compiler.
    fn naming(&mut self) -> Option<crate::intern_order::Naming> {
        self.naming.take().or_else(|| self.root.as_ref().map(crate::intern_order::Naming::of))
    }

    fn compile_pending(&mut self, mut pending: Pending, rec: bool, inherit_skip: usize) -> AttrsDef {
        if !rec {
            pending.statics.sort_by_key(|a| a.0);
        }
        let inherit_from = pending.inherit_from.into_iter().map(|e| self.expr(e)).collect();
        let statics = pending
            .statics
            .into_iter()
            .map(|(name, binding, span)| {
                let value = self.binding(binding, inherit_skip);
                StaticAttr { name, value, span, pos: Pos::of(span) }
            })
            .collect();
        let dynamics = pending
            .dynamics
            .into_iter()
            .map(|(attr, binding, span)| {
                let name = self.dynamic_name(&attr);
                let value = match self.binding(binding, inherit_skip) {
                    AttrValue::Expr(expr) => expr,
                    AttrValue::InheritFrom(_) => Expr::Int(0),
                };
                DynamicAttr { name, value, span, pos: Pos::of(span) }
            })
            .collect();
        AttrsDef { rec, inherit_from, statics, dynamics, aliases: Vec::new() }
    }

    fn binding(&mut self, binding: Binding, inherit_skip: usize) -> AttrValue {
        match binding {
            Binding::Expr(expr, name) => AttrValue::Expr(self.expr_named(expr, name)),
            Binding::Nested(nested) => {
                let rec = nested.rec;
                AttrValue::Expr(Expr::Attrs(Box::new(self.attrs_def(*nested, rec))))
            }
            Binding::InheritVar(name, span) => AttrValue::Expr(self.variable(name, span, inherit_skip)),
            Binding::InheritFrom(idx, name, _) => {
                let _ = name;
                AttrValue::InheritFrom(idx)
            }
        }
    }
}

/// Whether a float literal's mantissa has a non-zero digit (so a zero result is an underflow).
fn has_nonzero_digit(text: &str) -> bool {
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    mantissa.chars().any(|c| c.is_ascii_digit() && c != '0')
}

/// The name of an identifier node (`or` is an identifier too).
fn ident_name(ident: &ast::Ident) -> Symbol {
    match ident.ident_token() {
        Some(token) => Symbol::intern(token.text()),
        None => Symbol::intern(&ident.syntax().text().to_string()),
    }
}

/// The text of a string without interpolation, or `None`.
/// Where a binary operator's token starts.
fn operator_start(binop: &ast::BinOp) -> Option<u32> {
    binop
        .syntax()
        .children_with_tokens()
        .find(|t| t.as_token().is_some_and(|t| ast::BinOpKind::from_kind(t.kind()).is_some()))
        .map(|t| u32::from(t.text_range().start()))
}

/// The text of a string literal without interpolation (`None` when it has one).
pub fn static_string(string: &ast::Str) -> Option<String> {
    let parts = string.normalized_parts();
    let mut text = String::new();
    for part in parts {
        match part {
            InterpolPart::Literal(literal) => text.push_str(&literal),
            InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(text)
}

/// A piece of an indented string before indentation stripping.
enum IndPiece {
    /// Literal text from the source.
    Text(String),
    /// The text an escape stands for.
    Escape(String),
    /// An interpolation, and where its `${` starts.
    Interp(Expr, u32),
}

/// Splits the raw text of an indented string into literal runs and escapes.
fn split_indented(raw: &str, pieces: &mut Vec<IndPiece>) {
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.peek() == Some(&'\'') {
            chars.next();
            let escaped = match chars.next() {
                Some('$') => "$".to_string(),
                Some('\'') => "''".to_string(),
                Some('\\') => match chars.next() {
                    Some('n') => "\n".to_string(),
                    Some('r') => "\r".to_string(),
                    Some('t') => "\t".to_string(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                Some(other) => format!("''{other}"),
                None => "''".to_string(),
            };
            if !text.is_empty() {
                pieces.push(IndPiece::Text(std::mem::take(&mut text)));
            }
            pieces.push(IndPiece::Escape(escaped));
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        pieces.push(IndPiece::Text(text));
    }
}

/// Nix's indentation stripping over the pieces of an indented string.
fn strip_indentation(pieces: Vec<IndPiece>) -> Vec<StrPart> {
    let mut at_line_start = true;
    let mut min_indent = usize::MAX;
    let mut indent = 0;
    for piece in &pieces {
        let IndPiece::Text(text) = piece else {
            if at_line_start {
                at_line_start = false;
                min_indent = min_indent.min(indent);
            }
            continue;
        };
        for c in text.chars() {
            if at_line_start {
                match c {
                    ' ' => indent += 1,
                    '\n' => indent = 0,
                    _ => {
                        at_line_start = false;
                        min_indent = min_indent.min(indent);
                    }
                }
            } else if c == '\n' {
                at_line_start = true;
                indent = 0;
            }
        }
    }
    let mut out: Vec<StrPart> = Vec::new();
    let mut current = String::new();
    let mut at_line_start = true;
    let mut dropped = 0;
    let n_pieces = pieces.len();
    for (idx, piece) in pieces.into_iter().enumerate() {
        let text = match piece {
            IndPiece::Interp(expr, start) => {
                at_line_start = false;
                dropped = 0;
                if !current.is_empty() {
                    out.push(StrPart::Literal(leak_str(&std::mem::take(&mut current))));
                }
                out.push(StrPart::Interp(expr, start));
                continue;
            }
            IndPiece::Text(text) | IndPiece::Escape(text) => text,
        };
        let mut stripped = String::with_capacity(text.len());
        for c in text.chars() {
            if at_line_start {
                match c {
                    ' ' => {
                        if dropped >= min_indent {
                            stripped.push(c);
                        }
                        dropped += 1;
                    }
                    '\n' => {
                        dropped = 0;
                        stripped.push(c);
                    }
                    _ => {
                        at_line_start = false;
                        dropped = 0;
                        stripped.push(c);
                    }
                }
            } else {
                stripped.push(c);
                if c == '\n' {
                    at_line_start = true;
                }
            }
        }
        if idx + 1 == n_pieces {
            if let Some(p) = stripped.rfind('\n') {
                if stripped[p + 1..].chars().all(|c| c == ' ') {
                    stripped.truncate(p + 1);
                }
            }
        }
        current.push_str(&stripped);
    }
    if !current.is_empty() {
        out.push(StrPart::Literal(leak_str(&current)));
    }
    out
}

/// `builtins.name` called as a function is the global of that builtin: the same value,
/// without a lookup in the `builtins` set on every call. Only in call position, where the
/// function is evaluated at once anyway (elsewhere the select is a thunk, which lazy
/// printing shows as `<CODE>`).
fn fold_builtin_function(func: Expr) -> Expr {
    if let Expr::Select(target, path, None, _) = &func {
        if let (Expr::Global(index), [AttrKey::Static(name)]) = (&**target, &path[..]) {
            if Some(*index) == crate::builtins::global_index("builtins") {
                if let Some(global) = crate::builtins::builtin_function_global(name.as_str()) {
                    return Expr::Global(global);
                }
            }
        }
    }
    func
}
