//! Store-side helpers of the derivation builtins: store paths with Nix's error messages,
//! the hash modulo of input derivations (cached per evaluator, or read from `.drv` files
//! through `ev.io` for derivations this evaluator did not create), and closures of store
//! paths over the references the evaluator knows.

use crate::error::{EvalError, EvalResult};
use crate::eval::{AddedPath, Evaluator};
use nxe_store::{
    hash_derivation_modulo, make_type, ContentAddressMethod, Derivation, Hash, HashAlgo, HashFormat, StoreDir,
    StoreError, StorePath,
};
use std::collections::BTreeSet;
use std::path::Path;

/// A store error as an evaluation error, with the store crate's (Nix-worded) message.
pub(super) fn store_error(error: StoreError) -> EvalError {
    EvalError::msg(error.to_string())
}

/// Carries an [`EvalError`] through the store crate's generic lookups.
pub(super) struct Wrapped(pub(super) EvalError);

impl From<StoreError> for Wrapped {
    fn from(error: StoreError) -> Wrapped {
        Wrapped(store_error(error))
    }
}

/// The evaluator's store directory.
pub(crate) fn store_dir(ev: &Evaluator) -> EvalResult<StoreDir> {
    StoreDir::new(&ev.settings.store_dir).map_err(store_error)
}

/// `make_store_path`, but with Nix's message for a bad name: the would-be path is shown.
pub(super) fn make_path(kind: &str, inner: &Hash, name: &str, store_dir: &StoreDir) -> EvalResult<StorePath> {
    let digest = nxe_store::store_path_digest(kind, inner, name, store_dir);
    StorePath::new(digest, name).map_err(|error| match error {
        StoreError::InvalidName { message, .. } => EvalError::msg(format!(
            "path '{}-{name}' is not a valid store path: {message}",
            nxe_store::nix32::encode(&digest)
        )),
        other => store_error(other),
    })
}

/// The path of a text file (`toFile`, `.drv`) with the given references.
pub(super) fn text_path(
    name: &str,
    contents: &[u8],
    references: &BTreeSet<String>,
    store_dir: &StoreDir,
) -> EvalResult<StorePath> {
    text_path_of_hash(name, &Hash::compute(HashAlgo::Sha256, contents), references, store_dir)
}

/// [`text_path`] of contents whose SHA-256 is `hash`.
pub(super) fn text_path_of_hash(
    name: &str,
    hash: &Hash,
    references: &BTreeSet<String>,
    store_dir: &StoreDir,
) -> EvalResult<StorePath> {
    let refs = parse_paths(references, store_dir)?;
    let kind = make_type("text", &refs, false, store_dir);
    make_path(&kind, hash, name, store_dir)
}

/// The path of content-addressed data without references.
pub(super) fn fixed_path(
    method: ContentAddressMethod,
    hash: &Hash,
    name: &str,
    references: &BTreeSet<String>,
    store_dir: &StoreDir,
) -> EvalResult<StorePath> {
    let refs = parse_paths(references, store_dir)?;
    match method {
        ContentAddressMethod::Recursive if hash.algo() == HashAlgo::Sha256 => {
            let kind = make_type("source", &refs, false, store_dir);
            make_path(&kind, hash, name, store_dir)
        }
        ContentAddressMethod::Text => {
            let kind = make_type("text", &refs, false, store_dir);
            make_path(&kind, hash, name, store_dir)
        }
        _ => {
            if !refs.is_empty() {
                return Err(EvalError::msg(format!(
                    "cannot add path '{name}' with references: a fixed output cannot refer to other store paths"
                )));
            }
            let inner = format!("fixed:out:{}{}:", method.prefix(), hash.to_string_as(HashFormat::Base16, true));
            make_path("output:out", &Hash::compute(HashAlgo::Sha256, inner.as_bytes()), name, store_dir)
        }
    }
}

fn parse_paths(paths: &BTreeSet<String>, store_dir: &StoreDir) -> EvalResult<BTreeSet<StorePath>> {
    paths.iter().map(|p| store_dir.parse_path(p).map_err(store_error)).collect()
}

/// A derivation by `.drv` path: one this evaluator created, or else the `.drv` file.
pub(super) fn read_derivation(ev: &mut Evaluator, drv_path: &str) -> EvalResult<Derivation> {
    if let Some(drv) = ev.store_writes.derivations.get(drv_path) {
        return Ok(drv.clone());
    }
    let bytes =
        ev.io.read_file(Path::new(drv_path)).map_err(|_| EvalError::msg(format!("path '{drv_path}' is not valid")))?;
    let text = String::from_utf8_lossy(&bytes);
    Derivation::parse(&text).map_err(|e| EvalError::msg(format!("while reading derivation '{drv_path}': {e}")))
}

/// The hash modulo of a derivation, by `.drv` path (cached per evaluator).
pub(super) fn hash_modulo(ev: &mut Evaluator, drv_path: &str) -> EvalResult<[u8; 32]> {
    if let Some(hash) = ev.store_writes.drv_hashes.get(drv_path) {
        return Ok(*hash);
    }
    let drv = read_derivation(ev, drv_path)?;
    let hash = hash_derivation_modulo(&drv, &mut |p: &str| hash_modulo(ev, p).map_err(Wrapped)).map_err(|w| w.0)?;
    ev.store_writes.drv_hashes.insert(drv_path.to_string(), hash);
    Ok(hash)
}

/// The store paths `path` refers to, as far as the evaluator knows.
fn references(ev: &mut Evaluator, path: &str) -> EvalResult<Vec<String>> {
    if let Some(added) = ev.store_writes.paths.get(path) {
        return Ok(match added {
            AddedPath::Text { references, .. } => references.iter().cloned().collect(),
            _ => Vec::new(),
        });
    }
    if path.ends_with(".drv") {
        let drv = read_derivation(ev, path)?;
        return Ok(drv.input_srcs.iter().chain(drv.input_drvs.keys()).cloned().collect());
    }
    Ok(Vec::new())
}

/// The closure of `start` under references (including `start`).
pub(super) fn closure(ev: &mut Evaluator, start: &str) -> EvalResult<BTreeSet<String>> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_string()];
    while let Some(path) = todo.pop() {
        if seen.contains(&path) {
            continue;
        }
        todo.extend(references(ev, &path)?);
        seen.insert(path);
    }
    Ok(seen)
}
