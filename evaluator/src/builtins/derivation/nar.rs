//! NAR hashing of file system trees read through the evaluator's [`EvalIo`], with Nix's
//! path filters (`builtins.path`, `filterSource`) and symlink resolution.
//!
//! The store crate's dump functions read the file system directly; this walker goes through
//! `ev.io` instead, so the engine sees every file that an added path depends on, and tells
//! it each filter decision through [`EvalIo::record_filter`].

use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::io::{EvalIo, FileKind};
use crate::value::Value;
use nxe_store::{Hash, HashAlgo, HashingSink};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

/// Most symlinks followed while resolving one path, as in Nix.
const MAX_SYMLINKS: usize = 1024;

fn io_error(action: &str, path: &str, error: &std::io::Error) -> EvalError {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
        _ => error.to_string(),
    };
    // As in the reference, an I/O error has no position: a frame says where, if anything.
    EvalError::msg(format!("{action} '{path}': {reason}")).unpositioned()
}

/// The kind of `path`, not following a final symlink.
pub(super) fn kind_of(io: &dyn EvalIo, path: &str) -> EvalResult<FileKind> {
    io.file_kind(Path::new(path)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EvalError::msg(format!("path '{path}' does not exist")).unpositioned(),
        _ => io_error("getting status of", path, &e),
    })
}

/// Resolves symlinks in `path`: in every component but the last one, and in the last one too
/// when `final_component` is set (Nix's `resolveSymlinks` in its two modes).
pub(super) fn resolve_symlinks(io: &dyn EvalIo, path: &str, final_component: bool) -> EvalResult<String> {
    let mut todo: Vec<String> = path.split('/').filter(|c| !c.is_empty()).rev().map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(component) = todo.pop() {
        match component.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let is_last = todo.is_empty();
        let candidate =
            format!("/{}", done.iter().chain(std::iter::once(&component)).cloned().collect::<Vec<_>>().join("/"));
        if (final_component || !is_last) && matches!(io.file_kind(Path::new(&candidate)), Ok(FileKind::Symlink)) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(EvalError::msg(format!("infinite symlink recursion in path '{path}'")));
            }
            let target =
                io.read_link(Path::new(&candidate)).map_err(|e| io_error("reading symbolic link", &candidate, &e))?;
            if target.starts_with('/') {
                done.clear();
            }
            for part in target.split('/').filter(|c| !c.is_empty()).rev() {
                todo.push(part.to_string());
            }
            continue;
        }
        done.push(component);
    }
    Ok(format!("/{}", done.join("/")))
}

/// A path filter: a Nix function of a path string and a type name.
pub(super) struct Filter<'a> {
    /// The function.
    pub(super) func: &'a Value,
    /// Paths it excluded.
    pub(super) excluded: BTreeSet<String>,
}

fn write_bytes(sink: &mut HashingSink, bytes: &[u8]) -> EvalResult<()> {
    let pad = (8 - bytes.len() % 8) % 8;
    sink.write_all(&(bytes.len() as u64).to_le_bytes())
        .and_then(|()| sink.write_all(bytes))
        .and_then(|()| sink.write_all(&[0u8; 8][..pad]))
        .map_err(|e| EvalError::msg(format!("while hashing: {e}")))
}

fn write_all(sink: &mut HashingSink, parts: &[&[u8]]) -> EvalResult<()> {
    parts.iter().try_for_each(|part| write_bytes(sink, part))
}

/// SHA-256 of the NAR serialisation of `root` (already resolved), asking `filter` about
/// every entry below it.
pub(super) fn nar_hash(ev: &mut Evaluator, root: &str, mut filter: Option<&mut Filter<'_>>) -> EvalResult<Hash> {
    let io = ev.io.clone();
    let kind = kind_of(io.as_ref(), root)?;
    let mut sink = HashingSink::new(HashAlgo::Sha256);
    write_bytes(&mut sink, nxe_store::NAR_MAGIC.as_bytes())?;
    dump(ev, &io, root, kind, &mut filter, &mut sink)?;
    Ok(sink.finish().0)
}

fn dump(
    ev: &mut Evaluator,
    io: &Rc<dyn EvalIo>,
    path: &str,
    kind: FileKind,
    filter: &mut Option<&mut Filter<'_>>,
    sink: &mut HashingSink,
) -> EvalResult<()> {
    match kind {
        FileKind::Regular => {
            let contents = io.read_file(Path::new(path)).map_err(|e| io_error("opening file", path, &e))?;
            write_all(sink, &[b"(", b"type", b"regular"])?;
            if io.is_executable(Path::new(path)) {
                write_all(sink, &[b"executable", b""])?;
            }
            write_all(sink, &[b"contents", &contents, b")"])
        }
        FileKind::Symlink => {
            let target = io.read_link(Path::new(path)).map_err(|e| io_error("reading symbolic link", path, &e))?;
            write_all(sink, &[b"(", b"type", b"symlink", b"target", target.as_bytes(), b")"])
        }
        FileKind::Directory => {
            let mut entries = io.read_dir(Path::new(path)).map_err(|e| io_error("opening directory", path, &e))?;
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            write_all(sink, &[b"(", b"type", b"directory"])?;
            for (name, child_kind) in entries {
                let child = if path.ends_with('/') { format!("{path}{name}") } else { format!("{path}/{name}") };
                if let Some(filter) = filter.as_deref_mut() {
                    let args = [Value::string(child.as_str()), Value::string(child_kind.as_str())];
                    let verdict = ev.call(filter.func.clone(), &args, None)?;
                    let keep = match ev.force(&verdict)? {
                        Value::Bool(b) => b,
                        other => {
                            return Err(crate::eval::type_error("a Boolean", &other)
                                .note(None, "while evaluating the return value of the path filter function"))
                        }
                    };
                    io.record_filter(Path::new(&child), keep);
                    if !keep {
                        filter.excluded.insert(child);
                        continue;
                    }
                }
                write_all(sink, &[b"entry", b"(", b"name", name.as_bytes(), b"node"])?;
                dump(ev, io, &child, child_kind, filter, sink)?;
                write_bytes(sink, b")")?;
            }
            write_bytes(sink, b")")
        }
        FileKind::Unknown => Err(EvalError::msg(format!("file '{path}' has an unsupported type"))),
    }
}

/// SHA-256 of a regular file's bytes (flat ingestion).
pub(super) fn flat_hash(ev: &mut Evaluator, path: &str) -> EvalResult<Hash> {
    let io = ev.io.clone();
    match kind_of(io.as_ref(), path)? {
        FileKind::Regular => {}
        _ => return Err(EvalError::msg(format!("file '{path}' is not a regular file"))),
    }
    let contents = io.read_file(Path::new(path)).map_err(|e| io_error("opening file", path, &e))?;
    Ok(Hash::compute(HashAlgo::Sha256, &contents))
}
