//! `nxe impact` on the example fleet: the classic changes, each with a warm cache (filled at
//! the base revision) and a cold one, which must give the same answer. Which hosts and
//! checks changed is also computed without any cache, by evaluating both trees in full
//! (`nxe hosts`, `nxe graph`, `nxe eval -A tests`), and the impact must agree with it.

use nxe_e2e::{copy_dir, git, nxe, workspace};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The base repository (the fixture, committed), a cache filled at it, and what a full
/// evaluation says of it.
struct Base {
    repo: PathBuf,
    cache: PathBuf,
    truth: Truth,
}

/// What full evaluations say of a tree.
#[derive(Debug, PartialEq)]
struct Truth {
    hosts: BTreeMap<String, Value>,
    checks: BTreeMap<String, String>,
    tests: BTreeMap<String, Value>,
}

fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("impact-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn json_of(output: std::process::Output, what: &str) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn truth(repo: &Path) -> Truth {
    let hosts = json_of(
        nxe().args(["hosts", "--json", "--no-timings", "--repo"]).arg(repo).output().expect("run nxe hosts"),
        "nxe hosts",
    );
    let graph = json_of(
        nxe().args(["graph", "--format", "json", "--repo"]).arg(repo).output().expect("run nxe graph"),
        "graph",
    );
    let tests = json_of(
        nxe().args(["eval", "--strict", "--json", "-A", "tests"]).arg(repo).output().expect("run nxe eval"),
        "nxe eval",
    );
    let mut flat = BTreeMap::new();
    flatten_tests(&tests, &mut Vec::new(), &mut flat);
    Truth {
        hosts: hosts["hosts"].as_object().map(|o| o.clone().into_iter().collect()).unwrap_or_default(),
        checks: graph["roots"]["check"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default(),
        tests: flat,
    }
}

fn flatten_tests(value: &Value, path: &mut Vec<String>, out: &mut BTreeMap<String, Value>) {
    let Some(object) = value.as_object() else { return };
    if object.contains_key("expr") && object.contains_key("expected") {
        out.insert(path.join("."), value.clone());
        return;
    }
    for (name, inner) in object {
        path.push(name.clone());
        flatten_tests(inner, path, out);
        path.pop();
    }
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = scratch("base");
        let repo = dir.join("repo");
        copy_dir(&workspace().join("fixtures/fleet"), &repo);
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "base"]);
        let cache = dir.join("cache");
        let primed = impact(&repo, &cache);
        assert_eq!(primed["changed_files"], serde_json::json!([]), "{primed}");
        assert_eq!(primed["unchanged_hosts"].as_array().map(Vec::len), Some(25), "{primed}");
        Base { truth: truth(&repo), repo, cache }
    })
}

fn impact(repo: &Path, cache: &Path) -> Value {
    let output = nxe()
        .args(["impact", "--json", "--repo"])
        .arg(repo)
        .arg("--cache")
        .arg(cache)
        .output()
        .expect("run nxe impact");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    json_of(output, "nxe impact")
}

