//! The local builder's store: a directory holding store objects under their base names,
//! for a logical store directory (what derivations name, normally `/nix/store`) that may be
//! another directory.
//!
//! Layout of the physical directory:
//!
//! ```text
//! <hash>-<name>            store objects, read-only, modification time 1, as Nix keeps them
//! .nxe/valid/<hash>-<name> one JSON record per valid object (NAR hash, references, deriver)
//! .nxe/locks/<name>.lock   advisory locks held while an object is being made
//! .nxe/tmp/                objects being written, renamed into place when complete
//! .nxe/builds/             the private directories of running builds
//! ```
//!
//! An object is valid only when its record exists; records are written (atomically, by a
//! rename) after the object is complete and in place, so an interrupted write or build never
//! leaves anything that counts. Whatever sits at an object's name without a record is
//! deleted before the object is made again.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nxe_store::{ContentAddressMethod, Hash, HashAlgo, HashFormat, StoreDir, StorePath};

use super::error::{io_error, BuildError};

/// What the store knows about a valid object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathInfo {
    /// The object's logical store path.
    pub path: String,
    /// SHA-256 of its NAR, as `sha256:<nix32>` (what `nix-store --query --hash` prints).
    pub nar_hash: String,
    /// Size of its NAR in bytes.
    pub nar_size: u64,
    /// The store paths it refers to.
    pub references: BTreeSet<String>,
    /// The derivation that built it, for outputs.
    pub deriver: Option<String>,
}

/// A store directory of the local builder.
#[derive(Debug)]
pub struct LocalStore {
    logical: StoreDir,
    physical: PathBuf,
    counter: AtomicU64,
}

impl LocalStore {
    /// The store holding objects of the logical directory `logical` in `physical` (created
    /// if needed). Both may be the same directory.
    pub fn open(logical: &str, physical: impl Into<PathBuf>) -> Result<LocalStore, BuildError> {
        let logical = StoreDir::new(logical)?;
        let physical = physical.into();
        for dir in ["valid", "locks", "tmp", "builds", "roots"] {
            let dir = physical.join(".nxe").join(dir);
            fs::create_dir_all(&dir).map_err(io_error(format!("creating '{}'", dir.display())))?;
        }
        let physical =
            fs::canonicalize(&physical).map_err(io_error(format!("opening the store '{}'", physical.display())))?;
        let store = LocalStore { logical, physical, counter: AtomicU64::new(0) };
        store.sweep();
        Ok(store)
    }

    /// The logical store directory.
    pub fn logical(&self) -> &StoreDir {
        &self.logical
    }

    /// The directory that holds the objects.
    pub fn physical(&self) -> &Path {
        &self.physical
    }

    /// Where the object at the logical `store_path` is kept.
    pub fn physical_path(&self, store_path: &str) -> Result<PathBuf, BuildError> {
        Ok(self.physical.join(self.parse(store_path)?.base_name()))
    }

    /// Whether the object at `store_path` is valid: complete and recorded.
    pub fn is_valid(&self, store_path: &str) -> bool {
        self.path_info(store_path).is_some()
    }

    /// The record of a valid object.
    pub fn path_info(&self, store_path: &str) -> Option<PathInfo> {
        let path = self.parse(store_path).ok()?;
        let text = fs::read_to_string(self.record(&path)).ok()?;
        let info: PathInfo = serde_json::from_str(&text).ok()?;
        let present = self.physical.join(path.base_name()).symlink_metadata().is_ok();
        (present && info.path == store_path).then_some(info)
    }

    /// Parses a logical store path.
    pub(crate) fn parse(&self, store_path: &str) -> Result<StorePath, BuildError> {
        Ok(self.logical.parse_path(store_path)?)
    }

    fn record(&self, path: &StorePath) -> PathBuf {
        self.physical.join(".nxe/valid").join(path.base_name())
    }

