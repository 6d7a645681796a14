//! Helpers shared by the evaluator's integration tests: running one golden case in the
//! corpus's fixed environment through the library API.

#![allow(dead_code)]

use nxe_evaluator::{
    run_with_big_stack, AutoArg, CodeCache, EvalIo, EvalRequest, EvalSettings, Evaluation, FileKind, OutputMode,
    RealIo, Source,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// The real file system with the corpus's fixed environment variables.
pub struct FixedEnvIo {
    real: RealIo,
    env: BTreeMap<String, String>,
}

impl Default for FixedEnvIo {
    fn default() -> FixedEnvIo {
        FixedEnvIo::new()
    }
}

impl FixedEnvIo {
    /// The fixed environment of the corpus, with the corpus's search path.
    pub fn new() -> FixedEnvIo {
        let env = [("HOME".to_string(), "/fake-home".to_string()), ("TEST_VAR".to_string(), "foo".to_string())]
            .into_iter()
            .collect();
        FixedEnvIo { real: RealIo, env }
    }
}

impl EvalIo for FixedEnvIo {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.real.read_file(path)
    }
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileKind)>> {
        self.real.read_dir(path)
    }
    fn file_kind(&self, path: &Path) -> std::io::Result<FileKind> {
        self.real.file_kind(path)
    }
    fn path_exists(&self, path: &Path) -> bool {
        self.real.path_exists(path)
    }
    fn read_link(&self, path: &Path) -> std::io::Result<String> {
        self.real.read_link(path)
    }
    fn is_executable(&self, path: &Path) -> bool {
        self.real.is_executable(path)
    }
    fn get_env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn trace(&self, _message: &str) {}
}

/// The directory of the language corpus.
pub fn lang_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("lang")
}

/// The cases of the corpus whose names start with `prefix`, sorted.
pub fn cases(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with(prefix) && name.ends_with(".nix")
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The outcome of evaluating a case: the printed value or the error message.
pub type Outcome = Result<String, String>;

/// Evaluates a case file as `nix-instantiate --eval --strict` in the fixed environment.
pub fn run_case(path: &Path) -> Outcome {
    run_case_showing(path, |error| error.to_string())
}

/// [`run_case`] with an error shown as the command line shows it (message and position).
pub fn run_case_rendered(path: &Path) -> Outcome {
    run_case_showing(path, |error| nxe_evaluator::diagnostics::render(error, false, false))
}

/// [`run_case_rendered`] with the whole trace, as `--show-trace` shows it.
pub fn run_case_traced(path: &Path) -> Outcome {
    run_case_showing(path, |error| nxe_evaluator::diagnostics::render(error, true, false))
}

fn run_case_showing(path: &Path, show: fn(&nxe_evaluator::EvalError) -> String) -> Outcome {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let flags = std::fs::read_to_string(path.with_extension("flags")).unwrap_or_default();
    let words: Vec<String> = flags.split_whitespace().map(str::to_string).collect();
    let file = path.to_string_lossy().into_owned();
    let outcome = std::panic::catch_unwind(move || run_with_big_stack(move || evaluate(&dir, &file, &words, show)));
    match outcome {
        Ok(result) => result,
        Err(_) => Err("PANIC".to_string()),
    }
}

fn evaluate(dir: &Path, file: &str, words: &[String], show: fn(&nxe_evaluator::EvalError) -> String) -> Outcome {
    let dir_text = dir.to_string_lossy().into_owned();
    let mut nix_path = Vec::new();
    let mut auto_args = Vec::new();
    let mut attr_paths = Vec::new();
    let mut mode = OutputMode::Strict;
    let mut features = Vec::new();
    let mut idx = 0;
    while idx < words.len() {
        let word = words[idx].as_str();
        let next = |n: usize| words.get(idx + n).cloned().unwrap_or_default();
        match word {
            "-I" => {
                let entry = next(1);
                let (prefix, target) = entry
                    .split_once('=')
                    .map_or((String::new(), entry.clone()), |(p, t)| (p.to_string(), t.to_string()));
                nix_path.push((prefix, target));
                idx += 2;
            }
            "--arg" => {
                auto_args.push((next(1), AutoArg::Expr(next(2))));
                idx += 3;
            }
            "--argstr" => {
                auto_args.push((next(1), AutoArg::Str(next(2))));
                idx += 3;
            }
            "-A" => {
                attr_paths.push(next(1));
                idx += 2;
            }
            "--json" => {
                mode = OutputMode::Json;
                idx += 1;
            }
            "--extra-experimental-features" => {
                features.extend(next(1).split_whitespace().map(str::to_string));
                idx += 2;
            }
            "--option" => idx += 3,
            _ => idx += 1,
        }
    }
    nix_path.push(("lang".to_string(), format!("{dir_text}/lib")));
    let env: BTreeMap<String, String> = [
        ("HOME".to_string(), "/fake-home".to_string()),
        ("TEST_VAR".to_string(), "foo".to_string()),
        ("NIX_PATH".to_string(), format!("lang={dir_text}/lib")),
    ]
    .into_iter()
    .collect();
    let io = Rc::new(FixedEnvIo { real: RealIo, env });
    let settings =
        EvalSettings { nix_path, cwd: dir_text.clone(), experimental_features: features, ..EvalSettings::default() };
    let mut evaluation = Evaluation::with_io(settings, io, Arc::new(CodeCache::default()));
    let request = EvalRequest { source: Source::File(file.to_string()), attr_paths, auto_args, mode };
    evaluation.evaluate(&request).map_err(|e| show(&e))
}

/// The core message of a reference error output: the text after the last `error: `.
pub fn reference_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.iter().rposition(|l| l.trim_start().starts_with("error:")).unwrap_or(0);
    let first = lines.get(start).map_or("", |l| l.trim_start().trim_start_matches("error:").trim());
    if !first.is_empty() {
        return first.to_string();
    }
    lines.get(start + 1).map_or(String::new(), |l| l.trim().to_string())
}

/// The cases listed in `lang/notyetpassing.txt`: known gaps that must keep failing.
pub fn not_yet_passing() -> std::collections::BTreeSet<String> {
    listed("notyetpassing.txt")
}

/// Failure cases whose message is known to differ from the reference's
/// (`lang/message-gaps.txt`).
pub fn message_gaps() -> std::collections::BTreeSet<String> {
    listed("message-gaps.txt")
}

/// The case names a list file of the corpus holds (`#` comments and blank lines skipped).
fn listed(file: &str) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(lang_dir().join(file))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
