//! End-to-end runs of the fleet commands on a flake repository (`fixtures/flake`), compared
//! with drvPaths made by the reference Nix (`fixtures/flake/regen.sh`).
//!
//! A flake's source is what git tracks, so each test copies the fixture into a fresh git
//! repository, as the regeneration script does.

use nxe_e2e::{copy_dir, git, nxe, workspace};
use std::path::Path;

/// The fixture in a fresh git repository (every file added, nothing committed).
fn flake_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_dir(&workspace().join("fixtures/flake"), dir.path());
    for generated in ["expected-drvpaths.txt", "regen.sh"] {
        std::fs::remove_file(dir.path().join(generated)).expect("remove a generated file");
    }
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    dir
}

/// `ATTRPATH DRVPATH` lines of the reference.
fn expected(attr: &str) -> String {
    let text =
        std::fs::read_to_string(workspace().join("fixtures/flake/expected-drvpaths.txt")).expect("expected file");
    text.lines()
        .find_map(|line| line.strip_prefix(attr).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no expected drvPath for {attr}"))
        .to_string()
}

fn hosts_json(repo: &Path, extra: &[&str]) -> serde_json::Value {
    let output =
        nxe().args(["hosts", "--json", "--no-timings", "--repo"]).arg(repo).args(extra).output().expect("run nxe");
    assert!(output.status.success(), "nxe hosts failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn flake_hosts_match_the_reference() {
    let repo = flake_checkout();
    let json = hosts_json(repo.path(), &[]);
    for host in ["alpha", "beta"] {
        assert_eq!(
            json["hosts"][host]["drvPath"].as_str(),
            Some(expected(&format!("nixosConfigurations.{host}")).as_str()),
            "{host}: {json}"
        );
        assert!(json["hosts"][host]["error"].is_null());
    }
}

#[test]
fn flake_checks_are_in_the_graph() {
    let repo = flake_checkout();
    let output = nxe().args(["graph", "--format", "json", "--repo"]).arg(repo.path()).output().expect("run nxe");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let text = json.to_string();
    assert!(text.contains(&expected("checks.x86_64-linux.alpha-boots")), "{text}");
    assert!(text.contains(&expected("nixosConfigurations.alpha")), "{text}");
}

#[test]
fn override_input_replaces_a_locked_input() {
    let repo = flake_checkout();
    let other = tempfile::tempdir().expect("temporary directory");
    copy_dir(&repo.path().join("dep"), other.path());
    std::fs::write(other.path().join("setup.sh"), "echo setting up differently\n").expect("write");
    let dep = other.path().to_string_lossy().into_owned();
    let json = hosts_json(repo.path(), &["--override-input", "dep", &dep, "alpha"]);
    assert_eq!(
        json["hosts"]["alpha"]["drvPath"].as_str(),
        Some(expected("override-dep:nixosConfigurations.alpha").as_str()),
        "{json}"
    );
}

#[test]
fn untracked_files_are_not_part_of_the_flake() {
    let repo = flake_checkout();
    // An untracked file changes nothing: the source is what git tracks.
    std::fs::write(repo.path().join("notes.txt"), "scratch\n").expect("write");
    let json = hosts_json(repo.path(), &[]);
    assert_eq!(json["hosts"]["alpha"]["drvPath"].as_str(), Some(expected("nixosConfigurations.alpha").as_str()));
}

#[test]
fn an_input_that_needs_the_network_is_named() {
    let repo = flake_checkout();
    let lock_path = repo.path().join("flake.lock");
    let mut lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock_path).expect("lock file")).expect("lock JSON");
    lock["nodes"]["assets"] = serde_json::json!({
        "flake": false,
        "locked": { "type": "github", "owner": "example", "repo": "assets", "rev": "0123456789abcdef0123456789abcdef01234567",
                    "narHash": "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
        "original": { "type": "github", "owner": "example", "repo": "assets" }
    });
    std::fs::write(&lock_path, lock.to_string()).expect("write lock");
    let output = nxe().args(["hosts", "--repo"]).arg(repo.path()).output().expect("run nxe");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("flake input 'assets' (github:example/assets)"), "{stderr}");
    assert!(stderr.contains("--override-input assets"), "{stderr}");
}