fn names(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Applies `edit` to a copy of the base repository and returns the impact, after checking
/// that warm and cold caches agree and that the impact agrees with full evaluations.
fn case(name: &str, edit: impl Fn(&Path)) -> Value {
    let base = base();
    let dir = scratch(name);
    let repo = dir.join("repo");
    copy_dir(&base.repo, &repo);
    edit(&repo);
    let warm_cache = dir.join("warm");
    copy_dir(&base.cache, &warm_cache);
    let warm = impact(&repo, &warm_cache);
    let cold = impact(&repo, &dir.join("cold"));
    assert_eq!(warm, cold, "warm and cold caches disagree");
    // A second run answers from the cache alone, with the same answer.
    assert_eq!(impact(&repo, &warm_cache), warm);

    let head = truth(&repo);
    let (old, new) = (&base.truth, &head);
    let changed = |a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>| -> Vec<String> {
        b.iter().filter(|(k, v)| a.get(*k).is_some_and(|old| old != *v)).map(|(k, _)| k.clone()).collect()
    };
    let added = |a: &BTreeSet<&String>, b: &BTreeSet<&String>| -> Vec<String> {
        b.difference(a).map(|s| s.to_string()).collect()
    };
    let host_keys = (old.hosts.keys().collect::<BTreeSet<_>>(), new.hosts.keys().collect::<BTreeSet<_>>());
    assert_eq!(names(&warm["changed_hosts"]), changed(&old.hosts, &new.hosts), "changed hosts: {warm}");
    assert_eq!(names(&warm["added_hosts"]), added(&host_keys.0, &host_keys.1), "added hosts: {warm}");
    assert_eq!(names(&warm["removed_hosts"]), added(&host_keys.1, &host_keys.0), "removed hosts: {warm}");
    if new.hosts.values().all(|h| h["error"].is_null()) {
        let checks_old: BTreeMap<String, Value> =
            old.checks.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        let checks_new: BTreeMap<String, Value> =
            new.checks.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        let keys = (checks_old.keys().collect::<BTreeSet<_>>(), checks_new.keys().collect::<BTreeSet<_>>());
        assert_eq!(names(&warm["changed_checks"]), changed(&checks_old, &checks_new), "changed checks: {warm}");
        assert_eq!(names(&warm["added_checks"]), added(&keys.0, &keys.1), "added checks: {warm}");
        assert_eq!(names(&warm["removed_checks"]), added(&keys.1, &keys.0), "removed checks: {warm}");
    }
    let test_keys = (old.tests.keys().collect::<BTreeSet<_>>(), new.tests.keys().collect::<BTreeSet<_>>());
    let mut changed_tests = changed(&old.tests, &new.tests);
    changed_tests.extend(added(&test_keys.0, &test_keys.1));
    changed_tests.sort();
    assert_eq!(names(&warm["changed_tests"]), changed_tests, "changed tests: {warm}");
    warm
}

fn edit_file(repo: &Path, file: &str, from: &str, to: &str) {
    let path = repo.join(file);
    let text = std::fs::read_to_string(&path).expect("read fixture file");
    assert!(text.contains(from), "{file} has no '{from}'");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write fixture file");
}

fn append(repo: &Path, file: &str, text: &str) {
    let path = repo.join(file);
    let mut contents = std::fs::read_to_string(&path).expect("read fixture file");
    contents.push_str(text);
    std::fs::write(&path, contents).expect("write fixture file");
}

const WEB_HOSTS: [&str; 8] = ["web-01", "web-02", "web-03", "web-04", "web-05", "web-06", "web-07", "web-08"];

fn all_hosts() -> Vec<String> {
    base().truth.hosts.keys().cloned().collect()
}

#[test]
fn a_comment_re_evaluates_the_host_that_reads_it_and_changes_nothing() {
    let impact = case("comment", |repo| append(repo, "hosts/web-01.nix", "# moved to rack 4\n"));
    assert_eq!(names(&impact["changed_files"]), list(&["hosts/web-01.nix"]));
    assert_eq!(names(&impact["reevaluated_hosts"]), list(&["web-01"]));
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["unchanged_hosts"]).len(), 25);
    assert_eq!(names(&impact["changed_checks"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_tests"]), Vec::<String>::new());
}

#[test]
fn whitespace_in_a_shared_role_re_evaluates_its_hosts_and_changes_nothing() {
    let impact = case("whitespace", |repo| {
        edit_file(repo, "roles/cache.nix", "  services.cache = {", "\n\n  services.cache  =  {")
    });
    assert_eq!(names(&impact["reevaluated_hosts"]), list(&["cache-01", "cache-02"]));
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_checks"]), Vec::<String>::new());
}

#[test]
fn one_hosts_file_changes_that_host_its_checks_and_its_test() {
    let impact = case("host", |repo| edit_file(repo, "hosts/web-02.nix", "lib.mkForce 16", "lib.mkForce 24"));
    assert_eq!(names(&impact["reevaluated_hosts"]), list(&["web-02"]));
    assert_eq!(names(&impact["changed_hosts"]), list(&["web-02"]));
    assert_eq!(names(&impact["changed_checks"]), list(&["web-02.vm-test"]));
    assert_eq!(names(&impact["changed_tests"]), list(&["hosts.web.testForcedWorkers"]));
}

#[test]
fn a_role_used_by_several_hosts_changes_all_of_them() {
    let impact = case("role", |repo| edit_file(repo, "roles/cache.nix", "\"8gb\"", "\"12gb\""));
    assert_eq!(names(&impact["reevaluated_hosts"]), list(&["cache-01", "cache-02"]));
    assert!(!names(&impact["changed_hosts"]).is_empty());
    assert!(names(&impact["changed_hosts"]).iter().all(|h| h.starts_with("cache-")), "{impact}");
}

#[test]
fn the_backup_modules_default_re_evaluates_every_host() {
    let impact = case("backup-default", |repo| {
        edit_file(repo, "modules/backup.nix", "default = top.backup.schedule;", "default = \"weekly\";")
    });
    assert_eq!(names(&impact["reevaluated_hosts"]), all_hosts());
    assert!(!names(&impact["changed_hosts"]).is_empty(), "{impact}");
}

#[test]
fn a_file_the_apps_filter_drops_re_evaluates_nothing() {
    let impact = case("dropped", |repo| append(repo, "apps/storefront/src/README.md", "\nMore notes.\n"));
    assert_eq!(names(&impact["changed_files"]), list(&["apps/storefront/src/README.md"]));
    assert_eq!(names(&impact["reevaluated_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_tests"]), Vec::<String>::new());
}

#[test]
fn a_file_the_apps_filter_keeps_changes_the_web_hosts() {
    let impact = case("kept", |repo| append(repo, "apps/storefront/src/server.sh", "\n# tuned\n"));
    let web = WEB_HOSTS.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&impact["reevaluated_hosts"]), web);
    assert_eq!(names(&impact["changed_hosts"]), web);
}

