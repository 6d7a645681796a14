//! Operators and coercions: arithmetic with Nix's overflow rules, string and path
//! concatenation, equality, ordering, and coercion to strings.
//!
//! These are shared by the interpreter's binary operators and by builtins such as `add`,
//! `lessThan`, `toString` and `sort`, so that both agree on every type pair.

use crate::error::{EvalError, EvalResult};
use crate::eval::{type_error, Evaluator};
use crate::ir::{BinOp, OperatorStarts};
use crate::paths::canonicalize;
use crate::source::Span;
use crate::value::{Attrs, NixString, Value};
use std::cmp::Ordering;
use std::rc::Rc;

/// How a value is being turned into a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coerce {
    /// `"${x}"` and `+` on strings: strings, paths (copied to the store), sets with
    /// `__toString` or `outPath`.
    Interpolation,
    /// An interpolation inside a path literal: like `Interpolation` but paths are not copied.
    PathPart,
    /// `toString`: also integers, floats, Booleans, null and lists; paths are not copied.
    ToString,
}

/// Evaluates a binary operator on two forced operands (not `&&`, `||`, `->`).
pub fn binary(evaluator: &mut Evaluator, op: BinOp, left: Value, right: Value) -> EvalResult<Value> {
    match op {
        BinOp::Add => add(evaluator, left, right),
        BinOp::Sub | BinOp::Mul | BinOp::Div => arith(evaluator, op, left, right),
        BinOp::Eq => Ok(Value::Bool(equal(evaluator, &left, &right)?)),
        BinOp::NotEq => Ok(Value::Bool(!equal(evaluator, &left, &right)?)),
        BinOp::Less => Ok(Value::Bool(compare(evaluator, &left, &right)? == Ordering::Less)),
        BinOp::LessEq => Ok(Value::Bool(compare(evaluator, &right, &left)? != Ordering::Less)),
        BinOp::Greater => Ok(Value::Bool(compare(evaluator, &right, &left)? == Ordering::Less)),
        BinOp::GreaterEq => Ok(Value::Bool(compare(evaluator, &left, &right)? != Ordering::Less)),
        BinOp::Update => match (&left, &right) {
            (Value::Attrs(a), Value::Attrs(b)) => {
                if b.is_empty() {
                    Ok(left.clone())
                } else if a.is_empty() {
                    Ok(right.clone())
                } else {
                    Ok(Value::attrs(Attrs::update_shared(a, b)))
                }
            }
            // The right operand is checked first, as the reference does.
            (other, Value::Attrs(_)) | (_, other) => Err(type_error("a set", other)),
        },
        BinOp::Concat => match (&left, &right) {
            (Value::List(a), Value::List(b)) => {
                if b.is_empty() {
                    return Ok(left.clone());
                }
                if a.is_empty() {
                    return Ok(right.clone());
                }
                let mut items = Vec::with_capacity(a.len() + b.len());
                items.extend(a.iter().cloned());
                items.extend(b.iter().cloned());
                Ok(Value::list(items))
            }
            (Value::List(_), other) | (other, _) => Err(type_error("a list", other)),
        },
        BinOp::And | BinOp::Or | BinOp::Impl => {
            Err(EvalError::msg("internal error: short-circuit operator in binary()"))
        }
    }
}

fn add(evaluator: &mut Evaluator, left: Value, right: Value) -> EvalResult<Value> {
    add_parts(evaluator, left, right).map_err(|(error, _)| error)
}

/// `+` in code: its errors are reported where the reference reports them, at the operand
/// that failed, or at the operator for a path that cannot take the string after it.
pub fn add_at(
    evaluator: &mut Evaluator,
    left: Value,
    right: Value,
    span: Span,
    starts: OperatorStarts,
) -> EvalResult<Value> {
    add_parts(evaluator, left, right).map_err(|(error, part)| {
        let start = match part {
            Part::Left => span.start,
            Part::Operator => starts.op,
            Part::Right => starts.rhs,
        };
        error.context(Some(Span { file: span.file, start }), PATH_SEGMENT)
    })
}

