//! Flake builtins: `parseFlakeRef` and `flakeRefToString` for the common kinds of flake
//! references (`github:`/`gitlab:`/`sourcehut:`, `path:` and absolute paths, `git+…`,
//! `hg+…`, tarball and file URLs, and indirect ids such as `nixpkgs/nixos-23.05`), with the
//! attribute sets and strings Nix 2.34 gives when flakes are enabled; `getFlake` is not
//! supported yet and says so.
//!
//! As in Nix, they need the `flakes` experimental feature, which nxe takes from its settings
//! (`--extra-experimental-features flakes`) or from the `NIX_CONFIG` environment variable
//! (`extra-experimental-features = flakes`), as Nix does
//! among its other configuration sources.

use super::fetch::percent_decode;
use super::force_attrs;
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::Span;
use crate::value::{Forces, PrimOp, Value};
use std::collections::BTreeMap;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "getFlake", arity: 1, func: builtin_get_flake, forces: Forces::Nothing },
    PrimOp { name: "parseFlakeRef", arity: 1, func: builtin_parse_flake_ref, forces: Forces::Nothing },
    PrimOp { name: "flakeRefToString", arity: 1, func: builtin_flake_ref_to_string, forces: Forces::Nothing },
];

/// A flake reference attribute: a string, a Boolean or an integer.
#[derive(Clone, Debug, PartialEq)]
enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
}

type RefAttrs = BTreeMap<String, AttrValue>;

/// Whether the `flakes` experimental feature is enabled, by the settings
/// (`--extra-experimental-features flakes`) or through `NIX_CONFIG`.
fn flakes_enabled(ev: &Evaluator) -> bool {
    if ev.settings.experimental_features.iter().any(|f| f == "flakes") {
        return true;
    }
    let Some(config) = ev.io.get_env("NIX_CONFIG") else { return false };
    config.lines().any(|line| match line.split_once('=') {
        Some((key, value)) => {
            matches!(key.trim(), "experimental-features" | "extra-experimental-features")
                && value.split_whitespace().any(|f| f == "flakes")
        }
        None => false,
    })
}

fn require_flakes(ev: &Evaluator) -> EvalResult<()> {
    if flakes_enabled(ev) {
        return Ok(());
    }
    Err(EvalError::msg(
        "experimental Nix feature 'flakes' is disabled; add '--extra-experimental-features flakes' to enable it",
    ))
}

