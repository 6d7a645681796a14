//! Computing store paths from content and derivation hashes.
//!
//! Every store path is `make_store_path(kind, inner, name)`: the SHA-256 of
//! the fingerprint `<kind>:sha256:<hex inner>:<store dir>:<name>`, folded
//! to 20 bytes. The helpers here pick `kind` and `inner` the way Nix does
//! for `builtins.toFile` (text), added sources, fixed-output derivations and
//! derivation outputs.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{Result, StoreError};
use crate::hash::{sha256, Hash, HashAlgo, HashFormat};
use crate::path::{StoreDir, StorePath, DIGEST_LEN};

/// How the content of a fixed-output path was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentAddressMethod {
    /// The hash is of the file's bytes (`outputHashMode = "flat"`).
    Flat,
    /// The hash is of the NAR serialisation (`outputHashMode = "recursive"`).
    Recursive,
    /// The hash is of a text file's bytes, which may refer to other paths
    /// (`builtins.toFile`, `outputHashMode = "text"`).
    Text,
}

impl ContentAddressMethod {
    /// The prefix Nix puts before the algorithm name: `""`, `"r:"` or `"text:"`.
    pub fn prefix(self) -> &'static str {
        match self {
            ContentAddressMethod::Flat => "",
            ContentAddressMethod::Recursive => "r:",
            ContentAddressMethod::Text => "text:",
        }
    }

    /// Splits a derivation output's hash-algorithm field such as `r:sha256`
    /// into method and algorithm.
    pub fn parse_with_algo(s: &str) -> Result<(ContentAddressMethod, HashAlgo)> {
        let (method, algo) = if let Some(a) = s.strip_prefix("r:") {
            (ContentAddressMethod::Recursive, a)
        } else if let Some(a) = s.strip_prefix("text:") {
            (ContentAddressMethod::Text, a)
        } else {
            (ContentAddressMethod::Flat, s)
        };
        Ok((method, HashAlgo::parse(algo)?))
    }
}

impl fmt::Display for ContentAddressMethod {
    /// `flat`, `recursive` or `text`, as in `outputHashMode`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContentAddressMethod::Flat => "flat",
            ContentAddressMethod::Recursive => "recursive",
            ContentAddressMethod::Text => "text",
        })
    }
}

/// Folds a digest to `N` bytes by XOR-ing byte `i` into position `i % N`.
pub fn compress_hash<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    if N == 0 {
        return out;
    }
    for (i, &b) in bytes.iter().enumerate() {
        out[i % N] ^= b;
    }
    out
}

/// The store path for fingerprint `<kind>:<algo>:<hex inner>:<store dir>:<name>`.
pub fn make_store_path(kind: &str, inner_hash: &Hash, name: &str, store_dir: &StoreDir) -> Result<StorePath> {
    StorePath::new(store_path_digest(kind, inner_hash, name, store_dir), name)
}

/// The digest of a store path's fingerprint `<kind>:<algo>:<hex inner>:<store dir>:<name>`
/// (see [`make_store_path`]), the fingerprint written into a buffer of its size.
pub fn store_path_digest(kind: &str, inner_hash: &Hash, name: &str, store_dir: &StoreDir) -> [u8; DIGEST_LEN] {
    let inner = inner_hash.to_string_as(HashFormat::Base16, true);
    let mut fingerprint = String::with_capacity(kind.len() + inner.len() + store_dir.as_str().len() + name.len() + 3);
    for (i, part) in [kind, &inner, store_dir.as_str(), name].into_iter().enumerate() {
        if i > 0 {
            fingerprint.push(':');
        }
        fingerprint.push_str(part);
    }
    compress_hash(&sha256(fingerprint.as_bytes()))
}

/// The `kind` for paths with references: `<kind>:<ref1>:<ref2>...[:self]`,
/// references as absolute paths, in store path order.
pub fn make_type(kind: &str, references: &BTreeSet<StorePath>, self_reference: bool, store_dir: &StoreDir) -> String {
    let mut t = kind.to_owned();
    for r in references {
        t.push(':');
        t.push_str(&store_dir.display_path(r));
    }
    if self_reference {
        t.push_str(":self");
    }
    t
}

