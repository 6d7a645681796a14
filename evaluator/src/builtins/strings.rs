//! Builtins on strings: length, substrings, joining, replacing, `toString`, and the
//! path-like string helpers `baseNameOf` and `dirOf`. Offsets and lengths are in bytes, as
//! in Nix.

use super::{coerce_string, force_int, force_list, force_string};
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::ops::{coerce_to_string, Coerce};
use crate::source::Span;
use crate::value::{Forces, NixString, PrimOp, Value};
use std::collections::BTreeSet;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "stringLength", arity: 1, func: builtin_string_length, forces: Forces::Nothing },
    PrimOp { name: "substring", arity: 3, func: builtin_substring, forces: Forces::Nothing },
    PrimOp { name: "concatStringsSep", arity: 2, func: builtin_concat_strings_sep, forces: Forces::First },
    PrimOp { name: "replaceStrings", arity: 3, func: builtin_replace_strings, forces: Forces::Nothing },
    PrimOp { name: "toString", arity: 1, func: builtin_to_string, forces: Forces::First },
    PrimOp { name: "baseNameOf", arity: 1, func: builtin_base_name_of, forces: Forces::First },
    PrimOp { name: "dirOf", arity: 1, func: builtin_dir_of, forces: Forces::First },
];

/// Where `toString` is in [`PRIMOPS`].
const TO_STRING_AT: usize = 4;

/// Whether `op` is `toString` (one comparison of addresses: builtins live in these tables).
#[inline]
pub(crate) fn is_to_string(op: &PrimOp) -> bool {
    std::ptr::eq(op, &PRIMOPS[TO_STRING_AT])
}

fn builtin_string_length(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let text = coerce_string(ev, &args[0])?;
    Ok(Value::Int(text.as_str().len() as i64))
}

/// Byte-based slicing that never splits inside a character.
fn byte_slice(text: &str, start: usize, end: usize) -> std::borrow::Cow<'_, str> {
    let end = end.min(text.len());
    let start = start.min(end);
    match text.get(start..end) {
        Some(slice) => std::borrow::Cow::Borrowed(slice),
        None => String::from_utf8_lossy(&text.as_bytes()[start..end]),
    }
}

fn builtin_substring(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let start = force_int(ev, &args[0])?;
    // A negative start is rejected before the length is forced, as the reference does.
    if start < 0 {
        return Err(EvalError::msg("negative start position in 'substring'"));
    }
    let length = force_int(ev, &args[1])?;
    let text = coerce_string(ev, &args[2])?;
    let start = start as usize;
    let len = text.as_str().len();
    let end = if length < 0 { len } else { start.saturating_add(length as usize).min(len) };
    if start == 0 && end == len {
        // The whole string: the same text and context, without a copy.
        return Ok(Value::String(text));
    }
    let context = text.has_context().then(|| Box::new(text.context().clone()));
    let slice = byte_slice(text.as_str(), start, end);
    Ok(Value::String(NixString::from_pieces(std::iter::once(&*slice), context)))
}

fn builtin_concat_strings_sep(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let separator = force_string(ev, &args[0])?;
    let items = force_list(ev, &args[1])?;
    let mut context: BTreeSet<Box<str>> = separator.context().clone();
    // Items that are strings are read again from the list when the text is written; only
    // the others (paths, sets with `outPath`, …) keep their coerced text until then, so a
    // long list of strings costs no second list.
    let mut coerced = Vec::new();
    let mut len = separator.as_str().len().saturating_mul(items.len().saturating_sub(1));
    for (idx, item) in items.iter().enumerate() {
        let piece = coerce_string(ev, item).map_err(|e| {
            e.context(
                None,
                "while evaluating one element of the list of strings to concat passed to builtins.concatStringsSep",
            )
        })?;
        context.extend(piece.context().iter().cloned());
        len = len.saturating_add(piece.as_str().len());
        if string_item(item).is_none() {
            coerced.push((idx, piece));
        }
    }
    // The text is written once into a block of its exact size: no growing buffer and no
    // copy of it, which for long lists halves the peak memory of the join.
    let context = (!context.is_empty()).then(|| Box::new(context));
    let text = NixString::build(len, context, |text| {
        let mut coerced = coerced.iter().peekable();
        for (idx, item) in items.iter().enumerate() {
            if idx > 0 {
                text.push(separator.as_str());
            }
            // Nothing was evaluated since the first pass: an item is a string in both or
            // in neither.
            match string_item(item) {
                Some(piece) => text.push(piece.as_str()),
                None => {
                    if let Some((_, piece)) = coerced.next_if(|(at, _)| *at == idx) {
                        text.push(piece.as_str());
                    }
                }
            }
        }
    });
    Ok(Value::String(text))
}

