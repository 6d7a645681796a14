//! The git operations nxe needs, through the `git` program: the top level of a work tree,
//! resolving revisions, and checking out a revision into a temporary directory (without
//! touching the user's work tree, index or list of worktrees).

use crate::EngineError;
use nxe_evaluator::io::{EvalIo, FileKind, GitWorkTree, RealIo};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Runs git in `dir` and returns its standard output, trimmed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, EngineError> {
    Ok(String::from_utf8_lossy(&git_raw(dir, args)?).trim().to_string())
}

/// Runs git in `dir` and returns its standard output as bytes.
pub(crate) fn git_raw(dir: &Path, args: &[&str]) -> Result<Vec<u8>, EngineError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EngineError::Git(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(EngineError::Git(format!("git {} failed: {}", args.join(" "), stderr.trim())));
    }
    Ok(output.stdout)
}

/// Paths (relative to the top level) whose content differs between `base` and `head`, or
/// between `base` and the work tree (tracked changes, staged or not, and untracked files
/// that are not ignored) when `head` is `None`. Sorted.
pub fn changed_paths(top: &Path, base: &str, head: Option<&str>) -> Result<Vec<String>, EngineError> {
    let mut args = vec!["diff", "--name-only", "--no-renames", "-z", base];
    if let Some(head) = head {
        args.push(head);
    }
    args.push("--");
    // Untracked files are asked for at the same time.
    let (tracked, untracked) = std::thread::scope(|scope| {
        let untracked = head.is_none().then(|| {
            scope.spawn(|| git_raw(top, &["ls-files", "--others", "--exclude-standard", "-z", "--full-name"]))
        });
        let tracked = git_raw(top, &args);
        let untracked = untracked.map(|thread| {
            thread.join().unwrap_or_else(|_| Err(EngineError::Internal("git ls-files failed unexpectedly".into())))
        });
        (tracked, untracked)
    });
    let mut paths: std::collections::BTreeSet<String> = split_nul(&tracked?);
    if let Some(untracked) = untracked {
        paths.extend(split_nul(&untracked?));
    }
    Ok(paths.into_iter().collect())
}

fn split_nul(bytes: &[u8]) -> std::collections::BTreeSet<String> {
    bytes.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).into_owned()).collect()
}

/// The work tree's top level containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, EngineError> {
    if let Some(top) = nearest_work_tree(dir) {
        return Ok(top);
    }
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| EngineError::Git(format!("'{}' is not inside a git work tree", dir.display())))?;
    std::fs::canonicalize(&top).map_err(|e| EngineError::Io(top, e))
}

/// The top level git itself would find for `dir` in the plain case, without running git
/// (which costs milliseconds on every command): the nearest directory upwards holding a
/// repository (`.git` with a `HEAD`) or a linked work tree's `.git` file. `None` leaves the
/// answer to git: when its environment steers the search, or from inside a `.git`
/// directory, or where no such directory is found.
fn nearest_work_tree(dir: &Path) -> Option<PathBuf> {
    if git_is_steered() {
        return None;
    }
    let start = std::fs::canonicalize(dir).ok()?;
    if start.components().any(|part| part.as_os_str() == ".git") {
        return None;
    }
    start.ancestors().find_map(|candidate| {
        let git = candidate.join(".git");
        let found = if git.is_dir() {
            git.join("HEAD").is_file()
        } else {
            std::fs::read(&git).is_ok_and(|text| text.starts_with(b"gitdir: "))
        };
        found.then(|| candidate.to_path_buf())
    })
}

/// Whether git's environment steers where it finds the repository.
fn git_is_steered() -> bool {
    const STEERING: [&str; 5] =
        ["GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_COMMON_DIR"];
    STEERING.iter().any(|name| std::env::var_os(name).is_some())
}

/// The full commit hash of a revision (of `HEAD` in the plain case without running git, see
/// [`head_without_git`]).
pub fn resolve(dir: &Path, rev: &str) -> Result<String, EngineError> {
    if rev == "HEAD" {
        if let Some(commit) = head_without_git(dir) {
            return Ok(commit);
        }
    }
    git(dir, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| EngineError::Git(format!("unknown revision '{rev}'")))
}

