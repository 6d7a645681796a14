//! `builtins.fetchGit` of a local repository: each case of `fixtures/fetch-git` is evaluated
//! on a repository that `make-repo.sh` builds the same way everywhere, and must print what
//! the reference Nix printed (the committed `.json` files, from `regen.sh`).

use nxe_e2e::{nxe, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cases_dir() -> PathBuf {
    workspace().join("fixtures/fetch-git")
}

/// Runs `make-repo.sh` with `flags` (none for the plain repository) to build one at `path`.
fn make_repo(flags: &[&str], path: &Path) {
    let status = Command::new("bash")
        .arg(cases_dir().join("make-repo.sh"))
        .args(flags)
        .arg(path)
        .status()
        .expect("run make-repo.sh");
    assert!(status.success(), "make-repo.sh {flags:?} failed");
}

/// A fresh copy of the cases' repository, in a directory that lives as long as the guard.
fn repository() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    make_repo(&[], &repo);
    (dir, repo)
}

/// Makes the work tree dirty: a line added to a tracked file.
fn add_to_notes(repo: &Path) {
    let notes = repo.join("notes.txt");
    let mut text = std::fs::read_to_string(&notes).expect("read notes");
    text.push_str("changed\n");
    std::fs::write(&notes, text).expect("write notes");
}

fn eval(repo: &Path, file: &Path) -> Output {
    nxe().args(["eval", "--strict", "--json"]).arg(file).env("FETCH_GIT_REPO", repo).output().expect("run nxe eval")
}

fn expression(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("case.nix");
    std::fs::write(&file, text).expect("write case");
    file
}

fn assert_matches_reference(repo: &Path, case: &str) -> Output {
    let output = eval(repo, &cases_dir().join(format!("{case}.nix")));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{case}: {stderr}");
    let expected = std::fs::read_to_string(cases_dir().join(format!("{case}.json"))).expect("read expected");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim_end(), expected.trim_end(), "{case}");
    output
}

#[test]
fn a_clean_work_tree_is_fetched_as_the_reference_fetches_it() {
    let (_guard, repo) = repository();
    let output = assert_matches_reference(&repo, "clean");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("dirty"));
}

#[test]
fn every_way_of_naming_the_checked_out_commit_gives_the_same_source() {
    let (_guard, repo) = repository();
    assert_matches_reference(&repo, "variants");
}

#[test]
fn other_commits_are_fetched_by_ref_and_rev_as_the_reference_fetches_them() {
    let (_guard, repo) = repository();
    // The work tree does not take part: a change to it must not show.
    std::fs::write(repo.join("notes.txt"), "changed\n").expect("write notes");
    let output = assert_matches_reference(&repo, "commits");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("dirty"));
    // The commit is checked out once, into the git directory, and kept for later runs (and
    // builds); nothing half written is left beside it.
    let commits = repo.join(".git/nxe/commits");
    let kept = commits.join("30a03568ba484b585829cf013436700d62d02e3c");
    assert_eq!(std::fs::read_to_string(kept.join("notes.txt")).expect("kept checkout"), "first\n");
    let entries: Vec<_> = std::fs::read_dir(&commits).expect("list").flatten().map(|e| e.file_name()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_matches_reference(&repo, "commits");
}

#[test]
fn a_dirty_work_tree_fetched_by_its_commit_gives_the_commit() {
    let (_guard, repo) = repository();
    add_to_notes(&repo);
    let output = assert_matches_reference(&repo, "dirty-commit");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("dirty"));
}

#[test]
fn export_ignore_leaves_files_out_and_export_subst_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("attributes");
    make_repo(&["--attributes"], &repo);
    assert_matches_reference(&repo, "attributes");
}

#[test]
fn submodules_are_left_out_unless_asked_for_in_work_trees_and_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_repo(&["--submodule"], dir.path());
    let outer = dir.path().join("outer");
    assert_matches_reference(&outer, "submodules");
    // A commit named from a dirty work tree: its submodule at the commit recorded for it.
    std::fs::write(outer.join("top.txt"), "changed\n").expect("write");
    assert_matches_reference(&outer, "submodules-commit");
}

#[test]
fn a_dirty_work_tree_is_fetched_with_its_changes_and_a_warning() {
    let (_guard, repo) = repository();
    add_to_notes(&repo);
    let output = assert_matches_reference(&repo, "dirty");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("warning: Git tree '{}' is dirty", repo.display())), "{stderr}");
}

#[test]
fn a_repository_without_commits_is_fetched_as_a_dirty_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("unborn");
    make_repo(&["--unborn"], &repo);
    let output = assert_matches_reference(&repo, "unborn");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is dirty"), "{stderr}");
}

#[test]
fn what_cannot_be_fetched_locally_fails_with_a_clear_message() {
    let (guard, repo) = repository();
    let missing = "1".repeat(40);
    let cases = [
        (
            format!("builtins.fetchGit {{ url = \"{}\"; rev = \"{missing}\"; }}", repo.display()),
            "getting Git object '1111111111111111111111111111111111111111': object not found",
        ),
        (
            format!("builtins.fetchGit {{ url = \"{}\"; ref = \"other\"; }}", repo.display()),
            "resolving Git reference 'other': revspec 'other' not found",
        ),
        (
            format!("builtins.fetchGit {{ url = \"{}\"; ref = \"--all\"; }}", repo.display()),
            "resolving Git reference '--all': revspec '--all' not found",
        ),
        (format!("builtins.fetchGit \"{}/sub\"", repo.display()), "is not the top of a Git work tree"),
        ("builtins.fetchGit \"https://example.invalid/repo.git\"".to_string(), "no network access"),
        (
            format!("builtins.fetchGit {{ url = \"{}\"; narHash = \"sha256-{}=\"; }}", repo.display(), "A".repeat(43)),
            "NAR hash mismatch in input 'git+file://",
        ),
        (
            format!("builtins.fetchGit {{ url = \"{}\"; lastModified = 5; }}", repo.display()),
            "'lastModified' attribute mismatch in input 'git+file://",
        ),
        (format!("builtins.fetchGit {{ url = \"{}\"; revCount = 5; }}", repo.display()), "expected 5"),
    ];
    for (text, expected) in cases {
        let file = expression(guard.path(), &text);
        let output = eval(&repo, &file);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text} should fail");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(stderr.contains(&format!("{}:1:1", file.display())), "{text}: no position in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
