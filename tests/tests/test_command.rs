//! `nxe test` on the example fleet: every kind passes, a second run skips everything, and a
//! change runs exactly what it affects.

use nxe_e2e::{copy_dir, git, nxe, workspace};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("test-command-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let repo = dir.join("repo");
    copy_dir(&workspace().join("fixtures/fleet"), &repo);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    repo
}

fn test_json(repo: &Path, extra: &[&str]) -> (Vec<Value>, String, Option<i32>) {
    let output = nxe().args(["test", "--json", "--repo"]).arg(repo).args(extra).output().expect("run nxe test");
    let records = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    (records, String::from_utf8_lossy(&output.stderr).into_owned(), output.status.code())
}

/// `nxe test --json --changed --builder none` and `extra` with units traced: records,
/// standard error, exit status.
fn changed_traced(repo: &Path, extra: &[&str]) -> (Vec<Value>, String, Option<i32>) {
    let output = nxe()
        .args(["test", "--json", "--changed", "--builder", "none"])
        .args(extra)
        .arg("--repo")
        .arg(repo)
        .env("NXE_TRACE_UNITS", "1")
        .output()
        .expect("run nxe test");
    let records =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    (records, String::from_utf8_lossy(&output.stderr).into_owned(), output.status.code())
}

fn with_status<'a>(records: &'a [Value], status: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["status"] == status).collect()
}

