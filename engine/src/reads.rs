//! Read sets: what an evaluation depended on, each entry with a blake3 hash of what it saw.
//!
//! Every evaluation that nxe caches runs on a fresh evaluator whose I/O goes through a
//! [`RecordingIo`], so nothing it reads can hide behind a value another evaluation computed.
//! The record names every file read or imported, every directory listed, every file kind,
//! existence or symlink answer, every executable bit and every environment variable asked
//! for. Files a path filter dropped are never read, so they are not dependencies; the
//! listing of their directory is (a new file there may be kept).
//!
//! A read set is checked against a state of the repository (the work tree, or a revision
//! seen through git) by asking the same questions again ([`observe`]): it still holds when
//! every answer has the same hash.

use nxe_evaluator::{EvalIo, FileKind, RealIo};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// One question an evaluation asked. Paths inside the anchor (the git work tree, or the
/// repository root outside git) are relative to it, others absolute.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReadKey {
    /// A file's bytes (following symlinks).
    #[serde(rename = "file")]
    File(String),
    /// A directory's entries with their kinds.
    #[serde(rename = "dir")]
    Dir(String),
    /// The kind of a path (not following a final symlink).
    #[serde(rename = "kind")]
    Kind(String),
    /// Whether a path exists.
    #[serde(rename = "exists")]
    Exists(String),
    /// A symlink's target.
    #[serde(rename = "link")]
    Link(String),
    /// Whether a file is executable.
    #[serde(rename = "exec")]
    Exec(String),
    /// An environment variable.
    #[serde(rename = "env")]
    Env(String),
    /// Every file git tracks below a directory (a flake's source: its store path, and so
    /// every value that names it, depends on all of them).
    #[serde(rename = "tree")]
    Tree(String),
}

impl ReadKey {
    /// The path this key is about (`None` for environment variables).
    pub fn path(&self) -> Option<&str> {
        match self {
            ReadKey::File(p)
            | ReadKey::Dir(p)
            | ReadKey::Kind(p)
            | ReadKey::Exists(p)
            | ReadKey::Link(p)
            | ReadKey::Exec(p)
            | ReadKey::Tree(p) => Some(p),
            ReadKey::Env(_) => None,
        }
    }
}

/// A read set: every question with the hash of its answer (hex), sorted. Shared: units
/// evaluated together, and a host's unit and its validations, have the same one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSet(pub Arc<[(ReadKey, String)]>);

impl ReadSet {
    /// The repository-relative files this read set depends on in any way.
    pub fn paths(&self) -> BTreeSet<&str> {
        self.0.iter().filter_map(|(key, _)| key.path()).filter(|p| !p.starts_with('/')).collect()
    }

    /// The questions, without their answers.
    pub fn keys(&self) -> BTreeSet<ReadKey> {
        self.0.iter().map(|(key, _)| key.clone()).collect()
    }

    /// Whether the read set still holds in `state`: every answer hashes the same.
    pub fn holds(&self, state: &State) -> bool {
        self.0.iter().all(|(key, hash)| state.is_ignored(key) || state.answers(key, hash))
    }

    /// The keys whose answer differs in `state`.
    pub fn differences(&self, state: &State) -> Vec<&ReadKey> {
        self.0
            .iter()
            .filter(|(key, hash)| !state.is_ignored(key) && !state.answers(key, hash))
            .map(|(key, _)| key)
            .collect()
    }
}

/// Where relative keys are anchored, and which directory to leave out of the record (the
/// store: its paths are immutable).
#[derive(Clone, Debug)]
pub struct Anchor {
    /// The directory relative keys are relative to.
    pub root: PathBuf,
    /// The store directory, whose paths are never recorded.
    pub store_dir: String,
}

impl Anchor {
    /// The key path of an absolute path.
    pub fn key_path(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rest) if rest.as_os_str().is_empty() => ".".to_string(),
            Ok(rest) => rest.to_string_lossy().into_owned(),
            Err(_) => path.to_string_lossy().into_owned(),
        }
    }

    /// The absolute path of a key path.
    pub fn absolute(&self, key_path: &str) -> PathBuf {
        if key_path.starts_with('/') {
            PathBuf::from(key_path)
        } else if key_path == "." {
            self.root.clone()
        } else {
            self.root.join(key_path)
        }
    }

    fn recorded(&self, path: &Path) -> bool {
        let store = Path::new(&self.store_dir);
        !path.starts_with(store)
    }
}

