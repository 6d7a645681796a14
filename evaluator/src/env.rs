//! [`Env`]: a runtime scope, in one allocation.
//!
//! A scope holds the slots of one static scope (a `let`, a `rec` set, a function's
//! parameters, a `with`) and a handle on the scope around it. Every function call makes one,
//! so its layout matters: a one-word header (a 32-bit count, and the number of slots with a
//! bit saying whether [`track_scopes`] keeps a weak handle on it), the parent, then the slots
//! themselves. A single-parameter call's scope is 32 bytes, and a scope of several slots is
//! one allocation, not two.

use crate::shared::Tracked;
use crate::value::{Thunk, ThunkCell, ThunkState, Value};
use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

/// How many values [`Env::release`] looks at before it keeps a scope it could not prove
/// garbage.
const RELEASE_BUDGET: u32 = 64;

/// Set in `len_tracked` while a tracker holds a weak handle on the scope.
const TRACKED: u32 = 1 << 31;

/// The start of a scope's allocation; the slots follow it.
#[repr(C)]
struct Header {
    /// Strong handles; zero once the contents are dropped (the allocation may outlive them
    /// while a tracker still holds a weak handle).
    strong: Cell<u32>,
    /// The number of slots, with [`TRACKED`] set while a tracker holds a weak handle.
    len_tracked: Cell<u32>,
    /// The enclosing scope.
    parent: Option<Env>,
}

/// A handle on a scope (cloning it shares the scope).
pub struct Env {
    ptr: NonNull<Header>,
}

thread_local! {
    /// Whether scopes created on this thread are tracked (see [`track_scopes`]).
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    /// The tracked scopes, and the length at which dead ones are next swept out.
    static TRACKED_SCOPES: std::cell::RefCell<(Vec<WeakEnv>, usize)> =
        const { std::cell::RefCell::new((Vec::new(), 0)) };
    /// The tracked thunks (those whose value can hold others), and the length at which
    /// dead ones are next swept out.
    static TRACKED_THUNKS: std::cell::RefCell<(Vec<Tracked<ThunkCell>>, usize)> =
        const { std::cell::RefCell::new((Vec::new(), 0)) };
}

fn layout(len: usize) -> Layout {
    let size = std::mem::size_of::<Header>() + len * std::mem::size_of::<Value>();
    match Layout::from_size_align(size, std::mem::align_of::<Header>()) {
        Ok(layout) => layout,
        Err(_) => std::process::abort(),
    }
}

impl Env {
    /// A new scope of `len` slots, each `null` until set.
    pub fn with_slots(len: usize, parent: Option<Env>) -> Env {
        Env::filled(len, parent, |_| Value::Null)
    }

    /// A new scope with one slot holding `value`.
    #[inline]
    pub fn one(value: Value, parent: Option<Env>) -> Env {
        let mut value = std::mem::ManuallyDrop::new(value);
        // SAFETY: `filled` calls the closure exactly once, for the one slot, so the value
        // is moved out once and never dropped here.
        Env::filled(1, parent, |_| unsafe { std::mem::ManuallyDrop::take(&mut value) })
    }

    /// A new scope of `len` slots, slot `i` holding `fill(i)`.
    #[inline(always)]
    fn filled(len: usize, parent: Option<Env>, mut fill: impl FnMut(usize) -> Value) -> Env {
        if len >= TRACKED as usize {
            std::process::abort();
        }
        let layout = layout(len);
        // SAFETY: the layout has a non-zero size (the header); the header and every slot are
        // written before the handle exists (`fill` cannot see the scope).
        unsafe {
            let raw = std::alloc::alloc(layout) as *mut Header;
            let Some(ptr) = NonNull::new(raw) else { std::alloc::handle_alloc_error(layout) };
            raw.write(Header { strong: Cell::new(1), len_tracked: Cell::new(len as u32), parent });
            let slots = slots_of(raw);
            for idx in 0..len {
                slots.add(idx).write(fill(idx));
            }
            Env { ptr }
        }
    }

