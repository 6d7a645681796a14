//! [`DrvGraph`]: one node per drvPath, edges from each derivation to its
//! input derivations, and the named roots (hosts, checks) of a fleet.
//!
//! Evaluations of different hosts create overlapping sets of derivations;
//! the graph keeps one node per drvPath, whichever evaluation delivered it
//! first (a drvPath is a hash of the whole derivation, so every copy is the
//! same). Derivations may arrive in any order: an input referenced before it
//! is added gets a placeholder node that is filled in when it arrives.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use nxe_store::Derivation;
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::Dfs;
use petgraph::Direction;
use serde::{Deserialize, Serialize};

/// What a root stands for.
///
/// The order (hosts before checks) is the order roots are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootKind {
    /// The toplevel (system) derivation of a host, named after the host (`web-01`).
    Host,
    /// A check, named `<host>.<check>` (`web-01.vm-test`) or after the fleet-wide check.
    Check,
}

impl RootKind {
    /// `"host"` or `"check"`, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RootKind::Host => "host",
            RootKind::Check => "check",
        }
    }
}

impl fmt::Display for RootKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of graph queries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A root name that no root of any kind has.
    #[error("no root named '{name}'")]
    UnknownRoot {
        /// The name asked for.
        name: String,
    },
}

/// A node of the graph: a drvPath and, once it has been added, its derivation.
#[derive(Debug, Clone)]
pub struct DrvNode {
    /// The absolute drvPath.
    pub path: String,
    /// The derivation; `None` while the node is only referenced as an input.
    pub drv: Option<Arc<Derivation>>,
}

/// The derivation graph of a fleet.
///
/// Edges point from a derivation to each of its input derivations
/// (dependent -> input, the direction of store references), so the
/// closure of a root is everything reachable from it and the derivations
/// affected by a change are found by walking edges backwards.
#[derive(Debug, Clone, Default)]
pub struct DrvGraph {
    graph: Graph<DrvNode, ()>,
    index: BTreeMap<String, NodeIndex>,
    roots: BTreeMap<(RootKind, String), String>,
}

