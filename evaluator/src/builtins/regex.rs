//! `builtins.match` and `builtins.split`: POSIX extended regular expressions with the
//! exact behaviour of the reference, which compiles them with libstdc++'s
//! `std::regex::extended`.
//!
//! That engine differs from textbook POSIX in ways that show in results, so this module
//! reproduces it rather than translating to another regex dialect:
//!
//! * Syntax: only `.[\()*+?{|^$` may be escaped (anything else after `\` is an error, so
//!   are back-references); `]` and `}` are ordinary outside brackets; inside brackets a
//!   backslash is literal, `]` first is literal, `-` is literal only first or last, and
//!   `[:class:]`, `[=x=]` and `[.x.]` are supported; a quantifier cannot follow `^`/`$`.
//! * Matching is on bytes (a `.` matches one byte of a UTF-8 character), `^` and `$` only
//!   match at the ends of the whole string, and `.` matches newlines.
//! * The matcher is a backtracking search in priority order (greedy repetition, left
//!   alternative first) except that at every alternation both sides are tried and the
//!   longer overall match wins. Captures are those of the winning path; a group keeps its
//!   last iteration.
//!
//! Compilation builds the same state graph as the reference (so that the reference's
//! 100000-state limit is hit by the same patterns) and, alongside, an equivalent pattern
//! for the `regex` crate. That automaton answers "is there a match, and where does the
//! leftmost one start" in linear time; the backtracking matcher then only runs where a
//! match is known to exist. Compiled patterns are cached per thread.

use super::versions::force_string_no_ctx;
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::Span;
use crate::value::{PrimOp, Value};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;

pub(super) static PRIMOPS: &[PrimOp] =
    &[PrimOp { name: "match", arity: 2, func: builtin_match }, PrimOp { name: "split", arity: 2, func: builtin_split }];

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
    Value::string(String::from_utf8_lossy(bytes).into_owned())
}

thread_local! {
    static CACHE: RefCell<FxHashMap<String, Result<Rc<Regex>, RegexError>>> = RefCell::new(FxHashMap::default());
}

/// The compiled form of a pattern, from the per-thread cache.
fn cached_regex(pattern: &str) -> EvalResult<Rc<Regex>> {
    let cached = CACHE.with(|cache| cache.borrow().get(pattern).cloned());
    let result = match cached {
        Some(result) => result,
        None => {
            let result = Regex::new(pattern.as_bytes()).map(Rc::new);
            CACHE.with(|cache| cache.borrow_mut().insert(pattern.to_string(), result.clone()));
            result
        }
    };
    result.map_err(|error| match error {
        RegexError::Invalid => EvalError::msg(format!("invalid regular expression '{pattern}'")),
        RegexError::TooBig => EvalError::msg(format!("memory limit exceeded by regular expression '{pattern}'")),
    })
}

/// Why a pattern was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegexError {
    /// A syntax error.
    Invalid,
    /// More states than the reference allows.
    TooBig,
}

/// The reference's bound on the number of states of one pattern.
const STATE_LIMIT: usize = 100_000;
/// No state: the end of a sequence not yet linked.
const NONE: usize = usize::MAX;

/// A set of bytes.
#[derive(Clone, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }

    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }
}

/// What a state does.
#[derive(Clone)]
enum Op {
    /// Consume one byte of the set.
    Byte(Rc<ByteSet>),
    /// A greedy loop point: try `alt` (one more) first, then `next`.
    Repeat { alt: usize },
    /// An alternation: `alt` is the left side, `next` the right.
    Alt { alt: usize },
    /// Start of a group.
    GroupStart(usize),
    /// End of a group.
    GroupEnd(usize),
    /// `^`.
    LineBegin,
    /// `$`.
    LineEnd,
    /// Does nothing (joins branches while building).
    Dummy,
    /// Success.
    Accept,
}

#[derive(Clone)]
struct State {
    op: Op,
    next: usize,
}

impl State {
    fn alt(&self) -> Option<usize> {
        match self.op {
            Op::Repeat { alt } | Op::Alt { alt } => Some(alt),
            _ => None,
        }
    }

    fn set_alt(&mut self, target: usize) {
        if let Op::Repeat { alt } | Op::Alt { alt } = &mut self.op {
            *alt = target;
        }
    }
}

/// A compiled pattern.
pub(crate) struct Regex {
    states: Vec<State>,
    groups: usize,
    /// The pattern for the `regex` crate, unanchored, when it could be built.
    search: Option<regex::bytes::Regex>,
    /// The same anchored at both ends.
    whole: Option<regex::bytes::Regex>,
}

/// Where each group matched, group 0 being the whole match.
type Captures = Vec<Option<(usize, usize)>>;

