//! The evaluator's only door to the outside world.
//!
//! Every file read, directory listing, file-type query, environment lookup and trace
//! message goes through [`EvalIo`]. The engine wraps it to record what each evaluation
//! depended on (its read set); tests substitute an in-memory implementation. The evaluator
//! itself never touches `std::fs` or `std::env`.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

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
    /// The git work tree whose top is `dir`, for `builtins.fetchGit` of a local repository.
    /// The default (and [`RealIo`]) has none: the engine's I/O asks the `git` program.
    fn git_work_tree(&self, _dir: &Path) -> io::Result<GitWorkTree> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "no Git support"))
    }
    /// The files of commit `revision` (a commit's hash, or a name git resolves, such as a
    /// branch) of the local repository whose work tree's top is `dir`, checked out apart,
    /// for `builtins.fetchGit` with a `rev` or `ref`: a clean tree with that commit checked
    /// out, whatever the work tree holds. An unknown revision is an error of kind `NotFound`.
    fn git_commit_tree(&self, _dir: &Path, _revision: &str) -> io::Result<GitWorkTree> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "no Git support"))
    }
}

/// What `builtins.fetchGit` needs to know of a local git work tree.
#[derive(Clone, Debug)]
pub struct GitWorkTree {
    /// The top directory of the work tree.
    pub top: PathBuf,
    /// The files git tracks that exist in the work tree, relative to `top`.
    pub tracked: Arc<BTreeSet<PathBuf>>,
    /// The commit checked out, `None` before the first one.
    pub head: Option<String>,
    /// The branch checked out (`main`), `None` on a detached head.
    pub branch: Option<String>,
    /// Whether a tracked file differs from the commit.
    pub dirty: bool,
    /// The commit time of `head` (seconds since the epoch), 0 without one.
    pub last_modified: i64,
    /// The number of commits reachable from `head`.
    pub rev_count: i64,
    /// The tracked files, and directories above them, that git's attributes mark
    /// `export-ignore` (which `fetchGit` leaves out unless told otherwise).
    pub export_ignored: Arc<BTreeSet<PathBuf>>,
    /// The tracked files with those of the checked-out submodules (for `submodules = true`);
    /// `None` without submodules, or where their files are not known (a commit's checkout).
    pub with_submodules: Option<Arc<BTreeSet<PathBuf>>>,
}

impl GitWorkTree {
    /// The tracked files without those `export-ignore` leaves out, keeping each directory
    /// that is not itself left out, if only as an empty one (as the reference does).
    pub fn without_export_ignored(&self) -> BTreeSet<PathBuf> {
        let mut kept = BTreeSet::new();
        for file in self.tracked.iter() {
            let mut above: Vec<&Path> = file.ancestors().filter(|p| !p.as_os_str().is_empty()).collect();
            above.reverse();
            match above.into_iter().find(|p| self.export_ignored.contains(*p)) {
                None => {
                    kept.insert(file.clone());
                }
                Some(cut) => {
                    if let Some(parent) = cut.parent().filter(|p| !p.as_os_str().is_empty()) {
                        keep_directory(&mut kept, parent);
                    }
                }
            }
        }
        kept
    }
}

/// Keeps `dir` in a set of tracked files even when no file below it is: through an entry
/// below it whose name (a NUL byte) no file can have, so it is never listed or read.
pub fn keep_directory(files: &mut BTreeSet<PathBuf>, dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    files.insert(dir.join(std::ffi::OsStr::from_bytes(b"\0")));
}

/// A source tree shown at a store path, as if it had been copied there: a local flake's
/// source or a `builtins.fetchGit` of a work tree.
#[derive(Clone, Debug)]
pub struct SourceMount {
    /// `/nix/store/<hash>-<name>`.
    pub store_path: String,
    /// Where its files really are.
    pub dir: PathBuf,
    /// The files git tracks (relative paths), when only those are part of the source.
    pub tracked: Option<Arc<BTreeSet<PathBuf>>>,
}

