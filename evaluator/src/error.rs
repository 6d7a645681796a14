//! Evaluation errors.
//!
//! An [`EvalError`] is one boxed allocation so that `Result<Value, EvalError>` stays two
//! words on the hot path. Errors are created without a position and get the span of the
//! innermost expression that was being evaluated as they travel up, except where the
//! reference gives an error none: one raised inside a builtin, or whose frame says where
//! (see [`EvalError::in_builtin`], [`EvalError::context`]). On the way up they collect the
//! frames the reference collects ("while calling the 'map' builtin", "while evaluating the
//! attribute 'a.b'", `addErrorContext`'s messages), shown as the reference shows them (see
//! [`crate::diagnostics::render`]), and frames of function calls shown by `--show-trace`.
//! Catchable failures (`throw`, failed `assert`), which `builtins.tryEval` sees, are told
//! apart from fatal ones by [`ErrorKind::is_catchable`].

use crate::source::Span;
use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ErrorKind {
    /// `throw "msg"`: catchable.
    #[error("{0}")]
    Throw(String),
    /// `assert e; ...` with a false condition: catchable.
    #[error("assertion '{0}' failed")]
    AssertionFailed(String),
    /// A failed `assert a == b`, with the reference's explanation: catchable.
    #[error("{1}")]
    AssertionExplained(String, String),
    /// `abort "msg"`.
    #[error("evaluation aborted with the following error message: '{0}'")]
    Abort(String),
    /// Selecting an attribute that is not there.
    #[error("attribute '{0}' missing")]
    AttributeMissing(String),
    /// A name with no binding.
    #[error("undefined variable '{0}'")]
    UndefinedVariable(String),
    /// A value of the wrong type.
    #[error("expected {expected} but found {found}")]
    TypeMismatch {
        /// What was expected, with its article: "a set".
        expected: &'static str,
        /// What was found, with its article and a short rendering of the value.
        found: String,
    },
    /// A thunk that needs its own value.
    #[error("infinite recursion encountered")]
    InfiniteRecursion,
    /// Too deep a nesting of calls or evaluations.
    #[error("stack overflow; max-call-depth exceeded")]
    DepthLimit,
    /// Syntax errors, reported with the first one's position.
    #[error("syntax error, {0}")]
    Parse(String),
    /// Anything else, with Nix's message.
    #[error("{0}")]
    Other(String),
    /// Evaluation was stopped from outside (see [`crate::EvalSettings::interrupt`]), with the reason.
    #[error("evaluation interrupted: {0}")]
    Interrupted(String),
    /// A broken invariant of the evaluator itself.
    #[error("internal error: {0} (please report this)")]
    Bug(&'static str),
}

impl ErrorKind {
    /// Whether `builtins.tryEval` catches this error.
    pub fn is_catchable(&self) -> bool {
        matches!(self, ErrorKind::Throw(_) | ErrorKind::AssertionFailed(_) | ErrorKind::AssertionExplained(..))
    }
}

/// One evaluation failure with its position and the chain of frames it crossed.
#[derive(Debug, Clone)]
pub struct EvalError(Box<ErrorInner>);

/// When a trace frame is shown (see [`crate::diagnostics::render`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracePrint {
    /// As the reference shows its frames: the outermost few, then the rest with
    /// `--show-trace` only.
    Default,
    /// Always, past the few too (`builtins.addErrorContext`'s messages).
    Always,
    /// With `--show-trace` only: a frame the reference only collects then (calls of
    /// functions and where they were called from).
    WithShowTrace,
}

/// One frame of an error's trace: what was being done, and where.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Where it applied, when known.
    pub span: Option<Span>,
    /// The description.
    pub text: String,
    /// When it is shown.
    pub print: TracePrint,
}

