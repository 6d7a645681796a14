//! The builtins: the base environment every file is compiled against, and the `builtins`
//! set.
//!
//! Each builtin is a [`PrimOp`] with a fixed arity, registered under its Nix name in one of
//! the tables of the submodules; it receives its arguments unforced and forces what it
//! needs, so strictness matches Nix. The base environment holds every builtin as `__name`,
//! a few also under their plain name (`map`, `toString`, …), and the constants.

mod attrs;
mod context;
mod control;
mod derivation;
mod fetch;
mod flake;
pub(crate) mod frames;
mod hash;
pub(crate) mod json;
mod lists;
mod regex;
pub(crate) mod strings;
mod versions;
mod xml;

pub(crate) use control::{io_error, read_error};

use crate::error::{EvalError, EvalResult};
use crate::eval::{type_error, Evaluator};
use crate::source::Pos;
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, NixString, PrimOp, Thunk, Value};
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// Symbols the evaluator and builtins use often, interned once.
#[derive(Clone, Copy)]
pub struct Syms {
    /// `outPath`
    pub out_path: Symbol,
    /// `__functor`
    pub functor: Symbol,
    /// `__toString`
    pub to_string: Symbol,
    /// `type`
    pub type_: Symbol,
    /// `name`
    pub name: Symbol,
    /// `value`
    pub value: Symbol,
    /// `key`
    pub key: Symbol,
    /// `drvPath`
    pub drv_path: Symbol,
    /// `right`
    pub right: Symbol,
    /// `wrong`
    pub wrong: Symbol,
}

impl Syms {
    /// Interns the symbols.
    pub fn new() -> Syms {
        Syms {
            out_path: Symbol::intern("outPath"),
            functor: Symbol::intern("__functor"),
            to_string: Symbol::intern("__toString"),
            type_: Symbol::intern("type"),
            name: Symbol::intern("name"),
            value: Symbol::intern("value"),
            key: Symbol::intern("key"),
            drv_path: Symbol::intern("drvPath"),
            right: Symbol::intern("right"),
            wrong: Symbol::intern("wrong"),
        }
    }
}

impl Default for Syms {
    fn default() -> Syms {
        Syms::new()
    }
}

/// Builtins that are also in scope without the `__` prefix.
const UNPREFIXED: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "derivation",
    "derivationStrict",
    "dirOf",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
];

/// Constants of the `builtins` set that are not functions.
const CONSTANTS: &[&str] = &[
    "builtins",
    "currentSystem",
    "currentTime",
    "false",
    "langVersion",
    "nixPath",
    "nixVersion",
    "null",
    "storeDir",
    "true",
];

/// Files the reference ships inside itself and finds under `<nix/…>` when the search path
/// has no `nix` entry; their path values print as `<nix/…>`, as in the reference.
const COREPKGS: &[(&str, &str)] = &[("<nix/fetchurl.nix>", include_str!("../corepkgs/fetchurl.nix"))];

/// The source of a built-in `<nix/…>` file, if `path` names one.
pub(crate) fn corepkg(path: &str) -> Option<&'static str> {
    COREPKGS.iter().find(|(name, _)| *name == path).map(|(_, text)| *text)
}

/// The version reported by `builtins.nixVersion`: the language level nxe implements.
pub const NIX_VERSION: &str = "2.34.0";

/// What a global of the base environment is.
#[derive(Clone, Copy)]
enum GlobalKind {
    PrimOp(&'static PrimOp),
    Constant(&'static str),
}

struct GlobalTable {
    names: Vec<(&'static str, GlobalKind)>,
    index: FxHashMap<&'static str, u32>,
}

fn all_primops() -> impl Iterator<Item = &'static PrimOp> {
    [
        attrs::PRIMOPS,
        context::PRIMOPS,
        control::PRIMOPS,
        derivation::PRIMOPS,
        fetch::PRIMOPS,
        flake::PRIMOPS,
        hash::PRIMOPS,
        json::PRIMOPS,
        lists::PRIMOPS,
        regex::PRIMOPS,
        strings::PRIMOPS,
        versions::PRIMOPS,
        xml::PRIMOPS,
    ]
    .into_iter()
    .flatten()
}

fn global_table() -> &'static GlobalTable {
    static TABLE: OnceLock<GlobalTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut names: Vec<(&'static str, GlobalKind)> = Vec::new();
        for constant in CONSTANTS {
            let visible: &'static str = match *constant {
                "builtins" | "true" | "false" | "null" => constant,
                other => Box::leak(format!("__{other}").into_boxed_str()),
            };
            names.push((visible, GlobalKind::Constant(constant)));
        }
        for op in all_primops() {
            let prefixed: &'static str = Box::leak(format!("__{}", op.name).into_boxed_str());
            names.push((prefixed, GlobalKind::PrimOp(op)));
            if UNPREFIXED.contains(&op.name) {
                names.push((op.name, GlobalKind::PrimOp(op)));
            }
        }
        let index = names.iter().enumerate().map(|(i, (name, _))| (*name, i as u32)).collect();
        GlobalTable { names, index }
    })
}

