//! End-to-end tests of the `nxe` binary live in `tests/`; this library holds what they share.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The `nxe` binary cargo built next to the running test executable, run in the workspace
/// root.
pub fn nxe() -> Command {
    let root = workspace();
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| root.join("target/debug"));
    let mut command = Command::new(profile_dir.join("nxe"));
    command.current_dir(&root);
    command
}

/// A fixture file's text (empty if it cannot be read, so that comparisons fail visibly).
pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(workspace().join("fixtures").join(path)).unwrap_or_default()
}

/// Copies a directory tree, keeping symbolic links as links (a fixture's NAR, and so its
/// store paths, depend on them).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).expect("read link");
            std::os::unix::fs::symlink(link, &target).expect("copy symlink");
        } else if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Runs git in `dir` (with a fixed identity for commits) and asserts that it succeeds.
pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=nxe", "-c", "user.email=nxe@example.invalid"])
        .args(args)
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}
