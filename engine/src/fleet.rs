//! Evaluating a whole fleet in parallel: every host's top-level derivation and every check,
//! one evaluator per worker thread (compiled files are shared), results streamed as they
//! finish, and every derivation the evaluations made collected into one graph.
//!
//! A worker keeps its evaluator from one host to the next, so what hosts share (the lib, the
//! packages) is evaluated once per worker. When a worker's heap passes its memory budget
//! between two hosts, the evaluator is dropped and the next host starts afresh; when it
//! passes it during a host, that host is interrupted and retried alone at the end, after
//! the parallel phase, without a budget.

use crate::config::{join_attr_path, Repo};
use crate::flake::FlakeSetup;
use crate::{memory, EngineError};
use nxe_evaluator::diagnostics;
use nxe_evaluator::eval::CodeCache;
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::value::Attrs;
use nxe_evaluator::{ErrorKind, EvalError, EvalIo, EvalResult, EvalSettings, Evaluation, Source, Value};
use nxe_graph::{DrvGraph, RootKind};
use nxe_store::Derivation;
use serde::Serialize;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

/// Stack size of worker threads: deep but legal Nix recursion must fit.
pub(crate) const WORKER_STACK: usize = 1 << 30;

/// How to evaluate a fleet.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// Worker threads (at least one).
    pub threads: usize,
    /// Memory budget of each worker in bytes (`None`: unlimited).
    pub max_memory: Option<u64>,
    /// Only these hosts (all when empty); unknown names are an error.
    pub only_hosts: Vec<String>,
    /// Evaluate the checks too.
    pub checks: bool,
    /// Collect every derivation into a graph.
    pub graph: bool,
    /// Keep the compiled files in the repository's cache directory (`.nxe/code`, as `nxe
    /// test` does), and decode those kept there by earlier runs, when that directory exists
    /// (a fleet evaluation makes none: the repository is left as it is). Not for a
    /// temporary checkout, whose paths are new every run.
    pub keep_code: bool,
}

impl Default for FleetOptions {
    fn default() -> FleetOptions {
        FleetOptions {
            threads: default_threads(),
            max_memory: None,
            only_hosts: Vec::new(),
            checks: false,
            graph: false,
            keep_code: false,
        }
    }
}

/// The number of cores, the default number of workers.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The default memory budget per worker: half the machine's memory shared by the workers.
pub fn default_max_memory(threads: usize) -> Option<u64> {
    memory::physical_memory().map(|total| total / 2 / threads.max(1) as u64)
}

/// What a host's evaluation gave.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostResult {
    /// The host's attribute name.
    pub name: String,
    /// Its top-level derivation's `.drv` path, when it evaluated.
    #[serde(rename = "drvPath")]
    pub drv_path: Option<String>,
    /// The error, in short (`message at FILE:LINE:COL`), when it did not.
    pub error: Option<String>,
    /// Wall time of its evaluation on its worker.
    pub seconds: f64,
    /// Whether it was interrupted by the memory budget and evaluated again alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
}

/// What a check's evaluation gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CheckResult {
    /// The check's attribute path below the checks' set, joined with dots.
    pub name: String,
    /// The host it belongs to, when its first attribute name is a host's.
    pub host: Option<String>,
    /// Its `.drv` path, when it evaluated.
    #[serde(rename = "drvPath")]
    pub drv_path: Option<String>,
    /// The error, in short, when it did not.
    pub error: Option<String>,
}

/// A result as it arrives.
#[derive(Clone, Debug)]
pub enum Event {
    /// A host finished.
    Host(HostResult),
    /// A check finished.
    Check(CheckResult),
    /// A host passed its worker's memory budget and waits to be evaluated alone.
    Deferred(String),
}

/// Everything a fleet evaluation gave, sorted by name.
#[derive(Debug, Default)]
pub struct FleetEval {
    /// Every selected host.
    pub hosts: Vec<HostResult>,
    /// Every check (when asked for).
    pub checks: Vec<CheckResult>,
    /// Every derivation the evaluations made, with hosts and checks as roots (when asked for).
    pub graph: DrvGraph,
    /// Worker threads used.
    pub threads: usize,
}

impl FleetEval {
    /// Whether any host or check failed to evaluate.
    pub fn any_failed(&self) -> bool {
        self.hosts.iter().any(|h| h.error.is_some()) || self.checks.iter().any(|c| c.error.is_some())
    }
}

