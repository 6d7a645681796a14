//! Builtins about types, control flow, arithmetic and the outside world: `typeOf` and the
//! `is*` family, `seq`/`deepSeq`, `throw`/`abort`/`tryEval`, `trace`/`warn`, arithmetic and
//! bit operations, `import`/`scopedImport`, and file and environment queries (all through
//! the evaluator's I/O trait).

use super::{coerce_string, force_attrs, force_int, force_string, make_attrs};
use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::{type_error, Evaluator};
use crate::io::FileKind;
use crate::ir::BinOp;
use crate::source::{Pos, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, Env, Forces, PrimOp, Value};
use std::path::Path;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "typeOf", arity: 1, func: builtin_type_of, forces: Forces::First },
    PrimOp { name: "isNull", arity: 1, func: builtin_is_null, forces: Forces::First },
    PrimOp { name: "isAttrs", arity: 1, func: builtin_is_attrs, forces: Forces::First },
    PrimOp { name: "isBool", arity: 1, func: builtin_is_bool, forces: Forces::First },
    PrimOp { name: "isFloat", arity: 1, func: builtin_is_float, forces: Forces::First },
    PrimOp { name: "isFunction", arity: 1, func: builtin_is_function, forces: Forces::First },
    PrimOp { name: "isInt", arity: 1, func: builtin_is_int, forces: Forces::First },
    PrimOp { name: "isList", arity: 1, func: builtin_is_list, forces: Forces::First },
    PrimOp { name: "isPath", arity: 1, func: builtin_is_path, forces: Forces::First },
    PrimOp { name: "isString", arity: 1, func: builtin_is_string, forces: Forces::First },
    PrimOp { name: "seq", arity: 2, func: builtin_seq, forces: Forces::First },
    PrimOp { name: "deepSeq", arity: 2, func: builtin_deep_seq, forces: Forces::Nothing },
    PrimOp { name: "throw", arity: 1, func: builtin_throw, forces: Forces::Nothing },
    PrimOp { name: "abort", arity: 1, func: builtin_abort, forces: Forces::Nothing },
    PrimOp { name: "tryEval", arity: 1, func: builtin_try_eval, forces: Forces::Nothing },
    PrimOp { name: "trace", arity: 2, func: builtin_trace, forces: Forces::Nothing },
    PrimOp { name: "traceVerbose", arity: 2, func: builtin_trace_verbose, forces: Forces::Nothing },
    PrimOp { name: "warn", arity: 2, func: builtin_warn, forces: Forces::Nothing },
    PrimOp { name: "addErrorContext", arity: 2, func: builtin_add_error_context, forces: Forces::Second },
    PrimOp { name: "break", arity: 1, func: builtin_break, forces: Forces::Nothing },
    PrimOp { name: "add", arity: 2, func: builtin_add, forces: Forces::Nothing },
    PrimOp { name: "sub", arity: 2, func: builtin_sub, forces: Forces::Nothing },
    PrimOp { name: "mul", arity: 2, func: builtin_mul, forces: Forces::Nothing },
    PrimOp { name: "div", arity: 2, func: builtin_div, forces: Forces::Nothing },
    PrimOp { name: "lessThan", arity: 2, func: builtin_less_than, forces: Forces::Nothing },
    PrimOp { name: "bitAnd", arity: 2, func: builtin_bit_and, forces: Forces::Nothing },
    PrimOp { name: "bitOr", arity: 2, func: builtin_bit_or, forces: Forces::Nothing },
    PrimOp { name: "bitXor", arity: 2, func: builtin_bit_xor, forces: Forces::Nothing },
    PrimOp { name: "ceil", arity: 1, func: builtin_ceil, forces: Forces::Nothing },
    PrimOp { name: "floor", arity: 1, func: builtin_floor, forces: Forces::Nothing },
    PrimOp { name: "import", arity: 1, func: builtin_import, forces: Forces::Nothing },
    PrimOp { name: "scopedImport", arity: 2, func: builtin_scoped_import, forces: Forces::Nothing },
    PrimOp { name: "getEnv", arity: 1, func: builtin_get_env, forces: Forces::Nothing },
    PrimOp { name: "readFile", arity: 1, func: builtin_read_file, forces: Forces::Nothing },
    PrimOp { name: "readDir", arity: 1, func: builtin_read_dir, forces: Forces::Nothing },
    PrimOp { name: "readFileType", arity: 1, func: builtin_read_file_type, forces: Forces::Nothing },
    PrimOp { name: "pathExists", arity: 1, func: builtin_path_exists, forces: Forces::Nothing },
    PrimOp { name: "findFile", arity: 2, func: builtin_find_file, forces: Forces::Nothing },
    PrimOp { name: "toPath", arity: 1, func: builtin_to_path, forces: Forces::Nothing },
];

