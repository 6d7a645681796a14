//! [`Shared`]: a reference-counted pointer for the values the evaluator makes by the
//! million (thunks, closures). Like `std::rc::Rc` with at most one weak handle, a
//! tracker's ([`Tracked`]), so its header is one word instead of two: a thunk takes 24
//! bytes and a closure 24.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

/// The number of handles to a shared block: [`Shared`]'s, and the sets' and strings' own
/// blocks (`value.rs`).
pub(crate) struct RefCount(Cell<u32>);

impl RefCount {
    /// The count of a block's first handle.
    #[inline(always)]
    pub(crate) fn one() -> RefCount {
        RefCount(Cell::new(1))
    }

    /// Counts one more handle. Four billion handles would take 32 GiB of pointers, so this
    /// never wraps in practice; checked anyway, as `Rc` does.
    #[inline(always)]
    pub(crate) fn add(&self) {
        let next = self.0.get().wrapping_add(1);
        if next == 0 {
            std::process::abort();
        }
        self.0.set(next);
    }

    /// Counts one handle less; true when it was the last, whose owner frees the block.
    #[inline(always)]
    pub(crate) fn release(&self) -> bool {
        let left = self.0.get() - 1;
        self.0.set(left);
        left == 0
    }

    /// How many handles exist.
    pub(crate) fn get(&self) -> usize {
        self.0.get() as usize
    }
}

/// The allocation: the count, whether a tracker holds a weak handle, then the value (the
/// flag fits in the padding before it).
struct Inner<T> {
    count: RefCount,
    tracked: Cell<bool>,
    value: T,
}

/// A shared, immutable (except through cells) value on the heap of one thread.
pub struct Shared<T> {
    ptr: NonNull<Inner<T>>,
    /// Owns an `Inner<T>`; not `Send` or `Sync` (`NonNull` is neither).
    owns: PhantomData<Inner<T>>,
}

impl<T> Shared<T> {
    /// Moves `value` to the heap with a count of one.
    #[inline]
    pub fn new(value: T) -> Shared<T> {
        let inner = Box::new(Inner { count: RefCount::one(), tracked: Cell::new(false), value });
        Shared { ptr: NonNull::from(Box::leak(inner)), owns: PhantomData }
    }

    #[inline(always)]
    fn inner(&self) -> &Inner<T> {
        // SAFETY: the allocation lives while any handle does (the count is at least one).
        unsafe { self.ptr.as_ref() }
    }

    /// Whether two handles point at one allocation.
    #[inline]
    pub fn ptr_eq(this: &Shared<T>, other: &Shared<T>) -> bool {
        this.ptr == other.ptr
    }

    /// The address of the value, for identity (printing cycles).
    #[inline]
    pub fn as_ptr(this: &Shared<T>) -> *const T {
        &this.inner().value
    }

    /// How many handles exist.
    pub fn count(this: &Shared<T>) -> usize {
        this.inner().count.get()
    }

    /// Gives up the handle for its address, to be taken back by [`Shared::from_raw`].
    #[inline(always)]
    pub(crate) fn into_raw(this: Shared<T>) -> *mut u8 {
        std::mem::ManuallyDrop::new(this).ptr.as_ptr().cast()
    }

    /// Takes back a handle given up by [`Shared::into_raw`].
    ///
    /// # Safety
    /// `raw` came from `into_raw` on a `Shared<T>`, and is taken back once.
    #[inline(always)]
    pub(crate) unsafe fn from_raw(raw: *mut u8) -> Shared<T> {
        // SAFETY: the caller's contract: a live, non-null allocation of an `Inner<T>`.
        Shared { ptr: unsafe { NonNull::new_unchecked(raw.cast()) }, owns: PhantomData }
    }

    /// A tracker's weak handle on the allocation: it keeps the allocation, not the value,
    /// once the last handle is gone. `None` when a tracker already has one.
    pub(crate) fn track(this: &Shared<T>) -> Option<Tracked<T>> {
        let tracked = &this.inner().tracked;
        if tracked.get() {
            return None;
        }
        tracked.set(true);
        Some(Tracked { ptr: this.ptr })
    }

