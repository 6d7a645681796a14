//! Runtime values.
//!
//! A [`Value`] is two words: a tag and either an immediate (`Int`, `Float`, `Bool`) or one
//! reference-counted pointer. Values are immutable once built, so sharing is a pointer copy;
//! only [`Thunk`]s change, once, from pending to evaluated.
//! Values are per worker thread (`Rc`); the compiled code they point into is shared.

pub use crate::env::{release_scopes, take_tracked_scopes, track_scopes, Env, TrackedScopes};
use crate::ir::{Expr, LambdaDef};
use crate::shared::RefCount;
pub use crate::shared::Shared;
use crate::source::{Pos, Span};
use crate::symbol::Symbol;
use rustc_hash::FxHashMap;
use std::alloc::Layout;
use std::cell::{Cell, OnceCell};
use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::ptr::NonNull;
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
    Attrs(Attrs),
    /// A list.
    List(List),
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

    /// The type with an article, as Nix's error messages say it: "a set", "an integer", "a
    /// string with context", "the built-in function 'map'".
    pub fn type_with_article(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(s) if s.has_context() => "a string with context",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::Attrs(_) => "a set",
            Value::List(_) => "a list",
            Value::Lambda(_) => "a function",
            Value::PrimOp(op) => return Cow::Owned(format!("the built-in function '{}'", op.name)),
            Value::PrimOpApp(app) => {
                return Cow::Owned(format!("the partially applied built-in function '{}'", app.op.name));
            }
            Value::Thunk(_) => "a thunk",
        })
    }

    /// A string value without context.
    pub fn string(s: impl AsRef<str>) -> Value {
        Value::String(NixString::new(s.as_ref()))
    }

    /// An attribute set value.
    pub fn attrs(attrs: Attrs) -> Value {
        Value::Attrs(attrs)
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::new(items))
    }

    /// Whether this is a function of any kind.
    pub fn is_function(&self) -> bool {
        matches!(self, Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_))
    }
}

/// One element of a string's context, in Nix's encoded form: `/nix/store/…` for a plain
/// path, `=/nix/store/….drv` for a whole derivation, `!out!/nix/store/….drv` for an output.
pub type ContextElem = Box<str>;

/// `Clone` and `Drop` for a handle to a block that starts with a [`RefCount`] (`head()`
/// reaches it) and is freed by `free()` with the last handle.
macro_rules! counted_handle {
    ($handle:ident) => {
        impl Clone for $handle {
            #[inline(always)]
            fn clone(&self) -> $handle {
                self.head().count.add();
                $handle { ptr: self.ptr, owns: PhantomData }
            }
        }

        impl Drop for $handle {
            #[inline(always)]
            fn drop(&mut self) {
                if self.head().count.release() {
                    self.free();
                }
            }
        }
    };
}

/// A string and the store paths it refers to.
///
/// One allocation holds a small header and the text after it: a string of 26 bytes takes
/// one block of 56 bytes, where a counted pointer to a boxed text took two blocks and 80.
pub struct NixString {
    ptr: NonNull<StrHead>,
    /// Owns a `StrHead` and its text; neither `Send` nor `Sync`.
    owns: PhantomData<StrHead>,
}

/// Writes the text of a string being built by [`NixString::build`].
pub struct StrWriter<'a> {
    /// Where the next piece goes.
    at: *mut u8,
    /// Bytes left in the block.
    room: usize,
    owns: PhantomData<&'a mut [u8]>,
}

impl StrWriter<'_> {
    /// Appends a piece, if it fits whole.
    #[inline]
    pub fn push(&mut self, piece: &str) {
        if piece.len() <= self.room {
            // SAFETY: `room` bytes from `at` belong to the block, and the piece fits.
            unsafe {
                std::ptr::copy_nonoverlapping(piece.as_ptr(), self.at, piece.len());
                self.at = self.at.add(piece.len());
            }
            self.room -= piece.len();
        }
    }
}

/// The start of a string's allocation; `len` bytes of UTF-8 follow it.
#[repr(C)]
struct StrHead {
    /// Handles to the string.
    count: RefCount,
    /// The interned form of the text, once the string has been used as an attribute name:
    /// names from `attrNames` are looked up again and again with `.${name}`.
    symbol: Cell<Option<Symbol>>,
    /// Length of the text in bytes, with [`HAS_CONTEXT`] set when a context follows the
    /// text. Most strings have none, so it costs nothing until they do: the header is two
    /// words, where a pointer to the context in it made three (8 bytes more in every string).
    len_flags: usize,
}

/// The bit of [`StrHead::len_flags`] that says a context follows the text (no length
/// reaches it: a block is at most `isize::MAX` bytes).
const HAS_CONTEXT: usize = 1 << (usize::BITS - 1);

/// A string's context, as it is kept after the text.
#[allow(clippy::box_collection)]
type BoxedContext = Box<BTreeSet<ContextElem>>;

/// The layout of a string of `len` bytes, rounded up to whole words (blocks of a few words
/// come from the allocator's fastest pools), and where its context goes when it has one
/// (right after the text, aligned); the text starts at [`TEXT_OFFSET`].
#[inline]
fn str_layout(len: usize, with_context: bool) -> (Layout, usize) {
    const WORD: usize = std::mem::size_of::<BoxedContext>();
    let end = TEXT_OFFSET.checked_add(len).and_then(|end| end.checked_next_multiple_of(WORD));
    let size = match end {
        Some(end) if with_context => end.checked_add(WORD),
        end => end,
    };
    let (Some(end), Some(size)) = (end, size) else { std::process::abort() };
    let layout =
        Layout::from_size_align(size, std::mem::align_of::<StrHead>()).unwrap_or_else(|_| std::process::abort());
    (layout, end)
}

const _: () = assert!(std::mem::align_of::<StrHead>() == std::mem::align_of::<BoxedContext>());
const _: () = assert!(std::mem::size_of::<BoxedContext>() == std::mem::align_of::<BoxedContext>());

/// Where a string's text starts in its block: right after the header, whose size is a
/// multiple of its alignment, so no padding comes between.
const TEXT_OFFSET: usize = std::mem::size_of::<StrHead>();

const _: () = assert!(TEXT_OFFSET == 16);

impl NixString {
    /// A string without context.
    pub fn new(text: &str) -> NixString {
        NixString::from_pieces([text].into_iter(), None)
    }

    /// A string with context.
    pub fn with_context(text: &str, context: BTreeSet<ContextElem>) -> NixString {
        NixString::from_pieces([text].into_iter(), (!context.is_empty()).then(|| Box::new(context)))
    }

