//! `builtins.match` and `builtins.split`: POSIX extended regular expressions in the
//! reference's dialect, with its choice among several possible matches.
//!
//! Syntax:
//!
//! * Only `.[\()*+?{|^$` may be escaped; any other escape (`\d`, `\}`, back-references)
//!   is an error. `]` and `}` are ordinary characters outside brackets.
//! * A quantifier (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`) needs something to repeat: at
//!   the start of a branch, after `(` or `|`, or after `^`/`$` it is an error.
//!   Quantifiers stack (`a**`, `a{2}{3}`). Counts above 2^31 - 1 are errors.
//! * Brackets: `^` negates, `]` first is literal, backslash is literal, ranges compare
//!   bytes as signed values, `-` is literal first, last or as a range end, `[:class:]`
//!   names (case-insensitive) and `[.name.]`/`[=name=]` with the portable character
//!   names (`[=x=]` of a letter also matches its other case).
//! * A pattern whose automaton would have too many states in the reference is rejected
//!   with the reference's "memory limit exceeded" error; the state count is estimated
//!   with a model of how the reference sizes each construct.
//!
//! Matching works on bytes (a `.` matches one byte of a UTF-8 character and newlines),
//! `^`/`$` only match at the ends of the whole input, and among the possible matches the
//! reference picks one by a search in priority order with these rules, which define the
//! "best end" of every state at every position:
//!
//! * an alternation tries every branch and keeps the one whose match ends last (the first
//!   such branch on ties);
//! * a repetition tries one more iteration first and gives up iterating only when that
//!   leads to no match at all (this also holds for `?` and the optional copies of `{n,m}`);
//! * the body of a repetition (including `?`) that could match empty is entered at most
//!   twice in a row at the same position (so an empty iteration may be followed by one
//!   more from the same place, which may then consume input);
//! * a group reports its last iteration on the chosen path, and groups inside a repetition
//!   are not reset when a new iteration skips them.
//!
//! `match` accepts only at the end of the input. `split` searches leftmost matches the
//! way a C++ regex iterator does: after an empty match it first looks for a non-empty
//! match at the same position, then searches from the next byte.
//!
//! Implementation: the pattern is parsed (without recursion) into an arena and compiled
//! into a small program of byte tests, alternations, optional parts and loops. The
//! matcher computes the best end of a state with an explicit stack and memoises it per
//! (state, position, repetitions entered at that position and how often), so it stays polynomial;
//! a second walk then follows the first path that reaches that end to collect the groups.
//! An equivalent pattern for the `regex` crate answers "is there a match" (for `match`)
//! and "where does the leftmost one start" (for `split`) in linear time beforehand.
//! Compiled patterns are cached per thread.

use super::versions::force_string_no_ctx;
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::Span;
use crate::value::{Forces, PrimOp, Value};
use regex::bytes::{Regex as FastRegex, RegexBuilder};
use rustc_hash::FxHashMap;
use std::cell::OnceCell;
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "match", arity: 2, func: builtin_match, forces: Forces::Nothing },
    PrimOp { name: "split", arity: 2, func: builtin_split, forces: Forces::Nothing },
];

fn builtin_match(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let pattern = force_string_no_ctx(ev, &args[0], "while evaluating the first argument passed to builtins.match")?;
    let regex = cached_regex(pattern.as_str())?;
    let what = "while evaluating the second argument passed to builtins.match";
    let text = super::force_string(ev, &args[1]).map_err(|e| e.note(None, what))?;
    let bytes = text.as_str().as_bytes();
    Ok(match regex.match_whole(bytes) {
        Some(captures) => Value::list(group_values(bytes, &captures)),
        None => Value::Null,
    })
}

fn builtin_split(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let pattern = force_string_no_ctx(ev, &args[0], "while evaluating the first argument passed to builtins.split")?;
    let regex = cached_regex(pattern.as_str())?;
    let what = "while evaluating the second argument passed to builtins.split";
    let text = super::force_string(ev, &args[1]).map_err(|e| e.note(None, what))?;
    let bytes = text.as_str().as_bytes();
    let matches = regex.find_all(bytes);
    if matches.is_empty() {
        return Ok(Value::list(vec![Value::String(text)]));
    }
    let mut out = Vec::with_capacity(matches.len() * 2 + 1);
    let mut previous_end = 0;
    for captures in &matches {
        let (start, end) = captures.first().copied().flatten().unwrap_or((previous_end, previous_end));
        out.push(byte_string(bytes, previous_end, start));
        out.push(Value::list(group_values(bytes, captures)));
        previous_end = end;
    }
    out.push(byte_string(bytes, previous_end, bytes.len()));
    Ok(Value::list(out))
}

/// The capture groups (without the whole match) as strings or `null`.
fn group_values(text: &[u8], captures: &[Option<(usize, usize)>]) -> Vec<Value> {
    captures
        .iter()
        .skip(1)
        .map(|group| match group {
            Some((start, end)) => byte_string(text, *start, *end),
            None => Value::Null,
        })
        .collect()
}

fn byte_string(text: &[u8], start: usize, end: usize) -> Value {
    let bytes = text.get(start..end).unwrap_or_default();
    Value::string(String::from_utf8_lossy(bytes))
}

/// Matches the reference's automaton limit: a pattern needing more states is rejected.
const STATE_LIMIT: u64 = 100_000;
/// States every pattern starts with in the reference's count.
const BASE_STATES: u64 = 4;
/// The largest repetition count the reference accepts.
const MAX_COUNT: u64 = 2_147_483_647;
/// How many compiled patterns a thread keeps before starting afresh.
const CACHE_CAPACITY: usize = 1024;
/// Deepest nesting translated for the `regex` crate (its own limit is 250 levels).
const MAX_PREFILTER_DEPTH: usize = 60;
/// Marks a repetition that needs no empty-iteration guard.
const NO_GUARD: usize = usize::MAX;
/// Marks a loop body that has not been compiled yet.
const PENDING: usize = usize::MAX;
/// Marks "no position" in the per-repetition entry table and "no end" in the memo.
const NOWHERE: usize = usize::MAX;
/// How many times in a row a repetition whose body can match empty may enter it at one
/// position.
const MAX_ENTRIES: u8 = 2;

