//! What the test kinds' tests share: the example fleet, and copies of it to edit.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The example fleet in the repository.
pub fn fleet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fleet")
}

/// Copies the example fleet into a temporary directory, to be edited by a test.
pub fn copy_fleet() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create directory");
        for entry in std::fs::read_dir(from).expect("read directory") {
            let entry = entry.expect("directory entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy file");
            }
        }
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    copy(&fleet_dir(), dir.path());
    dir
}

/// Replaces `old` (which must occur once) by `new` in a file of a copied fleet.
pub fn edit(root: &Path, file: &str, old: &str, new: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).expect("read file");
    assert_eq!(text.matches(old).count(), 1, "{old:?} must occur once in {file}");
    std::fs::write(&path, text.replace(old, new)).expect("write file");
}
