//! End-to-end runs of the `nxe` binary on the bundled example fleet, compared with output
//! made by the reference Nix.

use nxe_e2e::{nxe, workspace};

#[test]
fn eval_of_example_fleet_matches_the_reference() {
    let root = workspace();
    let expected = std::fs::read_to_string(root.join("fixtures/fleet/expected-hosts.txt")).unwrap_or_default();
    let output = nxe().args(["eval", "--strict", "fixtures/fleet", "-A", "hosts"]).output();
    let output = match output {
        Ok(output) => output,
        Err(error) => panic!("cannot run nxe (build it with `cargo build -p nxe`): {error}"),
    };
    assert!(output.status.success(), "nxe failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
}

#[test]
fn eval_error_exits_1_with_position() {
    let output = nxe().args(["eval", "-E", "let x = 1; in x.y"]).output();
    let Ok(output) = output else { panic!("cannot run nxe") };
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: expected a set but found an integer: 1"), "{stderr}");
    assert!(stderr.contains("«string»:1:15"), "{stderr}");
}

#[test]
fn syntax_error_exits_1_without_panic() {
    let output = nxe().args(["eval", "-E", "{ a = ; }"]).output();
    let Ok(output) = output else { panic!("cannot run nxe") };
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: syntax error"), "{stderr}");
}

#[test]
fn bad_command_line_exits_2() {
    let output = nxe().args(["eval", "--no-such-flag"]).output();
    let Ok(output) = output else { panic!("cannot run nxe") };
    assert_eq!(output.status.code(), Some(2));
}