/// One unit of parallel work.
#[derive(Clone, Debug)]
enum Item {
    /// A host's top-level derivation, then, when true, the entry of the checks' set of the
    /// same name (which reads the host: done by the same worker, it is evaluated once).
    Host(String, bool),
    /// One entry of the checks' set (a derivation or a set of them).
    Checks(String),
}

/// How much a worker's evaluation may grow (bytes, a quarter of its budget when that is
/// less) before it is dropped after a host and the next host starts a fresh one. The hosts
/// of one evaluation stay alive together (the set of hosts holds them), so without this a
/// worker's memory grows with the fleet.
///
/// A worker's first evaluation does not track scopes, which costs a few percent of its
/// time and more memory (measured on the example fleet, whose workers never reach this):
/// dropped, it frees only what no cycle holds. Once one passed this size, the thread's
/// next evaluations track scopes, so that each is freed whole when it passes it in turn.
/// A fresh evaluation evaluates again what the hosts share (the packages, the library), a
/// few percent of a host's work.
pub const RECYCLE_AFTER: usize = 256 << 20;

/// What a worker sends back.
enum Message {
    Event(Event),
    Derivations(BTreeMap<String, Derivation>),
    /// A worker could not start (the repository's root failed to evaluate).
    Failed(String),
}

/// Evaluates the fleet: lists hosts (and checks), evaluates them on `options.threads`
/// workers and calls `on_event` for each result as it arrives (on the calling thread).
pub fn evaluate_fleet(
    repo: &Repo,
    options: &FleetOptions,
    mut on_event: impl FnMut(&Event),
) -> Result<FleetEval, EngineError> {
    let code = Arc::new(CodeCache::default());
    // A later run decodes the files kept there instead of parsing and compiling them again.
    let cache_dir = crate::impact::cache_dir(repo, None);
    if options.keep_code && cache_dir.is_dir() {
        code.keep_in(crate::units::code_store(repo, &cache_dir));
    }
    let threads = options.threads.max(1);
    let flake = match repo.kind {
        crate::config::RepoKind::Flake => Some(Arc::new(FlakeSetup::new(repo)?)),
        crate::config::RepoKind::Plain => None,
    };
    let shared = Shared { repo, code: code.clone(), flake };
    let shared = &shared;
    let listing = {
        let checks = options.checks;
        run_on_big_stack(move || {
            let mut worker = Worker::new(shared, None);
            worker.listing(checks)
        })?
    };
    let (host_names, check_names) = listing.map_err(EngineError::Eval)?;
    let hosts: Vec<String> = if options.only_hosts.is_empty() {
        host_names.clone()
    } else {
        for wanted in &options.only_hosts {
            if !host_names.contains(wanted) {
                return Err(EngineError::Config(format!(
                    "no host named '{wanted}' in {} (hosts: {})",
                    join_attr_path(&repo.hosts_attr),
                    host_names.join(", ")
                )));
            }
        }
        host_names.iter().filter(|h| options.only_hosts.contains(h)).cloned().collect()
    };
    let mut items: Vec<Item> = hosts.iter().map(|host| Item::Host(host.clone(), check_names.contains(host))).collect();
    items.extend(check_names.iter().filter(|name| !hosts.contains(name)).cloned().map(Item::Checks));

    let budget = options.max_memory.filter(|_| memory::accounting_active());
    let mut result = FleetEval { threads, ..FleetEval::default() };
    let mut deferred = Vec::new();
    let mut derivations: Vec<BTreeMap<String, Derivation>> = Vec::new();
    let mut failure = None;
    let mut handle = |message: Message, result: &mut FleetEval, deferred: &mut Vec<String>| match message {
        Message::Event(event) => {
            on_event(&event);
            match event {
                Event::Host(host) => result.hosts.push(host),
                Event::Check(check) => result.checks.push(check),
                Event::Deferred(name) => deferred.push(name),
            }
        }
        Message::Derivations(map) => derivations.push(map),
        Message::Failed(message) => failure = Some(message),
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.min(items.len().max(1)))
        .stack_size(WORKER_STACK)
        .thread_name(|i| format!("nxe-worker-{i}"))
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot start worker threads: {e}")))?;
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<Message>();
    std::thread::scope(|scope| {
        let items = &items;
        let next = &next;
        let collect = options.graph;
        scope.spawn(move || {
            pool.broadcast(|_| {
                let sender = sender.clone();
                work(shared, items, next, budget, collect, &sender);
            });
            drop(sender);
        });
        for message in receiver {
            handle(message, &mut result, &mut deferred);
        }
    });

    // Hosts that passed the budget, one at a time, with no budget.
    for name in deferred {
        let collect = options.graph;
        let checks = check_names.contains(&name);
        let messages = run_on_big_stack(move || {
            let (sender, receiver) = mpsc::channel();
            let next = AtomicUsize::new(0);
            work(shared, &[Item::Host(name, checks)], &next, None, collect, &sender);
            drop(sender);
            receiver.into_iter().collect::<Vec<_>>()
        })?;
        for message in messages {
            if let Message::Event(Event::Host(mut host)) = message {
                host.retried = true;
                handle(Message::Event(Event::Host(host)), &mut result, &mut Vec::new());
            } else {
                handle(message, &mut result, &mut Vec::new());
            }
        }
    }
    if let Some(message) = failure {
        return Err(EngineError::Eval(message));
    }

    result.hosts.sort_by(|a, b| a.name.cmp(&b.name));
    result.checks.sort_by(|a, b| a.name.cmp(&b.name));
    if options.graph {
        for map in derivations {
            result.graph.add_derivations(map);
        }
        for host in &result.hosts {
            if let Some(drv) = &host.drv_path {
                result.graph.add_root(RootKind::Host, &host.name, drv);
            }
        }
        for check in &result.checks {
            if let Some(drv) = &check.drv_path {
                result.graph.add_root(RootKind::Check, &check.name, drv);
            }
        }
    }
    Ok(result)
}

