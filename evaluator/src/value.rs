//! Runtime values.
//!
//! A [`Value`] is two words: a tag and either an immediate (`Int`, `Float`, `Bool`) or one
//! reference-counted pointer. Values are immutable once built, so sharing is a pointer copy;
//! only [`Thunk`]s change, once, from pending to evaluated.
//! Values are per worker thread (`Rc`); the compiled code they point into is shared.

pub use crate::env::{release_scopes, track_scopes, Env};
use crate::ir::{Expr, LambdaDef};
pub use crate::shared::Shared;
use crate::source::Span;
use crate::symbol::Symbol;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::rc::Rc;

/// A Nix value, possibly not yet evaluated ([`Value::Thunk`]).
///
/// The tag is a whole word, so every payload (even a `bool`) sits in the second word: values
/// are copied as two aligned words, never byte by byte, which kept the processor from
/// forwarding stores to loads on the interpreter's hottest paths.
#[repr(u64)]
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
    Path(Rc<String>),
    /// An attribute set.
    Attrs(Rc<Attrs>),
    /// A list.
    List(Rc<Vec<Value>>),
    /// A user-defined function with its environment.
    Lambda(Shared<Closure>),
    /// A builtin function, not yet applied.
    PrimOp(&'static PrimOp),
    /// A builtin function applied to fewer arguments than it takes.
    PrimOpApp(Rc<PrimOpApp>),
    /// A suspended computation.
    Thunk(Thunk),
}

impl Clone for Value {
    /// Copies the two words and counts one more reference; inlined, since it is on every
    /// variable access.
    #[inline(always)]
    fn clone(&self) -> Value {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(n) => Value::Int(*n),
            Value::Float(f) => Value::Float(*f),
            Value::String(s) => Value::String(s.clone()),
            Value::Path(p) => Value::Path(p.clone()),
            Value::Attrs(a) => Value::Attrs(a.clone()),
            Value::List(l) => Value::List(l.clone()),
            Value::Lambda(c) => Value::Lambda(c.clone()),
            Value::PrimOp(op) => Value::PrimOp(op),
            Value::PrimOpApp(app) => Value::PrimOpApp(app.clone()),
            Value::Thunk(t) => Value::Thunk(t.clone()),
        }
    }
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
    /// The context; most strings have none, so it costs a pointer until they do (an inline
    /// empty `BTreeSet` would take three words in every string).
    #[allow(clippy::box_collection)]
    context: Option<Box<BTreeSet<ContextElem>>>,
    /// The interned form of the text, once the string has been used as an attribute name:
    /// names from `attrNames` are looked up again and again with `.${name}`.
    symbol: std::cell::Cell<Option<Symbol>>,
}

impl NixString {
    /// A string without context.
    pub fn new(text: Box<str>) -> NixString {
        NixString(Rc::new(StrInner { text, context: None, symbol: std::cell::Cell::new(None) }))
    }

