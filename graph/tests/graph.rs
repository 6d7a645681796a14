//! Building the graph: deduplication across evaluations and workers,
//! closures, and inputs that are referenced but never added.

mod common;

use std::collections::BTreeSet;

use common::Fleet;
use nxe_graph::{DrvGraph, RootKind};

/// Two hosts sharing `bash` and `glibc`: `(fleet, web toplevel, db toplevel)`.
fn two_hosts() -> (Fleet, String, String) {
    let mut fleet = Fleet::default();
    let glibc = fleet.drv("glibc", &[], &[]);
    let bash = fleet.drv("bash", &[&glibc], &[]);
    let nginx = fleet.drv("nginx", &[&bash, &glibc], &[]);
    let postgres = fleet.drv("postgresql", &[&bash, &glibc], &[]);
    let web = fleet.drv("system-web-01", &[&nginx, &bash], &[]);
    let db = fleet.drv("system-db-01", &[&postgres, &bash], &[]);
    (fleet, web, db)
}

/// The graph one host's evaluation gives: its closure only.
fn evaluation_of(fleet: &Fleet, graph_of_all: &DrvGraph, kind: RootKind, name: &str, root: &str) -> DrvGraph {
    let mut graph = DrvGraph::new();
    let closure = graph_of_all.closure(root);
    graph.add_derivations(
        fleet.drvs.iter().filter(|(path, _)| closure.contains(path.as_str())).map(|(p, d)| (p.clone(), d.clone())),
    );
    graph.add_root(kind, name, root);
    graph
}

#[test]
fn merging_overlapping_evaluations_keeps_one_node_per_drv_path() {
    let (fleet, web, db) = two_hosts();
    let all = fleet.graph(&[]);
    let web_graph = evaluation_of(&fleet, &all, RootKind::Host, "web-01", &web);
    let db_graph = evaluation_of(&fleet, &all, RootKind::Host, "db-01", &db);
    assert_eq!((web_graph.node_count(), db_graph.node_count()), (4, 4));

    let mut merged = web_graph.clone();
    merged.merge(db_graph.clone());
    assert_eq!(merged.node_count(), 6, "glibc and bash are shared");
    // glibc <- bash, nginx, postgres; bash <- nginx, postgres, web, db; web -> nginx; db -> postgres.
    assert_eq!(merged.edge_count(), 9);
    assert!(merged.missing_inputs().is_empty());
    assert_eq!(merged.roots().len(), 2);

    // Merging again, or in the other order, changes nothing.
    let mut again = merged.clone();
    again.merge(web_graph.clone());
    again.add_derivations(fleet.drvs.clone());
    assert_eq!((again.node_count(), again.edge_count()), (6, 9));
    let mut reversed = db_graph;
    reversed.merge(web_graph);
    assert_eq!(reversed.to_json(None), merged.to_json(None));
}

#[test]
fn graphs_built_on_worker_threads_merge_into_the_sequential_graph() {
    let (fleet, web, db) = two_hosts();
    let all = fleet.graph(&[(RootKind::Host, "web-01", &web), (RootKind::Host, "db-01", &db)]);
    let workers: Vec<DrvGraph> = std::thread::scope(|scope| {
        let handles: Vec<_> = [("web-01", &web), ("db-01", &db)]
            .into_iter()
            .map(|(name, root)| {
                let (fleet, all) = (&fleet, &all);
                scope.spawn(move || evaluation_of(fleet, all, RootKind::Host, name, root))
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("worker")).collect()
    });
    let mut merged = DrvGraph::new();
    for worker in workers {
        merged.merge(worker);
    }
    assert_eq!(merged.to_json(None), all.to_json(None));
    assert_eq!(merged.to_dot(None), all.to_dot(None));
}

#[test]
fn inputs_may_arrive_after_their_dependents() {
    let (fleet, web, _) = two_hosts();
    let in_order = |paths: Vec<&String>| -> DrvGraph {
        let mut graph = DrvGraph::new();
        graph.add_derivations(paths.into_iter().map(|path| (path.clone(), fleet.drvs[path].clone())));
        graph
    };
    let inputs_first = in_order(fleet.order.iter().collect());
    let dependents_first = in_order(fleet.order.iter().rev().collect());
    for graph in [&dependents_first, &inputs_first] {
        assert!(graph.missing_inputs().is_empty());
        assert_eq!((graph.node_count(), graph.edge_count()), (6, 9));
        assert_eq!(graph.closure(&web).len(), 4);
    }
    assert_eq!(dependents_first.to_json(None), inputs_first.to_json(None));
}

#[test]
fn closure_holds_the_root_and_everything_it_needs() {
    let (fleet, web, db) = two_hosts();
    let graph = fleet.graph(&[]);
    let names = |root: &str| -> BTreeSet<&str> { graph.closure(root).into_iter().map(nxe_graph::drv_name).collect() };
    assert_eq!(names(&web), BTreeSet::from(["system-web-01", "nginx", "bash", "glibc"]));
    assert_eq!(names(&db), BTreeSet::from(["system-db-01", "postgresql", "bash", "glibc"]));
    let glibc = fleet.drvs.keys().find(|p| p.ends_with("-glibc.drv")).expect("glibc");
    assert_eq!(graph.closure(glibc), BTreeSet::from([glibc.as_str()]));
    assert!(graph.closure("/nix/store/00000000000000000000000000000000-unknown.drv").is_empty());
}

#[test]
fn missing_inputs_lists_references_never_added() {
    let (mut fleet, web, _) = two_hosts();
    let nginx = fleet.drvs.keys().find(|p| p.ends_with("-nginx.drv")).expect("nginx").clone();
    fleet.drvs.remove(&nginx);
    let graph = fleet.graph(&[(RootKind::Host, "web-01", &web), (RootKind::Host, "gone", "/nix/store/x-gone.drv")]);
    assert_eq!(graph.missing_inputs(), vec![(web.clone(), nginx.clone())]);
    assert_eq!(graph.missing_roots(), vec![(RootKind::Host, "gone".to_owned(), "/nix/store/x-gone.drv".to_owned())]);
    // The missing input is still part of the closure; what it needs is unknown.
    let closure = graph.closure(&web);
    assert!(closure.contains(nginx.as_str()));
    assert_eq!(closure.len(), 4, "web, nginx (missing), bash, glibc (through bash)");
    assert!(graph.derivation(&nginx).is_none());
    assert_eq!(graph.stats().n_missing, 1);

    // Adding it later fills the hole.
    let mut complete = graph.clone();
    let (full, _, _) = two_hosts();
    complete.add_derivations(full.drvs.into_iter().filter(|(path, _)| *path == nginx));
    assert!(complete.missing_inputs().is_empty());
    assert_eq!(complete.edge_count(), graph.edge_count() + 2);
}

#[test]
fn add_root_replaces_a_root_of_the_same_kind_and_name() {
    let (fleet, web, db) = two_hosts();
    let mut graph = fleet.graph(&[(RootKind::Host, "web-01", &web)]);
    graph.add_root(RootKind::Check, "web-01", &db);
    graph.add_root(RootKind::Host, "web-01", &db);
    assert_eq!(graph.root(RootKind::Host, "web-01"), Some(db.as_str()));
    assert_eq!(graph.root(RootKind::Check, "web-01"), Some(db.as_str()));
    assert_eq!(graph.roots().len(), 2);
}
