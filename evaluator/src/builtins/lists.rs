//! Builtins on lists: mapping and filtering, folds, construction, stable sorting with a
//! user comparator, grouping, and `genericClosure`.

use super::{force_attrs, force_bool_owned, force_function, force_int, force_list, force_plain_string};
use crate::error::{EvalError, EvalResult};
use crate::eval::{speculate_applied_index, type_error, Evaluator, SpareScopes};
use crate::ir::Param;
use crate::source::{Pos, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, Forces, List, PrimOp, Thunk, ThunkCell, Value};
use rustc_hash::{FxHashMap, FxHashSet};

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "map", arity: 2, func: builtin_map, forces: Forces::Second },
    PrimOp { name: "filter", arity: 2, func: builtin_filter, forces: Forces::Second },
    PrimOp { name: "length", arity: 1, func: builtin_length, forces: Forces::First },
    PrimOp { name: "head", arity: 1, func: builtin_head, forces: Forces::First },
    PrimOp { name: "tail", arity: 1, func: builtin_tail, forces: Forces::First },
    PrimOp { name: "elemAt", arity: 2, func: builtin_elem_at, forces: Forces::Second },
    PrimOp { name: "elem", arity: 2, func: builtin_elem, forces: Forces::Second },
    PrimOp { name: "concatLists", arity: 1, func: builtin_concat_lists, forces: Forces::First },
    PrimOp { name: "concatMap", arity: 2, func: builtin_concat_map, forces: Forces::First },
    PrimOp { name: "foldl'", arity: 3, func: builtin_foldl_strict, forces: Forces::Nothing },
    PrimOp { name: "genList", arity: 2, func: builtin_gen_list, forces: Forces::Second },
    PrimOp { name: "sort", arity: 2, func: builtin_sort, forces: Forces::Second },
    PrimOp { name: "all", arity: 2, func: builtin_all, forces: Forces::First },
    PrimOp { name: "any", arity: 2, func: builtin_any, forces: Forces::First },
    PrimOp { name: "partition", arity: 2, func: builtin_partition, forces: Forces::First },
    PrimOp { name: "groupBy", arity: 2, func: builtin_group_by, forces: Forces::First },
    PrimOp { name: "genericClosure", arity: 1, func: builtin_generic_closure, forces: Forces::Nothing },
];

fn builtin_map(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[1])?;
    if items.is_empty() {
        return Ok(Value::List(items));
    }
    // The function is checked once the list has elements, as the reference does.
    let func = force_function(ev, &args[0])?;
    Ok(Value::List(List::from_exact(items.len(), items.iter().map(|item| Thunk::apply(func.clone(), item.clone())))))
}

// The reference's frames for a function's result of the wrong type, by builtin.
const RETURNED_FILTER: &str = "while evaluating the return value of the filtering function passed to builtins.filter";
const RETURNED_CONCAT_MAP: &str = "while evaluating the return value of the function passed to builtins.concatMap";
const RETURNED_SORT: &str = "while evaluating the return value of the sorting function passed to builtins.sort";
const RETURNED_PARTITION: &str =
    "while evaluating the return value of the partition function passed to builtins.partition";
const RETURNED_GROUP_BY: &str = "while evaluating the return value of the grouping function passed to builtins.groupBy";

/// Where a function was written, for a frame about its result.
fn function_pos(func: &Value) -> Option<Span> {
    match func {
        Value::Lambda(closure) => Some(closure.def.span),
        _ => None,
    }
}

fn builtin_filter(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[1])?;
    if items.is_empty() {
        return Ok(Value::List(items));
    }
    let func = force_function(ev, &args[0])?;
    let mut kept = Vec::new();
    for item in items.iter() {
        let verdict = ev.call_with(&func, item.clone())?;
        if force_bool_owned(ev, verdict).map_err(|e| e.note(None, RETURNED_FILTER))? {
            kept.push(item.clone());
        }
    }
    if kept.len() == items.len() {
        return Ok(Value::List(items));
    }
    Ok(Value::list(kept))
}

fn builtin_length(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    Ok(Value::Int(force_list(ev, &args[0])?.len() as i64))
}

fn builtin_head(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[0])?;
    match items.first() {
        Some(first) => ev.force(first),
        None => Err(EvalError::msg("'builtins.head' called on an empty list")),
    }
}

fn builtin_tail(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[0])?;
    if items.is_empty() {
        return Err(EvalError::msg("'builtins.tail' called on an empty list"));
    }
    Ok(Value::List(List::from_exact(items.len() - 1, items[1..].iter().cloned())))
}