/// An [`EvalIo`] that notes every question before passing it on.
pub struct RecordingIo {
    inner: Rc<dyn EvalIo>,
    anchor: Anchor,
    log: RefCell<BTreeSet<ReadKey>>,
}

impl RecordingIo {
    /// Records what goes through `inner`.
    pub fn new(inner: Rc<dyn EvalIo>, anchor: Anchor) -> RecordingIo {
        RecordingIo { inner, anchor, log: RefCell::new(BTreeSet::new()) }
    }

    fn note(&self, make: fn(String) -> ReadKey, path: &Path) {
        if self.anchor.recorded(path) {
            self.log.borrow_mut().insert(make(self.anchor.key_path(path)));
        }
    }

    /// Where its keys are anchored.
    pub fn anchor(&self) -> &Anchor {
        &self.anchor
    }

    /// Every question asked so far.
    pub fn keys(&self) -> BTreeSet<ReadKey> {
        self.log.borrow().clone()
    }

    /// The I/O questions are passed to.
    pub fn inner(&self) -> Rc<dyn EvalIo> {
        self.inner.clone()
    }
}

impl EvalIo for RecordingIo {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.note(ReadKey::File, path);
        self.inner.read_file(path)
    }

    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileKind)>> {
        self.note(ReadKey::Dir, path);
        self.inner.read_dir(path)
    }

    fn file_kind(&self, path: &Path) -> std::io::Result<FileKind> {
        self.note(ReadKey::Kind, path);
        self.inner.file_kind(path)
    }

    fn path_exists(&self, path: &Path) -> bool {
        self.note(ReadKey::Exists, path);
        self.inner.path_exists(path)
    }

    fn read_link(&self, path: &Path) -> std::io::Result<String> {
        self.note(ReadKey::Link, path);
        self.inner.read_link(path)
    }

    fn is_executable(&self, path: &Path) -> bool {
        self.note(ReadKey::Exec, path);
        self.inner.is_executable(path)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        self.log.borrow_mut().insert(ReadKey::Env(name.to_string()));
        self.inner.get_env(name)
    }

    /// Traces and warnings are not printed: the units' outcomes carry what matters (a
    /// host's warnings), and a unit evaluated again must not print them again.
    fn trace(&self, _message: &str) {}

    fn record_filter(&self, path: &Path, included: bool) {
        self.inner.record_filter(path, included)
    }

    fn reused_file(&self, path: &Path) {
        self.note(ReadKey::File, path);
        self.inner.reused_file(path)
    }

    /// A fetched work tree's value depends on every file git tracks in it, with its contents
    /// on disk, and on the commit checked out.
    fn git_work_tree(&self, dir: &Path) -> std::io::Result<nxe_evaluator::io::GitWorkTree> {
        self.note(ReadKey::Tree, dir);
        self.inner.git_work_tree(dir)
    }

    /// A fetched commit depends on what its name resolves to: the repository's refs are
    /// part of the answer about its work tree (see [`refs_digest`]).
    fn git_commit_tree(&self, dir: &Path, revision: &str) -> std::io::Result<nxe_evaluator::io::GitWorkTree> {
        self.note(ReadKey::Tree, dir);
        self.inner.git_commit_tree(dir, revision)
    }
}