/// The commit `HEAD` names in the repository whose top level is `top`, read from its files
/// (git costs milliseconds to start): `.git/HEAD` holds a commit's hash, or names a branch
/// whose hash is in a file of its own or in `packed-refs`. `None` leaves the answer to git:
/// a linked work tree, another storage of refs, an environment that steers git, a branch
/// without commits, anything else.
fn head_without_git(top: &Path) -> Option<String> {
    if git_is_steered() {
        return None;
    }
    let git_dir = top.join(".git");
    if !git_dir.is_dir() {
        return None;
    }
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.strip_suffix('\n').unwrap_or(&head);
    let commit = match head.strip_prefix("ref: ") {
        None => head.to_string(),
        Some(name) => {
            let plain = name.starts_with("refs/") && name.split('/').all(|part| !part.is_empty() && part != "..");
            if !plain {
                return None;
            }
            match std::fs::read_to_string(git_dir.join(name)) {
                Ok(text) => text.strip_suffix('\n').unwrap_or(&text).to_string(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
                    let line = packed.lines().find(|line| line.split_once(' ').is_some_and(|(_, n)| n == name))?;
                    line.split_once(' ')?.0.to_string()
                }
                Err(_) => return None,
            }
        }
    };
    // A commit's full hash: SHA-1 or SHA-256, in lower-case hexadecimal.
    let full =
        matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    full.then_some(commit)
}

/// The git directory of the repository whose top is `top`, as an absolute path.
fn git_dir(top: &Path) -> Result<PathBuf, EngineError> {
    git(top, &["rev-parse", "--absolute-git-dir"]).map(PathBuf::from)
}

