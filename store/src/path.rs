//! Store paths (`/nix/store/<hash>-<name>`) and store directories.

use std::cmp::Ordering;
use std::fmt;

use crate::error::{Result, StoreError};
use crate::nix32;

/// Length in bytes of the digest in a store path.
pub const DIGEST_LEN: usize = 20;
/// Length in characters of the nix32 hash part of a store path.
pub const HASH_PART_LEN: usize = 32;
/// Longest name a store path may have, in bytes.
pub const MAX_NAME_LEN: usize = 211;

/// The directory holding store objects, e.g. `/nix/store`.
///
/// Always absolute, with no trailing `/` and no `.`/`..`/empty components.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreDir(String);

impl Default for StoreDir {
    /// `/nix/store`.
    fn default() -> Self {
        StoreDir("/nix/store".to_owned())
    }
}

impl StoreDir {
    /// Checks and wraps a store directory path.
    pub fn new(dir: &str) -> Result<StoreDir> {
        let bad = || StoreError::InvalidStoreDir(dir.to_owned());
        let rest = dir.strip_prefix('/').ok_or_else(bad)?;
        if rest.is_empty() || rest.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(bad());
        }
        Ok(StoreDir(dir.to_owned()))
    }

    /// The directory as a string, e.g. `/nix/store`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute path of `path` in this store.
    pub fn display_path(&self, path: &StorePath) -> String {
        format!("{}/{}", self.0, path)
    }

    /// Parses an absolute path that names a store object directly
    /// (`<store_dir>/<hash>-<name>`, nothing after it).
    pub fn parse_path(&self, path: &str) -> Result<StorePath> {
        let base = path
            .strip_prefix(self.0.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .filter(|b| !b.contains('/'))
            .ok_or_else(|| StoreError::NotInStore { path: path.to_owned(), store_dir: self.0.clone() })?;
        StorePath::from_base_name(base)
    }

    /// Splits an absolute path inside a store object into the object and the
    /// rest of the path (empty, or starting with `/`).
    pub fn split_path<'a>(&self, path: &'a str) -> Result<(StorePath, &'a str)> {
        let not_in_store = || StoreError::NotInStore { path: path.to_owned(), store_dir: self.0.clone() };
        let rest = path.strip_prefix(self.0.as_str()).and_then(|r| r.strip_prefix('/')).ok_or_else(not_in_store)?;
        let (base, tail) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        Ok((StorePath::from_base_name(base)?, tail))
    }

    /// Whether `path` lies in this store directory (without validating it).
    pub fn is_in_store(&self, path: &str) -> bool {
        path.strip_prefix(self.0.as_str()).is_some_and(|r| r.starts_with('/') && r.len() > 1)
    }
}

impl fmt::Display for StoreDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A store object's identity: a 160-bit digest and a name.
///
/// Displays as its base name `<nix32 digest>-<name>`; use
/// [`StoreDir::display_path`] for the absolute path. Ordering is that of the
/// base name, as in Nix (which is *not* the order of the raw digest bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorePath {
    digest: [u8; DIGEST_LEN],
    name: String,
}

impl StorePath {
    /// Builds a store path from a digest and a name, validating the name.
    pub fn new(digest: [u8; DIGEST_LEN], name: &str) -> Result<StorePath> {
        validate_name(name)?;
        Ok(StorePath { digest, name: name.to_owned() })
    }

    /// Parses a base name `<32 nix32 chars>-<name>`.
    pub fn from_base_name(base: &str) -> Result<StorePath> {
        let bad = |reason: String| StoreError::InvalidStorePath { path: base.to_owned(), reason };
        if base.len() < HASH_PART_LEN + 1 {
            return Err(bad("too short to be a valid store path".to_owned()));
        }
        let bytes = base.as_bytes();
        if let Some(i) = bytes.iter().take(HASH_PART_LEN).position(|&c| !nix32::is_digit(c)) {
            // Every byte before `i` is ASCII, so `i` is a character boundary.
            let c = base.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            return Err(bad(format!("contains illegal base-32 character '{c}'")));
        }
        // The first HASH_PART_LEN bytes are ASCII digits: a valid split point.
        let (hash_part, rest) = base.split_at(HASH_PART_LEN);
        let name = rest.strip_prefix('-').ok_or_else(|| bad("expected '-' after the hash part".to_owned()))?;
        let mut digest = [0u8; DIGEST_LEN];
        nix32::decode_into(hash_part, &mut digest)?;
        StorePath::new(digest, name).map_err(|e| bad(e.to_string()))
    }

    /// The 20-byte digest.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }

    /// The name after the dash.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-character nix32 hash part.
    pub fn hash_part(&self) -> String {
        nix32::encode(&self.digest)
    }

    /// `<hash part>-<name>`.
    pub fn base_name(&self) -> String {
        format!("{}-{}", self.hash_part(), self.name)
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.hash_part(), self.name)
    }
}

impl Ord for StorePath {
    fn cmp(&self, other: &Self) -> Ordering {
        self.hash_part().cmp(&other.hash_part()).then_with(|| self.name.cmp(&other.name))
    }
}

impl PartialOrd for StorePath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Checks a store path name the way Nix does: 1 to 211 bytes from
/// `A-Za-z0-9+-._?=`, and not `.`, `..`, nor starting with `.-` or `..-`.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |message: String| StoreError::InvalidName { name: name.to_owned(), message };
    if name.is_empty() {
        return Err(bad("name must not be empty".to_owned()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad(format!("name '{name}' must be no longer than {MAX_NAME_LEN} characters")));
    }
    if name == "." || name == ".." {
        return Err(bad(format!("name '{name}' is not valid")));
    }
    for first in [".", ".."] {
        if name.split('-').next() == Some(first) {
            return Err(bad(format!(
                "name '{name}' is not valid: first dash-separated component must not be '{first}'"
            )));
        }
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(c))) {
        return Err(bad(format!("name '{name}' contains illegal character '{c}'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_follows_base_name() -> Result<()> {
        let a = StorePath::from_base_name("00000000000000000000000000000001-b")?;
        let b = StorePath::from_base_name("10000000000000000000000000000000-a")?;
        assert!(a < b);
        assert!(a.digest() > b.digest());
        let c = StorePath::from_base_name("00000000000000000000000000000001-a")?;
        assert!(c < a);
        Ok(())
    }

    #[test]
    fn store_dir_validation() {
        assert!(StoreDir::new("/nix/store").is_ok());
        assert!(StoreDir::new("/a").is_ok());
        for bad in ["", "/", "nix/store", "/nix/store/", "/nix//store", "/nix/./store"] {
            assert!(StoreDir::new(bad).is_err(), "{bad}");
        }
    }
}
