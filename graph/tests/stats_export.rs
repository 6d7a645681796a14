//! Statistics, JSON and DOT on a small hand-made graph: a diamond under one
//! host, a second host sharing half of it, and a check.

mod common;

use common::fake_drv;
use nxe_graph::{DrvGraph, GraphError, RootKind, RootStats};

const SYS1: &str = "/nix/store/s1-system-web-01.drv";
const SYS2: &str = "/nix/store/s2-system-db-01.drv";
const A: &str = "/nix/store/aa-a.drv";
const B: &str = "/nix/store/bb-b.drv";
const C: &str = "/nix/store/cc-c.drv";
const T: &str = "/nix/store/tt-vm-test.drv";

/// web-01 -> {a, b}, a -> c, b -> c (a diamond); db-01 -> b; check web-01.vm-test -> c.
fn diamond() -> DrvGraph {
    let mut graph = DrvGraph::new();
    graph.add_derivations([
        (SYS1.to_owned(), fake_drv(&[("out", "/nix/store/s1o-system-web-01")], &[A, B], &[])),
        (SYS2.to_owned(), fake_drv(&[("out", "/nix/store/s2o-system-db-01")], &[B], &[])),
        (A.to_owned(), fake_drv(&[("out", "/nix/store/aao-a")], &[C], &[])),
        (B.to_owned(), fake_drv(&[("out", "/nix/store/bbo-b"), ("dev", "/nix/store/bbd-b-dev")], &[C], &[])),
        (C.to_owned(), fake_drv(&[("out", "/nix/store/cco-c")], &[], &["/nix/store/src-builder.sh"])),
        (T.to_owned(), fake_drv(&[("out", "/nix/store/tto-vm-test")], &[C], &[])),
    ]);
    graph.add_root(RootKind::Host, "web-01", SYS1);
    graph.add_root(RootKind::Host, "db-01", SYS2);
    graph.add_root(RootKind::Check, "web-01.vm-test", T);
    graph
}

fn root(kind: RootKind, name: &str, drv_path: &str, closure: usize, shared: usize) -> RootStats {
    RootStats { kind, name: name.into(), drv_path: drv_path.into(), closure, shared, unique: closure - shared }
}

#[test]
fn stats_count_shared_and_unique_derivations_per_kind() {
    let stats = diamond().stats();
    assert_eq!((stats.n_derivations, stats.n_edges, stats.n_missing), (6, 6, 0));
    assert_eq!(stats.n_shared_by_all_hosts, 2, "b and c");
    assert_eq!(
        stats.roots,
        vec![
            root(RootKind::Host, "db-01", SYS2, 3, 2),
            root(RootKind::Host, "web-01", SYS1, 4, 2),
            // The only check: sharing c with hosts does not count.
            root(RootKind::Check, "web-01.vm-test", T, 2, 0),
        ]
    );
    assert_eq!(
        stats.to_string(),
        "derivations: 6, edges: 6, missing inputs: 0, shared by all hosts: 2\n\
         kind   root            closure   shared   unique\n\
         host   db-01                 3        2        1\n\
         host   web-01                4        2        2\n\
         check  web-01.vm-test        2        0        2\n"
    );
    let json = serde_json::to_value(&stats).expect("json");
    assert_eq!(
        json["roots"][1],
        serde_json::json!({"kind": "host", "name": "web-01", "drvPath": SYS1, "closure": 4, "shared": 2, "unique": 2})
    );
    assert_eq!(json["nSharedByAllHosts"], 2);
}

#[test]
fn stats_of_a_fleet_without_hosts_share_nothing() {
    let mut graph = diamond();
    let mut checks_only = DrvGraph::new();
    checks_only.add_derivations([(C.to_owned(), fake_drv(&[("out", "/nix/store/cco-c")], &[], &[]))]);
    checks_only.add_root(RootKind::Check, "one", C);
    checks_only.add_root(RootKind::Check, "two", C);
    let stats = checks_only.stats();
    assert_eq!(stats.n_shared_by_all_hosts, 0);
    assert_eq!(stats.roots, vec![root(RootKind::Check, "one", C, 1, 1), root(RootKind::Check, "two", C, 1, 1)]);
    // A second check sharing c with the first makes c shared for both.
    graph.add_root(RootKind::Check, "c-only", C);
    let check_stats: Vec<_> = graph.stats().roots.into_iter().filter(|r| r.kind == RootKind::Check).collect();
    assert_eq!(
        check_stats,
        vec![root(RootKind::Check, "c-only", C, 1, 1), root(RootKind::Check, "web-01.vm-test", T, 2, 1)]
    );
}

