//! Version strings: `splitVersion`, `compareVersions` and `parseDrvName`, with the rules of
//! `nix-env -u`.
//!
//! A version is a sequence of components: maximal runs of ASCII digits, or maximal runs of
//! other characters that are neither digits nor the separators `.` and `-`. Components
//! compare numerically when both fit a 32-bit integer; `pre` sorts before anything else,
//! an empty component before a number, a word before a number, and words bytewise. The
//! work is done on bytes, as the reference does, so non-ASCII text is never split inside
//! a character (every boundary is next to an ASCII byte).
//!
//! This module also holds [`force_string_no_ctx`], the "string without context" argument
//! check that several builtin families share.

use super::force_string;
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::Span;
use crate::value::{Forces, NixString, PrimOp, Value};
use std::cmp::Ordering;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "splitVersion", arity: 1, func: builtin_split_version, forces: Forces::Nothing },
    PrimOp { name: "compareVersions", arity: 2, func: builtin_compare_versions, forces: Forces::Nothing },
    PrimOp { name: "parseDrvName", arity: 1, func: builtin_parse_drv_name, forces: Forces::Nothing },
];

/// Forces a string argument that must not refer to store paths, as the reference's
/// `forceStringNoCtx` does; `what` is the trace note ("while evaluating the first argument
/// passed to builtins.match").
pub(super) fn force_string_no_ctx(ev: &mut Evaluator, value: &Value, what: &str) -> EvalResult<NixString> {
    let text = force_string(ev, value).map_err(|e| e.note(None, what))?;
    if let Some(elem) = text.context().iter().next() {
        let shown = match elem.strip_prefix('!').and_then(|rest| rest.split_once('!')) {
            Some((output, drv)) => format!("{drv}^{output}"),
            None => elem.trim_start_matches('=').to_string(),
        };
        let message =
            format!("the string '{}' is not allowed to refer to a store path (such as '{shown}')", text.as_str());
        return Err(EvalError::msg(message).note(None, what));
    }
    Ok(text)
}

/// The next component of a version at or after byte `pos`, or `""` at the end.
fn next_component<'a>(version: &'a str, pos: &mut usize) -> &'a str {
    let bytes = version.as_bytes();
    while *pos < bytes.len() && matches!(bytes[*pos], b'.' | b'-') {
        *pos += 1;
    }
    let start = *pos;
    if start >= bytes.len() {
        return "";
    }
    if bytes[start].is_ascii_digit() {
        while *pos < bytes.len() && bytes[*pos].is_ascii_digit() {
            *pos += 1;
        }
    } else {
        while *pos < bytes.len() && !bytes[*pos].is_ascii_digit() && !matches!(bytes[*pos], b'.' | b'-') {
            *pos += 1;
        }
    }
    version.get(start..*pos).unwrap_or("")
}

/// All components of a version, as `splitVersion` lists them.
pub(crate) fn split_version(version: &str) -> Vec<&str> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < version.len() {
        let component = next_component(version, &mut pos);
        if component.is_empty() {
            break;
        }
        out.push(component);
    }
    out
}

/// Whether component `a` sorts before component `b`.
fn component_less(a: &str, b: &str) -> bool {
    let (na, nb) = (a.parse::<i32>().ok(), b.parse::<i32>().ok());
    match (na, nb) {
        (Some(x), Some(y)) => x < y,
        _ if a.is_empty() && nb.is_some() => true,
        _ if a == "pre" && b != "pre" => true,
        _ if b == "pre" => false,
        (_, Some(_)) => true,
        (Some(_), _) => false,
        _ => a < b,
    }
}

/// Compares two versions as `builtins.compareVersions` does.
pub(crate) fn compare_versions(v1: &str, v2: &str) -> Ordering {
    let (mut p1, mut p2) = (0, 0);
    while p1 < v1.len() || p2 < v2.len() {
        let c1 = next_component(v1, &mut p1);
        let c2 = next_component(v2, &mut p2);
        if component_less(c1, c2) {
            return Ordering::Less;
        }
        if component_less(c2, c1) {
            return Ordering::Greater;
        }
    }
    Ordering::Equal
}

/// Splits `name-version` at the first dash that is not followed by an ASCII letter.
pub(crate) fn parse_drv_name(full: &str) -> (&str, &str) {
    let bytes = full.as_bytes();
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'-' && bytes.get(i + 1).is_some_and(|next| !next.is_ascii_alphabetic()) {
            return (full.get(..i).unwrap_or(full), full.get(i + 1..).unwrap_or(""));
        }
    }
    (full, "")
}

fn builtin_split_version(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let what = "while evaluating the first argument passed to builtins.splitVersion";
    let version = force_string_no_ctx(ev, &args[0], what)?;
    let parts = split_version(version.as_str()).into_iter().map(Value::string).collect();
    Ok(Value::list(parts))
}

fn builtin_compare_versions(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let first = "while evaluating the first argument passed to builtins.compareVersions";
    let v1 = force_string_no_ctx(ev, &args[0], first)?;
    let second = "while evaluating the second argument passed to builtins.compareVersions";
    let v2 = force_string_no_ctx(ev, &args[1], second)?;
    let result = match compare_versions(v1.as_str(), v2.as_str()) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    };
    Ok(Value::Int(result))
}

fn builtin_parse_drv_name(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let what = "while evaluating the first argument passed to builtins.parseDrvName";
    let full = force_string_no_ctx(ev, &args[0], what)?;
    let (name, version) = parse_drv_name(full.as_str());
    Ok(super::make_attrs(vec![("name", Value::string(name)), ("version", Value::string(version))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_split_at_separators_and_digit_boundaries() {
        assert_eq!(split_version("1.2.3pre4-x..y--é9"), ["1", "2", "3", "pre", "4", "x", "y", "é", "9"]);
        assert!(split_version("..-").is_empty());
    }

    #[test]
    fn comparison_follows_nix_env_rules() {
        let cases = [
            ("1.0", "1.0.0", Ordering::Less),
            ("1.0pre", "1.0", Ordering::Less),
            ("2.3a", "2.3.1", Ordering::Less),
            ("99999999999", "1", Ordering::Less),
            ("a", "", Ordering::Greater),
            ("1.0", "1.0-", Ordering::Equal),
            ("1.10", "1.9", Ordering::Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn drv_names_split_at_first_dash_before_a_non_letter() {
        assert_eq!(parse_drv_name("apache-httpd-2.0.48"), ("apache-httpd", "2.0.48"));
        assert_eq!(parse_drv_name("foo-é1.2"), ("foo", "é1.2"));
        assert_eq!(parse_drv_name("foo-"), ("foo-", ""));
    }
}
