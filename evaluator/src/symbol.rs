//! Interned identifiers.
//!
//! Every attribute name and variable name the evaluator sees is interned once into a
//! process-wide table and leaked. A [`Symbol`] is the name's 4-byte number in that table:
//! equality is a number comparison, and an attribute (name, position, value) fits in 24
//! bytes. The text is found without a lock, through a table that only grows.
//! Compiled code is shared between worker threads, so the table is global and guarded by a
//! mutex that is taken only when a new name is interned (compilation, dynamic attributes).

use rustc_hash::FxHashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

/// An interned name: cheap to copy, compared by identity, ordered by text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol(NonZeroU32);

/// The texts, by number.
static TEXTS: GrowingTable<&'static str> = GrowingTable::new();

/// A process-wide table that only grows, read without a lock: chunk `k` holds
/// `FIRST_CHUNK << k` entries, so growing never moves an entry another thread may be
/// reading. Entries are numbered from 1; the writer serialises additions itself.
pub(crate) struct GrowingTable<T: Copy + 'static> {
    chunks: [AtomicPtr<T>; CHUNKS],
}

const FIRST_CHUNK_BITS: u32 = 10;
const FIRST_CHUNK: usize = 1 << FIRST_CHUNK_BITS;
const CHUNKS: usize = 22;

/// The chunk and the offset in it of the entry for `number` (numbers start at 1).
#[inline]
fn chunk_of(number: u32) -> (usize, usize) {
    let biased = number as usize - 1 + FIRST_CHUNK;
    let chunk = (usize::BITS - 1 - biased.leading_zeros() - FIRST_CHUNK_BITS) as usize;
    (chunk, biased - (FIRST_CHUNK << chunk))
}

impl<T: Copy + 'static> GrowingTable<T> {
    /// An empty table.
    pub(crate) const fn new() -> GrowingTable<T> {
        GrowingTable { chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS] }
    }

    /// Writes entry `number`, which must be the one after the last written; `filler` fills
    /// a new chunk's other entries. The caller holds the lock that orders additions, and
    /// hands `number` out only after this returns.
    pub(crate) fn push(&self, number: NonZeroU32, value: T, filler: T) {
        let (chunk, offset) = chunk_of(number.get());
        assert!(chunk < CHUNKS, "more than {} entries in an interning table", (FIRST_CHUNK << CHUNKS) - FIRST_CHUNK);
        let mut entries = self.chunks[chunk].load(Ordering::Acquire);
        if entries.is_null() {
            let fresh: Box<[T]> = vec![filler; FIRST_CHUNK << chunk].into_boxed_slice();
            entries = Box::leak(fresh).as_mut_ptr();
            self.chunks[chunk].store(entries, Ordering::Release);
        }
        // SAFETY: the chunk has `FIRST_CHUNK << chunk` entries and `offset` is below that;
        // no reader looks at this entry before `number` is handed out.
        unsafe { entries.add(offset).write(value) };
    }

    /// Entry `number`, which must have been written.
    #[inline]
    pub(crate) fn get(&self, number: NonZeroU32) -> T {
        let (chunk, offset) = chunk_of(number.get());
        let entries = self.chunks[chunk].load(Ordering::Acquire);
        // SAFETY: numbers are handed out only once their entry is written, and chunks are
        // never freed.
        unsafe { *entries.add(offset) }
    }
}

/// The interning table: texts to symbols, and how many symbols there are.
struct Table {
    symbols: FxHashMap<&'static str, Symbol>,
    count: u32,
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(Table { symbols: FxHashMap::default(), count: 0 }))
}

thread_local! {
    /// Each thread's view of the table, so that interning a known name (dynamic attribute
    /// names, `getAttr`, `listToAttrs`) takes no lock.
    static LOCAL: std::cell::RefCell<FxHashMap<&'static str, Symbol>> = std::cell::RefCell::new(FxHashMap::default());
}

impl Symbol {
    /// Interns `text`, returning the one symbol that stands for it.
    pub fn intern(text: &str) -> Symbol {
        let cached = LOCAL.with(|local| local.borrow().get(text).copied());
        if let Some(symbol) = cached {
            return symbol;
        }
        let symbol = Symbol::intern_global(text);
        LOCAL.with(|local| local.borrow_mut().insert(symbol.as_str(), symbol));
        symbol
    }

    fn intern_global(text: &str) -> Symbol {
        let mut table = match table().lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(symbol) = table.symbols.get(text) {
            return *symbol;
        }
        let Some(number) = table.count.checked_add(1).and_then(NonZeroU32::new) else {
            panic!("more than {} distinct names", u32::MAX);
        };
        let leaked: &'static str = Box::leak(text.into());
        TEXTS.push(number, leaked, "");
        table.count = number.get();
        let symbol = Symbol(number);
        table.symbols.insert(leaked, symbol);
        symbol
    }

    /// The text of the symbol.
    #[inline]
    pub fn as_str(self) -> &'static str {
        TEXTS.get(self.0)
    }
}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Symbol) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Symbol {
    fn cmp(&self, other: &Symbol) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Symbol;

    #[test]
    fn interning_twice_gives_the_same_symbol() {
        let a = Symbol::intern("services");
        let b = Symbol::intern(&String::from("services"));
        assert_eq!(a, b);
        assert_ne!(a, Symbol::intern("service"));
        assert!(Symbol::intern("a") < Symbol::intern("b"));
        assert_eq!(std::mem::size_of::<Symbol>(), 4);
        assert_eq!(std::mem::size_of::<Option<Symbol>>(), 4);
    }

    #[test]
    fn texts_survive_the_table_growing_past_several_chunks() {
        let names: Vec<String> = (0..5000).map(|i| format!("growing-name-{i}")).collect();
        let symbols: Vec<Symbol> = names.iter().map(|name| Symbol::intern(name)).collect();
        for (name, symbol) in names.iter().zip(&symbols) {
            assert_eq!(symbol.as_str(), name);
            assert_eq!(Symbol::intern(name), *symbol);
        }
    }

    #[test]
    fn chunks_cover_every_number_once() {
        assert_eq!(super::chunk_of(1), (0, 0));
        assert_eq!(super::chunk_of(1024), (0, 1023));
        assert_eq!(super::chunk_of(1025), (1, 0));
        assert_eq!(super::chunk_of(3072), (1, 2047));
        assert_eq!(super::chunk_of(3073), (2, 0));
    }
}