#[test]
fn json_export_is_sorted_and_complete() {
    let json = serde_json::to_string_pretty(&diamond().to_json(None).expect("json")).expect("text");
    let entry = |path: &str, name: &str, outputs: &str, inputs: &str, sources: &str| {
        format!(
            "    \"{path}\": {{\n      \"name\": \"{name}\",\n      \"outputs\": {{{outputs}}},\n      \"inputDrvs\": [{inputs}],\n      \"inputSrcs\": [{sources}]\n    }}"
        )
    };
    let out = |path: &str| format!("\n        \"out\": \"{path}\"\n      ");
    let list = |items: &[&str]| {
        let lines: Vec<String> = items.iter().map(|item| format!("\n        \"{item}\"")).collect();
        format!("{}\n      ", lines.join(","))
    };
    let expected = [
        "{\n  \"roots\": {\n    \"check\": {\n      \"web-01.vm-test\": \"/nix/store/tt-vm-test.drv\"\n    },\n    \"host\": {\n      \"db-01\": \"/nix/store/s2-system-db-01.drv\",\n      \"web-01\": \"/nix/store/s1-system-web-01.drv\"\n    }\n  },\n  \"derivations\": {".to_owned(),
        [
            entry(A, "a", &out("/nix/store/aao-a"), &list(&[C]), ""),
            entry(B, "b", "\n        \"dev\": \"/nix/store/bbd-b-dev\",\n        \"out\": \"/nix/store/bbo-b\"\n      ", &list(&[C]), ""),
            entry(C, "c", &out("/nix/store/cco-c"), "", &list(&["/nix/store/src-builder.sh"])),
            entry(SYS1, "system-web-01", &out("/nix/store/s1o-system-web-01"), &list(&[A, B]), ""),
            entry(SYS2, "system-db-01", &out("/nix/store/s2o-system-db-01"), &list(&[B]), ""),
            entry(T, "vm-test", &out("/nix/store/tto-vm-test"), &list(&[C]), ""),
        ]
        .join(",\n"),
        "  }\n}".to_owned(),
    ]
    .join("\n");
    assert_eq!(json, expected);
}

#[test]
fn json_export_can_be_restricted_to_named_roots() {
    let graph = diamond();
    let json = graph.to_json(Some(&["db-01".to_owned()])).expect("json");
    assert_eq!(json["roots"], serde_json::json!({"check": {}, "host": {"db-01": SYS2}}));
    let paths: Vec<&String> = json["derivations"].as_object().expect("object").keys().collect();
    assert_eq!(paths, [B, C, SYS2]);
    assert_eq!(graph.to_json(Some(&["web-02".to_owned()])), Err(GraphError::UnknownRoot { name: "web-02".into() }));
}

#[test]
fn dot_export_labels_nodes_by_name_and_highlights_roots() {
    let mut graph = diamond();
    graph.add_derivations([("/nix/store/xx-extra.drv".to_owned(), fake_drv(&[], &["/nix/store/mm-missing.drv"], &[]))]);
    let expected = r#"digraph derivations {
  node [shape=box];
  "/nix/store/aa-a.drv" [label="a"];
  "/nix/store/bb-b.drv" [label="b"];
  "/nix/store/cc-c.drv" [label="c"];
  "/nix/store/mm-missing.drv" [label="missing", style="dashed"];
  "/nix/store/s1-system-web-01.drv" [label="system-web-01\nhost web-01", style="filled,bold", fillcolor=lightblue];
  "/nix/store/s2-system-db-01.drv" [label="system-db-01\nhost db-01", style="filled,bold", fillcolor=lightblue];
  "/nix/store/tt-vm-test.drv" [label="vm-test\ncheck web-01.vm-test", style="filled,bold", fillcolor=khaki];
  "/nix/store/xx-extra.drv" [label="extra"];
  "/nix/store/aa-a.drv" -> "/nix/store/cc-c.drv";
  "/nix/store/bb-b.drv" -> "/nix/store/cc-c.drv";
  "/nix/store/s1-system-web-01.drv" -> "/nix/store/aa-a.drv";
  "/nix/store/s1-system-web-01.drv" -> "/nix/store/bb-b.drv";
  "/nix/store/s2-system-db-01.drv" -> "/nix/store/bb-b.drv";
  "/nix/store/tt-vm-test.drv" -> "/nix/store/cc-c.drv";
  "/nix/store/xx-extra.drv" -> "/nix/store/mm-missing.drv";
}
"#;
    assert_eq!(graph.to_dot(None).expect("dot"), expected);
    let restricted = graph.to_dot(Some(&["web-01.vm-test".to_owned()])).expect("dot");
    assert_eq!(
        restricted,
        "digraph derivations {\n  node [shape=box];\n  \"/nix/store/cc-c.drv\" [label=\"c\"];\n  \
         \"/nix/store/tt-vm-test.drv\" [label=\"vm-test\\ncheck web-01.vm-test\", style=\"filled,bold\", fillcolor=khaki];\n  \
         \"/nix/store/tt-vm-test.drv\" -> \"/nix/store/cc-c.drv\";\n}\n"
    );
}

#[test]
fn missing_inputs_of_hand_made_graph_are_sorted_pairs() {
    let mut graph = diamond();
    graph.add_derivations([
        ("/nix/store/yy-y.drv".to_owned(), fake_drv(&[], &["/nix/store/m2-two.drv", "/nix/store/m1-one.drv"], &[])),
        ("/nix/store/xx-x.drv".to_owned(), fake_drv(&[], &["/nix/store/m2-two.drv"], &[])),
    ]);
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        graph.missing_inputs(),
        vec![
            pair("/nix/store/xx-x.drv", "/nix/store/m2-two.drv"),
            pair("/nix/store/yy-y.drv", "/nix/store/m1-one.drv"),
            pair("/nix/store/yy-y.drv", "/nix/store/m2-two.drv"),
        ]
    );
}