thread_local! {
    static CACHE: RefCell<FxHashMap<String, Result<Rc<Regex>, RegexError>>> = RefCell::new(FxHashMap::default());
}

/// The compiled form of a pattern, from the per-thread cache.
fn cached_regex(pattern: &str) -> EvalResult<Rc<Regex>> {
    let cached = CACHE.with(|cache| cache.borrow().get(pattern).cloned());
    let result = match cached {
        Some(result) => result,
        None => {
            let result = Regex::new(pattern).map(Rc::new);
            CACHE.with(|cache| {
                let mut cache = cache.borrow_mut();
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
                cache.insert(pattern.to_string(), result.clone());
            });
            result
        }
    };
    result.map_err(|error| EvalError::msg(error.message(pattern)))
}

/// Why a pattern was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegexError {
    /// Not a valid pattern.
    Invalid,
    /// Valid, but beyond the reference's automaton size limit.
    TooLarge,
}

impl RegexError {
    /// The reference's message for this error.
    fn message(self, pattern: &str) -> String {
        match self {
            RegexError::Invalid => format!("invalid regular expression '{pattern}'"),
            RegexError::TooLarge => format!("memory limit exceeded by regular expression '{pattern}'"),
        }
    }
}

/// The groups of one match: index 0 is the whole match, `None` a group that did not take
/// part.
type Captures = Vec<Option<(usize, usize)>>;

/// A compiled pattern.
struct Regex {
    /// The program the matcher runs.
    program: Program,
    /// The pattern in the `regex` crate's syntax, if it could be translated.
    translated: Option<String>,
    /// The translation anchored at both ends, built on first use.
    whole: OnceCell<Option<FastRegex>>,
    /// The translation unanchored, built on first use.
    anywhere: OnceCell<Option<FastRegex>>,
}

impl Regex {
    /// Parses and compiles a pattern.
    fn new(pattern: &str) -> Result<Regex, RegexError> {
        let ast = Parser::new(pattern.as_bytes()).parse()?;
        let program = compile(&ast);
        let mut translated = String::new();
        let ok = translate(&ast.nodes, ast.root, 0, &mut translated);
        Ok(Regex { program, translated: ok.then_some(translated), whole: OnceCell::new(), anywhere: OnceCell::new() })
    }

    /// The translation compiled by the `regex` crate, with a prefix and suffix.
    fn build_fast(&self, prefix: &str, suffix: &str) -> Option<FastRegex> {
        let body = self.translated.as_ref()?;
        let text = format!("{prefix}(?:{body}){suffix}");
        RegexBuilder::new(&text).unicode(false).size_limit(64 << 20).dfa_size_limit(16 << 20).build().ok()
    }

    /// The groups of a match of the whole input, if there is one.
    fn match_whole(&self, text: &[u8]) -> Option<Captures> {
        let fast = self.whole.get_or_init(|| self.build_fast("\\A", "\\z"));
        if fast.as_ref().is_some_and(|fast| !fast.is_match(text)) {
            return None;
        }
        Matcher::new(&self.program, text, Mode::Whole).attempt(0)
    }

    /// The successive matches `split` reports, as a C++ regex iterator finds them.
    fn find_all(&self, text: &[u8]) -> Vec<Captures> {
        // Best ends of searches do not depend on where the attempt started (except at the
        // start of an attempt for a non-empty match), so one matcher and its memo serve all.
        let mut searcher = Matcher::new(&self.program, text, Mode::Prefix);
        let mut found = Vec::new();
        let mut next = self.search(&mut searcher, 0);
        while let Some(captures) = next {
            let (start, end) = captures.first().copied().flatten().unwrap_or((text.len(), text.len()));
            found.push(captures);
            next = if start != end {
                self.search(&mut searcher, end)
            } else if end >= text.len() {
                None
            } else {
                searcher.mode = Mode::NonEmpty;
                let non_empty = searcher.attempt(end);
                searcher.mode = Mode::Prefix;
                non_empty.or_else(|| self.search(&mut searcher, end + 1))
            };
        }
        found
    }

    /// The leftmost match starting at or after `from`.
    fn search(&self, searcher: &mut Matcher<'_>, from: usize) -> Option<Captures> {
        let text = searcher.text;
        if from > text.len() {
            return None;
        }
        // The match that ends first (found without scanning past it) bounds where the
        // leftmost match starts; failed attempts before it are cheap thanks to the memo.
        let fast = self.anywhere.get_or_init(|| self.build_fast("", ""));
        let last_start = match fast {
            Some(fast) => fast.shortest_match_at(text, from)?,
            None => text.len(),
        };
        (from..=last_start).find_map(|start| searcher.attempt(start))
    }
}

/// A set of bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    /// All bytes.
    fn full() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }

    /// The set of one byte.
    fn single(byte: u8) -> ByteSet {
        let mut set = ByteSet::default();
        set.insert(byte);
        set
    }

    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    fn contains(&self, byte: u8) -> bool {
        (self.0[usize::from(byte >> 6)] >> (byte & 63)) & 1 == 1
    }

    /// Adds the bytes between `low` and `high` compared as signed values, as the
    /// reference's `char` is.
    fn insert_signed_range(&mut self, low: u8, high: u8) {
        let (low, high) = (i8::from_ne_bytes([low]), i8::from_ne_bytes([high]));
        for value in low..=high {
            self.insert(value.to_ne_bytes()[0]);
        }
    }

    fn insert_all(&mut self, predicate: impl Fn(u8) -> bool) {
        for byte in 0..=u8::MAX {
            if predicate(byte) {
                self.insert(byte);
            }
        }
    }

    fn negate(&mut self) {
        for word in &mut self.0 {
            *word = !*word;
        }
    }

    fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }
}

