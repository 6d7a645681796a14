//! Builtins on attribute sets: names, values, lookups, construction from lists, mapping,
//! intersection and zipping, and the introspection builtins `functionArgs` and
//! `unsafeGetAttrPos`.

use super::{force_attrs, force_function, force_list, force_plain_string};
use crate::error::{EvalError, EvalResult};
use crate::eval::{type_error, Evaluator};
use crate::ir::Param;
use crate::source::{Pos, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, Forces, PrimOp, Thunk, Value};
use rustc_hash::{FxHashMap, FxHashSet};

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "attrNames", arity: 1, func: builtin_attr_names, forces: Forces::First },
    PrimOp { name: "attrValues", arity: 1, func: builtin_attr_values, forces: Forces::First },
    PrimOp { name: "getAttr", arity: 2, func: builtin_get_attr, forces: Forces::First },
    PrimOp { name: "hasAttr", arity: 2, func: builtin_has_attr, forces: Forces::First },
    PrimOp { name: "removeAttrs", arity: 2, func: builtin_remove_attrs, forces: Forces::First },
    PrimOp { name: "listToAttrs", arity: 1, func: builtin_list_to_attrs, forces: Forces::First },
    PrimOp { name: "mapAttrs", arity: 2, func: builtin_map_attrs, forces: Forces::Second },
    PrimOp { name: "intersectAttrs", arity: 2, func: builtin_intersect_attrs, forces: Forces::First },
    PrimOp { name: "catAttrs", arity: 2, func: builtin_cat_attrs, forces: Forces::First },
    PrimOp { name: "zipAttrsWith", arity: 2, func: builtin_zip_attrs_with, forces: Forces::First },
    PrimOp { name: "functionArgs", arity: 1, func: builtin_function_args, forces: Forces::First },
    PrimOp { name: "unsafeGetAttrPos", arity: 2, func: builtin_unsafe_get_attr_pos, forces: Forces::Nothing },
];

fn builtin_attr_names(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let attrs = force_attrs(ev, &args[0])?;
    Ok(Value::list(attrs.iter().map(|a| Value::String(ev.name_string(a.name))).collect()))
}

fn builtin_attr_values(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let attrs = force_attrs(ev, &args[0])?;
    Ok(Value::list(attrs.iter().map(|a| a.value.clone()).collect()))
}

fn builtin_get_attr(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let name = force_plain_string(ev, &args[0])?;
    let attrs = force_attrs(ev, &args[1])?;
    let name = name.to_symbol();
    match attrs.get(name).cloned() {
        Some(value) => ev.force(&value),
        None => Err(EvalError::new(crate::ErrorKind::AttributeMissing(crate::print::shown_attr_name(name.as_str())))
            .note(None, "in the attribute set under consideration")),
    }
}

fn builtin_has_attr(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let name = force_plain_string(ev, &args[0])?;
    let attrs = force_attrs(ev, &args[1])?;
    Ok(Value::Bool(attrs.contains(name.to_symbol())))
}

fn builtin_remove_attrs(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let attrs = force_attrs(ev, &args[0])?;
    let names = force_list(ev, &args[1])?;
    let mut remove = FxHashSet::default();
    for name in names.iter() {
        remove.insert(
            force_plain_string(ev, name)
                .map_err(|e| {
                    e.note(None, "while evaluating the values of the second argument passed to builtins.removeAttrs")
                })?
                .to_symbol(),
        );
    }
    let kept = attrs.iter().filter(|a| !remove.contains(&a.name)).cloned().collect();
    Ok(Value::attrs(Attrs::from_sorted(kept)))
}

