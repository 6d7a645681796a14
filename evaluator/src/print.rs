//! Printing values as `nix-instantiate --eval` does, and short renderings for messages.
//!
//! Unevaluated thunks print as `<CODE>`, functions as `<LAMBDA>`, builtins as `<PRIMOP>` and
//! `<PRIMOP-APP>`; a set or list met a second time prints as `«repeated»`. Floats use the
//! C++ stream default (six significant digits, `%g`), which is what the reference prints.

use crate::value::{Attrs, Value};
use rustc_hash::FxHashSet;
use std::fmt::Write;

/// Prints a value the way `nix-instantiate --eval` prints it, without forcing anything.
pub fn print_value(value: &Value) -> String {
    let mut out = String::new();
    let mut seen = FxHashSet::default();
    print_into(&mut out, value, &mut seen, None);
    out
}

/// Prints a value; `cell` is the thunk it was reached through. The reference tracks lists
/// by the value cell that holds them, not by their storage, so a list is `«repeated»` only
/// when reached again through the same cell (see eval-okay-print-list-cycle.nix).
fn print_into(out: &mut String, value: &Value, seen: &mut FxHashSet<usize>, cell: Option<usize>) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => escape_string_into(out, s.as_str()),
        Value::Path(p) => out.push_str(p),
        Value::Attrs(attrs) => {
            if !attrs.is_empty() && !seen.insert(Attrs::as_ptr(attrs) as usize) {
                out.push_str("«repeated»");
                return;
            }
            print_attrs(out, attrs, seen);
        }
        Value::List(items) => {
            if let Some(identity) = cell.filter(|_| !items.is_empty()) {
                if !seen.insert(identity) {
                    out.push_str("«repeated»");
                    return;
                }
            }
            out.push('[');
            for item in items.iter() {
                out.push(' ');
                print_into(out, item, seen, None);
            }
            out.push_str(" ]");
        }
        Value::Lambda(_) => out.push_str("<LAMBDA>"),
        Value::PrimOp(_) => out.push_str("<PRIMOP>"),
        Value::PrimOpApp(_) => out.push_str("<PRIMOP-APP>"),
        Value::Thunk(thunk) => match thunk.0.done() {
            Some(inner) => {
                print_into(out, &inner, seen, Some(crate::value::Shared::as_ptr(&thunk.0) as *const u8 as usize))
            }
            None => out.push_str("<CODE>"),
        },
    }
}

fn print_attrs(out: &mut String, attrs: &Attrs, seen: &mut FxHashSet<usize>) {
    out.push('{');
    for attr in attrs.iter() {
        out.push(' ');
        print_attr_name(out, attr.name.as_str());
        out.push_str(" = ");
        print_into(out, &attr.value, seen, None);
        out.push(';');
    }
    out.push_str(" }");
}

/// An attribute name as messages show it: quoted unless it is a plain identifier.
pub fn shown_attr_name(name: &str) -> String {
    let mut shown = String::new();
    print_attr_name(&mut shown, name);
    shown
}

/// Prints an attribute name, quoting it unless it is a plain identifier.
pub fn print_attr_name(out: &mut String, name: &str) {
    if is_plain_identifier(name) {
        out.push_str(name);
    } else {
        escape_string_into(out, name);
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else { return false };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '\'' || c == '-') {
        return false;
    }
    !matches!(name, "if" | "then" | "else" | "assert" | "with" | "let" | "in" | "rec" | "inherit" | "or")
}

