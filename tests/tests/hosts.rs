//! End-to-end runs of `nxe hosts` and `nxe graph` on the example fleet: every host's and
//! check's drvPath is the reference's (`fixtures/fleet/expected-drvpaths.txt`), output does
//! not depend on the number of workers, and a broken host does not stop the others.

use nxe_e2e::{copy_dir, nxe, workspace};
use std::collections::BTreeMap;
use std::path::Path;

/// `ATTRPATH -> DRVPATH` for the attribute paths that select one derivation.
fn expected() -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(workspace().join("fixtures/fleet/expected-drvpaths.txt")).expect("expected file");
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if let Some((attr, drv)) = line.split_once(' ') {
            let host = attr.starts_with("hosts.") && attr.ends_with(".toplevel");
            let check = attr.starts_with("checks.") && attr.matches('.').count() == 2;
            if host || check {
                map.insert(attr.to_string(), drv.to_string());
            }
        }
    }
    map
}

fn run(args: &[&str], repo: &Path) -> (Option<i32>, String, String) {
    let output = nxe().args(args).arg("--repo").arg(repo).output().expect("run nxe");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn fleet() -> std::path::PathBuf {
    workspace().join("fixtures/fleet")
}

#[test]
fn every_host_matches_the_reference() {
    let (code, stdout, stderr) = run(&["hosts", "--json", "--no-timings"], &fleet());
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    let hosts = json["hosts"].as_object().expect("hosts");
    let expected = expected();
    let expected_hosts: Vec<_> = expected.keys().filter(|k| k.starts_with("hosts.")).collect();
    assert!(hosts.len() >= 20, "{} hosts", hosts.len());
    assert_eq!(hosts.len(), expected_hosts.len());
    for (name, host) in hosts {
        let want =
            expected.get(&format!("hosts.{name}.toplevel")).unwrap_or_else(|| panic!("no expected drvPath for {name}"));
        assert_eq!(host["drvPath"].as_str(), Some(want.as_str()), "{name}");
        assert!(host["error"].is_null(), "{name}: {}", host["error"]);
    }
}

#[test]
fn output_is_the_same_with_one_or_two_workers_and_streamed() {
    let one = run(&["hosts", "--json", "--no-timings", "-j", "1"], &fleet());
    let two = run(&["hosts", "--json", "--no-timings", "-j", "2"], &fleet());
    assert_eq!(one.0, Some(0), "{}", one.2);
    assert_eq!(one.1, two.1);
    let text_one = run(&["hosts", "--no-timings", "-j", "1"], &fleet());
    let text_two = run(&["hosts", "--no-timings", "-j", "2"], &fleet());
    assert_eq!(text_one.1, text_two.1);
    assert!(!text_one.1.is_empty());

    let (code, lines, stderr) = run(&["hosts", "--jsonl", "--no-timings"], &fleet());
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&one.1).expect("JSON output");
    let mut streamed = BTreeMap::new();
    for line in lines.lines() {
        let object: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
        let name = object["name"].as_str().expect("name").to_string();
        streamed.insert(name, object["drvPath"].clone());
    }
    let batch: BTreeMap<String, serde_json::Value> =
        json["hosts"].as_object().expect("hosts").iter().map(|(k, v)| (k.clone(), v["drvPath"].clone())).collect();
    assert_eq!(streamed, batch);
}

#[test]
fn the_graph_has_every_host_and_check_of_the_reference() {
    let (code, stdout, stderr) = run(&["graph", "--stats", "--json"], &fleet());
    assert_eq!(code, Some(0), "{stderr}");
    let stats: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    assert_eq!(stats["nMissing"], 0, "{stats}");
    let roots = stats["roots"].as_array().expect("roots");
    let expected = expected();
    let mut checked = 0;
    for root in roots {
        let name = root["name"].as_str().expect("name");
        let attr = match root["kind"].as_str() {
            Some("host") => format!("hosts.{name}.toplevel"),
            _ => format!("checks.{name}"),
        };
        let want = expected.get(&attr).unwrap_or_else(|| panic!("no expected drvPath for {attr}"));
        assert_eq!(root["drvPath"].as_str(), Some(want.as_str()), "{attr}");
        assert!(root["closure"].as_u64().is_some_and(|n| n >= 1));
        checked += 1;
    }
    assert_eq!(checked, expected.len());
    // Hosts share the fleet's packages.
    assert!(stats["nSharedByAllHosts"].as_u64().is_some_and(|n| n > 0), "{stats}");
}

#[test]
fn a_broken_host_is_reported_with_its_position_and_the_others_go_on() {
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_dir(&fleet(), dir.path());
    let file = dir.path().join("hosts/web-03.nix");
    let text = std::fs::read_to_string(&file).expect("host file");
    std::fs::write(&file, text.replacen("imports = [", "imports = [ (", 1)).expect("write");
    let (code, stdout, stderr) = run(&["hosts", "--json", "--no-timings"], dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    let error = json["hosts"]["web-03"]["error"].as_str().expect("web-03 fails");
    assert!(error.contains("syntax error") && error.contains("hosts/web-03.nix:"), "{error}");
    let expected = expected();
    for (name, host) in json["hosts"].as_object().expect("hosts") {
        if name != "web-03" {
            assert_eq!(host["drvPath"].as_str(), expected.get(&format!("hosts.{name}.toplevel")).map(String::as_str));
        }
    }
}
