//! The git operations nxe needs, through the `git` program: the top level of a work tree,
//! resolving revisions, and checking out a revision into a temporary directory (without
//! touching the user's work tree, index or list of worktrees).

use crate::EngineError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    let mut paths: std::collections::BTreeSet<String> = split_nul(&git_raw(top, &args)?);
    if head.is_none() {
        paths.extend(split_nul(&git_raw(top, &["ls-files", "--others", "--exclude-standard", "-z", "--full-name"])?));
    }
    Ok(paths.into_iter().collect())
}

fn split_nul(bytes: &[u8]) -> std::collections::BTreeSet<String> {
    bytes.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).into_owned()).collect()
}

/// The work tree's top level containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, EngineError> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| EngineError::Git(format!("'{}' is not inside a git work tree", dir.display())))?;
    std::fs::canonicalize(&top).map_err(|e| EngineError::Io(top, e))
}

/// The full commit hash of a revision.
pub fn resolve(dir: &Path, rev: &str) -> Result<String, EngineError> {
    git(dir, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| EngineError::Git(format!("unknown revision '{rev}'")))
}

/// A revision checked out into a temporary directory, removed when dropped.
pub struct Checkout {
    dir: tempfile::TempDir,
    /// The commit checked out.
    pub commit: String,
}

impl Checkout {
    /// Checks out `rev` of the repository containing `dir` into a fresh temporary directory,
    /// with `git archive` (so the user's work tree and index are untouched).
    pub fn new(dir: &Path, rev: &str) -> Result<Checkout, EngineError> {
        let top = toplevel(dir)?;
        let commit = resolve(&top, rev)?;
        let temp = tempfile::Builder::new()
            .prefix("nxe-checkout-")
            .tempdir()
            .map_err(|e| EngineError::Io("a temporary directory".into(), e))?;
        let mut archive = Command::new("git")
            .arg("-C")
            .arg(&top)
            .args(["archive", "--format=tar", &commit])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::Git(format!("cannot run git: {e}")))?;
        let stdout = archive.stdout.take().ok_or_else(|| EngineError::Internal("git archive has no stdout".into()))?;
        let untar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(temp.path())
            .stdin(stdout)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| EngineError::Git(format!("cannot run tar: {e}")))?;
        let archived = archive.wait_with_output().map_err(|e| EngineError::Git(format!("git archive: {e}")))?;
        if !archived.status.success() {
            return Err(EngineError::Git(format!(
                "git archive {commit} failed: {}",
                String::from_utf8_lossy(&archived.stderr).trim()
            )));
        }
        if !untar.status.success() {
            return Err(EngineError::Git(format!(
                "unpacking {commit} failed: {}",
                String::from_utf8_lossy(&untar.stderr).trim()
            )));
        }
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