/// The names of the base environment, in the order of their indices.
pub(crate) fn global_names() -> impl Iterator<Item = &'static str> {
    global_table().names.iter().map(|(name, _)| *name)
}

/// The index of a name of the base environment, used by the compiler.
pub fn global_index(name: &str) -> Option<u32> {
    global_table().index.get(name).copied()
}

/// The global holding the same builtin function as `builtins.<name>`, for the compiler: a
/// call of `builtins.substring` needs no lookup in the `builtins` set.
pub(crate) fn builtin_function_global(name: &str) -> Option<u32> {
    let table = global_table();
    let index = *table.index.get(format!("__{name}").as_str())?;
    match table.names.get(index as usize) {
        Some((_, GlobalKind::PrimOp(op))) if op.name == name => Some(index),
        _ => None,
    }
}

/// The names of every builtin, as `builtins` lists them.
pub fn builtin_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CONSTANTS.to_vec();
    names.extend(all_primops().map(|op| op.name));
    names.sort_unstable();
    names.dedup();
    names
}

/// Builds the values of the base environment for one evaluator.
pub(crate) fn make_globals(evaluator: &mut Evaluator) -> Vec<Value> {
    let table = global_table();
    let builtins_index = global_index("builtins").unwrap_or(0);
    let mut values: Vec<Value> = table
        .names
        .iter()
        .map(|(_, kind)| match kind {
            GlobalKind::PrimOp(op) => Value::PrimOp(op),
            GlobalKind::Constant(name) => constant(evaluator, name, builtins_index),
        })
        .collect();
    let mut entries = Vec::new();
    for constant_name in CONSTANTS {
        if let Some(idx) =
            table.names.iter().position(|(_, k)| matches!(k, GlobalKind::Constant(c) if c == constant_name))
        {
            entries.push(Attr { name: Symbol::intern(constant_name), value: values[idx].clone(), pos: Pos::NONE });
        }
    }
    for op in all_primops() {
        entries.push(Attr { name: Symbol::intern(op.name), value: Value::PrimOp(op), pos: Pos::NONE });
    }
    // `derivation` is a Nix function in the reference (it prints as `<LAMBDA>`), so both the
    // global and `builtins.derivation` are the compiled wrapper, not the primop.
    let wrapper = Thunk::native(derivation::derivation_lambda);
    for (idx, (name, _)) in table.names.iter().enumerate() {
        if *name == "derivation" || *name == "__derivation" {
            values[idx] = wrapper.clone();
        }
    }
    for entry in &mut entries {
        if entry.name.as_str() == "derivation" {
            entry.value = wrapper.clone();
        }
    }
    values[builtins_index as usize] = Value::attrs(Attrs::from_unsorted(entries));
    values
}

fn constant(evaluator: &mut Evaluator, name: &str, builtins_index: u32) -> Value {
    match name {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        "builtins" => Thunk::native(move |evaluator: &mut Evaluator| {
            let value = evaluator.globals[builtins_index as usize].clone();
            Ok(value)
        }),
        "currentSystem" => Value::string(evaluator.settings.system.as_str()),
        "currentTime" => Value::Int(evaluator.settings.current_time),
        "langVersion" => Value::Int(6),
        "nixVersion" => Value::string(NIX_VERSION),
        "storeDir" => Value::string(evaluator.settings.store_dir.as_str()),
        "nixPath" => {
            let items = evaluator
                .settings
                .nix_path
                .iter()
                .map(|(prefix, path)| {
                    Value::attrs(Attrs::from_unsorted(vec![
                        Attr { name: Symbol::intern("path"), value: Value::string(path.as_str()), pos: Pos::NONE },
                        Attr { name: Symbol::intern("prefix"), value: Value::string(prefix.as_str()), pos: Pos::NONE },
                    ]))
                })
                .collect();
            Value::list(items)
        }
        _ => Value::Null,
    }
}

// Helpers shared by the builtin modules.

