//! The golden language corpus: every `eval-okay-*.nix` must print exactly its `.exp` (made
//! by the reference Nix), every `eval-fail-*`/`parse-fail-*` case must fail. Cases listed in
//! `lang/notyetpassing.txt` are known gaps: they must still fail, so that a fix is noticed.
//! Failure messages must be the reference's, except for the cases listed in
//! `lang/message-gaps.txt` (which must still differ, so that a fix is noticed too).

mod common;

use common::{
    cases, lang_dir, message_gaps, not_yet_passing, reference_message, run_case, run_case_rendered, run_case_traced,
};

#[test]
fn golden_corpus_matches_the_reference() {
    let dir = lang_dir();
    let dir_text = dir.to_string_lossy().into_owned();
    let known = not_yet_passing();
    let known_messages = message_gaps();
    let mut wrong_messages = Vec::new();
    let mut messages_now_right = Vec::new();
    let mut failures = Vec::new();
    let mut now_passing = Vec::new();
    let mut message_mismatches = 0;
    let (mut n_passed, mut n_known) = (0, 0);
    let all: Vec<_> = ["eval-okay-", "eval-fail-", "parse-fail-"].iter().flat_map(|p| cases(&dir, p)).collect();
    assert!(all.len() > 100, "the corpus is missing");
    for path in &all {
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if std::env::var_os("NXE_TEST_VERBOSE").is_some() {
            eprintln!("case {name}");
        }
        let outcome = run_case(path);
        let (ok, detail) = if name.starts_with("eval-okay-") {
            let expected = std::fs::read_to_string(path.with_extension("exp")).unwrap_or_default();
            let expected = expected.trim_end_matches('\n');
            match &outcome {
                Ok(actual) => {
                    let actual = actual.replace(&dir_text, "/pwd");
                    (actual == expected, format!("expected:\n  {expected}\nactual:\n  {actual}"))
                }
                Err(error) => (false, format!("expected:\n  {expected}\nerror:\n  {error}")),
            }
        } else {
            let stderr = std::fs::read_to_string(path.with_extension("err.exp")).unwrap_or_default();
            let expected = with_this_directory_size(&dir, reference_message(&stderr));
            match &outcome {
                Ok(actual) => (false, format!("expected failure '{expected}', got:\n  {actual}")),
                Err(error) if error == "PANIC" => (false, "panicked".to_string()),
                Err(error) => {
                    let actual = error.replace(&dir_text, "/pwd");
                    match (actual == expected, known_messages.contains(&name)) {
                        (false, true) => message_mismatches += 1,
                        (false, false) => wrong_messages.push(format!("{name}\n  want: {expected}\n  got:  {actual}")),
                        (true, true) => messages_now_right.push(name.clone()),
                        (true, false) => {}
                    }
                    (true, String::new())
                }
            }
        };
        match (ok, known.contains(&name)) {
            (true, false) => n_passed += 1,
            (true, true) => now_passing.push(name),
            (false, true) => n_known += 1,
            (false, false) => failures.push(format!("{name}:\n{detail}")),
        }
    }
    eprintln!(
        "lang corpus: {} cases, {n_passed} pass, {n_known} known gaps, {message_mismatches} failure cases with a known different message",
        all.len()
    );
    assert!(
        wrong_messages.is_empty() && messages_now_right.is_empty(),
        "{} failure cases give another message than the reference:\n{}\n\nnow right, remove from message-gaps.txt: {messages_now_right:?}",
        wrong_messages.len(),
        wrong_messages.join("\n")
    );
    assert!(
        failures.is_empty() && now_passing.is_empty(),
        "{} cases fail:\n\n{}\n\nnow passing, remove from notyetpassing.txt: {now_passing:?}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A failed read of a directory reports the directory's size, which its file system decides:
/// the reference's expected messages were made where `dir/` has 4096 bytes, and are compared
/// with the size it has here.
fn with_this_directory_size(lang: &std::path::Path, message: String) -> String {
    match std::fs::metadata(lang.join("dir")) {
        Ok(meta) => message
            .replace("read of 4096 bytes: Is a directory", &format!("read of {} bytes: Is a directory", meta.len())),
        Err(_) => message,
    }
}

/// The position an error is reported at: the last `at FILE:LINE:COL:` line of an output.
fn last_position(output: &str) -> Option<String> {
    output.lines().rev().map(str::trim).find(|l| l.starts_with("at ") && l.ends_with(':')).map(str::to_string)
}

/// The lines that show the code at the last `at FILE:LINE:COL:` of an output: the line
/// before, the line, the caret, the line after, as far as there are.
fn last_code_frame(output: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let Some(at) = lines.iter().rposition(|l| l.trim().starts_with("at ") && l.trim().ends_with(':')) else {
        return Vec::new();
    };
    lines[at + 1..]
        .iter()
        .take_while(|l| l.split_once('|').is_some_and(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit())))
        .map(|l| l.to_string())
        .collect()
}

/// Wherever an error is reported at the reference's position, the code is shown as the
/// reference shows it: the line before and the line after the error's, the caret under its
/// column, no trailing blanks (cases whose code has tabs aside: the reference expands them).
#[test]
fn code_is_shown_around_the_error_as_the_reference_shows_it() {
    let dir = lang_dir();
    let dir_text = dir.to_string_lossy().into_owned();
    let all: Vec<_> = ["eval-fail-", "parse-fail-"].iter().flat_map(|p| cases(&dir, p)).collect();
    let (mut compared, mut wrong) = (0, Vec::new());
    for path in &all {
        let expected = std::fs::read_to_string(path.with_extension("err.exp")).unwrap_or_default();
        let actual = match run_case_rendered(path) {
            Ok(_) => continue,
            Err(error) => error.replace(&dir_text, "/pwd"),
        };
        let frame = last_code_frame(&expected);
        if last_position(&actual) != last_position(&expected) || frame.is_empty() || expected.contains('\t') {
            continue;
        }
        compared += 1;
        if last_code_frame(&actual) != frame {
            wrong.push(format!("{}:\nexpected:\n{}\nactual:\n{}", path.display(), frame.join("\n"), actual));
        }
    }
    eprintln!("code frames compared: {compared}");
    assert!(compared > 100, "only {compared} cases are reported at the reference's position");
    assert!(wrong.is_empty(), "{} frames differ:\n{}", wrong.len(), wrong.join("\n\n"));
}

/// The errors of operators and of interpolations are reported where the reference reports
/// them (for the cases named `eval-fail-operator-position-*` and
/// `eval-fail-interpolation-position-*`; other cases are checked for their message only).
#[test]
fn operator_errors_are_reported_at_the_reference_positions() {
    let dir = lang_dir();
    let dir_text = dir.to_string_lossy().into_owned();
    let operators = cases(&dir, "eval-fail-operator-position-");
    let interpolations = cases(&dir, "eval-fail-interpolation-position-");
    assert!(operators.len() >= 10 && interpolations.len() >= 5, "the position cases are missing");
    let all: Vec<_> = operators.into_iter().chain(interpolations).collect();
    let mut wrong = Vec::new();
    for path in &all {
        let expected = std::fs::read_to_string(path.with_extension("err.exp")).unwrap_or_default();
        let expected = last_position(&expected);
        assert!(expected.is_some(), "{} has no position in its expected output", path.display());
        let actual = match run_case_rendered(path) {
            Ok(value) => format!("no error: {value}"),
            Err(error) => error.replace(&dir_text, "/pwd"),
        };
        if last_position(&actual) != expected {
            wrong.push(format!("{}: expected {expected:?}, got:\n{actual}", path.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The trace notes that name an attribute quote a name that is not a plain identifier as the
/// reference does (for the cases named `eval-fail-attr-note-*`: each such note of the
/// reference's output must be in nxe's trace).
#[test]
fn trace_notes_name_attributes_as_the_reference() {
    let dir = lang_dir();
    let all = cases(&dir, "eval-fail-attr-note-");
    assert!(all.len() >= 3, "the attribute note cases are missing");
    let mut wrong = Vec::new();
    for path in &all {
        let expected = std::fs::read_to_string(path.with_extension("err.exp")).unwrap_or_default();
        let notes: Vec<&str> = expected
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("… while evaluating") && l.contains("attribute '"))
            .collect();
        assert!(!notes.is_empty(), "{} has no attribute note in its expected output", path.display());
        let actual = match run_case_traced(path) {
            Ok(value) => format!("no error: {value}"),
            Err(error) => error,
        };
        let shown: Vec<&str> = actual.lines().map(str::trim).collect();
        for note in notes {
            if !shown.contains(&note) {
                wrong.push(format!("{}: no note {note:?} in:\n{actual}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