    /// The pieces, joined, with context: the text is written straight into the string's
    /// block, so building a string from parts allocates once.
    #[allow(clippy::box_collection)]
    pub fn from_pieces<'a>(
        pieces: impl Iterator<Item = &'a str> + Clone,
        context: Option<Box<BTreeSet<ContextElem>>>,
    ) -> NixString {
        let len = pieces.clone().fold(0usize, |len, piece| len.saturating_add(piece.len()));
        NixString::build(len, context, |text| pieces.for_each(|piece| text.push(piece)))
    }

    /// A string of `len` bytes whose text `write` pushes into the string's block.
    ///
    /// Should `write` push other than exactly `len` bytes (a bug), a piece that does not
    /// fit is left out and the room left is filled with spaces: the text stays whole
    /// characters, never uninitialised memory.
    #[allow(clippy::box_collection)]
    #[inline]
    pub fn build(
        len: usize,
        context: Option<Box<BTreeSet<ContextElem>>>,
        write: impl FnOnce(&mut StrWriter<'_>),
    ) -> NixString {
        // An empty context is kept as none, so that `has_context` needs no look inside.
        let context = context.filter(|context| !context.is_empty());
        let ((layout, context_at), offset) = (str_layout(len, context.is_some()), TEXT_OFFSET);
        // SAFETY: the layout has a non-zero size (the header's).
        let raw = unsafe { std::alloc::alloc(layout) };
        if raw.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the block has room for `len` bytes after `offset`.
        let mut writer = StrWriter { at: unsafe { raw.add(offset) }, room: len, owns: PhantomData };
        write(&mut writer);
        // SAFETY: the writer filled the room it was given with whole `str`s, the rest is
        // filled with ASCII spaces, so the `len` bytes are initialised UTF-8; the header
        // goes at the block's start (a panic in `write` leaks the block, nothing worse).
        unsafe {
            if writer.room > 0 {
                std::ptr::write_bytes(writer.at, b' ', writer.room);
            }
            let mut len_flags = len;
            if let Some(context) = context {
                // The layout has room for it there, aligned.
                raw.add(context_at).cast::<BoxedContext>().write(context);
                len_flags |= HAS_CONTEXT;
            }
            let head = raw.cast::<StrHead>();
            head.write(StrHead { count: RefCount::one(), symbol: Cell::new(None), len_flags });
            NixString { ptr: NonNull::new_unchecked(head), owns: PhantomData }
        }
    }

    #[inline(always)]
    fn head(&self) -> &StrHead {
        // SAFETY: the block lives while any handle does (the count is at least one).
        unsafe { self.ptr.as_ref() }
    }

    /// The length of the text in bytes.
    #[inline(always)]
    fn text_len(&self) -> usize {
        self.head().len_flags & !HAS_CONTEXT
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        let len = self.text_len();
        // SAFETY: `len` bytes of UTF-8 follow the header (see `from_pieces`), and live as
        // long as this handle.
        unsafe {
            let text = self.ptr.as_ptr().cast::<u8>().add(TEXT_OFFSET);
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(text, len))
        }
    }

    /// A string naming an attribute, with its symbol already known.
    pub fn from_symbol(symbol: Symbol) -> NixString {
        let string = NixString::new(symbol.as_str());
        string.head().symbol.set(Some(symbol));
        string
    }

    /// The interned form of the text, computed once per string.
    #[inline]
    pub fn to_symbol(&self) -> Symbol {
        if let Some(symbol) = self.head().symbol.get() {
            return symbol;
        }
        let symbol = Symbol::intern(self.as_str());
        self.head().symbol.set(Some(symbol));
        symbol
    }

    /// Whether the string has a context (cheaper than looking at it).
    #[inline(always)]
    pub fn has_context(&self) -> bool {
        self.head().len_flags & HAS_CONTEXT != 0
    }

    /// The context.
    pub fn context(&self) -> &BTreeSet<ContextElem> {
        static EMPTY: BTreeSet<ContextElem> = BTreeSet::new();
        if !self.has_context() {
            return &EMPTY;
        }
        let (_, at) = str_layout(self.text_len(), true);
        // SAFETY: the flag says `build` wrote the context there, and it lives as long as the
        // block.
        unsafe { &*self.ptr.as_ptr().cast::<u8>().add(at).cast::<BoxedContext>() }
    }

    /// Whether the two strings share one allocation.
    pub fn ptr_eq(&self, other: &NixString) -> bool {
        self.ptr == other.ptr
    }

    #[cold]
    #[inline(never)]
    fn free(&mut self) {
        let (layout, at) = str_layout(self.text_len(), self.has_context());
        // SAFETY: the last handle is going away: nothing else can reach the block, which
        // `build` allocated with this layout; the context (when the flag says there is one,
        // written there by `build`) is dropped before the block.
        unsafe {
            let raw = self.ptr.as_ptr().cast::<u8>();
            if self.has_context() {
                std::ptr::drop_in_place(raw.add(at).cast::<BoxedContext>());
            }
            std::alloc::dealloc(raw, layout);
        }
    }
}

counted_handle!(NixString);

/// A list: a counted one-word handle to a single block, a small header and then the
/// elements (a list of two is 40 bytes in one block, where a counted vector took 40 bytes
/// and a second block of 32). Immutable and shared like a set.
pub struct List {
    ptr: NonNull<ListHead>,
    /// Owns a `ListHead` and its elements; neither `Send` nor `Sync`.
    owns: PhantomData<ListHead>,
}

/// The start of a list's block; `len` values follow it.
#[repr(C)]
struct ListHead {
    count: RefCount,
    len: u32,
}

const _: () = assert!(std::mem::size_of::<ListHead>().is_multiple_of(std::mem::align_of::<Value>()));

/// The layout of a list of `len` elements (they start right after the header).
fn list_layout(len: usize) -> Layout {
    let items = Layout::array::<Value>(len).unwrap_or_else(|_| std::process::abort());
    Layout::new::<ListHead>().extend(items).unwrap_or_else(|_| std::process::abort()).0
}

impl List {
    /// A list of these values, in this order.
    pub fn new(items: Vec<Value>) -> List {
        let len = items.len();
        List::from_exact(len, items)
    }

    /// A list of exactly `len` values taken from `items`, written straight into the block.
    /// An iterator that ends early is a bug: the process aborts rather than leave elements
    /// unwritten.
    pub fn from_exact(len: usize, items: impl IntoIterator<Item = Value>) -> List {
        List::build(len, |slots| {
            for item in items {
                if !slots.push(item) {
                    break;
                }
            }
        })
    }

    /// The lists one after the other, written straight into one block.
    pub fn concat(lists: &[List]) -> List {
        List::build(lists.iter().map(|list| list.len()).sum(), |slots| {
            for list in lists {
                for item in list.iter() {
                    slots.push(item.clone());
                }
            }
        })
    }

    /// A list of `len` values that `fill` pushes into the block. Should `fill` push fewer
    /// (a bug), the process aborts rather than leave elements unwritten; values pushed past
    /// `len` are dropped.
    #[inline]
    fn build(len: usize, fill: impl FnOnce(&mut ListSlots)) -> List {
        let Ok(len_u32) = u32::try_from(len) else { std::process::abort() };
        let layout = list_layout(len);
        // SAFETY: the layout is non-zero (the header). `ListSlots` writes elements in bounds,
        // one at a time; the header goes in last, once all `len` are there, and only then
        // does the handle exist. A panic in `fill` leaks the block and the elements written.
        unsafe {
            let raw = std::alloc::alloc(layout);
            if raw.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            let mut slots = ListSlots {
                next: raw.add(std::mem::size_of::<ListHead>()).cast::<Value>(),
                left: len,
                owns: PhantomData,
            };
            fill(&mut slots);
            if slots.left != 0 {
                std::process::abort();
            }
            raw.cast::<ListHead>().write(ListHead { count: RefCount::one(), len: len_u32 });
            List { ptr: NonNull::new_unchecked(raw.cast()), owns: PhantomData }
        }
    }

