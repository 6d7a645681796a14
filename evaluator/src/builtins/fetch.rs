//! The fetchers: `fetchurl`, `fetchTarball`, `fetchGit` and `fetchMercurial`.
//!
//! nxe has no network access and no store to download into, so only what can be decided
//! locally is accepted, with the store paths Nix 2.34 would give:
//!
//! * `fetchurl` of a `file://` URL hashes the local file (flat SHA-256);
//! * `fetchurl` and `fetchTarball` given a `sha256` yield the path that hash determines, as
//!   Nix does when the path is already in its store (the contents are not checked, except
//!   for local files);
//! * `fetchGit` of a local work tree (a path or a `file://` URL) hashes the files git tracks,
//!   with their contents on disk, and shows them at the resulting store path for the rest of
//!   the evaluation (see [`crate::io::MountedIo`]), as `lib.fileset.gitTracked` needs;
//! * anything else fails with a clear error saying network access is not available.
//!
//! Argument checking (unsupported attributes, a missing `url`, store path names) follows
//! Nix's order and wording. `fetchTree` needs an experimental feature in Nix 2.34 and is not
//! provided.

use super::context::force_string_no_ctx;
use super::derivation;
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::source::Span;
use crate::value::{Forces, PrimOp, Value};
use nxe_store::HashAlgo;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "fetchurl", arity: 1, func: builtin_fetchurl, forces: Forces::Nothing },
    PrimOp { name: "fetchTarball", arity: 1, func: builtin_fetch_tarball, forces: Forces::Nothing },
    PrimOp { name: "fetchGit", arity: 1, func: builtin_fetch_git, forces: Forces::Nothing },
    PrimOp { name: "fetchMercurial", arity: 1, func: builtin_fetch_mercurial, forces: Forces::Nothing },
];

fn builtin_fetchurl(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    fetch(ev, &args[0], "fetchurl", false, "")
}

fn builtin_fetch_tarball(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    fetch(ev, &args[0], "fetchTarball", true, "source")
}

/// Nix's `baseNameOf` on a URL: the text after the last `/`, ignoring one trailing `/`.
fn url_base_name(url: &str) -> &str {
    crate::paths::base_name_of(url)
}

/// `channel:NAME` as `fetchTarball` resolves it.
fn resolve_pseudo_url(url: &str) -> String {
    match url.strip_prefix("channel:") {
        Some(channel) => format!("https://channels.nixos.org/{channel}/nixexprs.tar.xz"),
        None => url.to_string(),
    }
}

/// Decodes `%XX` escapes of a `file://` URL's path.
pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] == b'%' && idx + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[idx + 1]), hex(bytes[idx + 2])) {
                out.push((hi * 16 + lo) as u8);
                idx += 3;
                continue;
            }
        }
        out.push(bytes[idx]);
        idx += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn no_network(who: &str, url: &str) -> EvalError {
    EvalError::msg(format!(
        "cannot {who} '{url}': network access is not available in nxe (give the expected 'sha256' to use the store path it determines)"
    ))
}