fn builtin_elem_at(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    // The index is forced before the list, as the reference does.
    let index = force_int(ev, &args[1])?;
    let items = force_list(ev, &args[0])?;
    match usize::try_from(index).ok().and_then(|i| items.get(i)) {
        Some(item) => ev.force(item),
        None => Err(EvalError::msg(format!(
            "'builtins.elemAt' called with index {index} on a list of size {}",
            items.len()
        ))),
    }
}

fn builtin_elem(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[1])?;
    for item in items.iter() {
        if crate::ops::equal(ev, &args[0], item)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn builtin_concat_lists(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let lists = force_list(ev, &args[0])?;
    let lists = lists
        .iter()
        .map(|list| {
            force_list(ev, list)
                .map_err(|e| e.note(None, "while evaluating a value of the list passed to builtins.concatLists"))
        })
        .collect::<EvalResult<Vec<_>>>()?;
    Ok(Value::List(List::concat(&lists)))
}

fn builtin_concat_map(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = force_function(ev, &args[0])?;
    let items = force_list(ev, &args[1])?;
    let mut lists = Vec::with_capacity(items.len());
    for item in items.iter() {
        let result = ev.call_with(&func, item.clone())?;
        lists.push(force_list(ev, &result).map_err(|e| e.note(function_pos(&func), RETURNED_CONCAT_MAP))?);
    }
    Ok(Value::List(List::concat(&lists)))
}

fn builtin_foldl_strict(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = force_function(ev, &args[0])?;
    let items = force_list(ev, &args[2])?;
    if items.is_empty() {
        return ev.force(&args[1]);
    }
    let mut acc = args[1].clone();
    let mut spare = SpareScopes::default();
    for item in items.iter() {
        acc = ev.call_with_two_again(&func, acc, item.clone(), &mut spare)?;
    }
    ev.force(&acc)
}

fn builtin_gen_list(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let count = force_int(ev, &args[1])?;
    if count < 0 {
        return Err(EvalError::msg(format!("cannot create list of size {count}")));
    }
    // The function is checked even for an empty list, as the reference does.
    let func = force_function(ev, &args[0])?;
    // A list that cannot fit in memory fails as it does in the reference, before any of it
    // is written (memory the kernel grants lazily would get the process killed instead).
    // Each element takes its slot, and a thunk: a count and a cell.
    let element = std::mem::size_of::<Value>() + std::mem::size_of::<u64>() + std::mem::size_of::<ThunkCell>();
    let bytes = (count as u64).saturating_mul(element as u64);
    let len = match u32::try_from(count) {
        Ok(len) if crate::io::physical_memory().is_none_or(|total| bytes <= total) => len as usize,
        _ => return Err(EvalError::msg("out of memory")),
    };
    Ok(Value::List(match &func {
        // A lambda (the usual case) makes compact thunks, or the elements themselves when
        // computing them cannot fail or be observed.
        Value::Lambda(closure) => {
            let def = closure.def;
            // Tried on the first element: a body that cannot be computed ahead gives thunks
            // without a try for each element.
            let speculate = ev.speculate
                && matches!(def.param, Param::Ident(_))
                && speculate_applied_index(&def.body, 0, &closure.env).is_some();
            List::from_exact(
                len,
                (0..count).map(|i| {
                    let direct = if speculate { speculate_applied_index(&def.body, i, &closure.env) } else { None };
                    direct.unwrap_or_else(|| Thunk::apply_index(closure, i))
                }),
            )
        }
        _ => List::from_exact(len, (0..count).map(|i| Thunk::apply(func.clone(), Value::Int(i)))),
    }))
}

fn builtin_sort(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[1])?;
    if items.is_empty() {
        return Ok(Value::List(items));
    }
    let func = force_function(ev, &args[0])?;
    if items.len() == 1 {
        return Ok(Value::List(items));
    }
    let mut values: Vec<Value> = Vec::with_capacity(items.len());
    for item in items.iter() {
        values.push(ev.force(item)?);
    }
    // `builtins.lessThan` itself is not called but compared with, as in the reference, whose
    // errors then name the ordering function instead of the call.
    if matches!(&func, Value::PrimOp(op) if op.name == "lessThan") {
        let mut less = |ev: &mut Evaluator, a: &Value, b: &Value| -> EvalResult<bool> {
            let order = crate::ops::compare(ev, a, b)
                .map_err(|e| e.note(None, "while evaluating the ordering function passed to builtins.sort"))?;
            Ok(order == std::cmp::Ordering::Less)
        };
        return Ok(Value::list(merge_sort(ev, values, &mut less)?));
    }
    let mut spare = SpareScopes::default();
    let mut less = |ev: &mut Evaluator, a: &Value, b: &Value| -> EvalResult<bool> {
        let result = ev.call_with_two_again(&func, a.clone(), b.clone(), &mut spare)?;
        force_bool_owned(ev, result).map_err(|e| e.note(None, RETURNED_SORT))
    };
    let sorted = merge_sort(ev, values, &mut less)?;
    Ok(Value::list(sorted))
}

