//! nxe-graph: the derivation graph of a fleet, built on petgraph.
//!
//! Each evaluation (one per host, possibly on different threads) yields the
//! derivations it created by drvPath; [`DrvGraph`] merges them into one
//! graph with a node per drvPath and an edge from each derivation to each of
//! its input derivations, and names its roots: the toplevel of every host
//! and every check ([`RootKind`]). On it this crate answers:
//!
//! * [`DrvGraph::closure`]: what a root needs;
//! * [`DrvGraph::stats`]: sizes, and how much hosts and checks share ([`GraphStats`]);
//! * [`DrvGraph::to_json`] and [`DrvGraph::to_dot`]: deterministic exports;
//! * [`DrvGraph::missing_inputs`]: holes left by an incomplete evaluation;
//! * [`diff()`]: which roots two fleets (say, two revisions) differ in, and
//!   the derivations that cause each difference ([`FleetDiff`]).
//!
//! It evaluates nothing and reads no files: derivations come from the
//! evaluator (or [`nxe_store::Derivation::parse`]); scheduling and caching
//! are the engine's business.
//!
//! # Example
//!
//! ```
//! use nxe_graph::{DrvGraph, RootKind};
//! use nxe_store::{Derivation, Output};
//!
//! let mut lib = Derivation::default();
//! lib.outputs.insert("out".into(), Output::input_addressed("/nix/store/bbbb-lib"));
//! let mut app = Derivation::default();
//! app.outputs.insert("out".into(), Output::input_addressed("/nix/store/cccc-app"));
//! app.input_drvs.insert("/nix/store/aaaa-lib.drv".into(), ["out".to_owned()].into());
//!
//! // Per-worker graphs, in any order, merged and deduplicated by drvPath.
//! let mut graph = DrvGraph::new();
//! graph.add_derivations([("/nix/store/dddd-app.drv".to_owned(), app)]);
//! graph.add_root(RootKind::Host, "web-01", "/nix/store/dddd-app.drv");
//! let mut other = DrvGraph::new();
//! other.add_derivations([("/nix/store/aaaa-lib.drv".to_owned(), lib)]);
//! graph.merge(other);
//!
//! assert!(graph.missing_inputs().is_empty());
//! assert_eq!(graph.closure("/nix/store/dddd-app.drv").len(), 2);
//! assert_eq!(graph.stats().roots[0].unique, 2);
//! ```
#![warn(missing_docs)]

pub mod diff;
pub mod export;
pub mod graph;
pub mod names;
mod normalise;
pub mod render;
pub mod stats;

pub use diff::{diff, Cause, Change, FleetDiff, RootDiff, RootStatus, Side};
pub use graph::{DrvGraph, DrvNode, GraphError, RootKind};
pub use names::{drv_name, store_path_name};
pub use stats::{GraphStats, RootStats};