/// Forces an integer argument.
#[inline]
pub(crate) fn force_int(evaluator: &mut Evaluator, value: &Value) -> EvalResult<i64> {
    if let Value::Int(n) = value {
        return Ok(*n);
    }
    force_int_slow(evaluator, value)
}

/// [`force_int`] of a value that is not an integer yet.
#[inline(never)]
fn force_int_slow(evaluator: &mut Evaluator, value: &Value) -> EvalResult<i64> {
    match evaluator.force(value).map_err(|e| e.forcing(value))? {
        Value::Int(n) => Ok(n),
        other => Err(type_error("an integer", &other)),
    }
}

/// Forces a Boolean argument.
pub(crate) fn force_bool(evaluator: &mut Evaluator, value: &Value) -> EvalResult<bool> {
    match evaluator.force(value).map_err(|e| e.forcing(value))? {
        Value::Bool(b) => Ok(b),
        other => Err(type_error("a Boolean", &other)),
    }
}

/// [`force_bool`] of a value the caller gives up, such as a predicate's verdict: a Boolean
/// holds nothing, so it is forgotten rather than dropped through the general drop.
pub(crate) fn force_bool_owned(evaluator: &mut Evaluator, value: Value) -> EvalResult<bool> {
    if let Value::Bool(b) = value {
        std::mem::forget(value);
        return Ok(b);
    }
    force_bool(evaluator, &value)
}

/// Forces a set argument.
pub(crate) fn force_attrs(evaluator: &mut Evaluator, value: &Value) -> EvalResult<Attrs> {
    match evaluator.force(value)? {
        Value::Attrs(attrs) => Ok(attrs),
        other => Err(type_error("a set", &other)),
    }
}

/// Forces a list argument.
pub(crate) fn force_list(evaluator: &mut Evaluator, value: &Value) -> EvalResult<crate::value::List> {
    match evaluator.force(value)? {
        Value::List(items) => Ok(items),
        other => Err(type_error("a list", &other)),
    }
}

/// Forces a string argument (a real string, not something coercible), keeping its context.
pub fn force_string(evaluator: &mut Evaluator, value: &Value) -> EvalResult<NixString> {
    match evaluator.force(value).map_err(|e| e.forcing(value))? {
        Value::String(s) => Ok(s),
        other => Err(type_error("a string", &other)),
    }
}

pub(crate) use context::reject_context;
pub(crate) use strings::is_to_string;

/// Forces a string argument that must not refer to store paths (an attribute name, a
/// variable name), keeping it as a string.
pub(crate) fn force_plain_string(evaluator: &mut Evaluator, value: &Value) -> EvalResult<NixString> {
    let text = force_string(evaluator, value)?;
    context::reject_context(&text)?;
    Ok(text)
}

/// Forces a function argument.
pub(crate) fn force_function(evaluator: &mut Evaluator, value: &Value) -> EvalResult<Value> {
    let forced = evaluator.force(value).map_err(|e| e.forcing(value))?;
    match &forced {
        Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(forced),
        Value::Attrs(attrs) if attrs.contains(evaluator.sym.functor) => Ok(forced),
        other => Err(type_error("a function", other)),
    }
}

/// Coerces to a string as `toString`-like builtins do (no store copy of paths).
pub(crate) fn coerce_string(evaluator: &mut Evaluator, value: &Value) -> EvalResult<NixString> {
    crate::ops::coerce_to_string(evaluator, value, crate::ops::Coerce::Interpolation)
}

/// A path argument (a path value, or a string that is an absolute path), with the frame
/// `frame` on the errors the reference frames there: forcing the value, a value of no type
/// that makes a path, and a relative path (but not the failures of an `outPath` or
/// `__toString` it meets on the way).
pub(crate) fn force_path_framed(evaluator: &mut Evaluator, value: &Value, frame: &'static str) -> EvalResult<String> {
    let framed = |error: EvalError| error.framed(frame);
    let forced = evaluator.force(value).map_err(framed)?;
    match &forced {
        Value::Path(path) => Ok(path.to_string()),
        _ => {
            let text = crate::ops::coerce_to_string(evaluator, &forced, crate::ops::Coerce::PathPart)
                .map_err(|e| e.context(None, frame))?;
            if !text.as_str().starts_with('/') {
                let message = format!("string '{}' doesn't represent an absolute path", text.as_str());
                return Err(framed(EvalError::msg(message)));
            }
            Ok(crate::paths::canonicalize(text.as_str()))
        }
    }
}