fn builtin_type_of(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    Ok(Value::string(ev.force(&args[0])?.type_name()))
}

fn is(ev: &mut Evaluator, value: &Value, test: fn(&Value) -> bool) -> EvalResult<Value> {
    Ok(Value::Bool(test(&ev.force(value)?)))
}

fn builtin_is_null(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::Null))
}
fn builtin_is_attrs(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::Attrs(_)))
}
fn builtin_is_bool(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::Bool(_)))
}
fn builtin_is_float(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::Float(_)))
}
fn builtin_is_function(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], Value::is_function)
}
fn builtin_is_int(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::Int(_)))
}
fn builtin_is_list(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::List(_)))
}
fn builtin_is_path(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::Path(_)))
}
fn builtin_is_string(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    is(ev, &args[0], |v| matches!(v, Value::String(_)))
}

fn builtin_seq(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    ev.force(&args[0])?;
    ev.force(&args[1])
}

fn builtin_deep_seq(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    ev.force_deep(&args[0])?;
    ev.force(&args[1])
}

// Sic: "builtin.throw" is the reference's wording.
fn builtin_throw(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let message = coerce_string(ev, &args[0])
        .map_err(|e| e.context(None, "while evaluating the error message passed to builtin.throw"))?;
    Err(EvalError::new(ErrorKind::Throw(message.as_str().to_string())))
}

fn builtin_abort(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let message = coerce_string(ev, &args[0])
        .map_err(|e| e.context(None, "while evaluating the error message passed to builtins.abort"))?;
    Err(EvalError::new(ErrorKind::Abort(message.as_str().to_string())))
}

fn builtin_try_eval(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    match ev.force(&args[0]) {
        Ok(value) => Ok(make_attrs(vec![("success", Value::Bool(true)), ("value", value)])),
        Err(error) if error.is_catchable() => {
            Ok(make_attrs(vec![("success", Value::Bool(false)), ("value", Value::Bool(false))]))
        }
        Err(error) => Err(error),
    }
}

fn trace_text(ev: &mut Evaluator, value: &Value) -> EvalResult<String> {
    let value = ev.force(value)?;
    Ok(match &value {
        Value::String(s) => s.as_str().to_string(),
        other => crate::print::print_value(other),
    })
}

fn builtin_trace(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let text = trace_text(ev, &args[0])?;
    ev.io.trace(&format!("trace: {text}"));
    ev.force(&args[1])
}

fn builtin_trace_verbose(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    ev.force(&args[1])
}

fn builtin_warn(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let message = force_string(ev, &args[0])?;
    ev.io.trace(&format!("evaluation warning: {}", message.as_str()));
    if ev.settings.abort_on_warn {
        return Err(EvalError::msg("aborting to reveal stack trace of warning, as abort-on-warn is set"));
    }
    ev.force(&args[1])
}

fn builtin_add_error_context(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    match ev.force(&args[1]) {
        Ok(value) => Ok(value),
        Err(error) => {
            // The message is only coerced on failure; if that fails too, its error wins.
            let message = coerce_string(ev, &args[0]).map_err(|e| {
                e.context(None, "while evaluating the error message passed to builtins.addErrorContext")
            })?;
            Err(error.note_always(None, message.as_str().to_string()))
        }
    }
}

fn builtin_break(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    ev.force(&args[0])
}

/// The arithmetic builtins, which check their operands as the reference does: `div` first
/// reads its divisor as a number and rejects zero; then, when either operand is a float, both
/// must be numbers ("expected a float"), otherwise both must be integers.
fn arith(ev: &mut Evaluator, op: BinOp, args: &[Value]) -> EvalResult<Value> {
    let a = ev.force(&args[0])?;
    let b = ev.force(&args[1])?;
    // An operand of the wrong type gets the reference's frame for it.
    arith_of(ev, op, &a, &b).map_err(|error| match error.kind() {
        ErrorKind::TypeMismatch { .. } if error.trace().is_empty() => {
            error.note(None, crate::ops::operand_frame(op, &a, &b))
        }
        _ => error,
    })
}

