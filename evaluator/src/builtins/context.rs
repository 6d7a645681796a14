//! Builtins on string contexts: `getContext`, `hasContext`, `appendContext`,
//! `unsafeDiscardStringContext`, `unsafeDiscardOutputDependency` and
//! `addDrvOutputDependencies`, with Nix 2.34's shapes and messages.
//!
//! A context element is kept encoded (see [`crate::value::ContextElem`]): a plain store path,
//! `=<drv>` for a derivation with all its outputs ("deep"), or `!<output>!<drv>` for one
//! output of a derivation. [`parse_elem`] decodes one for the builtins that need its parts.

use super::{force_attrs, force_bool, force_list, force_string};
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::{Pos, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, ContextElem, Forces, NixString, PrimOp, Value};
use std::collections::{BTreeMap, BTreeSet};

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "getContext", arity: 1, func: builtin_get_context, forces: Forces::Nothing },
    PrimOp { name: "hasContext", arity: 1, func: builtin_has_context, forces: Forces::Nothing },
    PrimOp { name: "appendContext", arity: 2, func: builtin_append_context, forces: Forces::Nothing },
    PrimOp {
        name: "unsafeDiscardStringContext",
        arity: 1,
        func: builtin_unsafe_discard_string_context,
        forces: Forces::Nothing,
    },
    PrimOp {
        name: "unsafeDiscardOutputDependency",
        arity: 1,
        func: builtin_unsafe_discard_output_dependency,
        forces: Forces::Nothing,
    },
    PrimOp {
        name: "addDrvOutputDependencies",
        arity: 1,
        func: builtin_add_drv_output_dependencies,
        forces: Forces::Nothing,
    },
];

/// A decoded context element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Elem<'a> {
    /// A plain store path.
    Opaque(&'a str),
    /// A derivation with all its outputs and its whole closure (`=drv`).
    DrvDeep(&'a str),
    /// One output of a derivation (`!out!drv`).
    Built {
        /// The `.drv` path.
        drv: &'a str,
        /// The output name.
        output: &'a str,
    },
}

/// Decodes an encoded context element.
pub(super) fn parse_elem(elem: &str) -> Elem<'_> {
    if let Some(rest) = elem.strip_prefix('=') {
        return Elem::DrvDeep(rest);
    }
    if let Some(rest) = elem.strip_prefix('!') {
        if let Some((output, drv)) = rest.split_once('!') {
            return Elem::Built { drv, output };
        }
    }
    Elem::Opaque(elem)
}

/// The part of a path after the store directory, as Nix prints context elements in some
/// messages (`!out!<hash>-a.drv`).
fn base_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(idx) => &path[idx + 1..],
        None => path,
    }
}

/// An element as Nix's `NixStringContextElem::to_string` prints it (base names, no store
/// directory).
pub(super) fn elem_to_string(elem: &str) -> String {
    match parse_elem(elem) {
        Elem::Opaque(path) => base_of(path).to_string(),
        Elem::DrvDeep(drv) => format!("={}", base_of(drv)),
        Elem::Built { drv, output } => format!("!{output}!{}", base_of(drv)),
    }
}

/// An element as Nix shows it to users (`/nix/store/…-a.drv^out`, `… (deep)`).
pub(super) fn elem_display(elem: &str) -> String {
    match parse_elem(elem) {
        Elem::Opaque(path) => path.to_string(),
        Elem::DrvDeep(drv) => format!("{drv} (deep)"),
        Elem::Built { drv, output } => format!("{drv}^{output}"),
    }
}

/// Forces a string that must not have a context, with Nix's error otherwise.
pub(super) fn force_string_no_ctx(ev: &mut Evaluator, value: &Value) -> EvalResult<String> {
    let s = force_string(ev, value)?;
    reject_context(&s)?;
    Ok(s.as_str().to_string())
}

