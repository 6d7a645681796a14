//! Criterion benchmarks of the evaluator: parsing and compiling, then one case per hot path
//! of evaluation (attribute lookup, `//`, thunks, calls with formals, interpolation, lists and
//! `sort`, `genericClosure`, a module-system style fixpoint).
//!
//! Every evaluation case is a Nix function compiled once, applied to inputs that are also
//! built and forced once, outside the timed closure: only the call and forcing its result
//! deeply are timed. Each case's printed result is checked before timing, so a case cannot
//! quietly time an error path. Case names are `what/size`.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use nxe_evaluator::compile::{compile, CompileOptions};
use nxe_evaluator::source::SourceMap;
use nxe_evaluator::{EvalRequest, Evaluation, Value};
use std::hint::black_box;
use std::time::Duration;

/// A function and its inputs, ready to be called.
struct Case {
    evaluation: Evaluation,
    function: Value,
    inputs: Vec<Value>,
}

impl Case {
    /// Compiles `function` and evaluates and deeply forces each input expression, then checks
    /// that calling the function prints `expected`.
    fn new(function: &str, inputs: &[String], expected: &str) -> Case {
        let mut evaluation = Evaluation::new(Default::default());
        let mut value_of = |text: &str| {
            let values = evaluation.values(&EvalRequest::expression(text));
            let value = values.ok().and_then(|values| values.into_iter().next());
            let value = value.and_then(|value| evaluation.evaluator().force_deep(&value).ok());
            value.unwrap_or_else(|| panic!("benchmark input does not evaluate: {text}"))
        };
        let function = value_of(function);
        let inputs = inputs.iter().map(|text| value_of(text)).collect();
        let mut case = Case { evaluation, function, inputs };
        let printed = case.run().map(|value| nxe_evaluator::print::print_value(&value));
        assert_eq!(printed.as_deref(), Some(expected), "benchmark result is wrong");
        case
    }

    /// Calls the function on the inputs and forces the result deeply.
    fn run(&mut self) -> Option<Value> {
        let evaluator = self.evaluation.evaluator();
        let result = evaluator.call(self.function.clone(), &self.inputs, None).ok()?;
        evaluator.force_deep(&result).ok()
    }
}

/// Times one case under `what/size`.
fn bench_case(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, mut case: Case) {
    group.bench_function(name, |b| b.iter(|| black_box(case.run())));
}

/// A package-set-like file of about `n_packages * 330` bytes: a `rec` set of sets with
/// strings, interpolation, lists, lambdas and `let`.
fn generated_file(n_packages: usize) -> String {
    let mut text = String::from("{ lib ? { }, fetch ? (x: x) }:\nrec {\n");
    for i in 0..n_packages {
        let dep = i / 2;
        text.push_str(&format!(
            "  pkg{i} = let version = \"1.{i}.0\"; in {{\n    pname = \"pkg-{i}\";\n    inherit version;\n    \
             src = fetch {{ url = \"https://example.org/pkg-{i}-${{version}}.tar.gz\"; hash = \"sha256-{i}\"; }};\n    \
             buildInputs = [ pkg{dep} ] ++ lib.optional (({i} / 2) * 2 == {i}) pkg{dep};\n    \
             patch = x: if x > {i} then x * 2 else {{ inherit x; y = x.z or null; }};\n    \
             meta = {{ description = \"package number {i}\"; license = [ \"mit\" ]; }};\n  }};\n"
        ));
    }
    text.push_str("}\n");
    text
}

/// Parsing and compiling a large generated file. Compiled trees are leaked by design, so
/// this group keeps the number of iterations small.
fn parse(c: &mut Criterion) {
    let text = generated_file(600);
    let file = SourceMap::global().add("generated.nix".to_string(), text.clone());
    let options = CompileOptions { lints: Default::default(), base_dir: "/".into(), home: None, scoped: false };
    assert!(compile(file, &text, &options).is_ok(), "the generated file does not compile");
    let mut group = c.benchmark_group("parse");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(format!("{}kb", text.len() / 1000), |b| {
        b.iter(|| black_box(compile(file, &text, &options).is_ok()))
    });
    group.finish();
}

/// `genList (i: "a${toString i}" ...)`-style inputs: a set of `n` attributes `aI = I`.
fn big_set(n: usize, prefix: &str, offset: usize) -> String {
    format!("builtins.listToAttrs (builtins.genList (i: {{ name = \"{prefix}${{toString i}}\"; value = i + {offset}; }}) {n})")
}

