//! Source files and positions.
//!
//! Every file or `-E` expression the evaluator compiles is registered in one process-wide
//! [`SourceMap`] and gets a [`FileId`]. Positions inside compiled code are [`Span`]s: a file id
//! and a byte range. Only a renderer turns a span into `file:line:col` with a snippet, so the
//! hot path never computes line numbers.

use std::sync::{Arc, OnceLock, RwLock};

/// Identifies one registered source text: its index in the source map plus one, so that
/// `Option<Span>` takes no more room than a `Span`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub std::num::NonZeroU32);

/// A position inside one source file: where a construct starts. Messages show only starts,
/// so the end is not kept; eight bytes, in every attribute of every set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file the position is in.
    pub file: FileId,
    /// First byte.
    pub start: u32,
}

/// The start of a [`Span`] that is no place: what the reference shows as no position.
pub const NOWHERE: u32 = u32::MAX;

impl Span {
    /// No place in `file` (see [`NOWHERE`]).
    pub const fn nowhere(file: FileId) -> Span {
        Span { file, start: NOWHERE }
    }
}

/// An attribute's position in four bytes: its number in a process-wide table of spans,
/// so that an attribute (name, position, value) takes 24 bytes. Compiled code numbers its
/// positions once; numbering the same span again gives the same number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos(Option<std::num::NonZeroU32>);

/// The spans of positions, by number.
static POSITIONS: crate::symbol::GrowingTable<Span> = crate::symbol::GrowingTable::new();

impl Pos {
    /// No position (attributes made by builtins).
    pub const NONE: Pos = Pos(None);

    /// The number of `span`.
    pub fn of(span: Span) -> Pos {
        struct Numbers {
            by_span: rustc_hash::FxHashMap<Span, std::num::NonZeroU32>,
            count: u32,
        }
        static NUMBERS: OnceLock<std::sync::Mutex<Numbers>> = OnceLock::new();
        let numbers = NUMBERS
            .get_or_init(|| std::sync::Mutex::new(Numbers { by_span: rustc_hash::FxHashMap::default(), count: 0 }));
        let mut numbers = match numbers.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(number) = numbers.by_span.get(&span) {
            return Pos(Some(*number));
        }
        let Some(number) = numbers.count.checked_add(1).and_then(std::num::NonZeroU32::new) else {
            return Pos::NONE;
        };
        POSITIONS.push(number, span, span);
        numbers.count = number.get();
        numbers.by_span.insert(span, number);
        Pos(Some(number))
    }

    /// The span, if there is a position.
    #[inline]
    pub fn span(self) -> Option<Span> {
        self.0.map(|number| POSITIONS.get(number))
    }
}

/// One registered source text.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown to users: an absolute path, or `«string»` for `-E` text.
    pub name: String,
    /// The full text.
    pub text: String,
    /// Byte offsets of the start of every line.
    line_starts: Vec<u32>,
}

/// A resolved position: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// File name as shown to users.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

/// The process-wide table of source texts.
pub struct SourceMap {
    files: RwLock<Vec<Arc<SourceFile>>>,
}

impl SourceMap {
    /// The one source map of this process.
    pub fn global() -> &'static SourceMap {
        static MAP: OnceLock<SourceMap> = OnceLock::new();
        MAP.get_or_init(|| SourceMap { files: RwLock::new(Vec::new()) })
    }

    /// Registers a text and returns its id.
    pub fn add(&self, name: String, text: String) -> FileId {
        let mut line_starts = vec![0u32];
        for (idx, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(idx as u32 + 1);
            }
        }
        let file = Arc::new(SourceFile { name, text, line_starts });
        let mut files = match self.files.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        files.push(file);
        FileId(std::num::NonZeroU32::MIN.saturating_add(files.len() as u32 - 1))
    }

    /// The file behind an id.
    pub fn file(&self, id: FileId) -> Option<Arc<SourceFile>> {
        let files = match self.files.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        files.get(id.0.get() as usize - 1).cloned()
    }

    /// Resolves the start of a span to a line and column.
    pub fn location(&self, span: Span) -> Option<Location> {
        if span.start == NOWHERE {
            return None;
        }
        let file = self.file(span.file)?;
        let (line, column) = file.line_col(span.start);
        Some(Location { file: file.name.clone(), line, column })
    }
}

impl SourceFile {
    /// 1-based line and column of a byte offset. The column counts bytes, as the reference's
    /// does: a character of two bytes before the place counts twice.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(idx) => idx,
            Err(idx) => idx.saturating_sub(1),
        };
        let line_start = self.line_starts[line_idx] as usize;
        let end = (offset as usize).min(self.text.len());
        let column = end.saturating_sub(line_start);
        (line_idx as u32 + 1, column as u32 + 1)
    }

    /// How many lines the text has: one more than it has newlines (a text ending in a
    /// newline has an empty last line).
    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: u32) -> &str {
        let idx = line.saturating_sub(1) as usize;
        let Some(&start) = self.line_starts.get(idx) else { return "" };
        let end = self.line_starts.get(idx + 1).map_or(self.text.len(), |&e| e as usize - 1);
        self.text.get(start as usize..end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_gives_back_its_span() {
        let file = SourceMap::global().add("positions.nix".to_string(), "{ a = 1; }".to_string());
        let first = Span { file, start: 2 };
        let second = Span { file, start: 7 };
        let (a, b) = (Pos::of(first), Pos::of(second));
        assert_ne!(a, b);
        assert_eq!(Pos::of(first), a);
        assert_eq!(a.span(), Some(first));
        assert_eq!(b.span(), Some(second));
        assert_eq!(Pos::NONE.span(), None);
        assert_eq!(std::mem::size_of::<Pos>(), 4);
    }

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let id = SourceMap::global().add("t.nix".into(), "a\nbc\n  d".into());
        let file = SourceMap::global().file(id).expect("registered");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 2));
        assert_eq!(file.line_col(7), (3, 3));
        assert_eq!(file.line_text(2), "bc");
        assert_eq!(file.line_text(3), "  d");
    }
}
