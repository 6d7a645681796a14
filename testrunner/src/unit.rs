//! Unit tests in the style of nix-unit: a set `{ testName = { expr; expected; }; }` whose
//! tests may sit in nested groups. A set with both `expr` and `expected` is a test, any other
//! set is a group, anything else is ignored; a test's name is its attribute path below the
//! tests' set. A test passes when `expr == expected` by Nix's own equality (the evaluator's,
//! not a copy of it), after both values were forced deeply.
//!
//! [`discover`] lists the tests under a value, [`run`] runs one and returns a [`UnitOutcome`]:
//! pass, fail (both values printed as Nix expressions, and a line diff of their multi-line
//! renderings) or error (the evaluation error in short, with its position). Every outcome
//! carries a content key, a blake3 hash of the canonical rendering of both values, so that a
//! caller can tell whether a test's expression or expected value changed between revisions.
//!
//! ```
//! use nxe_evaluator::{EvalRequest, Evaluation};
//! let mut evaluation = Evaluation::new(Default::default());
//! let tests = evaluation
//!     .values(&EvalRequest::expression("{ math.testAdd = { expr = 1 + 1; expected = 2; }; }"))
//!     .expect("evaluates")
//!     .remove(0);
//! let paths = nxe_testrunner::unit::discover(&mut evaluation, &tests).expect("a set");
//! assert_eq!(paths, vec![vec!["math".to_string(), "testAdd".to_string()]]);
//! let outcome = nxe_testrunner::unit::run(&mut evaluation, &tests, &paths[0]);
//! assert!(outcome.result.is_pass());
//! ```

use nxe_evaluator::print::{print_attr_name, print_value};
use nxe_evaluator::source::{SourceMap, Span};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::value::Attrs;
use nxe_evaluator::{diagnostics, EvalError, EvalResult, Evaluation, Value};
use std::fmt::Write;

/// A test's attribute path below the tests' set.
pub type TestPath = Vec<String>;

/// What running one unit test gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitOutcome {
    /// The test's attribute path.
    pub path: TestPath,
    /// The path as one name, dotted and quoted where needed (`hosts.web."a.b"`).
    pub name: String,
    /// Where the test is defined (`FILE:LINE:COL` of its attribute), when known.
    pub position: Option<String>,
    /// Pass, fail or error.
    pub result: UnitResult,
    /// A blake3 hash (hex) of the canonical renderings of the expected and actual values, or,
    /// when they could not be computed, of the error; equal keys mean an unchanged test.
    pub content_key: String,
}

/// The verdict of a unit test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitResult {
    /// `expr == expected`.
    Pass,
    /// The values differ.
    Fail(Mismatch),
    /// The test could not be evaluated: the error in short (`message at FILE:LINE:COL`).
    Error(String),
}

impl UnitResult {
    /// Whether the test passed.
    pub fn is_pass(&self) -> bool {
        matches!(self, UnitResult::Pass)
    }

    /// A one-paragraph reason for a report: `None` for a pass.
    pub fn reason(&self) -> Option<String> {
        match self {
            UnitResult::Pass => None,
            UnitResult::Fail(mismatch) => {
                Some(format!("expected {}\nbut got  {}\n{}", mismatch.expected, mismatch.actual, mismatch.diff))
            }
            UnitResult::Error(message) => Some(message.clone()),
        }
    }
}

/// The two values of a failed test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The expected value on one line, as a Nix expression.
    pub expected: String,
    /// The actual value on one line, as a Nix expression.
    pub actual: String,
    /// A line diff of the multi-line renderings: `- ` lines only in the expected value, `+ `
    /// lines only in the actual one, two spaces before common lines.
    pub diff: String,
}

/// Every test under `tests`, sorted by attribute path. A group that fails to evaluate is
/// listed as a test of its own, so that running it reports the error; only a failure of
/// `tests` itself, or `tests` not being a set, is an error here.
pub fn discover(evaluation: &mut Evaluation, tests: &Value) -> EvalResult<Vec<TestPath>> {
    nxe_engine::units::discover_tests(evaluation, tests)
}

/// Runs the test at `path` below `tests`: forces `expr` and `expected` deeply and compares
/// them with Nix's `==`.
pub fn run(evaluation: &mut Evaluation, tests: &Value, path: &[String]) -> UnitOutcome {
    let name = nxe_engine::config::join_attr_path(path);
    let mut position = None;
    let evaluated = locate(evaluation, tests, path).and_then(|(test, span)| {
        position = span
            .and_then(|span| SourceMap::global().location(span))
            .map(|l| format!("{}:{}:{}", l.file, l.line, l.column));
        evaluate_test(evaluation, &test)
    });
    let (result, content_key) = match evaluated {
        Ok((expected, actual)) => {
            let expected_text = canonical(&expected);
            let actual_text = canonical(&actual);
            let key = content_key(&[("expected", &expected_text), ("actual", &actual_text)]);
            let equal = nxe_evaluator::ops::equal(evaluation.evaluator(), &actual, &expected);
            let result = match equal {
                Ok(true) => UnitResult::Pass,
                Ok(false) => UnitResult::Fail(Mismatch {
                    diff: line_diff(&pretty(&expected), &pretty(&actual)),
                    expected: expected_text,
                    actual: actual_text,
                }),
                Err(error) => UnitResult::Error(diagnostics::summary(&error)),
            };
            (result, key)
        }
        Err(error) => {
            let message = diagnostics::summary(&error);
            let key = content_key(&[("error", &message)]);
            (UnitResult::Error(message), key)
        }
    };
    UnitOutcome { path: path.to_vec(), name, position, result, content_key }
}

