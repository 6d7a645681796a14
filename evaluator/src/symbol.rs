//! Interned identifiers.
//!
//! Every attribute name and variable name the evaluator sees is interned once into a
//! process-wide table and leaked, so a [`Symbol`] is a thin `'static` pointer: equality is a
//! pointer comparison, and the text is available without a lock.
//! Compiled code is shared between worker threads, so the table is global and guarded by a
//! mutex that is taken only when a new name is interned (compilation, dynamic attributes).

use rustc_hash::FxHashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// The leaked data behind a [`Symbol`].
struct SymbolData {
    text: Box<str>,
}

/// An interned name: cheap to copy, compared by identity, ordered by text.
#[derive(Clone, Copy)]
pub struct Symbol(&'static SymbolData);

fn table() -> &'static Mutex<FxHashMap<&'static str, Symbol>> {
    static TABLE: OnceLock<Mutex<FxHashMap<&'static str, Symbol>>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(FxHashMap::default()))
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
        if let Some(symbol) = table.get(text) {
            return *symbol;
        }
        let data: &'static SymbolData = Box::leak(Box::new(SymbolData { text: text.into() }));
        let symbol = Symbol(data);
        table.insert(&data.text, symbol);
        symbol
    }

    /// The text of the symbol.
    pub fn as_str(self) -> &'static str {
        &self.0.text
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Symbol) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Symbol {}

impl std::hash::Hash for Symbol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.0 as *const SymbolData as usize).hash(state);
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
    }
}
