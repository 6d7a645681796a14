//! End-to-end runs of `nxe bench` on a tiny workload, with the reference disabled
//! (`--against none`) so that the tests need no Nix.

use nxe_e2e::nxe;
use std::process::Output;

/// A temporary directory holding one tiny workload, `tiny.nix`.
fn workloads() -> tempfile::TempDir {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("cannot create a temporary directory: {error}"),
    };
    if let Err(error) = std::fs::write(dir.path().join("tiny.nix"), "builtins.foldl' (a: b: a + b) 0 [ 1 2 3 ]\n") {
        panic!("cannot write the workload: {error}");
    }
    dir
}

/// Runs `nxe bench --runs 1 --against none --workloads DIR ARGS...`.
fn bench(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    let mut command = nxe();
    command.args(["bench", "--runs", "1", "--against", "none", "--workloads"]).arg(dir.path()).args(args);
    match command.output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run nxe (build it with `cargo build -p nxe`): {error}"),
    }
}

fn stdout_of(output: &Output) -> String {
    assert!(output.status.success(), "nxe bench failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn bench_without_reference_reports_nxe_time() {
    let dir = workloads();
    let stdout = stdout_of(&bench(&dir, &[]));
    assert!(stdout.contains("reference: none"), "{stdout}");
    let line = stdout.lines().find(|line| line.starts_with("tiny ")).unwrap_or_default();
    assert!(line.split_whitespace().nth(1).is_some_and(|time| time.ends_with('s')), "no time for nxe in:\n{stdout}");
}

#[test]
fn bench_json_parses_and_has_figures() {
    let dir = workloads();
    let stdout = stdout_of(&bench(&dir, &["--json"]));
    let report: serde_json::Value = match serde_json::from_str(&stdout) {
        Ok(report) => report,
        Err(error) => panic!("nxe bench --json printed invalid JSON ({error}):\n{stdout}"),
    };
    assert_eq!(report["runs"], 1);
    assert!(report["reference"].is_null());
    let workload = &report["workloads"][0];
    assert_eq!(workload["name"], "tiny");
    assert_eq!(workload["status"], "ok");
    assert!(workload["nxe"]["median_seconds"].as_f64().is_some_and(|seconds| seconds > 0.0), "{stdout}");
    assert_eq!(workload["nxe"]["seconds"].as_array().map(Vec::len), Some(1));
    assert!(workload["reference"].is_null());
}

#[test]
fn bench_names_a_missing_workload() {
    let dir = workloads();
    let output = bench(&dir, &["absent"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no workload 'absent'"));
}