    #[inline(always)]
    fn header(&self) -> &Header {
        // SAFETY: the allocation lives while a strong handle does.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of slots.
    #[inline(always)]
    pub fn len(&self) -> usize {
        (self.header().len_tracked.get() & !TRACKED) as usize
    }

    /// Whether this is the only handle on the scope.
    #[inline(always)]
    pub fn is_unique(&self) -> bool {
        self.header().strong.get() == 1
    }

    /// Whether the scope has no slots.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The enclosing scope.
    #[inline(always)]
    pub fn parent(&self) -> Option<&Env> {
        self.header().parent.as_ref()
    }

    /// A slot's value.
    #[inline]
    pub fn get(&self, idx: usize) -> Option<Value> {
        self.with(|slots| slots.get(idx).cloned())
    }

    /// A slot's value with an evaluated thunk replaced by its value; an unevaluated thunk as
    /// `Err`, to be forced by the caller; `Null` for a missing slot.
    #[inline(always)]
    pub fn value_or_thunk(&self, idx: usize) -> Result<Value, crate::value::Thunk> {
        self.with(
            #[inline(always)]
            |slots| match slots.get(idx) {
                Some(Value::Thunk(thunk)) => match thunk.0.done() {
                    Some(value) => Ok(value),
                    None => Err(thunk.clone()),
                },
                Some(value) => Ok(value.clone()),
                None => Ok(Value::Null),
            },
        )
    }

    /// Reads the slots. `read` must not change this scope's slots (nothing in it can reach
    /// them: it is given values to look at and clone, and must not evaluate anything).
    #[inline(always)]
    pub(crate) fn with<R>(&self, read: impl FnOnce(&[Value]) -> R) -> R {
        // SAFETY: the slots were all written at creation; the only writers are `set` and
        // `take_all`, which hold no reference while they run, and `read` does not call them
        // (see above). Scopes never leave their thread.
        read(unsafe { std::slice::from_raw_parts(slots_of(self.ptr.as_ptr()), self.len()) })
    }

    /// Replaces one slot, if it exists (the previous value is dropped after the swap).
    ///
    /// A value that can hold others, written into a scope after it was made, can close a
    /// cycle (a `let` binding's thunk holds its own scope): the scope is tracked from then
    /// on, while this thread tracks scopes (see [`track_scopes`]).
    #[inline]
    pub fn set(&self, idx: usize, value: Value) {
        if TRACKING.with(Cell::get) && self.header().len_tracked.get() & TRACKED == 0 && holds_others(&value) {
            track(self);
        }
        self.refill(idx, value);
    }

    /// [`Env::set`] on a scope nothing else holds (see [`Env::is_unique`]), which no cycle
    /// can pass through: nothing reaches it, so it is not tracked.
    #[inline]
    pub fn refill(&self, idx: usize, value: Value) {
        if idx >= self.len() {
            return;
        }
        // SAFETY: `idx` is in bounds and no reference into the slots is alive (see `with`).
        let old = unsafe { std::ptr::replace(slots_of(self.ptr.as_ptr()).add(idx), value) };
        drop(old);
    }

    /// Drops this handle; when every other handle on the scope comes from what its own
    /// slots alone hold (a binding's thunk waiting to evaluate in it, a function closed
    /// over it, a set of such), nothing else can reach the scope: it is garbage kept by
    /// its own cycle, and its slots are emptied so that it is freed.
    pub(crate) fn release(self) {
        let strong = self.header().strong.get();
        if strong == 1 {
            return;
        }
        let me = self.ptr.as_ptr().cast_const().cast::<u8>();
        let mut budget = RELEASE_BUDGET;
        let owned = self.owned_refs_in_slots(me, &mut budget);
        if strong as usize == 1 + owned {
            drop(self.take_all());
            // Every handle counted was one of the values just dropped.
            debug_assert_eq!(self.header().strong.get(), 1);
        }
    }

    /// The handles on the scope at `scope` that this scope holds, itself (when it is that
    /// scope) or through its parent and slots when nothing else holds it.
    pub(crate) fn owned_refs(&self, scope: *const u8, budget: &mut u32) -> usize {
        if self.ptr.as_ptr().cast_const().cast::<u8>() == scope {
            return 1;
        }
        if self.header().strong.get() != 1 || *budget == 0 {
            return 0;
        }
        *budget -= 1;
        let parent = self.parent().map_or(0, |parent| parent.owned_refs(scope, budget));
        parent + self.owned_refs_in_slots(scope, budget)
    }

    /// The handles on the scope at `scope` that this scope's slots hold (see
    /// [`crate::value::owned_refs`]).
    fn owned_refs_in_slots(&self, scope: *const u8, budget: &mut u32) -> usize {
        self.with(|slots| slots.iter().map(|slot| crate::value::owned_refs(slot, scope, budget)).sum())
    }

    /// [`Env::owned_refs`] of the scope whose handle was given up as `raw`.
    ///
    /// # Safety
    /// `raw` must come from [`Env::into_raw`] of a handle not taken back yet.
    pub(crate) unsafe fn owned_refs_at(raw: *const u8, scope: *const u8, budget: &mut u32) -> usize {
        // SAFETY: the caller's contract; the handle is never dropped, so no count moves.
        let env = std::mem::ManuallyDrop::new(unsafe { Env::from_raw(raw.cast_mut()) });
        env.owned_refs(scope, budget)
    }

    /// Empties every slot: they read as `null` afterwards.
    fn take_all(&self) -> Vec<Value> {
        (0..self.len())
            .map(|idx| {
                // SAFETY: as for `set`.
                unsafe { std::ptr::replace(slots_of(self.ptr.as_ptr()).add(idx), Value::Null) }
            })
            .collect()
    }

    /// Drops the contents once the last strong handle is gone; frees the allocation unless a
    /// tracker still holds a weak handle (which frees it then).
    #[cold]
    #[inline(never)]
    fn drop_contents(&mut self) {
        let raw = self.ptr.as_ptr();
        let len = self.len();
        // SAFETY: no strong handle is left, so nothing else reads the contents; each is
        // moved out or dropped exactly once, and the allocation is freed only once no
        // weak handle is left.
        unsafe {
            let parent = std::ptr::replace(std::ptr::addr_of_mut!((*raw).parent), None);
            for idx in 0..len {
                let slot = slots_of(raw).add(idx);
                // Most slots of a call's scope hold numbers and booleans, which own nothing:
                // no call to drop for them.
                if !matches!(*slot, Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)) {
                    std::ptr::drop_in_place(slot);
                }
            }
            drop(parent);
            if (*raw).len_tracked.get() & TRACKED == 0 {
                std::alloc::dealloc(raw as *mut u8, layout(len));
            }
        }
    }
}

