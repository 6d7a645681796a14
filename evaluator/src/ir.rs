//! The compiled form of Nix code.
//!
//! Compilation resolves every variable to a `(depth, slot)` pair or to a global, so the
//! evaluator never looks names up in maps; only variables that can come from a `with` keep
//! their name, with the depths of the enclosing `with` scopes to search.
//! Compiled trees are leaked on purpose: a file is compiled once per process and lives as
//! long as the process, so thunks and closures point into it with plain `&'static`
//! references and worker threads share it without reference counting.

use crate::source::{Pos, Span};
use crate::symbol::Symbol;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `==`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Less,
    /// `<=`
    LessEq,
    /// `>`
    Greater,
    /// `>=`
    GreaterEq,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `->`
    Impl,
    /// `//`
    Update,
    /// `++`
    Concat,
}

/// A string literal's text, and its number among all literals compiled in the process, by
/// which each evaluator keeps the literal's string value once made.
#[derive(Debug)]
pub struct Literal {
    /// The text.
    pub text: &'static str,
    /// Its number, from 0.
    pub id: u32,
}

/// How many literals were compiled so far.
static LITERALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Literal {
    /// A literal with the next number.
    pub fn new(text: &'static str) -> Literal {
        Literal { text, id: LITERALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) }
    }
}

/// A part of an interpolated string or path.
#[derive(Debug)]
pub enum StrPart {
    /// Literal text.
    Literal(&'static str),
    /// `${expr}`, with where its `${` starts (bytes, in the file of the string's span): a
    /// value that cannot be coerced is reported there, as in the reference.
    Interp(Expr, u32),
}

/// An attribute name in a select, `?`, or dynamic binding.
#[derive(Debug)]
pub enum AttrKey {
    /// A name known at compile time.
    Static(Symbol),
    /// `${expr}` or `"…${expr}…"`.
    Dynamic(Expr),
}

/// How an attribute of a set literal gets its value.
#[derive(Debug)]
pub enum AttrValue {
    /// An expression; in a `rec` set or `let` it is evaluated in the new scope.
    Expr(Expr),
    /// `inherit (from) name`: a select on the `from`-th inherit source.
    InheritFrom(usize),
}

/// One statically named attribute of a set literal or `let`.
#[derive(Debug)]
pub struct StaticAttr {
    /// Its name.
    pub name: Symbol,
    /// Its value.
    pub value: AttrValue,
    /// Where it was defined.
    pub span: Span,
    /// The same, numbered for the attributes of the set.
    pub pos: Pos,
}

/// One `${name} = value` attribute.
#[derive(Debug)]
pub struct DynamicAttr {
    /// The name expression.
    pub name: Expr,
    /// The value expression.
    pub value: Expr,
    /// Where it was defined.
    pub span: Span,
    /// The same, numbered for the attributes of the set.
    pub pos: Pos,
}

/// A set literal (`{ … }`, `rec { … }`) or the bindings of a `let`.
#[derive(Debug)]
pub struct AttrsDef {
    /// Whether the bindings see each other (a `rec` set, a `let`).
    pub rec: bool,
    /// Sources of `inherit (from)`, evaluated once each.
    pub inherit_from: Vec<Expr>,
    /// Attributes with static names, in slot order (for `rec`, slot `i` is attribute `i`).
    pub statics: Vec<StaticAttr>,
    /// Attributes with computed names.
    pub dynamics: Vec<DynamicAttr>,
    /// In a `rec` set or `let`: bindings that are just the name of a binding the reference
    /// fills first (`a = [ 1 ]; b = a;`), as `(slot, slot named)` in the reference's order.
    /// Such a slot takes the named slot's value cell itself, not a thunk reading it, as in
    /// the reference, where the printer then shows a list met again through it as
    /// `«repeated»` (see `intern_order.rs`).
    pub aliases: Vec<(u32, u32)>,
}

/// A function's parameter.
#[derive(Debug)]
pub enum Param {
    /// `x: …`: the argument is slot 0.
    Ident(Symbol),
    /// `{ a, b ? d, ... } @ x: …`: formal `i` is slot `i`; the bound name, if any, is the
    /// slot after the formals.
    Pattern {
        /// The formals in source order, with their default expressions.
        formals: Vec<(Symbol, Option<Expr>)>,
        /// Whether `...` allows other attributes.
        ellipsis: bool,
        /// The `@` name, if any.
        bind: Option<Symbol>,
    },
}

/// A compiled function.
#[derive(Debug)]
pub struct LambdaDef {
    /// The name it was bound to, for messages (`f = x: …`).
    pub name: Option<Symbol>,
    /// Its parameter.
    pub param: Param,
    /// Its body, evaluated in the new scope.
    pub body: Expr,
    /// Number of slots of the new scope.
    pub n_slots: usize,
    /// The whole function.
    pub span: Span,
    /// Where each formal of a set pattern is declared, in the order of the formals.
    pub formal_positions: Vec<Pos>,
}

/// A compiled expression.
#[derive(Debug)]
pub enum Expr {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal without interpolation.
    Str(Literal),
    /// A path literal without interpolation, already absolute and canonical.
    Path(&'static str),
    /// A value of the base environment (`true`, `map`, `builtins`, …) by index.
    Global(u32),
    /// A lexically bound variable.
    Var {
        /// How many scopes up.
        depth: u32,
        /// Slot in that scope.
        slot: u32,
        /// Where it is used: an infinite recursion met by forcing it is reported here.
        span: Span,
    },
    /// A variable that only a `with` can provide.
    WithVar {
        /// The name.
        name: Symbol,
        /// Depths and positions of the enclosing `with` scopes, innermost first.
        withs: Box<[(u32, Span)]>,
        /// Where it is used.
        span: Span,
        /// The global to fall back on (`scopedImport` code only).
        global: Option<u32>,
    },
    /// An interpolated string.
    Interp(Box<[StrPart]>, Span),
    /// An interpolated path; the first part is the absolute base.
    PathInterp(Box<[StrPart]>, Span),
    /// A list literal.
    List(Box<[Expr]>),
    /// A set literal.
    Attrs(Box<AttrsDef>),
    /// `let … in body`.
    Let(Box<AttrsDef>, Box<Expr>),
    /// A function.
    Lambda(Box<LambdaDef>),
    /// `f a b …`.
    Apply(Box<Expr>, Box<[Expr]>, Span),
    /// `e.a.b or default`.
    Select(Box<Expr>, Box<[AttrKey]>, Option<Box<Expr>>, Span),
    /// `e ? a.b`.
    HasAttr(Box<Expr>, Box<[AttrKey]>, Span),
    /// `if c then a else b`.
    If(Box<Expr>, Box<Expr>, Box<Expr>, Span),
    /// `assert c; body` with the text of `c` for the message.
    Assert(Box<Expr>, Box<Expr>, &'static str, Span),
    /// `with e; body`.
    With(Box<Expr>, Box<Expr>, Span),
    /// `!e`.
    Not(Box<Expr>, Span),
    /// `-e`.
    Negate(Box<Expr>, Span),
    /// A binary operator.
    BinOp(BinOp, Box<Expr>, Box<Expr>, Span, OperatorStarts),
    /// `__curPos`.
    CurPos(Span),
}

/// Where a binary operator's token and its right operand start (bytes, in the file of the
/// operator's span): the errors of `+` are reported where the reference reports them, at
/// the operand (or the operator) that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorStarts {
    /// The operator's token.
    pub op: u32,
    /// The right operand.
    pub rhs: u32,
}