impl DrvGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds derivations by drvPath, as an evaluation returns them.
    ///
    /// A drvPath already present is skipped; inputs may be added before or
    /// after the derivations that use them. Accepts owned derivations or
    /// `Arc`s shared with other graphs.
    pub fn add_derivations<D: Into<Arc<Derivation>>>(&mut self, drvs: impl IntoIterator<Item = (String, D)>) {
        for (path, drv) in drvs {
            self.add_derivation(path, drv.into());
        }
    }

    /// Adds one derivation (see [`DrvGraph::add_derivations`]); returns whether it was new.
    pub fn add_derivation(&mut self, path: String, drv: Arc<Derivation>) -> bool {
        let node = self.node_or_placeholder(path);
        if self.graph[node].drv.is_some() {
            return false;
        }
        for input in drv.input_drvs.keys() {
            let input_node = self.node_or_placeholder(input.clone());
            self.graph.add_edge(node, input_node, ());
        }
        self.graph[node].drv = Some(drv);
        true
    }

    fn node_or_placeholder(&mut self, path: String) -> NodeIndex {
        if let Some(&node) = self.index.get(&path) {
            return node;
        }
        let node = self.graph.add_node(DrvNode { path: path.clone(), drv: None });
        self.index.insert(path, node);
        node
    }

    /// Names `drv_path` as the root `name` of `kind`, replacing an earlier
    /// root of the same kind and name. The derivation may be added later.
    pub fn add_root(&mut self, kind: RootKind, name: &str, drv_path: &str) {
        self.roots.insert((kind, name.to_owned()), drv_path.to_owned());
    }

    /// Adds everything `other` holds (typically the graph of another worker).
    ///
    /// Derivations are deduplicated by drvPath; a root of `other` replaces a
    /// root of the same kind and name in `self`.
    pub fn merge(&mut self, other: DrvGraph) {
        let (nodes, _) = other.graph.into_nodes_edges();
        for node in nodes {
            match node.weight.drv {
                Some(drv) => {
                    self.add_derivation(node.weight.path, drv);
                }
                None => {
                    self.node_or_placeholder(node.weight.path);
                }
            }
        }
        self.roots.extend(other.roots);
    }

    /// Every derivation `drv_path` needs to be built, itself included; empty
    /// if the graph does not know `drv_path`.
    ///
    /// Inputs that were referenced but never added are included (they are
    /// needed) but have no known inputs of their own; see [`DrvGraph::missing_inputs`].
    pub fn closure(&self, drv_path: &str) -> BTreeSet<&str> {
        self.closure_nodes(drv_path).into_iter().map(|node| self.graph[node].path.as_str()).collect()
    }

    /// The closure of `drv_path` as node indices, in depth-first order.
    pub(crate) fn closure_nodes(&self, drv_path: &str) -> Vec<NodeIndex> {
        let Some(&start) = self.index.get(drv_path) else { return Vec::new() };
        let mut dfs = Dfs::new(&self.graph, start);
        let mut nodes = Vec::new();
        while let Some(node) = dfs.next(&self.graph) {
            nodes.push(node);
        }
        nodes
    }

    /// Input derivations referenced but never added, as sorted
    /// `(dependent drvPath, input drvPath)` pairs; empty for a complete evaluation.
    pub fn missing_inputs(&self) -> Vec<(String, String)> {
        let mut missing = Vec::new();
        for (path, &node) in &self.index {
            if self.graph[node].drv.is_none() {
                for dependent in self.graph.neighbors_directed(node, Direction::Incoming) {
                    missing.push((self.graph[dependent].path.clone(), path.clone()));
                }
            }
        }
        missing.sort();
        missing
    }

    /// Roots whose derivation was never added, as `(kind, name, drvPath)`.
    pub fn missing_roots(&self) -> Vec<(RootKind, String, String)> {
        self.roots
            .iter()
            .filter(|(_, path)| self.derivation(path).is_none())
            .map(|((kind, name), path)| (*kind, name.clone(), path.clone()))
            .collect()
    }

    /// The derivation at `drv_path`, if it has been added.
    pub fn derivation(&self, drv_path: &str) -> Option<&Derivation> {
        self.index.get(drv_path).and_then(|&node| self.graph[node].drv.as_deref())
    }

    /// The roots, sorted by kind then name, each with its drvPath.
    pub fn roots(&self) -> &BTreeMap<(RootKind, String), String> {
        &self.roots
    }

    /// The drvPath of the root `name` of `kind`.
    pub fn root(&self, kind: RootKind, name: &str) -> Option<&str> {
        self.roots.get(&(kind, name.to_owned())).map(String::as_str)
    }

    /// The number of nodes: derivations added plus inputs only referenced.
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// The number of edges (input references between derivations).
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Every drvPath the graph knows, sorted (including referenced-only inputs).
    pub fn drv_paths(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// The underlying petgraph graph, for algorithms this crate does not offer.
    pub fn petgraph(&self) -> &Graph<DrvNode, ()> {
        &self.graph
    }

    /// The node of `drv_path` in [`DrvGraph::petgraph`].
    pub fn node_index(&self, drv_path: &str) -> Option<NodeIndex> {
        self.index.get(drv_path).copied()
    }

    /// The roots selected by `names` (every root when `None`), sorted by kind
    /// then name. A name selects the roots of every kind that have it.
    pub(crate) fn select_roots(
        &self,
        names: Option<&[String]>,
    ) -> Result<BTreeMap<(RootKind, String), String>, GraphError> {
        let Some(names) = names else { return Ok(self.roots.clone()) };
        let mut selected = BTreeMap::new();
        for name in names {
            let matching: Vec<_> = self.roots.iter().filter(|((_, root), _)| root == name).collect();
            if matching.is_empty() {
                return Err(GraphError::UnknownRoot { name: name.clone() });
            }
            selected.extend(matching.into_iter().map(|(key, path)| (key.clone(), path.clone())));
        }
        Ok(selected)
    }

    /// The union of the closures of the derivations `roots`, as node indices.
    pub(crate) fn closure_of_roots<'a>(&self, roots: impl IntoIterator<Item = &'a String>) -> BTreeSet<NodeIndex> {
        roots.into_iter().flat_map(|path| self.closure_nodes(path)).collect()
    }
}
