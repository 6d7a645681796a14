//! Derivations and the builtins that put things in the store: `derivationStrict`,
//! `derivation`, `placeholder`, `toFile`, `storePath`, `path`, `filterSource`, and the copy of
//! a path into the store when it is interpolated into a string.
//!
//! Nothing is written anywhere: the evaluator computes store paths exactly as Nix 2.34 does
//! and records every derivation and every added path in its side table
//! ([`crate::eval::StoreWrites`]), where the caller finds them to write `.drv` files or a
//! store later. The hash modulo of each derivation is cached there too, so dependent
//! derivations can compute their output paths.
//!
//! `derivation` is, as in Nix, a thin wrapper written in the Nix language around
//! `derivationStrict`; it is compiled once per process.

mod json;
mod nar;
mod store;

pub(crate) use store::store_dir;

use super::context::{built_elem, deep_elem, elem_to_string, force_string_no_ctx, parse_elem, Elem};
use super::{force_attrs, force_bool, force_function, force_list, force_string};
use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::{AddedPath, Evaluator};
use crate::ir::Expr;
use crate::source::{Pos, SourceMap, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, ContextElem, Forces, NixString, PrimOp, Value};
use nxe_store::{ContentAddressMethod, Derivation, Hash, HashAlgo, HashFormat, Output};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use store::{store_error, Wrapped};

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "derivationStrict", arity: 1, func: builtin_derivation_strict, forces: Forces::Nothing },
    PrimOp { name: "derivation", arity: 1, func: builtin_derivation, forces: Forces::Nothing },
    PrimOp { name: "placeholder", arity: 1, func: builtin_placeholder, forces: Forces::Nothing },
    PrimOp { name: "toFile", arity: 2, func: builtin_to_file, forces: Forces::Nothing },
    PrimOp { name: "storePath", arity: 1, func: builtin_store_path, forces: Forces::Nothing },
    PrimOp { name: "path", arity: 1, func: builtin_path, forces: Forces::Nothing },
    PrimOp { name: "filterSource", arity: 2, func: builtin_filter_source, forces: Forces::Nothing },
];

/// The `derivation` function: the argument set extended, for each output, with the output's
/// path, the `.drv` path and `type = "derivation"`; the first output's set is the result.
const DERIVATION_NIX: &str = r#"
drvAttrs@{ outputs ? [ "out" ], ... }:
let
  built = builtins.derivationStrict drvAttrs;
  perOutput = map (outputName: {
    name = outputName;
    value = shared // {
      outPath = builtins.getAttr outputName built;
      drvPath = built.drvPath;
      type = "derivation";
      inherit outputName;
    };
  }) outputs;
  shared = drvAttrs // builtins.listToAttrs perOutput // {
    all = map (entry: entry.value) perOutput;
    inherit drvAttrs;
  };
in (builtins.head perOutput).value
"#;

/// The `derivation` function as a Nix lambda (compiled once per process). The base
/// environment can bind `derivation` and `builtins.derivation` to this value directly so that
/// they print and behave as a lambda, as in Nix; the `derivation` primop calls it.
pub(crate) fn derivation_lambda(ev: &mut Evaluator) -> EvalResult<Value> {
    static WRAPPER: OnceLock<&'static Expr> = OnceLock::new();
    let expr = match WRAPPER.get() {
        Some(expr) => *expr,
        None => {
            let expr = ev
                .compile_source("«nix-internal»/derivation-internal.nix", DERIVATION_NIX.to_string(), "/", false)
                .map_err(|errors| crate::eval::compile_errors_to_eval(&errors))?;
            *WRAPPER.get_or_init(|| expr)
        }
    };
    ev.eval_root(expr)
}

fn builtin_derivation(ev: &mut Evaluator, args: &[Value], span: Span) -> EvalResult<Value> {
    let func = derivation_lambda(ev)?;
    ev.call(func, &args[..1], Some(span))
}

/// `placeholder "out"`: `/` and the nix32 SHA-256 of `nix-output:out`.
fn hash_placeholder(output: &str) -> String {
    let hash = Hash::compute(HashAlgo::Sha256, format!("nix-output:{output}").as_bytes());
    format!("/{}", hash.to_nix32())
}