/// Runs `f` on a fresh thread with a worker's stack.
fn run_on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, EngineError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("nxe-eval".into())
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, f)
            .map_err(|e| EngineError::Internal(format!("cannot start an evaluation thread: {e}")))?;
        handle.join().map_err(|_| EngineError::Internal("an evaluation thread panicked".into()))
    })
}

thread_local! {
    /// This worker's memory budget in bytes (0: none), read by [`over_budget`].
    pub(crate) static BUDGET: Cell<usize> = const { Cell::new(0) };
    /// Whether [`over_budget`] stopped an evaluation on this thread since it was last reset.
    pub(crate) static INTERRUPTED: Cell<bool> = const { Cell::new(false) };
    /// Bytes a dropped evaluation left allocated on this thread (its cycles, when it did
    /// not track scopes), which [`over_budget`] does not count.
    static LEFT_OVER: Cell<usize> = const { Cell::new(0) };
}

/// The evaluator's interrupt hook: stops a host whose worker passed its budget.
pub(crate) fn over_budget() -> Option<String> {
    let budget = BUDGET.with(Cell::get);
    let live = memory::thread_live_bytes().saturating_sub(LEFT_OVER.with(Cell::get));
    let over = budget > 0 && live > budget;
    if over {
        INTERRUPTED.with(|i| i.set(true));
    }
    over.then(|| format!("worker memory budget of {} MiB exceeded", budget >> 20))
}

/// What every worker shares: the repository, compiled files, the resolved flake.
pub(crate) struct Shared<'a> {
    pub(crate) repo: &'a Repo,
    pub(crate) code: Arc<CodeCache>,
    pub(crate) flake: Option<Arc<FlakeSetup>>,
}