fn fetch(ev: &mut Evaluator, arg: &Value, who: &str, unpack: bool, default_name: &str) -> EvalResult<Value> {
    let arg = ev.force(arg)?;
    let mut url = None;
    let mut expected = None;
    let mut name = default_name.to_string();
    let mut name_passed = false;
    let is_attrs = matches!(arg, Value::Attrs(_));
    if let Value::Attrs(attrs) = &arg {
        // The reference takes the attributes in the order its symbol table gives them: the
        // names it knows from the start (`name`, `url`) before `sha256`, then the rest.
        let mut ordered: Vec<&crate::value::Attr> = Vec::with_capacity(attrs.len());
        for known in ["name", "url", "sha256"] {
            ordered.extend(attrs.iter().filter(|attr| attr.name.as_str() == known));
        }
        ordered.extend(attrs.iter().filter(|attr| !matches!(attr.name.as_str(), "name" | "url" | "sha256")));
        for attr in ordered {
            match attr.name.as_str() {
                "url" => {
                    url = Some(
                        force_string_no_ctx(ev, &attr.value)
                            .map_err(|e| e.note(attr.pos.span(), "while evaluating the url we should fetch"))?,
                    )
                }
                "sha256" => {
                    let text = force_string_no_ctx(ev, &attr.value).map_err(|e| {
                        e.note(attr.pos.span(), "while evaluating the sha256 of the content we should fetch")
                    })?;
                    expected = Some(derivation::parse_hash_allow_empty(ev, &text, HashAlgo::Sha256)?);
                }
                "name" => {
                    name_passed = true;
                    name = force_string_no_ctx(ev, &attr.value).map_err(|e| {
                        e.note(attr.pos.span(), "while evaluating the name of the content we should fetch")
                    })?;
                }
                other => return Err(EvalError::msg(format!("unsupported argument '{other}' to '{who}'"))),
            }
        }
    } else {
        url =
            Some(force_string_no_ctx(ev, &arg).map_err(|e| e.note(None, "while evaluating the url we should fetch"))?);
    }
    let Some(mut url) = url else {
        return Err(EvalError::msg("'url' argument required"));
    };
    if who == "fetchTarball" {
        url = resolve_pseudo_url(&url);
    }
    if name.is_empty() {
        name = url_base_name(&url).to_string();
    }
    if let Err(error) = nxe_store::validate_name(&name) {
        let message = match error {
            nxe_store::StoreError::InvalidName { message, .. } => message,
            other => other.to_string(),
        };
        let resolution = if name_passed {
            format!("Please change the value for the 'name' attribute passed to '{who}', so that it can create a valid store path.")
        } else if is_attrs {
            format!("Please add a valid 'name' attribute to the argument for '{who}', so that it can create a valid store path.")
        } else {
            format!("Please pass an attribute set with 'url' and 'name' attributes to '{who}',  so that it can create a valid store path.")
        };
        return Err(EvalError::msg(format!(
            "invalid store path name when fetching URL '{url}': {message}. {resolution}"
        )));
    }
    if let Some(hash) = &expected {
        let path = derivation::expected_fixed_path(ev, &name, hash, unpack)?;
        if !url.starts_with("file://") || unpack {
            return Ok(derivation::fetched_path(ev, path, &url));
        }
    }
    if let Some(file) = url.strip_prefix("file://") {
        if unpack {
            return Err(EvalError::msg(format!(
                "cannot unpack '{url}': unpacking tarballs is not available in nxe (give the expected 'sha256' to use the store path it determines)"
            )));
        }
        let file = percent_decode(file);
        return derivation::add_local_file(ev, &name, &file, expected);
    }
    Err(no_network(if unpack { "download and unpack" } else { "download" }, &url))
}

/// Attributes the Git input scheme accepts (besides `type`).
const GIT_ATTRS: &[&str] = &[
    "allRefs",
    "dirtyRev",
    "dirtyShortRev",
    "exportIgnore",
    "keytype",
    "lastModified",
    "lfs",
    "name",
    "narHash",
    "publicKey",
    "publicKeys",
    "ref",
    "rev",
    "revCount",
    "shallow",
    "submodules",
    "url",
    "verifyCommit",
];

/// What a `fetchGit` call asks for besides its URL.
#[derive(Default)]
struct GitRequest {
    name: Option<String>,
    reference: Option<String>,
    rev: Option<String>,
    submodules: bool,
    shallow: bool,
    /// `exportIgnore = false`: files `export-ignore` marks are part of the source.
    keep_export_ignored: bool,
    /// What the caller pinned, checked against what is fetched.
    nar_hash: Option<String>,
    rev_count: Option<i64>,
    last_modified: Option<i64>,
}

