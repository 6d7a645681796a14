//! What `nxe eval` writes to standard error, byte for byte as the reference writes it: tabs
//! expanded where the reference expands them (to the next multiple of 8 of the characters
//! written so far in the message), carriage returns dropped, and the caret of a code frame
//! padded with one space per column. Each case in `tests/terminal/` is evaluated as an
//! expression; its `.err` file is the reference's standard error (`regen.sh`).

use nxe_e2e::{nxe, workspace};

#[test]
fn messages_with_tabs_and_carriage_returns_are_written_as_the_reference_writes_them() {
    let dir = workspace().join("tests/terminal");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("read tests/terminal")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "nix"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "cases missing from {}", dir.display());
    let mut wrong = Vec::new();
    for case in &cases {
        // As `-E "$(cat NAME.nix)"` gives it: without the file's final line breaks.
        let code = std::fs::read_to_string(case).expect("read case").trim_end_matches('\n').to_string();
        let expected = std::fs::read_to_string(case.with_extension("err")).expect("read expected stderr");
        let output = nxe().args(["eval", "--strict", "-E", &code]).output().expect("run nxe");
        let actual = String::from_utf8_lossy(&output.stderr);
        if actual != expected {
            wrong.push(format!("{}:\nexpected:\n{expected}\nactual:\n{actual}", case.display()));
        }
        // A case that fails in the reference fails in nxe, and one that succeeds succeeds.
        assert_eq!(
            output.status.success(),
            expected.lines().all(|line| !line.starts_with("error:")),
            "{}",
            case.display()
        );
    }
    assert!(wrong.is_empty(), "{} cases differ:\n{}", wrong.len(), wrong.join("\n"));
}