fn arith_of(ev: &mut Evaluator, op: BinOp, a: &Value, b: &Value) -> EvalResult<Value> {
    if op == BinOp::Div && number_as_float(b)? == 0.0 {
        return Err(EvalError::msg("division by zero"));
    }
    if matches!(a, Value::Float(_)) || matches!(b, Value::Float(_)) {
        let (x, y) = (number_as_float(a)?, number_as_float(b)?);
        return crate::ops::arith(ev, op, Value::Float(x), Value::Float(y));
    }
    for operand in [a, b] {
        if !matches!(operand, Value::Int(_)) {
            return Err(type_error("an integer", operand));
        }
    }
    crate::ops::arith(ev, op, a.clone(), b.clone())
}

/// A forced number read as a float, as the reference's arithmetic builtins read it.
fn number_as_float(value: &Value) -> EvalResult<f64> {
    match value {
        Value::Int(n) => Ok(*n as f64),
        Value::Float(x) => Ok(*x),
        other => Err(type_error("a float", other)),
    }
}

fn builtin_add(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    arith(ev, BinOp::Add, args)
}
fn builtin_sub(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    arith(ev, BinOp::Sub, args)
}
fn builtin_mul(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    arith(ev, BinOp::Mul, args)
}
fn builtin_div(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    arith(ev, BinOp::Div, args)
}

fn builtin_less_than(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let order = crate::ops::compare(ev, &args[0], &args[1])?;
    Ok(Value::Bool(order == std::cmp::Ordering::Less))
}

fn bits(ev: &mut Evaluator, args: &[Value], f: fn(i64, i64) -> i64) -> EvalResult<Value> {
    let a = force_int(ev, &args[0])?;
    let b = force_int(ev, &args[1])?;
    Ok(Value::Int(f(a, b)))
}
fn builtin_bit_and(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    bits(ev, args, |a, b| a & b)
}
fn builtin_bit_or(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    bits(ev, args, |a, b| a | b)
}
fn builtin_bit_xor(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    bits(ev, args, |a, b| a ^ b)
}

fn round(ev: &mut Evaluator, value: &Value, f: fn(f64) -> f64, what: &str) -> EvalResult<Value> {
    match ev.force(value)? {
        Value::Int(n) => Ok(Value::Int(n)),
        Value::Float(x) => {
            let rounded = f(x);
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&rounded) {
                return Err(EvalError::msg(format!(
                    "float {} would overflow the integer type when {what}",
                    crate::print::format_float(x)
                )));
            }
            Ok(Value::Int(rounded as i64))
        }
        other => Err(type_error("a float", &other)),
    }
}
fn builtin_ceil(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    round(ev, &args[0], f64::ceil, "rounding up")
}
fn builtin_floor(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    round(ev, &args[0], f64::floor, "rounding down")
}

fn builtin_import(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let path = super::realise_path(ev, &args[0])?;
    ev.import_file(&path, true)
}

fn builtin_scoped_import(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    // The path is forced before the scope, as the reference does.
    let path = super::realise_path(ev, &args[1])?;
    let scope = force_attrs(ev, &args[0])?;
    let path = ev.resolve_import_path(&path)?;
    let expr = ev.compile_file(&path, true)?;
    let env = Env::one(Value::Attrs(scope), None);
    ev.eval(expr, &env)
}

fn builtin_get_env(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let name = super::force_plain_string(ev, &args[0])?;
    Ok(Value::string(ev.io.get_env(name.as_str()).unwrap_or_default()))
}

/// An I/O failure worded like the reference: a missing path "does not exist". Such errors
/// have no position in the reference: a frame says where, if anything.
pub(crate) fn io_error(what: &str, path: &str, error: &std::io::Error) -> EvalError {
    io_error_message(what, path, error).unpositioned()
}

fn io_error_message(what: &str, path: &str, error: &std::io::Error) -> EvalError {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => return EvalError::msg(format!("path '{path}' does not exist")),
        std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
        std::io::ErrorKind::NotADirectory => "Not a directory".to_string(),
        std::io::ErrorKind::IsADirectory => "Is a directory".to_string(),
        _ => error.to_string(),
    };
    EvalError::msg(format!("{what} '{path}': {reason}"))
}

/// The error of reading `path` as a file's bytes (`readFile`, `hashFile`): a directory's is
/// its failed read, as the reference reports it.
pub(crate) fn read_error(path: &str, error: &std::io::Error) -> EvalError {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<crate::io::DirectoryRead>()) {
        Some(read) => EvalError::msg(read.to_string()),
        None => io_error("opening file", path, error),
    }
}

fn builtin_read_file(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let path = super::realise_path(ev, &args[0])?;
    let bytes = ev.read_file_bytes(&path).map_err(|e| read_error(&path, &e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.into_bytes();
        EvalError::msg(format!("file '{path}' is not valid UTF-8 ({} bytes)", bytes.len()))
    })?;
    Ok(Value::string(text))
}