#[test]
fn every_kind_passes_then_nothing_needs_to_run_then_a_change_runs_what_it_affects() {
    let repo = repo("kinds");
    let (records, stderr, code) = test_json(&repo, &["--builder", "none"]);
    assert_eq!(code, Some(0), "{stderr}");
    for kind in ["option", "unit", "policy"] {
        let of_kind: Vec<_> = records.iter().filter(|r| r["kind"] == kind).collect();
        assert!(!of_kind.is_empty(), "no {kind} tests");
        assert!(of_kind.iter().all(|r| r["status"] == "pass"), "{kind}: {of_kind:?}");
    }
    assert_eq!(records.iter().filter(|r| r["kind"] == "option").count(), 25);
    assert_eq!(records.iter().filter(|r| r["kind"] == "policy").count(), 25);
    assert_eq!(records.iter().filter(|r| r["kind"] == "unit").count(), 40);
    // Checks are skipped without a builder, with that reason.
    let checks: Vec<_> = records.iter().filter(|r| r["kind"] == "check").collect();
    assert_eq!(checks.len(), 38);
    assert!(checks.iter().all(|r| r["status"] == "skip"));

    let output = nxe().args(["test", "--changed", "--builder", "none", "--repo"]).arg(&repo).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("nothing needs to run"), "{stderr}");

    // One unit test's expected value changes: it alone runs, and fails.
    let path = repo.join("tests/hosts.nix");
    let text = std::fs::read_to_string(&path).expect("read tests");
    std::fs::write(&path, text.replacen("expected = 16;", "expected = 17;", 1)).expect("write tests");
    let (records, stderr, code) = test_json(&repo, &["--changed", "--builder", "none", "--kind", "unit"]);
    assert_eq!(code, Some(1), "{stderr}");
    let failed = with_status(&records, "fail");
    assert_eq!(failed.len(), 1, "{records:?}");
    assert_eq!(failed[0]["name"], "hosts.web.testForcedWorkers");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("17") && reason.contains("16"), "{reason}");
    assert!(reason.contains("tests/hosts.nix"), "{reason}");
    // The other tests of that file read it, so they run again (and pass); the tests of
    // other files are skipped.
    let passed = with_status(&records, "pass");
    assert_eq!(passed.len(), 17, "{records:?}");
    assert!(passed.iter().all(|r| r["name"].as_str().is_some_and(|n| n.starts_with("hosts."))));
    let skipped = with_status(&records, "skip");
    assert_eq!(skipped.len(), 22, "{records:?}");
    assert!(skipped.iter().all(|r| r["name"].as_str().is_some_and(|n| n.starts_with("lib."))));

    // A host's file: its option validation and policies run again, the others are skipped.
    let host = repo.join("hosts/db-03.nix");
    let mut text = std::fs::read_to_string(&host).expect("read host");
    text.push_str("# moved\n");
    std::fs::write(&host, text).expect("write host");
    let (records, stderr, _) =
        test_json(&repo, &["--changed", "--builder", "none", "--kind", "option", "--kind", "policy"]);
    let mut ran: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["status"] != "skip")
        .map(|r| {
            (r["kind"].as_str().unwrap_or_default().to_string(), r["host"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    ran.sort();
    assert_eq!(
        ran,
        vec![("option".to_string(), "db-03".to_string()), ("policy".to_string(), "db-03".to_string())],
        "{stderr}"
    );
}

/// Declares a secret whose file does not exist on web-03, which fails one of its assertions.
fn declare_a_missing_secret_on_web_03(repo: &Path) {
    let path = repo.join("hosts/web-03.nix");
    let text = std::fs::read_to_string(&path).expect("read host");
    let edited =
        text.replacen("imports = [", "age.secrets.made-up = { file = \"secrets/made-up.age\"; };\n  imports = [", 1);
    std::fs::write(&path, edited).expect("write host");
}

#[test]
fn a_failing_assertion_fails_that_hosts_option_validation_once() {
    let repo = repo("assertion");
    declare_a_missing_secret_on_web_03(&repo);
    let (records, stderr, code) = test_json(&repo, &["--builder", "none", "--kind", "option"]);
    assert_eq!(code, Some(1), "{stderr}");
    let failed = with_status(&records, "fail");
    assert_eq!(failed.len(), 1, "{records:?}");
    assert_eq!(failed[0]["host"], "web-03");
    assert!(failed[0]["reason"].as_str().is_some_and(|r| r.contains("made-up")), "{:?}", failed[0]);
}

#[test]
fn a_check_builds_with_the_local_builder_and_is_skipped_once_built() {
    let repo = repo("build");
    let store = repo.parent().map(|p| p.join("store")).unwrap_or_default();
    let run = |extra: &[&str]| {
        let output = nxe()
            .args(["test", "web-01", "--kind", "check", "--builder", "local", "--json", "--junit"])
            .arg(repo.join("report.xml"))
            .arg("--repo")
            .arg(&repo)
            .args(extra)
            .env("XDG_CACHE_HOME", &store)
            .env("NIX_STORE_DIR", "/nix/store")
            .output()
            .expect("run nxe test");
        let records: Vec<Value> =
            String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        (records, String::from_utf8_lossy(&output.stderr).into_owned(), output.status.code())
    };
    let (records, stderr, code) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}\n{records:?}");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["name"], "web-01.vm-test");
    assert_eq!(records[0]["status"], "pass", "{records:?}");
    let junit = std::fs::read_to_string(repo.join("report.xml")).expect("junit report");
    assert!(junit.starts_with("<?xml") && junit.contains("web-01.vm-test"), "{junit}");
    let (records, stderr, code) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(records[0]["status"], "skip", "{records:?}");
    let log = nxe().args(["log", "web-01.vm-test", "--repo"]).arg(&repo).output().expect("run nxe log");
    assert!(log.status.success(), "{}", String::from_utf8_lossy(&log.stderr));
}

/// `nxe` with the built-in builder and a private store.
fn local_nxe(repo: &Path, args: &[&str]) -> std::process::Output {
    local_command(repo, args).output().expect("run nxe")
}

/// The command of [`local_nxe`].
fn local_command(repo: &Path, args: &[&str]) -> std::process::Command {
    let store = repo.parent().map(|p| p.join("store")).unwrap_or_default();
    let mut command = nxe();
    command.args(args).arg("--repo").arg(repo).env("XDG_CACHE_HOME", &store).env("NIX_STORE_DIR", "/nix/store");
    command
}

#[test]
fn a_failing_check_build_is_reported_once_with_its_log() {
    let repo = repo("failing-check");
    let path = repo.join("checks/default.nix");
    let text = std::fs::read_to_string(&path).expect("read checks");
    let broken = text.replacen(
        "printf 'boot %s with %s\\n'",
        "if [ \"$name\" = vm-test-web-02 ]; then echo 'guest never reached multi-user.target' >&2; exit 3; fi\n      printf 'boot %s with %s\\n'",
        1,
    );
    assert_ne!(text, broken, "the vm-test's build command was not found");
    std::fs::write(&path, broken).expect("write checks");
    let output = local_nxe(&repo, &["test", "web-01", "web-02", "--kind", "check", "--builder", "local", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let records: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let failed = with_status(&records, "fail");
    assert_eq!(failed.len(), 1, "{records:?}");
    assert_eq!((failed[0]["name"].as_str(), failed[0]["host"].as_str()), (Some("web-02.vm-test"), Some("web-02")));
    assert!(failed[0]["reason"].as_str().is_some_and(|r| r.contains("status 3") && r.contains(".log")), "{failed:?}");
    assert_eq!(with_status(&records, "pass").len(), 1, "{records:?}");
    let log = local_nxe(&repo, &["log", "web-02.vm-test"]);
    assert!(log.status.success(), "{}", String::from_utf8_lossy(&log.stderr));
    assert!(String::from_utf8_lossy(&log.stdout).contains("guest never reached multi-user.target"));
}

#[test]
fn build_builds_a_hosts_system_at_its_output_path() {
    let repo = repo("build-host");
    let output = local_nxe(&repo, &["build", "web-01", "--builder", "local", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["status"], "pass");
    // The output path is the one the derivation names.
    let shown = nxe()
        .args(["instantiate", "--json"])
        .arg(&repo)
        .args(["-A", "hosts.web-01.toplevel"])
        .output()
        .expect("run nxe instantiate");
    let json: Value = serde_json::from_slice(&shown.stdout).expect("instantiate JSON");
    let out = json["derivations"]
        .as_object()
        .and_then(|d| d.values().find(|drv| drv["env"]["name"] == "fleet-system-web-01"))
        .and_then(|drv| drv["env"]["out"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(!out.is_empty(), "{json}");
    assert_eq!(records[0]["reason"].as_str(), Some(format!("built {out}").as_str()));
}

#[test]
fn a_check_that_passes_on_a_retry_is_reported_flaky() {
    let repo = repo("flaky");
    let marker = repo.parent().map(|p| p.join("tried-once")).unwrap_or_default();
    let path = repo.join("checks/default.nix");
    let text = std::fs::read_to_string(&path).expect("read checks");
    let flaky = text.replacen(
        "printf 'boot %s with %s\\n'",
        &format!(
            "if [ \"$name\" = vm-test-web-01 ] && [ ! -e {m} ]; then : > {m}; echo 'port 443 not open yet' >&2; exit 1; fi\n      printf 'boot %s with %s\\n'",
            m = marker.display()
        ),
        1,
    );
    std::fs::write(&path, flaky).expect("write checks");
    let output =
        local_nxe(&repo, &["test", "web-01", "--kind", "check", "--builder", "local", "--retries", "1", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let records: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["status"], "flaky", "{records:?}");
    assert!(records[0]["reason"].as_str().is_some_and(|r| r.contains("status 1")), "{records:?}");
    assert!(marker.exists());
}

/// Applies one edit to a fresh copy of the fleet and returns the failing records of its
/// option validation and policies.
fn failures_after(name: &str, file: &str, old: &str, new: &str) -> Vec<Value> {
    let repo = repo(name);
    let path = repo.join(file);
    let text = std::fs::read_to_string(&path).expect("read fixture file");
    assert_eq!(text.matches(old).count(), 1, "{old:?} in {file}");
    std::fs::write(&path, text.replacen(old, new, 1)).expect("write fixture file");
    let (records, stderr, code) = test_json(&repo, &["--builder", "none", "--kind", "option", "--kind", "policy"]);
    assert_eq!(code, Some(1), "{stderr}");
    records.into_iter().filter(|r| r["status"] == "fail").collect()
}

#[test]
fn a_wrong_option_type_is_reported_once_at_its_definition() {
    let failed = failures_after(
        "wrong-type",
        "hosts/web-01.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  services.web.port = \"80\";",
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((failed[0]["kind"].as_str(), failed[0]["host"].as_str()), (Some("option"), Some("web-01")));
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("services.web.port") && reason.contains("hosts/web-01.nix:5:3"), "{reason}");
}

#[test]
fn a_secret_file_in_the_store_fails_that_hosts_secrets_policy_once() {
    let failed = failures_after(
        "secret-file",
        "hosts/web-05.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  environment.etc.\"tls-debug.age\".source = ../secrets/tls-shop-staging.age;",
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((failed[0]["kind"].as_str(), failed[0]["host"].as_str()), (Some("policy"), Some("web-05")));
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("secrets/tls-shop-staging.age"), "{reason}");
}

#[test]
fn a_stateful_service_without_backup_fails_that_hosts_backups_policy_once() {
    let failed = failures_after(
        "no-backup",
        "hosts/bastion-01.nix",
        "imports = [ ../roles/bastion.nix ];",
        "imports = [ ../roles/bastion.nix ];\n  systemd.services.audit-log = {\n    hardening.readWritePaths = [ \"/var/lib/audit\" ];\n    serviceConfig.ExecStart = \"/run/current-system/sw/bin/auditd\";\n  };",
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((failed[0]["kind"].as_str(), failed[0]["host"].as_str()), (Some("policy"), Some("bastion-01")));
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("audit-log") && reason.contains("hardening.readWritePaths"), "{reason}");
}

/// Evaluation, tests and builds are one DAG: a host's checks build as soon as that host is
/// evaluated, before the unit tests, which wait on one worker (builds and what leads to them
/// go first). A host's option validation and policies run on its evaluation, right after
/// it.
#[test]
fn checks_build_before_other_evaluations_end() {
    let repo = repo("one-dag");
    let output = local_nxe(&repo, &["test", "web-01", "web-02", "-j", "1", "--json", "--builder", "local"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let records: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "check").count(), 2, "{records:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "unit").count(), 40, "{records:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "option" || **k == "policy").count(), 4, "{records:?}");
    let last_check = kinds.iter().rposition(|k| *k == "check");
    let first_unit = kinds.iter().position(|k| *k == "unit");
    assert!(last_check < first_unit, "checks were not built before the unit tests: {kinds:?}");
    let last_validation = kinds.iter().rposition(|k| *k == "option" || *k == "policy");
    assert!(last_validation < first_unit, "{kinds:?}");
    assert!(with_status(&records, "pass").len() == records.len(), "{records:?}");
}

/// `--fail-fast`: after the first failure nothing new starts, and what did not run says so.
#[test]
fn fail_fast_stops_at_the_first_failure_and_reports_the_rest_as_not_started() {
    let repo = repo("fail-fast");
    declare_a_missing_secret_on_web_03(&repo);
    let (records, stderr, code) =
        test_json(&repo, &["--builder", "none", "--kind", "option", "-j", "1", "--fail-fast"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(records.len(), 25, "{records:?}");
    let failed = with_status(&records, "fail");
    assert_eq!(failed.len(), 1, "{records:?}");
    assert_eq!(failed[0]["host"], "web-03");
    // Hosts are taken in order on one worker: every host after web-03 did not start.
    let position = records.iter().position(|r| r["host"] == "web-03").unwrap_or(0);
    let after = &records[position + 1..];
    assert!(!after.is_empty(), "{records:?}");
    for record in after {
        assert_eq!(record["status"], "skip", "{record:?}");
        assert!(record["reason"].as_str().is_some_and(|r| r.contains("--fail-fast")), "{record:?}");
    }
    assert!(records[..position].iter().all(|r| r["status"] == "pass"), "{records:?}");
}

/// A memory budget too small for any unit: each one is stopped and evaluated again alone,
/// and the run gives the same records as one without a budget.
#[test]
fn a_tiny_memory_budget_gives_the_same_results() {
    let repo = repo("budget");
    let summary = |extra: &[&str]| {
        let (records, stderr, code) = test_json(&repo, &[&["--builder", "none", "-j", "2"], extra].concat());
        assert_eq!(code, Some(0), "{stderr}");
        let mut summary: Vec<String> =
            records.iter().map(|r| format!("{} {} {} {}", r["kind"], r["host"], r["name"], r["status"])).collect();
        summary.sort();
        summary
    };
    let cache = repo.parent().map(|p| p.join("budget-cache")).unwrap_or_default();
    let cache = cache.to_string_lossy().into_owned();
    let tight = summary(&["--max-memory", "4M", "--cache", &cache]);
    let free = summary(&[]);
    assert_eq!(tight.len(), 128);
    assert_eq!(tight, free);
    assert!(!tight.iter().any(|line| line.ends_with("\"skip\"") && !line.starts_with("\"check\"")), "{tight:?}");
}

/// A check whose drvPath comes from the cache is built from the derivations the cache
/// remembers: nothing is evaluated, and the outputs are the same as when it was evaluated.
#[test]
fn checks_build_from_remembered_derivations_without_evaluating() {
    let repo = repo("remembered");
    let run = |extra: &[&str]| {
        let mut command = local_command(
            &repo,
            &[&["test", "web-01", "--kind", "check", "--builder", "local", "--json"], extra].concat(),
        );
        let output = command.env("NXE_TRACE_UNITS", "1").output().expect("run nxe test");
        let records: Vec<Value> =
            String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        (records, String::from_utf8_lossy(&output.stderr).into_owned(), output.status.code())
    };
    let (first, stderr, code) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("unit host+checks:web-01"), "{stderr}");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["status"], "pass", "{first:?}");
    // An empty store: the check must really be built again.
    let store = repo.parent().map(|p| p.join("store")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&store);
    let (again, stderr, code) = run(&["--rerun"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("unit ") && !stderr.contains("session"), "evaluated: {stderr}");
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["status"], "pass", "{again:?}");
    assert_eq!(again[0]["reason"], first[0]["reason"], "other outputs");
    assert!(again[0]["reason"].as_str().is_some_and(|r| r.starts_with("built /nix/store/")), "{again:?}");
}

/// The unit tests that read every host share one evaluation when they run again, a failure
/// among them is still found, a test that reads a few hosts runs on its own, and what the
/// shared evaluation read holds afterwards: nothing needs to run.
#[test]
fn tests_that_read_every_host_run_again_together() {
    let repo = repo("batch");
    let (records, stderr, code) = test_json(&repo, &["--builder", "none", "--kind", "unit"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(with_status(&records, "pass").len(), 40, "{records:?}");

    declare_a_missing_secret_on_web_03(&repo);
    // With a memory budget no evaluation fits in, on a copy of the cache: the batch is
    // stopped and runs again alone, to the same records.
    let budget_cache = repo.parent().map(|p| p.join("batch-budget-cache")).unwrap_or_default();
    copy_dir(&repo.join(".nxe"), &budget_cache);
    let budget_cache = budget_cache.to_string_lossy().into_owned();
    let (tight, stderr, code) = test_json(
        &repo,
        &[
            "--changed",
            "--builder",
            "none",
            "--kind",
            "unit",
            "-j",
            "2",
            "--max-memory",
            "4M",
            "--cache",
            &budget_cache,
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    let (records, stderr, code) = changed_traced(&repo, &["--kind", "unit"]);
    assert_eq!(code, Some(1), "{stderr}");
    let failed = with_status(&records, "fail");
    assert_eq!(failed.len(), 1, "{records:?}");
    assert_eq!(failed[0]["name"], "hosts.fleet.testNoFailedAssertion");
    assert!(failed[0]["reason"].as_str().is_some_and(|r| r.contains("web-03")), "{:?}", failed[0]);
    let batched: Vec<&str> = stderr.lines().filter(|l| l.ends_with("(in a batch of 4)")).collect();
    assert_eq!(batched.len(), 4, "{stderr}");
    for name in ["testNoFailedAssertion", "testTeamOnEveryHost", "testOnlyBastion02Warns", "testNoSecretInTheStore"] {
        assert!(batched.iter().any(|l| l.contains(name)), "{name} not batched: {stderr}");
    }
    // It reads web-01 and web-03 only: alone.
    let alone = stderr.lines().find(|l| l.contains("testStorefrontUsesItsDataCentresCache"));
    assert!(alone.is_some_and(|l| !l.contains("batch")), "{stderr}");
    let passed: Vec<&str> = with_status(&records, "pass").iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(passed.contains(&"hosts.fleet.testTeamOnEveryHost"), "{records:?}");
    let summary = |records: &[Value]| {
        let mut lines: Vec<String> = records.iter().map(|r| format!("{} {}", r["name"], r["status"])).collect();
        lines.sort();
        lines
    };
    assert_eq!(summary(&tight), summary(&records));

    // The failure is remembered, so it runs again; everything that passed holds.
    let (records, stderr, code) = test_json(&repo, &["--changed", "--builder", "none", "--kind", "unit"]);
    assert_eq!(code, Some(1), "{stderr}");
    let ran: Vec<&Value> = records.iter().filter(|r| r["status"] != "skip").collect();
    assert_eq!(ran.len(), 1, "{records:?}");
    assert_eq!(ran[0]["name"], "hosts.fleet.testNoFailedAssertion");
}

/// After a host's change, the tests that read it wait for the host's own evaluation and
/// take its value from the snapshot that evaluation took: the host is evaluated once, and
/// the tests see its new value.
#[test]
fn tests_take_a_changed_host_from_its_own_evaluation() {
    let repo = repo("fresh-snapshot");
    let (_, stderr, code) = test_json(&repo, &["--builder", "none"]);
    assert_eq!(code, Some(0), "{stderr}");
    let host = repo.join("hosts/web-02.nix");
    let text = std::fs::read_to_string(&host).expect("read");
    std::fs::write(&host, text.replace("lib.mkForce 16", "lib.mkForce 24")).expect("write");
    let (records, stderr, code) = changed_traced(&repo, &["-j", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    let failed: Vec<&str> = with_status(&records, "fail").iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(failed, vec!["hosts.web.testForcedWorkers"], "{stderr}");
    assert_eq!(stderr.matches("host+checks:web-02 ").count(), 1, "{stderr}");
    // The other worker compiled what the host read last time while the host evaluated
    // (how much of it depends on timing); the results above are the same either way.
    assert_eq!(stderr.matches("prefetch compiled ").count(), 1, "{stderr}");
    let used: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix("tests used the snapshots of ")).collect();
    assert!(used.contains(&"web-02"), "{stderr}");
    assert!(used.iter().any(|hosts| hosts.split(", ").count() == 25), "{stderr}");
    assert!(!stderr.contains("lacked a value"), "{stderr}");
    // Back as it was: everything passed before with these inputs.
    std::fs::write(&host, text).expect("write");
    let (records, stderr, code) = test_json(&repo, &["--changed", "--builder", "none"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(records.iter().all(|r| r["status"] == "skip"), "{records:?}");
}

/// A test about several hosts is evaluated with snapshots of the hosts' values taken after
/// an earlier run, and a snapshot is used only while everything its evaluation read is
/// unchanged: a value that only a test forces, read from a file the host's own evaluation
/// never reads, changes the test's result when that file changes. A test that forces what
/// no snapshot holds is evaluated again without them, to the right result.
#[test]
fn tests_use_snapshots_of_hosts_and_never_a_stale_one() {
    let repo = repo("snapshots");
    let write = |file: &str, text: &str| std::fs::write(repo.join(file), text).expect("write");
    write(
        "hosts/web-01.nix",
        r#"{ lib, ... }:
{
  imports = [ ../roles/web.nix ];
  options.notes.motd = lib.mkOption { type = lib.types.str; };
  config.notes.motd = builtins.readFile ../motd.txt;
}
"#,
    );
    write("motd.txt", "hello\n");
    let extra = r#"{ lib, hosts }:
{
  testMotd = { expr = hosts.web-01.config.notes.motd; expected = "hello\n"; };
  testMotdAndWorkers = {
    expr = [ hosts.web-01.config.notes.motd hosts.web-02.config.services.web.workerProcesses ];
    expected = [ "hello\n" 16 ];
  };
}
"#;
    write("tests/extra.nix", extra);
    let default = std::fs::read_to_string(repo.join("tests/default.nix")).expect("read");
    write(
        "tests/default.nix",
        &default.replace("  hosts = import", "  extra = import ./extra.nix { inherit lib hosts; };\n  hosts = import"),
    );
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "motd"]);
    let changed = |expected_code: i32| {
        let (records, stderr, code) = changed_traced(&repo, &["--kind", "unit"]);
        assert_eq!(code, Some(expected_code), "{stderr}");
        let mut ran: Vec<(String, String)> = records
            .iter()
            .filter(|r| r["status"] != "skip")
            .map(|r| {
                (
                    r["name"].as_str().unwrap_or_default().to_string(),
                    r["status"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>();
        ran.sort();
        (ran, stderr)
    };
    let (records, stderr, code) = test_json(&repo, &["--builder", "none", "--kind", "unit"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(with_status(&records, "pass").len(), 42, "{records:?}");

    // The tests change, the hosts do not: both hosts come from their snapshots.
    write("tests/extra.nix", &format!("# reworded\n{extra}"));
    let (ran, stderr) = changed(0);
    let pass = |name: &str| (format!("extra.{name}"), "pass".to_string());
    assert_eq!(ran, vec![pass("testMotd"), pass("testMotdAndWorkers")], "{stderr}");
    assert!(stderr.contains("used the snapshots of web-01, web-02"), "{stderr}");

    // The file only the tests' value reads changes: web-01's snapshot no longer holds.
    write("motd.txt", "changed\n");
    let (ran, stderr) = changed(1);
    let names: Vec<&str> = ran.iter().filter(|(_, s)| s == "fail").map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["extra.testMotd", "extra.testMotdAndWorkers"], "{stderr}");
    assert!(stderr.contains("used the snapshots of web-02") && !stderr.contains("web-01, web-02"), "{stderr}");
    // Back as it was: both passed before with these inputs.
    write("motd.txt", "hello\n");
    let (ran, stderr) = changed(0);
    assert!(ran.is_empty(), "{ran:?} {stderr}");

    // A test that forces what no snapshot holds: evaluated again without them.
    write(
        "tests/extra.nix",
        &extra.replace(
            "testMotd = {",
            "testTlsPath = { expr = hosts.web-02.config.age.secrets.tls-shop.path; expected = \"/run/secrets/tls-shop\"; };\n  testMotd = {",
        ),
    );
    let (ran, stderr) = changed(0);
    assert!(ran.contains(&pass("testTlsPath")), "{ran:?} {stderr}");
    assert!(stderr.contains("lacked a value"), "{stderr}");
    // Its snapshot was taken again with what that test forced: no miss the next time.
    let text = std::fs::read_to_string(repo.join("tests/extra.nix")).expect("read");
    write("tests/extra.nix", &format!("# reworded again\n{text}"));
    let (ran, stderr) = changed(0);
    assert_eq!(ran.len(), 3, "{ran:?} {stderr}");
    assert!(!stderr.contains("lacked a value") && stderr.contains("used the snapshots of web-01, web-02"), "{stderr}");
}

/// The Nix files of the fleet listed in the cache's compile hint, checked to be what a
/// hint holds: its header first, then relative `.nix` paths.
fn compile_hint(repo: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(repo.join(".nxe/compile-hint")).expect("the compile hint beside the cache");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("nxe compile hint 1"), "{text}");
    let files: Vec<String> = lines.map(str::to_string).collect();
    assert!(files.iter().all(|f| f.ends_with(".nix") && !f.starts_with('/') && !f.contains("..")), "{files:?}");
    files
}

/// A run leaves beside the cache the Nix files its units read, those read by most units
/// first; the next run compiles them while it opens the cache. The list is only a hint: a
/// damaged one, or one naming files outside the repository, is ignored, the results are the
/// same, and the run writes a sound one again.
#[test]
fn the_files_to_compile_first_are_listed_beside_the_cache_and_a_damaged_list_is_ignored() {
    let repo = repo("compile-hint");
    let (_, stderr, code) = test_json(&repo, &["--builder", "none"]);
    assert_eq!(code, Some(0), "{stderr}");
    let files = compile_hint(&repo);
    let position = |file: &str| files.iter().position(|f| f == file);
    // Every host reads the fleet's lib; one host's own file is read by fewer units.
    assert!(position("hosts/web-02.nix").is_some(), "{files:?}");
    assert!(position("lib/default.nix") < position("hosts/web-02.nix"), "{files:?}");

    let host = repo.join("hosts/web-02.nix");
    let text = std::fs::read_to_string(&host).expect("read");
    let changed = |comment: &str| {
        std::fs::write(&host, format!("{text}# {comment}\n")).expect("write");
        let (records, stderr, code) = changed_traced(&repo, &["-j", "2"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(with_status(&records, "fail").is_empty(), "{records:?}");
        assert_eq!(stderr.matches("host+checks:web-02 ").count(), 1, "{stderr}");
        stderr
    };
    // A sound list: a worker compiles from it from the start (how much depends on timing).
    // It lists every file the host read, so it is not written again.
    let written = || std::fs::metadata(repo.join(".nxe/compile-hint")).and_then(|m| m.modified()).expect("stat");
    let before = written();
    let stderr = changed("first edit");
    assert_eq!(stderr.matches("head start compiled ").count(), 1, "{stderr}");
    assert_eq!(written(), before, "a list naming every file read is kept as it is");
    // A list that names nothing sound: no head start, the same results.
    let damaged = "nxe compile hint 1\n/etc/hosts.nix\n../outside.nix\nhosts/../../x.nix\n./hosts/web-02.nix\n\n";
    std::fs::write(repo.join(".nxe/compile-hint"), damaged).expect("write");
    let stderr = changed("second edit");
    assert_eq!(stderr.matches("head start compiled ").count(), 0, "{stderr}");
    let sorted = |mut files: Vec<String>| {
        files.sort();
        files
    };
    assert_eq!(sorted(compile_hint(&repo)), sorted(files.clone()), "the run writes a sound list again");
    // Not a list at all: ignored the same way.
    std::fs::write(repo.join(".nxe/compile-hint"), [0xff_u8, 0, 1, 2]).expect("write");
    let stderr = changed("third edit");
    assert_eq!(stderr.matches("head start compiled ").count(), 0, "{stderr}");
    assert_eq!(sorted(compile_hint(&repo)), sorted(files.clone()));
    // A named pipe on the list is not opened (it would wait for a writer): the run ends.
    let pipe = repo.join(".nxe/pipe.nix");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status().expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let mut listed = "nxe compile hint 1\n.nxe/pipe.nix\n".to_string();
    listed.extend(files.iter().map(|file| format!("{file}\n")));
    std::fs::write(repo.join(".nxe/compile-hint"), listed).expect("write");
    std::fs::write(&host, format!("{text}# fourth edit\n")).expect("write");
    let mut child = nxe()
        .args(["test", "--json", "--changed", "--builder", "none", "-j", "2", "--repo"])
        .arg(&repo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run nxe test");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nxe test") {
            break Some(status);
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.and_then(|s| s.code()), Some(0), "the run with a named pipe on the list did not end well");
}

#[test]
fn killed_and_concurrent_test_runs_leave_a_sound_cache_and_keep_what_they_wrote() {
    let repo = repo("kill");
    let dir = repo.parent().map(Path::to_path_buf).expect("scratch directory");
    let command = |cache: &Path| {
        let mut command = nxe();
        command.args(["test", "--json", "--builder", "none", "--cache"]).arg(cache).arg("--repo").arg(&repo);
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        command
    };
    let verify = |cache: &Path, what: &str| {
        let output = nxe().args(["cache", "verify", "--cache"]).arg(cache).output().expect("run nxe cache verify");
        assert!(
            output.status.success(),
            "{what}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    // How long a cold run takes here, to spread the kills over it.
    let started = std::time::Instant::now();
    let cold = command(&dir.join("timing-cache")).output().expect("run nxe test");
    assert!(cold.status.success(), "{}", String::from_utf8_lossy(&cold.stderr));
    let span = started.elapsed().as_millis().max(20) as u64;
    // Killed at any point, a run leaves the cache sound; the next run goes on from what the
    // killed ones wrote (units are written while a run goes on).
    let cache = dir.join("cache");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..10 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let delay = (seed >> 33) % span;
        let mut child = command(&cache).spawn().expect("start nxe test");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        verify(&cache, &format!("round {round}, killed after {delay} ms"));
    }
    // Two runs at once on the same cache both pass.
    let (first, second) = (command(&cache).spawn().expect("start"), command(&cache).spawn().expect("start"));
    for (name, child) in [("first", first), ("second", second)] {
        let output = child.wait_with_output().expect("wait for nxe test");
        assert_eq!(output.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        let records: Vec<Value> =
            String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert_eq!(records.len(), 128, "{name}");
        assert!(with_status(&records, "fail").is_empty(), "{name}: {records:?}");
    }
    verify(&cache, "after two runs at once");
    // Everything they ran is remembered.
    let output = nxe()
        .args(["test", "--changed", "--builder", "none", "--cache"])
        .arg(&cache)
        .arg("--repo")
        .arg(&repo)
        .output()
        .expect("run nxe test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("nothing needs to run"), "{stderr}");
}