/// The hash (hex) of the answer `io` gives to a question about `path` (ignored for
/// environment variables).
pub fn observe(io: &dyn EvalIo, key: &ReadKey, path: &Path) -> String {
    let mut hasher = blake3::Hasher::new();
    let error = |hasher: &mut blake3::Hasher, e: std::io::Error| {
        hasher.update(b"error\0");
        hasher.update(format!("{:?}", e.kind()).as_bytes());
    };
    match key {
        ReadKey::File(_) => match io.read_file(path) {
            Ok(bytes) => {
                hasher.update(b"file\0");
                hasher.update(&bytes);
            }
            Err(e) => error(&mut hasher, e),
        },
        ReadKey::Dir(_) => match io.read_dir(path) {
            Ok(mut entries) => {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                hasher.update(b"dir\0");
                for (name, kind) in entries {
                    hasher.update(name.as_bytes());
                    hasher.update(b"\0");
                    hasher.update(kind_name(kind).as_bytes());
                    hasher.update(b"\0");
                }
            }
            Err(e) => error(&mut hasher, e),
        },
        ReadKey::Kind(_) => match io.file_kind(path) {
            Ok(kind) => {
                hasher.update(b"kind\0");
                hasher.update(kind_name(kind).as_bytes());
            }
            Err(e) => error(&mut hasher, e),
        },
        ReadKey::Exists(_) => {
            hasher.update(if io.path_exists(path) { b"exists\0yes" } else { b"exists\0no" });
        }
        ReadKey::Link(_) => match io.read_link(path) {
            Ok(target) => {
                hasher.update(b"link\0");
                hasher.update(target.as_bytes());
            }
            Err(e) => error(&mut hasher, e),
        },
        ReadKey::Exec(_) => {
            hasher.update(if io.is_executable(path) { b"exec\0yes" } else { b"exec\0no" });
        }
        ReadKey::Tree(_) => {
            hasher.update(tree_digest_on_disk(path).as_bytes());
            hasher.update(b"\0");
            hasher.update(git_state(path).as_bytes());
            hasher.update(b"\0");
            hasher.update(refs_digest(path).as_bytes());
        }
        ReadKey::Env(name) => match io.get_env(name) {
            Some(value) => {
                hasher.update(b"env\0");
                hasher.update(value.as_bytes());
            }
            None => {
                hasher.update(b"unset");
            }
        },
    }
    hasher.finalize().to_hex()[..32].to_string()
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Regular => "regular",
        FileKind::Directory => "directory",
        FileKind::Symlink => "symlink",
        FileKind::Unknown => "unknown",
    }
}

/// A state of the repository that read sets are checked against: the work tree on disk, or
/// a revision (the work tree, except for the paths that differ between the two, which are
/// answered from git's objects). Answers are memoised.
pub struct State {
    anchor: Anchor,
    /// Paths (anchor-relative) that differ from the work tree, with every directory above
    /// them; `None` for the work tree itself.
    revision: Option<(GitTree, BTreeSet<String>)>,
    /// Answers found so far: the listing looks up thousands (every key of every read set).
    memo: Mutex<FxHashMap<ReadKey, String>>,
    /// Paths whose changes are declared noise: read sets hold whatever they say of them.
    ignored: BTreeSet<String>,
}

impl State {
    /// The work tree as it is on disk.
    pub fn work_tree(anchor: Anchor) -> State {
        State { anchor, revision: None, memo: Mutex::new(FxHashMap::default()), ignored: BTreeSet::new() }
    }

    /// A revision: `tree` is its content, `differing` the anchor-relative paths whose
    /// content differs between it and the work tree.
    pub fn revision(anchor: Anchor, tree: GitTree, differing: &BTreeSet<String>) -> State {
        let mut affected = BTreeSet::new();
        for path in differing {
            affected.insert(path.clone());
            let mut current = Path::new(path.as_str());
            while let Some(parent) = current.parent() {
                let text = parent.to_string_lossy().into_owned();
                if text.is_empty() {
                    affected.insert(".".to_string());
                    break;
                }
                affected.insert(text);
                current = parent;
            }
        }
        State {
            anchor,
            revision: Some((tree, affected)),
            memo: Mutex::new(FxHashMap::default()),
            ignored: BTreeSet::new(),
        }
    }

    /// Where relative keys are anchored.
    pub fn anchor(&self) -> &Anchor {
        &self.anchor
    }

    /// Declares changes to `paths` noise.
    pub fn ignore(&mut self, paths: BTreeSet<String>) {
        self.ignored = paths;
    }

    /// Whether `key` is about an ignored path.
    pub fn is_ignored(&self, key: &ReadKey) -> bool {
        key.path().is_some_and(|p| self.ignored.contains(p))
    }

    /// Whether the hash of the answer to `key` in this state is `hash`.
    pub fn answers(&self, key: &ReadKey, hash: &str) -> bool {
        if let Ok(memo) = self.memo.lock() {
            if let Some(known) = memo.get(key) {
                return known == hash;
            }
        }
        self.answer(key) == hash
    }

