//! Copying a file-system tree as a store object was computed from it: the paths a filter
//! excluded are left out, directory entries are taken in sorted order, and symlinks are
//! copied as links.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

/// A failed copy: what was being done, and why.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct CopyError {
    /// What was being done, naming the path as the evaluator names it.
    pub context: String,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// Copies `source` (named `name`, as the evaluator names the paths it copies) to `target`,
/// leaving out the paths in `excluded` (named the same way: the parent's name, `/`, the
/// entry's name). Regular files are written by `write_file(source, target, executable)`.
pub fn copy_filtered(
    source: &Path,
    name: &str,
    target: &Path,
    excluded: &BTreeSet<String>,
    write_file: &mut dyn FnMut(&Path, &Path, bool) -> io::Result<()>,
) -> Result<(), CopyError> {
    let failed = |context: String| move |source: io::Error| CopyError { context, source };
    let meta = source.symlink_metadata().map_err(failed(format!("reading '{name}'")))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let link = std::fs::read_link(source).map_err(failed(format!("reading the symbolic link '{name}'")))?;
        make_symlink(&link, target).map_err(failed(format!("copying '{name}'")))
    } else if kind.is_dir() {
        std::fs::create_dir(target).map_err(failed(format!("copying '{name}'")))?;
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(source).map_err(failed(format!("reading the directory '{name}'")))? {
            entries.push(entry.map_err(failed(format!("reading the directory '{name}'")))?.file_name());
        }
        entries.sort();
        for entry in entries {
            let entry_name = entry.to_string_lossy();
            let child =
                if name.ends_with('/') { format!("{name}{entry_name}") } else { format!("{name}/{entry_name}") };
            if !excluded.contains(&child) {
                copy_filtered(&source.join(&entry), &child, &target.join(&entry), excluded, write_file)?;
            }
        }
        Ok(())
    } else if kind.is_file() {
        write_file(source, target, crate::nar_fs::is_executable(&meta)).map_err(failed(format!("copying '{name}'")))
    } else {
        let source = io::Error::other("a store object can only hold files, directories and symlinks");
        Err(CopyError { context: format!("copying '{name}'"), source })
    }
}

#[cfg(unix)]
fn make_symlink(link: &Path, target: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, target)
}

#[cfg(not(unix))]
fn make_symlink(_link: &Path, _target: &Path) -> io::Result<()> {
    Err(io::Error::other("symbolic links cannot be made on this platform"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn excluded_paths_are_left_out_and_links_kept() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let source = dir.path().join("src");
        std::fs::create_dir_all(source.join("keep"))?;
        std::fs::create_dir_all(source.join("drop"))?;
        std::fs::write(source.join("keep/a"), "a")?;
        std::fs::write(source.join("drop/b"), "b")?;
        std::fs::write(source.join("c"), "c")?;
        std::os::unix::fs::symlink("c", source.join("link"))?;
        let name = source.display().to_string();
        let excluded = BTreeSet::from([format!("{name}/drop"), format!("{name}/c")]);
        let target = dir.path().join("copy");
        let mut written = Vec::new();
        let mut write = |from: &Path, to: &Path, _: bool| {
            written.push(from.to_path_buf());
            std::fs::copy(from, to).map(drop)
        };
        copy_filtered(&source, &name, &target, &excluded, &mut write)?;
        assert_eq!(written, vec![source.join("keep/a")]);
        assert_eq!(std::fs::read_to_string(target.join("keep/a"))?, "a");
        assert!(!target.join("drop").exists() && !target.join("c").exists());
        assert_eq!(std::fs::read_link(target.join("link"))?, Path::new("c"));
        Ok(())
    }
}