/// One worker's loop: takes items until none are left. The worker's evaluation is dropped
/// and a fresh one started when a host made it grow past [`RECYCLE_AFTER`] or pass its
/// budget.
fn work(
    shared: &Shared<'_>,
    items: &[Item],
    next: &AtomicUsize,
    budget: Option<u64>,
    collect: bool,
    sender: &mpsc::Sender<Message>,
) {
    BUDGET.with(|b| b.set(budget.map_or(0, |b| b as usize)));
    LEFT_OVER.with(|l| l.set(0));
    let recycle_after = budget.map_or(RECYCLE_AFTER, |b| RECYCLE_AFTER.min(b as usize / 4));
    let baseline = memory::thread_live_bytes();
    let mut worker: Option<Worker> = None;
    let mut started_at = baseline;
    // Whether this thread's evaluations track scopes (from its second one on).
    let mut tracking = false;
    let harvest = |mut worker: Worker, last: bool, tracking: bool| {
        if collect {
            let _ = sender.send(Message::Derivations(worker.take_store_objects().0));
        }
        match tracking.then(nxe_evaluator::value::take_tracked_scopes) {
            Some(tracked) if !last => crate::units::free_whole(worker, tracked),
            tracked => crate::units::let_go((worker, tracked)),
        }
    };
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(index) else { break };
        let current = worker.get_or_insert_with(|| {
            started_at = memory::thread_live_bytes();
            if tracking {
                nxe_evaluator::value::track_scopes();
            }
            Worker::new(shared, budget.map(|_| over_budget as fn() -> _))
        });
        let mut interrupted = false;
        let mut checks_of = None;
        match item {
            Item::Host(name, with_checks) => {
                let started = Instant::now();
                let outcome = current.host(name);
                let seconds = started.elapsed().as_secs_f64();
                let event = match outcome {
                    Ok(drv_path) => Event::Host(HostResult {
                        name: name.clone(),
                        drv_path: Some(drv_path),
                        error: None,
                        seconds,
                        retried: false,
                    }),
                    Err(error) if matches!(error.kind(), ErrorKind::Interrupted(_)) => {
                        interrupted = true;
                        Event::Deferred(name.clone())
                    }
                    Err(error) => Event::Host(HostResult {
                        name: name.clone(),
                        drv_path: None,
                        error: Some(current.summary(&error)),
                        seconds,
                        retried: false,
                    }),
                };
                let _ = sender.send(Message::Event(event));
                if *with_checks && !interrupted {
                    checks_of = Some(name);
                }
            }
            Item::Checks(name) => checks_of = Some(name),
        }
        if let Some(name) = checks_of {
            match current.checks(name) {
                Ok(checks) => {
                    for check in checks {
                        let _ = sender.send(Message::Event(Event::Check(check)));
                    }
                }
                Err(message) => {
                    let _ = sender.send(Message::Failed(message));
                }
            }
        }
        let live = memory::thread_live_bytes();
        let counted = live.saturating_sub(LEFT_OVER.with(Cell::get));
        let over = budget.is_some_and(|b| counted.saturating_sub(baseline) as u64 > b);
        if interrupted || over || live.saturating_sub(started_at) > recycle_after {
            if let Some(done) = worker.take() {
                harvest(done, false, tracking);
                if !tracking {
                    // What the dropped evaluation left (its cycles) no longer counts
                    // against the budget.
                    let left = memory::thread_live_bytes().saturating_sub(started_at);
                    LEFT_OVER.with(|l| l.set(l.get() + left));
                }
                tracking = true;
            }
        }
    }
    if let Some(done) = worker.take() {
        harvest(done, true, tracking);
    }
    LEFT_OVER.with(|l| l.set(0));
}

/// One evaluator and the repository's root value.
pub(crate) struct Worker {
    pub(crate) evaluation: Evaluation,
    pub(crate) repo: Repo,
    flake: Option<Arc<FlakeSetup>>,
    root: Option<Value>,
    args: Option<Attrs>,
    sym_type: Symbol,
    sym_drv_path: Symbol,
    sym_recurse: Symbol,
}

impl Worker {
    fn new(shared: &Shared<'_>, interrupt: Option<fn() -> Option<String>>) -> Worker {
        Worker::with_io(shared, interrupt, base_io(shared))
    }

    /// A worker whose evaluator reaches files through `io`.
    pub(crate) fn with_io(
        shared: &Shared<'_>,
        interrupt: Option<fn() -> Option<String>>,
        io: Rc<dyn EvalIo>,
    ) -> Worker {
        let settings = settings_for(shared.repo, interrupt);
        let mut evaluation = Evaluation::with_io(settings, io, shared.code.clone());
        if let Some(flake) = &shared.flake {
            for (store_path, added) in flake.source_objects() {
                evaluation.evaluator().record_added_path(store_path, added);
            }
        }
        Worker {
            evaluation,
            repo: shared.repo.clone(),
            flake: shared.flake.clone(),
            root: None,
            args: None,
            sym_type: Symbol::intern("type"),
            sym_drv_path: Symbol::intern("drvPath"),
            sym_recurse: Symbol::intern("recurseForDerivations"),
        }
    }

    /// The repository's value, if something evaluated it already.
    pub(crate) fn root_if_evaluated(&self) -> Option<Value> {
        self.root.clone()
    }

