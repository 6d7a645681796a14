//! Derivation parity corpus: every `tests/drv/drv-*.nix` case is evaluated with the library
//! API, its derivations are forced, and every derivation reachable from the result (the
//! top-level ones and, recursively, the `.drv` files among their input derivations and
//! input sources) must have the same `.drv` path and the
//! same ATerm text, byte for byte, as the reference Nix gave (`drv-*.drvs.exp`, written by
//! `tests/drv/regen.sh`).
//!
//! All cases run; the failures are reported together at the end, each with the first
//! difference between the expected and the produced text.

use nxe_evaluator::{
    run_with_big_stack, CodeCache, EvalIo, EvalRequest, EvalSettings, Evaluation, FileKind, OutputMode, RealIo, Source,
    Value,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// The real file system, with warnings and traces kept off the test output.
struct QuietIo(RealIo);

impl EvalIo for QuietIo {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0.read_file(path)
    }
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileKind)>> {
        self.0.read_dir(path)
    }
    fn file_kind(&self, path: &Path) -> std::io::Result<FileKind> {
        self.0.file_kind(path)
    }
    fn path_exists(&self, path: &Path) -> bool {
        self.0.path_exists(path)
    }
    fn read_link(&self, path: &Path) -> std::io::Result<String> {
        self.0.read_link(path)
    }
    fn is_executable(&self, path: &Path) -> bool {
        self.0.is_executable(path)
    }
    fn get_env(&self, _name: &str) -> Option<String> {
        None
    }
    fn trace(&self, _message: &str) {}
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("drv")
}

/// The cases, sorted by name.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("drv-") && name.ends_with(".nix")
                })
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    cases
}

/// Parses a `.drvs.exp` file: pairs of lines, `.drv` path then ATerm.
fn parse_expected(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(path) = lines.next() {
        let Some(aterm) = lines.next() else {
            return Err(format!("'{path}' has no ATerm line"));
        };
        out.insert(path.to_string(), aterm.to_string());
    }
    Ok(out)
}

/// The `.drv` paths of the derivations in a case's result, as `nix-instantiate` finds them:
/// the value itself, the elements of a list, or the attributes of a set.
fn top_level(evaluation: &mut Evaluation, value: &Value, depth: usize) -> Result<Vec<String>, String> {
    let ev = evaluation.evaluator();
    let value = ev.force(value).map_err(|e| e.to_string())?;
    match &value {
        Value::Attrs(attrs) => {
            let is_drv = match attrs.get(nxe_evaluator::symbol::Symbol::intern("type")) {
                Some(t) => {
                    matches!(ev.force(t).map_err(|e| e.to_string())?, Value::String(s) if s.as_str() == "derivation")
                }
                None => false,
            };
            if is_drv {
                let drv_path = attrs
                    .get(nxe_evaluator::symbol::Symbol::intern("drvPath"))
                    .ok_or("derivation without drvPath")?
                    .clone();
                return match ev.force(&drv_path).map_err(|e| e.to_string())? {
                    Value::String(s) => Ok(vec![s.as_str().to_string()]),
                    _ => Err("drvPath is not a string".to_string()),
                };
            }
            if depth > 0 {
                return Ok(Vec::new());
            }
            let values: Vec<Value> = attrs.iter().map(|a| a.value.clone()).collect();
            let mut out = Vec::new();
            for v in values {
                out.extend(top_level(evaluation, &v, depth + 1)?);
            }
            Ok(out)
        }
        Value::List(items) => {
            let mut out = Vec::new();
            for item in items.iter() {
                out.extend(top_level(evaluation, item, depth)?);
            }
            Ok(out)
        }
        _ => Err(format!("the result is {}, not a derivation", value.type_with_article())),
    }
}

/// Evaluates a case and returns every reachable derivation's path and ATerm.
fn produce(case: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut evaluation =
        Evaluation::with_io(EvalSettings::default(), Rc::new(QuietIo(RealIo)), Arc::new(CodeCache::default()));
    let request = EvalRequest {
        source: Source::File(case.to_string_lossy().into_owned()),
        attr_paths: Vec::new(),
        auto_args: Vec::new(),
        mode: OutputMode::Lazy,
    };
    let values = evaluation.values(&request).map_err(|e| format!("evaluation failed: {e}"))?;
    let mut todo = Vec::new();
    for value in &values {
        todo.extend(top_level(&mut evaluation, value, 0)?);
    }
    let derivations = evaluation.evaluator().derivations();
    let mut out = BTreeMap::new();
    while let Some(path) = todo.pop() {
        if out.contains_key(&path) {
            continue;
        }
        let Some(drv) = derivations.get(&path) else {
            return Err(format!("derivation '{path}' was not created by the evaluator"));
        };
        todo.extend(drv.input_drvs.keys().cloned());
        todo.extend(drv.input_srcs.iter().filter(|p| p.ends_with(".drv")).cloned());
        out.insert(path, drv.to_aterm());
    }
    Ok(out)
}

/// The name part of a `.drv` path (after the hash), to pair up derivations whose paths differ.
fn drv_name(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.split_once('-').map_or(base, |(_, name)| name)
}

/// Where two texts first differ, with some context.
fn first_difference(expected: &str, actual: &str) -> String {
    let at = expected.bytes().zip(actual.bytes()).take_while(|(a, b)| a == b).count();
    let start = at.saturating_sub(60);
    let clip = |s: &str| {
        let lo = (start..=at.min(s.len())).find(|&i| s.is_char_boundary(i)).unwrap_or(at.min(s.len()));
        let hi_target = (at + 100).min(s.len());
        let hi = (hi_target..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
        s[lo..hi].to_string()
    };
    format!("first difference at byte {at}:\n      expected: …{}\n      actual:   …{}", clip(expected), clip(actual))
}

fn compare(expected: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut report = String::new();
    for (path, aterm) in expected {
        match actual.get(path) {
            Some(mine) if mine == aterm => {}
            Some(mine) => {
                let _ = writeln!(report, "  {path}: same path, different ATerm; {}", first_difference(aterm, mine));
            }
            None => {
                let _ = writeln!(report, "  missing {path}");
                let name = drv_name(path);
                if let Some((other, mine)) =
                    actual.iter().find(|(p, _)| !expected.contains_key(*p) && drv_name(p) == name)
                {
                    let _ = writeln!(report, "    produced {other} instead; {}", first_difference(aterm, mine));
                }
            }
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        let _ = writeln!(report, "  unexpected {path}");
    }
    Some(report)
}

#[test]
fn drv_corpus() {
    let outcome = run_with_big_stack(|| {
        let mut failures = Vec::new();
        let mut passed = 0;
        for case in cases() {
            let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let exp_path = case.with_extension("drvs.exp");
            let expected = match std::fs::read_to_string(&exp_path) {
                Ok(text) => parse_expected(&text),
                Err(e) => Err(format!("cannot read {}: {e}", exp_path.display())),
            };
            let result = expected.and_then(|expected| {
                let actual = produce(&case)?;
                match compare(&expected, &actual) {
                    None => Ok(()),
                    Some(report) => Err(report),
                }
            });
            match result {
                Ok(()) => passed += 1,
                Err(report) => failures.push(format!("{name}:\n{}", report.trim_end())),
            }
        }
        (passed, failures)
    });
    let (passed, failures) = outcome;
    for failure in &failures {
        eprintln!("{failure}\n");
    }
    eprintln!("drv corpus: {passed} passed, {} failed", failures.len());
    assert!(passed > 0, "no derivation cases found in {}", corpus_dir().display());
    assert!(failures.is_empty(), "{} of {} derivation cases failed", failures.len(), passed + failures.len());
}
