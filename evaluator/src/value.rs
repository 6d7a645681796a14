//! Runtime values.
//!
//! A [`Value`] is two words: a tag and either an immediate (`Int`, `Float`, `Bool`) or one
//! reference-counted pointer. Values are immutable once built, so sharing is a pointer copy;
//! only [`Thunk`]s change, once, from pending to evaluated.
//! Values are per worker thread (`Rc`); the compiled code they point into is shared.

use crate::ir::{Expr, LambdaDef};
use crate::source::Span;
use crate::symbol::Symbol;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// A Nix value, possibly not yet evaluated ([`Value::Thunk`]).
#[derive(Clone)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// 64-bit signed integer.
    Int(i64),
    /// Double-precision float.
    Float(f64),
    /// A string with its context.
    String(NixString),
    /// An absolute, canonical path.
    Path(Rc<str>),
    /// An attribute set.
    Attrs(Rc<Attrs>),
    /// A list.
    List(Rc<Vec<Value>>),
    /// A user-defined function with its environment.
    Lambda(Rc<Closure>),
    /// A builtin function, not yet applied.
    PrimOp(&'static PrimOp),
    /// A builtin function applied to fewer arguments than it takes.
    PrimOpApp(Rc<PrimOpApp>),
    /// A suspended computation.
    Thunk(Thunk),
}

impl Value {
    /// The type name as `builtins.typeOf` gives it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Path(_) => "path",
            Value::Attrs(_) => "set",
            Value::List(_) => "list",
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => "lambda",
            Value::Thunk(_) => "thunk",
        }
    }

    /// The type with an article, as Nix's error messages say it: "a set", "an integer".
    pub fn type_with_article(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::Attrs(_) => "a set",
            Value::List(_) => "a list",
            Value::Lambda(_) => "a function",
            Value::PrimOp(_) => "a built-in function",
            Value::PrimOpApp(_) => "a partially applied built-in function",
            Value::Thunk(_) => "a thunk",
        }
    }

    /// A string value without context.
    pub fn string(s: impl Into<Box<str>>) -> Value {
        Value::String(NixString::new(s.into()))
    }

    /// An attribute set value.
    pub fn attrs(attrs: Attrs) -> Value {
        Value::Attrs(Rc::new(attrs))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    /// Whether this is a function of any kind.
    pub fn is_function(&self) -> bool {
        matches!(self, Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_))
    }
}

/// One element of a string's context, in Nix's encoded form: `/nix/store/…` for a plain
/// path, `=/nix/store/….drv` for a whole derivation, `!out!/nix/store/….drv` for an output.
pub type ContextElem = Box<str>;

/// A string and the store paths it refers to.
#[derive(Clone)]
pub struct NixString(Rc<StrInner>);

/// The contents of a [`NixString`].
pub struct StrInner {
    /// The text.
    pub text: Box<str>,
    /// The context, empty for most strings.
    pub context: BTreeSet<ContextElem>,
}

impl NixString {
    /// A string without context.
    pub fn new(text: Box<str>) -> NixString {
        NixString(Rc::new(StrInner { text, context: BTreeSet::new() }))
    }

