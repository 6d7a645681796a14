//! Unit tests of nix-unit style: discovery, verdicts, diffs and content keys, on small
//! expressions and on the example fleet (whose reference verdicts and values come from the
//! reference Nix in `fixtures/fleet/expected-tests.json`).

use nxe_engine::fleet::settings_for;
use nxe_engine::{Overrides, Repo};
use nxe_evaluator::{run_with_big_stack, EvalRequest, Evaluation, OutputMode, Source, Value};
use nxe_testrunner::unit::{self, UnitOutcome, UnitResult};
use std::path::PathBuf;

mod common;
use common::{copy_fleet, edit, fleet_dir};

/// Runs every unit test of the fleet at `root`; also returns the `expr` values as JSON.
fn run_fleet(root: PathBuf) -> Vec<(UnitOutcome, Option<serde_json::Value>)> {
    run_with_big_stack(move || {
        let repo = Repo::open(&root, &Overrides::default()).expect("repository");
        let mut evaluation = Evaluation::new(settings_for(&repo, None));
        let value = evaluation.load(&Source::File(repo.entry.display().to_string())).expect("root value");
        let tests = nxe_testrunner::options::select(&mut evaluation, &value, &repo.unit_attr).expect("tests");
        let outcomes = unit::run_all(&mut evaluation, &tests).expect("tests are a set");
        outcomes
            .into_iter()
            .map(|outcome| {
                let mut path = outcome.path.clone();
                path.push("expr".into());
                let json = nxe_testrunner::options::select(&mut evaluation, &tests, &path)
                    .and_then(|expr| evaluation.render(&expr, OutputMode::Json))
                    .ok()
                    .and_then(|text| serde_json::from_str(&text).ok());
                (outcome, json)
            })
            .collect()
    })
}

/// The test leaves of the reference's JSON: (path, expr).
fn reference_tests() -> Vec<(Vec<String>, serde_json::Value)> {
    fn walk(value: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, serde_json::Value)>) {
        let Some(object) = value.as_object() else { return };
        if let (Some(expr), Some(_)) = (object.get("expr"), object.get("expected")) {
            out.push((path.clone(), expr.clone()));
            return;
        }
        for (name, inner) in object {
            path.push(name.clone());
            walk(inner, path, out);
            path.pop();
        }
    }
    let text = std::fs::read_to_string(fleet_dir().join("expected-tests.json")).expect("reference tests");
    let json: serde_json::Value = serde_json::from_str(&text).expect("reference JSON");
    let mut out = Vec::new();
    walk(&json, &mut Vec::new(), &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Evaluates `text` and runs every test under it.
fn run_expression(text: &str) -> Vec<UnitOutcome> {
    let text = text.to_string();
    run_with_big_stack(move || {
        let mut evaluation = Evaluation::new(Default::default());
        let request = EvalRequest { mode: OutputMode::Lazy, ..EvalRequest::expression(&text) };
        let tests = evaluation.values(&request).expect("evaluates").remove(0);
        unit::run_all(&mut evaluation, &tests).expect("a set of tests")
    })
}

#[test]
fn fleet_unit_tests_agree_with_the_reference() {
    let reference = reference_tests();
    assert_eq!(reference.len(), 40, "the fleet has 40 unit tests");
    let outcomes = run_fleet(fleet_dir());
    let paths: Vec<&Vec<String>> = outcomes.iter().map(|(outcome, _)| &outcome.path).collect();
    let expected_paths: Vec<&Vec<String>> = reference.iter().map(|(path, _)| path).collect();
    assert_eq!(paths, expected_paths);
    for ((outcome, json), (_, reference_expr)) in outcomes.iter().zip(&reference) {
        assert_eq!(outcome.result, UnitResult::Pass, "{}", outcome.name);
        assert_eq!(json.as_ref(), Some(reference_expr), "the value of {}", outcome.name);
        let position = outcome.position.as_deref().unwrap_or("");
        assert!(position.contains("/tests/"), "{}: {position}", outcome.name);
    }
}

#[test]
fn a_failing_fleet_unit_test_is_reported_once_with_both_values() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "tests/hosts.nix",
        "expr = (config \"web-02\").services.web.workerProcesses;\n      expected = 16;",
        "expr = (config \"web-02\").services.web.workerProcesses;\n      expected = 8;",
    );
    let outcomes = run_fleet(dir.path().to_path_buf());
    let failing: Vec<&UnitOutcome> = outcomes.iter().map(|(o, _)| o).filter(|o| !o.result.is_pass()).collect();
    assert_eq!(failing.len(), 1, "{failing:#?}");
    let failed = failing[0];
    assert_eq!(failed.name, "hosts.web.testForcedWorkers");
    let position = failed.position.as_deref().unwrap_or("");
    assert!(position.ends_with("tests/hosts.nix:10:5"), "{position}");
    let UnitResult::Fail(mismatch) = &failed.result else { panic!("a failure: {:?}", failed.result) };
    assert_eq!((mismatch.expected.as_str(), mismatch.actual.as_str()), ("8", "16"));
    assert_eq!(mismatch.diff, "- 8\n+ 16\n");
}