/// Fails, as the reference does, when a string that must be plain refers to store paths.
#[inline]
pub(crate) fn reject_context(s: &NixString) -> EvalResult<()> {
    if s.has_context() {
        return context_refused(s);
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn context_refused(s: &NixString) -> EvalResult<()> {
    match s.context().iter().next() {
        Some(first) => Err(EvalError::msg(format!(
            "the string '{}' is not allowed to refer to a store path (such as '{}')",
            s.as_str(),
            elem_display(first)
        ))),
        None => Ok(()),
    }
}

/// Context elements for a `.drv` path with all outputs, and for one output.
pub(super) fn deep_elem(drv_path: &str) -> ContextElem {
    format!("={drv_path}").into()
}

/// The context element of output `output` of derivation `drv_path`.
pub(super) fn built_elem(drv_path: &str, output: &str) -> ContextElem {
    format!("!{output}!{drv_path}").into()
}

fn builtin_has_context(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let s = force_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.hasContext"))?;
    Ok(Value::Bool(s.has_context()))
}

fn builtin_unsafe_discard_string_context(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let s = super::coerce_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.unsafeDiscardStringContext"))?;
    if !s.has_context() {
        return Ok(Value::String(s));
    }
    Ok(Value::string(s.as_str()))
}

fn builtin_unsafe_discard_output_dependency(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let s = super::coerce_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.unsafeDiscardOutputDependency"))?;
    let context: BTreeSet<ContextElem> = s
        .context()
        .iter()
        .map(|elem| match parse_elem(elem) {
            Elem::DrvDeep(drv) => drv.into(),
            _ => elem.clone(),
        })
        .collect();
    Ok(Value::String(NixString::with_context(s.as_str(), context)))
}

fn builtin_add_drv_output_dependencies(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let s = super::coerce_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.addDrvOutputDependencies"))?;
    let count = s.context().len();
    let Some(elem) = s.context().iter().next().filter(|_| count == 1) else {
        return Err(EvalError::msg(format!(
            "context of string '{}' must have exactly one element, but has {count}",
            s.as_str()
        )));
    };
    let new_elem: ContextElem = match parse_elem(elem) {
        Elem::Opaque(path) => {
            if !path.ends_with(".drv") {
                return Err(EvalError::msg(format!("path '{path}' is not a derivation")));
            }
            deep_elem(path)
        }
        Elem::Built { output, .. } => {
            return Err(EvalError::msg(format!(
                "`addDrvOutputDependencies` can only act on derivations, not on a derivation output such as '{output}'"
            )))
        }
        Elem::DrvDeep(_) => elem.clone(),
    };
    Ok(Value::String(NixString::with_context(s.as_str(), BTreeSet::from([new_elem]))))
}

#[derive(Default)]
struct ContextInfo {
    path: bool,
    all_outputs: bool,
    outputs: Vec<String>,
}

fn builtin_get_context(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let s = force_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.getContext"))?;
    let mut infos: BTreeMap<String, ContextInfo> = BTreeMap::new();
    // Nix visits plain paths, then deep derivations, then outputs; the output lists come out
    // sorted by name either way.
    let mut built: Vec<(&str, &str)> = Vec::new();
    for elem in s.context() {
        match parse_elem(elem) {
            Elem::Opaque(path) => infos.entry(path.to_string()).or_default().path = true,
            Elem::DrvDeep(drv) => infos.entry(drv.to_string()).or_default().all_outputs = true,
            Elem::Built { drv, output } => built.push((drv, output)),
        }
    }
    built.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(b.1)));
    for (drv, output) in built {
        infos.entry(drv.to_string()).or_default().outputs.push(output.to_string());
    }
    let sym_path = Symbol::intern("path");
    let sym_all = Symbol::intern("allOutputs");
    let sym_outputs = Symbol::intern("outputs");
    let mut entries = Vec::with_capacity(infos.len());
    for (path, info) in infos {
        let mut inner = Vec::new();
        if info.path {
            inner.push(Attr { name: sym_path, value: Value::Bool(true), pos: Pos::NONE });
        }
        if info.all_outputs {
            inner.push(Attr { name: sym_all, value: Value::Bool(true), pos: Pos::NONE });
        }
        if !info.outputs.is_empty() {
            let list = info.outputs.into_iter().map(Value::string).collect();
            inner.push(Attr { name: sym_outputs, value: Value::list(list), pos: Pos::NONE });
        }
        entries.push(Attr {
            name: Symbol::intern(&path),
            value: Value::attrs(Attrs::from_unsorted(inner)),
            pos: Pos::NONE,
        });
    }
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

fn builtin_append_context(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let orig = force_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the first argument passed to builtins.appendContext"))?;
    let attrs = force_attrs(ev, &args[1])
        .map_err(|e| e.note(None, "while evaluating the second argument passed to builtins.appendContext"))?;
    let store_dir = super::derivation::store_dir(ev)?;
    let mut context = orig.context().clone();
    let sym_path = Symbol::intern("path");
    let sym_all = Symbol::intern("allOutputs");
    let sym_outputs = Symbol::intern("outputs");
    for attr in attrs.iter() {
        let name = attr.name.as_str();
        if store_dir.parse_path(name).is_err() {
            // The key is printed as an attribute name: quoted unless it is an identifier.
            let shown = crate::print::shown_attr_name(name);
            let error = EvalError::msg(format!("context key '{shown}' is not a store path"));
            return Err(match attr.pos.span() {
                Some(pos) => error.at(pos),
                None => error,
            });
        }
        let info = force_attrs(ev, &attr.value)
            .map_err(|e| e.note(attr.pos.span(), "while evaluating the value of a string context"))?;
        if let Some(value) = info.get(sym_path) {
            let value = value.clone();
            if force_bool(ev, &value)
                .map_err(|e| e.note(None, "while evaluating the `path` attribute of a string context"))?
            {
                context.insert(name.into());
            }
        }
        if let Some(value) = info.get(sym_all) {
            let value = value.clone();
            if force_bool(ev, &value)
                .map_err(|e| e.note(None, "while evaluating the `allOutputs` attribute of a string context"))?
            {
                if !name.ends_with(".drv") {
                    return Err(EvalError::msg(format!(
                        "tried to add all-outputs context of \"{name}\", which is not a derivation, to a string"
                    )));
                }
                context.insert(deep_elem(name));
            }
        }
        if let Some(value) = info.get(sym_outputs) {
            let value = value.clone();
            let outputs = force_list(ev, &value)
                .map_err(|e| e.note(None, "while evaluating the `outputs` attribute of a string context"))?;
            if !outputs.is_empty() && !name.ends_with(".drv") {
                return Err(EvalError::msg(format!(
                    "tried to add derivation output context of \"{name}\", which is not a derivation, to a string"
                )));
            }
            for output in outputs.iter() {
                let output = force_string_no_ctx(ev, output)
                    .map_err(|e| e.note(None, "while evaluating an output name within a string context"))?;
                context.insert(built_elem(name, &output));
            }
        }
    }
    Ok(Value::String(NixString::with_context(orig.as_str(), context)))
}
