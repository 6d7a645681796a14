//! The code cache shared by a process's evaluators: a file is compiled once, whoever asks
//! first (an importer, or a thread compiling ahead of it), and every evaluator that reuses
//! the compiled code still sees the file read through its own I/O.

use nxe_evaluator::{CodeCache, EvalIo, EvalSettings, Evaluator, FileKind, RealIo};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

/// Counts the files read and the compiled files reused through it.
#[derive(Default)]
struct Counts {
    read: AtomicUsize,
    reused: AtomicUsize,
}

struct CountingIo(Arc<Counts>);

impl EvalIo for CountingIo {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0.read.fetch_add(1, Ordering::SeqCst);
        RealIo.read_file(path)
    }
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileKind)>> {
        RealIo.read_dir(path)
    }
    fn file_kind(&self, path: &Path) -> std::io::Result<FileKind> {
        RealIo.file_kind(path)
    }
    fn path_exists(&self, path: &Path) -> bool {
        RealIo.path_exists(path)
    }
    fn read_link(&self, path: &Path) -> std::io::Result<String> {
        RealIo.read_link(path)
    }
    fn is_executable(&self, path: &Path) -> bool {
        RealIo.is_executable(path)
    }
    fn get_env(&self, _name: &str) -> Option<String> {
        None
    }
    fn trace(&self, _message: &str) {}
    fn reused_file(&self, _path: &Path) {
        self.0.reused.fetch_add(1, Ordering::SeqCst);
    }
}

fn evaluator(code: &Arc<CodeCache>, counts: &Arc<Counts>) -> Evaluator {
    Evaluator::new(Rc::new(CountingIo(counts.clone())), EvalSettings::default(), code.clone())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nxe-code-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

#[test]
fn a_file_compiled_ahead_is_reused_by_its_importer_who_records_reading_it() {
    let dir = scratch("ahead");
    let file = dir.join("a.nix");
    std::fs::write(&file, "{ x = 1 + 2; }").expect("write");
    let path = file.to_string_lossy().into_owned();
    let code = Arc::new(CodeCache::default());
    let ahead = Arc::new(Counts::default());
    let mut prefetcher = evaluator(&code, &ahead);
    assert!(prefetcher.prefetch_file(&path), "the first thread to ask compiles the file");
    assert!(!prefetcher.prefetch_file(&path), "a compiled file is not compiled again");
    assert_eq!(ahead.read.load(Ordering::SeqCst), 1);

    let importer_counts = Arc::new(Counts::default());
    let mut importer = evaluator(&code, &importer_counts);
    let reused = importer.compile_file(&path, false).expect("compiles");
    let again = prefetcher.compile_file(&path, false).expect("compiles");
    assert!(std::ptr::eq(reused, again), "both evaluators share one compiled expression");
    assert_eq!(importer_counts.read.load(Ordering::SeqCst), 0, "the importer does not read the file again");
    assert_eq!(importer_counts.reused.load(Ordering::SeqCst), 1, "the importer records reading it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_cannot_be_read_ahead_is_left_to_its_importer() {
    let dir = scratch("missing");
    let file = dir.join("later.nix");
    let path = file.to_string_lossy().into_owned();
    let code = Arc::new(CodeCache::default());
    let counts = Arc::new(Counts::default());
    let mut prefetcher = evaluator(&code, &counts);
    assert!(!prefetcher.prefetch_file(&path));
    // Neither an error nor a claim stays behind: the importer reads the file as it is now.
    std::fs::write(&file, "42").expect("write");
    let mut importer = evaluator(&code, &counts);
    assert!(importer.compile_file(&path, false).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn threads_importing_one_file_at_once_compile_it_once() {
    let dir = scratch("threads");
    let file = dir.join("big.nix");
    let body: String = (0..4000).map(|i| format!("  a{i} = {{ b = {i} + 1; c = [ \"x{i}\" ]; }};\n")).collect();
    std::fs::write(&file, format!("{{\n{body}}}\n")).expect("write");
    let path = file.to_string_lossy().into_owned();
    let code = Arc::new(CodeCache::default());
    let counts = Arc::new(Counts::default());
    let threads = 4;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (code, counts, barrier, path) = (code.clone(), counts.clone(), barrier.clone(), path.clone());
            std::thread::spawn(move || {
                let mut evaluator = evaluator(&code, &counts);
                barrier.wait();
                evaluator.compile_file(&path, false).map(|expr| expr as *const _ as usize).map_err(|e| e.to_string())
            })
        })
        .collect();
    let results: Vec<usize> =
        handles.into_iter().map(|h| h.join().expect("thread").expect("compiles")).collect::<Vec<_>>();
    assert!(results.windows(2).all(|pair| pair[0] == pair[1]), "one compiled expression for all");
    assert_eq!(counts.read.load(Ordering::SeqCst), 1, "one thread read and compiled the file");
    assert_eq!(counts.reused.load(Ordering::SeqCst), threads - 1, "the others waited and reused it");
    let _ = std::fs::remove_dir_all(&dir);
}
