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