/// The contents of an [`EvalError`].
#[derive(Debug, Clone)]
pub struct ErrorInner {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where, when known.
    pub span: Option<Span>,
    /// Context frames, innermost first.
    pub trace: Vec<Frame>,
    /// Whether the error keeps having no position of its own: it was raised inside a
    /// builtin, whose frame shows where the builtin was called, as in the reference (see
    /// [`EvalError::in_builtin`]).
    pub sealed: bool,
    /// Whether the caller's frame is still to be added (see [`EvalError::context`]).
    pub wants_context: bool,
    /// The text that frame gets instead of the caller's (see [`EvalError::in_to_string_result`]).
    pub context_text: Option<&'static str>,
    /// Frames to add at the caller's position before its own (see [`EvalError::in_list_element`]).
    pub pending: Vec<&'static str>,
    /// Names the message may have meant ("Did you mean …?"), best first.
    pub suggestions: Vec<String>,
    /// The address of the value whose forcing by a builtin's argument check failed last, 0
    /// if none (see [`EvalError::forcing`]).
    pub forcing: usize,
}

impl EvalError {
    /// A new error without position.
    pub fn new(kind: ErrorKind) -> EvalError {
        EvalError(Box::new(ErrorInner {
            kind,
            span: None,
            trace: Vec::new(),
            sealed: false,
            wants_context: false,
            context_text: None,
            pending: Vec::new(),
            suggestions: Vec::new(),
            forcing: 0,
        }))
    }