impl SourceMount {
    /// Whether `relative` (a file, or a directory above one) is part of the source.
    pub fn contains(&self, relative: &Path) -> bool {
        self.tracked.as_deref().is_none_or(|files| tracks(files, relative))
    }

    /// The paths below the directory that are not part of the source (absolute; a left-out
    /// directory stands for everything below it), listed through `io`.
    pub fn excluded(&self, io: &dyn EvalIo) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Some(files) = &self.tracked {
            collect_untracked(io, &self.dir, Path::new(""), files, &mut out);
        }
        out
    }
}

/// Whether `relative` is a tracked file or a directory above one (the root is).
pub fn tracks(files: &BTreeSet<PathBuf>, relative: &Path) -> bool {
    relative.as_os_str().is_empty()
        || files.contains(relative)
        || files.range(relative.to_path_buf()..).next().is_some_and(|f| f.starts_with(relative))
}

/// Adds to `out` every path below `root.join(relative)` that `files` leaves out, without
/// descending into left-out directories.
fn collect_untracked(
    io: &dyn EvalIo,
    root: &Path,
    relative: &Path,
    files: &BTreeSet<PathBuf>,
    out: &mut BTreeSet<String>,
) {
    let Ok(entries) = io.read_dir(&root.join(relative)) else { return };
    for (name, kind) in entries {
        let path = relative.join(name);
        if !tracks(files, &path) {
            out.insert(root.join(&path).display().to_string());
        } else if kind == FileKind::Directory {
            collect_untracked(io, root, &path, files, out);
        }
    }
}

/// File access that shows source trees at their store paths (see [`SourceMount`]) and
/// passes everything else to the I/O it wraps.
pub struct MountedIo {
    inner: Rc<dyn EvalIo>,
    mounts: Vec<SourceMount>,
}

impl MountedIo {
    /// `inner` with `mounts` shown.
    pub fn new(inner: Rc<dyn EvalIo>, mounts: Vec<SourceMount>) -> MountedIo {
        MountedIo { inner, mounts }
    }

    /// The mount `path` is in, with the path relative to it.
    fn mount_of<'p>(&self, path: &'p Path) -> Option<(&SourceMount, &'p Path)> {
        self.mounts.iter().find_map(|mount| {
            let rest = path.strip_prefix(&mount.store_path).ok()?;
            Some((mount, rest))
        })
    }

    /// The mount `path` is in, with where the path leads as the source has it. When the path
    /// as written is not part of the source, it may reach a file through a symlinked
    /// directory of the source: those symlinks are then followed, as in a copy of the source
    /// (one pointing to an absolute path leads out of the source, to that path).
    fn locate(&self, path: &Path) -> Option<(&SourceMount, Place)> {
        let (mount, relative) = self.mount_of(path)?;
        if mount.contains(relative) {
            return Some((mount, Place::Inside(relative.to_path_buf())));
        }
        Some((mount, self.resolve(mount, relative, false).unwrap_or_else(|| Place::Inside(relative.to_path_buf()))))
    }

    /// Where `relative` leads with the source's symlinks on the way followed (the last
    /// component's too with `last`); `None` when a link climbs out of the source or there
    /// are too many.
    fn resolve(&self, mount: &SourceMount, relative: &Path, last: bool) -> Option<Place> {
        let parts = |path: &Path| -> Vec<String> {
            path.components().rev().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect()
        };
        let mut todo = parts(relative);
        let mut done = PathBuf::new();
        let mut links = 0;
        while let Some(part) = todo.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    done.pop().then_some(())?;
                    continue;
                }
                _ => {}
            }
            let candidate = done.join(&part);
            let real = mount.dir.join(&candidate);
            if (last || !todo.is_empty())
                && mount.contains(&candidate)
                && matches!(self.inner.file_kind(&real), Ok(FileKind::Symlink))
            {
                links += 1;
                let target = self.inner.read_link(&real).ok()?;
                if links > 40 {
                    return None;
                }
                if target.starts_with('/') {
                    let rest: PathBuf = todo.iter().rev().collect();
                    return Some(Place::Outside(Path::new(&target).join(rest)));
                }
                todo.extend(parts(Path::new(&target)));
                continue;
            }
            done.push(part);
        }
        Some(Place::Inside(done))
    }

    /// The real path of `path`, or an error when it is in a mounted source that leaves it out
    /// (a file git does not track).
    fn map(&self, path: &Path) -> io::Result<PathBuf> {
        real_path(path, &self.locate(path))
    }
}