fn builtin_fetch_git(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let arg = ev.force(&args[0])?;
    let mut request = GitRequest::default();
    let url = match &arg {
        Value::Attrs(attrs) => {
            if attrs.contains(crate::symbol::Symbol::intern("type")) {
                return Err(EvalError::msg("unexpected argument 'type'"));
            }
            let mut url = None;
            for attr in attrs.iter() {
                let name = attr.name.as_str();
                let value = ev.force(&attr.value)?;
                match &value {
                    Value::String(_) | Value::Path(_) => {
                        let text = crate::ops::coerce_to_string(ev, &value, crate::ops::Coerce::PathPart)?;
                        let text = Some(text.as_str().to_string());
                        match name {
                            "url" => url = text,
                            "name" => request.name = text,
                            "ref" => request.reference = text,
                            "rev" => request.rev = text,
                            "narHash" => request.nar_hash = text,
                            _ => {}
                        }
                    }
                    Value::Bool(flag) => match name {
                        "exportIgnore" => request.keep_export_ignored = !*flag,
                        "submodules" => request.submodules = *flag,
                        "shallow" => request.shallow = *flag,
                        _ => {}
                    },
                    Value::Int(n) if *n < 0 => {
                        return Err(EvalError::msg(format!(
                            "negative value given for 'fetchGit' argument '{name}': {n}"
                        )))
                    }
                    Value::Int(n) => match name {
                        "revCount" => request.rev_count = Some(*n),
                        "lastModified" => request.last_modified = Some(*n),
                        _ => {}
                    },
                    _ if name == "publicKeys" => {}
                    other => {
                        return Err(EvalError::msg(format!(
                            "argument '{name}' to 'fetchGit' is {} while a string, Boolean or integer is expected",
                            other.type_with_article()
                        )))
                    }
                }
            }
            for attr in attrs.iter() {
                if !GIT_ATTRS.contains(&attr.name.as_str()) {
                    return Err(EvalError::msg(format!(
                        "input attribute '{}' not supported by scheme 'git'",
                        attr.name
                    )));
                }
            }
            match url {
                Some(url) => url,
                None => return Err(EvalError::msg("attribute 'url' is missing")),
            }
        }
        other => crate::ops::coerce_to_string(ev, other, crate::ops::Coerce::PathPart)
            .map_err(|e| e.note(None, "while evaluating the first argument passed to 'fetchGit'"))?
            .as_str()
            .to_string(),
    };
    fetch_local_git(ev, &url, &request)
}