/// Writes a string literal with Nix's escapes.
pub fn escape_string_into(out: &mut String, text: &str) {
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Formats a float like C++'s default stream output (`%g` with six significant digits).
pub fn format_float(value: f64) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    const PRECISION: i32 = 6;
    let formatted = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..PRECISION).contains(&exponent) {
        let mantissa = strip_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (PRECISION - 1 - exponent).max(0) as usize;
        strip_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn strip_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// "an integer: 1", as used in type errors.
pub fn describe(value: &Value) -> String {
    format!("{}: {}", value.type_with_article(), short(value))
}

/// A short rendering for messages: nothing is forced, thunks print as `«thunk»` (one
/// being evaluated as `«potential infinite recursion»`), and a set or list met again as
/// `«repeated»`, as in the reference.
pub fn short(value: &Value) -> String {
    let mut out = String::new();
    let mut short = Short { seen: FxHashSet::default(), attrs: 0, items: 0 };
    short_into(&mut out, value, 0, &mut short, None);
    out
}

/// The state of one [`short`] rendering: what it met, and how many attributes and list
/// items it printed in all (the reference's budgets are for the whole value, not per set).
struct Short {
    seen: FxHashSet<usize>,
    attrs: usize,
    items: usize,
}

/// The limits of [`short`], the reference's for values in messages: nesting, and attributes
/// and list items printed in all.
const SHORT_DEPTH: usize = 10;
const SHORT_ATTRS: usize = 10;
const SHORT_ITEMS: usize = 10;

/// `« N attributes elided»`, singular for one.
fn elided(out: &mut String, count: usize, one: &str, many: &str) {
    let _ = write!(out, " «{count} {} elided»", if count == 1 { one } else { many });
}

fn short_into(out: &mut String, value: &Value, depth: usize, short: &mut Short, cell: Option<usize>) {
    match value {
        Value::Attrs(attrs) => {
            if !attrs.is_empty() && !short.seen.insert(Attrs::as_ptr(attrs) as usize) {
                out.push_str("«repeated»");
                return;
            }
            if depth >= SHORT_DEPTH {
                out.push_str("{ ... }");
                return;
            }
            // `type` and `_type` first, as the reference shows them when it may elide.
            let mut sorted: Vec<&crate::value::Attr> = attrs.iter().collect();
            sorted.sort_by_key(|attr| {
                let name = attr.name.as_str();
                (!matches!(name, "type" | "_type"), name.as_bytes())
            });
            out.push('{');
            for (printed, attr) in sorted.iter().enumerate() {
                if short.attrs >= SHORT_ATTRS {
                    elided(out, sorted.len() - printed, "attribute", "attributes");
                    break;
                }
                out.push(' ');
                print_attr_name(out, attr.name.as_str());
                out.push_str(" = ");
                short_into(out, &attr.value, depth + 1, short, None);
                out.push(';');
                short.attrs += 1;
            }
            out.push_str(" }");
        }
        Value::List(items) => {
            if let Some(identity) = cell.filter(|_| !items.is_empty()) {
                if !short.seen.insert(identity) {
                    out.push_str("«repeated»");
                    return;
                }
            }
            if depth >= SHORT_DEPTH {
                out.push_str("[ ... ]");
                return;
            }
            out.push('[');
            for (printed, item) in items.iter().enumerate() {
                if short.items >= SHORT_ITEMS {
                    elided(out, items.len() - printed, "item", "items");
                    break;
                }
                out.push(' ');
                short_into(out, item, depth + 1, short, None);
                short.items += 1;
            }
            out.push_str(" ]");
        }
        Value::Lambda(closure) => {
            let location = crate::source::SourceMap::global().location(closure.def.span);
            let name = closure.def.name.map_or(String::new(), |n| format!(" {n}"));
            match location {
                Some(l) => {
                    let _ = write!(out, "«lambda{name} @ {}:{}:{}»", l.file, l.line, l.column);
                }
                None => {
                    let _ = write!(out, "«lambda{name}»");
                }
            }
        }
        Value::PrimOp(op) => {
            let _ = write!(out, "«primop {}»", op.name);
        }
        Value::PrimOpApp(app) => {
            let _ = write!(out, "«partially applied primop {}»", app.op.name);
        }
        Value::Thunk(thunk) => match thunk.0.done() {
            Some(inner) => {
                let cell = crate::value::Shared::as_ptr(&thunk.0) as *const u8 as usize;
                short_into(out, &inner, depth, short, Some(cell));
            }
            None if thunk.0.is_blackhole() => out.push_str("«potential infinite recursion»"),
            None => out.push_str("«thunk»"),
        },
        other => {
            let mut seen = FxHashSet::default();
            print_into(out, other, &mut seen, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn floats_print_like_the_cpp_stream_default() {
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(1e20), "1e+20");
        assert_eq!(format_float(123456789.0), "1.23457e+08");
        assert_eq!(format_float(1.5e-7), "1.5e-07");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(1000000.0), "1e+06");
        assert_eq!(format_float(-2.5), "-2.5");
    }
}