/// The real path of `path`, which [`MountedIo::locate`] placed at `located`.
fn real_path(path: &Path, located: &Option<(&SourceMount, Place)>) -> io::Result<PathBuf> {
    match located {
        Some((mount, Place::Inside(relative))) if !mount.contains(relative) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("'{}' is not tracked by git", mount.dir.join(relative).display()),
        )),
        Some((mount, Place::Inside(relative))) if relative.as_os_str().is_empty() => Ok(mount.dir.clone()),
        Some((mount, Place::Inside(relative))) => Ok(mount.dir.join(relative)),
        Some((_, Place::Outside(real))) => Ok(real.clone()),
        None => Ok(path.to_path_buf()),
    }
}

/// Where a path in a mounted source leads.
enum Place {
    /// A path inside the source, relative to its top.
    Inside(PathBuf),
    /// A real path outside it, reached through a symlink to an absolute path.
    Outside(PathBuf),
}

impl EvalIo for MountedIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.inner.read_file(&self.map(path)?)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        let located = self.locate(path);
        let entries = self.inner.read_dir(&real_path(path, &located)?)?;
        match located {
            Some((mount, Place::Inside(relative))) if mount.tracked.is_some() => {
                // A tracked entry listed as a directory is a symlink to one: its entries are
                // those of the directory it leads to.
                let listed = match &mount.tracked {
                    Some(files) if files.contains(&relative) => self.resolve(mount, &relative, true),
                    _ => Some(Place::Inside(relative)),
                };
                match listed {
                    Some(Place::Inside(listed)) => {
                        Ok(entries.into_iter().filter(|(name, _)| mount.contains(&listed.join(name))).collect())
                    }
                    _ => Ok(entries),
                }
            }
            _ => Ok(entries),
        }
    }

    fn file_kind(&self, path: &Path) -> io::Result<FileKind> {
        self.inner.file_kind(&self.map(path)?)
    }

    fn path_exists(&self, path: &Path) -> bool {
        self.map(path).is_ok_and(|real| self.inner.path_exists(&real))
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        self.inner.read_link(&self.map(path)?)
    }

    fn is_executable(&self, path: &Path) -> bool {
        self.map(path).is_ok_and(|real| self.inner.is_executable(&real))
    }

    fn get_env(&self, name: &str) -> Option<String> {
        self.inner.get_env(name)
    }

    fn trace(&self, message: &str) {
        self.inner.trace(message)
    }

    fn record_filter(&self, path: &Path, included: bool) {
        match self.map(path) {
            Ok(real) => self.inner.record_filter(&real, included),
            Err(_) => self.inner.record_filter(path, included),
        }
    }

    fn reused_file(&self, path: &Path) {
        match self.map(path) {
            Ok(real) => self.inner.reused_file(&real),
            Err(_) => self.inner.reused_file(path),
        }
    }

    fn git_work_tree(&self, dir: &Path) -> io::Result<GitWorkTree> {
        self.inner.git_work_tree(&self.map(dir)?)
    }

    fn git_commit_tree(&self, dir: &Path, revision: &str) -> io::Result<GitWorkTree> {
        self.inner.git_commit_tree(&self.map(dir)?, revision)
    }
}

/// The machine's physical memory in bytes, from `/proc/meminfo` (None elsewhere); read once.
pub fn physical_memory() -> Option<u64> {
    static TOTAL: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    })
}