/// [`force_path_framed`] for the builtins that read what a path names (`import`,
/// `readFile`, …).
pub(crate) fn realise_path(evaluator: &mut Evaluator, value: &Value) -> EvalResult<String> {
    force_path_framed(evaluator, value, REALISING)
}

/// The frame of [`realise_path`]'s errors.
pub(crate) const REALISING: &str = "while realising the context of a path";

/// Whether a set is a derivation (`type == "derivation"`).
pub fn is_derivation(evaluator: &mut Evaluator, attrs: &Attrs) -> EvalResult<bool> {
    match attrs.get(evaluator.sym.type_).cloned() {
        Some(value) => match evaluator.force(&value)? {
            Value::String(s) => Ok(s.as_str() == "derivation"),
            _ => Ok(false),
        },
        None => Ok(false),
    }
}

/// Copies a path into the store for string interpolation and returns the store path with
/// its context.
pub(crate) fn copy_path_to_store(evaluator: &mut Evaluator, path: &str) -> EvalResult<NixString> {
    derivation::copy_path_to_store(evaluator, path)
}

/// `--xml` output: the value as `builtins.toXML` renders it.
pub(crate) fn value_to_xml(evaluator: &mut Evaluator, value: &Value) -> EvalResult<String> {
    let args = [value.clone()];
    let rendered = evaluator.call(Value::PrimOp(xml_primop()?), &args, None)?;
    match rendered {
        Value::String(text) => Ok(text.as_str().to_string()),
        other => Err(crate::eval::type_error("a string", &other)),
    }
}

fn xml_primop() -> EvalResult<&'static PrimOp> {
    xml::PRIMOPS.iter().find(|op| op.name == "toXML").ok_or_else(|| EvalError::msg("XML output is not available"))
}

/// Appends `text` as a JSON string literal, escaped exactly as the reference's JSON writer
/// does (for other commands' JSON output).
pub fn write_json_string(out: &mut String, text: &str) {
    json::escape_json_into(out, text);
}

/// `--json` output: the value as `builtins.toJSON` renders it.
pub(crate) fn value_to_json(evaluator: &mut Evaluator, value: &Value) -> EvalResult<String> {
    json::value_to_json(evaluator, value)
}

/// A set from name/value pairs in any order.
pub(crate) fn make_attrs(pairs: Vec<(&str, Value)>) -> Value {
    let entries =
        pairs.into_iter().map(|(name, value)| Attr { name: Symbol::intern(name), value, pos: Pos::NONE }).collect();
    Value::attrs(Attrs::from_unsorted(entries))
}

#[cfg(test)]
mod tests {
    use super::all_primops;
    use crate::eval::{CodeCache, EvalSettings, Evaluator, DUMMY_SPAN};
    use crate::value::{Forces, Thunk, ThunkCell, ThunkState, Value};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

    /// A builtin that declares an argument it forces first ([`Forces`]) forces it before
    /// any other: with every argument a thunk that notes when it is forced, the declared
    /// one failing and the others `null`, the declared one is forced first and the call
    /// fails. Computing that argument at the call is then invisible.
    #[test]
    fn builtins_force_first_the_argument_they_declare() {
        let mut evaluator =
            Evaluator::new(Rc::new(crate::io::RealIo), EvalSettings::default(), Arc::new(CodeCache::default()));
        let mut checked = 0;
        for op in all_primops() {
            let declared = match op.forces {
                Forces::Nothing => continue,
                Forces::First => 0,
                Forces::Second => 1,
            };
            assert!(declared < op.arity, "{} declares an argument it does not take", op.name);
            let forced = Rc::new(RefCell::new(Vec::new()));
            let args: Vec<Value> = (0..op.arity)
                .map(|index| {
                    let forced = forced.clone();
                    let note = move |_: &mut Evaluator| {
                        forced.borrow_mut().push(index);
                        match index == declared {
                            true => Err(crate::error::EvalError::msg(format!("argument {index} fails"))),
                            false => Ok(Value::Null),
                        }
                    };
                    Value::Thunk(Thunk(crate::shared::Shared::new(ThunkCell::new(ThunkState::Native(Box::new(note))))))
                })
                .collect();
            let result = (op.func)(&mut evaluator, &args, DUMMY_SPAN);
            assert!(result.is_err(), "{} succeeded without its argument {declared}", op.name);
            assert_eq!(
                forced.borrow().first(),
                Some(&declared),
                "{}: forced in the order {:?}",
                op.name,
                forced.borrow()
            );
            checked += 1;
        }
        assert!(checked >= 40, "only {checked} builtins declare an argument they force first");
    }
}