/// The names `[.name.]` and `[=name=]` accept, separated by spaces, in the order of the
/// bytes they stand for (0 to 127).
const CHARACTER_NAMES: &str =
    "NUL SOH STX ETX EOT ENQ ACK alert backspace tab newline vertical-tab form-feed carriage-return SO SI \
     DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC IS4 IS3 IS2 IS1 space exclamation-mark quotation-mark \
     number-sign dollar-sign percent-sign ampersand apostrophe left-parenthesis right-parenthesis asterisk \
     plus-sign comma hyphen period slash zero one two three four five six seven eight nine colon semicolon \
     less-than-sign equals-sign greater-than-sign question-mark commercial-at A B C D E F G H I J K L M N O \
     P Q R S T U V W X Y Z left-square-bracket backslash right-square-bracket circumflex underscore \
     grave-accent a b c d e f g h i j k l m n o p q r s t u v w x y z left-curly-bracket vertical-line \
     right-curly-bracket tilde DEL";

/// The byte a character name stands for.
fn named_character(name: &[u8]) -> Option<u8> {
    let index = CHARACTER_NAMES.split(' ').position(|candidate| candidate.as_bytes() == name)?;
    u8::try_from(index).ok()
}

/// The bytes of a `[:name:]` class (names are case-insensitive; only ASCII is classified).
fn character_class(name: &[u8]) -> Option<ByteSet> {
    let predicate: fn(u8) -> bool = match name.to_ascii_lowercase().as_slice() {
        b"alnum" => |b| b.is_ascii_alphanumeric(),
        b"alpha" => |b| b.is_ascii_alphabetic(),
        b"blank" => |b| b == b' ' || b == b'\t',
        b"cntrl" => |b| b.is_ascii_control(),
        b"digit" | b"d" => |b| b.is_ascii_digit(),
        b"graph" => |b| b.is_ascii_graphic(),
        b"lower" => |b| b.is_ascii_lowercase(),
        b"print" => |b| b.is_ascii_graphic() || b == b' ',
        b"punct" => |b| b.is_ascii_punctuation(),
        b"space" | b"s" => |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c'),
        b"upper" => |b| b.is_ascii_uppercase(),
        b"xdigit" => |b| b.is_ascii_hexdigit(),
        b"w" => |b| b.is_ascii_alphanumeric() || b == b'_',
        _ => return None,
    };
    let mut set = ByteSet::default();
    set.insert_all(predicate);
    Some(set)
}

/// An index into [`Ast::nodes`].
type NodeId = usize;

/// A parsed pattern: an arena of nodes, children before parents.
struct Ast {
    nodes: Vec<AstNode>,
    root: NodeId,
    /// Capture groups, not counting the whole match.
    groups: usize,
}

/// One node of the syntax tree with what compilation needs to know about it.
struct AstNode {
    kind: Node,
    /// Whether it can match the empty string.
    nullable: bool,
    /// How many states the reference copies when this node is repeated by an interval.
    copied_states: u64,
}

/// The constructs of a pattern.
enum Node {
    /// Matches the empty string.
    Empty,
    /// One byte from a set.
    Set(ByteSet),
    /// `^`.
    LineStart,
    /// `$`.
    LineEnd,
    /// A sequence.
    Concat(Vec<NodeId>),
    /// Alternatives in priority order.
    Alternate(Vec<NodeId>),
    /// A capture group and its number.
    Group(usize, NodeId),
    /// A repetition; `max` is `None` when unbounded.
    Repeat { inner: NodeId, min: u32, max: Option<u32> },
}

/// An open group (or the whole pattern) while parsing.
struct OpenGroup {
    group: usize,
    branches: Vec<NodeId>,
    items: Vec<NodeId>,
    /// Whether the last item may take a quantifier.
    quantifiable: bool,
}

impl OpenGroup {
    fn new(group: usize) -> OpenGroup {
        OpenGroup { group, branches: Vec::new(), items: Vec::new(), quantifiable: false }
    }
}

/// The pattern parser; it keeps an explicit stack of open groups instead of recursing.
struct Parser<'p> {
    pattern: &'p [u8],
    pos: usize,
    nodes: Vec<AstNode>,
    groups: usize,
    /// The reference's state count so far.
    states: u64,
}