impl Regex {
    fn new(pattern: &[u8]) -> Result<Regex, RegexError> {
        let mut compiler = Compiler::new(pattern);
        let fragment = compiler.compile()?;
        let Compiler { states, groups, .. } = compiler;
        let build =
            |text: String| regex::bytes::RegexBuilder::new(&text).unicode(false).size_limit(1 << 24).build().ok();
        let search = fragment.as_ref().and_then(|f| build(f.clone()));
        let whole = fragment.and_then(|f| build(format!(r"\A(?:{f})\z")));
        Ok(Regex { states, groups, search, whole })
    }

    /// `regex_match`: the captures if the whole text matches.
    pub(crate) fn match_whole(&self, text: &[u8]) -> Option<Captures> {
        if self.whole.as_ref().is_some_and(|fast| !fast.is_match(text)) {
            return None;
        }
        self.run(text, 0, true, false)
    }

    /// The successive matches that `std::cregex_iterator` yields.
    pub(crate) fn find_all(&self, text: &[u8]) -> Vec<Captures> {
        let mut out = Vec::new();
        let mut found = self.search_from(text, 0);
        while let Some(captures) = found {
            let (start, end) = captures.first().copied().flatten().unwrap_or((text.len(), text.len()));
            out.push(captures);
            let from = if start == end {
                if end >= text.len() {
                    break;
                }
                if let Some(again) = self.run(text, end, false, true) {
                    found = Some(again);
                    continue;
                }
                end + 1
            } else {
                end
            };
            found = self.search_from(text, from);
        }
        out
    }

    /// `regex_search` from `from`: the first start position with a match, and its match.
    fn search_from(&self, text: &[u8], from: usize) -> Option<Captures> {
        let mut start = from;
        while start <= text.len() {
            if let Some(fast) = &self.search {
                start = fast.find_at(text, start)?.start();
            }
            if let Some(captures) = self.run(text, start, false, false) {
                return Some(captures);
            }
            start += 1;
        }
        None
    }

    /// One run of the backtracking matcher from `begin`.
    fn run(&self, text: &[u8], begin: usize, exact: bool, not_null: bool) -> Option<Captures> {
        let mut exec = Exec {
            states: &self.states,
            text,
            begin,
            exact,
            not_null,
            has_solution: false,
            solution_end: None,
            current: vec![Group::default(); self.groups],
            best: Vec::new(),
            repeats: vec![(0, 0); self.states.len()],
        };
        exec.run();
        exec.solution_end?;
        Some(exec.best.iter().map(|g| if g.matched { g.start.map(|s| (s, g.end)) } else { None }).collect())
    }
}

// ---------------------------------------------------------------------------------------
// Scanner

/// The tokens of the pattern syntax.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Token {
    Eof,
    Ord(u8),
    Any,
    GroupOpen,
    GroupClose,
    BracketOpen { negated: bool },
    BracketClose,
    Dash,
    BraceOpen,
    BraceClose,
    Count(i64),
    Comma,
    Class(Vec<u8>),
    Collating(Vec<u8>),
    Equivalence(Vec<u8>),
    Opt,
    Or,
    Star,
    Plus,
    LineBegin,
    LineEnd,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Bracket,
    Brace,
}

/// The characters that are special outside brackets and may be escaped.
const SPECIAL: &[u8] = b".[\\()*+?{|^$";

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    mode: Mode,
    bracket_start: bool,
}