/// Locks the `assets` input as a GitHub input whose `narHash` is that of the fixture's
/// `assets` directory, and puts a copy where the store would hold it: returns the store
/// directory and the copy.
fn lock_assets_in_store(repo: &Path, store: &Path) -> std::path::PathBuf {
    use nxe_store::{make_fixed_output_path, nar_hash_path, ContentAddressMethod, StoreDir};
    let assets = repo.join("assets");
    let (hash, _) = nar_hash_path(&assets).expect("NAR hash");
    let store_dir = StoreDir::new(&store.to_string_lossy()).expect("store directory");
    let path =
        make_fixed_output_path(ContentAddressMethod::Recursive, &hash, "source", &Default::default(), &store_dir)
            .expect("store path");
    let copy = std::path::PathBuf::from(store_dir.display_path(&path));
    copy_dir(&assets, &copy);
    let lock_path = repo.join("flake.lock");
    let mut lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock_path).expect("lock file")).expect("lock JSON");
    lock["nodes"]["assets"] = serde_json::json!({
        "flake": false,
        "locked": { "type": "github", "owner": "example", "repo": "assets", "rev": "0123456789abcdef0123456789abcdef01234567",
                    "lastModified": 1700000000, "narHash": hash.to_sri() },
        "original": { "type": "github", "owner": "example", "repo": "assets" }
    });
    std::fs::write(&lock_path, lock.to_string()).expect("write lock");
    copy
}

fn hosts_with_store(repo: &Path, store: &Path, extra: &[&str]) -> std::process::Output {
    nxe()
        .args(["hosts", "--json", "--no-timings", "--repo"])
        .arg(repo)
        .args(extra)
        .env("NIX_STORE_DIR", store)
        .output()
        .expect("run nxe")
}

#[test]
fn an_input_in_the_local_store_is_used_when_its_contents_match_the_lock() {
    let repo = flake_checkout();
    let store = tempfile::tempdir().expect("temporary directory");
    let store_dir = store.path().join("store");
    lock_assets_in_store(repo.path(), &store_dir);
    let from_store = hosts_with_store(repo.path(), &store_dir, &[]);
    assert!(
        from_store.status.success(),
        "{}{}",
        String::from_utf8_lossy(&from_store.stderr),
        String::from_utf8_lossy(&from_store.stdout)
    );
    // The same contents given directly (outside any git work tree) give the same store path,
    // so the same drvPaths.
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    copy_dir(&repo.path().join("assets"), elsewhere.path());
    let assets = elsewhere.path().to_string_lossy().into_owned();
    let overridden = hosts_with_store(repo.path(), &store_dir, &["--override-input", "assets", &assets]);
    assert!(overridden.status.success(), "{}", String::from_utf8_lossy(&overridden.stderr));
    assert_eq!(String::from_utf8_lossy(&from_store.stdout), String::from_utf8_lossy(&overridden.stdout));
    let json: serde_json::Value = serde_json::from_slice(&from_store.stdout).expect("JSON output");
    let drv = json["hosts"]["alpha"]["drvPath"].as_str().expect("a drvPath");
    assert!(drv.starts_with(&*store_dir.to_string_lossy()), "{drv}");
}

#[test]
fn an_input_in_the_local_store_that_does_not_match_its_hash_is_refused() {
    let repo = flake_checkout();
    let store = tempfile::tempdir().expect("temporary directory");
    let store_dir = store.path().join("store");
    let copy = lock_assets_in_store(repo.path(), &store_dir);
    std::fs::write(copy.join("motd"), "tampered\n").expect("write");
    let output = hosts_with_store(repo.path(), &store_dir, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("flake input 'assets'") && stderr.contains("but flake.lock expects sha256-"), "{stderr}");
}

