//! The evaluator's only door to the outside world.
//!
//! Every file read, directory listing, file-type query, environment lookup and trace
//! message goes through [`EvalIo`]. The engine wraps it to record what each evaluation
//! depended on (its read set); tests substitute an in-memory implementation. The evaluator
//! itself never touches `std::fs` or `std::env`.

use std::io;
use std::path::Path;

/// The kind of a directory entry, as `builtins.readDir` reports it (`as_str` gives Nix's
/// name for it); shared with the store crate's NAR code.
pub use nxe_store::FileKind;

/// What the evaluator may ask of the world.
pub trait EvalIo {
    /// The bytes of a file (following symlinks).
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The entries of a directory, in any order.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>>;
    /// The kind of a path, not following a final symlink.
    fn file_kind(&self, path: &Path) -> io::Result<FileKind>;
    /// Whether a path exists (following symlinks).
    fn path_exists(&self, path: &Path) -> bool;
    /// The target of a symlink.
    fn read_link(&self, path: &Path) -> io::Result<String>;
    /// Whether a regular file is executable.
    fn is_executable(&self, path: &Path) -> bool;
    /// An environment variable, `None` when unset.
    fn get_env(&self, name: &str) -> Option<String>;
    /// A message of `builtins.trace` or `builtins.warn`, meant for standard error.
    fn trace(&self, message: &str);

    /// Whether a path is a directory, following symlinks (at most 40 of them).
    fn is_directory(&self, path: &Path) -> bool {
        let mut current = path.to_path_buf();
        for _ in 0..40 {
            match self.file_kind(&current) {
                Ok(FileKind::Directory) => return true,
                Ok(FileKind::Symlink) => {
                    let Ok(target) = self.read_link(&current) else { return false };
                    let parent = current.parent().map(Path::to_path_buf).unwrap_or_default();
                    current = parent.join(target);
                }
                _ => return false,
            }
        }
        false
    }
    /// Records a path filter's decision on a path (`builtins.path`, `filterSource`), so the
    /// engine knows which files an evaluation's result depends on.
    fn record_filter(&self, _path: &Path, _included: bool) {}
    /// Reports a file whose compiled form came from the process-wide cache instead of
    /// [`EvalIo::read_file`], so that an evaluation's record of what it read is complete.
    fn reused_file(&self, _path: &Path) {}
}

/// The real file system and process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealIo;

impl EvalIo for RealIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let kind = kind_of(&entry.file_type()?);
            entries.push((entry.file_name().to_string_lossy().into_owned(), kind));
        }
        Ok(entries)
    }

    fn file_kind(&self, path: &Path) -> io::Result<FileKind> {
        Ok(kind_of(&std::fs::symlink_metadata(path)?.file_type()))
    }

    fn path_exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        Ok(std::fs::read_link(path)?.to_string_lossy().into_owned())
    }

    fn is_executable(&self, path: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o100 != 0)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn trace(&self, message: &str) {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            eprintln!("{message}");
        } else {
            eprintln!("{}", strip_ansi_escapes(message));
        }
    }
}

/// Removes ANSI escape sequences (`ESC [ … letter`), as the reference does for messages
/// that do not go to a terminal.
pub fn strip_ansi_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn kind_of(file_type: &std::fs::FileType) -> FileKind {
    if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_file() {
        FileKind::Regular
    } else {
        FileKind::Unknown
    }
}