impl<'p> Parser<'p> {
    fn new(pattern: &'p [u8]) -> Parser<'p> {
        Parser { pattern, pos: 0, nodes: Vec::new(), groups: 0, states: BASE_STATES }
    }

    /// Counts states the reference would create and fails beyond its limit.
    fn add_states(&mut self, count: u64) -> Result<(), RegexError> {
        self.states = self.states.saturating_add(count);
        if self.states > STATE_LIMIT {
            return Err(RegexError::TooLarge);
        }
        Ok(())
    }

    fn push(&mut self, kind: Node, nullable: bool, copied_states: u64) -> NodeId {
        self.nodes.push(AstNode { kind, nullable, copied_states });
        self.nodes.len() - 1
    }

    /// A single-state item (a byte set or an anchor).
    fn push_simple(&mut self, kind: Node) -> Result<NodeId, RegexError> {
        self.add_states(1)?;
        let nullable = !matches!(kind, Node::Set(_));
        Ok(self.push(kind, nullable, 1))
    }

    fn parse(mut self) -> Result<Ast, RegexError> {
        let mut open = vec![OpenGroup::new(0)];
        while let Some(&byte) = self.pattern.get(self.pos) {
            self.pos += 1;
            let top = open.last_mut().ok_or(RegexError::Invalid)?;
            let (item, quantifiable) = match byte {
                b'(' => {
                    self.groups += 1;
                    open.push(OpenGroup::new(self.groups));
                    continue;
                }
                b')' => {
                    if open.len() < 2 {
                        return Err(RegexError::Invalid);
                    }
                    let closed = open.pop().ok_or(RegexError::Invalid)?;
                    let inner = self.alternation(closed.branches, closed.items);
                    self.add_states(3)?;
                    let (nullable, copied) = (self.nodes[inner].nullable, self.nodes[inner].copied_states);
                    let group = self.push(Node::Group(closed.group, inner), nullable, copied.saturating_add(3));
                    let parent = open.last_mut().ok_or(RegexError::Invalid)?;
                    parent.items.push(group);
                    parent.quantifiable = true;
                    continue;
                }
                b'|' => {
                    let items = std::mem::take(&mut top.items);
                    top.quantifiable = false;
                    let branch = self.concat(items);
                    top.branches.push(branch);
                    self.add_states(3)?;
                    continue;
                }
                b'*' | b'+' | b'?' | b'{' => {
                    let inner = match top.items.pop() {
                        Some(inner) if top.quantifiable => inner,
                        _ => return Err(RegexError::Invalid),
                    };
                    (self.quantify(byte, inner)?, true)
                }
                b'^' => (self.push_simple(Node::LineStart)?, false),
                b'$' => (self.push_simple(Node::LineEnd)?, false),
                b'.' => (self.push_simple(Node::Set(ByteSet::full()))?, true),
                b'[' => {
                    let set = self.bracket()?;
                    (self.push_simple(Node::Set(set))?, true)
                }
                b'\\' => {
                    let escaped = self.escape()?;
                    (self.push_simple(Node::Set(ByteSet::single(escaped)))?, true)
                }
                _ => (self.push_simple(Node::Set(ByteSet::single(byte)))?, true),
            };
            let top = open.last_mut().ok_or(RegexError::Invalid)?;
            top.items.push(item);
            top.quantifiable = quantifiable;
        }
        let whole = open.pop().ok_or(RegexError::Invalid)?;
        if !open.is_empty() {
            return Err(RegexError::Invalid);
        }
        let root = self.alternation(whole.branches, whole.items);
        Ok(Ast { nodes: self.nodes, root, groups: self.groups })
    }

    /// The byte after a backslash outside brackets.
    fn escape(&mut self) -> Result<u8, RegexError> {
        let escaped = *self.pattern.get(self.pos).ok_or(RegexError::Invalid)?;
        if !b".[\\()*+?{|^$".contains(&escaped) {
            return Err(RegexError::Invalid);
        }
        self.pos += 1;
        Ok(escaped)
    }

    fn concat(&mut self, mut items: Vec<NodeId>) -> NodeId {
        match items.len() {
            0 => self.push(Node::Empty, true, 0),
            1 => items.pop().unwrap_or_default(),
            _ => {
                let nullable = items.iter().all(|&item| self.nodes[item].nullable);
                let copied = items.iter().fold(0u64, |sum, &item| sum.saturating_add(self.nodes[item].copied_states));
                self.push(Node::Concat(items), nullable, copied)
            }
        }
    }

    /// The alternation of the finished branches and the current one.
    fn alternation(&mut self, mut branches: Vec<NodeId>, items: Vec<NodeId>) -> NodeId {
        let last = self.concat(items);
        if branches.is_empty() {
            return last;
        }
        branches.push(last);
        let nullable = branches.iter().any(|&branch| self.nodes[branch].nullable);
        let overhead = 3 * (branches.len() as u64 - 1);
        let copied =
            branches.iter().fold(overhead, |sum, &branch| sum.saturating_add(self.nodes[branch].copied_states));
        self.push(Node::Alternate(branches), nullable, copied)
    }

    /// Applies the quantifier starting with `byte` to `inner`.
    fn quantify(&mut self, byte: u8, inner: NodeId) -> Result<NodeId, RegexError> {
        let (inner_nullable, inner_copied) = (self.nodes[inner].nullable, self.nodes[inner].copied_states);
        let (min, max, extra) = match byte {
            b'*' => (0, None, 1),
            b'+' => (1, None, 1),
            b'?' => (0, Some(1), 2),
            _ => {
                let (min, max) = self.interval()?;
                // The reference reads the token after the interval before building it.
                if self.pattern.get(self.pos) == Some(&b'\\') {
                    let mut lookahead = Parser::new(self.pattern);
                    lookahead.pos = self.pos + 1;
                    lookahead.escape()?;
                }
                let required = u64::from(min).saturating_mul(inner_copied);
                let optional = match max {
                    None => inner_copied.saturating_add(2),
                    Some(max) => u64::from(max - min).saturating_mul(inner_copied.saturating_add(1)).saturating_add(2),
                };
                let extra = required.saturating_add(optional);
                self.add_states(extra)?;
                let nullable = min == 0 || inner_nullable;
                return Ok(self.push(Node::Repeat { inner, min, max }, nullable, extra));
            }
        };
        self.add_states(extra)?;
        let nullable = min == 0 || inner_nullable;
        Ok(self.push(Node::Repeat { inner, min, max }, nullable, inner_copied.saturating_add(extra)))
    }

    /// `n}`, `n,}` or `n,m}` after `{`.
    fn interval(&mut self) -> Result<(u32, Option<u32>), RegexError> {
        let min = self.count()?;
        let max = if self.pattern.get(self.pos) == Some(&b',') {
            self.pos += 1;
            if self.pattern.get(self.pos) == Some(&b'}') {
                None
            } else {
                Some(self.count()?)
            }
        } else {
            Some(min)
        };
        if self.pattern.get(self.pos) != Some(&b'}') || max.is_some_and(|max| max < min) {
            return Err(RegexError::Invalid);
        }
        self.pos += 1;
        Ok((min, max))
    }

    /// A decimal repetition count.
    fn count(&mut self) -> Result<u32, RegexError> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(&digit) = self.pattern.get(self.pos).filter(|digit| digit.is_ascii_digit()) {
            value = value * 10 + u64::from(digit - b'0');
            if value > MAX_COUNT {
                return Err(RegexError::Invalid);
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(RegexError::Invalid);
        }
        u32::try_from(value).map_err(|_| RegexError::Invalid)
    }

    /// A bracket expression after `[`.
    fn bracket(&mut self) -> Result<ByteSet, RegexError> {
        let pattern = self.pattern;
        let mut set = ByteSet::default();
        let negate = pattern.get(self.pos) == Some(&b'^');
        if negate {
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let byte = *pattern.get(self.pos).ok_or(RegexError::Invalid)?;
            if byte == b']' && !first {
                self.pos += 1;
                break;
            }
            let at_start = std::mem::replace(&mut first, false);
            let start = if byte == b'[' && matches!(pattern.get(self.pos + 1), Some(b':' | b'=' | b'.')) {
                let kind = pattern[self.pos + 1];
                let name_start = self.pos + 2;
                let name_len = pattern
                    .get(name_start..)
                    .and_then(|rest| rest.windows(2).position(|pair| pair == [kind, b']']))
                    .ok_or(RegexError::Invalid)?;
                let name = &pattern[name_start..name_start + name_len];
                self.pos = name_start + name_len + 2;
                match kind {
                    b':' => {
                        let class = character_class(name).ok_or(RegexError::Invalid)?;
                        for (word, class_word) in set.0.iter_mut().zip(class.0) {
                            *word |= class_word;
                        }
                        continue;
                    }
                    b'=' => {
                        let named = named_character(name).ok_or(RegexError::Invalid)?;
                        set.insert(named);
                        if named.is_ascii_alphabetic() {
                            set.insert(named ^ 0x20);
                        }
                        continue;
                    }
                    _ => named_character(name).ok_or(RegexError::Invalid)?,
                }
            } else if byte == b'-' && !at_start {
                // Not the start of a range: literal only right before the closing bracket.
                if pattern.get(self.pos + 1) != Some(&b']') {
                    return Err(RegexError::Invalid);
                }
                self.pos += 1;
                set.insert(b'-');
                continue;
            } else {
                self.pos += 1;
                byte
            };
            let range_end = match (pattern.get(self.pos), pattern.get(self.pos + 1)) {
                (Some(b'-'), Some(&end)) if end != b']' => Some(end),
                _ => None,
            };
            match range_end {
                Some(end) => {
                    if end == b'[' && matches!(pattern.get(self.pos + 2), Some(b':' | b'=' | b'.')) {
                        return Err(RegexError::Invalid);
                    }
                    if i8::from_ne_bytes([start]) > i8::from_ne_bytes([end]) {
                        return Err(RegexError::Invalid);
                    }
                    self.pos += 2;
                    set.insert_signed_range(start, end);
                }
                None => set.insert(start),
            }
        }
        if negate {
            set.negate();
        }
        Ok(set)
    }
}

/// The `regex` crate's syntax for a node, or `false` if it cannot be expressed there.
fn translate(nodes: &[AstNode], id: NodeId, depth: usize, out: &mut String) -> bool {
    if depth > MAX_PREFILTER_DEPTH {
        return false;
    }
    let Some(node) = nodes.get(id) else { return false };
    match &node.kind {
        Node::Empty => out.push_str("(?:)"),
        Node::Set(set) => {
            if set.is_empty() {
                return false;
            }
            out.push('[');
            let mut byte = 0usize;
            while byte < 256 {
                let Ok(low) = u8::try_from(byte) else { break };
                if !set.contains(low) {
                    byte += 1;
                    continue;
                }
                let mut high = low;
                while high < u8::MAX && set.contains(high + 1) {
                    high += 1;
                }
                let _ = write!(out, "\\x{low:02X}-\\x{high:02X}");
                byte = usize::from(high) + 1;
            }
            out.push(']');
        }
        Node::LineStart => out.push_str("(?:\\A)"),
        Node::LineEnd => out.push_str("(?:\\z)"),
        Node::Concat(items) => {
            out.push_str("(?:");
            for &item in items {
                if !translate(nodes, item, depth + 1, out) {
                    return false;
                }
            }
            out.push(')');
        }
        Node::Alternate(branches) => {
            out.push_str("(?:");
            for (index, &branch) in branches.iter().enumerate() {
                if index > 0 {
                    out.push('|');
                }
                if !translate(nodes, branch, depth + 1, out) {
                    return false;
                }
            }
            out.push(')');
        }
        Node::Group(_, inner) => {
            out.push_str("(?:");
            if !translate(nodes, *inner, depth + 1, out) {
                return false;
            }
            out.push(')');
        }
        Node::Repeat { inner, min, max } => {
            out.push_str("(?:");
            if !translate(nodes, *inner, depth + 1, out) {
                return false;
            }
            let _ = match max {
                Some(max) => write!(out, "){{{min},{max}}}"),
                None => write!(out, "){{{min},}}"),
            };
        }
    }
    true
}

/// One instruction of a compiled pattern. Targets are indices into [`Program::insts`].
#[derive(Clone, Copy)]
enum Inst {
    /// Consumes one byte of the set [`Program::sets`]`[set]`.
    Byte { set: usize, next: usize },
    /// Succeeds at the start of the input.
    LineStart(usize),
    /// Succeeds at the end of the input.
    LineEnd(usize),
    /// Records the position in a capture slot.
    Save { slot: usize, next: usize },
    /// Alternatives: [`Program::targets`]`[first..first + len]`.
    Alt { first: usize, len: usize },
    /// A repetition point (of `*`, `+`, `?` or an optional copy of `{n,m}`): runs `body`
    /// (which for a loop leads back here) if that can lead to a match, else `exit`.
    /// `guard` numbers the repetitions whose body can match empty: they may not enter it
    /// more than twice in a row at one position.
    Repeat { body: usize, exit: usize, guard: usize },
    /// A match.
    Accept,
}

/// A compiled pattern.
struct Program {
    insts: Vec<Inst>,
    /// Alternative targets of [`Inst::Alt`].
    targets: Vec<usize>,
    sets: Vec<ByteSet>,
    start: usize,
    /// Capture slots: two per group, the whole match included.
    slots: usize,
    /// How many repetitions carry a guard.
    guards: usize,
}

/// What to compile: a node, or a node under one of the repetition shapes.
#[derive(Clone, Copy)]
enum Piece {
    Node(NodeId),
    /// `inner*`.
    Star(NodeId),
    /// `inner+`: the loop jumps back into the same copy.
    Plus(NodeId),
    /// `inner?`.
    Optional(NodeId),
}

/// Work for the non-recursive compiler; results are start instructions on a stack.
enum Task {
    /// Compile a piece that continues at `next`.
    Compile(Piece, usize),
    /// Compile a piece that continues at the result on top of the stack.
    Then(Piece),
    /// Combine the top `count` results into an alternation.
    Alternate(usize),
    /// Put a save of `slot` before the top result.
    Save(usize),
    /// The top result is the body of loop `at`; the loop (or for `+`, the body) is the result.
    CloseLoop { at: usize, enter_at_body: bool },
    /// The top result is the body of an optional part that continues at `exit`.
    Optional { exit: usize, guard: usize },
}

/// Compiles a parsed pattern (without recursion).
fn compile(ast: &Ast) -> Program {
    let mut program = Program {
        insts: vec![Inst::Accept],
        targets: Vec::new(),
        sets: Vec::new(),
        start: 0,
        slots: 2 * (ast.groups + 1),
        guards: 0,
    };
    let close = program.add(Inst::Save { slot: 1, next: 0 });
    let mut tasks = vec![Task::Save(0), Task::Compile(Piece::Node(ast.root), close)];
    let mut results: Vec<usize> = Vec::new();
    while let Some(task) = tasks.pop() {
        match task {
            Task::Compile(piece, next) => program.compile_piece(ast, piece, next, &mut tasks, &mut results),
            Task::Then(piece) => {
                let next = results.pop().unwrap_or(0);
                tasks.push(Task::Compile(piece, next));
            }
            Task::Alternate(count) => {
                let first = program.targets.len();
                let split = results.len().saturating_sub(count);
                program.targets.extend(results.drain(split..));
                let len = program.targets.len() - first;
                results.push(program.add(Inst::Alt { first, len }));
            }
            Task::Save(slot) => {
                let next = results.pop().unwrap_or(0);
                results.push(program.add(Inst::Save { slot, next }));
            }
            Task::CloseLoop { at, enter_at_body } => {
                let body = results.pop().unwrap_or(0);
                if let Some(Inst::Repeat { body: slot, .. }) = program.insts.get_mut(at) {
                    *slot = body;
                }
                results.push(if enter_at_body { body } else { at });
            }
            Task::Optional { exit, guard } => {
                let body = results.pop().unwrap_or(0);
                results.push(program.add(Inst::Repeat { body, exit, guard }));
            }
        }
    }
    program.start = results.pop().unwrap_or(0);
    program
}

impl Program {
    fn add(&mut self, inst: Inst) -> usize {
        self.insts.push(inst);
        self.insts.len() - 1
    }

