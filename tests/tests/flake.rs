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
