//! Differential tests against the reference Nix: every `eval-okay` case of the corpus and a
//! table of one-liners are evaluated by nxe and by the reference's `nix-instantiate`, lazily
//! and strictly, and the printed bytes must agree.
//!
//! The reference is found through `NXE_REFERENCE_NIX` (a launcher that takes the Nix
//! command name as its first argument) or `nix-instantiate` on `PATH`. Without one the test
//! is skipped with a message, except under `CI`, where that is a failure.

mod common;

use common::{cases, lang_dir, not_yet_passing, run_case, FixedEnvIo};
use nxe_evaluator::{run_with_big_stack, CodeCache, EvalRequest, EvalSettings, Evaluation, OutputMode, Source};
use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;

/// One-liners checked in both modes; each must evaluate successfully in the reference.
const ONE_LINERS: &[&str] = &[
    "1 + 2 * 3 - 4 / 2",
    "[ 1 2.5 \"s\" null true false ]",
    "{ a = 1; b = { c = [ 1 2 ]; }; }",
    "let x = 1; y = x + 1; in { inherit x y; }",
    "rec { a = 1; b = a + 1; c = { d = b; }; }",
    "let x = 1; n = 2; in { inherit x; y = x + 1; z = 2 * 3; ${\"d\"} = n - 1; l = [ (n * 3) ]; }",
    "let n = 2; in [ (n * 3) (1 + 1) n ]",
    "let s = { a = 1; }; in { f = x: x; g = s.a; l = [ s.a (y: y) ]; }",
    "let s = { a = { b = 1; }; }; f = x: x + 1; in [ (f s.a.b) (builtins.seq s.a.b (f s.a.b)) ]",
    "let s = { a = throw \"no\"; }; t = 1; f = x: 3; in [ (f s.a) (f s.missing) (f t.a) ]",
    "(f: f 1) (x: x + 1)",
    "let n = 2; in (v: { inherit v; }) (n + 1)",
    "(v: { inherit v; }) (x: x)",
    "let s = { a = 1; }; in builtins.seq s.a ((v: { inherit v; }) s.a)",
    "let s = { l = [ 1 2 ]; }; f = x: { a = x; b = x; }; in builtins.seq s.l (f s.l)",
    "let l = [ 1 2 ]; s = { a = 1; }; f = x: x; in builtins.seq [ (builtins.length l) s.a (f 1) ] { a = l; b = l; c = [ s s ]; d = [ f ] == [ f ]; e = s; }",
    "let f = { a, b ? a * 2, ... }@args: [ a b (args.c or 0) ]; in f { a = 3; c = 4; }",
    "with { a = 1; }; with { a = 2; b = 3; }; [ a b ]",
    "builtins.attrNames { b = 1; a = 2; \"c d\" = 3; }",
    "builtins.map (x: x * x) (builtins.genList (x: x) 10)",
    "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000)",
    "builtins.sort (a: b: a > b) [ 3 1 4 1 5 9 2 6 ]",
    "builtins.concatStringsSep \", \" [ \"a\" \"b\" \"c\" ]",
    "builtins.replaceStrings [ \"a\" \"b\" ] [ \"x\" \"\" ] \"abcab\"",
    "builtins.substring 1 3 \"hello\"",
    "builtins.listToAttrs [ { name = \"a\"; value = 1; } { name = \"a\"; value = 2; } ]",
    "builtins.mapAttrs (n: v: n + v) { x = \"1\"; y = \"2\"; }",
    "builtins.tryEval (throw \"no\")",
    "builtins.tryEval (assert false; 1)",
    "builtins.typeOf [ ]",
    "builtins.intersectAttrs { a = 1; } { a = 2; b = 3; }",
    "builtins.removeAttrs { a = 1; b = 2; } [ \"a\" \"z\" ]",
    "builtins.genericClosure { startSet = [ { key = 1; } ]; operator = x: if x.key < 5 then [ { key = x.key + 1; } ] else [ ]; }",
    "builtins.partition (x: x > 2) [ 1 2 3 4 ]",
    "builtins.groupBy (x: if x > 2 then \"big\" else \"small\") [ 1 2 3 4 ]",
    "builtins.zipAttrsWith (n: vs: vs) [ { a = 1; } { a = 2; b = 3; } ]",
    "builtins.functionArgs ({ a, b ? 1 }: a)",
    "builtins.toString [ 1 [ 2 null ] true false 1.5 ]",
    "\"${toString 42}-${\"x\"}\"",
    "''\n  a\n    b\n  c\n''",
    "[ (1 == 1.0) ([ 1 ] == [ 1 ]) ({ } == { }) (\"a\" < \"b\") ([ 1 2 ] < [ 1 3 ]) ]",
    "{ a = 0.1; b = 1.0e20; c = 123456.7; d = 1.0e-5; e = -0.0; }",
    "let l = [ 1 l ]; in builtins.head l",
    "let x = { a = 1; }; in [ x x ]",
    "{ __functor = self: x: x + 1; } 41",
    "{ __toString = self: \"str\"; } + \"ing\"",
    "builtins.seq 1 (builtins.deepSeq [ 1 2 ] 3)",
    "builtins.elemAt [ 1 2 3 ] 1",
    "builtins.bitXor 5 3",
    "builtins.ceil 1.5 + builtins.floor (-1.5)",
    "builtins.isFunction builtins.map",
    "[ builtins.map (builtins.map (x: x)) (x: x) ]",
    "{ a = [ ]; b = [ 1 ]; c = { }; l = [ [ ] { } ]; }",
    "let x = [ ]; f = y: { inherit y; }; in [ { inherit x; } (f [ ]) ]",
    "rec { a1 = [ 1 ]; b1 = a1; } // rec { b2 = a2; a2 = [ 1 ]; }",
    "let p = [ 2 ]; o = p; in { inherit o p; q = rec { s = r; r = [ 3 ]; t = r; }; }",
];