    /// A string with context.
    pub fn with_context(text: Box<str>, context: BTreeSet<ContextElem>) -> NixString {
        let context = (!context.is_empty()).then(|| Box::new(context));
        NixString(Rc::new(StrInner { text, context, symbol: std::cell::Cell::new(None) }))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// A string naming an attribute, with its symbol already known.
    pub fn from_symbol(symbol: Symbol) -> NixString {
        let inner =
            StrInner { text: symbol.as_str().into(), context: None, symbol: std::cell::Cell::new(Some(symbol)) };
        NixString(Rc::new(inner))
    }

    /// The interned form of the text, computed once per string.
    #[inline]
    pub fn to_symbol(&self) -> Symbol {
        if let Some(symbol) = self.0.symbol.get() {
            return symbol;
        }
        let symbol = Symbol::intern(&self.0.text);
        self.0.symbol.set(Some(symbol));
        symbol
    }

    /// The context.
    pub fn context(&self) -> &BTreeSet<ContextElem> {
        static EMPTY: BTreeSet<ContextElem> = BTreeSet::new();
        self.0.context.as_deref().unwrap_or(&EMPTY)
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
///
/// `a // b` with a small `b` does not copy `a`: the result keeps `a` as a shared `base` and
/// only the (small) overriding entries in `top`. When `top` grows past about the square
/// root of the base, the set is flattened again, so lookups stay at two binary searches and
/// a chain of `//` costs O(n√n) instead of O(n²) copies.
#[derive(Clone, Default)]
pub struct Attrs {
    /// Own entries, sorted by name; they shadow entries of `base` with the same name.
    top: Vec<Attr>,
    /// The flat set this one extends; never itself layered.
    base: Option<Rc<Attrs>>,
    /// Number of distinct names.
    len: u32,
    /// For large sets that are looked up often: position of each name in `top`, built after
    /// [`INDEX_AFTER_LOOKUPS`] lookups, so a lookup hashes a pointer instead of comparing
    /// text about log2(n) times.
    index: std::cell::OnceCell<Box<FxHashMap<Symbol, u32>>>,
    /// Lookups so far, until the index is built.
    lookups: std::cell::Cell<u32>,
}

/// Sets with more entries than this get a hash index once they are looked up often.
const INDEX_MIN_LEN: usize = 64;
/// How many lookups a large set sees before it gets its hash index.
const INDEX_AFTER_LOOKUPS: u32 = 32;

/// Below this size a linear scan comparing symbol pointers beats a binary search comparing text.
const LINEAR_SCAN_MAX: usize = 16;

/// Searches a sorted run of entries.
#[inline]
fn find_in(entries: &[Attr], name: Symbol) -> Option<&Attr> {
    if entries.len() <= LINEAR_SCAN_MAX {
        return entries.iter().find(|attr| attr.name == name);
    }
    let text = name.as_str();
    entries.binary_search_by(|attr| attr.name.as_str().cmp(text)).ok().map(|idx| &entries[idx])
}

impl Attrs {
    /// The empty set.
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// Builds a set from entries in any order; for duplicate names the first one wins.
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by_key(|a| a.name);
        entries.dedup_by(|later, earlier| later.name == earlier.name);
        Attrs::from_sorted(entries)
    }

    /// Builds a set from entries already sorted by name without duplicates.
    pub fn from_sorted(entries: Vec<Attr>) -> Attrs {
        debug_assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
        let len = entries.len() as u32;
        Attrs { top: entries, base: None, len, ..Attrs::default() }
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The attributes in name order.
    pub fn iter(&self) -> AttrsIter<'_> {
        match &self.base {
            None => AttrsIter::Flat(self.top.iter()),
            Some(base) => AttrsIter::Layered { top: self.top.iter().peekable(), base: base.top.iter().peekable() },
        }
    }

    /// The entry of a name.
    #[inline]
    pub fn get_entry(&self, name: Symbol) -> Option<&Attr> {
        match self.find_own(name) {
            Some(attr) => Some(attr),
            None => self.base.as_ref().and_then(|base| base.find_own(name)),
        }
    }

    /// Looks a name up in `top`, through the hash index where there is one.
    #[inline]
    fn find_own(&self, name: Symbol) -> Option<&Attr> {
        if self.top.len() <= INDEX_MIN_LEN {
            return find_in(&self.top, name);
        }
        if let Some(index) = self.index.get() {
            return index.get(&name).map(|&idx| &self.top[idx as usize]);
        }
        let seen = self.lookups.get() + 1;
        self.lookups.set(seen);
        if seen >= INDEX_AFTER_LOOKUPS {
            let index = self.index.get_or_init(|| {
                Box::new(self.top.iter().enumerate().map(|(idx, attr)| (attr.name, idx as u32)).collect())
            });
            return index.get(&name).map(|&idx| &self.top[idx as usize]);
        }
        find_in(&self.top, name)
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

    /// `self // other`, copying all of `self` (see [`Attrs::update_shared`] for the cheap form).
    pub fn update(&self, other: &Attrs) -> Attrs {
        Attrs::from_sorted(merge_runs(self.iter(), other.iter()))
    }

    /// `left // right`, sharing `left` when `right` is small next to it.
    pub fn update_shared(left: &Rc<Attrs>, right: &Attrs) -> Attrs {
        let (base_len, new_top_len) = match &left.base {
            Some(base) => (base.len(), left.top.len() + right.len()),
            None => (left.len(), right.len()),
        };
        let limit = 16 + 2 * (base_len as f64).sqrt() as usize;
        if base_len < 64 || new_top_len > limit {
            return left.update(right);
        }
        let added = right.iter().filter(|attr| !left.contains(attr.name)).count();
        let (base, top) = match &left.base {
            Some(base) => (base.clone(), merge_runs(left.top.iter(), right.iter())),
            None => (left.clone(), right.iter().cloned().collect()),
        };
        Attrs { top, base: Some(base), len: left.len + added as u32, ..Attrs::default() }
    }

    /// The entries, consumed, in name order.
    pub fn into_entries(self) -> Vec<Attr> {
        match self.base {
            None => self.top,
            Some(_) => self.iter().cloned().collect(),
        }
    }
}

/// Merges two sorted runs; on equal names the entry of `right` wins.
fn merge_runs<'a>(left: impl Iterator<Item = &'a Attr>, right: impl Iterator<Item = &'a Attr>) -> Vec<Attr> {
    let (mut left, mut right) = (left.peekable(), right.peekable());
    let mut out = Vec::with_capacity(left.size_hint().0 + right.size_hint().0);
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => match l.name.cmp(&r.name) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => {
                    left.next();
                    false
                }
            },
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next.cloned());
    }
    out
}

/// Iterator over the attributes of a set in name order.
pub enum AttrsIter<'a> {
    /// A flat set.
    Flat(std::slice::Iter<'a, Attr>),
    /// A layered set: `top` shadows `base`.
    Layered {
        /// The overriding entries.
        top: std::iter::Peekable<std::slice::Iter<'a, Attr>>,
        /// The shared base.
        base: std::iter::Peekable<std::slice::Iter<'a, Attr>>,
    },
}

impl<'a> Iterator for AttrsIter<'a> {
    type Item = &'a Attr;