/// Discovers and runs every test under `tests`, in order.
pub fn run_all(evaluation: &mut Evaluation, tests: &Value) -> EvalResult<Vec<UnitOutcome>> {
    let paths = discover(evaluation, tests)?;
    Ok(paths.iter().map(|path| run(evaluation, tests, path)).collect())
}

/// The test at `path` below `tests`, forced, with the position of its attribute.
fn locate(evaluation: &mut Evaluation, tests: &Value, path: &[String]) -> EvalResult<(Value, Option<Span>)> {
    let ev = evaluation.evaluator();
    let mut value = ev.force(tests)?;
    let mut span = None;
    for (depth, name) in path.iter().enumerate() {
        let found = match &value {
            Value::Attrs(attrs) => attrs.get_entry(Symbol::intern(name)).cloned(),
            _ => None,
        };
        let Some(found) = found else {
            let shown = nxe_engine::config::join_attr_path(&path[..=depth]);
            return Err(EvalError::msg(format!("the unit test '{shown}' does not exist")));
        };
        span = found.pos.span();
        value = ev.force(&found.value)?;
    }
    Ok((value, span))
}

/// A test's `expected` and `expr`, forced deeply.
fn evaluate_test(evaluation: &mut Evaluation, test: &Value) -> EvalResult<(Value, Value)> {
    let ev = evaluation.evaluator();
    let syms = TestSyms::new();
    let Value::Attrs(test) = test else {
        return Err(EvalError::msg(format!("a unit test is {} while a set was expected", test.type_with_article())));
    };
    let (Some(expr), Some(expected)) = (test.get(syms.expr).cloned(), test.get(syms.expected).cloned()) else {
        return Err(EvalError::msg("a unit test needs both 'expr' and 'expected'"));
    };
    let actual = ev.force_deep(&expr).map_err(|e| e.note(None, "while evaluating the test's expr"))?;
    let expected = ev.force_deep(&expected).map_err(|e| e.note(None, "while evaluating the test's expected value"))?;
    Ok((expected, actual))
}

/// The names a test is recognised by.
struct TestSyms {
    expr: Symbol,
    expected: Symbol,
}

impl TestSyms {
    fn new() -> TestSyms {
        TestSyms { expr: Symbol::intern("expr"), expected: Symbol::intern("expected") }
    }
}

/// The canonical one-line rendering of a deeply forced value: Nix syntax with sorted
/// attributes, as `nix-instantiate --eval --strict` prints it.
pub fn canonical(value: &Value) -> String {
    print_value(value)
}

/// A blake3 hash of labelled texts; every part is length-prefixed so that no two different
/// lists of parts hash alike.
fn content_key(parts: &[(&str, &str)]) -> String {
    let mut hasher = blake3::Hasher::new();
    for (label, text) in parts {
        hasher.update(&(label.len() as u64).to_le_bytes());
        hasher.update(label.as_bytes());
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// A multi-line rendering of a deeply forced value, two spaces per level: sets and lists with
/// one member per line, everything else as `print_value` shows it.
pub fn pretty(value: &Value) -> String {
    let mut out = String::new();
    let mut seen = Vec::new();
    pretty_into(&mut out, value, 0, &mut seen);
    out
}

fn pretty_into(out: &mut String, value: &Value, indent: usize, seen: &mut Vec<usize>) {
    let value = match value {
        Value::Thunk(thunk) => match thunk.value_if_done() {
            Some(inner) => inner,
            None => return out.push_str("<CODE>"),
        },
        other => other.clone(),
    };
    let pad = "  ".repeat(indent + 1);
    match &value {
        Value::Attrs(attrs) if !attrs.is_empty() => {
            let identity = Attrs::as_ptr(attrs) as usize;
            if seen.contains(&identity) {
                return out.push_str("«repeated»");
            }
            seen.push(identity);
            out.push_str("{\n");
            for attr in attrs.iter() {
                out.push_str(&pad);
                print_attr_name(out, attr.name.as_str());
                out.push_str(" = ");
                pretty_into(out, &attr.value, indent + 1, seen);
                out.push_str(";\n");
            }
            let _ = write!(out, "{}}}", "  ".repeat(indent));
            seen.pop();
        }
        Value::List(items) if !items.is_empty() => {
            out.push_str("[\n");
            for item in items.iter() {
                out.push_str(&pad);
                pretty_into(out, item, indent + 1, seen);
                out.push('\n');
            }
            let _ = write!(out, "{}]", "  ".repeat(indent));
        }
        other => out.push_str(&print_value(other)),
    }
}

/// Beyond this many cells the diff's table would cost too much; the texts are then shown
/// whole, one removed and one added.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A line diff of two texts (longest common subsequence of lines): `- ` for lines only in
/// `old`, `+ ` for lines only in `new`, two spaces for common ones; every line ends in `\n`.
pub fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let mut out = String::new();
    if (old.len() + 1).saturating_mul(new.len() + 1) > MAX_DIFF_CELLS {
        old.iter().for_each(|line| {
            let _ = writeln!(out, "- {line}");
        });
        new.iter().for_each(|line| {
            let _ = writeln!(out, "+ {line}");
        });
        return out;
    }
    // common[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let width = new.len() + 1;
    let mut common = vec![0u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i * width + j] = if old[i] == new[j] {
                common[(i + 1) * width + j + 1] + 1
            } else {
                common[(i + 1) * width + j].max(common[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            let _ = writeln!(out, "  {}", old[i]);
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || common[(i + 1) * width + j] >= common[i * width + j + 1]) {
            let _ = writeln!(out, "- {}", old[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", new[j]);
            j += 1;
        }
    }
    out
}
