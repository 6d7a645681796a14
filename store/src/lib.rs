//! Store paths, hashes, NAR archives and derivations, computed byte for byte
//! as Nix does, in pure Rust and without a store daemon.
//!
//! What it provides:
//!
//! * [`Hash`](struct@Hash) / [`HashAlgo`] / [`HashFormat`]: digests with Nix's four
//!   encodings (base16, [`nix32`], base64, SRI) and Nix's rules for parsing
//!   them back ([`Hash::parse_any`]).
//! * [`StorePath`] / [`StoreDir`]: `/nix/store/<hash>-<name>` with Nix's
//!   name rules, and the functions that compute paths:
//!   [`make_store_path`], [`make_text_path`] (`builtins.toFile`),
//!   [`make_source_path`] (added sources), [`make_fixed_output_path`] and
//!   [`make_output_path`].
//! * [`NarNode`], [`dump_path`], [`dump_path_filtered`]: the NAR
//!   serialisation of in-memory trees and of the file system, streamed into
//!   any [`std::io::Write`]; [`nar_hash_path`] for the usual SHA-256.
//! * [`Derivation`]: `.drv` ATerm writing ([`Derivation::to_aterm`]) and
//!   parsing ([`Derivation::parse`]), [`hash_derivation_modulo`], output
//!   paths ([`Derivation::fill_output_paths`]) and `.drv` paths
//!   ([`Derivation::drv_path`]).
//!
//! All fallible operations return [`StoreError`].
//!
//! # Example
//!
//! The store path of `builtins.toFile "x" "hello"`, and a trivial
//! derivation:
//!
//! ```
//! use std::collections::BTreeSet;
//! use nxe_store::{make_text_path, Derivation, Hash, HashAlgo, Output, StoreDir, StoreError};
//!
//! # fn main() -> Result<(), StoreError> {
//! let store = StoreDir::default();
//! let hash = Hash::compute(HashAlgo::Sha256, b"hello");
//! let path = make_text_path("x", &hash, &BTreeSet::new(), &store)?;
//! assert_eq!(store.display_path(&path), "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-x");
//!
//! let mut drv = Derivation::default();
//! drv.outputs.insert("out".into(), Output::default());
//! drv.platform = "x86_64-linux".into();
//! drv.builder = "/bin/sh".into();
//! for (k, v) in [("builder", "/bin/sh"), ("name", "a"), ("system", "x86_64-linux")] {
//!     drv.env.insert(k.into(), v.into());
//! }
//! // No input derivations, so the lookup of their hashes is never called.
//! let mut no_inputs = |p: &str| -> Result<[u8; 32], StoreError> {
//!     Err(StoreError::NotInStore { path: p.into(), store_dir: store.to_string() })
//! };
//! drv.fill_output_paths("a", &store, &mut no_inputs)?;
//! assert_eq!(drv.outputs["out"].path, "/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a");
//! let drv_path = drv.drv_path("a", &store)?;
//! assert_eq!(store.display_path(&drv_path), "/nix/store/7g5giqf764p3y3zv7a8rqsy9sqqq5kw4-a.drv");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod aterm;
pub mod copy;
pub mod derivation;
mod drv_hash;
pub mod error;
pub mod hash;
mod hash_parse;
pub mod make_path;
pub mod nar;
mod nar_fs;
pub mod nix32;
pub mod path;

pub use copy::{copy_filtered, CopyError};
pub use derivation::{Derivation, Output};
pub use drv_hash::hash_derivation_modulo;
pub use error::{Result, StoreError};
pub use hash::{base16_decode, base16_encode, sha256, Hash, HashAlgo, HashFormat, Hasher};
pub use make_path::{
    compress_hash, make_fixed_output_path, make_output_path, make_source_path, make_store_path, make_text_path,
    make_type, output_path_name, store_path_digest, ContentAddressMethod,
};
pub use nar::{HashingSink, NarNode, NAR_MAGIC};
pub use nar_fs::{dump_path, dump_path_filtered, nar_hash_path, nar_hash_path_filtered, FileKind};
pub use path::{validate_name, StoreDir, StorePath};