#[test]
fn a_test_file_only_changes_tests() {
    let impact = case("test-file", |repo| edit_file(repo, "tests/hosts.nix", "expected = 16;", "expected = 17;"));
    assert_eq!(names(&impact["reevaluated_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_tests"]), list(&["hosts.web.testForcedWorkers"]));
}

#[test]
fn a_failing_assertion_is_reported_with_its_host() {
    let impact = case("assertion", |repo| {
        edit_file(
            repo,
            "hosts/web-03.nix",
            "imports = [",
            "age.secrets.made-up = { file = \"secrets/made-up.age\"; };\n  imports = [",
        )
    });
    assert_eq!(names(&impact["changed_hosts"]), list(&["web-03"]));
    let failing = impact["failing_assertions"].as_array().cloned().unwrap_or_default();
    assert!(!failing.is_empty(), "{impact}");
    assert!(failing.iter().all(|f| f["host"] == "web-03"), "{impact}");
    assert!(failing.iter().any(|f| f["message"].as_str().is_some_and(|m| m.contains("made-up"))), "{impact}");
    let errors = impact["errors"].as_array().cloned().unwrap_or_default();
    assert!(errors.iter().any(|e| e["kind"] == "host" && e["name"] == "web-03"), "{impact}");
}

#[test]
fn a_new_host_is_added_with_its_checks() {
    let impact = case("new-host", |repo| {
        std::fs::copy(repo.join("hosts/web-08.nix"), repo.join("hosts/web-09.nix")).expect("copy host");
        edit_file(
            repo,
            "inventory.nix",
            "  web-05 =",
            "  web-09 = host \"web\" \"production\" \"ams1\" \"10.20.1.14\";\n  web-05 =",
        );
    });
    assert_eq!(names(&impact["added_hosts"]), list(&["web-09"]));
    assert_eq!(names(&impact["added_checks"]), list(&["web-09.vm-test"]));
    // Every host is built from the inventory, so all of them change (as full evaluations
    // of both trees confirm in `case`).
    assert_eq!(names(&impact["changed_hosts"]), all_hosts());
    // Every host lists the hosts directory (the fleet finds its hosts there).
    let mut everyone = all_hosts();
    everyone.push("web-09".into());
    everyone.sort();
    assert_eq!(names(&impact["reevaluated_hosts"]), everyone);
}

