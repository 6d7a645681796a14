//! NAR, the Nix archive format (what `nix-store --dump` prints).
//!
//! A NAR is a sequence of length-prefixed strings: each is a little-endian
//! `u64` byte count, the bytes, and zero padding up to a multiple of 8. The
//! archive is the magic string `nix-archive-1` followed by one node:
//!
//! * `( type regular [executable ""] contents <bytes> )`
//! * `( type symlink target <target> )`
//! * `( type directory { entry ( name <n> node <node> ) }* )`, entries sorted
//!   by name bytes.
//!
//! Everything is written to a [`std::io::Write`], so a NAR can be streamed
//! into a [`crate::Hasher`] without being held in memory; [`NarNode`] is an
//! in-memory tree, and [`crate::dump_path`] reads one from the file system.

use std::collections::BTreeMap;
use std::io::Write;

use crate::error::{Result, StoreError};
use crate::hash::{Hash, HashAlgo, Hasher};

/// The magic string that starts every NAR.
pub const NAR_MAGIC: &str = "nix-archive-1";

/// An in-memory file system tree to serialise as a NAR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NarNode {
    /// A regular file.
    File {
        /// Whether the file is executable.
        executable: bool,
        /// The file's bytes.
        contents: Vec<u8>,
    },
    /// A directory; entry names must be non-empty, not `.`/`..`, and contain
    /// no `/` or NUL.
    Directory(BTreeMap<String, NarNode>),
    /// A symbolic link and its target.
    Symlink(String),
}

impl NarNode {
    /// Writes the whole NAR (magic included) for this tree.
    pub fn write_nar<W: Write + ?Sized>(&self, out: &mut W) -> Result<()> {
        let mut w = NarWriter::new(out)?;
        self.write_node(&mut w)
    }

    /// The NAR as a byte vector.
    pub fn to_nar(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write_nar(&mut v)?;
        Ok(v)
    }

    /// SHA-256 of the NAR and its size in bytes.
    pub fn nar_hash(&self) -> Result<(Hash, u64)> {
        let mut sink = HashingSink::new(HashAlgo::Sha256);
        self.write_nar(&mut sink)?;
        Ok(sink.finish())
    }

    fn write_node<W: Write + ?Sized>(&self, w: &mut NarWriter<'_, W>) -> Result<()> {
        match self {
            NarNode::File { executable, contents } => w.regular(*executable, contents),
            NarNode::Symlink(target) => w.symlink(target.as_bytes()),
            NarNode::Directory(entries) => {
                w.begin_directory()?;
                for (name, node) in entries {
                    w.begin_entry(name.as_bytes())?;
                    node.write_node(w)?;
                    w.end_entry()?;
                }
                w.end_directory()
            }
        }
    }
}

/// Checks a directory entry name as Nix does when reading a NAR.
pub(crate) fn check_entry_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return Err(StoreError::InvalidNarEntryName(String::from_utf8_lossy(name).into_owned()));
    }
    Ok(())
}

/// Low-level NAR emitter; callers must produce a well-formed node sequence
/// (directory entries in increasing byte order).
pub(crate) struct NarWriter<'a, W: Write + ?Sized> {
    out: &'a mut W,
}

impl<'a, W: Write + ?Sized> NarWriter<'a, W> {
    /// Starts a NAR by writing the magic.
    pub(crate) fn new(out: &'a mut W) -> Result<Self> {
        let mut w = NarWriter { out };
        w.str(NAR_MAGIC.as_bytes())?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(StoreError::Write)
    }

    fn len_prefix(&mut self, len: u64) -> Result<()> {
        self.raw(&len.to_le_bytes())
    }

    fn padding(&mut self, len: u64) -> Result<()> {
        let pad = (8 - len % 8) % 8;
        // `pad` is below 8, so the cast cannot truncate.
        self.raw(&[0u8; 8][..pad as usize])
    }

