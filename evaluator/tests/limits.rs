//! Inputs at the edges of what the evaluator must handle: long folds, big strings, deep
//! recursion and deeply nested data end in a value or a clean error, never in a crash.

use nxe_evaluator::{run_with_big_stack, EvalRequest, Evaluation};

fn evaluate(text: &str) -> Result<String, String> {
    let text = text.to_string();
    run_with_big_stack(move || {
        let mut evaluation = Evaluation::new(Default::default());
        evaluation.evaluate(&EvalRequest::expression(&text)).map_err(|e| e.to_string())
    })
}

#[test]
fn strict_fold_over_a_million_elements() {
    let result = evaluate("builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000)");
    assert_eq!(result.as_deref(), Ok("499999500000"));
}

#[test]
fn ten_megabyte_string() {
    let result = evaluate(
        "builtins.stringLength (builtins.concatStringsSep \"\" (builtins.genList (x: \"0123456789\") 1000000))",
    );
    assert_eq!(result.as_deref(), Ok("10000000"));
}

#[test]
fn deep_non_tail_recursion_hits_max_call_depth() {
    let result = evaluate("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100000");
    assert_eq!(result, Err("stack overflow; max-call-depth exceeded".to_string()));
}

#[test]
fn recursion_within_max_call_depth_succeeds() {
    let result = evaluate("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 9000");
    assert_eq!(result.as_deref(), Ok("9000"));
}

#[test]
fn deeply_nested_thunks_end_in_an_error_not_a_crash() {
    // A million nested sets: the reference counts each level against max-call-depth.
    let result = evaluate(
        "let chain = builtins.foldl' (acc: x: { next = acc; }) null (builtins.genList (x: x) 1000000); \
         in builtins.deepSeq chain true",
    );
    assert_eq!(result, Err("stack overflow; max-call-depth exceeded".to_string()));
}

#[test]
fn infinite_recursion_is_reported() {
    let result = evaluate("let x = x + 1; in x");
    assert_eq!(result, Err("infinite recursion encountered".to_string()));
}

/// The reference fails to allocate such lists with "out of memory"; nxe says the same
/// before it writes any of the list (the kernel would kill it partway instead).
#[test]
fn a_list_of_four_billion_elements_is_refused_not_allocated() {
    for size in ["5000000000", "4294967295"] {
        let result = evaluate(&format!("builtins.length (builtins.genList (x: x) {size})"));
        let message = result.expect_err("the list was made");
        assert_eq!(message, "out of memory", "{size}");
    }
}