/// Which part of `a + b` an error of `+` is about.
enum Part {
    Left,
    Operator,
    Right,
}

fn add_parts(evaluator: &mut Evaluator, left: Value, right: Value) -> Result<Value, (EvalError, Part)> {
    let on = |part: Part| move |error: EvalError| (error, part);
    match (&left, &right) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            arith(evaluator, BinOp::Add, left, right).map_err(on(Part::Right))
        }
        (Value::Path(base), _) => {
            let suffix = coerce_to_string(evaluator, &right, Coerce::PathPart).map_err(on(Part::Right))?;
            if suffix.has_context() {
                let message = "a string that refers to a store path cannot be appended to a path";
                return Err((EvalError::msg(message), Part::Operator));
            }
            let joined = format!("{base}{}", suffix.as_str());
            Ok(Value::Path(Rc::from(canonicalize(&joined))))
        }
        (Value::String(a), _) => {
            let b = coerce_to_string(evaluator, &right, Coerce::Interpolation).map_err(on(Part::Right))?;
            Ok(Value::String(concat(a, &b)))
        }
        (Value::Attrs(_), _) => {
            let a = coerce_to_string(evaluator, &left, Coerce::Interpolation).map_err(on(Part::Left))?;
            let b = coerce_to_string(evaluator, &right, Coerce::Interpolation).map_err(on(Part::Right))?;
            Ok(Value::String(concat(&a, &b)))
        }
        (Value::Int(_) | Value::Float(_), other) => Err((
            EvalError::msg(format!("cannot add {} to {}", other.type_with_article(), left.type_with_article())),
            Part::Right,
        )),
        (other, _) => Err((
            EvalError::msg(format!(
                "cannot coerce {} to a string: {}",
                other.type_with_article(),
                crate::print::short(other)
            )),
            Part::Left,
        )),
    }
}

/// Concatenates two strings, uniting their contexts.
pub fn concat(a: &NixString, b: &NixString) -> NixString {
    let context = match (!a.has_context(), !b.has_context()) {
        (true, true) => None,
        (false, true) => Some(Box::new(a.context().clone())),
        (true, false) => Some(Box::new(b.context().clone())),
        (false, false) => {
            let mut context = a.context().clone();
            context.extend(b.context().iter().cloned());
            Some(Box::new(context))
        }
    };
    NixString::from_pieces([a.as_str(), b.as_str()].into_iter(), context)
}

/// Arithmetic on numbers with Nix's rules: integers overflow with an error, a float on
/// either side makes a float.
pub fn arith(evaluator: &mut Evaluator, op: BinOp, left: Value, right: Value) -> EvalResult<Value> {
    arith_values(evaluator, op, &left, &right).map_err(|error| match error.kind() {
        crate::ErrorKind::TypeMismatch { .. } if error.trace().is_empty() => {
            error.note(None, operand_frame(op, &left, &right))
        }
        _ => error,
    })
}

/// The frame the reference's arithmetic builtins give an operand of the wrong type: the
/// divisor is checked first, the other operators check the first operand first.
pub(crate) fn operand_frame(op: BinOp, left: &Value, right: &Value) -> &'static str {
    let number = |value: &Value| matches!(value, Value::Int(_) | Value::Float(_));
    let first = match op {
        BinOp::Div => number(right),
        _ => !number(left),
    };
    let float = matches!(left, Value::Float(_)) || matches!(right, Value::Float(_));
    match (op, first) {
        (BinOp::Add, true) => "while evaluating the first argument of the addition",
        (BinOp::Add, false) => "while evaluating the second argument of the addition",
        (BinOp::Sub, true) => "while evaluating the first argument of the subtraction",
        (BinOp::Sub, false) => "while evaluating the second argument of the subtraction",
        // Sic: the reference's wording for a float product.
        (BinOp::Mul, true) if float => "while evaluating the first of the multiplication",
        (BinOp::Mul, true) => "while evaluating the first argument of the multiplication",
        (BinOp::Mul, false) => "while evaluating the second argument of the multiplication",
        (_, true) => "while evaluating the first operand of the division",
        (_, false) => "while evaluating the second operand of the division",
    }
}

