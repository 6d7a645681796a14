//! Per-thread memory accounting for worker budgets: a global-allocator wrapper that counts,
//! for each thread, the bytes it allocated minus the bytes it freed.
//!
//! Evaluation values are reference-counted and never leave the thread that made them, so
//! this count is a close measure of a worker's heap. A binary opts in by installing
//! [`CountingAllocator`] as its global allocator; without it every count stays zero and no
//! budget is ever exceeded.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::OnceLock;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread (negative when it frees memory
    /// that another thread allocated).
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Whether a [`CountingAllocator`] is installed (found out on the first question).
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Wraps an allocator and counts live bytes per thread.
pub struct CountingAllocator<A>(pub A);

// SAFETY: every call is forwarded unchanged to the wrapped allocator; the bookkeeping is a
// const-initialised thread-local `Cell` without destructor, which never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

#[inline]
fn count(delta: isize) {
    // `try_with`: the thread-local may be gone while a thread is being torn down.
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

/// Bytes this thread has allocated and not freed (zero without a [`CountingAllocator`]).
pub fn thread_live_bytes() -> usize {
    LIVE.try_with(Cell::get).unwrap_or(0).max(0) as usize
}

/// Whether per-thread accounting is active in this process.
pub fn accounting_active() -> bool {
    // Installed, a box's allocation moves this thread's count (checked once, so that
    // counting stays one addition per allocation).
    *INSTALLED.get_or_init(|| {
        let before = LIVE.try_with(Cell::get).unwrap_or(0);
        let probe = std::hint::black_box(Box::new(0u64));
        let after = LIVE.try_with(Cell::get).unwrap_or(0);
        drop(probe);
        after != before
    })
}

/// Parses a size such as `512M`, `2G`, `1.5GiB` or a plain number of bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * factor;
    (bytes.is_finite() && bytes >= 1.0).then_some(bytes as u64)
}

pub use nxe_evaluator::io::physical_memory;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("12 mb"), Some(12 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("3X"), None);
    }
}