fn builtin_list_to_attrs(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let items = force_list(ev, &args[0])?;
    let mut entries = Vec::with_capacity(items.len());
    let (name_sym, value_sym) = (ev.sym.name, ev.sym.value);
    for item in items.iter() {
        let item = match ev.force(item)? {
            Value::Attrs(attrs) => attrs,
            other => {
                return Err(type_error("a set", &other)
                    .note(None, "while evaluating an element of the list passed to builtins.listToAttrs"))
            }
        };
        // Framed as the reference frames them.
        const PAIR: &str = "in a {name=...; value=...;} pair";
        let Some(name) = item.get_entry(name_sym) else {
            return Err(EvalError::msg("attribute 'name' missing").note(None, PAIR));
        };
        const NAME: &str =
            "while evaluating the `name` attribute of an element of the list passed to builtins.listToAttrs";
        let name_pos = name.pos.span();
        // A name that is no string is also reported at the attribute; one with a context is
        // only framed there, as in the reference.
        let name = super::force_string(ev, &name.value).map_err(|e| {
            let e = match name_pos {
                Some(at) => e.at(at),
                None => e,
            };
            e.note(name_pos, NAME)
        })?;
        super::reject_context(&name).map_err(|e| e.note(name_pos, NAME))?;
        let Some(value) = item.get(value_sym).cloned() else {
            return Err(EvalError::msg("attribute 'value' missing").note(None, PAIR));
        };
        let pos = item.get_entry(value_sym).map_or(Pos::NONE, |e| e.pos);
        entries.push(Attr { name: name.to_symbol(), value, pos });
    }
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

fn builtin_map_attrs(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = args[0].clone();
    let attrs = force_attrs(ev, &args[1])?;
    let entries = attrs.iter().map(|attr| {
        let name = Value::String(ev.name_string(attr.name));
        // No position: the reference's deferred call is placed at its function, which
        // mapAttrs has not forced.
        let value = lazy_call2(func.clone(), name, attr.value.clone(), None);
        // The reference's mapAttrs drops positions (see declaration-positions in
        // nixpkgs' module tests).
        Attr { name: attr.name, value, pos: Pos::NONE }
    });
    Ok(Value::attrs(Attrs::from_sorted_iter(attrs.len(), entries)))
}

/// A thunk for `f a b`.
/// `func a b`, called when its value is needed, at `at` (where it fails if `func` does not
/// take two arguments).
pub(crate) fn lazy_call2(func: Value, a: Value, b: Value, at: Option<Span>) -> Value {
    match at {
        // Without a position the closure keeps none: mapAttrs makes many of them.
        None => Thunk::native(move |ev: &mut Evaluator| ev.call_with_two(&func, a, b, None)),
        Some(at) => Thunk::native(move |ev: &mut Evaluator| ev.call_with_two(&func, a, b, Some(at))),
    }
}

fn builtin_intersect_attrs(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let left = force_attrs(ev, &args[0])?;
    let right = force_attrs(ev, &args[1])?;
    let kept = right.iter().filter(|a| left.contains(a.name)).cloned().collect();
    Ok(Value::attrs(Attrs::from_sorted(kept)))
}

fn builtin_cat_attrs(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let name = force_plain_string(ev, &args[0])?.to_symbol();
    let items = force_list(ev, &args[1])?;
    let mut out = Vec::new();
    for item in items.iter() {
        let attrs = force_attrs(ev, item).map_err(|e| {
            e.note(None, "while evaluating an element in the list passed as second argument to builtins.catAttrs")
        })?;
        if let Some(value) = attrs.get(name) {
            out.push(value.clone());
        }
    }
    Ok(Value::list(out))
}

fn builtin_zip_attrs_with(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = force_function(ev, &args[0])?;
    // The deferred calls are placed at the function, forced here, as the reference places
    // them.
    let at = match &func {
        Value::Lambda(closure) => Some(closure.def.span),
        _ => None,
    };
    let sets = force_list(ev, &args[1])?;
    let mut order: Vec<Symbol> = Vec::new();
    let mut collected: FxHashMap<Symbol, Vec<Value>> = FxHashMap::default();
    for set in sets.iter() {
        let attrs = force_attrs(ev, set).map_err(|e| {
            e.note(None, "while evaluating a value of the list passed as second argument to builtins.zipAttrsWith")
        })?;
        for attr in attrs.iter() {
            collected
                .entry(attr.name)
                .or_insert_with(|| {
                    order.push(attr.name);
                    Vec::new()
                })
                .push(attr.value.clone());
        }
    }
    let entries = order
        .into_iter()
        .map(|name| {
            let values = Value::list(collected.remove(&name).unwrap_or_default());
            let value = lazy_call2(func.clone(), Value::String(ev.name_string(name)), values, at);
            Attr { name, value, pos: Pos::NONE }
        })
        .collect();
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

fn builtin_function_args(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let func = ev.force(&args[0])?;
    let Value::Lambda(closure) = &func else {
        if let Value::PrimOp(_) | Value::PrimOpApp(_) = func {
            return Ok(Value::attrs(Attrs::new()));
        }
        return Err(EvalError::msg("'functionArgs' requires a function"));
    };
    match &closure.def.param {
        Param::Ident(_) => Ok(Value::attrs(Attrs::new())),
        Param::Pattern { formals, .. } => {
            let entries = formals
                .iter()
                .enumerate()
                .map(|(idx, (name, default))| Attr {
                    name: *name,
                    value: Value::Bool(default.is_some()),
                    pos: closure.def.formal_positions.get(idx).copied().unwrap_or(Pos::NONE),
                })
                .collect();
            Ok(Value::attrs(Attrs::from_unsorted(entries)))
        }
    }
}

fn builtin_unsafe_get_attr_pos(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let name = force_plain_string(ev, &args[0])?.to_symbol();
    let attrs = force_attrs(ev, &args[1])?;
    match attrs.get_entry(name).and_then(|e| e.pos.span()) {
        Some(span) => Ok(ev.position_attrs(span)),
        None => match ev.settings.unknown_position.and_then(|hook| hook()) {
            Some(reason) => Err(crate::error::ErrorKind::Interrupted(reason).into()),
            None => Ok(Value::Null),
        },
    }
}