fn arith_values(_evaluator: &mut Evaluator, op: BinOp, left: &Value, right: &Value) -> EvalResult<Value> {
    match (left, right) {
        (Value::Int(a), Value::Int(b)) => {
            let (a, b) = (*a, *b);
            let (result, verb, sign) = match op {
                BinOp::Add => (a.checked_add(b), "adding", "+"),
                BinOp::Sub => (a.checked_sub(b), "subtracting", "-"),
                BinOp::Mul => (a.checked_mul(b), "multiplying", "*"),
                _ => {
                    if b == 0 {
                        return Err(EvalError::msg("division by zero"));
                    }
                    (a.checked_div(b), "dividing", "/")
                }
            };
            result.map(Value::Int).ok_or_else(|| EvalError::msg(format!("integer overflow in {verb} {a} {sign} {b}")))
        }
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let a = as_float(left);
            let b = as_float(right);
            let result = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                _ => {
                    if b == 0.0 {
                        return Err(EvalError::msg("division by zero"));
                    }
                    a / b
                }
            };
            Ok(Value::Float(result))
        }
        // Division, as the reference's `div`, checks its divisor first (any number, or "a
        // float"), then whether it is zero, then the dividend (a float when the divisor
        // is one, an integer otherwise).
        _ if matches!(op, BinOp::Div) => match right {
            Value::Int(_) | Value::Float(_) if as_float(right) == 0.0 => Err(EvalError::msg("division by zero")),
            Value::Float(_) => Err(type_error("a float", left)),
            Value::Int(_) => Err(type_error("an integer", left)),
            other => Err(type_error("a float", other)),
        },
        // A float on either side makes both operands wanted as floats.
        (Value::Float(_), other) | (other, Value::Float(_)) => Err(type_error("a float", other)),
        (Value::Int(_), other) | (other, _) => Err(type_error("an integer", other)),
    }
}