type LessFn<'a> = dyn FnMut(&mut Evaluator, &Value, &Value) -> EvalResult<bool> + 'a;

/// A stable merge sort whose comparator may fail.
fn merge_sort(ev: &mut Evaluator, mut items: Vec<Value>, less: &mut LessFn<'_>) -> EvalResult<Vec<Value>> {
    if items.len() <= 1 {
        return Ok(items);
    }
    if items.len() <= 8 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && less(ev, &items[j], &items[j - 1])? {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return Ok(items);
    }
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(ev, items, less)?;
    let right = merge_sort(ev, right, less)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        if less(ev, r, l)? {
            out.extend(right.next());
        } else {
            out.extend(left.next());
        }
    }
    out.extend(left);
    out.extend(right);
    Ok(out)
}

fn predicate_all(ev: &mut Evaluator, args: &[Value], want: bool) -> EvalResult<Value> {
    let func = force_function(ev, &args[0])?;
    let items = force_list(ev, &args[1])?;
    let returned = if want {
        "while evaluating the return value of the function passed to builtins.any"
    } else {
        "while evaluating the return value of the function passed to builtins.all"
    };
    for item in items.iter() {
        let verdict = ev.call_with(&func, item.clone())?;
        if force_bool_owned(ev, verdict).map_err(|e| e.note(None, returned))? == want {
            return Ok(Value::Bool(want));
        }
    }
    Ok(Value::Bool(!want))
}

fn builtin_all(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    predicate_all(ev, args, false)
}

fn builtin_any(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    predicate_all(ev, args, true)
}

fn builtin_partition(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = force_function(ev, &args[0])?;
    let items = force_list(ev, &args[1])?;
    let (mut right, mut wrong) = (Vec::new(), Vec::new());
    for item in items.iter() {
        // Each element is forced before the predicate sees it, as the reference does.
        ev.force(item)?;
        let verdict = ev.call_with(&func, item.clone())?;
        if force_bool_owned(ev, verdict).map_err(|e| e.note(None, RETURNED_PARTITION))? {
            right.push(item.clone());
        } else {
            wrong.push(item.clone());
        }
    }
    Ok(super::make_attrs(vec![("right", Value::list(right)), ("wrong", Value::list(wrong))]))
}

fn builtin_group_by(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = force_function(ev, &args[0])?;
    let items = force_list(ev, &args[1])?;
    let mut groups: FxHashMap<Symbol, Vec<Value>> = FxHashMap::default();
    for item in items.iter() {
        let key = ev.call_with(&func, item.clone())?;
        let key = force_plain_string(ev, &key).map_err(|e| e.note(None, RETURNED_GROUP_BY))?.to_symbol();
        groups.entry(key).or_default().push(item.clone());
    }
    let entries =
        groups.into_iter().map(|(name, values)| Attr { name, value: Value::list(values), pos: Pos::NONE }).collect();
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

/// A hashable form of a `genericClosure` key.
#[derive(PartialEq, Eq, Hash)]
enum KeyRepr {
    Int(i64),
    Float(u64),
    Str(String),
    Path(String),
    List(Vec<KeyRepr>),
    /// A value `<` cannot order: only ever alone in the set.
    Unordered,
}

/// Which keys `<` can compare with each other.
fn key_class(repr: &KeyRepr) -> u8 {
    match repr {
        KeyRepr::Int(_) | KeyRepr::Float(_) => 0,
        KeyRepr::Str(_) => 1,
        KeyRepr::Path(_) => 2,
        KeyRepr::List(_) => 3,
        KeyRepr::Unordered => 4,
    }
}

fn key_repr(ev: &mut Evaluator, value: &Value) -> EvalResult<KeyRepr> {
    let value = ev.force(value)?;
    Ok(match &value {
        Value::Int(n) => KeyRepr::Int(*n),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => KeyRepr::Int(*f as i64),
        Value::Float(f) => KeyRepr::Float(f.to_bits()),
        Value::String(s) => KeyRepr::Str(s.as_str().to_string()),
        Value::Path(p) => KeyRepr::Path(p.to_string()),
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                out.push(key_repr(ev, item)?);
            }
            KeyRepr::List(out)
        }
        _ => KeyRepr::Unordered,
    })
}