    /// The hash of the answer to `key` in this state.
    pub fn answer(&self, key: &ReadKey) -> String {
        if let Ok(memo) = self.memo.lock() {
            if let Some(hash) = memo.get(key) {
                return hash.clone();
            }
        }
        let path = key.path().map(|p| self.anchor.absolute(p)).unwrap_or_default();
        let hash = match (&self.revision, key.path()) {
            // A revision's tree: its files, and its commit (what a flake's `rev` says).
            (Some((tree, _)), Some(key_path)) if matches!(key, ReadKey::Tree(_)) => {
                let mut hasher = blake3::Hasher::new();
                hasher.update(tree.digest_below(key_path).as_bytes());
                hasher.update(format!("\0clean {}", tree.commit).as_bytes());
                // Refs belong to the repository, not to a commit: the same on both sides.
                hasher.update(b"\0");
                hasher.update(refs_digest(&tree.top).as_bytes());
                hasher.finalize().to_hex()[..32].to_string()
            }
            (Some((tree, affected)), Some(key_path)) if affected.contains(key_path) => {
                let io = GitTreeIo { tree, anchor: &self.anchor };
                observe(&io, key, &path)
            }
            _ => observe(&RealIo, key, &path),
        };
        if let Ok(mut memo) = self.memo.lock() {
            memo.insert(key.clone(), hash.clone());
        }
        hash
    }

    /// Hashes of `keys`, as recorded just after an evaluation in this state.
    pub fn read_set(&self, keys: impl IntoIterator<Item = ReadKey>) -> ReadSet {
        ReadSet(keys.into_iter().map(|key| (key.clone(), self.answer(&key))).collect())
    }
}

/// One entry of a git tree.
#[derive(Clone, Debug)]
struct TreeEntry {
    mode: u32,
    object: String,
}

/// The files of one revision, read with git (listing once, blobs on demand).
pub struct GitTree {
    top: PathBuf,
    commit: String,
    entries: BTreeMap<String, TreeEntry>,
    children: BTreeMap<String, Vec<(String, FileKind)>>,
}

impl GitTree {
    /// The tree of `commit` in the repository whose work tree's top level is `top`.
    pub fn new(top: &Path, commit: &str) -> Result<GitTree, crate::EngineError> {
        let listing = crate::git::git_raw(top, &["ls-tree", "-r", "-t", "-z", "--full-tree", commit])?;
        let mut entries = BTreeMap::new();
        let mut children: BTreeMap<String, Vec<(String, FileKind)>> = BTreeMap::new();
        children.insert(".".to_string(), Vec::new());
        for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let text = String::from_utf8_lossy(record);
            let Some((meta, path)) = text.split_once('\t') else { continue };
            let mut fields = meta.split_whitespace();
            let (Some(mode), Some(_kind), Some(object)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            let mode = u32::from_str_radix(mode, 8).unwrap_or(0);
            let kind = mode_kind(mode);
            let (parent, name) = match path.rsplit_once('/') {
                Some((parent, name)) => (parent.to_string(), name.to_string()),
                None => (".".to_string(), path.to_string()),
            };
            children.entry(parent).or_default().push((name, kind));
            if kind == FileKind::Directory {
                children.entry(path.to_string()).or_default();
            }
            entries.insert(path.to_string(), TreeEntry { mode, object: object.to_string() });
        }
        Ok(GitTree { top: top.to_path_buf(), commit: commit.to_string(), entries, children })
    }

    /// A digest of the tracked files below `dir` (paths, modes, blob ids), as
    /// [`tree_digest_on_disk`] computes it for a directory on disk.
    fn digest_below(&self, dir: &str) -> String {
        let prefix = if dir == "." { String::new() } else { format!("{dir}/") };
        let files = self
            .entries
            .iter()
            .filter(|(path, entry)| path.starts_with(&prefix) && mode_kind(entry.mode) != FileKind::Directory)
            .map(|(path, entry)| (path[prefix.len()..].to_string(), entry.mode, entry.object.clone()))
            .collect();
        tree_digest(files)
    }

