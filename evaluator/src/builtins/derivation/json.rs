//! The JSON of structured attributes (`__structuredAttrs = true`), rendered as Nix 2.34
//! writes it into the `__json` variable of a derivation: compact, object keys sorted by
//! bytes, floats in the shortest form that reads back to the same number (`1.0`, `1e+20`),
//! strings escaped only where JSON requires it.
//!
//! Values are converted as `printValueAsJSON` does with `copyToStore`: strings keep their
//! context (collected into the caller's set), paths are copied to the store, sets with
//! `__toString` or `outPath` become strings.

use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::value::{ContextElem, Value};
use std::collections::BTreeSet;

/// Renders `value` (forced deeply on the way) as JSON text, adding string contexts to
/// `context`.
pub(super) fn value_to_json(
    ev: &mut Evaluator,
    value: &Value,
    context: &mut BTreeSet<ContextElem>,
    out: &mut String,
) -> EvalResult<()> {
    let value = ev.force(value)?;
    match &value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => {
            context.extend(s.context().iter().cloned());
            write_string(out, s.as_str());
        }
        Value::Path(path) => {
            let copied = super::copy_path_to_store(ev, path)?;
            context.extend(copied.context().iter().cloned());
            write_string(out, copied.as_str());
        }
        Value::Attrs(attrs) => {
            if let Some(to_string) = attrs.get(ev.sym.to_string).cloned() {
                let result = ev.call(to_string, std::slice::from_ref(&value), None)?;
                let text = crate::ops::coerce_to_string(ev, &result, crate::ops::Coerce::PathPart)
                    .map_err(|e| e.note(None, "while evaluating the result of the `__toString` attribute"))?;
                context.extend(text.context().iter().cloned());
                write_string(out, text.as_str());
                return Ok(());
            }
            if let Some(out_path) = attrs.get(ev.sym.out_path).cloned() {
                return value_to_json(ev, &out_path, context, out);
            }
            let mut entries: Vec<_> = attrs.iter().collect();
            entries.sort_by(|a, b| a.name.as_str().as_bytes().cmp(b.name.as_str().as_bytes()));
            out.push('{');
            for (idx, attr) in entries.into_iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_string(out, attr.name.as_str());
                out.push(':');
                value_to_json(ev, &attr.value, context, out).map_err(|e| {
                    e.note(
                        attr.pos.span(),
                        format!("while evaluating attribute '{}'", crate::print::shown_attr_name(attr.name.as_str())),
                    )
                })?;
            }
            out.push('}');
        }
        Value::List(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                value_to_json(ev, item, context, out)
                    .map_err(|e| e.note(None, format!("while evaluating list element at index {idx}")))?;
            }
            out.push(']');
        }
        Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) | Value::Thunk(_) => {
            return Err(EvalError::msg(format!("cannot convert {} to JSON", value.type_with_article())));
        }
    }
    Ok(())
}

/// Appends `text` as a JSON string: `"` and `\` escaped, control characters as the short
/// escapes or `\u00xx`, everything else (non-ASCII included) as is.
pub(super) fn write_string(out: &mut String, text: &str) {
    crate::builtins::json::escape_json_into(out, text);
}

/// A float as JSON: the shortest digits that read back to `value`, laid out with a decimal
/// point when the exponent is small and as `d.ddde+XX` otherwise; non-finite numbers are
/// `null`.
pub(super) fn format_float(value: f64) -> String {
    crate::builtins::json::format_json_float(value)
}

/// Re-renders JSON text (a `__json` attribute) the way Nix does after parsing it.
pub(super) fn normalize(text: &str) -> EvalResult<String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| EvalError::msg(format!("cannot process __json attribute: {e}")))?;
    let mut out = String::new();
    write_json(&mut out, &value);
    Ok(out)
}

fn write_json(out: &mut String, value: &serde_json::Value) {
    match value {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(f)) => out.push_str(&format_float(f)),
            _ => out.push_str("null"),
        },
        serde_json::Value::String(s) => write_string(out, s),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (idx, (key, item)) in entries.into_iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn floats_like_nix() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(-2.25), "-2.25");
        assert_eq!(format_float(1e20), "1e+20");
        assert_eq!(format_float(1.5e-7), "1.5e-07");
        assert_eq!(format_float(123456.0), "123456.0");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(1e14), "100000000000000.0");
        assert_eq!(format_float(1e15), "1e+15");
        assert_eq!(format_float(1e16), "1e+16");
    }
}