    #[inline(always)]
    fn head(&self) -> &ListHead {
        // SAFETY: the block lives while a handle does.
        unsafe { self.ptr.as_ref() }
    }

    /// Whether two handles are the same list.
    #[inline]
    pub fn ptr_eq(this: &List, other: &List) -> bool {
        this.ptr == other.ptr
    }

    /// The address of the list, for identity (printing cycles and repeats).
    #[inline]
    pub fn as_ptr(this: &List) -> *const u8 {
        this.ptr.as_ptr().cast()
    }

    #[cold]
    #[inline(never)]
    fn free(&mut self) {
        let len = self.head().len as usize;
        // SAFETY: the last handle is going away: the elements are dropped once, then the
        // block `from_exact` allocated with this layout is freed.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr().cast::<u8>().add(std::mem::size_of::<ListHead>()).cast::<Value>(),
                len,
            ));
            std::alloc::dealloc(self.ptr.as_ptr().cast(), list_layout(len));
        }
    }
}

/// The slots of a list being built by `List::build`.
struct ListSlots<'a> {
    /// Where the next element goes.
    next: *mut Value,
    /// Slots not written yet.
    left: usize,
    owns: PhantomData<&'a mut [Value]>,
}

impl ListSlots<'_> {
    /// Writes the next element; false (and the value dropped) when every slot is written.
    #[inline(always)]
    fn push(&mut self, value: Value) -> bool {
        if self.left == 0 {
            return false;
        }
        // SAFETY: `left` slots from `next` belong to the block and are not written yet.
        unsafe {
            self.next.write(value);
            self.next = self.next.add(1);
        }
        self.left -= 1;
        true
    }
}

impl std::ops::Deref for List {
    type Target = [Value];

    #[inline(always)]
    fn deref(&self) -> &[Value] {
        // SAFETY: `len` initialised values follow the header, unchanged while the block lives.
        unsafe {
            let head = self.ptr.as_ptr();
            std::slice::from_raw_parts(
                head.cast::<u8>().add(std::mem::size_of::<ListHead>()).cast::<Value>(),
                (*head).len as usize,
            )
        }
    }
}

counted_handle!(List);

impl FromIterator<Value> for List {
    fn from_iter<I: IntoIterator<Item = Value>>(items: I) -> List {
        List::new(items.into_iter().collect())
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
    pub pos: Pos,
}

/// An attribute set: attributes sorted by name, so that lookups are binary searches and
/// iteration is already in the order Nix prints and lists names.
///
/// A set is immutable and shared: cloning the handle counts one more reference. The header
/// and the entries are one allocation (a set literal of three attributes is one block of
/// 88 bytes: a 16-byte header, then the entries; only a set made over a base has room for
/// it, and only a set large enough to get a hash index for that, after its entries), and a
/// lookup goes from the handle straight to the entries.
///
/// `a // b` with a small `b` does not copy `a`: the result keeps `a` as a shared `base` and
/// only the (small) overriding entries in `top`. When `top` grows past about the square
/// root of the base, the set is flattened again, so lookups stay at two binary searches and
/// a chain of `//` costs O(n√n) instead of O(n²) copies.
pub struct Attrs {
    ptr: NonNull<AttrsHead>,
    /// Owns an `AttrsHead` and its entries; neither `Send` nor `Sync`.
    owns: PhantomData<AttrsHead>,
}

/// The start of a set's allocation; `top_len` entries ([`Attr`]) follow it, then, in a set
/// made by `//` over a shared base, that base (an [`Attrs`]), then, in a set large enough to
/// have one, its hash index ([`AttrsIndex`]). Most sets have neither: their header is two
/// words. Aligned to a word, as handles' addresses leave their three low bits free.
#[repr(C, align(8))]
struct AttrsHead {
    /// Handles to the set.
    count: RefCount,
    /// Number of distinct names.
    len: u32,
    /// Number of own entries (those after the header), sorted by name; they shadow entries
    /// of the base with the same name.
    top_len: u32,
    /// Whether a base (the flat set this one extends; never itself layered) follows the
    /// entries.
    layered: bool,
}

/// Where the parts of a set's block are.
struct AttrsLayout {
    layout: Layout,
    /// The base, in a layered set.
    base: Option<usize>,
    /// The hash index, in a large set.
    index: Option<usize>,
}

/// Where a set's entries start: right after the header.
const ENTRIES_OFFSET: usize = std::mem::size_of::<AttrsHead>();

/// For sets of more than [`INDEX_MIN_LEN`] own entries, which are looked up often: the
/// position of each name in `top`, built after [`INDEX_AFTER_LOOKUPS`] lookups, so a lookup
/// hashes a number instead of comparing text about log2(n) times, with the count of lookups
/// until it is built. It follows the entries (and the base, in a layered set), in the sets
/// large enough to have one only.
struct AttrsIndex {
    /// Lookups so far, until the index is built.
    lookups: Cell<u32>,
    index: OnceCell<Box<FxHashMap<Symbol, u32>>>,
}

/// The layout of a set with `top_len` own entries, with a base or not.
fn attrs_layout(top_len: usize, layered: bool) -> AttrsLayout {
    let entries = Layout::array::<Attr>(top_len).unwrap_or_else(|_| std::process::abort());
    let (mut layout, offset) = Layout::new::<AttrsHead>().extend(entries).unwrap_or_else(|_| std::process::abort());
    debug_assert_eq!(offset, ENTRIES_OFFSET);
    let mut base = None;
    if layered {
        let (with_base, at) = layout.extend(Layout::new::<Attrs>()).unwrap_or_else(|_| std::process::abort());
        debug_assert_eq!(at, base_offset(top_len));
        (layout, base) = (with_base, Some(at));
    }
    let mut index = None;
    if top_len > INDEX_MIN_LEN {
        let (with_index, at) = layout.extend(Layout::new::<AttrsIndex>()).unwrap_or_else(|_| std::process::abort());
        (layout, index) = (with_index, Some(at));
    }
    AttrsLayout { layout, base, index }
}

/// Where the base of a layered set of `top_len` own entries is: right after them (the
/// entries end on a word boundary, checked in the size test).
#[inline(always)]
fn base_offset(top_len: usize) -> usize {
    ENTRIES_OFFSET + top_len * std::mem::size_of::<Attr>()
}

/// A set's block while its entries are written: frees it, dropping the entries written so
/// far, if writing them panics.
struct Filling {
    raw: *mut u8,
    layout: Layout,
    /// Where the entries go.
    entries: *mut Attr,
    /// How many are there.
    written: usize,
}

impl Drop for Filling {
    fn drop(&mut self) {
        // SAFETY: exactly `written` entries were written at `entries`, and `raw` is the block
        // allocated with `layout`; the header was not written yet.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.entries, self.written));
            std::alloc::dealloc(self.raw, self.layout);
        }
    }
}

/// Sets with more entries than this get a hash index once they are looked up often.
const INDEX_MIN_LEN: usize = 64;
/// How many lookups a large set sees before it gets its hash index.
const INDEX_AFTER_LOOKUPS: u32 = 32;

/// Below this size a linear scan comparing symbol numbers beats a binary search comparing text.
const LINEAR_SCAN_MAX: usize = 16;