/// The failure to read a directory as a file, with the directory's size in bytes (its
/// `st_size`, which the file system decides): the reference reads that many bytes and
/// reports the failed read.
#[derive(Debug)]
pub struct DirectoryRead(pub u64);

impl std::fmt::Display for DirectoryRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "read of {} bytes: Is a directory", self.0)
    }
}

impl std::error::Error for DirectoryRead {}

/// The real file system and process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealIo;

impl EvalIo for RealIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path).map_err(|error| match (error.kind(), std::fs::metadata(path)) {
            (io::ErrorKind::IsADirectory, Ok(meta)) => io::Error::new(error.kind(), DirectoryRead(meta.len())),
            _ => error,
        })
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
        eprintln!("{}", for_terminal(message, std::io::stderr().is_terminal()));
    }
}

/// A message as the reference writes it to standard error: escape sequences dropped, or,
/// for a terminal (`keep_colours`), all but colours (`ESC [ … m`) dropped; carriage returns
/// and bells dropped; and tabs expanded to the next multiple of 8 of a count of the
/// characters written so far in the whole message, line breaks and escape sequences not
/// counted (the reference's count, so a tab in a code frame lines up where it does there).
pub fn for_terminal(text: &str, keep_colours: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut width = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                let mut sequence = String::from(c);
                let mut last = None;
                if chars.peek() == Some(&'[') {
                    sequence.extend(chars.next());
                    while let Some(&next) = chars.peek().filter(|c| ('\u{30}'..='\u{3f}').contains(*c)) {
                        sequence.push(next);
                        chars.next();
                    }
                    while let Some(&next) = chars.peek().filter(|c| ('\u{20}'..='\u{2f}').contains(*c)) {
                        sequence.push(next);
                        chars.next();
                    }
                    if let Some(&next) = chars.peek().filter(|c| ('\u{40}'..='\u{7e}').contains(*c)) {
                        sequence.push(next);
                        last = Some(next);
                        chars.next();
                    }
                } else if chars.peek().is_some_and(|c| ('\u{40}'..='\u{5f}').contains(c)) {
                    chars.next();
                }
                if keep_colours && last == Some('m') {
                    out.push_str(&sequence);
                }
            }
            '\t' => {
                out.push(' ');
                width += 1;
                while !width.is_multiple_of(8) {
                    out.push(' ');
                    width += 1;
                }
            }
            '\r' | '\u{7}' => {}
            '\n' => out.push(c),
            _ => {
                out.push(c);
                width += 1;
            }
        }
    }
    out
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

