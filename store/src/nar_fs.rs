//! Serialising a file system tree as a NAR, optionally filtered.

use std::fs::{self, Metadata};
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Result, StoreError};
use crate::hash::{Hash, HashAlgo};
use crate::nar::{HashingSink, NarWriter};

/// The type of a file system entry, as passed to a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file (executable or not).
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (socket, device, fifo); it cannot go in a NAR, so
    /// dumping fails if the filter keeps it.
    Unknown,
}

impl FileKind {
    /// The name `builtins.filterSource` passes to its function:
    /// `regular`, `directory`, `symlink` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Regular => "regular",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
            FileKind::Unknown => "unknown",
        }
    }

    fn of(meta: &Metadata) -> FileKind {
        let t = meta.file_type();
        if t.is_symlink() {
            FileKind::Symlink
        } else if t.is_dir() {
            FileKind::Directory
        } else if t.is_file() {
            FileKind::Regular
        } else {
            FileKind::Unknown
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

#[cfg(unix)]
fn os_bytes(s: &std::ffi::OsStr, _path: &Path) -> Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(s.as_bytes().to_vec())
}

#[cfg(not(unix))]
fn os_bytes(s: &std::ffi::OsStr, path: &Path) -> Result<Vec<u8>> {
    s.to_str().map(|s| s.as_bytes().to_vec()).ok_or_else(|| StoreError::NonUtf8Path(path.to_owned()))
}

#[cfg(unix)]
pub(crate) fn is_executable(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
pub(crate) fn is_executable(_meta: &Metadata) -> bool {
    false
}

/// Writes the NAR of the file, directory or symlink at `path` (symlinks are
/// stored, not followed; a file is executable if its owner may execute it).
pub fn dump_path<W: Write + ?Sized>(path: &Path, out: &mut W) -> Result<()> {
    dump_path_filtered(path, out, &mut |_, _| Ok::<bool, StoreError>(true))
}

/// Like [`dump_path`], but asks `filter` about every entry *under* `path`
/// (the root itself is always included): an entry for which it returns
/// `false` is left out, with everything below it. Entries are visited in
/// NAR order. An error from `filter` stops the dump and is returned as is.
pub fn dump_path_filtered<W, E>(
    path: &Path,
    out: &mut W,
    filter: &mut dyn FnMut(&Path, FileKind) -> Result<bool, E>,
) -> Result<(), E>
where
    W: Write + ?Sized,
    E: From<StoreError>,
{
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    let mut w = NarWriter::new(out)?;
    dump_node(&mut w, path, &meta, filter)
}

fn dump_node<W, E>(
    w: &mut NarWriter<'_, W>,
    path: &Path,
    meta: &Metadata,
    filter: &mut dyn FnMut(&Path, FileKind) -> Result<bool, E>,
) -> Result<(), E>
where
    W: Write + ?Sized,
    E: From<StoreError>,
{
    match FileKind::of(meta) {
        FileKind::Symlink => {
            let target = fs::read_link(path).map_err(io_err(path))?;
            w.symlink(&os_bytes(target.as_os_str(), path)?)?;
        }
        FileKind::Regular => dump_file(w, path, meta)?,
        FileKind::Directory => {
            let mut entries = Vec::new();
            for entry in fs::read_dir(path).map_err(io_err(path))? {
                let entry = entry.map_err(io_err(path))?;
                let name = entry.file_name();
                entries.push((os_bytes(&name, &entry.path())?, entry.path()));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            w.begin_directory()?;
            for (name, child) in entries {
                let child_meta = fs::symlink_metadata(&child).map_err(io_err(&child))?;
                if !filter(&child, FileKind::of(&child_meta))? {
                    continue;
                }
                w.begin_entry(&name)?;
                dump_node(w, &child, &child_meta, filter)?;
                w.end_entry()?;
            }
            w.end_directory()?;
        }
        FileKind::Unknown => return Err(StoreError::UnsupportedFileType(path.to_owned()).into()),
    }
    Ok(())
}

fn dump_file<W: Write + ?Sized>(w: &mut NarWriter<'_, W>, path: &Path, meta: &Metadata) -> Result<()> {
    let len = meta.len();
    let file = fs::File::open(path).map_err(io_err(path))?;
    w.begin_regular(is_executable(meta), len)?;
    let copied = std::io::copy(&mut file.take(len), w.contents()).map_err(io_err(path))?;
    if copied != len {
        return Err(StoreError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "file shrank while it was being read"),
        });
    }
    w.end_regular(len)
}

/// SHA-256 of the NAR of `path` and the NAR's size.
pub fn nar_hash_path(path: &Path) -> Result<(Hash, u64)> {
    nar_hash_path_filtered(path, &mut |_, _| Ok::<bool, StoreError>(true))
}

/// SHA-256 and size of the NAR of `path` filtered as by [`dump_path_filtered`].
pub fn nar_hash_path_filtered<E: From<StoreError>>(
    path: &Path,
    filter: &mut dyn FnMut(&Path, FileKind) -> Result<bool, E>,
) -> Result<(Hash, u64), E> {
    let mut sink = HashingSink::new(HashAlgo::Sha256);
    dump_path_filtered(path, &mut sink, filter)?;
    Ok(sink.finish())
}