#[test]
fn a_deleted_host_is_removed_with_its_checks() {
    let impact =
        case("deleted-host", |repo| std::fs::remove_file(repo.join("hosts/worker-08.nix")).expect("remove host"));
    assert_eq!(names(&impact["removed_hosts"]), list(&["worker-08"]));
    assert_eq!(names(&impact["removed_checks"]), list(&["worker-08.backup-restore", "worker-08.vm-test"]));
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["unchanged_hosts"]).len(), 24);
}

#[test]
fn explain_names_the_changed_file_and_derivation() {
    let dir = scratch("explain");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    edit_file(&repo, "hosts/web-02.nix", "lib.mkForce 16", "lib.mkForce 24");
    let output = nxe()
        .args(["impact", "--explain", "web-02", "--json", "--repo"])
        .arg(&repo)
        .output()
        .expect("run nxe impact --explain");
    let explanation = json_of(output, "explain");
    assert_eq!(names(&explanation["changed_inputs"]), list(&["hosts/web-02.nix"]));
    let roots = explanation["diff"]["roots"].as_array().cloned().unwrap_or_default();
    assert_eq!(roots.len(), 1, "{explanation}");
    assert_eq!(roots[0]["status"], "changed", "{explanation}");
    assert!(roots[0]["causes"].as_array().is_some_and(|c| !c.is_empty()), "{explanation}");
}

/// With a warm cache, `--explain` takes both sides' derivations from it (nothing is
/// evaluated) and explains exactly as an evaluation of both sides does.
#[test]
fn explain_from_the_cache_is_the_same_and_evaluates_nothing() {
    let dir = scratch("explain-cached");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    let cache = dir.join("cache");
    let explain = |cache: &Path| {
        nxe()
            .args(["impact", "--explain", "web-02", "--json", "--repo"])
            .arg(&repo)
            .arg("--cache")
            .arg(cache)
            .env("NXE_TRACE_UNITS", "1")
            .output()
            .expect("run nxe impact --explain")
    };
    // Fill the cache at the base revision, then change the host.
    impact(&repo, &cache);
    edit_file(&repo, "hosts/web-02.nix", "lib.mkForce 16", "lib.mkForce 24");
    impact(&repo, &cache);
    let cold = explain(&dir.join("empty-cache"));
    let cold_trace = String::from_utf8_lossy(&cold.stderr).into_owned();
    assert!(cold_trace.contains("unit host:web-02"), "{cold_trace}");
    let warm = explain(&cache);
    let warm_trace = String::from_utf8_lossy(&warm.stderr).into_owned();
    assert!(!warm_trace.contains("unit "), "evaluated with a warm cache: {warm_trace}");
    let (cold, warm) = (json_of(cold, "explain, cold"), json_of(warm, "explain, warm"));
    assert_eq!(names(&warm["changed_inputs"]), list(&["hosts/web-02.nix"]));
    assert_eq!(warm["diff"], cold["diff"]);
}

#[test]
fn ignored_files_count_as_unchanged() {
    let dir = scratch("ignore");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    append(&repo, "nxe.toml", "\n[impact]\nignore = [\"hosts/web-0[12].nix\"]\n");
    git(&repo, &["commit", "-q", "-a", "-m", "ignore web-01 and web-02"]);
    edit_file(&repo, "hosts/web-02.nix", "lib.mkForce 16", "lib.mkForce 24");
    let impact = impact(&repo, &dir.join("cache"));
    assert_eq!(names(&impact["changed_files"]), Vec::<String>::new());
    assert_eq!(names(&impact["ignored_files"]), list(&["hosts/web-02.nix"]));
    assert_eq!(names(&impact["reevaluated_hosts"]), Vec::<String>::new());
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new());
}