/// `fetchGit` of a local repository: the files git tracks in its work tree, with their
/// contents on disk (a dirty tree gives the zero revision and `dirtyRev`, with a warning), or
/// the commit a `ref` or `rev` names, as committed; without the files `export-ignore` marks
/// (unless `exportIgnore = false`); at the store path Nix copies them to. A pinned `narHash`,
/// `revCount` or `lastModified` must hold.
fn fetch_local_git(ev: &mut Evaluator, url: &str, request: &GitRequest) -> EvalResult<Value> {
    let local = match url.strip_prefix("git+file://").or_else(|| url.strip_prefix("file://")) {
        Some(path) => Some(percent_decode(path)),
        None => url.starts_with('/').then(|| url.to_string()),
    };
    let Some(dir) = local else {
        return Err(EvalError::msg(format!(
            "cannot fetch Git repository '{url}': fetching remote Git repositories is not available in nxe (no network access); only local work trees are"
        )));
    };
    let dir = match dir.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    };
    let key = format!(
        "{dir}\0{:?}\0{:?}\0{:?}\0{}\0{}\0{}",
        request.name, request.reference, request.rev, request.submodules, request.shallow, request.keep_export_ignored
    );
    if let Some((value, store_path, added)) = ev.fetched_git.get(&key) {
        let value = value.clone();
        let (store_path, added) = (store_path.clone(), added.clone());
        ev.store_writes.paths.entry(store_path).or_insert(added);
        return Ok(value);
    }
    let mut tree = ev
        .io
        .git_work_tree(std::path::Path::new(&dir))
        .map_err(|e| EvalError::msg(format!("cannot fetch Git repository '{url}': {e}")))?;
    // A `rev` or `ref` names a commit, fetched as it was committed whatever the work tree
    // holds: the work tree itself serves when it is clean and that commit is checked out.
    if request.rev.is_some() || request.reference.is_some() {
        let rev_checked_out = request.rev.as_deref().is_none_or(|rev| Some(rev) == tree.head.as_deref());
        let ref_checked_out = request.reference.as_deref().is_none_or(|name| {
            name == "HEAD"
                || tree.branch.as_deref().is_some_and(|b| name == b || name.strip_prefix("refs/heads/") == Some(b))
        });
        if tree.dirty || !rev_checked_out || !ref_checked_out {
            tree = fetch_commit(ev, &dir, request)?;
        }
    }
    // Submodules give their files when each is known: checked out in the work tree, or, for a
    // commit, checked out from the clone git keeps of it.
    if request.submodules {
        match tree.with_submodules.take() {
            Some(files) => tree.tracked = files,
            None if tree.tracked.contains(std::path::Path::new(".gitmodules")) => {
                return Err(EvalError::msg(format!(
                    "cannot fetch Git repository '{url}' with its submodules: a submodule has no clone in the repository to check it out from, and nxe does not download"
                )));
            }
            None => {}
        }
    }
    let clean = tree.head.as_deref().filter(|_| !tree.dirty);
    if clean.is_none() {
        ev.io.trace(&format!("warning: Git tree '{dir}' is dirty"));
    }
    if !request.keep_export_ignored && !tree.export_ignored.is_empty() {
        tree.tracked = std::sync::Arc::new(tree.without_export_ignored());
    }
    let name = request.name.as_deref().unwrap_or("source");
    let (out_path, hash, added) = derivation::mount_git_source(ev, name, &tree)?;
    const ZERO_REV: &str = "0000000000000000000000000000000000000000";
    let rev = clean.unwrap_or(ZERO_REV);
    let rev_count = if clean.is_some() && !request.shallow { tree.rev_count } else { 0 };
    check_pins(request, &dir, &hash, clean.zip(tree.branch.as_deref()), rev_count, tree.last_modified)?;
    let short = |rev: &str| rev[..rev.len().min(7)].to_string();
    let mut entries = vec![
        ("lastModified", Value::Int(tree.last_modified)),
        ("lastModifiedDate", Value::string(crate::io::format_date(tree.last_modified).as_str())),
        ("narHash", Value::string(hash.to_string_as(nxe_store::HashFormat::Sri, true).as_str())),
        ("outPath", out_path),
        ("rev", Value::string(rev)),
        ("revCount", Value::Int(rev_count)),
        ("shortRev", Value::string(short(rev).as_str())),
        ("submodules", Value::Bool(request.submodules)),
    ];
    // A repository without commits is dirty, with no revision to name.
    if let (None, Some(head)) = (clean, tree.head.as_deref()) {
        entries.push(("dirtyRev", Value::string(format!("{head}-dirty").as_str())));
        entries.push(("dirtyShortRev", Value::string(format!("{}-dirty", short(head)).as_str())));
    }
    let entries = entries
        .into_iter()
        .map(|(name, value)| crate::value::Attr {
            name: crate::symbol::Symbol::intern(name),
            value,
            pos: crate::source::Pos::NONE,
        })
        .collect();
    let value = Value::attrs(crate::value::Attrs::from_unsorted(entries));
    ev.fetched_git.insert(key, (value.clone(), added.0, added.1));
    Ok(value)
}

/// The commit a fetch's `rev` (or else its `ref`) names, exported from the repository of the
/// work tree `dir`; failing as the reference does for a name or hash the repository lacks.
fn fetch_commit(ev: &mut Evaluator, dir: &str, request: &GitRequest) -> EvalResult<crate::io::GitWorkTree> {
    let (revision, input) = match (&request.rev, &request.reference) {
        (Some(rev), _) => (rev.as_str(), format!("git+file://{dir}?exportIgnore=1&rev={rev}")),
        (None, Some(name)) => (name.as_str(), format!("git+file://{dir}?exportIgnore=1&ref={name}")),
        (None, None) => return Err(EvalError::msg("internal error: a commit fetched without a name")),
    };
    ev.io.git_commit_tree(std::path::Path::new(dir), revision).map_err(|e| {
        let message = match (e.kind(), &request.rev) {
            (std::io::ErrorKind::NotFound, Some(rev)) => format!("getting Git object '{rev}': object not found"),
            (std::io::ErrorKind::NotFound, None) => {
                format!("resolving Git reference '{revision}': revspec '{revision}' not found")
            }
            _ => format!("cannot fetch revision '{revision}' of Git repository '{dir}': {e}"),
        };
        EvalError::msg(message).note(None, format!("while fetching the input '{input}'"))
    })
}