/// Searches a sorted run of entries.
#[inline(always)]
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
        Attrs::make(Vec::new(), None, 0)
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
        Attrs::make(entries, None, len)
    }

    /// Builds a set from exactly `len` entries sorted by name without duplicates, written
    /// straight into the set's allocation (no vector in between).
    pub fn from_sorted_iter(len: usize, entries: impl Iterator<Item = Attr>) -> Attrs {
        let Ok(distinct) = u32::try_from(len) else { std::process::abort() };
        Attrs::fill(len, None, distinct, |filling| {
            for attr in entries.take(len) {
                // SAFETY: at most `len` entries are written, in bounds of the block.
                unsafe { filling.entries.add(filling.written).write(attr) };
                filling.written += 1;
            }
        })
    }

    /// Moves `top` into a new allocation after a header, in one copy.
    fn make(mut top: Vec<Attr>, base: Option<Attrs>, len: u32) -> Attrs {
        Attrs::fill(top.len(), base, len, |filling| {
            // SAFETY: the block has room for `top.len()` entries; the vector forgets them.
            unsafe {
                std::ptr::copy_nonoverlapping(top.as_ptr(), filling.entries, top.len());
                filling.written = top.len();
                top.set_len(0);
            }
        })
    }

    /// Allocates a set of `top_len` own entries, which `write` puts in the block (sorted by
    /// name, no duplicates) and counts in `written`, over `base`, with `len` distinct names
    /// in all.
    fn fill(top_len: usize, base: Option<Attrs>, len: u32, write: impl FnOnce(&mut Filling)) -> Attrs {
        let Ok(top_len_u32) = u32::try_from(top_len) else { std::process::abort() };
        let AttrsLayout { layout, base: base_at, index } = attrs_layout(top_len, base.is_some());
        let offset = ENTRIES_OFFSET;
        // SAFETY: the layout is non-zero (the header). Entries are written in bounds, one
        // at a time, counted by the guard; the header is written last, once all `top_len`
        // entries are there, and only then does the handle exist.
        unsafe {
            let raw = std::alloc::alloc(layout);
            if raw.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            let mut filling = Filling { raw, layout, entries: raw.add(offset) as *mut Attr, written: 0 };
            write(&mut filling);
            if filling.written != top_len {
                // Fewer entries than announced: a bug in the caller, not in user input.
                std::process::abort();
            }
            std::mem::forget(filling);
            debug_assert!({
                let written = std::slice::from_raw_parts(raw.add(offset) as *const Attr, top_len);
                written.windows(2).all(|w| w[0].name < w[1].name)
            });
            let ptr = NonNull::new_unchecked(raw as *mut AttrsHead);
            if let Some(index) = index {
                raw.add(index).cast::<AttrsIndex>().write(AttrsIndex { lookups: Cell::new(0), index: OnceCell::new() });
            }
            let layered = base.is_some();
            if let (Some(at), Some(base)) = (base_at, base) {
                raw.add(at).cast::<Attrs>().write(base);
            }
            ptr.as_ptr().write(AttrsHead { count: RefCount::one(), len, top_len: top_len_u32, layered });
            Attrs { ptr, owns: PhantomData }
        }
    }

    #[inline(always)]
    fn head(&self) -> &AttrsHead {
        // SAFETY: the allocation lives while a handle does.
        unsafe { self.ptr.as_ref() }
    }

    /// The own entries.
    #[inline(always)]
    fn top(&self) -> &[Attr] {
        let len = self.head().top_len as usize;
        // SAFETY: `fill` wrote `top_len` entries right after the header (its size is a
        // multiple of `Attr`'s alignment, checked in the size test); they live as long as
        // the allocation and are never changed.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(1) as *const Attr, len) }
    }

    /// The base of a layered set.
    #[inline(always)]
    fn base(&self) -> Option<&Attrs> {
        let head = self.head();
        if !head.layered {
            return None;
        }
        // SAFETY: a layered set's block has its base right after its entries, written by
        // `fill` and living as long as the block.
        Some(unsafe { &*self.ptr.as_ptr().cast::<u8>().add(base_offset(head.top_len as usize)).cast::<Attrs>() })
    }

    /// Whether two handles are the same set.
    #[inline]
    pub fn ptr_eq(this: &Attrs, other: &Attrs) -> bool {
        this.ptr == other.ptr
    }

    /// The address of the set, for identity (printing cycles).
    #[inline]
    pub fn as_ptr(this: &Attrs) -> *const u8 {
        this.ptr.as_ptr() as *const u8
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.head().len as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.head().len == 0
    }

    /// The attributes in name order.
    pub fn iter(&self) -> AttrsIter<'_> {
        match self.base() {
            None => AttrsIter::Flat(self.top().iter()),
            Some(base) => AttrsIter::Layered { top: self.top().iter().peekable(), base: base.top().iter().peekable() },
        }
    }

    /// The entry of a name.
    #[inline]
    pub fn get_entry(&self, name: Symbol) -> Option<&Attr> {
        match self.find_own(name) {
            Some(attr) => Some(attr),
            None => self.base().and_then(|base| base.find_own(name)),
        }
    }

    /// Looks a name up in `top`, through the hash index where there is one.
    #[inline]
    fn find_own(&self, name: Symbol) -> Option<&Attr> {
        let top = self.top();
        if top.len() <= INDEX_MIN_LEN {
            return find_in(top, name);
        }
        let Some(offset) = attrs_layout(top.len(), self.head().layered).index else { return find_in(top, name) };
        // SAFETY: a set with this many own entries has its index there, written by `fill`
        // and living as long as the block.
        let area = unsafe { &*self.ptr.as_ptr().cast::<u8>().add(offset).cast::<AttrsIndex>() };
        if let Some(index) = area.index.get() {
            return index.get(&name).map(|&idx| &top[idx as usize]);
        }
        let seen = area.lookups.get() + 1;
        area.lookups.set(seen);
        if seen >= INDEX_AFTER_LOOKUPS {
            let index = area
                .index
                .get_or_init(|| Box::new(top.iter().enumerate().map(|(idx, attr)| (attr.name, idx as u32)).collect()));
            return index.get(&name).map(|&idx| &top[idx as usize]);
        }
        find_in(top, name)
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
    pub fn update_shared(left: &Attrs, right: &Attrs) -> Attrs {
        let (base_len, new_top_len) = match left.base() {
            Some(base) => (base.len(), left.top().len() + right.len()),
            None => (left.len(), right.len()),
        };
        let limit = 16 + 2 * (base_len as f64).sqrt() as usize;
        if base_len < 64 || new_top_len > limit {
            return left.update(right);
        }
        let added = right.iter().filter(|attr| !left.contains(attr.name)).count();
        let (base, top) = match left.base() {
            Some(base) => (base.clone(), merge_runs(left.top().iter(), right.iter())),
            None => (left.clone(), right.iter().cloned().collect()),
        };
        Attrs::make(top, Some(base), left.head().len + added as u32)
    }

    /// The entries in name order.
    pub fn into_entries(self) -> Vec<Attr> {
        self.iter().cloned().collect()
    }

    #[cold]
    #[inline(never)]
    fn free(&mut self) {
        let top_len = self.head().top_len as usize;
        let AttrsLayout { layout, base, index } = attrs_layout(top_len, self.head().layered);
        let offset = ENTRIES_OFFSET;
        // SAFETY: the last handle is going away, so nothing else reaches the allocation;
        // the header and entries are dropped once, then the block `fill` allocated with
        // this layout is freed.
        unsafe {
            let raw = self.ptr.as_ptr() as *mut u8;
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(raw.add(offset) as *mut Attr, top_len));
            if let Some(index) = index {
                std::ptr::drop_in_place(raw.add(index).cast::<AttrsIndex>());
            }
            if let Some(base) = base {
                std::ptr::drop_in_place(raw.add(base).cast::<Attrs>());
            }
            std::ptr::drop_in_place(self.ptr.as_ptr());
            std::alloc::dealloc(raw, layout);
        }
    }
}

