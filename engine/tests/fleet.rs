//! The engine on small repositories written by the tests: parallel and sequential runs agree,
//! broken hosts are reported with their positions without stopping the others, and a host
//! that passes its worker's memory budget is evaluated again alone with the same result.

use nxe_engine::memory::CountingAllocator;
use nxe_engine::{evaluate_fleet, Event, FleetOptions, Overrides, Repo};
use std::path::Path;

/// Per-thread accounting, so that memory budgets apply in these tests.
#[global_allocator]
static ALLOCATOR: CountingAllocator<std::alloc::System> = CountingAllocator(std::alloc::System);

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create directory");
    }
    std::fs::write(path, text).expect("write file");
}

/// A repository of `n` good hosts sharing a package, plus the given extra host files.
fn repo(n: usize, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    write(
        root,
        "lib.nix",
        r#"{
  pkg = derivation { name = "shared-tool"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
  mkHost = name: settings: {
    config = settings;
    toplevel = derivation {
      name = "system-${name}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      tool = (import ./lib.nix).pkg;
      settings = builtins.toJSON settings;
    };
  };
}
"#,
    );
    let mut hosts = String::from("let lib = import ./lib.nix; in {\n  hosts = {\n");
    for i in 0..n {
        write(
            root,
            &format!("hosts/h{i:02}.nix"),
            &format!("lib: lib.mkHost \"h{i:02}\" {{ port = {}; }}\n", 8000 + i),
        );
        hosts.push_str(&format!("    h{i:02} = import ./hosts/h{i:02}.nix lib;\n"));
    }
    for (name, text) in extra {
        write(root, &format!("hosts/{name}.nix"), text);
        hosts.push_str(&format!("    {name} = import ./hosts/{name}.nix lib;\n"));
    }
    hosts.push_str("  };\n  checks = { recurseForDerivations = true; shared = lib.pkg; nested.one = lib.pkg; };\n}\n");
    write(root, "default.nix", &hosts);
    write(root, "nxe.toml", "[hosts]\nattr = \"hosts\"\n");
    dir
}

fn open(dir: &Path) -> Repo {
    Repo::discover(&Overrides { repo: Some(dir.to_path_buf()), ..Overrides::default() }).expect("repository")
}

fn run(repo: &Repo, threads: usize) -> nxe_engine::FleetEval {
    let options = FleetOptions { threads, checks: true, graph: true, ..FleetOptions::default() };
    evaluate_fleet(repo, &options, |_| {}).expect("fleet evaluation")
}

/// Hosts as (name, drvPath, error) without timings.
fn summary(fleet: &nxe_engine::FleetEval) -> Vec<(String, Option<String>, Option<String>)> {
    fleet.hosts.iter().map(|h| (h.name.clone(), h.drv_path.clone(), h.error.clone())).collect()
}

#[test]
fn parallel_and_sequential_runs_agree() {
    let dir = repo(12, &[]);
    let repo = open(dir.path());
    let one = run(&repo, 1);
    let three = run(&repo, 3);
    assert_eq!(summary(&one), summary(&three));
    assert_eq!(one.hosts.len(), 12);
    assert!(one.hosts.iter().all(|h| h.drv_path.as_deref().is_some_and(|d| d.ends_with(".drv"))));
    // Every host has its own system and shares the tool.
    assert_eq!(one.graph.node_count(), 13);
    assert_eq!(three.graph.node_count(), 13);
    assert_eq!(three.graph.edge_count(), 12);
    assert!(three.graph.missing_inputs().is_empty());
    let checks: Vec<_> = three.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(checks, ["nested.one", "shared"]);
    assert_eq!(three.checks[0].drv_path, three.checks[1].drv_path);
}