/// Checks what the caller pinned (`narHash`, `revCount`, `lastModified`) against what was
/// fetched, failing as the reference does. `checked_out` is the clean commit and its branch.
fn check_pins(
    request: &GitRequest,
    dir: &str,
    hash: &nxe_store::Hash,
    checked_out: Option<(&str, &str)>,
    rev_count: i64,
    last_modified: i64,
) -> EvalResult<()> {
    let input = format!("git+file://{dir}?exportIgnore=1");
    if let Some(pinned) = &request.nar_hash {
        let matches = nxe_store::Hash::parse_any(pinned, Some(HashAlgo::Sha256)).is_ok_and(|p| &p == hash);
        if !matches {
            return Err(EvalError::msg(format!(
                "NAR hash mismatch in input '{input}', expected '{}' but got '{pinned}'",
                hash.to_sri()
            )));
        }
    }
    let locked = match checked_out {
        Some((rev, branch)) => format!("{input}&ref=refs/heads/{branch}&rev={rev}"),
        None => input.clone(),
    };
    let fetching = format!("while fetching the input '{input}'");
    if let Some(pinned) = request.rev_count.filter(|n| *n != rev_count) {
        return Err(EvalError::msg(format!("'revCount' attribute mismatch in input '{locked}', expected {pinned}"))
            .note(None, fetching));
    }
    if let Some(pinned) = request.last_modified.filter(|n| *n != last_modified) {
        return Err(EvalError::msg(format!(
            "'lastModified' attribute mismatch in input '{locked}', expected {pinned}, got {last_modified}"
        ))
        .note(None, fetching));
    }
    Ok(())
}

fn builtin_fetch_mercurial(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let arg = ev.force(&args[0])?;
    let url = match &arg {
        Value::Attrs(attrs) => {
            let mut url = String::new();
            for attr in attrs.iter() {
                match attr.name.as_str() {
                    "url" => {
                        url = crate::ops::coerce_to_string(ev, &attr.value, crate::ops::Coerce::PathPart)
                            .map_err(|e| {
                                e.note(
                                    attr.pos.span(),
                                    "while evaluating the `url` attribute passed to builtins.fetchMercurial",
                                )
                            })?
                            .as_str()
                            .to_string()
                    }
                    "rev" => {
                        force_string_no_ctx(ev, &attr.value).map_err(|e| {
                            e.note(
                                attr.pos.span(),
                                "while evaluating the `rev` attribute passed to builtins.fetchMercurial",
                            )
                        })?;
                    }
                    "name" => {
                        force_string_no_ctx(ev, &attr.value).map_err(|e| {
                            e.note(
                                attr.pos.span(),
                                "while evaluating the `name` attribute passed to builtins.fetchMercurial",
                            )
                        })?;
                    }
                    other => return Err(EvalError::msg(format!("unsupported argument '{other}' to 'fetchMercurial'"))),
                }
            }
            if url.is_empty() {
                return Err(EvalError::msg("'url' argument required"));
            }
            url
        }
        other => crate::ops::coerce_to_string(ev, other, crate::ops::Coerce::PathPart)
            .map_err(|e| e.note(None, "while evaluating the first argument passed to builtins.fetchMercurial"))?
            .as_str()
            .to_string(),
    };
    Err(EvalError::msg(format!(
        "cannot fetch Mercurial repository '{url}': fetching Mercurial repositories is not available in nxe (no network access, no Mercurial support)"
    )))
}