/// Where the slots of a scope start.
#[inline(always)]
fn slots_of(header: *mut Header) -> *mut Value {
    // SAFETY (for callers): the allocation is a header followed by the slots; `Header` is
    // 16 bytes with the alignment of `Value`, so the slots start right after it.
    unsafe { (header as *mut u8).add(std::mem::size_of::<Header>()) as *mut Value }
}

impl Env {
    /// Gives up the handle for its address, to be taken back by [`Env::from_raw`].
    #[inline(always)]
    pub(crate) fn into_raw(self) -> *mut u8 {
        std::mem::ManuallyDrop::new(self).ptr.as_ptr().cast()
    }

    /// Takes back a handle given up by [`Env::into_raw`].
    ///
    /// # Safety
    /// `raw` came from `into_raw`, and is taken back once.
    #[inline(always)]
    pub(crate) unsafe fn from_raw(raw: *mut u8) -> Env {
        // SAFETY: the caller's contract: a live scope's header.
        Env { ptr: unsafe { NonNull::new_unchecked(raw.cast()) } }
    }
}

impl Clone for Env {
    #[inline(always)]
    fn clone(&self) -> Env {
        let strong = &self.header().strong;
        match strong.get().checked_add(1) {
            Some(next) => strong.set(next),
            None => std::process::abort(),
        }
        Env { ptr: self.ptr }
    }
}

impl Drop for Env {
    #[inline(always)]
    fn drop(&mut self) {
        let strong = &self.header().strong;
        let left = strong.get() - 1;
        strong.set(left);
        if left == 0 {
            self.drop_contents();
        }
    }
}

/// A tracker's handle on a scope: it keeps the allocation, not the contents.
struct WeakEnv {
    ptr: NonNull<Header>,
}

impl WeakEnv {
    fn new(env: &Env) -> WeakEnv {
        let header = env.header();
        header.len_tracked.set(header.len_tracked.get() | TRACKED);
        WeakEnv { ptr: env.ptr }
    }

    fn header(&self) -> &Header {
        // SAFETY: a weak handle keeps the allocation (not the contents) alive.
        unsafe { self.ptr.as_ref() }
    }

    fn is_alive(&self) -> bool {
        self.header().strong.get() > 0
    }