    /// The repository's value: the entry file's value, or a flake's outputs.
    pub(crate) fn root(&mut self) -> EvalResult<Value> {
        if let Some(root) = &self.root {
            return Ok(root.clone());
        }
        let args = self.evaluation.auto_args(&self.repo.auto_args)?;
        let root = match self.repo.kind {
            crate::config::RepoKind::Plain => {
                let value = self.evaluation.load(&Source::File(self.repo.entry.display().to_string()))?;
                if args.is_empty() {
                    value
                } else {
                    self.evaluation.auto_call_always(value, &args)?
                }
            }
            crate::config::RepoKind::Flake => match &self.flake {
                Some(flake) => flake.outputs(&mut self.evaluation)?,
                None => return Err(EvalError::new(ErrorKind::Bug("a flake repository without its setup"))),
            },
        };
        self.args = Some(args);
        self.root = Some(root.clone());
        Ok(root)
    }

    pub(crate) fn args(&mut self) -> Attrs {
        self.args.clone().unwrap_or_default()
    }

    /// Selects `path` below `value`, as `-A` does.
    pub(crate) fn select(&mut self, value: Value, path: &[String], shown: &str) -> EvalResult<Value> {
        let args = self.args();
        let value = self.evaluation.select(value, path, &args, shown)?;
        self.evaluation.evaluator().force(&value)
    }

    /// The set of hosts.
    pub(crate) fn hosts_set(&mut self) -> EvalResult<Value> {
        let root = self.root()?;
        let path = self.repo.hosts_attr.clone();
        self.select(root, &path, &join_attr_path(&path))
    }

    /// Host names and top-level check names, sorted; an error is rendered in full.
    pub(crate) fn listing(&mut self, checks: bool) -> Result<(Vec<String>, Vec<String>), String> {
        let render = |error: EvalError| diagnostics::render(&error, false, false);
        let hosts = match self.hosts_set().map_err(render)? {
            Value::Attrs(attrs) => attrs.iter().map(|a| a.name.as_str().to_string()).collect(),
            other => {
                return Err(format!(
                    "error: the hosts ({}) are {} while a set was expected",
                    join_attr_path(&self.repo.hosts_attr),
                    other.type_with_article()
                ))
            }
        };
        let mut check_names = Vec::new();
        if checks {
            let root = self.root().map_err(render)?;
            let path = self.repo.checks_attr.clone();
            match self.select(root, &path, &join_attr_path(&path)) {
                Ok(Value::Attrs(attrs)) => {
                    check_names = attrs
                        .iter()
                        .map(|a| a.name.as_str().to_string())
                        .filter(|name| name != "recurseForDerivations")
                        .collect()
                }
                Ok(other) => {
                    return Err(format!(
                        "error: the checks ({}) are {} while a set was expected",
                        join_attr_path(&path),
                        other.type_with_article()
                    ))
                }
                Err(error)
                    if !self.repo.checks_explicit
                        && matches!(error.kind(), ErrorKind::Other(m) if m.contains("not found")) => {}
                Err(error) => return Err(render(error)),
            }
        }
        Ok((hosts, check_names))
    }

    /// A host's top-level `.drv` path.
    pub(crate) fn host(&mut self, name: &str) -> EvalResult<String> {
        let hosts = self.hosts_set()?;
        let mut path = self.repo.hosts_attr.clone();
        path.push(name.to_string());
        let host = self.select(hosts, &path[path.len() - 1..], &join_attr_path(&path))?;
        let toplevel_attr = self.repo.toplevel_attr.clone();
        path.extend(toplevel_attr.iter().cloned());
        let toplevel = self.select(host, &toplevel_attr, &join_attr_path(&path))?;
        self.drv_path(&toplevel, &join_attr_path(&path))?
            .ok_or_else(|| EvalError::msg(format!("'{}' is not a derivation", join_attr_path(&path))))
    }

    /// The `.drv` path of a derivation, `None` for any other value.
    pub(crate) fn drv_path(&mut self, value: &Value, shown: &str) -> EvalResult<Option<String>> {
        let Value::Attrs(attrs) = value else { return Ok(None) };
        let ev = self.evaluation.evaluator();
        if !nxe_evaluator::builtins::is_derivation(ev, attrs)? {
            return Ok(None);
        }
        let Some(drv) = attrs.get(self.sym_drv_path).cloned() else {
            return Err(EvalError::msg(format!("the derivation '{shown}' has no drvPath")));
        };
        let text = nxe_evaluator::builtins::force_string(ev, &drv)?;
        Ok(Some(text.as_str().to_string()))
    }