    fn blob(&self, object: &str) -> std::io::Result<Vec<u8>> {
        crate::git::git_raw(&self.top, &["cat-file", "blob", object]).map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// The entry at `path`, following symlinks in its last component (at most 40).
    fn resolve(&self, path: &str) -> Option<(String, &TreeEntry)> {
        let mut current = path.to_string();
        for _ in 0..40 {
            let entry = self.entries.get(&current)?;
            if mode_kind(entry.mode) != FileKind::Symlink {
                return Some((current, entry));
            }
            let target = String::from_utf8_lossy(&self.blob(&entry.object).ok()?).into_owned();
            if target.starts_with('/') {
                return None;
            }
            let parent = Path::new(&current).parent().map(Path::to_path_buf).unwrap_or_default();
            current = normalise(&parent.join(target))?;
        }
        None
    }
}

/// A digest of (path, mode, git blob id) triples, sorted by path.
fn tree_digest(mut files: Vec<(String, u32, String)>) -> String {
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for (path, mode, object) in files {
        hasher.update(format!("{path}\0{mode:o}\0{object}\0").as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// What a flake's source attributes say of the git state of the work tree holding `dir`:
/// `clean <HEAD>` (`rev`), `dirty <HEAD>` (`dirtyRev`), or `none` outside git (or before the
/// first commit). A commit changes it even when no file changes.
pub fn git_state(dir: &Path) -> String {
    let Ok(head) = crate::git::git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]) else {
        return "none".to_string();
    };
    match crate::git::git(dir, &["status", "--porcelain", "--untracked-files=no"]) {
        Ok(status) if status.is_empty() => format!("clean {head}"),
        Ok(_) => format!("dirty {head}"),
        Err(_) => "none".to_string(),
    }
}

/// What the refs of the repository containing `dir` point to (every branch, tag and
/// remote ref), for fetches that name a commit by a ref; empty outside a repository.
pub fn refs_digest(dir: &Path) -> String {
    let refs = crate::git::git_raw(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]).unwrap_or_default();
    blake3::hash(&refs).to_hex()[..32].to_string()
}

/// The digest of the files git tracks below `dir`, with their contents in the work tree
/// (every file when `dir` is not inside a git work tree, as in a checkout). In a repository
/// with submodules, their files count too, since a fetch may include them: a checkout of a
/// revision, which has none, then never answers for the work tree, which is only a cache miss.
pub fn tree_digest_on_disk(dir: &Path) -> String {
    let listing: &[&str] = if dir.join(".gitmodules").exists() {
        &["ls-files", "-z", "--recurse-submodules", "--", "."]
    } else {
        &["ls-files", "-z", "--", "."]
    };
    let tracked = crate::git::git_raw(dir, listing).ok().map(|bytes| {
        bytes
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
    });
    let in_git = crate::git::git_raw(dir, &["rev-parse", "--is-inside-work-tree"]).is_ok();
    let paths = match tracked {
        Some(paths) if in_git => paths,
        _ => {
            let mut paths = Vec::new();
            walk_files(dir, "", &mut paths);
            paths
        }
    };
    let mut files = Vec::new();
    for path in paths {
        let full = dir.join(&path);
        let Ok(meta) = std::fs::symlink_metadata(&full) else { continue };
        let (mode, bytes) = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
            (0o120000, target.into_bytes())
        } else if meta.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let mode = if meta.permissions().mode() & 0o100 != 0 { 0o100755 } else { 0o100644 };
            (mode, std::fs::read(&full).unwrap_or_default())
        } else {
            continue;
        };
        files.push((path, mode, blob_id(&bytes)));
    }
    tree_digest(files)
}

pub(crate) fn walk_files(root: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(prefix)) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk_files(root, &path, out),
            Ok(_) => out.push(path),
            Err(_) => {}
        }
    }
}

/// Git's id of a blob with these contents.
fn blob_id(bytes: &[u8]) -> String {
    use sha1::Digest;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn mode_kind(mode: u32) -> FileKind {
    match mode & 0o170000 {
        0o040000 | 0o160000 => FileKind::Directory,
        0o120000 => FileKind::Symlink,
        0o100000 => FileKind::Regular,
        _ => FileKind::Unknown,
    }
}

/// `a/./b/../c` as `a/c`; `None` when it leaves the top.
fn normalise(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => {}
        }
    }
    Some(if parts.is_empty() { ".".to_string() } else { parts.join("/") })
}

/// A [`GitTree`] seen as an [`EvalIo`] for paths below the anchor.
struct GitTreeIo<'a> {
    tree: &'a GitTree,
    anchor: &'a Anchor,
}

impl GitTreeIo<'_> {
    fn relative(&self, path: &Path) -> std::io::Result<String> {
        let key = self.anchor.key_path(path);
        if key.starts_with('/') {
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "outside the repository"))
        } else {
            Ok(key)
        }
    }
}

fn not_found() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
}

