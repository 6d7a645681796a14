//! Evaluation errors.
//!
//! An [`EvalError`] is one boxed allocation so that `Result<Value, EvalError>` stays two
//! words on the hot path. Errors are created without a position deep inside builtins and get
//! the span of the innermost expression that was being evaluated as they travel up; every
//! call frame they cross adds a trace note, shown by `--show-trace`.
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

/// The contents of an [`EvalError`].
#[derive(Debug, Clone)]
pub struct ErrorInner {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where, when known.
    pub span: Option<Span>,
    /// Context notes, innermost first: a description and where it applied.
    pub trace: Vec<(Option<Span>, String)>,
}

impl EvalError {
    /// A new error without position.
    pub fn new(kind: ErrorKind) -> EvalError {
        EvalError(Box::new(ErrorInner { kind, span: None, trace: Vec::new() }))
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

    /// Trace notes, innermost first.
    pub fn trace(&self) -> &[(Option<Span>, String)] {
        &self.0.trace
    }

    /// Replaces the message of a failed assertion with an explanation.
    pub fn with_message(mut self, reason: String) -> EvalError {
        if let ErrorKind::AssertionFailed(text) = &self.0.kind {
            self.0.kind = ErrorKind::AssertionExplained(text.clone(), reason);
        }
        self
    }

    /// Sets the position unless one is already known.
    #[inline]
    pub fn at(mut self, span: Span) -> EvalError {
        if self.0.span.is_none() {
            self.0.span = Some(span);
        }
        self
    }

    /// Adds a trace note.
    pub fn note(mut self, span: Option<Span>, text: impl Into<String>) -> EvalError {
        if self.0.trace.len() < 64 {
            self.0.trace.push((span, text.into()));
        }
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

/// Result of evaluation steps.
pub type EvalResult<T> = Result<T, EvalError>;