/// Writes every file of `commit` (of the repository whose git directory is `git_dir`) into
/// the empty directory `into`, as committed, through an index of its own: the user's work tree and index
/// are untouched, and `export-ignore` and `export-subst` play no part.
fn check_out(git_dir: &Path, commit: &str, into: &Path) -> Result<(), EngineError> {
    // The index lives beside the files while they are checked out, then goes.
    let index = into.join(".nxe-index");
    let mut prefix = std::ffi::OsString::from("--prefix=");
    prefix.push(into);
    prefix.push("/");
    let run = |args: &[&std::ffi::OsStr]| -> Result<(), EngineError> {
        let output = Command::new("git")
            .arg("--git-dir")
            .arg(git_dir)
            .arg("--work-tree")
            .arg(into)
            .args(args)
            .env("GIT_INDEX_FILE", &index)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| EngineError::Git(format!("cannot run git: {e}")))?;
        if !output.status.success() {
            return Err(EngineError::Git(format!(
                "checking out {commit} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    };
    run(&["read-tree".as_ref(), commit.as_ref()])?;
    run(&["checkout-index".as_ref(), "--all".as_ref(), prefix.as_os_str()])?;
    std::fs::remove_file(&index).map_err(|e| EngineError::Io(index.display().to_string(), e))
}

/// A revision checked out into a temporary directory, removed when dropped.
pub struct Checkout {
    dir: tempfile::TempDir,
    /// The commit checked out.
    pub commit: String,
}

impl Checkout {
    /// Checks out `rev` of the repository containing `dir` into a fresh temporary directory,
    /// through an index of its own (so the user's work tree and index are untouched), as a
    /// plain checkout would: every file, whatever `export-ignore` or `export-subst` say.
    pub fn new(dir: &Path, rev: &str) -> Result<Checkout, EngineError> {
        let top = toplevel(dir)?;
        let commit = resolve(&top, rev)?;
        let temp = tempfile::Builder::new()
            .prefix("nxe-checkout-")
            .tempdir()
            .map_err(|e| EngineError::Io("a temporary directory".into(), e))?;
        check_out(&git_dir(&top)?, &commit, temp.path())?;
        Ok(Checkout { dir: temp, commit })
    }

    /// The checkout's top level.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where `dir` (inside the original work tree) is in the checkout.
    pub fn translate(&self, dir: &Path) -> Result<PathBuf, EngineError> {
        let top = toplevel(dir)?;
        let relative = dir.strip_prefix(&top).map_err(|_| {
            EngineError::Internal(format!("'{}' is not below the work tree '{}'", dir.display(), top.display()))
        })?;
        Ok(self.dir.path().join(relative))
    }
}

/// The real file system and environment ([`RealIo`]), with the `git` program answering for
/// `builtins.fetchGit` of local work trees (the evaluator itself runs no program).
#[derive(Clone, Debug, Default)]
pub struct LocalIo {
    /// The checkout of a commit the evaluation runs in, if any: fetching the checkout gives
    /// that commit, as fetching the work tree would where it is checked out and clean.
    revision: Option<crate::config::SourceRevision>,
}

impl LocalIo {
    /// An evaluation on this I/O, with a code cache of its own.
    pub fn evaluation(settings: nxe_evaluator::EvalSettings) -> nxe_evaluator::Evaluation {
        let code = Arc::new(nxe_evaluator::CodeCache::default());
        nxe_evaluator::Evaluation::with_io(settings, std::rc::Rc::new(LocalIo::default()), code)
    }

    /// The I/O of evaluations in `revision`'s checkout.
    pub fn in_checkout(revision: Option<crate::config::SourceRevision>) -> LocalIo {
        LocalIo { revision }
    }
}

impl EvalIo for LocalIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        RealIo.read_file(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        RealIo.read_dir(path)
    }

    fn file_kind(&self, path: &Path) -> io::Result<FileKind> {
        RealIo.file_kind(path)
    }

    fn path_exists(&self, path: &Path) -> bool {
        RealIo.path_exists(path)
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        RealIo.read_link(path)
    }

    fn is_executable(&self, path: &Path) -> bool {
        RealIo.is_executable(path)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        RealIo.get_env(name)
    }

    fn trace(&self, message: &str) {
        RealIo.trace(message)
    }

    fn git_work_tree(&self, dir: &Path) -> io::Result<GitWorkTree> {
        match &self.revision {
            Some(revision) if same_directory(dir, &revision.checkout) => checkout_tree(revision),
            _ => work_tree(dir),
        }
    }

    /// In a checkout of a commit, the repository is the one the checkout came from.
    fn git_commit_tree(&self, dir: &Path, revision: &str) -> io::Result<GitWorkTree> {
        match &self.revision {
            Some(checkout) if same_directory(dir, &checkout.checkout) => commit_tree(&checkout.git_top, revision),
            _ => commit_tree(dir, revision),
        }
    }
}

/// Commits checked out for `builtins.fetchGit` where the repository could not keep them, by
/// repository and commit, kept until [`remove_exports`].
static EXPORTS: std::sync::Mutex<Vec<(PathBuf, Arc<Checkout>)>> = std::sync::Mutex::new(Vec::new());

/// Removes the commits checked out for `builtins.fetchGit` in temporary directories (the
/// process ends its run).
pub fn remove_exports() {
    EXPORTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
}

/// Where commit `commit` of the repository whose top is `top` (and git directory `git_dir`)
/// is checked out for `builtins.fetchGit`, with its `submodules`: in the git directory
/// (`nxe/commits/<commit>`), written once and kept, since a commit never changes (a later
/// build may copy it as a source); or, where that cannot be written, in a temporary
/// directory kept for the rest of the run (without the submodules).
fn commit_checkout(top: &Path, git_dir: &Path, commit: &str, submodules: &[(PathBuf, String)]) -> io::Result<PathBuf> {
    let commits = git_dir.join("nxe").join("commits");
    let kept = commits.join(commit);
    if kept.is_dir() {
        return Ok(kept);
    }
    // Written beside its place, then renamed there: a reader never sees it half written, and
    // of two processes writing it at once, the first rename wins.
    let written = std::fs::create_dir_all(&commits)
        .and_then(|()| tempfile::Builder::new().prefix(".partial-").tempdir_in(&commits))
        .map_err(|e| EngineError::Io(commits.display().to_string(), e))
        .and_then(|partial| check_out(git_dir, commit, partial.path()).map(|()| partial))
        .inspect(|partial| check_out_submodules(git_dir, submodules, partial.path()));
    if let Ok(partial) = written {
        let partial = partial.keep();
        match std::fs::rename(&partial, &kept) {
            Ok(()) => return Ok(kept),
            Err(_) if kept.is_dir() => {
                let _ = std::fs::remove_dir_all(&partial);
                return Ok(kept);
            }
            Err(_) => {
                let _ = std::fs::remove_dir_all(&partial);
            }
        }
    }
    let known = |exports: &[(PathBuf, Arc<Checkout>)]| {
        exports.iter().find(|(repo, export)| repo == top && export.commit == commit).map(|(_, e)| e.clone())
    };
    let lock = || EXPORTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let found = known(&lock());
    let export = match found {
        Some(export) => export,
        None => {
            let export = Arc::new(Checkout::new(top, commit).map_err(to_io)?);
            let mut exports = lock();
            // Another thread may have checked it out meanwhile: the first one stays.
            match known(&exports) {
                Some(first) => first,
                None => {
                    exports.push((top.to_path_buf(), export.clone()));
                    export
                }
            }
        }
    };
    Ok(export.path().to_path_buf())
}

/// The submodules of `commit` (of the repository whose git directory is `git_dir`): each
/// path, with the commit recorded there.
fn submodules_of(git_dir: &Path, commit: &str) -> Vec<(PathBuf, String)> {
    let listed = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["ls-tree", "-r", "-z", commit])
        .stdin(Stdio::null())
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    // Entries `<mode> <type> <object>\t<path>`; a submodule has mode 160000.
    listed
        .split(|b| *b == 0)
        .filter(|entry| entry.starts_with(b"160000 "))
        .filter_map(|entry| {
            let tab = entry.iter().position(|b| *b == b'\t')?;
            let object = String::from_utf8_lossy(&entry[..tab]).split(' ').nth(2)?.to_string();
            Some((PathBuf::from(String::from_utf8_lossy(&entry[tab + 1..]).into_owned()), object))
        })
        .collect()
}

/// Checks out each of the `submodules` of the commit checked out in `into` at the commit
/// recorded for it, from the clone git keeps of it (`modules/<name>` in `git_dir`), where
/// there is one. One without a clone stays an empty directory: its files are then not known.
fn check_out_submodules(git_dir: &Path, submodules: &[(PathBuf, String)], into: &Path) {
    let names = Command::new("git")
        .arg("config")
        .arg("--file")
        .arg(into.join(".gitmodules"))
        .args(["-z", "--get-regexp", r"^submodule\..*\.path$"])
        .stdin(Stdio::null())
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    // Entries `submodule.<name>.path\n<path>`.
    let name_of = |path: &Path| {
        names.split(|b| *b == 0).find_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (key, value) = text.split_once('\n')?;
            let name = key.strip_prefix("submodule.")?.strip_suffix(".path")?;
            (Path::new(value) == path).then(|| name.to_string())
        })
    };
    for (path, object) in submodules {
        let clone = git_dir.join("modules").join(name_of(path).unwrap_or_else(|| path.display().to_string()));
        let target = into.join(path);
        if clone.is_dir() && std::fs::create_dir_all(&target).is_ok() && check_out(&clone, object, &target).is_err() {
            // Half written: nothing of it counts.
            let _ = std::fs::remove_dir_all(&target);
            let _ = std::fs::create_dir_all(&target);
        }
    }
}