impl EvalIo for GitTreeIo<'_> {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let relative = self.relative(path)?;
        let (_, entry) = self.tree.resolve(&relative).ok_or_else(not_found)?;
        match mode_kind(entry.mode) {
            FileKind::Regular => self.tree.blob(&entry.object),
            _ => Err(std::io::Error::other("Is a directory")),
        }
    }

    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileKind)>> {
        let relative = self.relative(path)?;
        let resolved = if relative == "." { relative } else { self.tree.resolve(&relative).ok_or_else(not_found)?.0 };
        self.tree.children.get(&resolved).cloned().ok_or_else(|| std::io::Error::other("Not a directory"))
    }

    fn file_kind(&self, path: &Path) -> std::io::Result<FileKind> {
        let relative = self.relative(path)?;
        if relative == "." {
            return Ok(FileKind::Directory);
        }
        self.tree.entries.get(&relative).map(|e| mode_kind(e.mode)).ok_or_else(not_found)
    }

    fn path_exists(&self, path: &Path) -> bool {
        self.relative(path).is_ok_and(|relative| relative == "." || self.tree.resolve(&relative).is_some())
    }

    fn read_link(&self, path: &Path) -> std::io::Result<String> {
        let relative = self.relative(path)?;
        let entry = self.tree.entries.get(&relative).ok_or_else(not_found)?;
        if mode_kind(entry.mode) != FileKind::Symlink {
            return Err(std::io::Error::other("Invalid argument"));
        }
        Ok(String::from_utf8_lossy(&self.tree.blob(&entry.object)?).into_owned())
    }

    fn is_executable(&self, path: &Path) -> bool {
        self.relative(path)
            .ok()
            .and_then(|relative| self.tree.resolve(&relative).map(|(_, e)| e.mode == 0o100755))
            .unwrap_or(false)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        RealIo.get_env(name)
    }

    fn trace(&self, _message: &str) {}
}