fn as_float(value: &Value) -> f64 {
    match value {
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// Nix's `==`: forces as deep as needed; numbers compare across int and float; derivations
/// compare by `outPath`; functions are never equal.
pub fn equal(evaluator: &mut Evaluator, left: &Value, right: &Value) -> EvalResult<bool> {
    equal_inner(evaluator, left, right, false)
}

/// `nested` is true for elements of lists and sets: only those can be the very same value
/// cell in the reference, whose top-level operands are always fresh copies (so `f == f` is
/// false while `[ f ] == [ f ]` is true; see eval-okay-equal-functions.nix). Both sides are
/// forced before the identity shortcut, so a shared throwing element still throws (see
/// eval-fail-equal-no-identity-shortcut.nix).
fn equal_inner(evaluator: &mut Evaluator, left: &Value, right: &Value, nested: bool) -> EvalResult<bool> {
    let same_cell = nested && same_thunk(left, right);
    let left = evaluator.force(left)?;
    let right = evaluator.force(right)?;
    if same_cell {
        return Ok(true);
    }
    Ok(match (&left, &right) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => as_float(&left) == as_float(&right),
        (Value::String(a), Value::String(b)) => a.as_str() == b.as_str(),
        (Value::Path(a), Value::Path(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            if a.len() != b.len() {
                return Ok(false);
            }
            for (x, y) in a.iter().zip(b.iter()) {
                if !equal_inner(evaluator, x, y, true)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Attrs(a), Value::Attrs(b)) => {
            if crate::builtins::is_derivation(evaluator, a)? && crate::builtins::is_derivation(evaluator, b)? {
                let out = evaluator.sym.out_path;
                if let (Some(x), Some(y)) = (a.get(out).cloned(), b.get(out).cloned()) {
                    return equal_inner(evaluator, &x, &y, true);
                }
            }
            if a.len() != b.len() {
                return Ok(false);
            }
            for (x, y) in a.iter().zip(b.iter()) {
                if x.name != y.name {
                    return Ok(false);
                }
            }
            for (x, y) in a.iter().zip(b.iter()) {
                if !equal_inner(evaluator, &x.value, &y.value, true)? {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

/// Two values that are the same shared thunk or container are equal without looking inside,
/// as in Nix (this is why `[ f ] == [ f ]` holds for a function `f`).
fn same_thunk(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Thunk(x), Value::Thunk(y)) => crate::value::Shared::ptr_eq(&x.0, &y.0),
        (Value::Lambda(x), Value::Lambda(y)) => crate::value::Shared::ptr_eq(x, y),
        (Value::PrimOp(x), Value::PrimOp(y)) => std::ptr::eq(*x, *y),
        _ => false,
    }
}

/// Nix's ordering (`<`, `sort`'s default, `lessThan`): numbers, strings, paths, and lists
/// lexicographically; anything else is an error.
pub fn compare(evaluator: &mut Evaluator, left: &Value, right: &Value) -> EvalResult<Ordering> {
    let left = evaluator.force(left)?;
    let right = evaluator.force(right)?;
    match (&left, &right) {
        (Value::Int(a), Value::Int(b)) => Ok(a.cmp(b)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            Ok(as_float(&left).partial_cmp(&as_float(&right)).unwrap_or(Ordering::Equal))
        }
        (Value::String(a), Value::String(b)) => Ok(a.as_str().cmp(b.as_str())),
        (Value::Path(a), Value::Path(b)) => Ok(a.cmp(b)),
        (Value::List(a), Value::List(b)) => {
            for (x, y) in a.iter().zip(b.iter()) {
                if !equal_inner(evaluator, x, y, true)? {
                    return compare(evaluator, x, y).map_err(|e| e.note(None, "while comparing two list elements"));
                }
            }
            Ok(a.len().cmp(&b.len()))
        }
        _ => Err(incomparable(&left, &right)),
    }
}

/// Nix's message for values that `<` cannot order.
pub fn incomparable(left: &Value, right: &Value) -> EvalError {
    let (a, b) = (left.type_with_article(), right.type_with_article());
    let (x, y) = (crate::print::short(left), crate::print::short(right));
    if std::mem::discriminant(left) == std::mem::discriminant(right) {
        EvalError::msg(format!(
            "cannot compare {a} with {b}; values of that type are incomparable (values are {x} and {y})"
        ))
    } else {
        EvalError::msg(format!("cannot compare {a} with {b}; values are {x} and {y}"))
    }
}

/// Turns a forced or unforced value into a string as `mode` allows.
#[inline]
pub fn coerce_to_string(evaluator: &mut Evaluator, value: &Value, mode: Coerce) -> EvalResult<NixString> {
    match evaluator.force(value)? {
        Value::String(s) => Ok(s),
        Value::Int(n) if mode == Coerce::ToString => Ok(NixString::new(int_text(n, &mut [0; 20]))),
        value => coerce_other_to_string(evaluator, value, mode),
    }
}

/// [`coerce_to_string`] of a forced value that is neither a string nor an integer printed
/// by `toString`: out of line, so that the frequent cases set up a small frame.
#[inline(never)]
fn coerce_other_to_string(evaluator: &mut Evaluator, value: Value, mode: Coerce) -> EvalResult<NixString> {
    match &value {
        Value::String(s) => Ok(s.clone()),
        Value::Path(path) => match mode {
            Coerce::Interpolation => crate::builtins::copy_path_to_store(evaluator, path),
            _ => Ok(NixString::new(path.as_str())),
        },
        Value::Attrs(attrs) => {
            if let Some(to_string) = attrs.get(evaluator.sym.to_string).cloned() {
                let result = evaluator.call(to_string, std::slice::from_ref(&value), None)?;
                return coerce_to_string(evaluator, &result, mode).map_err(EvalError::in_to_string_result);
            }
            if let Some(out_path) = attrs.get(evaluator.sym.out_path).cloned() {
                return coerce_to_string(evaluator, &out_path, mode);
            }
            Err(cannot_coerce(&value))
        }
        _ if mode != Coerce::ToString => Err(cannot_coerce(&value)),
        Value::Int(n) => Ok(NixString::new(int_text(*n, &mut [0; 20]))),
        Value::Float(f) => Ok(NixString::new(&format!("{f:.6}"))),
        Value::Bool(true) => Ok(NixString::new("1")),
        Value::Bool(false) | Value::Null => Ok(NixString::new("")),
        Value::List(items) => {
            let mut text = String::new();
            let mut context = std::collections::BTreeSet::new();
            for (idx, item) in items.iter().enumerate() {
                let item = evaluator.force(item).map_err(EvalError::in_list_element)?;
                let piece = coerce_to_string(evaluator, &item, mode).map_err(EvalError::in_list_element)?;
                text.push_str(piece.as_str());
                context.extend(piece.context().iter().cloned());
                let empty_list = matches!(&item, Value::List(l) if l.is_empty());
                if idx + 1 < items.len() && !empty_list {
                    text.push(' ');
                }
            }
            Ok(NixString::with_context(&text, context))
        }
        _ => Err(cannot_coerce(&value)),
    }
}

/// The decimal text of an integer, written into `buf` (a sign and 19 digits at most), two
/// digits at a time.
pub(crate) fn int_text(n: i64, buf: &mut [u8; 20]) -> &str {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut at = buf.len();
    let mut rest = n.unsigned_abs();
    while rest >= 100 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        let pair = rest as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + rest as u8;
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    // SAFETY: only ASCII digits and a minus sign were written from `at` on.
    unsafe { std::str::from_utf8_unchecked(&buf[at..]) }
}

fn cannot_coerce(value: &Value) -> EvalError {
    EvalError::msg(format!("cannot coerce {} to a string: {}", value.type_with_article(), crate::print::short(value)))
        .wanting_context()
}

/// The frame of a value that an interpolation, `+` or a path could not make a string of.
pub(crate) const PATH_SEGMENT: &str = "while evaluating a path segment";

/// Why `left == right` is false, as the reference explains a failed `assert a == b`.
pub struct Inequality {
    /// The message.
    pub reason: String,
    /// Where in the values it is, innermost first: the attributes and list elements compared
    /// on the way, and where the attributes were defined.
    pub frames: Vec<(Option<Span>, String)>,
}

impl Inequality {
    fn within(mut self, span: Option<Span>, text: String) -> Inequality {
        self.frames.push((span, text));
        self
    }
}

impl From<String> for Inequality {
    fn from(reason: String) -> Inequality {
        Inequality { reason, frames: Vec::new() }
    }
}

/// Why `left == right` is false (see [`Inequality`]); `None` when the values are equal after
/// all.
pub fn explain_inequality(evaluator: &mut Evaluator, left: &Value, right: &Value) -> EvalResult<Option<Inequality>> {
    let same_cell = same_thunk(left, right);
    let v1 = evaluator.force(left)?;
    let v2 = evaluator.force(right)?;
    if same_cell {
        return Ok(None);
    }
    let show = crate::print::short;
    let numeric = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
    if numeric(&v1) && numeric(&v2) {
        if equal(evaluator, &v1, &v2)? {
            return Ok(None);
        }
        return Ok(Some(
            format!(
                "{} with value '{}' is not equal to {} with value '{}'",
                v1.type_with_article(),
                show(&v1),
                v2.type_with_article(),
                show(&v2)
            )
            .into(),
        ));
    }
    if std::mem::discriminant(&v1) != std::mem::discriminant(&v2) && !(v1.is_function() && v2.is_function()) {
        return Ok(Some(
            format!(
                "{} of value '{}' is not equal to {} of value '{}'",
                v1.type_with_article(),
                show(&v1),
                v2.type_with_article(),
                show(&v2)
            )
            .into(),
        ));
    }
    Ok(match (&v1, &v2) {
        (Value::Bool(a), Value::Bool(b)) if a != b => {
            Some(format!("boolean '{a}' is not equal to boolean '{b}'").into())
        }
        (Value::String(a), Value::String(b)) if a.as_str() != b.as_str() => {
            Some(format!("string '{}' is not equal to string '{}'", show(&v1), show(&v2)).into())
        }
        (Value::Path(a), Value::Path(b)) if a != b => {
            Some(format!("path '{}' is not equal to path '{}'", show(&v1), show(&v2)).into())
        }
        (Value::List(a), Value::List(b)) => {
            if a.len() != b.len() {
                return Ok(Some(
                    format!(
                        "list of size '{}' is not equal to list of size '{}', left hand side is '{}', right hand side is '{}'",
                        a.len(),
                        b.len(),
                        show(&v1),
                        show(&v2)
                    )
                    .into(),
                ));
            }
            for (index, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                if let Some(inequality) = explain_inequality(evaluator, x, y)? {
                    return Ok(Some(inequality.within(None, format!("while comparing list element {index}"))));
                }
            }
            None
        }
        (Value::Attrs(a), Value::Attrs(b)) => {
            if crate::builtins::is_derivation(evaluator, a)? && crate::builtins::is_derivation(evaluator, b)? {
                let out_path = evaluator.sym.out_path;
                if let (Some(x), Some(y)) = (a.get(out_path).cloned(), b.get(out_path).cloned()) {
                    return Ok(explain_inequality(evaluator, &x, &y)?.map(|inequality| {
                        inequality.within(None, "while comparing a derivation by its 'outPath' attribute".to_string())
                    }));
                }
            }
            if a.len() != b.len() {
                return Ok(Some(
                    format!(
                        "attribute names of attribute set '{}' differs from attribute set '{}'",
                        show(&v1),
                        show(&v2)
                    )
                    .into(),
                ));
            }
            for (x, y) in a.iter().zip(b.iter()) {
                if x.name != y.name {
                    let (missing, text) = if b.get(x.name).is_none() {
                        (x.name, "is contained in '{1}', but not in '{2}'")
                    } else {
                        (y.name, "is missing in '{1}', but is contained in '{2}'")
                    };
                    let text = text.replace("{1}", &show(&v1)).replace("{2}", &show(&v2));
                    return Ok(Some(format!("attribute name '{missing}' {text}").into()));
                }
                if let Some(mut inequality) = explain_inequality(evaluator, &x.value, &y.value)? {
                    // Shown outermost first: the attribute, then where each side defined it.
                    if let Some(span) = y.pos.span() {
                        inequality = inequality.within(Some(span), "where right hand side is".to_string());
                    }
                    if let Some(span) = x.pos.span() {
                        inequality = inequality.within(Some(span), "where left hand side is".to_string());
                    }
                    let name = x.name;
                    return Ok(Some(inequality.within(None, format!("while comparing attribute '{name}'"))));
                }
            }
            None
        }
        _ if v1.is_function() => Some(
            "distinct functions and immediate comparisons of identical functions compare as unequal".to_string().into(),
        ),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_read_as_their_decimal_text() {
        for n in [0, 7, -7, 10, 99, 100, -100, 101, 1234567890, 12345678901, i64::MAX, i64::MIN] {
            assert_eq!(super::int_text(n, &mut [0; 20]), n.to_string());
        }
    }
}