fn builtin_get_flake(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let flake_ref = super::force_plain_string(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.getFlake"))?;
    require_flakes(ev)?;
    Err(EvalError::msg(format!("getFlake is not supported yet (flake reference '{}')", flake_ref.as_str())))
}

fn builtin_parse_flake_ref(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let text = super::context::force_string_no_ctx(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.parseFlakeRef"))?;
    require_flakes(ev)?;
    let attrs = parse_flake_ref(&text)?;
    let pairs = attrs
        .iter()
        .map(|(name, value)| {
            let value = match value {
                AttrValue::Str(s) => Value::string(s.as_str()),
                AttrValue::Bool(b) => Value::Bool(*b),
                AttrValue::Int(n) => Value::Int(*n),
            };
            (name.as_str(), value)
        })
        .collect();
    Ok(super::make_attrs(pairs))
}

fn builtin_flake_ref_to_string(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let attrs = force_attrs(ev, &args[0])
        .map_err(|e| e.note(None, "while evaluating the argument passed to builtins.flakeRefToString"))?;
    require_flakes(ev)?;
    let mut map = RefAttrs::new();
    for attr in attrs.iter() {
        let value = ev.force(&attr.value)?;
        let value = match value {
            Value::String(s) => AttrValue::Str(s.as_str().to_string()),
            Value::Bool(b) => AttrValue::Bool(b),
            Value::Int(n) => AttrValue::Int(n),
            other => {
                return Err(EvalError::msg(format!(
                    "flake reference attribute sets may only contain integers, Booleans, and strings, but attribute '{}' is {}",
                    attr.name,
                    other.type_with_article()
                )))
            }
        };
        map.insert(attr.name.as_str().to_string(), value);
    }
    Ok(Value::string(flake_ref_to_string(&map)?))
}

fn is_rev(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn is_flake_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Percent-encodes everything but unreserved characters and `keep`.
fn percent_encode(text: &str, keep: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits `?query` into decoded pairs, in order.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

fn render_query(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k, ""), percent_encode(v, ":@/?"))).collect();
    format!("?{}", parts.join("&"))
}

fn not_absolute(text: &str) -> EvalError {
    EvalError::msg(format!("flake reference '{text}' is not an absolute path"))
}

fn str_attr(value: &str) -> AttrValue {
    AttrValue::Str(value.to_string())
}

fn bool_param(value: &str) -> AttrValue {
    AttrValue::Bool(value == "1" || value == "true")
}

/// Parses a flake reference into its attributes.
fn parse_flake_ref(text: &str) -> EvalResult<RefAttrs> {
    let (body, fragment) = match text.split_once('#') {
        Some((body, fragment)) => (body, fragment),
        None => (text, ""),
    };
    if !fragment.is_empty() {
        return Err(EvalError::msg(format!("unexpected fragment '{fragment}' in flake reference '{text}'")));
    }
    let (location, query) = match body.split_once('?') {
        Some((location, query)) => (location, parse_query(query)),
        None => (body, Vec::new()),
    };
    let mut attrs = RefAttrs::new();
    // Indirect: `[flake:]id[/ref-or-rev[/rev]]`.
    let indirect = location.strip_prefix("flake:").unwrap_or(location);
    let parts: Vec<&str> = indirect.split('/').collect();
    if !location.contains("://") && is_flake_id(parts[0]) && (location.starts_with("flake:") || !location.contains(':'))
    {
        attrs.insert("type".into(), str_attr("indirect"));
        attrs.insert("id".into(), str_attr(parts[0]));
        match parts.len() {
            1 => {}
            2 if is_rev(parts[1]) => {
                attrs.insert("rev".into(), str_attr(parts[1]));
            }
            2 => {
                attrs.insert("ref".into(), str_attr(parts[1]));
            }
            3 if is_rev(parts[2]) => {
                attrs.insert("ref".into(), str_attr(parts[1]));
                attrs.insert("rev".into(), str_attr(parts[2]));
            }
            _ => return Err(EvalError::msg(format!("'{text}' is not a valid flake reference"))),
        }
        return Ok(attrs);
    }
    if location.starts_with('/') {
        attrs.insert("type".into(), str_attr("path"));
        attrs.insert("path".into(), str_attr(&percent_decode(location)));
        add_params(&mut attrs, &query, &["narHash", "rev", "revCount", "lastModified"]);
        return Ok(attrs);
    }
    let Some((scheme, rest)) = location.split_once(':') else {
        return Err(not_absolute(text));
    };
    match scheme {
        "github" | "gitlab" | "sourcehut" => {
            let segments: Vec<String> = rest.split('/').map(percent_decode).collect();
            if segments.len() < 2 || segments[0].is_empty() || segments[1].is_empty() {
                return Err(not_absolute(text));
            }
            attrs.insert("type".into(), str_attr(scheme));
            attrs.insert("owner".into(), str_attr(&segments[0]));
            attrs.insert("repo".into(), str_attr(&segments[1]));
            if segments.len() > 2 {
                let rest = segments[2..].join("/");
                if is_rev(&rest) {
                    attrs.insert("rev".into(), AttrValue::Str(rest));
                } else {
                    attrs.insert("ref".into(), AttrValue::Str(rest));
                }
            }
            add_params(&mut attrs, &query, &["dir", "host", "narHash", "ref", "rev"]);
        }
        "path" => {
            attrs.insert("type".into(), str_attr("path"));
            attrs.insert("path".into(), str_attr(&percent_decode(rest)));
            add_params(&mut attrs, &query, &["narHash", "rev", "revCount", "lastModified"]);
        }
        _ => {
            let (kind, url_scheme) = match scheme.split_once('+') {
                Some((kind, inner)) => (kind, inner),
                None => ("", scheme),
            };
            let (ty, known): (&str, &[&str]) = match kind {
                "git" => (
                    "git",
                    &["allRefs", "dir", "exportIgnore", "lfs", "narHash", "ref", "rev", "shallow", "submodules"],
                ),
                "hg" => ("hg", &["dir", "narHash", "ref", "rev"]),
                "tarball" => ("tarball", &["dir", "narHash"]),
                "file" => ("file", &["dir", "narHash"]),
                "" if matches!(url_scheme, "http" | "https" | "file") => ("tarball", &["dir", "narHash"]),
                _ => return Err(EvalError::msg(format!("input '{text}' is unsupported"))),
            };
            let mut remaining = Vec::new();
            for (key, value) in &query {
                if known.contains(&key.as_str()) {
                    let value = match key.as_str() {
                        "allRefs" | "exportIgnore" | "lfs" | "shallow" | "submodules" => bool_param(value),
                        _ => str_attr(value),
                    };
                    attrs.insert(key.clone(), value);
                } else {
                    remaining.push((key.clone(), value.clone()));
                }
            }
            attrs.insert("type".into(), str_attr(ty));
            attrs.insert("url".into(), AttrValue::Str(format!("{url_scheme}:{rest}{}", render_query(&remaining))));
        }
    }
    Ok(attrs)
}

fn add_params(attrs: &mut RefAttrs, query: &[(String, String)], known: &[&str]) {
    for (key, value) in query {
        if known.contains(&key.as_str()) {
            let value = match key.as_str() {
                "revCount" | "lastModified" => match value.parse() {
                    Ok(n) => AttrValue::Int(n),
                    Err(_) => continue,
                },
                _ => str_attr(value),
            };
            attrs.insert(key.clone(), value);
        }
    }
}

fn get_str<'a>(attrs: &'a RefAttrs, name: &str) -> Option<&'a str> {
    match attrs.get(name) {
        Some(AttrValue::Str(s)) => Some(s),
        _ => None,
    }
}