/// The reference's `nix-instantiate` as a command prefix, if there is one.
fn reference() -> Option<Vec<String>> {
    if let Ok(launcher) = std::env::var("NXE_REFERENCE_NIX") {
        if !launcher.is_empty() {
            return Some(vec![launcher, "nix-instantiate".to_string()]);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("nix-instantiate"))
        .find(|candidate| candidate.is_file())
        .map(|found| vec![found.to_string_lossy().into_owned()])
}

/// The oldest Nix whose behaviour the corpus and the one-liners follow.
const REFERENCE_VERSION: (u32, u32) = (2, 34);

/// The reference's version, from `--version` ("nix-instantiate (Nix) 2.34.8").
fn reference_version(prefix: &[String]) -> Option<(u32, u32)> {
    let output = Command::new(&prefix[0]).args(&prefix[1..]).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().last()?;
    let mut parts = version.split('.').map(|part| part.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Runs the reference in the corpus's fixed environment; `None` if it failed.
fn run_reference(prefix: &[String], dir: &Path, args: &[&str]) -> Option<String> {
    let mut command = Command::new(&prefix[0]);
    command.args(&prefix[1..]).args(args).current_dir(dir).env_clear();
    for name in ["PATH", "NIX_STATE_DIR"] {
        if let Ok(value) = std::env::var(name) {
            command.env(name, value);
        }
    }
    for (name, value) in std::env::vars() {
        if name.starts_with("NIX_") && name.ends_with("_HOME") {
            command.env(name, value);
        }
    }
    command.env("HOME", "/fake-home").env("TEST_VAR", "foo").env("NIX_PATH", format!("lang={}/lib", dir.display()));
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim_end_matches('\n').to_string())
}

fn run_nxe_expression(text: &str, mode: OutputMode) -> Result<String, String> {
    let text = text.to_string();
    run_with_big_stack(move || {
        let io = Rc::new(FixedEnvIo::new());
        let mut evaluation = Evaluation::with_io(EvalSettings::default(), io, Arc::new(CodeCache::default()));
        let request = EvalRequest {
            source: Source::Expression { text, base_dir: "/".to_string() },
            attr_paths: Vec::new(),
            auto_args: Vec::new(),
            mode,
        };
        evaluation.evaluate(&request).map_err(|e| e.to_string())
    })
}

#[test]
fn nxe_agrees_with_the_reference_nix() {
    let Some(prefix) = reference() else {
        assert!(!in_ci(), "no reference Nix: set NXE_REFERENCE_NIX or put nix-instantiate on PATH");
        eprintln!(
            "differential tests skipped: no reference Nix (set NXE_REFERENCE_NIX or put nix-instantiate on PATH)"
        );
        return;
    };
    match reference_version(&prefix) {
        Some(version) if version >= REFERENCE_VERSION => {}
        found => {
            let found = found.map_or("of an unknown version".to_string(), |(major, minor)| format!("{major}.{minor}"));
            let (major, minor) = REFERENCE_VERSION;
            let message = format!(
                "the reference Nix ({}) is {found}, older than {major}.{minor}, whose behaviour the corpus follows (set NXE_REFERENCE_NIX)",
                prefix.join(" ")
            );
            assert!(!in_ci(), "{message}");
            eprintln!("differential tests skipped: {message}");
            return;
        }
    }
    let dir = lang_dir();
    let dir_text = dir.to_string_lossy().into_owned();
    let gaps = not_yet_passing();
    let mut mismatches = Vec::new();
    let mut n_compared = 0;
    for path in cases(&dir, "eval-okay-") {
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if gaps.contains(&name) || path.with_extension("flags").exists() {
            continue;
        }
        let file = path.to_string_lossy().into_owned();
        let Some(expected) = run_reference(&prefix, &dir, &["--eval", "--strict", &file]) else {
            mismatches.push(format!("{name}: the reference failed on an eval-okay case"));
            continue;
        };
        n_compared += 1;
        let actual = run_case(&path);
        if actual.as_deref() != Ok(expected.as_str()) {
            let actual = actual.map_or_else(|e| format!("error: {e}"), |v| v.replace(&dir_text, "/pwd"));
            mismatches.push(format!("{name}:\n  reference: {expected}\n  nxe:       {actual}"));
        }
    }
    for (idx, text) in ONE_LINERS.iter().enumerate() {
        for (mode, flags) in [(OutputMode::Lazy, vec!["--eval"]), (OutputMode::Strict, vec!["--eval", "--strict"])] {
            let mut args = flags.clone();
            args.extend(["-E", text]);
            let Some(expected) = run_reference(&prefix, &dir, &args) else {
                mismatches.push(format!("one-liner {idx} ({text}): the reference failed"));
                continue;
            };
            n_compared += 1;
            let actual = run_nxe_expression(text, mode);
            if actual.as_deref() != Ok(expected.as_str()) {
                mismatches.push(format!(
                    "one-liner {idx} {mode:?} ({text}):\n  reference: {expected}\n  nxe:       {actual:?}"
                ));
            }
        }
    }
    eprintln!("differential: {n_compared} comparisons, {} mismatches", mismatches.len());
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