/// A read set recorder shared by the workers of one run: hashes are computed once per key
/// and state.
pub type SharedState = Arc<State>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_gits() {
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn normalise_resolves_dots() {
        assert_eq!(normalise(Path::new("a/./b/../c")).as_deref(), Some("a/c"));
        assert_eq!(normalise(Path::new("a/../..")), None);
        assert_eq!(normalise(Path::new("a/..")).as_deref(), Some("."));
    }

    #[test]
    fn anchor_keys_are_relative_inside_and_absolute_outside() {
        let anchor = Anchor { root: PathBuf::from("/repo"), store_dir: "/nix/store".into() };
        assert_eq!(anchor.key_path(Path::new("/repo/hosts/a.nix")), "hosts/a.nix");
        assert_eq!(anchor.key_path(Path::new("/repo")), ".");
        assert_eq!(anchor.key_path(Path::new("/etc/passwd")), "/etc/passwd");
        assert_eq!(anchor.absolute("hosts/a.nix"), PathBuf::from("/repo/hosts/a.nix"));
        assert!(!anchor.recorded(Path::new("/nix/store/abc-x")));
    }

    #[test]
    fn answers_change_with_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.nix");
        std::fs::write(&file, "1").expect("write");
        let key = ReadKey::File("a.nix".into());
        let first = observe(&RealIo, &key, &file);
        std::fs::write(&file, "2").expect("write");
        assert_ne!(first, observe(&RealIo, &key, &file));
        std::fs::write(&file, "1").expect("write");
        assert_eq!(first, observe(&RealIo, &key, &file));
        std::fs::remove_file(&file).expect("remove");
        assert_ne!(first, observe(&RealIo, &key, &file));
    }

    /// Commits everything in `repo`'s work tree.
    fn commit_all(repo: &Path, message: &str) {
        crate::git::git(repo, &["add", "-A"]).expect("git add");
        let identity = ["-c", "user.name=nxe", "-c", "user.email=nxe@example.invalid"];
        let args: Vec<&str> = identity.iter().copied().chain(["commit", "-q", "-m", message]).collect();
        crate::git::git(repo, &args).expect("git commit");
    }

    /// Evaluates `text` with its reads recorded against the repository at `root`: the value
    /// as printed, and the recorder.
    fn evaluate_recorded(root: &Path, text: &str) -> (String, Rc<RecordingIo>) {
        let anchor = Anchor { root: root.to_path_buf(), store_dir: "/nix/store".into() };
        let recorder = Rc::new(RecordingIo::new(Rc::new(crate::git::LocalIo::default()), anchor));
        let code = std::sync::Arc::new(nxe_evaluator::CodeCache::default());
        let mut evaluation =
            nxe_evaluator::Evaluation::with_io(nxe_evaluator::EvalSettings::default(), recorder.clone(), code);
        let value = evaluation.evaluate(&nxe_evaluator::EvalRequest::expression(text)).expect("evaluates");
        (value, recorder)
    }

    #[test]
    fn a_fetched_work_tree_is_read_as_a_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).expect("mkdir");
        let git = |args: &[&str]| crate::git::git(&repo, args).expect("git");
        git(&["init", "-q"]);
        std::fs::write(repo.join("a.nix"), "1").expect("write");
        std::fs::write(repo.join("b.txt"), "b").expect("write");
        commit_all(&repo, "one");
        std::fs::write(repo.join("untracked.txt"), "u").expect("write");
        let text = format!("import \"${{builtins.fetchGit {}}}/a.nix\"", repo.display());
        let (value, recorder) = evaluate_recorded(&repo, &text);
        assert_eq!(value, "1");
        // The mounted file is read at its real path, and the whole tree is a dependency.
        let keys = recorder.keys();
        assert!(keys.contains(&ReadKey::File("a.nix".into())), "{keys:?}");
        assert!(keys.contains(&ReadKey::Tree(".".into())), "{keys:?}");
        assert!(keys.iter().all(|key| key.path().is_none_or(|path| !path.starts_with("/nix/store"))), "{keys:?}");
        let tree = ReadKey::Tree(".".into());
        let before = observe(&RealIo, &tree, &repo);
        std::fs::write(repo.join("untracked.txt"), "changed").expect("write");
        assert_eq!(before, observe(&RealIo, &tree, &repo), "an untracked file is not part of the source");
        std::fs::write(repo.join("b.txt"), "changed").expect("write");
        assert_ne!(before, observe(&RealIo, &tree, &repo), "a tracked file is");
    }

    /// In a repository with submodules, every change to a file a submodule tracks changes the
    /// answer about the fetched tree (a fetch with `submodules = true` includes them), the
    /// second change as much as the first, which already made the work tree dirty.
    #[test]
    fn a_change_inside_a_submodule_changes_the_fetched_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (inner, outer) = (dir.path().join("inner"), dir.path().join("outer"));
        let git = |repo: &Path, args: &[&str]| crate::git::git(repo, args).expect("git");
        for repo in [&inner, &outer] {
            std::fs::create_dir(repo).expect("mkdir");
            git(repo, &["init", "-q"]);
        }
        std::fs::write(inner.join("a.txt"), "1").expect("write");
        commit_all(&inner, "c");
        std::fs::write(outer.join("top.txt"), "top").expect("write");
        git(&outer, &["-c", "protocol.file.allow=always", "submodule", "add", "-q", "../inner", "mod"]);
        commit_all(&outer, "c");
        let tree = ReadKey::Tree(".".into());
        let mut answers = vec![observe(&RealIo, &tree, &outer)];
        for text in ["2", "3"] {
            std::fs::write(outer.join("mod/a.txt"), text).expect("write");
            answers.push(observe(&RealIo, &tree, &outer));
        }
        assert_ne!(answers[0], answers[1]);
        assert_ne!(answers[1], answers[2]);
    }

    /// A commit fetched by a ref is a dependency on the repository's refs: moving the branch
    /// changes the answer, though no file and no checked-out commit changed.
    #[test]
    fn a_commit_fetched_by_ref_depends_on_where_the_ref_points() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).expect("mkdir");
        let git = |args: &[&str]| crate::git::git(&repo, args).expect("git");
        git(&["init", "-q"]);
        std::fs::write(repo.join("a.nix"), "1").expect("write");
        commit_all(&repo, "one");
        git(&["branch", "pinned"]);
        std::fs::write(repo.join("a.nix"), "2").expect("write");
        commit_all(&repo, "two");
        let text = format!("import \"${{builtins.fetchGit {{ url = {}; ref = \"pinned\"; }}}}/a.nix\"", repo.display());
        let (value, recorder) = evaluate_recorded(&repo, &text);
        assert_eq!(value, "1", "the branch's commit, not the work tree");
        let tree = ReadKey::Tree(".".into());
        assert!(recorder.keys().contains(&tree), "{:?}", recorder.keys());
        let before = observe(&RealIo, &tree, &repo);
        git(&["branch", "-f", "pinned", "HEAD"]);
        assert_ne!(before, observe(&RealIo, &tree, &repo), "the ref moved");
    }
}