    /// A new guard number if a repetition of `inner` needs one.
    fn guard_for(&mut self, ast: &Ast, inner: NodeId) -> usize {
        if ast.nodes[inner].nullable {
            self.guards += 1;
            self.guards - 1
        } else {
            NO_GUARD
        }
    }

    /// Compiles one piece, directly or by scheduling tasks.
    fn compile_piece(&mut self, ast: &Ast, piece: Piece, next: usize, tasks: &mut Vec<Task>, results: &mut Vec<usize>) {
        let id = match piece {
            Piece::Node(id) => id,
            Piece::Star(inner) | Piece::Plus(inner) => {
                let guard = self.guard_for(ast, inner);
                let at = self.add(Inst::Repeat { body: PENDING, exit: next, guard });
                tasks.push(Task::CloseLoop { at, enter_at_body: matches!(piece, Piece::Plus(_)) });
                tasks.push(Task::Compile(Piece::Node(inner), at));
                return;
            }
            Piece::Optional(inner) => {
                let guard = self.guard_for(ast, inner);
                tasks.push(Task::Optional { exit: next, guard });
                tasks.push(Task::Compile(Piece::Node(inner), next));
                return;
            }
        };
        match &ast.nodes[id].kind {
            Node::Empty => results.push(next),
            Node::Set(set) => {
                let index = match self.sets.iter().position(|known| known == set) {
                    Some(index) => index,
                    None => {
                        self.sets.push(*set);
                        self.sets.len() - 1
                    }
                };
                results.push(self.add(Inst::Byte { set: index, next }));
            }
            Node::LineStart => results.push(self.add(Inst::LineStart(next))),
            Node::LineEnd => results.push(self.add(Inst::LineEnd(next))),
            Node::Concat(items) => Self::sequence(items.iter().map(|&item| Piece::Node(item)), next, tasks, results),
            Node::Alternate(branches) => {
                tasks.push(Task::Alternate(branches.len()));
                tasks.extend(branches.iter().rev().map(|&branch| Task::Compile(Piece::Node(branch), next)));
            }
            Node::Group(group, inner) => {
                let close = self.add(Inst::Save { slot: 2 * group + 1, next });
                tasks.push(Task::Save(2 * group));
                tasks.push(Task::Compile(Piece::Node(*inner), close));
            }
            Node::Repeat { inner, min, max } => {
                let inner = *inner;
                let (required, rest): (u32, Vec<Piece>) = match (*min, *max) {
                    (0, None) => (0, vec![Piece::Star(inner)]),
                    (min, None) => (min - 1, vec![Piece::Plus(inner)]),
                    (min, Some(max)) => (min, vec![Piece::Optional(inner); (max - min) as usize]),
                };
                let pieces = (0..required).map(|_| Piece::Node(inner)).chain(rest);
                Self::sequence(pieces, next, tasks, results);
            }
        }
    }

