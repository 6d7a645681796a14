//! [`GraphStats`]: how big the graph is and how much the roots share, as
//! numbers for JSON and as a table for humans.
//!
//! A derivation in a root's closure is *shared* when at least one other root
//! of the same kind needs it too, and *unique* otherwise: the unique part of
//! a host is what building that host alone costs once the others are built.

use std::fmt;

use serde::Serialize;

use crate::graph::{DrvGraph, RootKind};

/// Sizes of the graph and of every root's closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphStats {
    /// Derivations added to the graph.
    pub n_derivations: usize,
    /// Input derivations referenced but never added.
    pub n_missing: usize,
    /// Edges (input references between derivations).
    pub n_edges: usize,
    /// Derivations in the closure of every host (0 when there is no host).
    pub n_shared_by_all_hosts: usize,
    /// One entry per root, sorted by kind then name.
    pub roots: Vec<RootStats>,
}

/// Closure sizes of one root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootStats {
    /// The kind of root.
    pub kind: RootKind,
    /// Its name.
    pub name: String,
    /// Its drvPath.
    pub drv_path: String,
    /// Derivations in its closure, itself included.
    pub closure: usize,
    /// Those also in the closure of another root of the same kind.
    pub shared: usize,
    /// Those in no other root of the same kind (`closure - shared`).
    pub unique: usize,
}

impl DrvGraph {
    /// Counts nodes and edges, and for each root the size of its closure and
    /// how much of it other roots of the same kind share (see [`GraphStats`]).
    pub fn stats(&self) -> GraphStats {
        let n_nodes = self.node_count();
        let closures: Vec<_> = self.roots().iter().map(|(key, path)| (key, path, self.closure_nodes(path))).collect();
        // How many roots of each kind need each node, indexed by node.
        let mut users = [vec![0u32; n_nodes], vec![0u32; n_nodes]];
        for ((kind, _), _, closure) in &closures {
            for node in closure {
                users[kind_slot(*kind)][node.index()] += 1;
            }
        }
        let roots = closures
            .iter()
            .map(|((kind, name), path, closure)| {
                let counts = &users[kind_slot(*kind)];
                let shared = closure.iter().filter(|node| counts[node.index()] > 1).count();
                RootStats {
                    kind: *kind,
                    name: name.clone(),
                    drv_path: (*path).clone(),
                    closure: closure.len(),
                    shared,
                    unique: closure.len() - shared,
                }
            })
            .collect();
        let n_hosts = self.roots().keys().filter(|(kind, _)| *kind == RootKind::Host).count();
        let host_counts = &users[kind_slot(RootKind::Host)];
        let n_shared_by_all_hosts =
            if n_hosts == 0 { 0 } else { host_counts.iter().filter(|&&n| n as usize == n_hosts).count() };
        let n_missing = self.petgraph().node_weights().filter(|node| node.drv.is_none()).count();
        GraphStats {
            n_derivations: n_nodes - n_missing,
            n_missing,
            n_edges: self.edge_count(),
            n_shared_by_all_hosts,
            roots,
        }
    }
}

fn kind_slot(kind: RootKind) -> usize {
    match kind {
        RootKind::Host => 0,
        RootKind::Check => 1,
    }
}

impl fmt::Display for GraphStats {
    /// A summary line, then a table of roots with right-aligned numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "derivations: {}, edges: {}, missing inputs: {}, shared by all hosts: {}",
            self.n_derivations, self.n_edges, self.n_missing, self.n_shared_by_all_hosts
        )?;
        let name_width = self.roots.iter().map(|root| root.name.chars().count()).max().unwrap_or(0).max(4);
        writeln!(f, "{:<5}  {:<name_width$}  {:>7}  {:>7}  {:>7}", "kind", "root", "closure", "shared", "unique")?;
        for root in &self.roots {
            writeln!(
                f,
                "{:<5}  {:<name_width$}  {:>7}  {:>7}  {:>7}",
                root.kind.as_str(),
                root.name,
                root.closure,
                root.shared,
                root.unique
            )?;
        }
        Ok(())
    }
}