/// A new option, `system.configurationRevision`, that ends up in every host's top level
/// (through /etc/revision): what a flake sets to its own revision, so that it differs in
/// every commit.
const REVISION_MODULE: &str = r#"{ config, lib, ... }:
{
  options.system.configurationRevision = lib.mkOption {
    type = lib.types.str;
    default = "";
    description = "The revision of the repository the system was built from.";
  };
  config.environment.etc.revision.text = config.system.configurationRevision;
}
"#;

/// A copy of the base repository whose hosts all set `system.configurationRevision` (to
/// `rev-1`, in the role every host imports), committed with that option declared noise,
/// and a cache filled at that commit.
fn revision_repo(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = scratch(name);
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    std::fs::write(repo.join("modules/revision.nix"), REVISION_MODULE).expect("write module");
    edit_file(&repo, "modules/default.nix", "    ./system.nix\n", "    ./system.nix\n    ./revision.nix\n");
    edit_file(
        &repo,
        "roles/common.nix",
        "  time.timeZone = \"UTC\";\n",
        "  time.timeZone = \"UTC\";\n  system.configurationRevision = \"rev-1\";\n",
    );
    append(&repo, "nxe.toml", "\n[impact]\nignore = [\"config.system.configurationRevision\"]\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "a revision in every host, declared noise"]);
    let cache = dir.join("warm");
    let primed = impact(&repo, &cache);
    assert_eq!(names(&primed["unchanged_hosts"]).len(), 25, "{primed}");
    assert_eq!(names(&primed["ignored_hosts"]), Vec::<String>::new(), "{primed}");
    (dir, repo, cache)
}

/// The impact of the work tree of `repo`, with the warm `cache` and a cold one, which must
/// agree (and a second warm run, from the cache alone).
fn warm_and_cold(dir: &Path, repo: &Path, cache: &Path) -> Value {
    let warm = impact(repo, cache);
    assert_eq!(impact(repo, &dir.join("cold")), warm, "warm and cold caches disagree");
    assert_eq!(impact(repo, cache), warm);
    warm
}

#[test]
fn hosts_changed_only_by_an_ignored_option_are_ignored_and_a_real_change_is_not() {
    let (dir, repo, cache) = revision_repo("ignored-option");
    let before = truth(&repo);
    edit_file(&repo, "roles/common.nix", "\"rev-1\"", "\"rev-2\"");
    edit_file(&repo, "hosts/web-02.nix", "lib.mkForce 16", "lib.mkForce 24");
    let after = truth(&repo);
    // The revision reaches every top level: without the ignore, every host changed.
    let differing: Vec<String> = after
        .hosts
        .iter()
        .filter(|(name, host)| before.hosts.get(*name) != Some(*host))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(differing, all_hosts());

    let impact = warm_and_cold(&dir, &repo, &cache);
    assert_eq!(names(&impact["changed_files"]), list(&["hosts/web-02.nix", "roles/common.nix"]));
    assert_eq!(names(&impact["changed_hosts"]), list(&["web-02"]), "{impact}");
    let others: Vec<String> = all_hosts().into_iter().filter(|h| h != "web-02").collect();
    assert_eq!(names(&impact["ignored_hosts"]), others, "{impact}");
    assert_eq!(names(&impact["unchanged_hosts"]), Vec::<String>::new(), "{impact}");
    assert_eq!(names(&impact["changed_checks"]), list(&["web-02.vm-test"]), "{impact}");
    let ignored_checks = names(&impact["ignored_checks"]);
    assert!(ignored_checks.contains(&"web-01.vm-test".to_string()), "{impact}");
    assert!(ignored_checks.contains(&"db-01.backup-restore".to_string()), "{impact}");
    assert!(ignored_checks.iter().all(|c| !c.starts_with("web-02.")), "{impact}");
    assert_eq!(names(&impact["changed_tests"]), list(&["hosts.web.testForcedWorkers"]));
}

#[test]
fn a_change_to_the_checks_themselves_is_not_noise_beside_an_ignored_option() {
    let (dir, repo, cache) = revision_repo("ignored-option-checks");
    edit_file(&repo, "roles/common.nix", "\"rev-1\"", "\"rev-2\"");
    edit_file(&repo, "checks/default.nix", "printf 'boot %s with %s\\n'", "printf 'booting %s with %s\\n'");
    let impact = warm_and_cold(&dir, &repo, &cache);
    assert_eq!(names(&impact["changed_hosts"]), Vec::<String>::new(), "{impact}");
    assert_eq!(names(&impact["ignored_hosts"]), all_hosts(), "{impact}");
    let vm_tests: Vec<String> = all_hosts().iter().map(|h| format!("{h}.vm-test")).collect();
    let changed_checks = names(&impact["changed_checks"]);
    assert!(vm_tests.iter().all(|c| changed_checks.contains(c)), "{impact}");
    assert_eq!(names(&impact["ignored_checks"]), Vec::<String>::new(), "{impact}");
}

#[test]
fn an_ignore_entry_that_is_neither_a_glob_nor_an_option_path_is_a_config_error() {
    let dir = scratch("bad-ignore");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    let config = std::fs::read_to_string(repo.join("nxe.toml")).expect("read nxe.toml");
    for entry in ["system.configurationRevision", "config.", "config.system..configurationRevision", "config.\"open"] {
        let toml_entry = format!("'{entry}'");
        std::fs::write(repo.join("nxe.toml"), format!("{config}\n[impact]\nignore = [{toml_entry}]\n"))
            .expect("write nxe.toml");
        let output = nxe()
            .args(["impact", "--json", "--repo"])
            .arg(&repo)
            .arg("--cache")
            .arg(dir.join("cache"))
            .output()
            .expect("run nxe impact");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{entry}: {stderr}");
        assert!(stderr.contains(&format!("'{entry}'")), "{entry}: {stderr}");
        assert!(output.stdout.is_empty(), "{entry}: {}", String::from_utf8_lossy(&output.stdout));
    }
}

#[test]
fn killing_nxe_during_cache_writes_never_corrupts_the_cache() {
    let dir = scratch("kill");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    edit_file(&repo, "roles/cache.nix", "\"8gb\"", "\"12gb\"");
    let expected = impact(&repo, &dir.join("reference-cache"));
    let cache = dir.join("cache");
    // How long a cold run takes here, to spread the kills over it.
    let started = std::time::Instant::now();
    let _ = impact(&repo, &dir.join("timing-cache"));
    let span = started.elapsed().as_millis().max(20) as u64;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..12 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let delay = (seed >> 33) % span;
        let mut child = nxe()
            .args(["impact", "--json", "--repo"])
            .arg(&repo)
            .arg("--cache")
            .arg(&cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nxe impact");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let verify = nxe().args(["cache", "verify", "--cache"]).arg(&cache).output().expect("run nxe cache verify");
        assert!(
            verify.status.success(),
            "round {round} (killed after {delay} ms): {}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
    }
    assert_eq!(impact(&repo, &cache), expected);
}

#[test]
fn two_processes_share_one_cache() {
    let dir = scratch("concurrent");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    append(&repo, "hosts/db-01.nix", "# resized\n");
    let cache = dir.join("cache");
    let spawn = || {
        nxe()
            .args(["impact", "--json", "--repo"])
            .arg(&repo)
            .arg("--cache")
            .arg(&cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start nxe impact")
    };
    let (first, second) = (spawn(), spawn());
    let first = json_of(first.wait_with_output().expect("wait"), "first");
    let second = json_of(second.wait_with_output().expect("wait"), "second");
    assert_eq!(first, second);
    assert_eq!(names(&first["reevaluated_hosts"]), list(&["db-01"]));
    let verify = nxe().args(["cache", "verify", "--cache"]).arg(&cache).output().expect("run nxe cache verify");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[test]
fn a_corrupt_cache_is_reported_in_one_line_and_rebuilt() {
    let dir = scratch("corrupt");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    append(&repo, "hosts/db-02.nix", "# noted\n");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).expect("cache directory");
    std::fs::write(cache.join("cache.db"), b"this is not a database, it is a note to self\n".repeat(100))
        .expect("write garbage");
    let output =
        nxe().args(["impact", "--json", "--repo"]).arg(&repo).arg("--cache").arg(&cache).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().filter(|l| l.contains("rebuilding")).count(), 1, "{stderr}");
    let impact = json_of(output, "impact");
    assert_eq!(names(&impact["reevaluated_hosts"]), list(&["db-02"]));
    let again = nxe().args(["impact", "--json", "--repo"]).arg(&repo).arg("--cache").arg(&cache).output().expect("run");
    assert!(String::from_utf8_lossy(&again.stderr).is_empty(), "{}", String::from_utf8_lossy(&again.stderr));
}

#[test]
fn units_over_the_memory_budget_are_evaluated_again_alone_with_the_same_answer() {
    let dir = scratch("budget");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    edit_file(&repo, "roles/cache.nix", "\"8gb\"", "\"12gb\"");
    let expected = impact(&repo, &dir.join("unlimited"));
    let output = nxe()
        .args(["impact", "--json", "--max-memory", "4M", "--repo"])
        .arg(&repo)
        .arg("--cache")
        .arg(dir.join("budget"))
        .output()
        .expect("run nxe impact");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json_of(output, "impact with a budget"), expected);
}

/// After one host's change, the tests about every host take the other hosts' values from
/// the snapshots the base's evaluation left, and the changed host's from the snapshot its
/// own unit took in this run: no test evaluates a host (the classic cases above check that
/// the answers equal a cold cache's and full evaluations').
#[test]
fn tests_about_every_host_use_the_other_hosts_snapshots() {
    let base = base();
    let dir = scratch("snapshots");
    let repo = dir.join("repo");
    copy_dir(&base.repo, &repo);
    edit_file(&repo, "hosts/web-02.nix", "lib.mkForce 16", "lib.mkForce 24");
    let cache = dir.join("warm");
    copy_dir(&base.cache, &cache);
    let output = nxe()
        .args(["impact", "--json", "-j", "2", "--repo"])
        .arg(&repo)
        .arg("--cache")
        .arg(&cache)
        .env("NXE_TRACE_UNITS", "1")
        .output()
        .expect("run nxe impact");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let impact = json_of(output, "nxe impact");
    assert_eq!(names(&impact["changed_tests"]), list(&["hosts.web.testForcedWorkers"]));
    // Another worker compiled what web-02 read last time while web-02 evaluated.
    assert_eq!(stderr.matches("prefetch compiled ").count(), 1, "{stderr}");
    let used: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix("tests used the snapshots of ")).collect();
    assert!(
        used.iter().any(|hosts| hosts.split(", ").map(String::from).collect::<Vec<_>>() == all_hosts()),
        "{stderr}"
    );
    // web-02's snapshot from the base no longer holds: the one used is this run's.
    assert_eq!(stderr.matches("unit host+checks:web-02 ").count(), 1, "{stderr}");
    assert!(!stderr.contains("lacked a value"), "{stderr}");
}