    /// Deletes what processes that are gone left in the scratch areas (a killed build's
    /// directory, a half-written object). Names carry the process id of their maker.
    fn sweep(&self) {
        for area in ["tmp", "builds", "roots"] {
            let Ok(entries) = fs::read_dir(self.physical.join(".nxe").join(area)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let pid =
                    name.to_str().and_then(|name| name.rsplit('-').nth(1)).and_then(|pid| pid.parse::<u32>().ok());
                if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                    let _ = remove_tree(&entry.path());
                }
            }
        }
    }

    /// A fresh name in the store's directory `.nxe/<area>` (`tmp`, `builds` or `roots`).
    pub(crate) fn scratch(&self, area: &str, label: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.physical.join(".nxe").join(area).join(format!("{label}-{}-{n}", std::process::id()))
    }

    /// Takes the lock of an object (or of a derivation's outputs), waiting for another build
    /// of it to finish. Locks are advisory file locks, so they work across processes too.
    pub(crate) fn lock(&self, store_path: &str) -> Result<StoreLock, BuildError> {
        let name = self.parse(store_path)?.base_name();
        let path = self.physical.join(".nxe/locks").join(format!("{name}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(format!("opening the lock '{}'", path.display())))?;
        loop {
            // SAFETY: `flock` only reads the descriptor, which `file` keeps open.
            let result = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
            if result == 0 {
                return Ok(StoreLock { _file: file });
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(io_error(format!("locking '{}'", path.display()))(error));
            }
        }
    }

    /// Moves the complete object `staged` (in the same file system) to its place and
    /// records it, after making it read-only. Anything invalid at that place is deleted
    /// first; if a valid object is already there, `staged` is dropped.
    pub(crate) fn register(&self, staged: &Path, info: &PathInfo) -> Result<(), BuildError> {
        let target = self.physical_path(&info.path)?;
        if self.is_valid(&info.path) {
            return remove_tree(staged);
        }
        remove_tree(&target)?;
        canonicalise(staged, false)?;
        fs::rename(staged, &target).map_err(io_error(format!("moving '{}' into the store", info.path)))?;
        canonicalise(&target, true)?;
        self.write_record(info)
    }

    /// Records an object written in place (builds without a namespace write their outputs
    /// where they belong).
    pub(crate) fn register_in_place(&self, info: &PathInfo) -> Result<(), BuildError> {
        canonicalise(&self.physical_path(&info.path)?, true)?;
        self.write_record(info)
    }

    /// Deletes what is at an object's place if it is not valid (a leftover of an
    /// interrupted build).
    pub(crate) fn remove_invalid(&self, store_path: &str) -> Result<(), BuildError> {
        if self.is_valid(store_path) {
            return Ok(());
        }
        remove_tree(&self.physical_path(store_path)?)
    }

    fn write_record(&self, info: &PathInfo) -> Result<(), BuildError> {
        let record = self.record(&self.parse(&info.path)?);
        let text = serde_json::to_string_pretty(info).map_err(|e| BuildError::Io {
            context: format!("recording '{}'", info.path),
            source: std::io::Error::other(e),
        })?;
        let tmp = self.scratch("tmp", "record");
        let context = || format!("recording '{}'", info.path);
        // No fsync: after a crash a record may be empty or cut short, and then it does not
        // parse, so its object simply counts as invalid and is made again.
        let mut file = File::create(&tmp).map_err(io_error(context()))?;
        file.write_all(text.as_bytes()).map_err(io_error(context()))?;
        fs::rename(&tmp, &record).map_err(io_error(context()))
    }

    /// Writes a text file (`builtins.toFile`, a `.drv`) as Nix does: read-only, its store
    /// path computed from its contents and references.
    pub(crate) fn add_text(
        &self,
        store_path: &str,
        contents: &str,
        references: &BTreeSet<String>,
    ) -> Result<(), BuildError> {
        let _lock = self.lock(store_path)?;
        if self.is_valid(store_path) {
            return Ok(());
        }
        let staged = self.scratch("tmp", "text");
        fs::write(&staged, contents).map_err(io_error(format!("writing '{store_path}'")))?;
        let info = self.info_of(&staged, store_path, references.clone(), None)?;
        self.register(&staged, &info)
    }

    /// Copies a source from the file system (leaving out what the evaluation's filter
    /// excluded), checks that its contents still give `store_path`, and adds it.
    pub(crate) fn add_source(
        &self,
        store_path: &str,
        source: &str,
        recursive: bool,
        excluded: &BTreeSet<String>,
    ) -> Result<(), BuildError> {
        let _lock = self.lock(store_path)?;
        if self.is_valid(store_path) {
            return Ok(());
        }
        let staged = self.scratch("tmp", "source");
        let copied = match recursive {
            true => copy_tree(Path::new(source), source, &staged, excluded),
            // A flat copy is the file's bytes: never executable.
            false => fs::read(source)
                .and_then(|bytes| fs::write(&staged, bytes))
                .map_err(io_error(format!("copying '{source}'"))),
        };
        let checked = copied.and_then(|()| {
            canonicalise(&staged, false)?;
            self.check_source(&staged, store_path, source, recursive)
        });
        if let Err(error) = checked {
            let _ = remove_tree(&staged);
            return Err(error);
        }
        let info = self.info_of(&staged, store_path, BTreeSet::new(), None)?;
        self.register(&staged, &info)
    }

    fn check_source(&self, copy: &Path, store_path: &str, source: &str, recursive: bool) -> Result<(), BuildError> {
        let expected = self.parse(store_path)?;
        let (method, hash) = match recursive {
            true => (ContentAddressMethod::Recursive, nxe_store::nar_hash_path(copy)?.0),
            false => {
                let bytes = fs::read(copy).map_err(io_error(format!("reading the copy of '{source}'")))?;
                (ContentAddressMethod::Flat, Hash::compute(HashAlgo::Sha256, &bytes))
            }
        };
        let actual =
            nxe_store::make_fixed_output_path(method, &hash, expected.name(), &BTreeSet::new(), &self.logical)?;
        if actual != expected {
            return Err(BuildError::SourceChanged {
                path: store_path.to_string(),
                from: source.to_string(),
                actual: self.logical.display_path(&actual),
            });
        }
        Ok(())
    }

    /// The record of the object staged at `staged`.
    pub(crate) fn info_of(
        &self,
        staged: &Path,
        store_path: &str,
        references: BTreeSet<String>,
        deriver: Option<String>,
    ) -> Result<PathInfo, BuildError> {
        let (hash, size) = nxe_store::nar_hash_path(staged)?;
        Ok(PathInfo {
            path: store_path.to_string(),
            nar_hash: hash.to_string_as(HashFormat::Nix32, true),
            nar_size: size,
            references,
            deriver,
        })
    }
}

/// A held store lock, released when dropped.
pub(crate) struct StoreLock {
    _file: File,
}

/// Makes a tree look as Nix leaves store objects: regular files `r--r--r--`, or `r-xr-xr-x`
/// when their owner could execute them, directories `r-xr-xr-x`, every modification time 1.
/// With `top` false the top directory stays writable (a directory can only be renamed into
/// another one while it is writable).
pub(crate) fn canonicalise(path: &Path, top: bool) -> Result<(), BuildError> {
    let meta = path.symlink_metadata().map_err(io_error(format!("reading '{}'", path.display())))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        let entries = fs::read_dir(path).map_err(io_error(format!("reading '{}'", path.display())))?;
        for entry in entries {
            let entry = entry.map_err(io_error(format!("reading '{}'", path.display())))?;
            canonicalise(&entry.path(), true)?;
        }
    }
    if !kind.is_symlink() && (top || !kind.is_dir()) {
        let mode = match kind.is_dir() || meta.permissions().mode() & 0o100 != 0 {
            true => 0o555,
            false => 0o444,
        };
        if meta.permissions().mode() & 0o7777 != mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(io_error(format!("making '{}' read-only", path.display())))?;
        }
    }
    set_mtime_one(path)
}

