//! The NAR hash of a built output and the store paths it refers to, in one pass over its NAR.
//!
//! As Nix does, references are found by looking for the hash part (32 nix32 characters) of
//! every candidate path anywhere in the NAR serialisation: file contents, symlink targets
//! and file names. Candidates are the paths the builder could see (its input closure) and
//! the derivation's own outputs.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use nxe_store::{Hash, HashAlgo, HashingSink, StoreError};

/// Length of the hash part of a store path.
const HASH_PART_LEN: usize = 32;

/// What a scan found.
#[derive(Clone, Debug)]
pub(crate) struct Scanned {
    /// SHA-256 of the NAR.
    pub nar_hash: Hash,
    /// Size of the NAR in bytes.
    pub nar_size: u64,
    /// The candidates found in it.
    pub references: BTreeSet<String>,
}

/// Hashes the NAR of `path` and finds which of `candidates` (absolute store paths under
/// `store_dir`) it mentions.
pub(crate) fn scan(path: &Path, store_dir: &str, candidates: &BTreeSet<String>) -> Result<Scanned, StoreError> {
    let mut by_hash = HashMap::new();
    for candidate in candidates {
        let base = candidate.strip_prefix(store_dir).and_then(|rest| rest.strip_prefix('/')).unwrap_or(candidate);
        if let Some(hash_part) = base.as_bytes().get(..HASH_PART_LEN) {
            let mut key = [0u8; HASH_PART_LEN];
            key.copy_from_slice(hash_part);
            by_hash.insert(key, candidate.as_str());
        }
    }
    let mut sink = ScanSink {
        hashing: HashingSink::new(HashAlgo::Sha256),
        window: [0; HASH_PART_LEN],
        run: 0,
        by_hash: &by_hash,
        found: BTreeSet::new(),
    };
    nxe_store::dump_path(path, &mut sink)?;
    let found = std::mem::take(&mut sink.found);
    let (nar_hash, nar_size) = sink.hashing.finish();
    Ok(Scanned { nar_hash, nar_size, references: found.into_iter().map(str::to_string).collect() })
}

/// Whether `byte` is a character of Nix's base-32 alphabet (digits and lowercase letters
/// but `e`, `o`, `u`, `t`).
fn is_nix32(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'a'..=b'z') && !matches!(byte, b'e' | b'o' | b'u' | b't')
}

/// A writer that hashes what it is given and looks for hash parts in it, across writes.
struct ScanSink<'a> {
    hashing: HashingSink,
    /// The last 32 bytes seen.
    window: [u8; HASH_PART_LEN],
    /// How many of the last bytes seen are nix32 characters.
    run: usize,
    by_hash: &'a HashMap<[u8; HASH_PART_LEN], &'a str>,
    found: BTreeSet<&'a str>,
}

impl Write for ScanSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hashing.write_all(buf)?;
        if self.by_hash.is_empty() {
            return Ok(buf.len());
        }
        for &byte in buf {
            self.window.copy_within(1.., 0);
            self.window[HASH_PART_LEN - 1] = byte;
            self.run = if is_nix32(byte) { self.run + 1 } else { 0 };
            if self.run >= HASH_PART_LEN {
                if let Some(path) = self.by_hash.get(&self.window) {
                    self.found.insert(path);
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hash_parts_across_writes_and_hashes_the_nar() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("f");
        let a = "/s/0123456789abcdfghijklmnpqrsvwxyz-a";
        let b = "/s/zyxwvsrqpnmlkjihgfdcba9876543210-b";
        std::fs::write(&file, format!("x{}y", &a[3..]))?;
        let candidates = BTreeSet::from([a.to_string(), b.to_string()]);
        let scanned = scan(&file, "/s", &candidates)?;
        assert_eq!(scanned.references, BTreeSet::from([a.to_string()]));
        assert_eq!((scanned.nar_hash, scanned.nar_size), nxe_store::nar_hash_path(&file)?);

        // One byte at a time: the window carries over from one write to the next.
        let by_hash = HashMap::from([(<[u8; 32]>::try_from(&b.as_bytes()[3..35])?, b)]);
        let mut sink = ScanSink {
            hashing: HashingSink::new(HashAlgo::Sha256),
            window: [0; 32],
            run: 0,
            by_hash: &by_hash,
            found: BTreeSet::new(),
        };
        for byte in format!("..{}..", &b[3..]).bytes() {
            sink.write_all(&[byte])?;
        }
        assert_eq!(sink.found, BTreeSet::from([b]));
        Ok(())
    }
}