impl Default for Attrs {
    fn default() -> Attrs {
        Attrs::new()
    }
}

impl Attrs {
    /// Gives up the handle for its address, to be taken back by [`Attrs::from_raw`].
    #[inline(always)]
    fn into_raw(self) -> *mut u8 {
        std::mem::ManuallyDrop::new(self).ptr.as_ptr().cast()
    }

    /// Takes back a handle given up by [`Attrs::into_raw`].
    ///
    /// # Safety
    /// `raw` came from `into_raw`, and is taken back once.
    #[inline(always)]
    unsafe fn from_raw(raw: *mut u8) -> Attrs {
        // SAFETY: the caller's contract: a live set's header.
        Attrs { ptr: unsafe { NonNull::new_unchecked(raw.cast()) }, owns: PhantomData }
    }
}

counted_handle!(Attrs);

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
    /// The argument it forces before doing anything else.
    pub forces: Forces,
}

/// Which argument a builtin forces first, before anything else. A call written in code
/// evaluates that argument at once instead of making a thunk for the builtin to force
/// (`isAttrs (f x)`, `map f (g x)`): the builtin would be the thunk's only user, and would
/// force it first anyway. A failure is handed to the builtin as a thunk failing the same
/// way, so what the builtin adds to it (`addErrorContext`'s message) is added as before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forces {
    /// No argument is certain to be forced first.
    Nothing,
    /// The first argument.
    First,
    /// The second argument (`map`'s list, `genList`'s length).
    Second,
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
/// so no borrow can be alive while evaluation changes it (and no borrow flag is needed).
///
/// A [`ThunkState`] takes three words; the cell packs it into two, so that a thunk with its
/// count is 24 bytes instead of 32 (the evaluator keeps millions alive). A finished thunk
/// holds its [`Value`] as is: the value's tag, a small number, then its payload. Any other
/// state puts something no value's tag can be in the first word: a number from
/// [`FIRST_STATE`] on for the states of at most one word, or an address, at least a page
/// up and aligned to 8 bytes, whose low three bits tell which state of two words it is.
pub struct ThunkCell(std::cell::UnsafeCell<Packed>);

/// A packed [`ThunkState`] (see [`ThunkCell`]).
#[repr(C)]
struct Packed {
    /// A value's tag, a state's number, or a tagged address.
    first: *mut u8,
    /// A value's payload, or the state's second word; not initialised for `null` and the
    /// padding of a `bool`.
    second: std::mem::MaybeUninit<*mut u8>,
}

// A value fills a packed state exactly, and the addresses tagged in the first word leave
// three low bits free.
const _: () = assert!(std::mem::size_of::<Packed>() == std::mem::size_of::<Value>());
const _: () = assert!(std::mem::align_of::<Packed>() == std::mem::align_of::<Value>());
const _: () = assert!(std::mem::align_of::<Expr>() >= 8 && std::mem::align_of::<AttrsHead>() >= 8);
const _: () = assert!(std::mem::align_of::<Closure>() >= 8 && std::mem::align_of::<ThunkCell>() >= 8);

/// The first state number; values' tags are below it.
const FIRST_STATE: usize = 64;
const BLACKHOLE: usize = FIRST_STATE;
const APPLY: usize = FIRST_STATE + 1;
const NATIVE: usize = FIRST_STATE + 2;
/// Below this, the first word is a number; from it on, an address.
const FIRST_ADDRESS: usize = 4096;
/// The low bits of an address in the first word: which state of two words.
const PENDING: usize = 0;
const APPLY_INDEX: usize = 1;
const INHERIT_FROM_THUNK: usize = 2;
const INHERIT_FROM_ATTRS: usize = 3;

impl Packed {
    #[inline(always)]
    fn number(number: usize, second: *mut u8) -> Packed {
        Packed { first: std::ptr::without_provenance_mut(number), second: std::mem::MaybeUninit::new(second) }
    }

    #[inline(always)]
    fn address(address: *mut u8, state: usize, second: *mut u8) -> Packed {
        debug_assert!(address.addr() >= FIRST_ADDRESS && address.addr() & 7 == 0);
        Packed { first: address.map_addr(|a| a | state), second: std::mem::MaybeUninit::new(second) }
    }

    /// Packs a state; the packed form owns what the state owned.
    #[inline(always)]
    fn pack(state: ThunkState) -> Packed {
        match state {
            ThunkState::Done(value) => {
                let mut packed = std::mem::MaybeUninit::<Packed>::uninit();
                // SAFETY: a value is two words, the first its tag (`repr(u64)`), below
                // `FIRST_STATE`: the first word is initialised, the second need not be.
                unsafe {
                    packed.as_mut_ptr().cast::<Value>().write(value);
                    packed.assume_init()
                }
            }
            ThunkState::Blackhole => Packed::number(BLACKHOLE, std::ptr::null_mut()),
            ThunkState::Apply(call) => Packed::number(APPLY, Box::into_raw(call).cast()),
            ThunkState::Native(native) => Packed::number(NATIVE, Box::into_raw(Box::new(native)).cast()),
            ThunkState::Pending(expr, env) => {
                Packed::address((expr as *const Expr).cast_mut().cast(), PENDING, env.into_raw())
            }
            ThunkState::ApplyIndex(closure, index) => Packed::address(
                Shared::into_raw(closure),
                APPLY_INDEX,
                std::ptr::without_provenance_mut(index as usize),
            ),
            ThunkState::InheritFromThunk(source, attr) => Packed::address(
                Shared::into_raw(source.0),
                INHERIT_FROM_THUNK,
                (attr as *const crate::ir::StaticAttr).cast_mut().cast(),
            ),
            ThunkState::InheritFromAttrs(source, attr) => Packed::address(
                source.into_raw(),
                INHERIT_FROM_ATTRS,
                (attr as *const crate::ir::StaticAttr).cast_mut().cast(),
            ),
        }
    }

    /// Whether this is a finished value.
    #[inline(always)]
    fn is_done(&self) -> bool {
        self.first.addr() < FIRST_STATE
    }