    /// Schedules a sequence of pieces: the last is compiled first.
    fn sequence(pieces: impl Iterator<Item = Piece>, next: usize, tasks: &mut Vec<Task>, results: &mut Vec<usize>) {
        let pieces: Vec<Piece> = pieces.collect();
        let Some((&last, rest)) = pieces.split_last() else {
            results.push(next);
            return;
        };
        tasks.extend(rest.iter().map(|&piece| Task::Then(piece)));
        tasks.push(Task::Compile(last, next));
    }
}

/// Where a match may end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only at the end of the input (`match`).
    Whole,
    /// Anywhere (a search).
    Prefix,
    /// Anywhere but at the starting position.
    NonEmpty,
}

/// Memo key: instruction, position and the interned set of guarded repetitions entered at
/// that position.
type MemoKey = (usize, usize, usize);

/// A choice instruction whose best end is being computed.
enum Frame {
    /// An alternation: branches up to `last` remain from `next`.
    Alt { key: MemoKey, pos: usize, next: usize, last: usize, best: Option<usize> },
    /// A repetition point, in its body or (`in_body` false) at its exit.
    Repeat { key: MemoKey, pos: usize, exit: usize, in_body: bool, restore: Option<Restore> },
}

/// A guarded repetition and the entry record to put back when its body has been explored.
type Restore = (usize, (usize, u8));