    /// A new error with a free-form message.
    pub fn msg(message: impl Into<String>) -> EvalError {
        EvalError::new(ErrorKind::Other(message.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The error's position, if any.
    pub fn span(&self) -> Option<Span> {
        self.0.span
    }

    /// Trace frames, innermost first.
    pub fn trace(&self) -> &[Frame] {
        &self.0.trace
    }

    /// Replaces the message of a failed assertion with an explanation.
    pub fn with_message(mut self, reason: String) -> EvalError {
        if let ErrorKind::AssertionFailed(text) = &self.0.kind {
            self.0.kind = ErrorKind::AssertionExplained(text.clone(), reason);
        }
        self
    }

    /// Sets the position unless one is already known, or the error keeps none (see
    /// [`EvalError::in_builtin`]).
    #[inline]
    pub fn at(mut self, span: Span) -> EvalError {
        if self.0.span.is_none() && !self.0.sealed {
            self.0.span = Some(span);
        }
        self.0.wants_context = false;
        self
    }

    /// The error keeps no position of its own: a frame says where it happened, as in the
    /// reference.
    pub fn unpositioned(mut self) -> EvalError {
        self.0.sealed = true;
        self
    }

    /// An error met while a builtin's check forced `value` (an integer, Boolean, string or
    /// function argument): any error, not only one of type, then gets the frame of the
    /// argument, as the reference's checks of those kinds add it (see
    /// `eval::builtin_failed`). The outermost check met on the way out is kept.
    #[cold]
    #[inline(never)]
    pub fn forcing(mut self, value: &crate::value::Value) -> EvalError {
        self.0.forcing = std::ptr::from_ref(value) as usize;
        self
    }

    /// The address [`EvalError::forcing`] kept, 0 if none.
    pub fn forced_value(&self) -> usize {
        self.0.forcing
    }

    /// An error whose frame the caller adds, with where it happened (see
    /// [`EvalError::context`]): a value that cannot be made a string.
    pub fn wanting_context(mut self) -> EvalError {
        self.0.wants_context = true;
        self
    }

    /// For an error that wants its caller's frame (made with
    /// [`EvalError::wanting_context`]), the frame `text` at `span` (if the caller has one),
    /// the error keeping no position of its own, as in the reference; for any other, the
    /// position `span` as [`EvalError::at`] sets it.
    pub fn context(mut self, span: Option<Span>, text: &str) -> EvalError {
        if !self.0.wants_context {
            return match span {
                Some(span) => self.at(span),
                None => self,
            };
        }
        self.0.sealed = true;
        for pending in std::mem::take(&mut self.0.pending) {
            self.0.trace.push(Frame { span, text: pending.to_string(), print: TracePrint::Default });
        }
        let text = self.0.context_text.take().unwrap_or(text).to_string();
        self.frame(span, text, TracePrint::Default)
    }

    /// For an error met coercing an element of a list to a string (`toString [ … ]`): the
    /// caller's frame is added whatever the error, as the reference adds it, after the
    /// frame of the element when the element itself could not be coerced.
    pub fn in_list_element(mut self) -> EvalError {
        if self.0.wants_context {
            let text = self.0.context_text.take().unwrap_or("while evaluating one element of the list");
            self.0.pending.push(text);
        }
        self.0.wants_context = true;
        self
    }

    /// The frame `text`, without position, whether or not the error wanted its caller's (see
    /// [`EvalError::context`]).
    pub fn framed(self, text: &str) -> EvalError {
        if self.0.wants_context {
            self.context(None, text)
        } else {
            self.note(None, text)
        }
    }

    /// For an error that wants its caller's frame, met coercing what a set's `__toString`
    /// returned: the frame, still at the caller's position, says so instead, as the
    /// reference's does (the innermost such result's, when they nest).
    pub fn in_to_string_result(mut self) -> EvalError {
        if self.0.wants_context && self.0.context_text.is_none() {
            self.0.context_text = Some("while evaluating the result of the `__toString` attribute");
        }
        self
    }

    /// Adds the names among `names` that `name` may have meant, as the reference picks
    /// them: at most five, none more than two edits away, the closest first (then by name).
    pub fn suggesting<'n>(mut self, name: &str, names: impl Iterator<Item = &'n str>) -> EvalError {
        let mut scored: Vec<(usize, &str)> =
            names.map(|candidate| (edit_distance(name, candidate), candidate)).collect();
        scored.sort_unstable();
        scored.dedup();
        self.0.suggestions =
            scored.into_iter().take_while(|(distance, _)| *distance <= 2).take(5).map(|(_, n)| n.to_string()).collect();
        self
    }

    /// The names the message may have meant, best first.
    pub fn suggestions(&self) -> &[String] {
        &self.0.suggestions
    }

    /// Adds a trace frame, shown as the reference shows its frames.
    pub fn note(self, span: Option<Span>, text: impl Into<String>) -> EvalError {
        self.frame(span, text.into(), TracePrint::Default)
    }

    /// Adds a trace frame that is always shown (`builtins.addErrorContext`).
    pub fn note_always(self, span: Option<Span>, text: impl Into<String>) -> EvalError {
        self.frame(span, text.into(), TracePrint::Always)
    }

    /// Adds a trace frame shown with `--show-trace` only.
    pub fn note_traced(self, span: Option<Span>, text: impl Into<String>) -> EvalError {
        self.frame(span, text.into(), TracePrint::WithShowTrace)
    }

    /// The frame of a call of the builtin `name` (at `span`, where it was called) that
    /// failed. An error raised inside it without a position keeps none, as in the
    /// reference: the frame shows where.
    pub fn in_builtin(mut self, name: &str, span: Option<Span>) -> EvalError {
        if self.0.span.is_none() {
            self.0.sealed = true;
        }
        self.frame(span, format!("while calling the '{name}' builtin"), TracePrint::Default)
    }

    fn frame(mut self, span: Option<Span>, text: String, print: TracePrint) -> EvalError {
        self.0.wants_context = false;
        self.0.trace.push(Frame { span, text, print });
        self
    }

    /// Whether `builtins.tryEval` catches this error.
    pub fn is_catchable(&self) -> bool {
        self.0.kind.is_catchable()
    }
}

impl From<ErrorKind> for EvalError {
    fn from(kind: ErrorKind) -> EvalError {
        EvalError::new(kind)
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.kind.fmt(f)
    }
}

impl std::error::Error for EvalError {}

/// How many single-byte insertions, deletions and substitutions turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, &x) in a.as_bytes().iter().enumerate() {
        current[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Result of evaluation steps.
pub type EvalResult<T> = Result<T, EvalError>;