impl Scanner<'_> {
    fn next_token(&mut self) -> Result<Token, RegexError> {
        let Some(&c) = self.input.get(self.pos) else { return Ok(Token::Eof) };
        self.pos += 1;
        match self.mode {
            Mode::Normal => self.normal(c),
            Mode::Bracket => self.bracket(c),
            Mode::Brace => self.brace(c),
        }
    }

    fn normal(&mut self, c: u8) -> Result<Token, RegexError> {
        if !SPECIAL.contains(&c) {
            return Ok(Token::Ord(c));
        }
        Ok(match c {
            b'\\' => match self.input.get(self.pos) {
                Some(&escaped) if SPECIAL.contains(&escaped) => {
                    self.pos += 1;
                    Token::Ord(escaped)
                }
                _ => return Err(RegexError::Invalid),
            },
            b'(' => Token::GroupOpen,
            b')' => Token::GroupClose,
            b'[' => {
                self.mode = Mode::Bracket;
                self.bracket_start = true;
                let negated = self.input.get(self.pos) == Some(&b'^');
                if negated {
                    self.pos += 1;
                }
                Token::BracketOpen { negated }
            }
            b'{' => {
                self.mode = Mode::Brace;
                Token::BraceOpen
            }
            b'^' => Token::LineBegin,
            b'$' => Token::LineEnd,
            b'.' => Token::Any,
            b'*' => Token::Star,
            b'+' => Token::Plus,
            b'?' => Token::Opt,
            _ => Token::Or,
        })
    }

    fn bracket(&mut self, c: u8) -> Result<Token, RegexError> {
        let at_start = std::mem::replace(&mut self.bracket_start, false);
        Ok(match c {
            b'-' => Token::Dash,
            b'[' => match self.input.get(self.pos) {
                None => return Err(RegexError::Invalid),
                Some(&kind @ (b'.' | b':' | b'=')) => {
                    self.pos += 1;
                    let name = self.class_name(kind)?;
                    match kind {
                        b':' => Token::Class(name),
                        b'.' => Token::Collating(name),
                        _ => Token::Equivalence(name),
                    }
                }
                Some(_) => Token::Ord(b'['),
            },
            b']' if !at_start => {
                self.mode = Mode::Normal;
                Token::BracketClose
            }
            other => Token::Ord(other),
        })
    }

    /// The name of `[:name:]` and friends, up to the closing `kind` and `]`.
    fn class_name(&mut self, kind: u8) -> Result<Vec<u8>, RegexError> {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == kind).ok_or(RegexError::Invalid)?;
        if rest.get(len + 1) != Some(&b']') {
            return Err(RegexError::Invalid);
        }
        self.pos += len + 2;
        Ok(rest[..len].to_vec())
    }

    fn brace(&mut self, c: u8) -> Result<Token, RegexError> {
        Ok(match c {
            b'0'..=b'9' => {
                let mut value = i64::from(c - b'0');
                while let Some(&d @ b'0'..=b'9') = self.input.get(self.pos) {
                    value = value.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
                    self.pos += 1;
                }
                Token::Count(i64::from(value as i32))
            }
            b',' => Token::Comma,
            b'}' => {
                self.mode = Mode::Normal;
                Token::BraceClose
            }
            _ => return Err(RegexError::Invalid),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Compiler

/// A piece of the graph: its first state and its last (whose `next` is still open).
#[derive(Clone, Copy)]
struct Seq {
    start: usize,
    end: usize,
}

/// A compiled piece: its states and its equivalent for the `regex` crate (`None` when
/// that crate cannot express it).
struct Piece {
    seq: Seq,
    fragment: Option<String>,
}

struct Compiler<'a> {
    scanner: Scanner<'a>,
    token: Token,
    states: Vec<State>,
    groups: usize,
}

impl<'a> Compiler<'a> {
    fn new(pattern: &'a [u8]) -> Compiler<'a> {
        let scanner = Scanner { input: pattern, pos: 0, mode: Mode::Normal, bracket_start: false };
        Compiler { scanner, token: Token::Eof, states: Vec::new(), groups: 0 }
    }

    /// Compiles the whole pattern; returns the `regex` crate's equivalent.
    fn compile(&mut self) -> Result<Option<String>, RegexError> {
        if self.scanner.input.contains(&0) {
            return Err(RegexError::Invalid);
        }
        self.advance()?;
        let group = self.groups;
        self.groups += 1;
        let start = self.insert(Op::GroupStart(group))?;
        let body = self.disjunction(0)?;
        if self.token != Token::Eof {
            return Err(RegexError::Invalid);
        }
        let mut seq = Seq { start, end: start };
        self.append(&mut seq, body.seq);
        let end = self.insert(Op::GroupEnd(group))?;
        self.append_state(&mut seq, end);
        let accept = self.insert(Op::Accept)?;
        self.append_state(&mut seq, accept);
        self.eliminate_dummies();
        Ok(body.fragment)
    }

    fn advance(&mut self) -> Result<(), RegexError> {
        self.token = self.scanner.next_token()?;
        Ok(())
    }

    /// Consumes the current token if it is `token`.
    fn accept(&mut self, token: &Token) -> Result<bool, RegexError> {
        if &self.token == token {
            self.advance()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn insert(&mut self, op: Op) -> Result<usize, RegexError> {
        self.states.push(State { op, next: NONE });
        if self.states.len() > STATE_LIMIT {
            return Err(RegexError::TooBig);
        }
        Ok(self.states.len() - 1)
    }

    fn append(&mut self, seq: &mut Seq, other: Seq) {
        self.states[seq.end].next = other.start;
        seq.end = other.end;
    }

    fn append_state(&mut self, seq: &mut Seq, state: usize) {
        self.append(seq, Seq { start: state, end: state });
    }

    fn single(&mut self, op: Op, fragment: Option<String>) -> Result<Piece, RegexError> {
        let state = self.insert(op)?;
        Ok(Piece { seq: Seq { start: state, end: state }, fragment })
    }

    /// `a|b|…`: nested alternations, the left side tried first. `depth` counts enclosing
    /// groups; every level costs states, so the state limit ends deep nesting first and the
    /// depth bound only protects the native stack of callers without a large one.
    fn disjunction(&mut self, depth: usize) -> Result<Piece, RegexError> {
        if depth > 40_000 {
            return Err(RegexError::TooBig);
        }
        let mut left = self.alternative(depth)?;
        while self.accept(&Token::Or)? {
            let right = self.alternative(depth)?;
            let end = self.insert(Op::Dummy)?;
            let (mut lhs, mut rhs) = (left.seq, right.seq);
            self.append_state(&mut lhs, end);
            self.append_state(&mut rhs, end);
            let alt = self.insert(Op::Alt { alt: lhs.start })?;
            self.states[alt].next = rhs.start;
            let fragment = left.fragment.zip(right.fragment).map(|(l, r)| format!("{l}|{r}"));
            left = Piece { seq: Seq { start: alt, end }, fragment };
        }
        Ok(left)
    }

    /// A sequence of terms, ended by a dummy state.
    fn alternative(&mut self, depth: usize) -> Result<Piece, RegexError> {
        let mut terms = Vec::new();
        while let Some(term) = self.term(depth)? {
            terms.push(term);
        }
        let end = self.insert(Op::Dummy)?;
        let mut fragment = Some(String::new());
        let mut seq: Option<Seq> = None;
        for term in terms {
            fragment = fragment.zip(term.fragment).map(|(f, t)| f + &t);
            match &mut seq {
                None => seq = Some(term.seq),
                Some(seq) => self.append(seq, term.seq),
            }
        }
        let mut seq = seq.unwrap_or(Seq { start: end, end });
        if seq.end != end {
            self.append_state(&mut seq, end);
        }
        Ok(Piece { seq, fragment })
    }

    fn term(&mut self, depth: usize) -> Result<Option<Piece>, RegexError> {
        if self.accept(&Token::LineBegin)? {
            return self.single(Op::LineBegin, Some(r"\A".to_string())).map(Some);
        }
        if self.accept(&Token::LineEnd)? {
            return self.single(Op::LineEnd, Some(r"\z".to_string())).map(Some);
        }
        let Some(mut piece) = self.atom(depth)? else { return Ok(None) };
        while let Some(quantified) = self.quantifier(&piece)? {
            piece = quantified;
        }
        Ok(Some(piece))
    }

    fn atom(&mut self, depth: usize) -> Result<Option<Piece>, RegexError> {
        let token = self.token.clone();
        match token {
            Token::Any => {
                self.advance()?;
                let mut set = ByteSet([u64::MAX; 4]);
                set.0[0] &= !1;
                let fragment = set_fragment(&set);
                self.single(Op::Byte(Rc::new(set)), fragment).map(Some)
            }
            Token::Ord(c) => {
                self.advance()?;
                let mut set = ByteSet([0; 4]);
                set.insert(c);
                self.single(Op::Byte(Rc::new(set)), Some(format!(r"\x{c:02X}"))).map(Some)
            }
            Token::GroupOpen => {
                self.advance()?;
                self.group(depth).map(Some)
            }
            Token::BracketOpen { negated } => {
                self.advance()?;
                self.bracket(negated).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// `( … )` after its opening parenthesis.
    fn group(&mut self, depth: usize) -> Result<Piece, RegexError> {
        let index = self.groups;
        self.groups += 1;
        let start = self.insert(Op::GroupStart(index))?;
        let body = self.disjunction(depth + 1)?;
        if !self.accept(&Token::GroupClose)? {
            return Err(RegexError::Invalid);
        }
        let mut seq = Seq { start, end: start };
        self.append(&mut seq, body.seq);
        let end = self.insert(Op::GroupEnd(index))?;
        self.append_state(&mut seq, end);
        Ok(Piece { seq, fragment: body.fragment.map(|f| format!("(?:{f})")) })
    }

    /// A quantifier applied to `piece`, if one follows.
    fn quantifier(&mut self, piece: &Piece) -> Result<Option<Piece>, RegexError> {
        let wrap = |suffix: &str| piece.fragment.as_ref().map(|f| format!("(?:{f}){suffix}"));
        let mut e = piece.seq;
        if self.accept(&Token::Star)? {
            let repeat = self.insert(Op::Repeat { alt: e.start })?;
            self.append_state(&mut e, repeat);
            return Ok(Some(Piece { seq: Seq { start: repeat, end: repeat }, fragment: wrap("*") }));
        }
        if self.accept(&Token::Plus)? {
            let repeat = self.insert(Op::Repeat { alt: e.start })?;
            self.append_state(&mut e, repeat);
            return Ok(Some(Piece { seq: e, fragment: wrap("+") }));
        }
        if self.accept(&Token::Opt)? {
            let end = self.insert(Op::Dummy)?;
            let repeat = self.insert(Op::Repeat { alt: e.start })?;
            self.append_state(&mut e, end);
            self.states[repeat].next = end;
            return Ok(Some(Piece { seq: Seq { start: repeat, end }, fragment: wrap("?") }));
        }
        if self.accept(&Token::BraceOpen)? {
            return self.interval(piece).map(Some);
        }
        Ok(None)
    }

    /// `{n}`, `{n,}` or `{n,m}` after the opening brace: copies of the piece, then a loop
    /// or nested optional copies.
    fn interval(&mut self, piece: &Piece) -> Result<Piece, RegexError> {
        let Token::Count(min) = self.token else { return Err(RegexError::Invalid) };
        self.advance()?;
        let mut max = Some(min);
        if self.accept(&Token::Comma)? {
            max = match self.token {
                Token::Count(max) => {
                    self.advance()?;
                    Some(max)
                }
                _ => None,
            };
        }
        if !self.accept(&Token::BraceClose)? {
            return Err(RegexError::Invalid);
        }
        let dummy = self.insert(Op::Dummy)?;
        let mut e = Seq { start: dummy, end: dummy };
        for _ in 0..min {
            let copy = self.clone_seq(piece.seq)?;
            self.append(&mut e, copy);
        }
        match max {
            None => {
                let copy = self.clone_seq(piece.seq)?;
                let repeat = self.insert(Op::Repeat { alt: copy.start })?;
                self.states[copy.end].next = repeat;
                self.append_state(&mut e, repeat);
            }
            Some(max) => self.optional_copies(piece.seq, &mut e, max - min)?,
        }
        let expressible = (0..=1000).contains(&min) && max.is_none_or(|max| (min..=1000).contains(&max));
        let fragment = piece.fragment.as_ref().filter(|_| expressible).map(|f| match max {
            None => format!("(?:{f}){{{min},}}"),
            Some(max) => format!("(?:{f}){{{min},{max}}}"),
        });
        Ok(Piece { seq: e, fragment })
    }

    /// `count` nested optional copies of `seq` appended to `e`.
    fn optional_copies(&mut self, seq: Seq, e: &mut Seq, count: i64) -> Result<(), RegexError> {
        if count < 0 {
            return Err(RegexError::Invalid);
        }
        let end = self.insert(Op::Dummy)?;
        let mut loops = Vec::new();
        for _ in 0..count {
            let copy = self.clone_seq(seq)?;
            let repeat = self.insert(Op::Repeat { alt: end })?;
            self.states[repeat].next = copy.start;
            loops.push(repeat);
            self.append(e, Seq { start: repeat, end: copy.end });
        }
        self.append_state(e, end);
        for repeat in loops {
            let state = &mut self.states[repeat];
            let next = state.next;
            state.next = state.alt().unwrap_or(NONE);
            state.set_alt(next);
        }
        Ok(())
    }

    /// Copies the states of a piece, as the reference does (a state reached twice before
    /// it is copied is copied twice; the extra copy is unreachable but counts).
    fn clone_seq(&mut self, seq: Seq) -> Result<Seq, RegexError> {
        let mut map: FxHashMap<usize, usize> = FxHashMap::default();
        let mut stack = vec![seq.start];
        while let Some(original) = stack.pop() {
            let state = self.states[original].clone();
            let copy = self.insert(state.op.clone())?;
            self.states[copy].next = state.next;
            map.insert(original, copy);
            if let Some(alt) = state.alt().filter(|&alt| alt != NONE && !map.contains_key(&alt)) {
                stack.push(alt);
            }
            if original != seq.end && state.next != NONE && !map.contains_key(&state.next) {
                stack.push(state.next);
            }
        }
        for &copy in map.values() {
            let state = &mut self.states[copy];
            if state.next != NONE {
                state.next = map.get(&state.next).copied().unwrap_or(state.next);
            }
            if let Some(alt) = state.alt().filter(|&alt| alt != NONE) {
                state.set_alt(map.get(&alt).copied().unwrap_or(alt));
            }
        }
        let start = map.get(&seq.start).copied().unwrap_or(seq.start);
        Ok(Seq { start, end: map.get(&seq.end).copied().unwrap_or(seq.end) })
    }

    /// A bracket expression after its opening bracket.
    fn bracket(&mut self, negated: bool) -> Result<Piece, RegexError> {
        let mut set = ByteSet([0; 4]);
        let mut last = Last::None;
        if let Token::Ord(c) = self.token {
            self.advance()?;
            last = Last::Char(c);
        } else if self.accept(&Token::Dash)? {
            last = Last::Char(b'-');
        }
        while self.bracket_term(&mut last, &mut set)? {}
        if let Last::Char(c) = last {
            set.insert(c);
        }
        if negated {
            for word in &mut set.0 {
                *word = !*word;
            }
        }
        let fragment = set_fragment(&set);
        self.single(Op::Byte(Rc::new(set)), fragment)
    }

    /// One element of a bracket expression; `false` at its end.
    fn bracket_term(&mut self, last: &mut Last, set: &mut ByteSet) -> Result<bool, RegexError> {
        let token = self.token.clone();
        self.advance()?;
        match token {
            Token::BracketClose => return Ok(false),
            Token::Collating(name) => {
                let c = collating_element(&name).ok_or(RegexError::Invalid)?;
                set.insert(c);
                last.push_char(set, c);
            }
            Token::Equivalence(name) => {
                let c = collating_element(&name).ok_or(RegexError::Invalid)?;
                last.push_class(set);
                set.insert(c.to_ascii_lowercase());
                set.insert(c.to_ascii_uppercase());
            }
            Token::Class(name) => {
                last.push_class(set);
                add_class(set, &name)?;
            }
            Token::Ord(c) => last.push_char(set, c),
            Token::Dash => return self.bracket_dash(last, set),
            _ => return Err(RegexError::Invalid),
        }
        Ok(true)
    }

    /// A `-` inside brackets: literal at the end, else the middle of a range.
    fn bracket_dash(&mut self, last: &mut Last, set: &mut ByteSet) -> Result<bool, RegexError> {
        if self.accept(&Token::BracketClose)? {
            last.push_char(set, b'-');
            return Ok(false);
        }
        let Last::Char(low) = *last else { return Err(RegexError::Invalid) };
        let high = match self.token {
            Token::Ord(c) => c,
            Token::Dash => b'-',
            _ => return Err(RegexError::Invalid),
        };
        self.advance()?;
        // The reference compares `char`, which is signed.
        let (low, high) = (low as i8, high as i8);
        if low > high {
            return Err(RegexError::Invalid);
        }
        for c in low..=high {
            set.insert(c as u8);
        }
        *last = Last::None;
        Ok(true)
    }

    /// Links every state past the dummies that follow it.
    fn eliminate_dummies(&mut self) {
        let skip = |states: &[State], mut target: usize| {
            let mut steps = 0;
            while target != NONE && matches!(states[target].op, Op::Dummy) && steps < states.len() {
                target = states[target].next;
                steps += 1;
            }
            target
        };
        for idx in 0..self.states.len() {
            let next = skip(&self.states, self.states[idx].next);
            self.states[idx].next = next;
            if let Some(alt) = self.states[idx].alt() {
                let alt = skip(&self.states, alt);
                self.states[idx].set_alt(alt);
            }
        }
    }
}

/// What came last in a bracket expression, for ranges.
#[derive(Clone, Copy)]
enum Last {
    None,
    Char(u8),
    Class,
}

impl Last {
    fn push_char(&mut self, set: &mut ByteSet, c: u8) {
        if let Last::Char(previous) = *self {
            set.insert(previous);
        }
        *self = Last::Char(c);
    }

    fn push_class(&mut self, set: &mut ByteSet) {
        if let Last::Char(previous) = *self {
            set.insert(previous);
        }
        *self = Last::Class;
    }
}

/// Adds a named character class (C locale); unknown names are errors.
fn add_class(set: &mut ByteSet, name: &[u8]) -> Result<(), RegexError> {
    let name = name.to_ascii_lowercase();
    let test: fn(u8) -> bool = match name.as_slice() {
        b"alnum" => |c| c.is_ascii_alphanumeric(),
        b"alpha" => |c| c.is_ascii_alphabetic(),
        b"blank" => |c| c == b' ' || c == b'\t',
        b"cntrl" => |c| c.is_ascii_control(),
        b"digit" | b"d" => |c| c.is_ascii_digit(),
        b"graph" => |c| c.is_ascii_graphic(),
        b"lower" => |c| c.is_ascii_lowercase(),
        b"print" => |c| c.is_ascii_graphic() || c == b' ',
        b"punct" => |c| c.is_ascii_punctuation(),
        b"space" | b"s" => |c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b"upper" => |c| c.is_ascii_uppercase(),
        b"xdigit" => |c| c.is_ascii_hexdigit(),
        b"w" => |c| c.is_ascii_alphanumeric() || c == b'_',
        _ => return Err(RegexError::Invalid),
    };
    for c in 0..=255u8 {
        if test(c) {
            set.insert(c);
        }
    }
    Ok(())
}

/// The character a collating element `[.name.]` names: the POSIX names of the ASCII
/// characters (letters name themselves, digits are `zero` … `nine`).
fn collating_element(name: &[u8]) -> Option<u8> {
    const NAMES: [&str; 128] = [
        "NUL",
        "SOH",
        "STX",
        "ETX",
        "EOT",
        "ENQ",
        "ACK",
        "alert",
        "backspace",
        "tab",
        "newline",
        "vertical-tab",
        "form-feed",
        "carriage-return",
        "SO",
        "SI",
        "DLE",
        "DC1",
        "DC2",
        "DC3",
        "DC4",
        "NAK",
        "SYN",
        "ETB",
        "CAN",
        "EM",
        "SUB",
        "ESC",
        "IS4",
        "IS3",
        "IS2",
        "IS1",
        "space",
        "exclamation-mark",
        "quotation-mark",
        "number-sign",
        "dollar-sign",
        "percent-sign",
        "ampersand",
        "apostrophe",
        "left-parenthesis",
        "right-parenthesis",
        "asterisk",
        "plus-sign",
        "comma",
        "hyphen",
        "period",
        "slash",
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "colon",
        "semicolon",
        "less-than-sign",
        "equals-sign",
        "greater-than-sign",
        "question-mark",
        "commercial-at",
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "J",
        "K",
        "L",
        "M",
        "N",
        "O",
        "P",
        "Q",
        "R",
        "S",
        "T",
        "U",
        "V",
        "W",
        "X",
        "Y",
        "Z",
        "left-square-bracket",
        "backslash",
        "right-square-bracket",
        "circumflex",
        "underscore",
        "grave-accent",
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h",
        "i",
        "j",
        "k",
        "l",
        "m",
        "n",
        "o",
        "p",
        "q",
        "r",
        "s",
        "t",
        "u",
        "v",
        "w",
        "x",
        "y",
        "z",
        "left-curly-bracket",
        "vertical-line",
        "right-curly-bracket",
        "tilde",
        "DEL",
    ];
    NAMES.iter().position(|n| n.as_bytes() == name).and_then(|idx| u8::try_from(idx).ok())
}

/// A byte class for the `regex` crate, `None` if empty (which it cannot express).
fn set_fragment(set: &ByteSet) -> Option<String> {
    let mut out = String::from("[");
    let mut c = 0usize;
    let mut any = false;
    while c < 256 {
        if !set.contains(c as u8) {
            c += 1;
            continue;
        }
        let start = c;
        while c + 1 < 256 && set.contains((c + 1) as u8) {
            c += 1;
        }
        let _ = write!(out, r"\x{start:02X}");
        if c > start {
            let _ = write!(out, r"-\x{c:02X}");
        }
        any = true;
        c += 1;
    }
    out.push(']');
    any.then_some(out)
}

// ---------------------------------------------------------------------------------------
// Matcher

/// A group's state during matching, as the reference keeps it.
#[derive(Clone, Copy, Default)]
struct Group {
    start: Option<usize>,
    end: usize,
    matched: bool,
}

/// The pending work of the depth-first search, kept on an explicit stack.
enum Step {
    Visit(usize, usize),
    SkipRepeat(usize, usize),
    RestoreRepeat(usize, (usize, u8)),
    UncountRepeat(usize),
    RightAlternative(usize, usize),
    JoinAlternative(bool),
    RestoreStart(usize, Option<usize>),
    RestoreGroup(usize, Group),
}

/// One run of the reference's depth-first matcher from one start position.
struct Exec<'a> {
    states: &'a [State],
    text: &'a [u8],
    begin: usize,
    exact: bool,
    not_null: bool,
    has_solution: bool,
    solution_end: Option<usize>,
    current: Vec<Group>,
    best: Vec<Group>,
    /// Per loop state: the position of its last visit and how often it was entered there.
    repeats: Vec<(usize, u8)>,
}

impl Exec<'_> {
    fn run(&mut self) {
        let mut stack = vec![Step::Visit(0, self.begin)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Visit(state, pos) => {
                    if self.visit(state, pos, &mut stack) {
                        return;
                    }
                }
                Step::SkipRepeat(next, pos) => {
                    if !self.has_solution {
                        stack.push(Step::Visit(next, pos));
                    }
                }
                Step::RestoreRepeat(state, saved) => self.repeats[state] = saved,
                Step::UncountRepeat(state) => self.repeats[state].1 -= 1,
                Step::RightAlternative(next, pos) => {
                    stack.push(Step::JoinAlternative(self.has_solution));
                    self.has_solution = false;
                    stack.push(Step::Visit(next, pos));
                }
                Step::JoinAlternative(before) => self.has_solution |= before,
                Step::RestoreStart(group, start) => self.current[group].start = start,
                Step::RestoreGroup(group, saved) => self.current[group] = saved,
            }
        }
    }

    /// Executes one state; `true` when no later solution can be better (stop).
    fn visit(&mut self, state: usize, pos: usize, stack: &mut Vec<Step>) -> bool {
        let Some(State { op, next }) = self.states.get(state) else { return false };
        let next = *next;
        match op {
            Op::Byte(set) => {
                if self.text.get(pos).is_some_and(|&b| set.contains(b)) {
                    stack.push(Step::Visit(next, pos + 1));
                }
            }
            Op::Repeat { alt } => {
                stack.push(Step::SkipRepeat(next, pos));
                let count = self.repeats[state];
                if count.1 == 0 || count.0 != pos {
                    stack.push(Step::RestoreRepeat(state, count));
                    self.repeats[state] = (pos, 1);
                    stack.push(Step::Visit(*alt, pos));
                } else if count.1 < 2 {
                    self.repeats[state].1 += 1;
                    stack.push(Step::UncountRepeat(state));
                    stack.push(Step::Visit(*alt, pos));
                }
            }
            Op::Alt { alt } => {
                stack.push(Step::RightAlternative(next, pos));
                stack.push(Step::Visit(*alt, pos));
            }
            Op::GroupStart(group) => {
                stack.push(Step::RestoreStart(*group, self.current[*group].start));
                self.current[*group].start = Some(pos);
                stack.push(Step::Visit(next, pos));
            }
            Op::GroupEnd(group) => {
                stack.push(Step::RestoreGroup(*group, self.current[*group]));
                let entry = &mut self.current[*group];
                entry.end = pos;
                entry.matched = true;
                stack.push(Step::Visit(next, pos));
            }
            Op::LineBegin if pos == 0 => stack.push(Step::Visit(next, pos)),
            Op::LineEnd if pos == self.text.len() => stack.push(Step::Visit(next, pos)),
            Op::LineBegin | Op::LineEnd => {}
            Op::Dummy => stack.push(Step::Visit(next, pos)),
            Op::Accept => return self.accept(pos),
        }
        false
    }

    /// Reaching the accepting state at `pos`: keep the longest solution (the first one
    /// among equals).
    fn accept(&mut self, pos: usize) -> bool {
        self.has_solution = (!self.exact || pos == self.text.len()) && !(self.not_null && pos == self.begin);
        if self.has_solution && self.solution_end.is_none_or(|end| end < pos) {
            self.solution_end = Some(pos);
            self.best.clone_from(&self.current);
        }
        self.has_solution && (self.exact || pos == self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(pattern: &str, text: &str) -> Option<Vec<Option<String>>> {
        let regex = Regex::new(pattern.as_bytes()).ok()?;
        let captures = regex.match_whole(text.as_bytes())?;
        let show = |g: &Option<(usize, usize)>| g.map(|(s, e)| text[s..e].to_string());
        Some(captures.iter().skip(1).map(show).collect())
    }

    fn splits(pattern: &str, text: &str) -> Vec<(usize, usize)> {
        let regex = Regex::new(pattern.as_bytes()).ok();
        let matches = regex.map(|r| r.find_all(text.as_bytes())).unwrap_or_default();
        matches.iter().filter_map(|c| c.first().copied().flatten()).collect()
    }

    #[test]
    fn syntax_is_checked_like_the_reference() {
        for bad in [
            "(",
            "[",
            "\\",
            "\\d",
            "\\}",
            "\\]",
            "*a",
            "a{",
            "a{2,1}",
            "a{1",
            "^*",
            "[z-a]",
            "[a-z-9]",
            "[[:foo:]]",
            "\\1",
        ] {
            assert_eq!(Regex::new(bad.as_bytes()).err(), Some(RegexError::Invalid), "{bad}");
        }
        for good in ["", "()", "a|", "]", "}", "\\{", "[]a]", "[^]a]", "[a-]", "[-a]", "a**", "a{2}{3}", "[[:ALPHA:]]"]
        {
            assert!(Regex::new(good.as_bytes()).is_ok(), "{good}");
        }
        assert_eq!(Regex::new(b"a{100000}").err(), Some(RegexError::TooBig));
    }

    #[test]
    fn captures_follow_the_reference() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(groups("(a*)(a*)", "aaaa"), Some(vec![s("aaaa"), s("")]));
        assert_eq!(groups("(a|b)*", "abba"), Some(vec![s("a")]));
        assert_eq!(groups("(a)?(b)", "b"), Some(vec![None, s("b")]));
        assert_eq!(groups("([0-9]+)\\.([0-9]+)(\\.([0-9]+))?", "1.22"), Some(vec![s("1"), s("22"), None, None]));
        assert_eq!(groups("(日)(.)", "日本"), None);
        assert_eq!(groups("a.b", "a\nb"), Some(vec![]));
    }

    #[test]
    fn search_prefers_the_longest_alternative() {
        assert_eq!(splits("a|ab", "xabx"), vec![(1, 3)]);
        assert_eq!(splits("x*", "ab"), vec![(0, 0), (1, 1), (2, 2)]);
        assert_eq!(splits("^a", "aaa"), vec![(0, 1)]);
    }
}
