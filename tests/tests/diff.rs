//! End-to-end runs of `nxe diff` on a small git repository: which hosts and checks changed
//! between two revisions (or a revision and the work tree), and which derivation made them
//! change.

use nxe_e2e::{git, nxe};
use std::path::Path;

fn host_file(port: u32) -> String {
    format!(
        "pkgs: {{ toplevel = derivation {{ name = \"system\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; \
         conf = pkgs.conf {port}; tool = pkgs.tool; }}; }}\n"
    )
}

/// A repository with hosts `a` and `b`, committed once.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    std::fs::write(
        root.join("pkgs.nix"),
        "{ tool = derivation { name = \"tool\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; };\n  \
         conf = port: derivation { name = \"conf\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; text = \"listen ${toString port};\"; }; }\n",
    )
    .expect("write");
    std::fs::write(
        root.join("default.nix"),
        "let pkgs = import ./pkgs.nix; in { hosts = { a = import ./a.nix pkgs; b = import ./b.nix pkgs; }; checks.tool = pkgs.tool; }\n",
    )
    .expect("write");
    std::fs::write(root.join("a.nix"), host_file(80)).expect("write");
    std::fs::write(root.join("b.nix"), host_file(80)).expect("write");
    std::fs::write(root.join("nxe.toml"), "").expect("write");
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "one"]);
    dir
}

fn diff(dir: &Path, revs: &[&str]) -> serde_json::Value {
    let output = nxe().arg("diff").args(revs).args(["--json", "--repo"]).arg(dir).output().expect("run nxe");
    assert!(output.status.success(), "nxe diff failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn status(json: &serde_json::Value, name: &str) -> String {
    let roots = json["roots"].as_array().expect("roots");
    let root = roots.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no root {name}: {json}"));
    root["status"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_changed_host_is_explained_by_the_derivation_that_changed() {
    let dir = repo();
    std::fs::write(dir.path().join("a.nix"), host_file(8080)).expect("write");
    git(dir.path(), &["commit", "-qam", "two"]);
    let json = diff(dir.path(), &["HEAD~1", "HEAD"]);
    assert_eq!(status(&json, "a"), "changed");
    assert_eq!(status(&json, "b"), "unchanged");
    assert_eq!(status(&json, "tool"), "unchanged");
    let text = json.to_string();
    assert!(text.contains("listen 80;") && text.contains("listen 8080;"), "{text}");

    let human = nxe().args(["diff", "HEAD~1", "HEAD", "a", "--repo"]).arg(dir.path()).output().expect("run nxe");
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("host a: changed") && human.contains("conf"), "{human}");
    assert!(!human.contains("host b"), "{human}");
}

#[test]
fn the_work_tree_is_compared_when_one_revision_is_given() {
    let dir = repo();
    std::fs::write(dir.path().join("b.nix"), host_file(443)).expect("write");
    let json = diff(dir.path(), &["HEAD"]);
    assert_eq!(status(&json, "a"), "unchanged");
    assert_eq!(status(&json, "b"), "changed");
}

#[test]
fn a_host_that_no_longer_evaluates_is_changed_with_its_error() {
    let dir = repo();
    std::fs::write(dir.path().join("b.nix"), "pkgs: { toplevel = throw \"b is broken\"; }\n").expect("write");
    let output = nxe().args(["diff", "HEAD", "--json", "--repo"]).arg(dir.path()).output().expect("run nxe");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(status(&json, "a"), "unchanged");
    assert_eq!(status(&json, "b"), "changed");
    let roots = json["roots"].as_array().expect("roots");
    let b = roots.iter().find(|r| r["name"] == "b").expect("b");
    assert_eq!(b["error"][0], "new");
    assert!(b["error"][1].as_str().is_some_and(|e| e.contains("b is broken") && e.contains("b.nix:1:")), "{b}");
}

#[test]
fn an_unknown_revision_is_a_usage_error() {
    let dir = repo();
    let output = nxe().args(["diff", "no-such-rev", "--repo"]).arg(dir.path()).output().expect("run nxe");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown revision 'no-such-rev'"));
}