/// Commit `revision` of the repository whose top is `dir`, checked out apart
/// ([`commit_checkout`]) and seen as a clean work tree with it checked out.
fn commit_tree(dir: &Path, revision: &str) -> io::Result<GitWorkTree> {
    let top = std::fs::canonicalize(toplevel(dir).map_err(to_io)?)?;
    // A name git would read as an option names no commit.
    if revision.starts_with('-') {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("no commit '{revision}'")));
    }
    let commit = git(&top, &["rev-parse", "--verify", "--quiet", &format!("{revision}^{{commit}}")])
        .map_err(|_| io::Error::new(io::ErrorKind::NotFound, format!("no commit '{revision}'")))?;
    let git_dir = git_dir(&top).map_err(to_io)?;
    let submodules = submodules_of(&git_dir, &commit);
    let checkout = commit_checkout(&top, &git_dir, &commit, &submodules)?;
    let mut files = Vec::new();
    crate::reads::walk_files(&checkout, "", &mut files);
    let all: std::collections::BTreeSet<PathBuf> = files.into_iter().map(PathBuf::from).collect();
    // Submodules' files are part of the source only when asked for, and only when each was
    // checked out (an empty directory was not).
    let inside = |file: &PathBuf, (submodule, _): &(PathBuf, String)| file.starts_with(submodule);
    let tracked: std::collections::BTreeSet<PathBuf> =
        all.iter().filter(|file| !submodules.iter().any(|s| inside(file, s))).cloned().collect();
    let complete = submodules.iter().all(|s| all.iter().any(|file| inside(file, s)));
    let with_submodules = (!submodules.is_empty() && complete).then(|| Arc::new(all));
    let export_ignored = export_ignored(&top, Some((&git_dir, &checkout)), &tracked)?;
    let number = |args: &[&str]| git_number(&top, args);
    Ok(GitWorkTree {
        top: checkout,
        tracked: Arc::new(tracked),
        head: Some(commit.clone()),
        branch: None,
        dirty: false,
        last_modified: number(&["log", "-1", "--format=%ct", &commit])?,
        rev_count: number(&["rev-list", "--count", &commit])?,
        export_ignored: Arc::new(export_ignored),
        with_submodules,
    })
}