/// Sets the modification (and access) time of `path`, not following symlinks, to 1.
fn set_mtime_one(path: &Path) -> Result<(), BuildError> {
    let c_path = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
        .map_err(|e| io_error(format!("'{}'", path.display()))(std::io::Error::other(e)))?;
    let times = [libc::timespec { tv_sec: 1, tv_nsec: 0 }, libc::timespec { tv_sec: 1, tv_nsec: 0 }];
    // SAFETY: the path is a valid NUL-terminated string and `times` holds two timespecs.
    let result = unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    if result != 0 {
        return Err(io_error(format!("setting the time of '{}'", path.display()))(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Deletes a file, symlink or directory tree (made writable first), if it exists.
pub(crate) fn remove_tree(path: &Path) -> Result<(), BuildError> {
    let Ok(meta) = path.symlink_metadata() else { return Ok(()) };
    if meta.is_dir() {
        make_writable(path)?;
        fs::remove_dir_all(path).map_err(io_error(format!("deleting '{}'", path.display())))
    } else {
        fs::remove_file(path).map_err(io_error(format!("deleting '{}'", path.display())))
    }
}

fn make_writable(dir: &Path) -> Result<(), BuildError> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .map_err(io_error(format!("making '{}' writable", dir.display())))?;
    let entries = fs::read_dir(dir).map_err(io_error(format!("reading '{}'", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_error(format!("reading '{}'", dir.display())))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

/// Copies a file, symlink or directory, leaving out the paths in `excluded` (named as the
/// evaluator names them: the parent's name, `/`, the entry's name).
pub(crate) fn copy_tree(
    source: &Path,
    name: &str,
    target: &Path,
    excluded: &BTreeSet<String>,
) -> Result<(), BuildError> {
    let mut write = |from: &Path, to: &Path, _executable: bool| fs::copy(from, to).map(drop);
    nxe_store::copy_filtered(source, name, target, excluded, &mut write)
        .map_err(|error| BuildError::Io { context: error.context, source: error.source })
}
