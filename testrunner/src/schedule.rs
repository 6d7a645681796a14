//! Builds as a DAG: the closures of the requested derivations (checks, hosts' systems) are
//! merged into one petgraph graph (`nxe_graph::DrvGraph`), and every derivation is built as
//! soon as its inputs are, on the run's worker threads, each exactly once however many
//! roots need it. A failed derivation fails every derivation that depends on it without
//! building them; with `fail_fast`, nothing new starts after the first failure.

use crate::build::{BuildError, BuildRequest, Builder};
use nxe_evaluator::AddedPath;
use nxe_graph::DrvGraph;
use nxe_store::Derivation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How one derivation of the DAG ended.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeResult {
    /// Built (or already present), after `attempts` tries; its outputs.
    Built {
        /// Output name to store path.
        outputs: BTreeMap<String, String>,
        /// 1 when the first try succeeded.
        attempts: u32,
        /// The error of the first failed try, when a retry succeeded.
        first_error: Option<String>,
    },
    /// Its builder failed (the message names the log).
    Failed(String),
    /// An input failed, so it was not built.
    DependencyFailed(String),
    /// Not started: the run stopped at a failure (`--fail-fast`).
    NotStarted,
}

/// What to build and how.
pub struct BuildPlan<'a> {
    /// Every derivation the evaluations made.
    pub derivations: &'a BTreeMap<String, Derivation>,
    /// Every other store object they added.
    pub added_paths: &'a BTreeMap<String, AddedPath>,
    /// The derivations asked for.
    pub roots: &'a [String],
    /// How long one derivation's build may take.
    pub timeout: Option<Duration>,
    /// Where logs go.
    pub log_dir: &'a Path,
    /// Extra tries of a failed derivation.
    pub retries: u32,
    /// Stop starting builds after the first failure.
    pub fail_fast: bool,
}

/// Shared state of a run of the DAG.
struct Progress {
    results: BTreeMap<String, NodeResult>,
    waiting: BTreeMap<String, usize>,
}

/// Builds every derivation the roots need; the result of each, by `.drv` path. Call it on a
/// rayon pool: builds run on its threads.
pub fn build_dag(plan: &BuildPlan<'_>, builder: &dyn Builder) -> BTreeMap<String, NodeResult> {
    let mut graph = DrvGraph::new();
    graph.add_derivations(plan.derivations.iter().map(|(path, drv)| (path.clone(), drv.clone())));
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    for root in plan.roots {
        nodes.extend(graph.closure(root).into_iter().map(str::to_string));
    }
    // Edges of the graph go from a derivation to its inputs.
    let mut inputs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dependents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in &nodes {
        let Some(index) = graph.node_index(node) else { continue };
        let petgraph = graph.petgraph();
        for input in petgraph.neighbors(index) {
            let input = petgraph[input].path.clone();
            inputs.entry(node.clone()).or_default().push(input.clone());
            dependents.entry(input).or_default().push(node.clone());
        }
    }
    let waiting = nodes.iter().map(|n| (n.clone(), inputs.get(n).map_or(0, Vec::len))).collect();
    let progress = Mutex::new(Progress { results: BTreeMap::new(), waiting });
    let stopped = AtomicBool::new(false);
    let ready: Vec<String> = nodes.iter().filter(|n| inputs.get(*n).is_none_or(Vec::is_empty)).cloned().collect();
    let context = Context { plan, builder, dependents: &dependents, progress: &progress, stopped: &stopped };
    rayon::scope(|scope| {
        for node in ready {
            context.spawn(scope, node);
        }
    });
    let mut results = progress.into_inner().map(|p| p.results).unwrap_or_default();
    for node in nodes {
        results.entry(node).or_insert(NodeResult::NotStarted);
    }
    results
}

struct Context<'a, 'p> {
    plan: &'a BuildPlan<'p>,
    builder: &'a dyn Builder,
    dependents: &'a BTreeMap<String, Vec<String>>,
    progress: &'a Mutex<Progress>,
    stopped: &'a AtomicBool,
}

impl<'a, 'p> Context<'a, 'p> {
    fn spawn<'s>(&'s self, scope: &rayon::Scope<'s>, node: String)
    where
        'a: 's,
    {
        scope.spawn(move |scope| {
            if self.stopped.load(Ordering::Relaxed) {
                return;
            }
            let result = self.build(&node);
            if !matches!(result, NodeResult::Built { .. }) && self.plan.fail_fast {
                self.stopped.store(true, Ordering::Relaxed);
            }
            let mut now_ready = Vec::new();
            if let Ok(mut progress) = self.progress.lock() {
                let failed = !matches!(result, NodeResult::Built { .. });
                progress.results.insert(node.clone(), result);
                if failed {
                    self.fail_dependents(&mut progress, &node, &node);
                } else {
                    for dependent in self.dependents.get(&node).into_iter().flatten() {
                        if progress.results.contains_key(dependent) {
                            continue;
                        }
                        if let Some(count) = progress.waiting.get_mut(dependent) {
                            *count = count.saturating_sub(1);
                            if *count == 0 {
                                now_ready.push(dependent.clone());
                            }
                        }
                    }
                }
            }
            for dependent in now_ready {
                self.spawn(scope, dependent);
            }
        });
    }

    /// Marks everything above a failed derivation as not built.
    fn fail_dependents(&self, progress: &mut Progress, node: &str, failed: &str) {
        for dependent in self.dependents.get(node).into_iter().flatten() {
            if progress.results.contains_key(dependent) {
                continue;
            }
            progress.results.insert(dependent.clone(), NodeResult::DependencyFailed(failed.to_string()));
            self.fail_dependents(progress, dependent, failed);
        }
    }

    fn build(&self, node: &str) -> NodeResult {
        let mut first_error = None;
        for attempt in 1..=self.plan.retries + 1 {
            let request = BuildRequest {
                drv_path: node,
                derivations: self.plan.derivations,
                added_paths: self.plan.added_paths,
                timeout: self.plan.timeout,
                log_dir: self.plan.log_dir,
            };
            match self.builder.build(&request) {
                Ok(outcome) => {
                    return NodeResult::Built { outputs: outcome.outputs, attempts: attempt, first_error };
                }
                Err(error) => {
                    let message = describe(&error);
                    if attempt > self.plan.retries {
                        return NodeResult::Failed(message);
                    }
                    first_error.get_or_insert(message);
                }
            }
        }
        NodeResult::Failed(first_error.unwrap_or_default())
    }
}

/// A build error with its log.
fn describe(error: &BuildError) -> String {
    let message = error.to_string();
    match error.log() {
        Some(log) if !message.contains(&log.display().to_string()) => format!("{message} (log: {})", log.display()),
        _ => message,
    }
}