fn builtin_generic_closure(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    const IN_SET: &str = "in the attrset passed as argument to builtins.genericClosure";
    let spec = force_attrs(ev, &args[0])?;
    let start = spec
        .get(Symbol::intern("startSet"))
        .cloned()
        .ok_or_else(|| EvalError::msg("attribute 'startSet' missing").note(None, IN_SET))?;
    let start = match ev.force(&start)? {
        Value::List(items) => items,
        other => {
            return Err(type_error("a list", &other)
                .note(None, "while evaluating the 'startSet' attribute passed as argument to builtins.genericClosure"))
        }
    };
    // As in the reference, an empty start set needs no operator, and the operator is checked
    // before any element.
    if start.is_empty() {
        return Ok(Value::List(start));
    }
    let operator = spec
        .get(Symbol::intern("operator"))
        .cloned()
        .ok_or_else(|| EvalError::msg("attribute 'operator' missing").note(None, IN_SET))?;
    let operator = force_function(ev, &operator).map_err(|e| {
        e.note(None, "while evaluating the 'operator' attribute passed as argument to builtins.genericClosure")
    })?;
    let mut work: std::collections::VecDeque<Value> = start.iter().cloned().collect();
    let mut seen = FxHashSet::default();
    let mut out = Vec::new();
    let mut first_key: Option<(Value, u8, Attrs)> = None;
    let key_sym = ev.sym.key;
    while let Some(item) = work.pop_front() {
        let attrs = match ev.force(&item) {
            Ok(Value::Attrs(attrs)) => attrs,
            Ok(other) => return Err(closure_element_failed(type_error("a set", &other), &other)),
            Err(error) => return Err(closure_element_failed(error, &item)),
        };
        let Some(key) = attrs.get(key_sym).cloned() else {
            let error = EvalError::msg("attribute 'key' missing");
            return Err(closure_element_failed(error, &Value::Attrs(attrs)));
        };
        let key = ev.force(&key)?;
        let repr = key_repr(ev, &key)?;
        if let Some((first, class, first_element)) = &first_key {
            if *class != key_class(&repr) || *class == 4 {
                return Err(crate::ops::incomparable(&key, first)
                    .note(None, format!("with element {}", crate::print::short(&Value::Attrs(first_element.clone()))))
                    .note(None, format!("while comparing element {}", crate::print::short(&Value::Attrs(attrs)))));
            }
        } else {
            first_key = Some((key.clone(), key_class(&repr), attrs.clone()));
        }
        if !seen.insert(repr) {
            continue;
        }
        out.push(Value::Attrs(attrs.clone()));
        // The operator's result, and each element it gives, are forced right away, as in the
        // reference, whose frame names the element the operator was called on.
        let element = Value::Attrs(attrs);
        let next = ev.call(operator.clone(), std::slice::from_ref(&element), None).and_then(|next| {
            let next = match ev.force(&next)? {
                Value::List(items) => items,
                other => {
                    return Err(type_error("a list", &other).note(
                        None,
                        "while evaluating the return value of the `operator` passed to builtins.genericClosure",
                    ))
                }
            };
            for item in next.iter() {
                ev.force(item)?;
            }
            Ok(next)
        });
        let next = next.map_err(|e| {
            e.note(None, format!("while calling operator on genericClosure element {}", crate::print::short(&element)))
        })?;
        work.extend(next.iter().cloned());
    }
    Ok(Value::list(out))
}

/// An error of an element of `genericClosure`'s work set, framed with the element.
#[cold]
fn closure_element_failed(error: EvalError, element: &Value) -> EvalError {
    error.note(None, format!("in genericClosure element {}", crate::print::short(element)))
}

#[cfg(test)]
mod tests {
    use crate::value::Value;

    #[test]
    fn concatenated_lists_follow_each_other_in_order() {
        let lists: Vec<crate::value::List> = (0..40).map(|n| (0..n).map(Value::Int).collect()).collect();
        let out = crate::value::List::concat(&lists);
        let expected: Vec<i64> = (0..40).flat_map(|n| 0..n).collect();
        let got: Vec<i64> = out.iter().map(|v| if let Value::Int(n) = v { *n } else { -1 }).collect();
        assert_eq!(got, expected);
    }
}