#[test]
fn a_flake_in_a_subdirectory_of_its_repository_matches_the_reference() {
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_dir(&workspace().join("fixtures/flake-subdir/repo"), dir.path());
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    let text = std::fs::read_to_string(workspace().join("fixtures/flake-subdir/expected-drvpaths.txt"))
        .expect("expected file");
    let expected = text.strip_prefix("nixosConfigurations.solo ").expect("expected line").trim();
    let json = hosts_json(&dir.path().join("sub"), &[]);
    assert_eq!(json["hosts"]["solo"]["drvPath"].as_str(), Some(expected), "{json}");
}

/// `nxe impact --json` on a flake repository.
fn impact_json(repo: &Path) -> serde_json::Value {
    let output = nxe().args(["impact", "--json", "--repo"]).arg(repo).output().expect("run nxe impact");
    assert!(output.status.success(), "nxe impact failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn flake_impact_re_evaluates_every_host_on_any_tracked_change() {
    let repo = flake_checkout();
    git(repo.path(), &["-c", "user.name=nxe", "-c", "user.email=nxe@example.invalid", "commit", "-q", "-m", "base"]);
    let unchanged = impact_json(repo.path());
    assert_eq!(unchanged["reevaluated_hosts"], serde_json::json!([]), "{unchanged}");
    assert_eq!(unchanged["unchanged_hosts"], serde_json::json!(["alpha", "beta"]), "{unchanged}");
    // A comment in one host's file: the flake's source path changes, so every host is
    // evaluated again; the reference Nix's drvPaths say whether they change.
    let file = repo.path().join("hosts/alpha.nix");
    let mut text = std::fs::read_to_string(&file).expect("read host");
    text.push_str("# a comment\n");
    std::fs::write(&file, text).expect("write host");
    let impact = impact_json(repo.path());
    assert_eq!(impact["changed_files"], serde_json::json!(["hosts/alpha.nix"]), "{impact}");
    assert_eq!(impact["reevaluated_hosts"], serde_json::json!(["alpha", "beta"]), "{impact}");
    let before = hosts_json(repo.path(), &[]);
    git(repo.path(), &["stash", "-q"]);
    let base = hosts_json(repo.path(), &[]);
    git(repo.path(), &["stash", "pop", "-q"]);
    let changed: Vec<&str> = ["alpha", "beta"]
        .into_iter()
        .filter(|h| before["hosts"][*h]["drvPath"] != base["hosts"][*h]["drvPath"])
        .collect();
    assert_eq!(impact["changed_hosts"], serde_json::json!(changed), "{impact}");
}

/// `nxe impact --since REV --json` with the repository's default cache.
fn impact_since(repo: &Path, since: &str) -> serde_json::Value {
    let output = nxe().args(["impact", "--json", "--since", since, "--repo"]).arg(repo).output().expect("run nxe");
    assert!(output.status.success(), "nxe impact failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// The hosts whose drvPath differs between a git work tree at `rev` and the work tree.
fn truly_changed(repo: &Path, rev: &str) -> serde_json::Value {
    let old_tree = repo.join(".nxe-old-tree");
    git(repo, &["worktree", "add", "-q", "--detach", &old_tree.display().to_string(), rev]);
    let (old, new) = (hosts_json(&old_tree, &[]), hosts_json(repo, &[]));
    git(repo, &["worktree", "remove", "--force", &old_tree.display().to_string()]);
    let changed: Vec<&str> = ["alpha", "beta", "gamma"]
        .into_iter()
        .filter(|h| old["hosts"][*h]["drvPath"] != new["hosts"][*h]["drvPath"])
        .collect();
    serde_json::json!(changed)
}

/// A flake's `rev` changes with every commit, even one that changes no file: a host that
/// names it is changed by such a commit, a cached evaluation made before the commit is not
/// reused after it, and the base side is evaluated with its commit's `rev`, as a git work
/// tree at that commit is.
#[test]
fn flake_impact_sees_commits_through_rev() {
    let repo = flake_checkout();
    let repo = repo.path();
    let commit = |args: &[&str]| {
        let base = ["-c", "user.name=nxe", "-c", "user.email=nxe@example.invalid", "commit", "-q"];
        git(repo, &[&base[..], args].concat());
    };
    let flake = repo.join("flake.nix");
    let text = std::fs::read_to_string(&flake).expect("read flake.nix");
    let gamma = r#"nixosConfigurations = {
        gamma.config.system.build.toplevel = derivation {
          name = "gamma";
          system = "x86_64-linux";
          builder = "/bin/sh";
          args = [ "-c" "echo > $out" ];
          rev = self.rev or self.dirtyRev or "none";
        };"#;
    assert_eq!(text.matches("nixosConfigurations = {").count(), 1);
    std::fs::write(&flake, text.replacen("nixosConfigurations = {", gamma, 1)).expect("write flake.nix");
    git(repo, &["add", "-A"]);
    commit(&["-m", "base"]);
    let unchanged = impact_since(repo, "HEAD");
    assert_eq!(unchanged["changed_hosts"], serde_json::json!([]), "{unchanged}");
    // An empty commit: only gamma changes.
    commit(&["--allow-empty", "-m", "empty"]);
    let impact = impact_since(repo, "HEAD~1");
    assert_eq!(impact["changed_files"], serde_json::json!([]), "{impact}");
    assert_eq!(impact["changed_hosts"], serde_json::json!(["gamma"]), "{impact}");
    assert_eq!(impact["changed_hosts"], truly_changed(repo, "HEAD~1"), "{impact}");
    // A change evaluated while the tree is dirty, then committed: what the dirty tree gave
    // (gamma named `dirtyRev`) is not the answer for the commit.
    let file = repo.join("hosts/alpha.nix");
    let mut text = std::fs::read_to_string(&file).expect("read host");
    text.push_str("# a comment\n");
    std::fs::write(&file, text).expect("write host");
    let dirty = impact_since(repo, "HEAD");
    assert_eq!(dirty["changed_hosts"], truly_changed(repo, "HEAD"), "{dirty}");
    commit(&["-a", "-m", "comment"]);
    let committed = impact_since(repo, "HEAD~1");
    assert_eq!(committed["changed_hosts"], truly_changed(repo, "HEAD~1"), "{committed}");
    assert!(committed["changed_hosts"].as_array().is_some_and(|h| h.contains(&serde_json::json!("gamma"))));
}

/// A flake's check whose derivations name the flake's own source (`src = self`) builds with
/// the built-in builder: the source (the tracked files only) is made as a store object, at
/// the store path the evaluation gave it.
#[test]
fn a_flake_check_that_names_its_source_builds() {
    let repo = flake_checkout();
    git(repo.path(), &["-c", "user.name=nxe", "-c", "user.email=nxe@example.invalid", "commit", "-q", "-m", "base"]);
    // An untracked file is not part of the source: its copy must leave it out.
    std::fs::write(repo.path().join("untracked.txt"), "not in the flake").expect("write an untracked file");
    let store = tempfile::tempdir().expect("store directory");
    let output = nxe()
        .args(["test", "--kind", "check", "--builder", "local", "--json", "--repo"])
        .arg(repo.path())
        .env("XDG_CACHE_HOME", store.path())
        .env("NIX_STORE_DIR", "/nix/store")
        .output()
        .expect("run nxe test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let records: Vec<serde_json::Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["name"], "alpha-boots");
    assert_eq!(records[0]["status"], "pass", "{records:?}");
    // The source's copy is in the store, without the untracked file.
    let source = std::fs::read_dir(store.path().join("nxe/store"))
        .expect("the store")
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with("-source"))
        .expect("the flake's source in the store");
    assert!(source.join("flake.nix").is_file());
    assert!(!source.join("untracked.txt").exists());
}
