//! Hashing builtins: `hashString`, `hashFile` and `convertHash`.
//!
//! Digests and their encodings come from `nxe-store`, which parses hashes with the
//! reference's rules; this module adds the reference's argument handling and error
//! wording (`blake3` exists but needs an experimental feature that nxe does not offer, and
//! unknown names are usage errors).

use super::versions::force_string_no_ctx;
use super::{force_attrs, force_string};
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::Span;
use crate::symbol::Symbol;
use crate::value::{Forces, PrimOp, Value};
use nxe_store::{Hash, HashAlgo, HashFormat, StoreError};

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "hashString", arity: 2, func: builtin_hash_string, forces: Forces::Nothing },
    PrimOp { name: "hashFile", arity: 2, func: builtin_hash_file, forces: Forces::Nothing },
    PrimOp { name: "convertHash", arity: 1, func: builtin_convert_hash, forces: Forces::Nothing },
];

/// Parses an algorithm name as the reference does.
fn parse_algo(name: &str) -> EvalResult<HashAlgo> {
    if name == "blake3" {
        return Err(EvalError::msg(
            "experimental Nix feature 'blake3-hashes' is disabled; add '--extra-experimental-features blake3-hashes' to enable it",
        ));
    }
    HashAlgo::parse(name).map_err(|_| {
        EvalError::msg(format!(
            "unknown hash algorithm '{name}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'"
        ))
    })
}

/// Parses a `toHashFormat` name; `base32` is accepted with the reference's warning.
fn parse_format(ev: &mut Evaluator, name: &str) -> EvalResult<HashFormat> {
    match name {
        "base16" => Ok(HashFormat::Base16),
        "nix32" => Ok(HashFormat::Nix32),
        "base32" => {
            ev.io.trace("warning: \"base32\" is a deprecated alias for hash format \"nix32\".");
            Ok(HashFormat::Nix32)
        }
        "base64" => Ok(HashFormat::Base64),
        "sri" => Ok(HashFormat::Sri),
        _ => {
            Err(EvalError::msg(format!("unknown hash format '{name}', expect 'base16', 'base32', 'base64', or 'sri'")))
        }
    }
}

/// The first argument of `hashString` / `hashFile`.
fn algo_argument(ev: &mut Evaluator, value: &Value, builtin: &str) -> EvalResult<HashAlgo> {
    let what = format!("while evaluating the first argument passed to builtins.{builtin}");
    let name = force_string_no_ctx(ev, value, &what)?;
    parse_algo(name.as_str())
}

fn builtin_hash_string(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let algo = algo_argument(ev, &args[0], "hashString")?;
    let what = "while evaluating the second argument passed to builtins.hashString";
    let text = force_string(ev, &args[1]).map_err(|e| e.note(None, what))?;
    Ok(Value::string(Hash::compute(algo, text.as_str().as_bytes()).to_base16()))
}

fn builtin_hash_file(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let algo = algo_argument(ev, &args[0], "hashFile")?;
    let path = super::realise_path(ev, &args[1])?;
    let bytes = ev.io.read_file(std::path::Path::new(&path)).map_err(|e| super::read_error(&path, &e))?;
    Ok(Value::string(Hash::compute(algo, &bytes).to_base16()))
}

/// A string attribute of `convertHash`'s argument, `None` when absent and optional.
fn string_attr(
    ev: &mut Evaluator,
    attrs: &crate::value::Attrs,
    name: &str,
    required: bool,
) -> EvalResult<Option<String>> {
    let Some(value) = attrs.get(Symbol::intern(name)).cloned() else {
        if !required {
            return Ok(None);
        }
        let error = EvalError::msg(format!("attribute '{name}' missing"));
        return Err(error.note(None, format!("while locating the attribute '{name}'")));
    };
    let what = format!("while evaluating the attribute '{name}'");
    Ok(Some(force_string_no_ctx(ev, &value, &what)?.as_str().to_string()))
}

/// Rewords a hash parsing failure as the reference words it.
fn hash_error(error: StoreError) -> EvalError {
    match error {
        StoreError::UnknownHashAlgo(name) => match parse_algo(&name) {
            Err(error) => error,
            Ok(_) => EvalError::msg(format!("unknown hash algorithm '{name}'")),
        },
        StoreError::HashDecode { encoding: "base64", hash, actual, expected } => {
            EvalError::msg(format!("invalid Base64 hash '{hash}', length {actual} != expected length {expected}"))
        }
        other => EvalError::msg(other.to_string()),
    }
}

/// The algorithm named before `:` (or before `-` for SRI) in a hash string, if any.
fn prefix_algo(hash: &str) -> Option<&str> {
    hash.split_once(':').or_else(|| hash.split_once('-')).map(|(algo, _)| algo)
}

fn builtin_convert_hash(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let what = "while evaluating the first argument passed to builtins.convertHash";
    let attrs = force_attrs(ev, &args[0]).map_err(|e| e.note(None, what))?;
    let hash = string_attr(ev, &attrs, "hash", true)?.unwrap_or_default();
    let algo = match string_attr(ev, &attrs, "hashAlgo", false)? {
        Some(name) => Some(parse_algo(&name)?),
        None => None,
    };
    let format_name = string_attr(ev, &attrs, "toHashFormat", true)?.unwrap_or_default();
    let format = parse_format(ev, &format_name)?;
    if let Some(prefix) = prefix_algo(&hash) {
        parse_algo(prefix)?;
    }
    let parsed = Hash::parse_any(&hash, algo).map_err(hash_error)?;
    Ok(Value::string(parsed.to_string_as(format, format == HashFormat::Sri)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_are_checked_like_the_reference() {
        assert!(parse_algo("sha256").is_ok());
        let unknown = parse_algo("sha3").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(unknown.starts_with("unknown hash algorithm 'sha3', expect 'blake3'"));
        let blake = parse_algo("blake3").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(blake.contains("'blake3-hashes' is disabled"));
    }

    #[test]
    fn prefixes_are_found_like_the_parser_finds_them() {
        assert_eq!(prefix_algo("sha256:abc-def"), Some("sha256"));
        assert_eq!(prefix_algo("sha256-abc"), Some("sha256"));
        assert_eq!(prefix_algo("abc"), None);
    }
}