/// The evaluation cases.
fn eval(c: &mut Criterion) {
    let mut group = c.benchmark_group("eval");
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));

    let n = 10_000;
    let lookup = Case::new(
        "s: names: builtins.foldl' (acc: name: acc + s.${name}) 0 names",
        &[big_set(n, "a", 0), format!("builtins.attrNames ({})", big_set(n, "a", 0))],
        &(n * (n - 1) / 2).to_string(),
    );
    bench_case(&mut group, "attr_lookup/10k", lookup);

    let update = Case::new(
        "a: b: let m = a // b; in [ (builtins.length (builtins.attrNames m)) m.a0 m.a9999 ]",
        &[big_set(n, "a", 0), big_set(n, "a", 1)],
        "[ 10000 1 10000 ]",
    );
    bench_case(&mut group, "attr_update/10k", update);

    let update_fold = Case::new(
        "big: smalls: let m = builtins.foldl' (acc: s: acc // s) big smalls; in [ m.a0 m.a999 m.b999 ]",
        &[
            big_set(n, "a", 0),
            "builtins.genList (i: { \"a${toString i}\" = i + 1; \"b${toString i}\" = i; }) 1000".into(),
        ],
        "[ 1 1000 999 ]",
    );
    bench_case(&mut group, "attr_update_fold/1k", update_fold);

    let n: u64 = 100_000;
    let thunks = Case::new(
        "n: let xs = builtins.genList (i: let y = i * 2; in y) n; in builtins.foldl' (a: b: a + b) 0 xs",
        &[n.to_string()],
        &(n * (n - 1)).to_string(),
    );
    bench_case(&mut group, "thunks/100k", thunks);

    let calls = Case::new(
        "n: let f = { a, b ? 2, ... }@args: a + b + args.c; in \
         builtins.foldl' (acc: i: acc + f { a = i; c = 1; }) 0 (builtins.genList (i: i) n)",
        &[n.to_string()],
        &(n * (n - 1) / 2 + 3 * n).to_string(),
    );
    bench_case(&mut group, "call_formals/100k", calls);

    let n: usize = 50_000;
    let expected_length: usize = (0..n).map(|i| format!("line {i}: {}", i * 7).len()).sum::<usize>() + n - 1;
    let interpolation = Case::new(
        "n: builtins.stringLength (builtins.concatStringsSep \"\\n\" \
         (builtins.genList (i: \"line ${toString i}: ${toString (i * 7)}\") n))",
        &[n.to_string()],
        &expected_length.to_string(),
    );
    bench_case(&mut group, "interpolation/50k", interpolation);

    let n: u64 = 100_000;
    let lists = Case::new(
        "n: let xs = builtins.genList (i: [ i (i + 1) ]) n; ys = builtins.concatLists xs; \
         in builtins.length (builtins.filter (x: x > 0) (map (x: x + 1) (ys ++ [ 0 ])))",
        &[n.to_string()],
        &(2 * n + 1).to_string(),
    );
    bench_case(&mut group, "list_build/100k", lists);

    let n: i64 = 20_000;
    let mut numbers: Vec<i64> = (0..n).map(|i| (i * 7919 + 104_729) % 100_003).collect();
    numbers.sort();
    let sort = Case::new(
        "xs: let s = builtins.sort (a: b: a < b) xs; in [ (builtins.head s) (builtins.elemAt s 10000) (builtins.length s) ]",
        &[format!("builtins.genList (i: (i * 7919 + 104729) - (i * 7919 + 104729) / 100003 * 100003) {n}")],
        &format!("[ {} {} {n} ]", numbers[0], numbers[10_000]),
    );
    bench_case(&mut group, "sort/20k", sort);

    let n = 10_000;
    let closure = Case::new(
        "n: builtins.length (builtins.genericClosure { startSet = [ { key = 1; } ]; \
         operator = item: let k = item.key; in [ { key = (k * 2) - (k * 2) / n * n; } { key = (k + 7) - (k + 7) / n * n; } ]; })",
        &[n.to_string()],
        &n.to_string(),
    );
    bench_case(&mut group, "generic_closure/10k", closure);

    let n = 300;
    let modules = Case::new(
        "modules: let
           merge = name: values: if name == \"packages\" then builtins.concatLists values else builtins.head values;
           config = builtins.zipAttrsWith merge (map (m: m { inherit config; }) modules);
         in [ config.\"opt${toString (builtins.length modules - 1)}\" (builtins.length config.packages) config.name ]",
        &[format!(
            "builtins.genList (i: {{ config, ... }}: {{
               \"opt${{toString i}}\" = if i == 0 then 1 else config.\"opt${{toString (i - 1)}}\" + 1;
               packages = [ \"p${{toString i}}\" ];
             }} // (if i == 0 then {{ name = \"host-${{toString (builtins.length config.packages)}}\"; }} else {{ }})) {n}"
        )],
        &format!("[ {n} {n} \"host-{n}\" ]"),
    );
    bench_case(&mut group, "module_fixpoint/300", modules);

    // Derivations without inputs (`writeText`'s shape): their ATerm, paths and hashes. The
    // same ones each time, so the evaluation's record of them does not grow.
    let n = 2_000;
    let derivations = Case::new(
        "n: builtins.length (builtins.filter (d: builtins.stringLength d.drvPath > 0) (builtins.genList (i: derivation {
           name = \"file-${toString i}\"; system = \"x86_64-linux\"; builder = \"/bin/sh\";
           args = [ \"-c\" \"echo \\\"$text\\\" > $out\" ]; text = \"contents of file ${toString i}\\n\"; passAsFile = [ \"text\" ];
         }) n))",
        &[n.to_string()],
        &n.to_string(),
    );
    bench_case(&mut group, "derivations/2k", derivations);

    group.finish();
}

criterion_group!(benches, parse, eval);
criterion_main!(benches);