#[test]
fn discovery_walks_groups_in_order_and_ignores_other_values() {
    let outcomes = run_expression(
        r#"{
          z.testLast = { expr = 1; expected = 1; };
          a = {
            testB = { expr = "b"; expected = "b"; };
            nested."with.dot" = { expr = [ ]; expected = [ ]; };
            notATest = 3;
          };
          broken = throw "the group fails";
          helper = x: x;
        }"#,
    );
    let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["a.nested.\"with.dot\"", "a.testB", "broken", "z.testLast"]);
    assert!(outcomes.iter().filter(|o| o.name != "broken").all(|o| o.result.is_pass()));
    let broken = &outcomes[2].result;
    assert!(
        matches!(broken, UnitResult::Error(message) if message.starts_with("the group fails at «string»:")),
        "{broken:?}"
    );
}

#[test]
fn equality_is_the_evaluators() {
    let outcomes = run_expression(
        r#"let f = x: x; in {
          testIntFloat = { expr = 1; expected = 1.0; };
          testSameFunctionInList = { expr = [ f ]; expected = [ f ]; };
          testFunctionsDiffer = { expr = f; expected = f; };
          testSetsIgnoreOrder = { expr = { b = 2; a = 1; }; expected = { a = 1; b = 2; }; };
        }"#,
    );
    let verdicts: Vec<(&str, bool)> = outcomes.iter().map(|o| (o.name.as_str(), o.result.is_pass())).collect();
    assert_eq!(
        verdicts,
        [
            ("testFunctionsDiffer", false),
            ("testIntFloat", true),
            ("testSameFunctionInList", true),
            ("testSetsIgnoreOrder", true)
        ]
    );
}

#[test]
fn a_failure_shows_a_line_diff_of_nested_values() {
    let outcomes = run_expression(
        r#"{
          testNested = {
            expr = { name = "web"; ports = [ 22 80 443 ]; tls = { enable = true; }; };
            expected = { name = "web"; ports = [ 22 443 ]; tls = { enable = false; }; };
          };
        }"#,
    );
    let UnitResult::Fail(mismatch) = &outcomes[0].result else { panic!("a failure: {:?}", outcomes[0].result) };
    assert_eq!(mismatch.expected, r#"{ name = "web"; ports = [ 22 443 ]; tls = { enable = false; }; }"#);
    assert_eq!(mismatch.actual, r#"{ name = "web"; ports = [ 22 80 443 ]; tls = { enable = true; }; }"#);
    let expected_diff = r#"  {
    name = "web";
    ports = [
      22
+     80
      443
    ];
    tls = {
-     enable = false;
+     enable = true;
    };
  }
"#;
    assert_eq!(mismatch.diff, expected_diff);
    let reason = outcomes[0].result.reason().unwrap_or_default();
    assert!(reason.contains("expected {") && reason.contains("+     80"), "{reason}");
}

#[test]
fn an_error_names_its_file_line_and_column() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("tests.nix");
    std::fs::write(&file, "{\n  testBoom = {\n    expr = 1 + \"x\";\n    expected = 2;\n  };\n}\n").expect("write");
    let path = file.display().to_string();
    let outcomes = run_with_big_stack(move || {
        let mut evaluation = Evaluation::new(Default::default());
        let tests = evaluation.load(&Source::File(path)).expect("loads");
        unit::run_all(&mut evaluation, &tests).expect("a set")
    });
    let UnitResult::Error(message) = &outcomes[0].result else { panic!("an error: {:?}", outcomes[0].result) };
    // `+` reports its error at the operand that failed (`"x"`), as the reference does.
    let at = format!("{}:3:16", file.display());
    assert!(message.contains("cannot add a string to an integer") && message.ends_with(&at), "{message}");
    assert_eq!(outcomes[0].position.as_deref(), Some(format!("{}:2:3", file.display()).as_str()));
}

#[test]
fn content_keys_follow_the_values_not_the_expressions() {
    let outcomes = run_expression(
        r#"{
          testA = { expr = 1 + 1; expected = 2; };
          testB = { expr = 2; expected = 2; };
          testC = { expr = 2; expected = 3; };
          testD = { expr = 3; expected = 2; };
        }"#,
    );
    let keys: Vec<&str> = outcomes.iter().map(|o| o.content_key.as_str()).collect();
    assert_eq!(keys[0], keys[1], "same values, same key");
    assert_ne!(keys[1], keys[2], "another expected value");
    assert_ne!(keys[2], keys[3], "expected and actual are not interchangeable");
    assert!(keys.iter().all(|key| key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit())));
}

#[test]
fn line_diff_keeps_common_lines_and_orders_removals_first() {
    assert_eq!(unit::line_diff("a\nb\nc", "a\nx\nc"), "  a\n- b\n+ x\n  c\n");
    assert_eq!(unit::line_diff("", "new"), "+ new\n");
    assert_eq!(unit::line_diff("same", "same"), "  same\n");
}

#[test]
fn the_tests_must_be_a_set() {
    let error = run_with_big_stack(|| {
        let mut evaluation = Evaluation::new(Default::default());
        unit::discover(&mut evaluation, &Value::Int(3)).map(|paths| paths.len()).map_err(|e| e.to_string())
    });
    assert_eq!(error, Err("the unit tests are an integer while a set was expected".to_string()));
}