    #[inline]
    fn next(&mut self) -> Option<&'a Attr> {
        match self {
            AttrsIter::Flat(iter) => iter.next(),
            AttrsIter::Layered { top, base } => match (top.peek(), base.peek()) {
                (Some(t), Some(b)) => match t.name.cmp(&b.name) {
                    std::cmp::Ordering::Less => top.next(),
                    std::cmp::Ordering::Greater => base.next(),
                    std::cmp::Ordering::Equal => {
                        base.next();
                        top.next()
                    }
                },
                (Some(_), None) => top.next(),
                (None, _) => base.next(),
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            AttrsIter::Flat(iter) => iter.size_hint(),
            AttrsIter::Layered { top, base } => {
                let (t, b) = (top.size_hint().0, base.size_hint().0);
                (t.max(b), Some(t + b))
            }
        }
    }
}

/// A user-defined function closed over its environment.
pub struct Closure {
    /// The compiled function.
    pub def: &'static LambdaDef,
    /// The environment it was created in.
    pub env: Env,
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
pub struct Thunk(pub Shared<ThunkCell>);

/// The state of a thunk, behind an interface that never lends a reference into it: the
/// state is read by cloning a finished value out and changed by swapping a whole state in,
/// so no borrow can be alive while evaluation changes it (and no borrow flag is needed:
/// a thunk is 40 bytes with its reference counts instead of 48).
pub struct ThunkCell(std::cell::UnsafeCell<ThunkState>);

impl ThunkCell {
    /// A cell holding `state`.
    pub fn new(state: ThunkState) -> ThunkCell {
        ThunkCell(std::cell::UnsafeCell::new(state))
    }

    /// The value, if the thunk has been evaluated.
    #[inline]
    pub fn done(&self) -> Option<Value> {
        // SAFETY: the reference lives only inside this function, which calls nothing that
        // could reach this cell (cloning a value only touches reference counts, which live
        // outside the cell); cells are neither `Sync` nor reachable from other threads.
        match unsafe { &*self.0.get() } {
            ThunkState::Done(value) => Some(value.clone()),
            _ => None,
        }
    }

    /// Puts `state` in and returns the previous state (dropped by the caller, outside).
    #[inline]
    pub fn replace(&self, state: ThunkState) -> ThunkState {
        // SAFETY: no reference into the cell exists outside `done` and this function, and
        // neither calls out while holding one.
        unsafe { std::mem::replace(&mut *self.0.get(), state) }
    }
}

/// Native code computing a thunk's value.
pub type NativeThunk = Box<dyn FnOnce(&mut crate::eval::Evaluator) -> crate::error::EvalResult<Value>>;

/// What a thunk holds.
pub enum ThunkState {
    /// Evaluate an expression in an environment.
    Pending(&'static Expr, Env),
    /// Apply a function to an argument (lazy results of `map` and friends); boxed so that
    /// every thunk stays three words.
    Apply(Box<(Value, Value)>),
    /// Apply a function to an integer (`genList`'s elements): no allocation beyond the
    /// thunk's own.
    ApplyIndex(Shared<Closure>, i64),
    /// Run native code (lazy results of builtins).
    Native(NativeThunk),
    /// Being evaluated now: forcing it again is an infinite recursion.
    Blackhole,
    /// Evaluated.
    Done(Value),
}

impl Thunk {
    /// A thunk for an expression in an environment.
    pub fn pending(expr: &'static Expr, env: Env) -> Value {
        Value::Thunk(Thunk(Shared::new(ThunkCell::new(ThunkState::Pending(expr, env)))))
    }

    /// A thunk applying `func` to `arg`.
    pub fn apply(func: Value, arg: Value) -> Value {
        Value::Thunk(Thunk(Shared::new(ThunkCell::new(ThunkState::Apply(Box::new((func, arg)))))))
    }

    /// A thunk applying the function `func` to the integer `index`.
    pub fn apply_index(func: &Shared<Closure>, index: i64) -> Value {
        Value::Thunk(Thunk(Shared::new(ThunkCell::new(ThunkState::ApplyIndex(func.clone(), index)))))
    }

    /// A thunk running native code.
    pub fn native(f: impl FnOnce(&mut crate::eval::Evaluator) -> crate::error::EvalResult<Value> + 'static) -> Value {
        Value::Thunk(Thunk(Shared::new(ThunkCell::new(ThunkState::Native(Box::new(f))))))
    }

    /// The value if already evaluated.
    pub fn value_if_done(&self) -> Option<Value> {
        self.0.done()
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// The evaluator makes millions of these: their sizes are part of its performance.
    #[test]
    fn hot_types_stay_small() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<ThunkState>(), 24);
        assert_eq!(std::mem::size_of::<ThunkCell>(), 24);
        assert_eq!(std::mem::size_of::<StrInner>(), 32);
        assert_eq!(std::mem::size_of::<Attr>(), 32);
        assert!(std::mem::size_of::<Attrs>() <= 48, "{}", std::mem::size_of::<Attrs>());
    }
}