    /// Unpacks a state made by [`Packed::pack`], giving back what it owned.
    #[inline(always)]
    fn unpack(self) -> ThunkState {
        let first = self.first.addr();
        if first < FIRST_STATE {
            // SAFETY: `pack` wrote a value here.
            return ThunkState::Done(unsafe { std::ptr::read((&self as *const Packed).cast::<Value>()) });
        }
        // SAFETY: `pack` wrote the second word of every state but a value.
        let second = unsafe { self.second.assume_init() };
        if first < FIRST_ADDRESS {
            // SAFETY: each number's second word is what `pack` made it from.
            return match first {
                APPLY => ThunkState::Apply(unsafe { Box::from_raw(second.cast()) }),
                NATIVE => ThunkState::Native(*unsafe { Box::from_raw(second.cast::<NativeThunk>()) }),
                _ => ThunkState::Blackhole,
            };
        }
        let address = self.first.map_addr(|a| a & !7);
        // SAFETY: the low bits name the state whose parts `pack` gave up, each taken back
        // once (the packed form is consumed).
        unsafe {
            match first & 7 {
                PENDING => ThunkState::Pending(&*address.cast::<Expr>(), Env::from_raw(second)),
                APPLY_INDEX => ThunkState::ApplyIndex(Shared::from_raw(address), second.addr() as i64),
                INHERIT_FROM_THUNK => ThunkState::InheritFromThunk(
                    Thunk(Shared::from_raw(address)),
                    &*second.cast::<crate::ir::StaticAttr>(),
                ),
                _ => ThunkState::InheritFromAttrs(Attrs::from_raw(address), &*second.cast::<crate::ir::StaticAttr>()),
            }
        }
    }
}

impl ThunkCell {
    /// A cell holding `state`.
    #[inline]
    pub fn new(state: ThunkState) -> ThunkCell {
        ThunkCell(std::cell::UnsafeCell::new(Packed::pack(state)))
    }

    /// Whether the thunk is being evaluated (a value that needs it now would need itself).
    pub fn is_blackhole(&self) -> bool {
        // SAFETY: as in `done`: the reference lives only inside this function.
        unsafe { (*self.0.get()).first.addr() == BLACKHOLE }
    }

    /// The value, if the thunk has been evaluated.
    #[inline]
    pub fn done(&self) -> Option<Value> {
        // SAFETY: the reference lives only inside this function, which calls nothing that
        // could reach this cell (cloning a value only touches reference counts, which live
        // outside the cell); cells are neither `Sync` nor reachable from other threads. A
        // finished state is a value in place.
        unsafe {
            let packed = &*self.0.get();
            packed.is_done().then(|| (*(packed as *const Packed).cast::<Value>()).clone())
        }
    }

    /// The handles on the scope at `scope` that this thunk's state holds, directly or
    /// through what only it holds (see [`owned_refs`]).
    pub(crate) fn owned_refs(&self, scope: *const u8, budget: &mut u32) -> usize {
        // SAFETY: as for `done`: nothing reached from here changes any cell, scope or
        // count (only counts and packed words are read), so the reference into the cell
        // does not outlive anything it points at. Each part is looked at through a handle
        // that is never dropped, so no count moves.
        unsafe {
            let packed = &*self.0.get();
            let first = packed.first.addr();
            if first < FIRST_STATE {
                return owned_refs(&*(packed as *const Packed).cast::<Value>(), scope, budget);
            }
            let second = packed.second.assume_init();
            if first < FIRST_ADDRESS {
                return match first {
                    APPLY => {
                        let call = &*second.cast::<(Value, Value)>();
                        owned_refs(&call.0, scope, budget) + owned_refs(&call.1, scope, budget)
                    }
                    _ => 0,
                };
            }
            let address = packed.first.map_addr(|a| a & !7);
            match first & 7 {
                PENDING => Env::owned_refs_at(second.cast_const(), scope, budget),
                APPLY_INDEX => {
                    let closure = std::mem::ManuallyDrop::new(Shared::<Closure>::from_raw(address));
                    owned_refs_of_closure(&closure, scope, budget)
                }
                INHERIT_FROM_THUNK => {
                    let source = std::mem::ManuallyDrop::new(Thunk(Shared::from_raw(address)));
                    owned_refs_of_thunk(&source, scope, budget)
                }
                _ => {
                    let source = std::mem::ManuallyDrop::new(Attrs::from_raw(address));
                    owned_refs_of_attrs(&source, scope, budget)
                }
            }
        }
    }

    /// Puts `state` in and returns the previous state (dropped by the caller, outside).
    #[inline]
    pub fn replace(&self, state: ThunkState) -> ThunkState {
        let packed = Packed::pack(state);
        // SAFETY: no reference into the cell exists outside `done` and this function, and
        // neither calls out while holding one; the old packed state is moved out and
        // unpacked once.
        unsafe { std::mem::replace(&mut *self.0.get(), packed).unpack() }
    }
}

impl Drop for ThunkCell {
    fn drop(&mut self) {
        // SAFETY: the cell is going away; its packed state is moved out once, and the
        // state it unpacks to drops what it owned.
        drop(unsafe { std::ptr::read(self.0.get()) }.unpack());
    }
}

/// How many handles on the scope at `scope` `value` holds, itself or through values and
/// scopes that nothing else holds (each counted at most once: a value with one handle is
/// reached through that handle only). What more than one handle holds counts as none,
/// and so does what lies past `budget` values; so the figure never exceeds the true
/// number of such handles, which is what makes [`Env::release`] safe.
pub(crate) fn owned_refs(value: &Value, scope: *const u8, budget: &mut u32) -> usize {
    if *budget == 0 {
        return 0;
    }
    *budget -= 1;
    match value {
        Value::Thunk(thunk) => owned_refs_of_thunk(thunk, scope, budget),
        Value::Lambda(closure) => owned_refs_of_closure(closure, scope, budget),
        Value::Attrs(attrs) => owned_refs_of_attrs(attrs, scope, budget),
        Value::List(list) if list.head().count.get() == 1 => {
            list.iter().map(|item| owned_refs(item, scope, budget)).sum()
        }
        Value::PrimOpApp(app) if Rc::strong_count(app) == 1 => {
            app.args.iter().map(|arg| owned_refs(arg, scope, budget)).sum()
        }
        _ => 0,
    }
}

fn owned_refs_of_thunk(thunk: &Thunk, scope: *const u8, budget: &mut u32) -> usize {
    if Shared::count(&thunk.0) == 1 {
        thunk.0.owned_refs(scope, budget)
    } else {
        0
    }
}

fn owned_refs_of_closure(closure: &Shared<Closure>, scope: *const u8, budget: &mut u32) -> usize {
    if Shared::count(closure) == 1 {
        closure.env.owned_refs(scope, budget)
    } else {
        0
    }
}