#[test]
fn compiled_files_are_kept_in_the_cache_directory_and_decoded_by_the_next_run() {
    let dir = repo(4, &[]);
    let repo = open(dir.path());
    let cache = dir.path().join(".nxe");
    let plain = run(&repo, 2);
    // Without a cache directory, the repository is left as it was.
    let options = FleetOptions { threads: 2, checks: true, graph: true, keep_code: true, ..FleetOptions::default() };
    let untouched = evaluate_fleet(&repo, &options, |_| {}).expect("fleet evaluation");
    assert!(!cache.exists(), "a fleet evaluation made {}", cache.display());
    assert_eq!(summary(&untouched), summary(&plain));
    // With one (as `nxe test` leaves it), compiled files are kept there.
    std::fs::create_dir(&cache).expect("cache directory");
    let first = evaluate_fleet(&repo, &options, |_| {}).expect("fleet evaluation");
    let entries = |dir: &Path| -> Vec<std::path::PathBuf> {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).expect("code directory").map(|e| e.expect("entry").path()).collect();
        entries.sort();
        entries
    };
    // One entry for each file compiled: default.nix, lib.nix, four hosts.
    let kept = entries(&cache.join("code"));
    assert_eq!(kept.len(), 6, "{kept:?}");
    assert!(kept.iter().all(|path| path.extension().is_some_and(|e| e == "nxc")), "{kept:?}");
    // The next run decodes them, unchanged, and gives the same results.
    let written: Vec<_> =
        kept.iter().map(|path| std::fs::metadata(path).and_then(|m| m.modified()).expect("stat")).collect();
    let second = evaluate_fleet(&repo, &options, |_| {}).expect("fleet evaluation");
    let again: Vec<_> =
        kept.iter().map(|path| std::fs::metadata(path).and_then(|m| m.modified()).expect("stat")).collect();
    assert_eq!(written, again, "the entries were written again");
    assert_eq!(summary(&first), summary(&plain));
    assert_eq!(summary(&second), summary(&plain));
    assert_eq!(second.graph.node_count(), plain.graph.node_count());
    // A damaged entry is compiled again and replaced.
    std::fs::write(&kept[0], b"nxecode4 damaged").expect("damage an entry");
    let third = evaluate_fleet(&repo, &options, |_| {}).expect("fleet evaluation");
    assert_eq!(summary(&third), summary(&plain));
    assert!(std::fs::read(&kept[0]).expect("entry").len() > 72, "the damaged entry was not replaced");
}

#[test]
fn broken_hosts_are_reported_with_positions_and_the_others_go_on() {
    let dir = repo(
        3,
        &[
            ("syntax", "lib: lib.mkHost \"syntax\" { port = ; }\n"),
            ("assertion", "lib:\nassert 1 + 1 == 3;\nlib.mkHost \"assertion\" { }\n"),
            ("missing", "lib: (lib.mkHost \"missing\" { }) // { toplevel = lib.nothing; }\n"),
        ],
    );
    let repo = open(dir.path());
    let mut streamed = Vec::new();
    let options = FleetOptions { threads: 2, ..FleetOptions::default() };
    let fleet = evaluate_fleet(&repo, &options, |event| {
        if let Event::Host(host) = event {
            streamed.push(host.name.clone());
        }
    })
    .expect("fleet evaluation");
    streamed.sort();
    assert_eq!(streamed, ["assertion", "h00", "h01", "h02", "missing", "syntax"]);
    let error = |name: &str| {
        let host = fleet.hosts.iter().find(|h| h.name == name).expect("host");
        assert!(host.drv_path.is_none());
        host.error.clone().expect("an error")
    };
    let syntax = error("syntax");
    assert!(syntax.contains("syntax error") && syntax.contains("hosts/syntax.nix:1:35"), "{syntax}");
    let assertion = error("assertion");
    assert!(
        assertion.contains("an integer with value '2' is not equal to an integer with value '3'")
            // As the reference: the explained inequality has no position of its own; the
            // frame of the assertion places it at `assert`.
            && assertion.contains("hosts/assertion.nix:2:1"),
        "{assertion}"
    );
    let missing = error("missing");
    assert!(missing.contains("attribute 'nothing' missing") && missing.contains("hosts/missing.nix:1:"), "{missing}");
    assert_eq!(fleet.hosts.iter().filter(|h| h.drv_path.is_some()).count(), 3);
    assert!(fleet.any_failed());
}