/// `%Y%m%d%H%M%S` in UTC: a source's `lastModifiedDate`.
pub fn format_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar, in eras of
    // 400 years of 146097 days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{:02}{:02}{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Colours stay for a terminal and count no width; other escape sequences go; a tab
    /// after them fills to the next multiple of 8 of the characters shown on all lines
    /// (here 9: `error: x` and `y`).
    #[test]
    fn messages_for_a_terminal_keep_colours_only_and_expand_tabs() {
        let text = "\u{1b}[31;1merror:\u{1b}[0m x\u{1b}[2K\ny\r\u{7}\tz";
        assert_eq!(for_terminal(text, true), "\u{1b}[31;1merror:\u{1b}[0m x\ny       z");
        assert_eq!(for_terminal(text, false), "error: x\ny       z");
        assert_eq!(for_terminal("\t\t", false), " ".repeat(16));
        assert_eq!(for_terminal("1234567\tx", false), "1234567 x");
    }

    /// `export-ignore` on files leaves their directory, empty if nothing else is in it; on a
    /// directory, it leaves out the directory and everything below it.
    #[test]
    fn export_ignored_files_leave_their_directories_and_ignored_directories_go() {
        let set = |paths: &[&str]| paths.iter().map(PathBuf::from).collect::<BTreeSet<_>>();
        let tree = GitWorkTree {
            top: PathBuf::from("/repo"),
            tracked: Arc::new(set(&["a/x", "a/y", "b/c/z", "docs/d", "keep", "top"])),
            head: None,
            branch: None,
            dirty: false,
            last_modified: 0,
            rev_count: 0,
            export_ignored: Arc::new(set(&["a/x", "a/y", "b/c", "b/c/z", "top"])),
            with_submodules: None,
        };
        let kept = tree.without_export_ignored();
        let contains = |path: &str| tracks(&kept, Path::new(path));
        assert!(contains("a") && !contains("a/x") && !contains("a/y"), "{kept:?}");
        assert!(contains("b") && !contains("b/c") && !contains("b/c/z"), "{kept:?}");
        assert!(contains("docs/d") && contains("keep") && !contains("top"), "{kept:?}");
        // The entry that keeps a directory is not a name any listing has.
        assert!(kept.iter().all(|p| p.file_name().is_none_or(|n| n != "x" && n != "y")));
    }

    #[test]
    fn dates_are_formatted_in_utc() {
        assert_eq!(format_date(0), "19700101000000");
        assert_eq!(format_date(1_795_684_221), "20261126091021");
        assert_eq!(format_date(951_782_400), "20000229000000");
    }

    #[test]
    fn a_directory_above_a_tracked_file_is_tracked() {
        let files: BTreeSet<PathBuf> = ["a/b/c.nix", "ab"].into_iter().map(PathBuf::from).collect();
        assert!(tracks(&files, Path::new("")));
        assert!(tracks(&files, Path::new("a")));
        assert!(tracks(&files, Path::new("a/b")));
        assert!(tracks(&files, Path::new("a/b/c.nix")));
        assert!(tracks(&files, Path::new("ab")));
        assert!(!tracks(&files, Path::new("a/c")));
        assert!(!tracks(&files, Path::new("b")));
    }

    #[test]
    fn a_mounted_source_is_read_through_its_symlinks_as_a_copy_would_be() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, outside) = (dir.path().join("source"), dir.path().join("outside"));
        for sub in ["source/d", "source/e", "outside"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        std::fs::write(source.join("d/c"), "c").expect("write");
        std::fs::write(source.join("untracked"), "u").expect("write");
        std::fs::write(outside.join("o"), "o").expect("write");
        std::os::unix::fs::symlink("d", source.join("to-d")).expect("symlink");
        std::os::unix::fs::symlink("../d", source.join("e/up")).expect("symlink");
        std::os::unix::fs::symlink(&outside, source.join("abs")).expect("symlink");
        let tracked = ["d/c", "to-d", "e/up", "abs"].into_iter().map(PathBuf::from).collect();
        let mount =
            SourceMount { store_path: "/nix/store/x-source".into(), dir: source, tracked: Some(Arc::new(tracked)) };
        let io = MountedIo::new(Rc::new(RealIo), vec![mount]);
        let read = |path: &str| io.read_file(Path::new(path)).ok();
        let names = |path: &str| {
            let mut names: Vec<String> =
                io.read_dir(Path::new(path)).unwrap_or_default().into_iter().map(|(name, _)| name).collect();
            names.sort();
            names
        };
        assert_eq!(names("/nix/store/x-source"), ["abs", "d", "e", "to-d"]);
        assert_eq!(read("/nix/store/x-source/untracked"), None);
        assert_eq!(read("/nix/store/x-source/to-d/c").as_deref(), Some(&b"c"[..]));
        assert_eq!(read("/nix/store/x-source/e/up/c").as_deref(), Some(&b"c"[..]));
        assert_eq!(names("/nix/store/x-source/to-d"), ["c"]);
        assert_eq!(read("/nix/store/x-source/abs/o").as_deref(), Some(&b"o"[..]));
        assert_eq!(names("/nix/store/x-source/abs"), ["o"]);
        assert!(matches!(io.file_kind(Path::new("/nix/store/x-source/to-d")), Ok(FileKind::Symlink)));
    }
}