fn owned_refs_of_attrs(attrs: &Attrs, scope: *const u8, budget: &mut u32) -> usize {
    if attrs.head().count.get() != 1 {
        return 0;
    }
    let own: usize = attrs.top().iter().map(|attr| owned_refs(&attr.value, scope, budget)).sum();
    own + attrs.base().map_or(0, |base| owned_refs_of_attrs(base, scope, budget))
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
    /// `inherit (source) name` from a source not evaluated yet: the attribute the static
    /// binding names, selected when forced.
    InheritFromThunk(Thunk, &'static crate::ir::StaticAttr),
    /// `inherit (source) name` from a source that is already a set.
    InheritFromAttrs(Attrs, &'static crate::ir::StaticAttr),
    /// Run native code (lazy results of builtins).
    Native(NativeThunk),
    /// Being evaluated now: forcing it again is an infinite recursion.
    Blackhole,
    /// Evaluated.
    Done(Value),
}

impl ThunkState {
    /// A state that fails with `error` whenever it is forced: what a failed thunk keeps.
    pub fn failed(error: crate::error::EvalError) -> ThunkState {
        ThunkState::Native(Box::new(move |_| Err(error.clone())))
    }
}

impl Thunk {
    /// A thunk that fails with `error` whenever it is forced.
    pub fn failed(error: crate::error::EvalError) -> Value {
        Value::Thunk(Thunk(Shared::new(ThunkCell::new(ThunkState::failed(error)))))
    }

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

    /// A thunk selecting the attribute `attr` names from `source` (`inherit (source) name`).
    pub fn inherit_from(source: Value, attr: &'static crate::ir::StaticAttr) -> Value {
        let state = match source {
            Value::Thunk(thunk) => ThunkState::InheritFromThunk(thunk, attr),
            Value::Attrs(attrs) => ThunkState::InheritFromAttrs(attrs, attr),
            other => return Thunk::native(move |evaluator| evaluator.select_inherited(&other, attr)),
        };
        Value::Thunk(Thunk(Shared::new(ThunkCell::new(state))))
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
        assert_eq!(std::mem::size_of::<ThunkCell>(), 16);
        assert_eq!(std::mem::size_of::<Thunk>(), 8);
        assert_eq!(std::mem::size_of::<StrHead>(), 16);
        assert_eq!(std::mem::size_of::<NixString>(), 8);
        // A line of 26 bytes fills one block of 48; a context adds a word after it.
        let (plain, _) = str_layout(26, false);
        assert_eq!((plain.size(), plain.align()), (48, 8));
        assert_eq!(str_layout(26, true).0.size(), 56);
        assert_eq!(str_layout(26, true).1, 48);
        assert_eq!(TEXT_OFFSET, 16);
        assert_eq!(std::mem::size_of::<Attr>(), 24);
        assert_eq!(std::mem::size_of::<Attrs>(), 8);
        // The entries follow the header with no padding between, and end on a word boundary,
        // where a layered set's base is.
        assert_eq!(std::mem::size_of::<AttrsHead>(), 16);
        assert_eq!(ENTRIES_OFFSET % std::mem::align_of::<Attr>(), 0);
        assert_eq!(std::mem::size_of::<Attr>() % std::mem::align_of::<Attrs>(), 0);
        // A set of two attributes is one block of 64 bytes; a layered one has a word more.
        assert_eq!(attrs_layout(2, false).layout.size(), 64);
        assert_eq!((attrs_layout(2, true).layout.size(), attrs_layout(2, true).base), (72, Some(base_offset(2))));
        // A large set has room for its index after its entries (and base).
        let large = attrs_layout(INDEX_MIN_LEN + 1, true);
        assert!(large.index.is_some_and(|at| at >= base_offset(INDEX_MIN_LEN + 1) + 8));
    }
}

#[cfg(test)]
mod attrs_tests {
    use super::*;

    fn path_attr(name: &str, held: &Rc<String>) -> Attr {
        Attr { name: Symbol::intern(name), value: Value::Path(held.clone()), pos: Pos::NONE }
    }

    fn names(attrs: &Attrs) -> Vec<&'static str> {
        attrs.iter().map(|attr| attr.name.as_str()).collect()
    }

    #[test]
    fn entries_live_in_the_set_and_are_dropped_with_its_last_handle() {
        let held = Rc::new(String::from("/p"));
        let set = Attrs::from_unsorted(vec![path_attr("b", &held), path_attr("a", &held), path_attr("b", &held)]);
        assert_eq!(names(&set), ["a", "b"]);
        assert_eq!(set.len(), 2);
        assert!(set.contains(Symbol::intern("a")) && !set.contains(Symbol::intern("c")));
        // The duplicate was dropped when the set was built; two entries hold the string.
        assert_eq!(Rc::strong_count(&held), 3);
        let other = set.clone();
        assert!(Attrs::ptr_eq(&set, &other));
        drop(set);
        assert_eq!(Rc::strong_count(&held), 3);
        drop(other);
        assert_eq!(Rc::strong_count(&held), 1);
    }

    #[test]
    fn a_set_filled_from_an_iterator_matches_one_built_from_a_vector() {
        let held = Rc::new(String::from("/p"));
        let names_in: Vec<String> = (0..100).map(|i| format!("n{i:03}")).collect();
        let direct = Attrs::from_sorted_iter(100, names_in.iter().map(|name| path_attr(name, &held)));
        let built = Attrs::from_sorted(names_in.iter().map(|name| path_attr(name, &held)).collect());
        assert_eq!(names(&direct), names(&built));
        // Past the hash index's thresholds, lookups still find every name.
        for _ in 0..INDEX_AFTER_LOOKUPS + 1 {
            for name in &names_in {
                assert!(direct.get(Symbol::intern(name)).is_some());
            }
        }
        assert!(direct.get(Symbol::intern("n100")).is_none());
        assert_eq!(Rc::strong_count(&held), 201);
        drop((direct, built));
        assert_eq!(Rc::strong_count(&held), 1);
    }

    #[test]
    fn a_panic_while_filling_drops_what_was_written() {
        let held = Rc::new(String::from("/p"));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Attrs::from_sorted_iter(
                5,
                (0..5).map(|i| {
                    assert!(i < 3, "the third entry fails");
                    path_attr(&format!("a{i}"), &held)
                }),
            )
        }));
        assert!(result.is_err());
        assert_eq!(Rc::strong_count(&held), 1);
    }

    #[test]
    fn a_small_update_of_a_large_set_shares_it_and_shadows_its_entries() {
        let held = Rc::new(String::from("/p"));
        let base = Attrs::from_sorted((0..100).map(|i| path_attr(&format!("k{i:03}"), &held)).collect());
        let right = Attrs::from_sorted(vec![
            Attr { name: Symbol::intern("k050"), value: Value::Int(1), pos: Pos::NONE },
            Attr { name: Symbol::intern("zz"), value: Value::Int(2), pos: Pos::NONE },
        ]);
        let updated = Attrs::update_shared(&base, &right);
        assert_eq!(updated.len(), 101);
        assert!(matches!(updated.get(Symbol::intern("k050")), Some(Value::Int(1))));
        assert!(matches!(updated.get(Symbol::intern("k049")), Some(Value::Path(_))));
        let listed = names(&updated);
        assert_eq!(listed.len(), 101);
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
        // The base's entries were not copied: the string is held by the base alone.
        assert_eq!(Rc::strong_count(&held), 101);
        drop(base);
        assert_eq!(Rc::strong_count(&held), 101);
        drop(updated);
        assert_eq!(Rc::strong_count(&held), 1);
    }

    /// A layered set with enough own entries for a hash index keeps both its base and its
    /// index after the entries; lookups past the index's threshold find every name, and
    /// dropping it lets go of both.
    #[test]
    fn a_layered_set_with_a_hash_index_finds_every_name() {
        let held = Rc::new(String::from("/p"));
        let base = Attrs::from_sorted((0..2000).map(|i| path_attr(&format!("k{i:04}"), &held)).collect());
        let right = Attrs::from_sorted(
            (0..80)
                .map(|i| Attr { name: Symbol::intern(&format!("k{:04}", i * 3)), value: Value::Int(i), pos: Pos::NONE })
                .collect(),
        );
        let updated = Attrs::update_shared(&base, &right);
        drop(base);
        assert!(updated.base().is_some(), "the update was flattened");
        assert_eq!(updated.len(), 2000);
        for _ in 0..INDEX_AFTER_LOOKUPS + 1 {
            for i in 0..2000i64 {
                let found = updated.get(Symbol::intern(&format!("k{i:04}")));
                match found {
                    Some(Value::Int(n)) => assert!(i % 3 == 0 && i / 3 < 80 && *n == i / 3),
                    Some(Value::Path(_)) => assert!(i % 3 != 0 || i / 3 >= 80),
                    other => panic!("k{i:04}: {:?}", other.map(Value::type_name)),
                }
            }
        }
        assert!(updated.get(Symbol::intern("k2000")).is_none());
        assert_eq!(Rc::strong_count(&held), 2001);
        drop(updated);
        assert_eq!(Rc::strong_count(&held), 1);
    }
}