fn builtin_read_dir(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let path = super::realise_path(ev, &args[0])?;
    let entries = ev.io.read_dir(Path::new(&path)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotADirectory => {
            EvalError::msg(format!("cannot read directory \"{path}\": Not a directory"))
        }
        _ => io_error("opening directory", &path, &e),
    })?;
    let attrs = entries
        .into_iter()
        .map(|(name, kind)| Attr { name: Symbol::intern(&name), value: Value::string(kind.as_str()), pos: Pos::NONE })
        .collect();
    Ok(Value::attrs(Attrs::from_unsorted(attrs)))
}

fn builtin_read_file_type(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let path = super::realise_path(ev, &args[0])?;
    let kind: FileKind = ev.io.file_kind(Path::new(&path)).map_err(|e| io_error("getting status of", &path, &e))?;
    Ok(Value::string(kind.as_str()))
}

fn builtin_path_exists(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let forced = ev.force(&args[0]).map_err(|e| e.framed(super::REALISING))?;
    let must_be_dir = match &forced {
        Value::String(s) => s.as_str().ends_with('/') || s.as_str().ends_with("/."),
        _ => false,
    };
    let path = super::realise_path(ev, &forced)?;
    let exists = if must_be_dir {
        ev.io.is_directory(Path::new(&path))
    } else {
        ev.is_virtual_store_file(&path) || ev.io.path_exists(Path::new(&path))
    };
    Ok(Value::Bool(exists))
}

fn builtin_find_file(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    // Like the reference, the whole search path is checked before the name is forced.
    let search_path = super::force_list(ev, &args[0])?;
    let mut entries = Vec::with_capacity(search_path.len());
    for entry in search_path.iter() {
        entries.push(search_path_entry(ev, entry)?);
    }
    let wanted = super::force_plain_string(ev, &args[1])?;
    let wanted = wanted.as_str();
    for (prefix, path) in entries {
        let rest = if prefix.is_empty() {
            Some(wanted)
        } else if wanted == prefix {
            Some("")
        } else {
            wanted.strip_prefix(&prefix).and_then(|r| r.strip_prefix('/'))
        };
        let Some(rest) = rest else { continue };
        let path = if path.starts_with('/') { path } else { format!("{}/{path}", ev.settings.cwd) };
        let candidate = if rest.is_empty() { path.clone() } else { format!("{path}/{rest}") };
        let candidate = crate::paths::canonicalize(&candidate);
        if ev.io.path_exists(Path::new(&candidate)) {
            return Ok(Value::Path(candidate.into()));
        }
    }
    // Without a `nix` entry, `<nix/…>` names the reference's built-in files, whether or not
    // the file exists (see eval-fail-corepkgs-missing.nix).
    if wanted.starts_with("nix/") {
        return Ok(Value::Path(format!("<{wanted}>").into()));
    }
    // The reference throws this as a catchable error (see eval-okay-redefine-builtin.nix).
    Err(EvalError::new(ErrorKind::Throw(format!(
        "file '{wanted}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
    ))))
}

/// One element of `findFile`'s search path: its prefix (empty when absent) and its path.
/// An element of `findFile`'s search path, framed as the reference frames it.
fn search_path_entry(ev: &mut Evaluator, entry: &Value) -> EvalResult<(String, String)> {
    let entry = match ev.force(entry)? {
        Value::Attrs(entry) => entry,
        other => {
            return Err(type_error("a set", &other)
                .note(None, "while evaluating an element of the list passed to builtins.findFile"))
        }
    };
    let prefix = match entry.get(Symbol::intern("prefix")).cloned() {
        Some(prefix) => super::force_plain_string(ev, &prefix)
            .map_err(|e| {
                e.note(
                    None,
                    "while evaluating the `prefix` attribute of an element of the list passed to builtins.findFile",
                )
            })?
            .as_str()
            .to_string(),
        None => String::new(),
    };
    let Some(path) = entry.get(Symbol::intern("path")).cloned() else {
        return Err(EvalError::msg("attribute 'path' missing").note(None, "in an element of the __nixPath"));
    };
    let path = crate::ops::coerce_to_string(ev, &path, crate::ops::Coerce::PathPart).map_err(|e| {
        e.context(None, "while evaluating the `path` attribute of an element of the list passed to builtins.findFile")
    })?;
    Ok((prefix, path.as_str().to_string()))
}

fn builtin_to_path(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let path = super::force_path_framed(ev, &args[0], "while evaluating the first argument passed to builtins.toPath")?;
    Ok(Value::string(path))
}
