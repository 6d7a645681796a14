//! What `nxe eval` writes to standard error for every failure case of the evaluator's golden
//! corpus (`evaluator/tests/lang`, `eval-fail-*` and `parse-fail-*`), byte for byte as the
//! reference wrote it (its `.err.exp`): the trace frames the reference shows by default
//! (outermost first, the first few, then those of `builtins.addErrorContext`, and a note
//! when it cut the rest), the message, its position and code, and "Did you mean …?".
//!
//! `evaluator/tests/lang/stderr-gaps.txt` lists the cases whose output still differs; each
//! must still differ, so that a fix is noticed and the list shrinks.

use nxe_e2e::{nxe, workspace};
use std::collections::BTreeSet;

#[test]
fn failures_are_reported_as_the_reference_reports_them() {
    let corpus = workspace().join("evaluator/tests/lang");
    let corpus = corpus.canonicalize().unwrap_or(corpus);
    let corpus_text = corpus.to_string_lossy().into_owned();
    let gaps: BTreeSet<String> = std::fs::read_to_string(corpus.join("stderr-gaps.txt"))
        .expect("read stderr-gaps.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .expect("read the corpus")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.starts_with("eval-fail-") || name.starts_with("parse-fail-")) && name.ends_with(".nix")
        })
        .collect();
    cases.sort();
    assert!(cases.len() > 500, "the corpus is missing: {} failure cases", cases.len());
    let dir_size = std::fs::metadata(corpus.join("dir")).map(|meta| meta.len()).unwrap_or(4096);
    let (mut same, mut wrong, mut now_right) = (0, Vec::new(), Vec::new());
    for case in &cases {
        let name = case.file_stem().and_then(|n| n.to_str()).unwrap_or("").to_string();
        let flags = std::fs::read_to_string(case.with_extension("flags")).unwrap_or_default();
        let expected = std::fs::read_to_string(case.with_extension("err.exp"))
            .expect("read the expected output")
            // A failed read of a directory reports its size, which the file system decides.
            .replace("read of 4096 bytes: Is a directory", &format!("read of {dir_size} bytes: Is a directory"));
        let output = nxe()
            .current_dir(&corpus)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/fake-home")
            .env("TEST_VAR", "foo")
            .env("NIX_PATH", format!("lang={corpus_text}/lib"))
            .args(["eval", "--strict"])
            .args(flags.split_whitespace())
            .arg(case.file_name().unwrap_or_default())
            .output()
            .expect("run nxe");
        assert!(!output.status.success(), "{name} succeeded");
        let actual = String::from_utf8_lossy(&output.stderr).replace(&corpus_text, "/pwd");
        match (actual == expected, gaps.contains(&name)) {
            (true, false) => same += 1,
            (true, true) => now_right.push(name),
            (false, true) => {}
            (false, false) => wrong.push(format!("{name}:\nexpected:\n{expected}\nactual:\n{actual}")),
        }
    }
    eprintln!("{} failure cases: {same} as the reference, {} known to differ", cases.len(), gaps.len());
    assert!(
        wrong.is_empty() && now_right.is_empty(),
        "{} cases differ from the reference:\n{}\n\nnow right, remove from stderr-gaps.txt: {now_right:?}",
        wrong.len(),
        wrong.join("\n")
    );
}