#[cfg(test)]
mod string_tests {
    use super::*;

    #[test]
    fn pieces_are_joined_into_one_block_with_their_context() {
        let plain = NixString::from_pieces(["ab", "", "cdé"].into_iter(), None);
        assert_eq!(plain.as_str(), "abcdé");
        assert!(plain.context().is_empty());
        let context = BTreeSet::from([ContextElem::from("/nix/store/x")]);
        let with = NixString::with_context("text", context.clone());
        assert_eq!((with.as_str(), with.context()), ("text", &context));
        assert_eq!(NixString::new("").as_str(), "");
    }

    #[test]
    fn a_context_after_texts_of_every_length_up_to_two_words_is_read_back() {
        let context = BTreeSet::from([ContextElem::from("/nix/store/x"), ContextElem::from("=/nix/store/y.drv")]);
        for len in 0..=17 {
            let text = "abcdefghijklmnopq"[..len].to_string();
            let with = NixString::with_context(&text, context.clone());
            let copy = with.clone();
            drop(with);
            assert!(copy.has_context());
            assert_eq!((copy.as_str(), copy.context()), (text.as_str(), &context));
            let plain = NixString::with_context(&text, BTreeSet::new());
            assert!(!plain.has_context() && plain.context().is_empty() && plain.as_str() == text);
        }
    }

    #[test]
    fn a_writer_that_misjudges_the_length_leaves_whole_characters() {
        // Too little pushed: the rest is spaces.
        let short = NixString::build(5, None, |text| text.push("ab"));
        assert_eq!(short.as_str(), "ab   ");
        // Too much: a piece that does not fit whole is left out, even one that would
        // split a character.
        let long = NixString::build(3, None, |text| {
            text.push("a");
            text.push("éé");
            text.push("b");
        });
        assert_eq!(long.as_str(), "ab ");
    }

    #[test]
    fn handles_share_the_text_and_the_last_frees_it() {
        let first = NixString::new("shared");
        let second = first.clone();
        assert!(first.ptr_eq(&second));
        assert!(!first.ptr_eq(&NixString::new("shared")));
        drop(first);
        assert_eq!(second.as_str(), "shared");
        assert_eq!(second.to_symbol(), Symbol::intern("shared"));
        let named = NixString::from_symbol(Symbol::intern("name"));
        assert_eq!((named.as_str(), named.to_symbol()), ("name", Symbol::intern("name")));
    }
}

#[cfg(test)]
mod thunk_cell_tests {
    use super::*;

    fn path(held: &Rc<String>) -> Value {
        Value::Path(held.clone())
    }

    #[test]
    fn every_value_comes_back_from_a_finished_thunk() {
        let held = Rc::new(String::from("/p"));
        let values = [
            Value::Null,
            Value::Bool(false),
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::Float(-0.5),
            Value::string("text"),
            path(&held),
            Value::list(vec![path(&held)]),
        ];
        for value in values {
            let shown = crate::print::short(&value);
            let cell = ThunkCell::new(ThunkState::Done(value));
            let Some(back) = cell.done() else { panic!("{shown} is not finished") };
            assert_eq!(crate::print::short(&back), shown);
        }
        // Every handle the cells held was given back when they were dropped.
        assert_eq!(Rc::strong_count(&held), 1);
    }

    /// The packing tells a finished thunk by its first word: every value's tag must stay
    /// below the first state number (`Thunk` is the last variant).
    #[test]
    fn values_tags_stay_below_the_state_numbers() {
        let last = Thunk::pending(Box::leak(Box::new(Expr::Int(1))), Env::with_slots(0, None));
        // SAFETY: `Value` is `repr(u64)`: its first word is the tag.
        let tag = unsafe { *(&last as *const Value).cast::<u64>() };
        assert!(tag < FIRST_STATE as u64, "tag {tag}");
    }

    #[test]
    fn pending_states_come_back_whole_and_are_dropped_once() {
        let held = Rc::new(String::from("/p"));
        let expr: &'static Expr = Box::leak(Box::new(Expr::Int(7)));
        let env = Env::one(path(&held), None);
        let cell = ThunkCell::new(ThunkState::Pending(expr, env));
        assert!(cell.done().is_none());
        match cell.replace(ThunkState::Blackhole) {
            ThunkState::Pending(back, env) => {
                assert!(std::ptr::eq(back, expr));
                assert!(matches!(env.get(0), Some(Value::Path(p)) if Rc::ptr_eq(&p, &held)));
            }
            _ => panic!("not the pending state"),
        }
        assert_eq!(Rc::strong_count(&held), 1, "the scope was dropped with the state");
        assert!(matches!(
            cell.replace(ThunkState::Apply(Box::new((path(&held), Value::Int(2))))),
            ThunkState::Blackhole
        ));
        assert_eq!(Rc::strong_count(&held), 2);
        let native: NativeThunk = Box::new(|_| Ok(Value::Int(3)));
        match cell.replace(ThunkState::Native(native)) {
            ThunkState::Apply(call) => assert!(matches!(call.1, Value::Int(2))),
            _ => panic!("not the applying state"),
        }
        assert_eq!(Rc::strong_count(&held), 1);
        assert!(matches!(cell.replace(ThunkState::Done(path(&held))), ThunkState::Native(_)));
        drop(cell);
        assert_eq!(Rc::strong_count(&held), 1);
    }
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn a_list_holds_its_elements_in_one_block_and_gives_them_back_once() {
        assert_eq!((std::mem::size_of::<List>(), std::mem::size_of::<ListHead>()), (8, 8));
        assert_eq!(list_layout(2).size(), 40);
        let held = Rc::new(String::from("/p"));
        let list = List::new(vec![Value::Int(1), Value::Path(held.clone()), Value::Null]);
        assert_eq!(list.len(), 3);
        assert!(matches!((&list[0], &list[1], &list[2]), (Value::Int(1), Value::Path(_), Value::Null)));
        let other = list.clone();
        assert!(List::ptr_eq(&list, &other));
        assert!(!List::ptr_eq(&list, &List::new(vec![])));
        drop(list);
        assert_eq!(Rc::strong_count(&held), 2);
        drop(other);
        assert_eq!(Rc::strong_count(&held), 1);
        let empty: List = std::iter::empty().collect();
        assert!(empty.is_empty());
        let made = List::from_exact(2, (0..5).map(Value::Int));
        assert!(matches!(&made[..], [Value::Int(0), Value::Int(1)]));
    }
}
