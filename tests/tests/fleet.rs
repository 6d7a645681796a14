//! End-to-end runs of the `nxe` binary on the bundled example fleet, compared with output
//! made by the reference Nix (`fixtures/fleet/regen.sh`).

use nxe_e2e::{fixture, nxe};

/// Runs `nxe ARGS...` in the workspace root and returns its standard output, failing the
/// test if it does not succeed.
fn run(args: &[&str]) -> String {
    let output = match nxe().args(args).output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run nxe (build it with `cargo build -p nxe`): {error}"),
    };
    assert!(output.status.success(), "nxe {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn config_values_match_the_reference() {
    // `ATTRPATH JSON` lines: parts of a few hosts' configurations, as the reference prints them.
    let expected = fixture("fleet/expected-configs.txt");
    let mut n_values = 0;
    for line in expected.lines() {
        let Some((attr, json)) = line.split_once(' ') else { continue };
        let printed = run(&["eval", "--strict", "--json", "fixtures/fleet", "-A", attr]);
        assert_eq!(printed.trim_end(), json, "nxe eval --strict --json fixtures/fleet -A {attr}");
        n_values += 1;
    }
    assert!(n_values >= 5, "only {n_values} values in fixtures/fleet/expected-configs.txt");
}

#[test]
fn unit_test_values_match_the_reference() {
    let printed = run(&["eval", "--strict", "--json", "fixtures/fleet", "-A", "tests"]);
    assert_eq!(printed, fixture("fleet/expected-tests.json"));
}

#[test]
fn every_unit_test_of_the_fleet_passes() {
    // nix-unit style: each `{ expr; expected; }` in nested groups passes when they are equal.
    let failing = r#"
      let
        run = path: set: builtins.concatLists (map (name:
          let v = set.${name}; in
          if v ? expr && v ? expected then (if v.expr == v.expected then [ ] else [ (path + name) ])
          else run (path + name + ".") v) (builtins.attrNames set));
      in run "" (import ./fixtures/fleet).tests
    "#;
    assert_eq!(run(&["eval", "--strict", "--json", "-E", failing]), "[]\n");
}

#[test]
fn hosts_have_config_and_toplevel() {
    let names = run(&["eval", "--json", "-E", "builtins.attrNames (import ./fixtures/fleet).hosts"]);
    let names: Vec<String> = serde_json::from_str(&names).unwrap_or_else(|e| panic!("not JSON ({e}): {names}"));
    assert!(names.len() >= 20, "{names:?}");
    let hostname = run(&["eval", "--json", "fixtures/fleet", "-A", "hosts.db-02.config.networking.hostName"]);
    assert_eq!(hostname, "\"db-02\"\n");
    let toplevel = run(&["eval", "fixtures/fleet", "-A", "hosts.db-02.toplevel.name"]);
    assert_eq!(toplevel, "\"fleet-system-db-02\"\n");
}

#[test]
fn failed_type_check_names_the_option_and_the_file() {
    let expr =
        r#"(import ./fixtures/fleet).hosts.web-01.extendModules { modules = [ { services.web.port = "http"; } ]; }"#;
    let output = nxe().args(["eval", "--strict", "-E", &format!("({expr}).config.services.web.port")]).output();
    let Ok(output) = output else { panic!("cannot run nxe") };
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("A definition for option `services.web.port' is not of type `16 bit unsigned integer;"),
        "{stderr}"
    );
    assert!(stderr.contains("- In `<unknown-file>': \"http\""), "{stderr}");
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