    /// Every check under one entry of the checks' set; only a failure to evaluate the
    /// checks' set itself is an error, each check's own failure is its result.
    pub(crate) fn checks(&mut self, name: &str) -> Result<Vec<CheckResult>, String> {
        let render = |error: EvalError| diagnostics::render(&error, false, false);
        let root = self.root().map_err(render)?;
        let path = self.repo.checks_attr.clone();
        let set = self.select(root, &path, &join_attr_path(&path)).map_err(render)?;
        let host = self.repo_has_host(name);
        let mut out = Vec::new();
        self.walk_checks(set, vec![name.to_string()], host.as_deref(), &mut out);
        Ok(out)
    }

    fn repo_has_host(&mut self, name: &str) -> Option<String> {
        match self.hosts_set() {
            Ok(Value::Attrs(attrs)) => attrs.contains(Symbol::intern(name)).then(|| name.to_string()),
            _ => None,
        }
    }

    /// Walks nested sets of checks; `names` is the path below the checks' set and `parent`
    /// the set holding its last name.
    fn walk_checks(&mut self, parent: Value, names: Vec<String>, host: Option<&str>, out: &mut Vec<CheckResult>) {
        let shown = join_attr_path(&[self.repo.checks_attr.as_slice(), names.as_slice()].concat());
        let last = names[names.len() - 1..].to_vec();
        let flake = self.flake.clone();
        let summary = move |error: &EvalError| summarize(flake.as_deref(), error);
        let failed = |error: EvalError| CheckResult {
            name: names.join("."),
            host: host.map(str::to_string),
            drv_path: None,
            error: Some(summary(&error)),
        };
        let value = match self.select(parent, &last, &shown) {
            Ok(value) => value,
            Err(error) => return out.push(failed(error)),
        };
        match self.drv_path(&value, &shown) {
            Ok(Some(drv)) => {
                return out.push(CheckResult {
                    name: names.join("."),
                    host: host.map(str::to_string),
                    drv_path: Some(drv),
                    error: None,
                })
            }
            Ok(None) => {}
            Err(error) => return out.push(failed(error)),
        }
        let Value::Attrs(attrs) = &value else {
            return out.push(failed(EvalError::msg(format!(
                "the check '{shown}' is {} while a derivation or a set of them was expected",
                value.type_with_article()
            ))));
        };
        for attr in attrs.iter() {
            if attr.name == self.sym_recurse || attr.name == self.sym_type {
                continue;
            }
            let mut inner = names.clone();
            inner.push(attr.name.as_str().to_string());
            self.walk_checks(value.clone(), inner, host, out);
        }
    }

    pub(crate) fn summary(&self, error: &EvalError) -> String {
        summarize(self.flake.as_deref(), error)
    }

    /// Takes the derivations and other store objects the worker's evaluations made.
    pub(crate) fn take_store_objects(
        &mut self,
    ) -> (BTreeMap<String, Derivation>, BTreeMap<String, nxe_evaluator::AddedPath>) {
        let evaluator = self.evaluation.evaluator();
        let paths = evaluator.take_added_paths();
        (evaluator.take_derivations(), paths)
    }
}

/// The I/O of a repository's evaluations: the file system, or a flake's store paths shown
/// at their sources.
pub(crate) fn base_io(shared: &Shared<'_>) -> Rc<dyn EvalIo> {
    let local = crate::git::LocalIo::in_checkout(shared.repo.overrides.source_revision.clone());
    match &shared.flake {
        Some(flake) => Rc::new(flake.io(local)),
        None => Rc::new(local),
    }
}

/// An error in short; a position inside a flake's source is shown at its real path.
fn summarize(flake: Option<&FlakeSetup>, error: &EvalError) -> String {
    let text = diagnostics::summary(error);
    match (flake, text.rfind(" at ")) {
        (Some(flake), Some(at)) => format!("{}{}", &text[..at], flake.real_path(&text[at..])),
        _ => text,
    }
}

/// Evaluation settings for a repository.
pub fn settings_for(repo: &Repo, interrupt: Option<fn() -> Option<String>>) -> EvalSettings {
    EvalSettings {
        nix_path: repo.nix_path.clone(),
        cwd: repo.root.display().to_string(),
        system: repo.system.clone(),
        store_dir: repo.store_dir.clone(),
        interrupt,
        unknown_position: Some(crate::snapshots::unknown_position),
        ..EvalSettings::default()
    }
}