    fn str(&mut self, s: &[u8]) -> Result<()> {
        self.len_prefix(s.len() as u64)?;
        self.raw(s)?;
        self.padding(s.len() as u64)
    }

    fn strs(&mut self, items: &[&[u8]]) -> Result<()> {
        items.iter().try_for_each(|s| self.str(s))
    }

    /// A complete regular-file node from bytes in memory.
    pub(crate) fn regular(&mut self, executable: bool, contents: &[u8]) -> Result<()> {
        self.begin_regular(executable, contents.len() as u64)?;
        self.raw(contents)?;
        self.end_regular(contents.len() as u64)
    }

    /// Opens a regular-file node whose `len` content bytes the caller then
    /// streams with [`NarWriter::contents`] before calling `end_regular`.
    pub(crate) fn begin_regular(&mut self, executable: bool, len: u64) -> Result<()> {
        self.strs(&[b"(", b"type", b"regular"])?;
        if executable {
            self.strs(&[b"executable", b""])?;
        }
        self.str(b"contents")?;
        self.len_prefix(len)
    }

    /// Raw content bytes of the open regular file.
    pub(crate) fn contents(&mut self) -> &mut W {
        self.out
    }

    /// Pads and closes a regular-file node of `len` content bytes.
    pub(crate) fn end_regular(&mut self, len: u64) -> Result<()> {
        self.padding(len)?;
        self.str(b")")
    }

    /// A complete symlink node.
    pub(crate) fn symlink(&mut self, target: &[u8]) -> Result<()> {
        self.strs(&[b"(", b"type", b"symlink", b"target", target, b")"])
    }

    /// Opens a directory node.
    pub(crate) fn begin_directory(&mut self) -> Result<()> {
        self.strs(&[b"(", b"type", b"directory"])
    }

    /// Opens a directory entry; the entry's node follows.
    pub(crate) fn begin_entry(&mut self, name: &[u8]) -> Result<()> {
        check_entry_name(name)?;
        self.strs(&[b"entry", b"(", b"name", name, b"node"])
    }

    /// Closes a directory entry.
    pub(crate) fn end_entry(&mut self) -> Result<()> {
        self.str(b")")
    }

    /// Closes a directory node.
    pub(crate) fn end_directory(&mut self) -> Result<()> {
        self.str(b")")
    }
}

/// A [`Write`] sink that hashes and counts what it is given.
#[derive(Clone)]
pub struct HashingSink {
    hasher: Hasher,
    size: u64,
}

impl HashingSink {
    /// A sink hashing with `algo`.
    pub fn new(algo: HashAlgo) -> Self {
        HashingSink { hasher: Hasher::new(algo), size: 0 }
    }

    /// The digest and the number of bytes written.
    pub fn finish(self) -> (Hash, u64) {
        (self.hasher.finish(), self.size)
    }
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(bytes: &[u8]) -> Vec<u8> {
        let mut v = (bytes.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(bytes);
        v.resize(v.len() + (8 - bytes.len() % 8) % 8, 0);
        v
    }

    #[test]
    fn single_file_layout() -> Result<()> {
        let node = NarNode::File { executable: true, contents: b"hi".to_vec() };
        let mut expect = Vec::new();
        for part in [&b"nix-archive-1"[..], b"(", b"type", b"regular", b"executable", b"", b"contents", b"hi", b")"] {
            expect.extend(s(part));
        }
        assert_eq!(node.to_nar()?, expect);
        let (h, n) = node.nar_hash()?;
        assert_eq!(n, expect.len() as u64);
        assert_eq!(h, HashAlgo::Sha256.digest(&expect));
        Ok(())
    }

    #[test]
    fn rejects_bad_entry_names() {
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            let mut m = BTreeMap::new();
            m.insert(bad.to_owned(), NarNode::Symlink("x".to_owned()));
            assert!(NarNode::Directory(m).to_nar().is_err(), "{bad:?}");
        }
    }
}