fn same_directory(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A checkout of a commit seen as a clean work tree with that commit checked out.
fn checkout_tree(revision: &crate::config::SourceRevision) -> io::Result<GitWorkTree> {
    let mut files = Vec::new();
    crate::reads::walk_files(&revision.checkout, "", &mut files);
    let tracked = files.into_iter().map(PathBuf::from).collect();
    let git_dir = git_dir(&revision.git_top).map_err(to_io)?;
    let export_ignored = export_ignored(&revision.git_top, Some((&git_dir, &revision.checkout)), &tracked)?;
    let number = |args: &[&str]| git_number(&revision.git_top, args);
    let commit = revision.commit.as_str();
    Ok(GitWorkTree {
        top: revision.checkout.clone(),
        tracked: Arc::new(tracked),
        head: Some(commit.to_string()),
        branch: None,
        dirty: false,
        last_modified: number(&["log", "-1", "--format=%ct", commit])?,
        rev_count: number(&["rev-list", "--count", commit])?,
        export_ignored: Arc::new(export_ignored),
        with_submodules: None,
    })
}

fn to_io(error: EngineError) -> io::Error {
    io::Error::other(error.to_string())
}

/// The number git prints for `args` in `dir`.
fn git_number(dir: &Path, args: &[&str]) -> io::Result<i64> {
    git(dir, args).map_err(to_io)?.parse().map_err(|e| io::Error::other(format!("unexpected output of git: {e}")))
}

/// What `builtins.fetchGit` needs of the work tree whose top is `dir`.
pub fn work_tree(dir: &Path) -> io::Result<GitWorkTree> {
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"]).map_err(to_io)?);
    if std::fs::canonicalize(&top)? != std::fs::canonicalize(dir)? {
        return Err(io::Error::other(format!("'{}' is not the top of a Git work tree", dir.display())));
    }
    // Entries `<mode> <object> <stage>\t<path>`: a submodule is an entry of mode 160000, and
    // not part of the source unless its files are asked for.
    let staged = git_raw(dir, &["ls-files", "-z", "--stage"]).map_err(to_io)?;
    let on_disk = |name: &PathBuf| !name.as_os_str().is_empty() && dir.join(name).symlink_metadata().is_ok();
    let mut submodules = false;
    let mut tracked = std::collections::BTreeSet::new();
    for entry in staged.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let Some(tab) = entry.iter().position(|b| *b == b'\t') else { continue };
        if entry.starts_with(b"160000 ") {
            submodules = true;
            continue;
        }
        let name = PathBuf::from(String::from_utf8_lossy(&entry[tab + 1..]).into_owned());
        if on_disk(&name) {
            tracked.insert(name);
        }
    }
    // With its submodules: the files each checked-out submodule tracks, in its work tree.
    let with_submodules = if submodules {
        let listed = git_raw(dir, &["ls-files", "-z", "--cached", "--recurse-submodules"]).map_err(to_io)?;
        let files = listed
            .split(|b| *b == 0)
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .filter(on_disk)
            .collect();
        Some(Arc::new(files))
    } else {
        None
    };
    let head = git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]).ok();
    let branch = git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok();
    let dirty = !git(dir, &["status", "--porcelain", "--untracked-files=no"]).map_err(to_io)?.is_empty();
    let number = |args: &[&str]| git_number(dir, args);
    let (last_modified, rev_count) = match &head {
        Some(rev) => (number(&["log", "-1", "--format=%ct", rev])?, number(&["rev-list", "--count", rev])?),
        None => (0, 0),
    };
    let export_ignored = export_ignored(dir, None, &tracked)?;
    Ok(GitWorkTree {
        top: dir.to_path_buf(),
        tracked: Arc::new(tracked),
        head,
        branch,
        dirty,
        last_modified,
        rev_count,
        export_ignored: Arc::new(export_ignored),
        with_submodules,
    })
}