fn builtin_placeholder(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let output = force_string_no_ctx(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the first argument passed to builtins.placeholder"))?;
    Ok(Value::string(hash_placeholder(&output)))
}

fn sym(name: &str) -> Symbol {
    Symbol::intern(name)
}

fn note_at(error: EvalError, pos: Option<Span>, text: String) -> EvalError {
    error.note(pos, text)
}

fn xp_error(feature: &str, reason: Option<String>) -> EvalError {
    let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    EvalError::msg(format!(
        "experimental Nix feature '{feature}' is disabled{reason}; add '--extra-experimental-features {feature}' to enable it"
    ))
}

fn builtin_derivation_strict(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let attrs = force_attrs(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.derivationStrict"))?;
    let Some(name_attr) = attrs.get_entry(ev.sym.name).cloned() else {
        return Err(EvalError::new(ErrorKind::AttributeMissing("name".to_string()))
            .note(None, "in the attrset passed as argument to builtins.derivationStrict"));
    };
    let name = force_string_no_ctx(ev, &name_attr.value).map_err(|e| {
        e.note(None, "while evaluating the `name` attribute passed to builtins.derivationStrict")
            .note(name_attr.pos.span(), "while evaluating the derivation attribute 'name'")
    })?;
    derivation_strict(ev, &name, &attrs).map_err(|e| {
        let location = name_attr
            .pos
            .span()
            .and_then(|p| SourceMap::global().location(p))
            .map_or_else(|| "«unknown»".to_string(), |l| format!("{}:{}:{}", l.file, l.line, l.column));
        e.note(None, format!("while evaluating derivation '{name}'\n  whose name attribute is located at {location}"))
    })
}

/// How a fixed output is hashed, as `outputHashMode` says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Nar,
    Text,
    Git,
}

/// The derivation being built from the attributes.
#[derive(Default)]
struct Builder {
    drv: Derivation,
    context: BTreeSet<ContextElem>,
    json: Option<BTreeMap<String, String>>,
    explicit_json: Option<String>,
    output_hash: Option<String>,
    output_hash_algo: Option<HashAlgo>,
    mode: Option<Mode>,
    outputs: BTreeSet<String>,
}

fn derivation_strict(ev: &mut Evaluator, name: &str, attrs: &Attrs) -> EvalResult<Value> {
    if let Err(error) = nxe_store::validate_name(name) {
        let message = match error {
            nxe_store::StoreError::InvalidName { message, .. } => message,
            other => other.to_string(),
        };
        return Err(EvalError::msg(format!("invalid derivation name: {message}. Please pass a different 'name'.")));
    }
    let structured = match attrs.get(sym("__structuredAttrs")).cloned() {
        Some(value) => force_bool(ev, &value).map_err(|e| {
            e.note(None, "while evaluating the `__structuredAttrs` attribute passed to builtins.derivationStrict")
        })?,
        None => false,
    };
    let ignore_nulls = match attrs.get(sym("__ignoreNulls")).cloned() {
        Some(value) => force_bool(ev, &value).map_err(|e| {
            e.note(None, "while evaluating the `__ignoreNulls` attribute passed to builtins.derivationStrict")
        })?,
        None => false,
    };
    let mut b = Builder {
        json: structured.then(BTreeMap::new),
        outputs: BTreeSet::from(["out".to_string()]),
        ..Builder::default()
    };
    let mut sorted: Vec<&Attr> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.name.as_str().as_bytes().cmp(b.name.as_str().as_bytes()));
    for attr in sorted {
        let key = attr.name.as_str();
        if key == "__ignoreNulls" {
            continue;
        }
        process_attr(ev, &mut b, name, key, &attr.value, ignore_nulls).map_err(|e| {
            note_at(
                e,
                attr.pos.span(),
                format!("while evaluating attribute '{}' of derivation '{name}'", crate::print::shown_attr_name(key)),
            )
        })?;
    }
    let Builder { mut drv, context, json, explicit_json, output_hash, output_hash_algo, mode, outputs } = b;
    if let Some(object) = json {
        let mut text = String::from("{");
        for (idx, (key, value)) in object.iter().enumerate() {
            if idx > 0 {
                text.push(',');
            }
            json::write_string(&mut text, key);
            text.push(':');
            text.push_str(value);
        }
        text.push('}');
        drv.env.insert("__json".to_string(), text);
    } else if let Some(text) = explicit_json {
        drv.env.insert("__json".to_string(), text);
    }
    add_inputs(ev, &mut drv, &context)?;
    if drv.builder.is_empty() {
        return Err(EvalError::msg("required attribute 'builder' missing"));
    }
    if drv.platform.is_empty() {
        return Err(EvalError::msg("required attribute 'system' missing"));
    }
    if name.ends_with(".drv") {
        return Err(EvalError::msg(
            "derivation names are allowed to end in '.drv' only if they produce a single derivation file",
        ));
    }
    let store_dir = store::store_dir(ev)?;
    if let Some(hash_text) = output_hash {
        if outputs.len() != 1 || !outputs.contains("out") {
            return Err(EvalError::msg("multiple outputs are not supported in fixed-output derivations"));
        }
        let hash = new_hash_allow_empty(ev, &hash_text, output_hash_algo)?;
        let method = match mode.unwrap_or(Mode::Flat) {
            Mode::Nar => ContentAddressMethod::Recursive,
            Mode::Text => ContentAddressMethod::Text,
            Mode::Flat | Mode::Git => ContentAddressMethod::Flat,
        };
        let path = store::fixed_path(method, &hash, name, &BTreeSet::new(), &store_dir)?;
        let path = store_dir.display_path(&path);
        drv.env.insert("out".to_string(), path.clone());
        let mut output = Output::fixed(method, &hash);
        output.path = path;
        drv.outputs.insert("out".to_string(), output);
    } else {
        for output in &outputs {
            drv.outputs.insert(output.clone(), Output::default());
        }
        drv.fill_output_paths(name, &store_dir, &mut |p: &str| store::hash_modulo(ev, p).map_err(Wrapped))
            .map_err(|w| w.0)?;
    }
    let aterm = drv.to_aterm();
    let aterm_hash = Hash::compute(HashAlgo::Sha256, aterm.as_bytes());
    let mut references: BTreeSet<String> = drv.input_srcs.clone();
    references.extend(drv.input_drvs.keys().cloned());
    let drv_path = store::text_path_of_hash(&format!("{name}.drv"), &aterm_hash, &references, &store_dir)?;
    let drv_path = store_dir.display_path(&drv_path);
    // Without input derivations, the text hashed modulo is the ATerm itself, just hashed.
    let hash = match <[u8; 32]>::try_from(aterm_hash.bytes()) {
        Ok(hash) if drv.input_drvs.is_empty() && !drv.outputs.values().any(Output::is_fixed) => hash,
        _ => nxe_store::hash_derivation_modulo(&drv, &mut |p: &str| store::hash_modulo(ev, p).map_err(Wrapped))
            .map_err(|w| w.0)?,
    };
    ev.store_writes.drv_hashes.insert(drv_path.clone(), hash);
    let mut entries = vec![Attr {
        name: ev.sym.drv_path,
        value: Value::String(NixString::with_context(drv_path.as_str(), BTreeSet::from([deep_elem(&drv_path)]))),
        pos: Pos::NONE,
    }];
    for (output_name, output) in &drv.outputs {
        entries.push(Attr {
            name: sym(output_name),
            value: Value::String(NixString::with_context(
                output.path.as_str(),
                BTreeSet::from([built_elem(&drv_path, output_name)]),
            )),
            pos: Pos::NONE,
        });
    }
    ev.store_writes.derivations.insert(drv_path, drv);
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

/// `newHashAllowEmpty`: an empty hash is all zeros (with a warning) if the algorithm is known.
fn new_hash_allow_empty(ev: &mut Evaluator, text: &str, algo: Option<HashAlgo>) -> EvalResult<Hash> {
    if text.is_empty() {
        let Some(algo) = algo else {
            return Err(EvalError::msg("empty hash requires explicit hash algorithm"));
        };
        let hash = Hash::from_bytes(algo, &vec![0u8; algo.size()]).map_err(store_error)?;
        ev.io.trace(&format!("warning: found empty hash, assuming '{}'", hash.to_string_as(HashFormat::Sri, true)));
        return Ok(hash);
    }
    Hash::parse_any(text, algo).map_err(store_error)
}

/// `parseHashAlgoOpt`: unknown names give no algorithm.
fn parse_hash_algo_opt(name: &str) -> EvalResult<Option<HashAlgo>> {
    Ok(match name {
        "md5" => Some(HashAlgo::Md5),
        "sha1" => Some(HashAlgo::Sha1),
        "sha256" => Some(HashAlgo::Sha256),
        "sha512" => Some(HashAlgo::Sha512),
        "blake3" => return Err(xp_error("blake3-hashes", None)),
        _ => None,
    })
}

fn handle_hash_mode(b: &mut Builder, drv_name: &str, text: &str) -> EvalResult<()> {
    let mode = match text {
        "recursive" | "nar" => Mode::Nar,
        "flat" => Mode::Flat,
        "text" => Mode::Text,
        "git" => Mode::Git,
        other => return Err(EvalError::msg(format!("invalid value '{other}' for 'outputHashMode' attribute"))),
    };
    b.mode = Some(mode);
    match mode {
        Mode::Text => Err(xp_error(
            "dynamic-derivations",
            Some(format!("text-hashed derivation '{drv_name}', outputHashMode = \"text\"")),
        )),
        Mode::Git => Err(xp_error("git-hashing", None)),
        _ => Ok(()),
    }
}

fn handle_outputs(b: &mut Builder, names: Vec<String>) -> EvalResult<()> {
    b.outputs.clear();
    for name in names {
        if b.outputs.contains(&name) {
            return Err(EvalError::msg(format!("duplicate derivation output '{name}'")));
        }
        if name == "drvPath" {
            return Err(EvalError::msg("invalid derivation output name 'drvPath'"));
        }
        b.outputs.insert(name);
    }
    if b.outputs.is_empty() {
        return Err(EvalError::msg("derivation cannot have an empty set of outputs"));
    }
    Ok(())
}

fn process_attr(
    ev: &mut Evaluator,
    b: &mut Builder,
    drv_name: &str,
    key: &str,
    value: &Value,
    ignore_nulls: bool,
) -> EvalResult<()> {
    if ignore_nulls && matches!(ev.force(value)?, Value::Null) {
        return Ok(());
    }
    match key {
        "__contentAddressed" => {
            if force_bool(ev, value)? {
                return Err(xp_error("ca-derivations", None));
            }
        }
        "__impure" => {
            if force_bool(ev, value)? {
                return Err(xp_error("impure-derivations", None));
            }
        }
        "args" => {
            let items = force_list(ev, value)?;
            for item in items.iter() {
                let text = coerce_more(ev, item, &mut b.context)
                    .map_err(|e| e.note(None, "while evaluating an element of the argument list"))?;
                b.drv.args.push(text);
            }
        }
        _ if b.json.is_some() => {
            if key == "__structuredAttrs" {
                return Ok(());
            }
            let mut text = String::new();
            json::value_to_json(ev, value, &mut b.context, &mut text)?;
            if let Some(object) = b.json.as_mut() {
                object.insert(key.to_string(), text);
            }
            match key {
                "builder" => {
                    let s = force_string(ev, value)?;
                    b.context.extend(s.context().iter().cloned());
                    b.drv.builder = s.as_str().to_string();
                }
                "system" => b.drv.platform = force_string_no_ctx(ev, value)?,
                "outputHash" => b.output_hash = Some(force_string_no_ctx(ev, value)?),
                "outputHashAlgo" => {
                    let text = force_string_no_ctx(ev, value)?;
                    b.output_hash_algo = parse_hash_algo_opt(&text)?;
                }
                "outputHashMode" => {
                    let text = force_string_no_ctx(ev, value)?;
                    handle_hash_mode(b, drv_name, &text)?;
                }
                "outputs" => {
                    let items = force_list(ev, value)?;
                    let mut names = Vec::with_capacity(items.len());
                    for item in items.iter() {
                        names.push(force_string_no_ctx(ev, item)?);
                    }
                    handle_outputs(b, names)?;
                }
                _ => {}
            }
            if let Some(check) = [
                "allowedReferences",
                "allowedRequisites",
                "disallowedReferences",
                "disallowedRequisites",
                "maxSize",
                "maxClosureSize",
            ]
            .iter()
            .find(|k| **k == key)
            {
                ev.io.trace(&format!(
                    "warning: In a derivation named '{drv_name}', 'structuredAttrs' disables the effect of the derivation attribute '{check}'; use 'outputChecks.<output>.{check}' instead"
                ));
            }
        }
        _ => {
            let text = coerce_more(ev, value, &mut b.context)?;
            if key == "__json" {
                ev.io.trace(&format!(
                    "warning: In derivation '{drv_name}': setting structured attributes via '__json' is deprecated, and may be disallowed in future versions of Nix. Set '__structuredAttrs = true' instead."
                ));
                b.explicit_json = Some(json::normalize(&text)?);
                return Ok(());
            }
            match key {
                "builder" => b.drv.builder = text.clone(),
                "system" => b.drv.platform = text.clone(),
                "outputHash" => b.output_hash = Some(text.clone()),
                "outputHashAlgo" => b.output_hash_algo = parse_hash_algo_opt(&text)?,
                "outputHashMode" => handle_hash_mode(b, drv_name, &text)?,
                "outputs" => {
                    let names = text.split([' ', '\t', '\n', '\r']).filter(|s| !s.is_empty()).map(str::to_string);
                    handle_outputs(b, names.collect())?;
                }
                _ => {}
            }
            b.drv.env.entry(key.to_string()).or_insert(text);
        }
    }
    Ok(())
}

/// Adds the inputs a derivation's context calls for: plain paths as sources, outputs as
/// input derivations, and for a whole derivation (`=drv`) everything in its closure.
fn add_inputs(ev: &mut Evaluator, drv: &mut Derivation, context: &BTreeSet<ContextElem>) -> EvalResult<()> {
    let mut deep = Vec::new();
    let mut built = Vec::new();
    for elem in context {
        match parse_elem(elem) {
            Elem::Opaque(path) => {
                drv.input_srcs.insert(path.to_string());
            }
            Elem::DrvDeep(path) => deep.push(path),
            Elem::Built { drv: path, output } => built.push((path, output)),
        }
    }
    for path in deep {
        for member in store::closure(ev, path)? {
            if member.ends_with(".drv") {
                let outputs = store::read_derivation(ev, &member)?.outputs.keys().cloned().collect();
                drv.input_drvs.insert(member.clone(), outputs);
            }
            drv.input_srcs.insert(member);
        }
    }
    for (path, output) in built {
        drv.input_drvs.entry(path.to_string()).or_default().insert(output.to_string());
    }
    Ok(())
}

/// Coerces a derivation attribute to a string as Nix does (`coerceMore`, paths copied to the
/// store), collecting the context.
fn coerce_more(ev: &mut Evaluator, value: &Value, context: &mut BTreeSet<ContextElem>) -> EvalResult<String> {
    let value = ev.force(value)?;
    match &value {
        Value::String(s) => {
            context.extend(s.context().iter().cloned());
            Ok(s.as_str().to_string())
        }
        Value::Path(path) => {
            let copied = copy_path_to_store(ev, path)?;
            context.extend(copied.context().iter().cloned());
            Ok(copied.as_str().to_string())
        }
        Value::Attrs(attrs) => {
            if let Some(to_string) = attrs.get(ev.sym.to_string).cloned() {
                let result = ev.call(to_string, std::slice::from_ref(&value), None)?;
                return coerce_more(ev, &result, context)
                    .map_err(|e| e.note(None, "while evaluating the result of the `__toString` attribute"));
            }
            match attrs.get(ev.sym.out_path).cloned() {
                Some(out_path) => coerce_more(ev, &out_path, context),
                None => Err(cannot_coerce(&value)),
            }
        }
        Value::Bool(true) => Ok("1".to_string()),
        Value::Bool(false) | Value::Null => Ok(String::new()),
        Value::Int(n) => Ok(n.to_string()),
        Value::Float(f) => Ok(format!("{f:.6}")),
        Value::List(items) => {
            let mut text = String::new();
            for (idx, item) in items.iter().enumerate() {
                let item = ev.force(item)?;
                let piece = coerce_more(ev, &item, context)
                    .map_err(|e| e.note(None, "while evaluating one element of the list"))?;
                text.push_str(&piece);
                let empty_list = matches!(&item, Value::List(l) if l.is_empty());
                if idx + 1 < items.len() && !empty_list {
                    text.push(' ');
                }
            }
            Ok(text)
        }
        _ => Err(cannot_coerce(&value)),
    }
}

fn cannot_coerce(value: &Value) -> EvalError {
    EvalError::msg(format!("cannot coerce {} to a string: {}", value.type_with_article(), crate::print::short(value)))
}

/// Copies a path into the store for string interpolation (`"${./dir}"`) and returns the
/// store path with its context. Each path is hashed once per evaluator.
pub(crate) fn copy_path_to_store(ev: &mut Evaluator, path: &str) -> EvalResult<NixString> {
    if path.ends_with(".drv") {
        return Err(EvalError::msg("file names are not allowed to end in '.drv'"));
    }
    if let Some(store_path) = ev.store_writes.copied.get(path) {
        let store_path = store_path.clone();
        return Ok(store_string(store_path));
    }
    let io = ev.io.clone();
    let resolved = nar::resolve_symlinks(io.as_ref(), path, false)?;
    let name = crate::paths::base_name_of(path).to_string();
    let hash = nar::nar_hash(ev, &resolved, None)?;
    let store_dir = store::store_dir(ev)?;
    let store_path = store::fixed_path(ContentAddressMethod::Recursive, &hash, &name, &BTreeSet::new(), &store_dir)?;
    let store_path = store_dir.display_path(&store_path);
    ev.store_writes.paths.entry(store_path.clone()).or_insert(AddedPath::Source {
        source: resolved,
        recursive: true,
        excluded: BTreeSet::new(),
    });
    ev.store_writes.copied.insert(path.to_string(), store_path.clone());
    Ok(store_string(store_path))
}

/// A store path as a string whose context is the path itself.
fn store_string(path: String) -> NixString {
    let context = BTreeSet::from([ContextElem::from(path.as_str())]);
    NixString::with_context(&path, context)
}

fn builtin_to_file(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let name = force_string_no_ctx(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the first argument passed to builtins.toFile"))?;
    let contents = force_string(ev, &args[1])
        .map_err(|e| e.note(None, "while evaluating the second argument passed to builtins.toFile"))?;
    let mut references = BTreeSet::new();
    for elem in contents.context() {
        match parse_elem(elem) {
            Elem::Opaque(path) => {
                references.insert(path.to_string());
            }
            _ => {
                return Err(EvalError::msg(format!(
                    "files created by builtins.toFile may not reference derivations, but {name} references {}",
                    elem_to_string(elem)
                )))
            }
        }
    }
    let store_dir = store::store_dir(ev)?;
    let path = store::text_path(&name, contents.as_str().as_bytes(), &references, &store_dir)?;
    let path = store_dir.display_path(&path);
    ev.store_writes
        .paths
        .entry(path.clone())
        .or_insert(AddedPath::Text { contents: contents.as_str().to_string(), references });
    Ok(Value::String(store_string(path)))
}

/// Coerces to a path as Nix's `coerceToPath` does (paths as they are, `__toString`, or an
/// absolute path string), collecting the context.
fn coerce_to_path(ev: &mut Evaluator, value: &Value, context: &mut BTreeSet<ContextElem>) -> EvalResult<String> {
    let value = ev.force(value)?;
    match &value {
        Value::Path(path) => Ok(path.to_string()),
        Value::Attrs(attrs) if attrs.contains(ev.sym.to_string) => {
            let to_string = attrs.get(ev.sym.to_string).cloned().unwrap_or(Value::Null);
            let result = ev.call(to_string, std::slice::from_ref(&value), None)?;
            coerce_to_path(ev, &result, context)
        }
        _ => {
            let text = crate::ops::coerce_to_string(ev, &value, crate::ops::Coerce::PathPart)?;
            context.extend(text.context().iter().cloned());
            if !text.as_str().starts_with('/') {
                return Err(EvalError::msg(format!("string '{}' doesn't represent an absolute path", text.as_str())));
            }
            Ok(crate::paths::canonicalize(text.as_str()))
        }
    }
}

fn builtin_store_path(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let mut context = BTreeSet::new();
    let path = coerce_to_path(ev, &args[0], &mut context)
        .map_err(|e| e.note(None, "while evaluating the first argument passed to 'builtins.storePath'"))?;
    let store_dir = store::store_dir(ev)?;
    if !store_dir.is_in_store(&path) {
        return Err(EvalError::msg(format!("path '{path}' is not in the Nix store")));
    }
    let (store_path, _) = store_dir.split_path(&path).map_err(store_error)?;
    context.insert(store_dir.display_path(&store_path).into());
    Ok(Value::String(NixString::with_context(&path, context)))
}

fn builtin_filter_source(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let mut context = BTreeSet::new();
    let path = coerce_to_path(ev, &args[1], &mut context).map_err(|e| {
        e.note(None, "while evaluating the second argument (the path to filter) passed to 'builtins.filterSource'")
    })?;
    let filter = force_function(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the first argument passed to builtins.filterSource"))?;
    let name = crate::paths::base_name_of(&path).to_string();
    add_path(ev, &name, &path, Some(&filter), true, None)
}

fn builtin_path(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let attrs = force_attrs(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to 'builtins.path'"))?;
    let mut context = BTreeSet::new();
    let mut path = None;
    let mut name = String::new();
    let mut filter = None;
    let mut recursive = true;
    let mut expected = None;
    for attr in attrs.iter() {
        match attr.name.as_str() {
            "path" => {
                path = Some(coerce_to_path(ev, &attr.value, &mut context).map_err(|e| {
                    e.note(attr.pos.span(), "while evaluating the 'path' attribute passed to 'builtins.path'")
                })?)
            }
            "name" => {
                name = force_string_no_ctx(ev, &attr.value).map_err(|e| {
                    e.note(attr.pos.span(), "while evaluating the `name` attribute passed to builtins.path")
                })?
            }
            "filter" => {
                filter = Some(force_function(ev, &attr.value).map_err(|e| {
                    e.note(attr.pos.span(), "while evaluating the `filter` parameter passed to builtins.path")
                })?)
            }
            "recursive" => {
                recursive = force_bool(ev, &attr.value).map_err(|e| {
                    e.note(attr.pos.span(), "while evaluating the `recursive` attribute passed to builtins.path")
                })?
            }
            "sha256" => {
                let text = force_string_no_ctx(ev, &attr.value).map_err(|e| {
                    e.note(attr.pos.span(), "while evaluating the `sha256` attribute passed to builtins.path")
                })?;
                expected = Some(new_hash_allow_empty(ev, &text, Some(HashAlgo::Sha256))?);
            }
            other => {
                let error = EvalError::msg(format!("unsupported argument '{other}' to 'builtins.path'"));
                return Err(match attr.pos.span() {
                    Some(pos) => error.at(pos),
                    None => error,
                });
            }
        }
    }
    let Some(path) = path else {
        return Err(EvalError::msg("missing required 'path' attribute in the first argument to 'builtins.path'"));
    };
    if name.is_empty() {
        name = crate::paths::base_name_of(&path).to_string();
    }
    add_path(ev, &name, &path, filter.as_ref(), recursive, expected)
}

/// Adds a file system path to the store under `name`, filtered, as a NAR or a flat file,
/// optionally checking its hash.
fn add_path(
    ev: &mut Evaluator,
    name: &str,
    path: &str,
    filter: Option<&Value>,
    recursive: bool,
    expected: Option<Hash>,
) -> EvalResult<Value> {
    add_path_inner(ev, name, path, filter, recursive, expected)
        .map_err(|e| e.note(None, format!("while adding path '{path}'")))
}

fn add_path_inner(
    ev: &mut Evaluator,
    name: &str,
    path: &str,
    filter: Option<&Value>,
    recursive: bool,
    expected: Option<Hash>,
) -> EvalResult<Value> {
    let store_dir = store::store_dir(ev)?;
    let method = if recursive { ContentAddressMethod::Recursive } else { ContentAddressMethod::Flat };
    let io = ev.io.clone();
    let resolved = nar::resolve_symlinks(io.as_ref(), path, true)?;
    let mut excluded = BTreeSet::new();
    let hash = if recursive {
        match filter {
            Some(func) => {
                let mut filter = nar::Filter { func, excluded: BTreeSet::new() };
                let hash = nar::nar_hash(ev, &resolved, Some(&mut filter))?;
                excluded = filter.excluded;
                hash
            }
            None => nar::nar_hash(ev, &resolved, None)?,
        }
    } else {
        nar::flat_hash(ev, &resolved)?
    };
    let store_path = store::fixed_path(method, &hash, name, &BTreeSet::new(), &store_dir)?;
    if let Some(expected) = expected {
        let expected_path = store::fixed_path(method, &expected, name, &BTreeSet::new(), &store_dir)?;
        if expected_path != store_path {
            return Err(EvalError::msg(format!("store path mismatch in (possibly filtered) path added from '{path}'")));
        }
    }
    let store_path = store_dir.display_path(&store_path);
    ev.store_writes.paths.entry(store_path.clone()).or_insert(AddedPath::Source {
        source: resolved,
        recursive,
        excluded,
    });
    Ok(Value::String(store_string(store_path)))
}

/// Where the files of a work tree are shown while they are hashed, before their store path
/// is known (never a real path: the mount answers for it).
const PENDING_SOURCE: &str = "/.nxe-pending-source";

/// Shows the files git tracks in a local work tree at the store path Nix would copy them to
/// (named `name`), from now on in this evaluation, and returns that path (a string with
/// itself as context), its NAR hash, and the store object recorded for it.
pub(super) fn mount_git_source(
    ev: &mut Evaluator,
    name: &str,
    tree: &crate::io::GitWorkTree,
) -> EvalResult<(Value, Hash, (String, AddedPath))> {
    use crate::io::{MountedIo, SourceMount};
    let store_dir = store::store_dir(ev)?;
    let mount = |store_path: &str| SourceMount {
        store_path: store_path.to_string(),
        dir: tree.top.clone(),
        tracked: Some(tree.tracked.clone()),
    };
    let outer = ev.io.clone();
    ev.io = std::rc::Rc::new(MountedIo::new(outer.clone(), vec![mount(PENDING_SOURCE)]));
    let hashed = nar::nar_hash(ev, PENDING_SOURCE, None);
    ev.io = outer.clone();
    let hash = hashed?;
    let store_path = store::fixed_path(ContentAddressMethod::Recursive, &hash, name, &BTreeSet::new(), &store_dir)?;
    let store_path = store_dir.display_path(&store_path);
    let mounted = mount(&store_path);
    let excluded = mounted.excluded(outer.as_ref());
    ev.io = std::rc::Rc::new(MountedIo::new(outer, vec![mounted]));
    let added = AddedPath::Source { source: tree.top.display().to_string(), recursive: true, excluded };
    ev.store_writes.paths.entry(store_path.clone()).or_insert_with(|| added.clone());
    Ok((Value::String(store_string(store_path.clone())), hash, (store_path, added)))
}

/// Records a path fetched by hash only (its contents are not available) and returns it as a
/// string with its context.
pub(super) fn fetched_path(ev: &mut Evaluator, store_path: String, url: &str) -> Value {
    ev.store_writes.paths.entry(store_path.clone()).or_insert(AddedPath::Fetched { url: url.to_string() });
    Value::String(store_string(store_path))
}

/// Records a local file added flat (a `file://` download) and returns it as a string with
/// its context.
pub(super) fn add_local_file(ev: &mut Evaluator, name: &str, file: &str, expected: Option<Hash>) -> EvalResult<Value> {
    if !ev.io.path_exists(std::path::Path::new(file)) {
        return Err(EvalError::msg(format!(
            "unable to download 'file://{file}': Could not read a file:// file (37) Could not open file {file}"
        )));
    }
    let hash = nar::flat_hash(ev, file)?;
    if let Some(expected) = expected {
        if expected != hash {
            return Err(EvalError::msg(format!(
                "hash mismatch in file downloaded from 'file://{file}':\n  specified: {}\n  got:       {}",
                expected.to_string_as(HashFormat::Nix32, true),
                hash.to_string_as(HashFormat::Nix32, true)
            )));
        }
    }
    let store_dir = store::store_dir(ev)?;
    let store_path = store::fixed_path(ContentAddressMethod::Flat, &hash, name, &BTreeSet::new(), &store_dir)?;
    let store_path = store_dir.display_path(&store_path);
    ev.store_writes.paths.entry(store_path.clone()).or_insert(AddedPath::Source {
        source: file.to_string(),
        recursive: false,
        excluded: BTreeSet::new(),
    });
    Ok(Value::String(store_string(store_path)))
}

/// The store path of content with a known hash (`fetchurl`/`fetchTarball` with `sha256`).
pub(super) fn expected_fixed_path(ev: &Evaluator, name: &str, hash: &Hash, unpack: bool) -> EvalResult<String> {
    let store_dir = store::store_dir(ev)?;
    let method = if unpack { ContentAddressMethod::Recursive } else { ContentAddressMethod::Flat };
    let path = store::fixed_path(method, hash, name, &BTreeSet::new(), &store_dir)?;
    Ok(store_dir.display_path(&path))
}

/// `newHashAllowEmpty` for the fetchers.
pub(super) fn parse_hash_allow_empty(ev: &mut Evaluator, text: &str, algo: HashAlgo) -> EvalResult<Hash> {
    new_hash_allow_empty(ev, text, Some(algo))
}