    fn upgrade(&self) -> Option<Env> {
        let strong = &self.header().strong;
        match strong.get() {
            0 => None,
            count => {
                strong.set(count + 1);
                Some(Env { ptr: self.ptr })
            }
        }
    }
}

impl Drop for WeakEnv {
    fn drop(&mut self) {
        let header = self.header();
        if header.strong.get() == 0 {
            let len = (header.len_tracked.get() & !TRACKED) as usize;
            // SAFETY: the contents are gone and this was the only weak handle.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr() as *mut u8, layout(len)) };
        } else {
            header.len_tracked.set(header.len_tracked.get() & !TRACKED);
        }
    }
}

/// Whether a value can hold other values, and so be part of a reference cycle.
#[inline(always)]
fn holds_others(value: &Value) -> bool {
    matches!(value, Value::Attrs(_) | Value::List(_) | Value::Lambda(_) | Value::PrimOpApp(_) | Value::Thunk(_))
}

/// Starts tracking what can close a reference cycle on this thread, so that
/// [`release_scopes`] can break the cycles (a `let` or `rec` binding is a thunk that holds
/// its own scope). Without it, the values of an evaluation that is dropped stay allocated.
///
/// Values only ever point at older ones when they are made, so every cycle goes through a
/// value written later into something older, while something else holds that: a thunk's
/// result, or a slot of a scope written after it was made ([`Env::set`]). Those are what
/// is tracked, and only when the value written can hold others. A function call's scope,
/// filled when it is made, is not. Dead scopes and thunks are swept out of the lists as
/// they grow, so each stays within twice the number of live ones.
pub fn track_scopes() {
    TRACKING.with(|t| t.set(true));
}

/// Empties every scope tracked on this thread that is still alive and stops tracking. Call
/// it only once the values of the evaluations that created them are no longer used: their
/// variables read as `null` afterwards.
pub fn release_scopes() {
    take_tracked_scopes().release();
}

/// Stops tracking and takes what this thread tracked, to be released later with
/// [`TrackedScopes::release`], once the evaluations that created it are no longer used.
/// The thread can meanwhile track the scopes of another evaluation.
pub fn take_tracked_scopes() -> TrackedScopes {
    TRACKING.with(|t| t.set(false));
    let thunks = TRACKED_THUNKS.with(|t| std::mem::take(&mut *t.borrow_mut())).0;
    let scopes = TRACKED_SCOPES.with(|t| std::mem::take(&mut *t.borrow_mut())).0;
    TrackedScopes { thunks, scopes }
}

/// Scopes and finished thunks tracked on a thread (see [`take_tracked_scopes`]). Dropping it
/// without [`TrackedScopes::release`] leaves their cycles allocated.
pub struct TrackedScopes {
    thunks: Vec<Tracked<ThunkCell>>,
    scopes: Vec<WeakEnv>,
}

impl TrackedScopes {
    /// Empties every scope in the list that is still alive, and the finished thunks.
    pub fn release(self) {
        let TrackedScopes { thunks, scopes } = self;
        // A finished thunk whose set or list holds the thunk again is a cycle no scope is
        // part of (`rec { config = { ... }; self = config; }` once `self` is forced):
        // emptying the thunks breaks it.
        for tracked in &thunks {
            if let Some(thunk) = tracked.upgrade() {
                drop(thunk.replace(ThunkState::Done(Value::Null)));
            }
        }
        drop(thunks);
        for weak in scopes {
            if let Some(env) = weak.upgrade() {
                // Dropped here, outside any borrow of the slots.
                drop(env.take_all());
            }
        }
    }
}

/// Notes a thunk that just finished with `value` while scopes are tracked, so that
/// [`release_scopes`] can break the cycles it may be part of (when the value can hold
/// others). The list holds weak handles: a thunk nothing else holds is freed with its
/// value, and its handle swept out as the list grows.
#[inline]
pub(crate) fn track_finished(thunk: &Thunk, value: &Value) {
    if TRACKING.with(Cell::get) && holds_others(value) {
        track_thunk(thunk);
    }
}