    /// A string with context.
    pub fn with_context(text: Box<str>, context: BTreeSet<ContextElem>) -> NixString {
        NixString(Rc::new(StrInner { text, context }))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// The context.
    pub fn context(&self) -> &BTreeSet<ContextElem> {
        &self.0.context
    }

    /// Whether the two strings share one allocation.
    pub fn ptr_eq(&self, other: &NixString) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// An attribute: its name, value and where it was defined.
#[derive(Clone)]
pub struct Attr {
    /// The name.
    pub name: Symbol,
    /// The value, often a thunk.
    pub value: Value,
    /// Where it was defined, for `unsafeGetAttrPos` and messages.
    pub pos: Option<Span>,
}

/// An attribute set: attributes sorted by name, so that lookups are binary searches and
/// iteration is already in the order Nix prints and lists names.
#[derive(Clone, Default)]
pub struct Attrs {
    entries: Vec<Attr>,
}

/// Below this size a linear scan comparing symbol pointers beats a binary search comparing text.
const LINEAR_SCAN_MAX: usize = 8;

impl Attrs {
    /// The empty set.
    pub fn new() -> Attrs {
        Attrs { entries: Vec::new() }
    }

    /// Builds a set from entries in any order; for duplicate names the first one wins.
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries.dedup_by(|later, earlier| later.name == earlier.name);
        Attrs { entries }
    }

    /// Builds a set from entries already sorted by name without duplicates.
    pub fn from_sorted(entries: Vec<Attr>) -> Attrs {
        debug_assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
        Attrs { entries }
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Attr> {
        self.entries.iter()
    }

    /// The entry of a name.
    #[inline]
    pub fn get_entry(&self, name: Symbol) -> Option<&Attr> {
        if self.entries.len() <= LINEAR_SCAN_MAX {
            return self.entries.iter().find(|attr| attr.name == name);
        }
        let text = name.as_str();
        self.entries
            .binary_search_by(|attr| attr.name.as_str().cmp(text))
            .ok()
            .map(|idx| &self.entries[idx])
    }

    /// The value of a name.
    #[inline]
    pub fn get(&self, name: Symbol) -> Option<&Value> {
        self.get_entry(name).map(|attr| &attr.value)
    }

    /// Whether a name is present.
    pub fn contains(&self, name: Symbol) -> bool {
        self.get_entry(name).is_some()
    }

    /// `self // other`: one merge of two sorted runs.
    pub fn update(&self, other: &Attrs) -> Attrs {
        let mut entries = Vec::with_capacity(self.entries.len() + other.entries.len());
        let (mut left, mut right) = (self.entries.iter().peekable(), other.entries.iter().peekable());
        loop {
            match (left.peek(), right.peek()) {
                (Some(l), Some(r)) => match l.name.cmp(&r.name) {
                    std::cmp::Ordering::Less => entries.push((*l).clone()),
                    std::cmp::Ordering::Greater => {
                        entries.push((*r).clone());
                        right.next();
                        continue;
                    }
                    std::cmp::Ordering::Equal => {
                        entries.push((*r).clone());
                        right.next();
                    }
                },
                (Some(l), None) => entries.push((*l).clone()),
                (None, Some(r)) => {
                    entries.push((*r).clone());
                    right.next();
                    continue;
                }
                (None, None) => break,
            }
            left.next();
        }
        Attrs { entries }
    }

    /// The entries, consumed.
    pub fn into_entries(self) -> Vec<Attr> {
        self.entries
    }
}

/// A user-defined function closed over its environment.
pub struct Closure {
    /// The compiled function.
    pub def: &'static LambdaDef,
    /// The environment it was created in.
    pub env: Rc<Env>,
}

/// A runtime scope: the slots of one static scope (a `let`, a `rec` set, a function's
/// parameters, a `with`), and the scope around it.
pub struct Env {
    /// The slot values, filled when the scope is entered.
    pub slots: RefCell<Vec<Value>>,
    /// The enclosing scope.
    pub parent: Option<Rc<Env>>,
}

impl Env {
    /// A new scope with the given slots.
    pub fn new(slots: Vec<Value>, parent: Option<Rc<Env>>) -> Rc<Env> {
        Rc::new(Env { slots: RefCell::new(slots), parent })
    }
}

/// The signature of a builtin's implementation: the evaluator, the (unforced) arguments,
/// and the span of the call.
pub type PrimOpFn = fn(&mut crate::eval::Evaluator, &[Value], Span) -> crate::error::EvalResult<Value>;

/// A builtin function.
pub struct PrimOp {
    /// Its name without the `__` prefix.
    pub name: &'static str,
    /// How many arguments it takes.
    pub arity: usize,
    /// The implementation.
    pub func: PrimOpFn,
}

/// A builtin applied to some of its arguments.
pub struct PrimOpApp {
    /// The builtin.
    pub op: &'static PrimOp,
    /// The arguments so far, fewer than its arity.
    pub args: Vec<Value>,
}

/// A lazily computed value that is computed at most once.
#[derive(Clone)]
pub struct Thunk(pub Rc<RefCell<ThunkState>>);

/// What a thunk holds.
pub enum ThunkState {
    /// Evaluate an expression in an environment.
    Pending(&'static Expr, Rc<Env>),
    /// Apply a function to an argument (lazy results of `map` and friends).
    Apply(Value, Value),
    /// Run native code (lazy results of builtins).
    Native(Box<dyn FnOnce(&mut crate::eval::Evaluator) -> crate::error::EvalResult<Value>>),
    /// Being evaluated now: forcing it again is an infinite recursion.
    Blackhole,
    /// Evaluated.
    Done(Value),
}

impl Thunk {
    /// A thunk for an expression in an environment.
    pub fn pending(expr: &'static Expr, env: Rc<Env>) -> Value {
        Value::Thunk(Thunk(Rc::new(RefCell::new(ThunkState::Pending(expr, env)))))
    }

    /// A thunk applying `func` to `arg`.
    pub fn apply(func: Value, arg: Value) -> Value {
        Value::Thunk(Thunk(Rc::new(RefCell::new(ThunkState::Apply(func, arg)))))
    }

    /// A thunk running native code.
    pub fn native(f: impl FnOnce(&mut crate::eval::Evaluator) -> crate::error::EvalResult<Value> + 'static) -> Value {
        Value::Thunk(Thunk(Rc::new(RefCell::new(ThunkState::Native(Box::new(f))))))
    }

    /// The value if already evaluated.
    pub fn value_if_done(&self) -> Option<Value> {
        match &*self.0.borrow() {
            ThunkState::Done(value) => Some(value.clone()),
            _ => None,
        }
    }
}