/// The cache's compiled files of the repository's Nix files, with their inode numbers (a
/// rewritten entry is a new file, renamed into place).
fn compiled_entries(cache: &Path) -> BTreeMap<PathBuf, (u64, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let entries =
        std::fs::read_dir(cache.join("code")).map(|dir| dir.flatten().collect::<Vec<_>>()).unwrap_or_default();
    entries
        .into_iter()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "nxc"))
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read compiled file");
            let inode = std::fs::metadata(&path).expect("compiled file").ino();
            (path, (inode, bytes))
        })
        .collect()
}

fn remove_database(cache: &Path) {
    for name in ["cache.db", "cache.db-wal", "cache.db-shm"] {
        let _ = std::fs::remove_file(cache.join(name));
    }
}

#[test]
fn compiled_files_kept_in_the_cache_give_the_same_answers_and_damaged_ones_are_compiled_again() {
    let dir = scratch("compiled");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    // An error inside a kept file must point at the same place when its tree is decoded.
    edit_file(
        &repo,
        "hosts/db-02.nix",
        "imports = [ ../roles/database.nix ];",
        "imports = [ ../roles/database.nix ] ++ (1 + \"x\");",
    );
    let cache = dir.join("cache");
    let compiled = impact(&repo, &cache);
    let entries = compiled_entries(&cache);
    // The files the run compiles are kept (over 40; how many more depends on how far an idle
    // thread got compiling files ahead of their import, which varies with timing).
    assert!(entries.len() >= 30, "only {} compiled files kept", entries.len());
    // `+` reports its error at the operand that failed (`"x"`), as the reference does.
    let location = format!("{}:5:47", repo.join("hosts/db-02.nix").display());
    assert!(compiled.to_string().contains(&location), "no error at {location}: {compiled}");

    // Without the results, the hosts are evaluated again from the kept files (and from more
    // files: a cold run evaluates only the changed host in the work tree).
    remove_database(&cache);
    assert_eq!(impact(&repo, &cache), compiled);
    let more = compiled_entries(&cache);
    for (path, entry) in &entries {
        assert_eq!(more.get(path), Some(entry), "{} was rewritten", path.display());
    }
    let entries = more;

    // Damaged entries are not trusted: the files are compiled again and the entries mended.
    for (path, (_, bytes)) in &entries {
        let mut damaged = bytes.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x5a;
        std::fs::write(path, damaged).expect("damage compiled file");
    }
    remove_database(&cache);
    assert_eq!(impact(&repo, &cache), compiled);
    let mended = compiled_entries(&cache);
    assert_eq!(mended.keys().collect::<Vec<_>>(), entries.keys().collect::<Vec<_>>());
    for (path, (inode, bytes)) in &entries {
        assert_eq!(&mended[path].1, bytes, "{} was not mended", path.display());
        assert_ne!(mended[path].0, *inode, "{} was not written again", path.display());
    }

    // `nxe cache clear` removes them.
    let cleared = nxe().args(["cache", "clear", "--cache"]).arg(&cache).output().expect("run nxe cache clear");
    assert!(cleared.status.success(), "{}", String::from_utf8_lossy(&cleared.stderr));
    assert!(!cache.join("code").exists());
}