/// What running the deterministic instructions from a state led to.
enum Step {
    /// The best end of the state.
    Value(Option<usize>),
    /// A choice frame was pushed; its first alternative starts here.
    Call(usize, usize),
}

/// One matching attempt at a fixed start position.
struct Matcher<'a> {
    program: &'a Program,
    text: &'a [u8],
    origin: usize,
    mode: Mode,
    /// Per guarded repetition: where its body was last entered on the current path, and how many
    /// times in a row at that position.
    entry: Vec<(usize, u8)>,
    /// Guarded repetition entries on the current path (guard, position, count), in path
    /// order.
    active: Vec<(usize, usize, u8)>,
    /// Best ends computed so far ([`NOWHERE`] for none).
    memo: FxHashMap<MemoKey, usize>,
    /// Best ends at the origin of a [`Mode::NonEmpty`] attempt, which only hold for it.
    origin_memo: FxHashMap<MemoKey, usize>,
    /// Interned sets of guard entries at the current position (0 is the empty set).
    guard_sets: FxHashMap<Vec<(usize, u8)>, usize>,
}

impl<'a> Matcher<'a> {
    fn new(program: &'a Program, text: &'a [u8], mode: Mode) -> Matcher<'a> {
        Matcher {
            program,
            text,
            origin: 0,
            mode,
            entry: vec![(NOWHERE, 0); program.guards],
            active: Vec::new(),
            memo: FxHashMap::default(),
            origin_memo: FxHashMap::default(),
            guard_sets: FxHashMap::default(),
        }
    }

    /// The reference's choice of match starting exactly at `origin`.
    fn attempt(&mut self, origin: usize) -> Option<Captures> {
        self.origin = origin;
        self.origin_memo.clear();
        self.entry.fill((NOWHERE, 0));
        self.active.clear();
        let end = self.best_end(self.program.start, origin)?;
        self.walk(end)
    }

    /// The memo a key belongs in.
    fn memo_for(&mut self, key: MemoKey) -> &mut FxHashMap<MemoKey, usize> {
        if self.mode == Mode::NonEmpty && key.1 == self.origin {
            &mut self.origin_memo
        } else {
            &mut self.memo
        }
    }

    /// A memoised best end: `Some(None)` for a state known to reach no match.
    fn memo_get(&mut self, key: MemoKey) -> Option<Option<usize>> {
        self.memo_for(key).get(&key).map(|&end| (end != NOWHERE).then_some(end))
    }

    fn memo_put(&mut self, key: MemoKey, end: Option<usize>) {
        self.memo_for(key).insert(key, end.unwrap_or(NOWHERE));
    }

    /// The end of a match reached at `pos`, if one may end there.
    fn accept(&self, pos: usize) -> Option<usize> {
        match self.mode {
            Mode::Whole => (pos == self.text.len()).then_some(pos),
            Mode::NonEmpty => (pos != self.origin).then_some(pos),
            Mode::Prefix => Some(pos),
        }
    }

    /// The memo key of a choice instruction at `pos` in the current path state.
    fn key(&mut self, inst: usize, pos: usize) -> MemoKey {
        let here = self.active.iter().rev().take_while(|&&(_, at, _)| at == pos).count();
        if here == 0 {
            return (inst, pos, 0);
        }
        let mut loops: Vec<(usize, u8)> =
            self.active[self.active.len() - here..].iter().map(|&(guard, _, count)| (guard, count)).collect();
        loops.sort_unstable();
        let fresh = self.guard_sets.len() + 1;
        (inst, pos, *self.guard_sets.entry(loops).or_insert(fresh))
    }

    /// Enters the body of a guarded repetition: returns what to restore afterwards, or `None`
    /// if the body was already entered twice in a row at this position.
    fn enter_guard(&mut self, guard: usize, pos: usize) -> Option<Option<Restore>> {
        if guard == NO_GUARD {
            return Some(None);
        }
        let slot = self.entry.get_mut(guard)?;
        let count = match *slot {
            (at, count) if at == pos => count.checked_add(1).filter(|&count| count <= MAX_ENTRIES)?,
            _ => 1,
        };
        let old = std::mem::replace(slot, (pos, count));
        self.active.push((guard, pos, count));
        Some(Some((guard, old)))
    }

    fn leave_guard(&mut self, restore: Option<Restore>) {
        if let Some((guard, old)) = restore {
            self.active.pop();
            if let Some(slot) = self.entry.get_mut(guard) {
                *slot = old;
            }
        }
    }

    /// Whether instruction `inst` consumes the byte at `pos`.
    fn byte_matches(&self, set: usize, pos: usize) -> bool {
        match (self.text.get(pos), self.program.sets.get(set)) {
            (Some(&byte), Some(set)) => set.contains(byte),
            _ => false,
        }
    }

    /// Follows deterministic instructions from `inst` at `pos` up to a value or a choice.
    fn descend(&mut self, mut inst: usize, mut pos: usize, frames: &mut Vec<Frame>) -> Step {
        let program = self.program;
        loop {
            match program.insts[inst] {
                Inst::Byte { set, next } => {
                    if !self.byte_matches(set, pos) {
                        return Step::Value(None);
                    }
                    inst = next;
                    pos += 1;
                }
                Inst::LineStart(next) if pos == 0 => inst = next,
                Inst::LineEnd(next) if pos == self.text.len() => inst = next,
                Inst::LineStart(_) | Inst::LineEnd(_) => return Step::Value(None),
                Inst::Save { next, .. } => inst = next,
                Inst::Accept => return Step::Value(self.accept(pos)),
                Inst::Alt { first, len } => {
                    let key = self.key(inst, pos);
                    if let Some(end) = self.memo_get(key) {
                        return Step::Value(end);
                    }
                    let Some(&branch) = program.targets.get(first) else { return Step::Value(None) };
                    frames.push(Frame::Alt { key, pos, next: first + 1, last: first + len, best: None });
                    return Step::Call(branch, pos);
                }
                Inst::Repeat { body, exit, guard } => {
                    let key = self.key(inst, pos);
                    if let Some(end) = self.memo_get(key) {
                        return Step::Value(end);
                    }
                    return match self.enter_guard(guard, pos) {
                        Some(restore) => {
                            frames.push(Frame::Repeat { key, pos, exit, in_body: true, restore });
                            Step::Call(body, pos)
                        }
                        None => {
                            frames.push(Frame::Repeat { key, pos, exit, in_body: false, restore: None });
                            Step::Call(exit, pos)
                        }
                    };
                }
            }
        }
    }

    /// The end of the match the reference would pick from `inst` at `pos`, in the current
    /// path state; `None` if no match can be reached.
    fn best_end(&mut self, inst: usize, pos: usize) -> Option<usize> {
        let limit = self.text.len();
        let mut frames: Vec<Frame> = Vec::new();
        let (mut inst, mut pos) = (inst, pos);
        'calls: loop {
            let mut value = match self.descend(inst, pos, &mut frames) {
                Step::Value(value) => value,
                Step::Call(next, at) => {
                    (inst, pos) = (next, at);
                    continue;
                }
            };
            // Hand the value to the innermost choice, finishing choices until one has
            // another alternative to try.
            loop {
                let Some(frame) = frames.last_mut() else { return value };
                let key = match frame {
                    Frame::Alt { key, pos: at, next, last, best } => {
                        if value > *best {
                            *best = value;
                        }
                        if *next < *last && *best != Some(limit) {
                            inst = self.program.targets[*next];
                            pos = *at;
                            *next += 1;
                            continue 'calls;
                        }
                        value = *best;
                        *key
                    }
                    Frame::Repeat { key, pos: at, exit, in_body, restore } => {
                        if *in_body {
                            let restore = restore.take();
                            self.leave_guard(restore);
                            if value.is_none() {
                                *in_body = false;
                                inst = *exit;
                                pos = *at;
                                continue 'calls;
                            }
                        }
                        *key
                    }
                };
                frames.pop();
                self.memo_put(key, value);
            }
        }
    }

    /// Follows the first path that ends at `target` and returns its groups.
    fn walk(&mut self, target: usize) -> Option<Captures> {
        let program = self.program;
        let mut slots: Vec<Option<usize>> = vec![None; program.slots];
        let (mut inst, mut pos) = (program.start, self.origin);
        loop {
            match program.insts[inst] {
                Inst::Byte { set, next } => {
                    if !self.byte_matches(set, pos) {
                        return None;
                    }
                    inst = next;
                    pos += 1;
                }
                Inst::LineStart(next) if pos == 0 => inst = next,
                Inst::LineEnd(next) if pos == self.text.len() => inst = next,
                Inst::LineStart(_) | Inst::LineEnd(_) => return None,
                Inst::Save { slot, next } => {
                    if let Some(saved) = slots.get_mut(slot) {
                        *saved = Some(pos);
                    }
                    inst = next;
                }
                Inst::Accept if pos == target => break,
                Inst::Accept => return None,
                Inst::Alt { first, len } => {
                    let branches = program.targets.get(first..first + len)?;
                    inst = *branches.iter().find(|&&branch| self.best_end(branch, pos) == Some(target))?;
                }
                Inst::Repeat { body, exit, guard } => {
                    inst = match self.enter_guard(guard, pos) {
                        Some(restore) => {
                            if self.best_end(body, pos).is_some() {
                                body
                            } else {
                                self.leave_guard(restore);
                                exit
                            }
                        }
                        None => exit,
                    };
                }
            }
        }
        Some(slots.chunks(2).map(|pair| Some((pair.first().copied()??, pair.get(1).copied()??))).collect())
    }
}
