//! The error type shared by every part of this crate.

use std::path::PathBuf;

use crate::hash::HashAlgo;

/// Everything that can go wrong while parsing, hashing or serialising.
///
/// Messages follow the wording of the reference Nix where one exists, so the
/// evaluator can pass them through to users unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A hash algorithm name that is not one of `md5`, `sha1`, `sha256`, `sha512`.
    #[error("unknown hash algorithm '{0}', expect 'md5', 'sha1', 'sha256', or 'sha512'")]
    UnknownHashAlgo(String),

    /// A hash without an `algo:`/`algo-` prefix where none was known from context.
    #[error("hash '{0}' does not include a type, nor is the type otherwise known from context")]
    HashWithoutAlgo(String),

    /// A prefixed hash whose algorithm differs from the one expected.
    #[error("hash '{hash}' should have type '{expected}'")]
    HashAlgoMismatch {
        /// The hash string as given.
        hash: String,
        /// The algorithm the caller asked for.
        expected: HashAlgo,
    },

    /// A hash whose length matches none of the encodings for its algorithm.
    #[error("hash '{hash}' has wrong length for hash algorithm '{algo}'")]
    HashWrongLength {
        /// The encoded digest (without prefix).
        hash: String,
        /// The algorithm it was parsed for.
        algo: HashAlgo,
    },

    /// A hash of the right length for an encoding that failed to decode to
    /// the digest size (bad characters, or an SRI hash of the wrong size).
    #[error("invalid {encoding} hash '{hash}', length {actual} != expected length {expected}")]
    HashDecode {
        /// `base16`, `nix32`, `base64` or `SRI`.
        encoding: &'static str,
        /// The encoded digest (without prefix).
        hash: String,
        /// The number of bytes that could be decoded (0 on bad characters).
        actual: usize,
        /// The digest size of the algorithm.
        expected: usize,
    },

    /// A string that is not valid Nix base-32.
    #[error("invalid nix32 string '{input}': {reason}")]
    InvalidNix32 {
        /// The offending string.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A store path name that Nix would reject.
    #[error("{message}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// The full message, worded as in Nix.
        message: String,
    },

    /// A string that is not a well-formed store path.
    #[error("path '{path}' is not a valid store path: {reason}")]
    InvalidStorePath {
        /// The offending path or base name.
        path: String,
        /// Why it is rejected.
        reason: String,
    },

    /// An absolute path that is not directly inside the store directory.
    #[error("path '{path}' is not in the Nix store '{store_dir}'")]
    NotInStore {
        /// The offending path.
        path: String,
        /// The store directory it was checked against.
        store_dir: String,
    },

    /// A store directory that is not an absolute, canonical path.
    #[error("invalid store directory '{0}': must be absolute, without trailing '/'")]
    InvalidStoreDir(String),

    /// An I/O error while reading a file system tree.
    #[error("while reading '{path}': {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// An I/O error while writing serialised output.
    #[error("while writing: {0}")]
    Write(#[source] std::io::Error),

    /// A file that is neither a regular file, a directory nor a symlink.
    #[error("file '{0}' has an unsupported type")]
    UnsupportedFileType(PathBuf),

    /// A path (file name, symlink target) that is not valid UTF-8 where
    /// text is required, e.g. a file name in a NAR on a non-Unix host.
    #[error("path '{0}' is not valid UTF-8")]
    NonUtf8Path(PathBuf),

    /// A directory entry name that a NAR cannot hold (empty, `.`, `..`, or
    /// containing `/` or NUL).
    #[error("invalid file name '{0}' in a NAR")]
    InvalidNarEntryName(String),

    /// Malformed derivation text.
    #[error("malformed derivation at byte {offset}: {message}")]
    DerivationParse {
        /// Byte offset in the input where the problem was found.
        offset: usize,
        /// What was expected or found.
        message: String,
    },

    /// A derivation that is inconsistent for the requested computation.
    #[error("invalid derivation '{name}': {reason}")]
    InvalidDerivation {
        /// The derivation name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A content address that cannot be turned into a store path.
    #[error("cannot make a store path for '{name}': {reason}")]
    InvalidContentAddress {
        /// The store path name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Shorthand for results carrying a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