#[test]
fn a_host_over_the_memory_budget_is_retried_alone() {
    // A host that builds a large value with many function calls.
    let heavy = "lib: lib.mkHost \"heavy\" { size = builtins.length (builtins.genList (i: toString (i * 7) + \"-padding-padding\") 300000) + builtins.foldl' (a: b: a + b) 0 (builtins.genList (i: i) 300000); }\n";
    let dir = repo(3, &[("heavy", heavy)]);
    let repo = open(dir.path());
    let free = evaluate_fleet(&repo, &FleetOptions { threads: 2, ..FleetOptions::default() }, |_| {}).expect("fleet");
    let mut deferred = Vec::new();
    let options = FleetOptions { threads: 2, max_memory: Some(4 << 20), ..FleetOptions::default() };
    let budgeted = evaluate_fleet(&repo, &options, |event| {
        if let Event::Deferred(name) = event {
            deferred.push(name.clone());
        }
    })
    .expect("fleet");
    assert_eq!(deferred, ["heavy"]);
    let heavy = budgeted.hosts.iter().find(|h| h.name == "heavy").expect("heavy host");
    assert!(heavy.retried);
    assert_eq!(summary(&free), summary(&budgeted));
}

#[test]
fn hosts_that_together_pass_the_budget_are_not_deferred() {
    // Each host makes a few MB of values with cycles (every entry's function sees the whole
    // set) that it no longer needs once its toplevel is known.
    let extra: Vec<(String, String)> = (0..8)
        .map(|i| {
            let text = format!(
                "lib: let big = rec {{ items = builtins.listToAttrs (builtins.genList (i: {{ name = \"k${{toString i}}\"; value = {{ inherit i; get = _: items; }}; }}) 20000); }}; \
                 in lib.mkHost \"big{i}\" {{ n = builtins.length (builtins.attrNames big.items) + {i}; }}\n"
            );
            (format!("big{i}"), text)
        })
        .collect();
    let extra: Vec<(&str, &str)> = extra.iter().map(|(name, text)| (name.as_str(), text.as_str())).collect();
    let dir = repo(2, &extra);
    let repo = open(dir.path());
    let free = evaluate_fleet(&repo, &FleetOptions { threads: 2, ..FleetOptions::default() }, |_| {}).expect("fleet");
    // Four of these hosts on one worker pass the budget; each alone stays well within it.
    // A worker's evaluation is dropped once it passed a quarter of the budget, and from the
    // second on, freed whole: no host waits to run alone.
    let mut deferred = Vec::new();
    let options = FleetOptions { threads: 2, max_memory: Some(12 << 20), ..FleetOptions::default() };
    let budgeted = evaluate_fleet(&repo, &options, |event| {
        if let Event::Deferred(name) = event {
            deferred.push(name.clone());
        }
    })
    .expect("fleet");
    assert!(deferred.is_empty(), "deferred: {deferred:?}");
    assert!(budgeted.hosts.iter().all(|h| h.drv_path.is_some() && !h.retried));
    assert_eq!(summary(&free), summary(&budgeted));
}

#[test]
fn unknown_hosts_and_a_missing_hosts_attribute_are_configuration_errors() {
    let dir = repo(1, &[]);
    let repo_value = open(dir.path());
    let options = FleetOptions { only_hosts: vec!["nope".into()], ..FleetOptions::default() };
    let error = evaluate_fleet(&repo_value, &options, |_| {}).expect_err("unknown host");
    assert!(error.to_string().contains("no host named 'nope'"), "{error}");

    write(dir.path(), "nxe.toml", "[hosts]\nattr = \"machines\"\n");
    let error = evaluate_fleet(&open(dir.path()), &FleetOptions::default(), |_| {}).expect_err("no machines");
    assert!(error.to_string().contains("attribute 'machines' in selection path 'machines' not found"), "{error}");
}