/// The paths among `files` (and the directories above them) that `export-ignore` marks in
/// the repository whose top is `top`, as the `.gitattributes` files of `files` say: those of
/// the work tree, or of a checkout of a commit, given with the repository's git directory.
fn export_ignored(
    top: &Path,
    checkout: Option<(&Path, &Path)>,
    files: &std::collections::BTreeSet<PathBuf>,
) -> io::Result<std::collections::BTreeSet<PathBuf>> {
    use std::io::{Read, Write};
    let mut ignored = std::collections::BTreeSet::new();
    if !files.iter().any(|f| f.file_name().is_some_and(|n| n == ".gitattributes")) {
        return Ok(ignored);
    }
    let mut asked = std::collections::BTreeSet::new();
    for file in files {
        asked.extend(file.ancestors().filter(|p| !p.as_os_str().is_empty()));
    }
    let mut input = Vec::new();
    for path in &asked {
        input.extend_from_slice(path.as_os_str().as_encoded_bytes());
        input.push(0);
    }
    let mut command = Command::new("git");
    match checkout {
        Some((git_dir, checkout)) => {
            command.arg("--git-dir").arg(git_dir).arg("--work-tree").arg(checkout).arg("-C").arg(checkout);
        }
        None => {
            command.arg("-C").arg(top);
        }
    }
    let mut child = command
        .args(["check-attr", "-z", "--stdin", "export-ignore"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| io::Error::other("git check-attr has no stdin"))?;
    // Written beside the reading, so that neither pipe fills while the other waits.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut output = Vec::new();
    child.stdout.take().ok_or_else(|| io::Error::other("git check-attr has no stdout"))?.read_to_end(&mut output)?;
    let written = writer.join().map_err(|_| io::Error::other("writing to git check-attr failed"))?;
    let status = child.wait()?;
    written?;
    if !status.success() {
        return Err(io::Error::other(format!("git check-attr failed ({status})")));
    }
    // Triples of path, attribute and value, each ended by a NUL byte.
    let fields: Vec<&[u8]> = output.split(|b| *b == 0).collect();
    for triple in fields.chunks_exact(3) {
        if triple[2] == b"set" {
            ignored.insert(PathBuf::from(String::from_utf8_lossy(triple[0]).into_owned()));
        }
    }
    Ok(ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let status = Command::new("git").arg("-C").arg(dir).args(args).stdout(Stdio::null()).status().expect("git");
        assert!(status.success(), "git {args:?}");
    }

    fn by_git(dir: &Path) -> PathBuf {
        std::fs::canonicalize(git(dir, &["rev-parse", "--show-toplevel"]).expect("rev-parse")).expect("canonical")
    }

    #[test]
    fn the_top_level_found_without_git_is_the_one_git_finds() {
        let temp = tempfile::tempdir().expect("temp dir");
        let repo = temp.path().join("repo");
        let nested = repo.join("hosts/web");
        std::fs::create_dir_all(&nested).expect("mkdir");
        run(&repo, &["init", "-q"]);
        std::fs::write(repo.join("a.nix"), "1").expect("write");
        run(&repo, &["add", "-A"]);
        run(&repo, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a"]);
        // A linked work tree has a `.git` file.
        let linked = temp.path().join("linked");
        run(&repo, &["worktree", "add", "-q", &linked.display().to_string()]);
        // A directory named `.git` without a repository in it is not a top level.
        let fake = nested.join("deeper");
        std::fs::create_dir_all(fake.join(".git")).expect("mkdir");
        for dir in [&repo, &nested, &linked, &fake] {
            assert_eq!(nearest_work_tree(dir), Some(by_git(dir)), "{}", dir.display());
            assert_eq!(toplevel(dir).expect("toplevel"), by_git(dir));
        }
        // From inside the repository's own directory, git decides.
        assert_eq!(nearest_work_tree(&repo.join(".git")), None);
        assert!(toplevel(&repo.join(".git")).is_err());
    }

    #[test]
    fn head_read_without_git_is_the_commit_git_names() {
        let temp = tempfile::tempdir().expect("temp dir");
        let repo = temp.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        run(&repo, &["init", "-q"]);
        // A branch without commits: git decides (and finds none).
        assert_eq!(head_without_git(&repo), None);
        assert!(resolve(&repo, "HEAD").is_err());
        let commit = |message: &str| {
            std::fs::write(repo.join("a.nix"), message).expect("write");
            run(&repo, &["add", "-A"]);
            run(&repo, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message]);
        };
        let by_git = |dir: &Path| git(dir, &["rev-parse", "--verify", "HEAD^{commit}"]).expect("rev-parse");
        commit("1");
        // A branch in a file of its own.
        assert_eq!(head_without_git(&repo), Some(by_git(&repo)));
        // A branch in packed-refs only.
        run(&repo, &["pack-refs", "--all"]);
        commit("2");
        run(&repo, &["pack-refs", "--all"]);
        assert_eq!(head_without_git(&repo), Some(by_git(&repo)));
        // A detached HEAD.
        run(&repo, &["checkout", "-q", "--detach", "HEAD~1"]);
        assert_eq!(head_without_git(&repo), Some(by_git(&repo)));
        assert_eq!(resolve(&repo, "HEAD").expect("resolve"), by_git(&repo));
        // A linked work tree: git decides.
        let linked = temp.path().join("linked");
        run(&repo, &["worktree", "add", "-q", "--detach", &linked.display().to_string()]);
        assert_eq!(head_without_git(&linked), None);
        assert_eq!(resolve(&linked, "HEAD").expect("resolve"), by_git(&linked));
    }

    /// A checkout of a commit holds every file as committed, whatever `export-ignore` and
    /// `export-subst` say (they are for exports, and an evaluation of the commit reads them),
    /// with executable bits and symlinks; the user's index and work tree are untouched.
    #[test]
    fn a_checkout_holds_every_file_as_committed() {
        let temp = tempfile::tempdir().expect("temp dir");
        let repo = temp.path().join("repo");
        std::fs::create_dir_all(repo.join("tests")).expect("mkdir");
        run(&repo, &["init", "-q"]);
        std::fs::write(repo.join(".gitattributes"), "tests/** export-ignore\nversion export-subst\n").expect("write");
        std::fs::write(repo.join("tests/a.nix"), "1").expect("write");
        std::fs::write(repo.join("version"), "$Format:%H$").expect("write");
        std::fs::write(repo.join("run.sh"), "#!/bin/sh\n").expect("write");
        std::os::unix::fs::symlink("version", repo.join("link")).expect("symlink");
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(repo.join("run.sh"), mode).expect("chmod");
        run(&repo, &["add", "-A"]);
        run(&repo, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one"]);
        std::fs::write(repo.join("version"), "changed").expect("write");
        let status_before = git(&repo, &["status", "--porcelain"]).expect("status");
        let checkout = Checkout::new(&repo, "HEAD").expect("checkout");
        let read = |name: &str| std::fs::read_to_string(checkout.path().join(name)).expect("read");
        assert_eq!(read("tests/a.nix"), "1");
        assert_eq!(read("version"), "$Format:%H$");
        assert_eq!(std::fs::read_link(checkout.path().join("link")).expect("link"), PathBuf::from("version"));
        let mode = std::fs::metadata(checkout.path().join("run.sh")).expect("stat").permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111, 0o111);
        let mut files = Vec::new();
        crate::reads::walk_files(checkout.path(), "", &mut files);
        files.sort();
        assert_eq!(files, [".gitattributes", "link", "run.sh", "tests/a.nix", "version"]);
        assert_eq!(git(&repo, &["status", "--porcelain"]).expect("status"), status_before);
    }
}