#[cold]
fn track_thunk(thunk: &Thunk) {
    let Some(tracked) = crate::shared::Shared::track(&thunk.0) else { return };
    TRACKED_THUNKS.with(|t| {
        let mut t = t.borrow_mut();
        t.0.push(tracked);
        if t.0.len() >= t.1 {
            // Freeing a dead thunk's allocation drops nothing: its value went with it.
            t.0.retain(Tracked::is_alive);
            t.1 = (t.0.len() * 2).max(1 << 16);
        }
    });
}

#[cold]
fn track(env: &Env) {
    TRACKED_SCOPES.with(|t| {
        let mut t = t.borrow_mut();
        t.0.push(WeakEnv::new(env));
        if t.0.len() >= t.1 {
            t.0.retain(WeakEnv::is_alive);
            t.1 = (t.0.len() * 2).max(1 << 16);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `let` scope of three slots: a path (whose count shows whether the scope was
    /// emptied), a binding's thunk waiting to evaluate in the scope, and a set holding a
    /// function closed over the scope and another thunk of it.
    fn let_scope(held: &std::rc::Rc<String>) -> (Env, Value) {
        use crate::value::{Attr, Attrs, Closure};
        let expr: &'static crate::ir::Expr = Box::leak(Box::new(crate::ir::Expr::Int(1)));
        let body: &'static crate::ir::LambdaDef = Box::leak(Box::new(crate::ir::LambdaDef {
            name: None,
            param: crate::ir::Param::Ident(crate::symbol::Symbol::intern("x")),
            body: crate::ir::Expr::Int(1),
            n_slots: 1,
            span: crate::source::Span { file: crate::source::FileId(std::num::NonZeroU32::MIN), start: 0 },
            formal_positions: Vec::new(),
        }));
        let scope = Env::with_slots(3, None);
        scope.set(0, Value::Path(held.clone()));
        scope.set(1, Thunk::pending(expr, scope.clone()));
        let function = Value::Lambda(crate::shared::Shared::new(Closure { def: body, env: scope.clone() }));
        let set = Attrs::from_unsorted(vec![
            Attr { name: crate::symbol::Symbol::intern("f"), value: function, pos: crate::source::Pos::NONE },
            Attr {
                name: crate::symbol::Symbol::intern("t"),
                value: Thunk::pending(expr, scope.clone()),
                pos: crate::source::Pos::NONE,
            },
        ]);
        let set = Value::attrs(set);
        scope.set(2, set.clone());
        (scope, set)
    }

    #[test]
    fn a_scope_held_only_by_what_its_slots_hold_is_emptied_when_released() {
        let held = std::rc::Rc::new(String::from("/p"));
        let (scope, set) = let_scope(&held);
        drop(set);
        assert_eq!(scope.header().strong.get(), 4);
        scope.release();
        assert_eq!(std::rc::Rc::strong_count(&held), 1, "the cycle was not broken");
    }

    #[test]
    fn a_scope_something_else_holds_is_kept_when_released() {
        let held = std::rc::Rc::new(String::from("/p"));
        // The set is held outside the scope too: its function and thunk keep the scope.
        let (scope, set) = let_scope(&held);
        scope.release();
        assert_eq!(std::rc::Rc::strong_count(&held), 2);
        drop(set);
        // A second handle on the scope itself.
        let (scope, set) = let_scope(&held);
        drop(set);
        let kept = scope.clone();
        scope.release();
        assert!(matches!(kept.get(0), Some(Value::Path(_))));
        kept.release();
        assert_eq!(std::rc::Rc::strong_count(&held), 2, "only the first scope's cycle is left");
    }

    #[test]
    fn a_shared_base_of_a_set_is_not_counted_as_the_scope_s() {
        use crate::value::{Attr, Attrs};
        let held = std::rc::Rc::new(String::from("/p"));
        let expr: &'static crate::ir::Expr = Box::leak(Box::new(crate::ir::Expr::Int(1)));
        let scope = Env::with_slots(2, None);
        scope.set(0, Value::Path(held.clone()));
        let attr = |name: &str, value: Value| Attr {
            name: crate::symbol::Symbol::intern(name),
            value,
            pos: crate::source::Pos::NONE,
        };
        // A large base, so that `//` of a small set shares it as a layer; the thunk comes
        // first, within the budget of values looked at.
        let mut entries = vec![attr("_t", Thunk::pending(expr, scope.clone()))];
        entries.extend((0..70).map(|i| attr(&format!("a{i}"), Value::Int(i))));
        let base = Attrs::from_unsorted(entries);
        let layered = Attrs::update_shared(&base, &Attrs::from_unsorted(vec![attr("z", Value::Int(0))]));
        scope.set(1, Value::attrs(layered));
        // The base's thunk holds the scope, but the base is shared: the scope is kept.
        scope.release();
        assert_eq!(std::rc::Rc::strong_count(&held), 2);
        drop(base);
    }

    #[test]
    fn a_scope_is_one_small_allocation() {
        assert_eq!(std::mem::size_of::<Header>(), 16);
        assert_eq!(std::mem::align_of::<Header>(), std::mem::align_of::<Value>());
        assert_eq!(layout(1).size(), 32);
        assert_eq!(std::mem::size_of::<Env>(), 8);
        assert_eq!(std::mem::size_of::<Option<Env>>(), 8);
    }

    #[test]
    fn slots_and_parents_read_back() {
        let outer = Env::one(Value::Int(1), None);
        let inner = Env::with_slots(3, Some(outer.clone()));
        inner.set(2, Value::Int(7));
        inner.set(9, Value::Int(8));
        assert!(matches!(inner.get(2), Some(Value::Int(7))));
        assert!(matches!(inner.get(0), Some(Value::Null)));
        assert!(inner.get(3).is_none());
        assert!(matches!(inner.parent().and_then(|p| p.get(0)), Some(Value::Int(1))));
        drop(outer);
        assert!(matches!(inner.parent().and_then(|p| p.get(0)), Some(Value::Int(1))));
    }

    #[test]
    fn released_scopes_read_as_null_and_dead_ones_are_freed() {
        track_scopes();
        // Filled when made: nothing in it can be newer, so it is not tracked.
        let call = Env::one(Value::Int(1), None);
        // Written later with a value that holds nothing: not tracked either.
        let counted = Env::with_slots(1, None);
        counted.set(0, Value::Int(2));
        // A cycle: the scope holds a thunk that holds the scope.
        let cyclic = Env::with_slots(1, None);
        cyclic.set(
            0,
            crate::value::Thunk::native({
                let env = cyclic.clone();
                move |_| Ok(env.get(0).unwrap_or(Value::Null))
            }),
        );
        // A scope nothing else holds, refilled: not tracked.
        let spare = Env::one(Value::Int(3), None);
        spare.refill(0, Value::List(crate::value::List::new(Vec::new())));
        let weak_count = TRACKED_SCOPES.with(|t| t.borrow().0.len());
        assert_eq!(weak_count, 1);
        release_scopes();
        assert!(matches!(call.get(0), Some(Value::Int(1))));
        assert!(matches!(counted.get(0), Some(Value::Int(2))));
        assert!(matches!(cyclic.get(0), Some(Value::Null)));
        assert!(matches!(spare.get(0), Some(Value::List(_))));
        assert_eq!(TRACKED_SCOPES.with(|t| t.borrow().0.len()), 0);
        // Untracked again: a scope written later is not listed.
        let later = Env::with_slots(1, None);
        later.set(0, Value::List(crate::value::List::new(Vec::new())));
        assert_eq!(TRACKED_SCOPES.with(|t| t.borrow().0.len()), 0);
    }

    fn new_thunk() -> Thunk {
        match crate::value::Thunk::native(|_| Ok(Value::Int(0))) {
            Value::Thunk(thunk) => thunk,
            _ => unreachable!("a native thunk is a thunk"),
        }
    }

    #[test]
    fn a_thunk_finished_with_a_set_is_tracked_weakly_and_released() {
        track_scopes();
        let thunk = new_thunk();
        let set = Value::Attrs(crate::value::Attrs::default());
        drop(thunk.0.replace(ThunkState::Done(set.clone())));
        track_finished(&thunk, &set);
        let dead = new_thunk();
        drop(dead.0.replace(ThunkState::Done(set.clone())));
        track_finished(&dead, &set);
        // A value that holds nothing is not tracked.
        let plain = new_thunk();
        track_finished(&plain, &Value::Int(4));
        assert_eq!(TRACKED_THUNKS.with(|t| t.borrow().0.len()), 2);
        drop(dead);
        let tracked = take_tracked_scopes();
        assert_eq!(tracked.thunks.iter().filter(|t| t.is_alive()).count(), 1);
        tracked.release();
        assert!(matches!(thunk.0.done(), Some(Value::Null)));
    }
}