/// A list item that is a string, or a finished thunk holding one.
fn string_item(item: &Value) -> Option<NixString> {
    match item {
        Value::String(text) => Some(text.clone()),
        Value::Thunk(thunk) => match thunk.value_if_done() {
            Some(Value::String(text)) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

fn builtin_replace_strings(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let from = force_list(ev, &args[0])?;
    let to = force_list(ev, &args[1])?;
    if from.len() != to.len() {
        return Err(EvalError::msg(
            "'from' and 'to' arguments passed to builtins.replaceStrings have different lengths",
        ));
    }
    let mut patterns = Vec::with_capacity(from.len());
    for pattern in from.iter() {
        patterns.push(force_string(ev, pattern).map_err(|e| {
            e.note(None, "while evaluating one of the strings to replace passed to builtins.replaceStrings")
        })?);
    }
    let mut replacements: Vec<Option<NixString>> = vec![None; to.len()];
    let text = force_string(ev, &args[2])?;
    let input = text.as_str();
    let mut out = String::with_capacity(input.len());
    let mut context = text.context().clone();
    let mut pos = 0;
    while pos <= input.len() {
        let mut matched = false;
        for (idx, pattern) in patterns.iter().enumerate() {
            let pattern = pattern.as_str();
            if input[pos..].starts_with(pattern) {
                if replacements[idx].is_none() {
                    replacements[idx] = Some(force_string(ev, &to[idx]).map_err(|e| {
                        e.note(
                            None,
                            "while evaluating one of the replacement strings passed to builtins.replaceStrings",
                        )
                    })?);
                }
                let Some(replacement) = &replacements[idx] else { continue };
                out.push_str(replacement.as_str());
                context.extend(replacement.context().iter().cloned());
                if pattern.is_empty() {
                    if let Some(c) = input[pos..].chars().next() {
                        out.push(c);
                        pos += c.len_utf8();
                    } else {
                        pos += 1;
                    }
                } else {
                    pos += pattern.len();
                }
                matched = true;
                break;
            }
        }
        if !matched {
            match input[pos..].chars().next() {
                Some(c) => {
                    out.push(c);
                    pos += c.len_utf8();
                }
                None => break,
            }
        }
    }
    Ok(Value::String(NixString::with_context(&out, context)))
}

/// The frame of an argument of `toString` that cannot be made a string.
pub(crate) const TO_STRING_ARG: &str = "while evaluating the first argument passed to builtins.toString";

fn builtin_to_string(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    Ok(Value::String(coerce_to_string(ev, &args[0], Coerce::ToString).map_err(|e| e.context(None, TO_STRING_ARG))?))
}

fn builtin_base_name_of(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let value = ev.force(&args[0])?;
    let text = match &value {
        Value::Path(path) => NixString::new(path.as_str()),
        _ => coerce_to_string(ev, &value, Coerce::PathPart)?,
    };
    let base = crate::paths::base_name_of(text.as_str());
    Ok(Value::String(NixString::with_context(base, text.context().clone())))
}

fn builtin_dir_of(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let value = ev.force(&args[0])?;
    match &value {
        Value::Path(path) => Ok(Value::Path(std::rc::Rc::new(crate::paths::dir_of(path).to_string()))),
        _ => {
            let text = coerce_to_string(ev, &value, Coerce::PathPart)?;
            let dir = crate::paths::dir_of(text.as_str());
            Ok(Value::String(NixString::with_context(dir, text.context().clone())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_string_is_found_where_its_index_says() {
        assert_eq!(PRIMOPS[TO_STRING_AT].name, "toString");
        assert!(is_to_string(&PRIMOPS[TO_STRING_AT]));
        assert!(PRIMOPS.iter().filter(|op| is_to_string(op)).count() == 1);
    }
}