    #[cold]
    #[inline(never)]
    fn free(&mut self) {
        let raw = self.ptr.as_ptr();
        // SAFETY: the last handle is going away: nothing else can reach the value. The
        // allocation, which `new` made with `Box`, is freed here unless a tracker holds it,
        // which frees it then ([`Tracked`]'s drop).
        unsafe {
            if (*raw).tracked.get() {
                std::ptr::drop_in_place(std::ptr::addr_of_mut!((*raw).value));
            } else {
                drop(Box::from_raw(raw));
            }
        }
    }
}

/// A tracker's weak handle on a [`Shared`] allocation (see [`Shared::track`]): the value
/// lives as long as a [`Shared`] handle does, the allocation as long as this too.
pub(crate) struct Tracked<T> {
    ptr: NonNull<Inner<T>>,
}

impl<T> Tracked<T> {
    fn inner(&self) -> &Inner<T> {
        // SAFETY: a tracker's handle keeps the allocation alive.
        unsafe { self.ptr.as_ref() }
    }

    /// Whether a [`Shared`] handle is left (the value is alive).
    pub(crate) fn is_alive(&self) -> bool {
        self.inner().count.get() > 0
    }

    /// A [`Shared`] handle on the value, if it is still alive.
    pub(crate) fn upgrade(&self) -> Option<Shared<T>> {
        self.is_alive().then(|| {
            self.inner().count.add();
            Shared { ptr: self.ptr, owns: PhantomData }
        })
    }
}

impl<T> Drop for Tracked<T> {
    fn drop(&mut self) {
        let inner = self.inner();
        if inner.count.get() == 0 {
            // SAFETY: the value was dropped with its last handle (`Shared::free`); this was
            // the only other handle, so the allocation goes without dropping it again.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), std::alloc::Layout::new::<Inner<T>>()) };
        } else {
            inner.tracked.set(false);
        }
    }
}

impl<T> Clone for Shared<T> {
    #[inline(always)]
    fn clone(&self) -> Shared<T> {
        self.inner().count.add();
        Shared { ptr: self.ptr, owns: PhantomData }
    }
}

impl<T> Drop for Shared<T> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.inner().count.release() {
            self.free();
        }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;
    use std::cell::Cell;
    use std::rc::Rc;

    struct Noisy(Rc<Cell<u32>>);

    impl Drop for Noisy {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn the_value_is_dropped_once_with_the_last_handle() {
        let drops = Rc::new(Cell::new(0));
        let first = Shared::new(Noisy(drops.clone()));
        let second = first.clone();
        assert!(Shared::ptr_eq(&first, &second));
        assert_eq!(Shared::count(&first), 2);
        drop(first);
        assert_eq!(drops.get(), 0);
        assert_eq!(Shared::count(&second), 1);
        drop(second);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn a_tracked_value_is_dropped_with_its_last_handle_and_its_allocation_with_the_tracker() {
        let drops = Rc::new(Cell::new(0));
        let first = Shared::new(Noisy(drops.clone()));
        let Some(tracker) = Shared::track(&first) else { panic!("a first tracker") };
        assert!(Shared::track(&first).is_none());
        let second = tracker.upgrade().expect("alive");
        assert_eq!(Shared::count(&first), 2);
        drop((first, second));
        assert_eq!(drops.get(), 1);
        assert!(!tracker.is_alive());
        assert!(tracker.upgrade().is_none());
        drop(tracker);
        assert_eq!(drops.get(), 1);

        // A tracker let go while the value lives leaves it to be freed as usual.
        let kept = Shared::new(Noisy(drops.clone()));
        drop(Shared::track(&kept));
        assert!(Shared::track(&kept).map(drop).is_some());
        drop(kept);
        assert_eq!(drops.get(), 2);
    }

    #[test]
    fn a_thunk_and_a_closure_stay_three_words() {
        assert_eq!(std::mem::size_of::<super::Inner<crate::value::ThunkCell>>(), 24);
        assert_eq!(std::mem::size_of::<super::Inner<crate::value::Closure>>(), 24);
    }

    #[test]
    fn distinct_allocations_are_not_equal() {
        let (a, b) = (Shared::new(1), Shared::new(1));
        assert!(!Shared::ptr_eq(&a, &b));
        assert_eq!(*a, *b);
    }
}