fn required<'a>(attrs: &'a RefAttrs, name: &str, ty: &str) -> EvalResult<&'a str> {
    get_str(attrs, name).ok_or_else(|| EvalError::msg(format!("attribute '{name}' is missing in input of type '{ty}'")))
}

fn param_pairs(attrs: &RefAttrs, names: &[&str]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for name in names {
        match attrs.get(*name) {
            Some(AttrValue::Str(s)) => pairs.push((name.to_string(), s.clone())),
            Some(AttrValue::Bool(b)) => pairs.push((name.to_string(), if *b { "1" } else { "0" }.to_string())),
            Some(AttrValue::Int(n)) => pairs.push((name.to_string(), n.to_string())),
            None => {}
        }
    }
    pairs
}

/// Renders flake reference attributes as a URL-like string.
fn flake_ref_to_string(attrs: &RefAttrs) -> EvalResult<String> {
    let Some(ty) = get_str(attrs, "type") else {
        return Err(EvalError::msg("'type' attribute to specify input scheme is required but not provided"));
    };
    Ok(match ty {
        "indirect" => {
            let mut out = format!("flake:{}", required(attrs, "id", ty)?);
            if let Some(r) = get_str(attrs, "ref") {
                out.push('/');
                out.push_str(r);
            }
            if let Some(r) = get_str(attrs, "rev") {
                out.push('/');
                out.push_str(r);
            }
            out
        }
        "github" | "gitlab" | "sourcehut" => {
            let mut out = format!("{ty}:{}/{}", required(attrs, "owner", ty)?, required(attrs, "repo", ty)?);
            if let Some(r) = get_str(attrs, "rev").or_else(|| get_str(attrs, "ref")) {
                out.push('/');
                out.push_str(&percent_encode(r, ""));
            }
            out.push_str(&render_query(&param_pairs(attrs, &["dir", "host", "narHash"])));
            out
        }
        "path" => {
            let mut out = format!("path:{}", required(attrs, "path", ty)?);
            out.push_str(&render_query(&param_pairs(attrs, &["lastModified", "narHash", "rev", "revCount"])));
            out
        }
        "git" | "hg" => {
            let url = required(attrs, "url", ty)?;
            let names: &[&str] = if ty == "git" {
                &["dir", "lfs", "narHash", "ref", "rev", "shallow", "submodules"]
            } else {
                &["dir", "narHash", "ref", "rev"]
            };
            let pairs = param_pairs(attrs, names);
            let mut out = format!("{ty}+{url}");
            if !pairs.is_empty() {
                let query = render_query(&pairs);
                if url.contains('?') {
                    out.push('&');
                    out.push_str(&query[1..]);
                } else {
                    out.push_str(&query);
                }
            }
            out
        }
        "tarball" | "file" => {
            let url = required(attrs, "url", ty)?;
            let pairs = param_pairs(attrs, &["dir", "narHash"]);
            let mut out = url.to_string();
            if !pairs.is_empty() {
                let query = render_query(&pairs);
                out.push_str(if url.contains('?') { "&" } else { "?" });
                out.push_str(&query[1..]);
            }
            out
        }
        other => return Err(EvalError::msg(format!("input type '{other}' is not supported"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        match parse_flake_ref(text).and_then(|a| flake_ref_to_string(&a)) {
            Ok(s) => s,
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn common_refs() {
        assert_eq!(round_trip("nixpkgs"), "flake:nixpkgs");
        assert_eq!(round_trip("nixpkgs/nixos-23.05"), "flake:nixpkgs/nixos-23.05");
        assert_eq!(round_trip("github:NixOS/nixpkgs/nixos-23.05"), "github:NixOS/nixpkgs/nixos-23.05");
        assert_eq!(round_trip("github:a/b/c/d"), "github:a/b/c%2Fd");
        assert_eq!(round_trip("github:a/b?ref=x"), "github:a/b/x");
        assert_eq!(round_trip("/tmp"), "path:/tmp");
        assert_eq!(round_trip("git+https://e.org/x?foo=bar"), "git+https://e.org/x?foo=bar");
        assert_eq!(round_trip("git+https://e.org/x?shallow=1&allRefs=1"), "git+https://e.org/x?shallow=1");
        assert_eq!(
            round_trip("github:a/b?narHash=sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            "github:a/b?narHash=sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
        );
        assert_eq!(round_trip("https://e.org/x.tar.gz"), "https://e.org/x.tar.gz");
        assert_eq!(round_trip("./rel"), "error: flake reference './rel' is not an absolute path");
    }
}