/// A host that fetches its own repository with `builtins.fetchGit` (as `lib.fileset.gitTracked`
/// does) depends on every file git tracks, and on none it does not. The base side, evaluated
/// in a checkout of the commit, fetches that commit as the clean work tree would be fetched,
/// so what was cached there serves the work tree once it is clean again.
#[test]
fn a_host_that_fetches_its_repository_changes_with_any_tracked_file_only() {
    let dir = scratch("fetch-git");
    let repo = dir.join("repo");
    copy_dir(&base().repo, &repo);
    edit_file(
        &repo,
        "hosts/web-02.nix",
        "  services.storefront.workers = 12;\n",
        "  services.storefront.workers = 12;\n  environment.etc.\"source\".text = (builtins.fetchGit ../.).narHash;\n",
    );
    git(&repo, &["commit", "-q", "-am", "fetch the repository"]);
    let cache = dir.join("cache");
    append(&repo, "regen.sh", "# read by no host\n");
    for answer in [impact(&repo, &cache), impact(&repo, &dir.join("cold"))] {
        assert_eq!(names(&answer["changed_hosts"]), list(&["web-02"]), "{answer}");
        assert!(answer["failing_assertions"].as_array().is_some_and(Vec::is_empty), "{answer}");
    }
    git(&repo, &["checkout", "-q", "regen.sh"]);
    std::fs::write(repo.join("untracked.txt"), "not part of the source").expect("write");
    let answer = impact(&repo, &cache);
    assert_eq!(names(&answer["changed_files"]), list(&["untracked.txt"]), "{answer}");
    assert_eq!(names(&answer["changed_hosts"]), Vec::<String>::new(), "{answer}");
    let output = nxe()
        .args(["test", "--changed", "--builder", "none", "--repo"])
        .arg(&repo)
        .arg("--cache")
        .arg(&cache)
        .output()
        .expect("run nxe test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("FAIL"), "{stderr}");
}