fn require_sha256(name: &str, hash: &Hash, what: &str) -> Result<()> {
    if hash.algo() != HashAlgo::Sha256 {
        return Err(StoreError::InvalidContentAddress {
            name: name.to_owned(),
            reason: format!("{what} must be hashed with sha256, not {}", hash.algo()),
        });
    }
    Ok(())
}

/// Path of a text file (`builtins.toFile`, a `.drv`): kind `text` plus
/// references, inner hash the SHA-256 of the contents.
pub fn make_text_path(
    name: &str,
    text_content_hash: &Hash,
    references: &BTreeSet<StorePath>,
    store_dir: &StoreDir,
) -> Result<StorePath> {
    require_sha256(name, text_content_hash, "a text path")?;
    let kind = make_type("text", references, false, store_dir);
    make_store_path(&kind, text_content_hash, name, store_dir)
}

/// Path of a source added recursively with SHA-256 (`builtins.path`,
/// `filterSource`, a path literal): kind `source` plus references, inner
/// hash the SHA-256 of the NAR.
pub fn make_source_path(
    name: &str,
    nar_sha256: &Hash,
    references: &BTreeSet<StorePath>,
    self_reference: bool,
    store_dir: &StoreDir,
) -> Result<StorePath> {
    require_sha256(name, nar_sha256, "a source path")?;
    let kind = make_type("source", references, self_reference, store_dir);
    make_store_path(&kind, nar_sha256, name, store_dir)
}

/// Path of a fixed-output (content-addressed) store object.
///
/// * recursive + sha256: a source path;
/// * text: a text path (sha256 only);
/// * otherwise: kind `output:out` with inner hash the SHA-256 of
///   `fixed:out:<r:?><algo>:<hex>:`; such paths cannot have references.
pub fn make_fixed_output_path(
    method: ContentAddressMethod,
    hash: &Hash,
    name: &str,
    references: &BTreeSet<StorePath>,
    store_dir: &StoreDir,
) -> Result<StorePath> {
    match method {
        ContentAddressMethod::Recursive if hash.algo() == HashAlgo::Sha256 => {
            make_source_path(name, hash, references, false, store_dir)
        }
        ContentAddressMethod::Text => make_text_path(name, hash, references, store_dir),
        ContentAddressMethod::Flat | ContentAddressMethod::Recursive => {
            if !references.is_empty() {
                return Err(StoreError::InvalidContentAddress {
                    name: name.to_owned(),
                    reason: "a fixed output is not allowed to refer to other store paths".to_owned(),
                });
            }
            let inner = format!("fixed:out:{}{}:", method.prefix(), hash.to_string_as(HashFormat::Base16, true));
            let inner_hash = Hash::sha256_from(sha256(inner.as_bytes()));
            make_store_path("output:out", &inner_hash, name, store_dir)
        }
    }
}

/// The name of a derivation output's path: `name` for `out`,
/// `name-<output>` otherwise.
pub fn output_path_name(drv_name: &str, output_name: &str) -> String {
    if output_name == "out" {
        drv_name.to_owned()
    } else {
        format!("{drv_name}-{output_name}")
    }
}

/// Path of an input-addressed derivation output: kind `output:<output>`,
/// inner hash the derivation's hash modulo (of the output-masked derivation).
pub fn make_output_path(
    drv_hash_modulo: &[u8; 32],
    output_name: &str,
    name: &str,
    store_dir: &StoreDir,
) -> Result<StorePath> {
    make_store_path(
        &format!("output:{output_name}"),
        &Hash::sha256_from(*drv_hash_modulo),
        &output_path_name(name, output_name),
        store_dir,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold() {
        let v: Vec<u8> = (1..=32).collect();
        let f: [u8; 20] = compress_hash(&v);
        assert_eq!(f[0], 1 ^ 21);
        assert_eq!(f[11], 12 ^ 32);
        assert_eq!(f[12], 13);
    }

    #[test]
    fn method_prefix_round_trip() -> Result<()> {
        for m in [ContentAddressMethod::Flat, ContentAddressMethod::Recursive, ContentAddressMethod::Text] {
            let s = format!("{}sha1", m.prefix());
            assert_eq!(ContentAddressMethod::parse_with_algo(&s)?, (m, HashAlgo::Sha1));
        }
        assert!(ContentAddressMethod::parse_with_algo("r:sha3").is_err());
        Ok(())
    }
}
