//! `nxe test`: every kind of test of a repository, scheduled as one DAG of evaluations,
//! tests and builds (see [`execute`]), each skipped when it passed before with the same
//! inputs.
//!
//! - Unit tests and the hosts' evaluations come from the engine's cached units: a unit test
//!   whose read set still holds is answered from the cache.
//! - Option validation and policies run per host on a recording session: their read sets
//!   are cached with their result, so a pass whose files did not change is skipped.
//! - Checks pass when they build; a pass is recorded under the check's drvPath.

use crate::build::{BuildError, BuildRequest, Builder};
use crate::dag::{Context, Dag, Ending, Job, JobId};
use crate::options::{self, FindingKind, HostLayout};
use crate::policy::{Policies, PolicyConfig};
use crate::report::{Status, TestKind, TestRecord};
use crate::unit;
use nxe_engine::cache::StoreObjects;
use nxe_engine::config::{join_attr_path, Repo};
use nxe_engine::impact::{
    compile_ahead, host_snapshots_in, resolve_side, unit_checks, units_of, Side, SideResults, Store,
};
use nxe_engine::reads::{ReadKey, ReadSet, State};
use nxe_engine::snapshots::{HostSnapshot, HostSnapshots, Shape, SnapshotEntry};
use nxe_engine::units::{BatchRun, Evaluated, Outcome, Session, TestStatus, Unit, UnitEvaluator};
use nxe_engine::{CheckResult, EngineError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How to run the tests.
#[derive(Clone)]
pub struct RunOptions {
    /// Only tests about these hosts (and unit tests), all when empty.
    pub hosts: Vec<String>,
    /// Only these kinds, all when empty.
    pub kinds: Vec<TestKind>,
    /// Run tests that passed before with the same inputs too.
    pub rerun: bool,
    /// Stop scheduling new work after the first failure.
    pub fail_fast: bool,
    /// Times a failed check is built again (a pass on a retry is reported flaky).
    pub retries: u32,
    /// Worker threads.
    pub threads: usize,
    /// The cache's directory (default `.nxe` in the repository's root).
    pub cache_dir: Option<PathBuf>,
    /// What builds checks (`None`: checks are skipped).
    pub builder: Option<Arc<dyn Builder>>,
    /// How long one check's build may take.
    pub build_timeout: Option<Duration>,
    /// Memory budget of each worker evaluating (a unit that passes it is evaluated again
    /// alone).
    pub max_memory: Option<u64>,
}

/// What a run gave.
pub struct RunResult {
    /// Every test, sorted by kind, host and name.
    pub records: Vec<TestRecord>,
    /// Notes about the cache, one line each.
    pub notes: Vec<String>,
}

impl RunResult {
    /// Whether any test failed.
    pub fn failed(&self) -> bool {
        self.records.iter().any(|r| r.status == Status::Fail)
    }

    /// Whether every test was skipped because it passed before.
    pub fn nothing_ran(&self) -> bool {
        self.records.iter().all(|r| r.status == Status::Skip)
    }
}

/// The directory logs of builds are kept in.
pub fn log_dir(repo: &Repo, cache_dir: Option<&Path>) -> PathBuf {
    cache_dir.map_or_else(|| repo.root.join(".nxe"), Path::to_path_buf).join("logs")
}

const PASSED_BEFORE: &str = "passed before, and nothing it read has changed";

/// The work tree's units, from the cache where their read sets hold and evaluated otherwise;
/// with the cache and the side, for what the caller does next.
pub fn resolve_work_tree<'a>(
    repo: &'a Repo,
    cache_dir: Option<&Path>,
    threads: usize,
    max_memory: Option<u64>,
) -> Result<(Store, Side<'a>, SideResults), EngineError> {
    let top = nxe_engine::git::toplevel(&repo.root).unwrap_or_else(|_| repo.root.clone());
    let mut store = Store::open(repo, &top, cache_dir)?;
    let mut side = Side::work_tree(repo, &top).with_max_memory(max_memory);
    let resolved = resolve_side(&mut store, &mut side, None, threads)?;
    Ok((store, side, resolved))
}

/// What a run tells as it goes.
pub trait Reporter: Sync {
    /// The run found `more` tests to run (said as they are found: a host's checks are
    /// known once the host is evaluated).
    fn planned(&self, _more: usize) {}
    /// A test started.
    fn started(&self, _label: &str) {}
    /// A test ended.
    fn finished(&self, record: &TestRecord);
}

impl<F: Fn(&TestRecord) + Sync> Reporter for F {
    fn finished(&self, record: &TestRecord) {
        self(record)
    }
}

/// Runs the tests of `repo`, telling `reporter` as each one ends.
pub fn run(repo: &Repo, options: &RunOptions, reporter: &dyn Reporter) -> Result<RunResult, EngineError> {
    execute(repo, options, reporter, Mode::Test)
}

/// Builds hosts' systems (`nxe build`): one record per host, named `system`.
pub fn build_hosts(repo: &Repo, options: &RunOptions, reporter: &dyn Reporter) -> Result<RunResult, EngineError> {
    if options.builder.is_none() {
        return Err(EngineError::Config("nxe build needs a builder (--builder local or nix)".into()));
    }
    execute(repo, options, reporter, Mode::Build)
}

/// What a run is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `nxe test`: every kind of test.
    Test,
    /// `nxe build`: hosts' systems.
    Build,
}

/// One DAG from the listing to the last build (see [`crate::dag`]):
///
/// - the listing adds a job per unit it needs (unit tests; hosts and check groups, for their
///   checks' drvPaths) and one per host whose option validation or policies must run;
/// - a host's or check group's unit adds, for its checks without a recorded pass, the
///   evaluation of their derivations ("source");
/// - a source adds one build per derivation of the checks' closures (each built once,
///   however many checks need it, after the builds of its inputs), and a job per check that
///   reports it once its derivation is built.
///
/// So a check builds as soon as its own host is evaluated, beside everything else.
fn execute(repo: &Repo, options: &RunOptions, reporter: &dyn Reporter, mode: Mode) -> Result<RunResult, EngineError> {
    let top = nxe_engine::git::toplevel(&repo.root).unwrap_or_else(|_| repo.root.clone());
    let side = Side::work_tree(repo, &top);
    let state = side.state();
    // Another worker compiles the files the last run's units read while this one opens the
    // cache and lists what to run: the hosts to evaluate then find most of them compiled.
    let stop_prefetch = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if options.threads > 1 && mode == Mode::Test {
            compile_ahead(scope, repo, &top, options.cache_dir.as_deref(), Some(state), &stop_prefetch);
        }
        let result = execute_in(repo, options, reporter, mode, &top, state, &stop_prefetch);
        stop_prefetch.store(true, Ordering::Relaxed);
        result
    })
}

/// [`execute`] once the work tree's state is known; `stop_prefetch` stops the compiling
/// started beside it when nothing needs evaluating.
fn execute_in(
    repo: &Repo,
    options: &RunOptions,
    reporter: &dyn Reporter,
    mode: Mode,
    top: &Path,
    state: &State,
    stop_prefetch: &AtomicBool,
) -> Result<RunResult, EngineError> {
    let threads = options.threads.max(1);
    let store = Store::open(repo, top, options.cache_dir.as_deref())?;
    let units = UnitEvaluator::new(repo, state.anchor(), state, options.max_memory)?;
    let policy_config = PolicyConfig::from_table(&repo.policy).map_err(|e| EngineError::Config(e.to_string()))?;
    let run = Run {
        repo,
        options,
        reporter,
        mode,
        state,
        units,
        stop_prefetch,
        store: Mutex::new(store),
        policy_config,
        layout: HostLayout {
            config: repo.config_attr.clone(),
            toplevel: repo.toplevel_attr.clone(),
            ..HostLayout::default()
        },
        log_dir: log_dir(repo, options.cache_dir.as_deref()),
        evaluated: Mutex::new(Vec::new()),
        record_queued: AtomicBool::new(false),
        fresh: Mutex::new(StoreObjects::default()),
        remembered: Mutex::new(Vec::new()),
        passes: Mutex::new(Vec::new()),
        records: Mutex::new(Vec::new()),
        builds: Mutex::new(HashMap::new()),
        fatal: Mutex::new(None),
        snapshots: OnceLock::new(),
        shapes: Mutex::new(None),
        retaking: Mutex::new(BTreeMap::new()),
        fresh_snapshots: Mutex::new(BTreeMap::new()),
        fresh_valid: Mutex::new(BTreeMap::new()),
        taken: Mutex::new(Vec::new()),
    };
    let dag = Dag::new(options.fail_fast);
    dag.add(Task { run: &run, work: Work::Listing }, &[]);
    dag.run(threads, WORKER_STACK).map_err(|e| EngineError::Internal(format!("cannot start worker threads: {e}")))?;
    let Run { store, evaluated, remembered, passes, records, fatal, taken, shapes, snapshots, fresh_valid, .. } = run;
    let mut store = store.into_inner().unwrap_or_else(|p| p.into_inner());
    // Of a host's snapshots taken in this run, the one of everything the tests forced is
    // remembered last, so it is the newest.
    let shapes = shapes.into_inner().ok().flatten();
    let mut taken = taken.into_inner().unwrap_or_default();
    if let (Some(forced), Some(snapshots)) = (&shapes, snapshots.get()) {
        taken.sort_by_key(|(host, _, shape, _)| snapshots.shape_forced(forced, host) == Some(shape));
    }
    let fatal = fatal.into_inner().unwrap_or_default();
    store.together(|store| {
        store.remember_snapshots(state.anchor(), &taken)?;
        // What was evaluated is remembered even when the run then failed; most of it was
        // written while the run went on.
        store.record(evaluated.into_inner().unwrap_or_default())?;
        if fatal.is_none() {
            store.remember(&remembered.into_inner().unwrap_or_default())?;
            if let Some(cache) = store.cache() {
                cache.record_passes(&passes.into_inner().unwrap_or_default())?;
            }
        }
        Ok(())
    })?;
    if let Some(error) = fatal {
        return Err(error);
    }
    let mut records = records.into_inner().unwrap_or_default();
    records.sort_by(|a, b| (a.kind, &a.host, &a.name).cmp(&(b.kind, &b.host, &b.name)));
    let notes = std::mem::take(&mut store.notes);
    store.close();
    // Snapshots are let go of, as the cache's entries: the process may be about to end.
    nxe_engine::units::let_go((taken, shapes, snapshots, fresh_valid));
    Ok(RunResult { records, notes })
}

/// Stack of each worker thread: evaluations recurse deeply.
const WORKER_STACK: usize = 1 << 30;

/// What every job of a run shares.
struct Run<'a> {
    repo: &'a Repo,
    options: &'a RunOptions,
    reporter: &'a dyn Reporter,
    mode: Mode,
    state: &'a State,
    units: UnitEvaluator<'a>,
    /// Set when the files compiled beside the run are no longer needed.
    stop_prefetch: &'a AtomicBool,
    store: Mutex<Store>,
    policy_config: PolicyConfig,
    layout: HostLayout,
    log_dir: PathBuf,
    /// Units evaluated in this run and not yet written to the cache.
    evaluated: Mutex<Vec<Evaluated>>,
    /// Whether a job writing them is waiting or running.
    record_queued: AtomicBool,
    /// The store objects the run's evaluations made.
    fresh: Mutex<StoreObjects>,
    /// Option validations and policies run, with their read sets, cached at the end.
    remembered: Mutex<Vec<(String, ReadSet, serde_json::Value)>>,
    /// Checks built (drvPath, kind, name), recorded as passes at the end.
    passes: Mutex<Vec<(String, String, String)>>,
    records: Mutex<Vec<TestRecord>>,
    /// How each derivation's build ended, by `.drv` path.
    builds: Mutex<HashMap<String, NodeResult>>,
    /// An error that ends the run (the repository does not evaluate, a bad host name).
    fatal: Mutex<Option<EngineError>>,
    /// The remembered snapshots of hosts' values, loaded when tests first need them.
    snapshots: OnceLock<HostSnapshots>,
    /// What this run's tests and earlier ones forced of each host, where it grew past the
    /// remembered shapes (once a test ran; read through `HostSnapshots::shape_forced`).
    shapes: Mutex<Option<BTreeMap<String, Shape>>>,
    /// Hosts whose snapshot is taken again in this run, with the shape they had when the job
    /// was added (the job takes the shape it has when it starts).
    retaking: Mutex<BTreeMap<String, Shape>>,
    /// Hosts whose units took their snapshots in this run, with the shapes taken.
    fresh_snapshots: Mutex<BTreeMap<String, Shape>>,
    /// Those snapshots, which tests that run later use.
    fresh_valid: Mutex<BTreeMap<String, Arc<HostSnapshot>>>,
    /// Snapshots taken in this run, cached at the end.
    taken: Mutex<Vec<SnapshotEntry>>,
}

/// A job of the run's DAG.
struct Task<'r, 'a> {
    run: &'r Run<'a>,
    work: Work,
}

enum Work {
    /// Hosts, check groups and unit tests.
    Listing,
    /// One unit of the engine, from the cache or evaluated.
    Unit(Unit),
    /// Unit tests without a recorded outcome that read the same files, evaluated together
    /// (see `nxe_engine::units::batches`).
    Batch(Vec<Unit>),
    /// A host's option validation and policies, on one session.
    HostTests(String, Vec<TestKind>),
    /// A host's unit that is evaluated, with its option validation and policies on the
    /// same session.
    HostAndTests(Unit, Vec<TestKind>),
    /// A failing unit test, run again for its diff.
    FailingUnit(Vec<String>),
    /// A snapshot of a host's value as far as tests forced it (see
    /// `nxe_engine::snapshots`), for the tests of later runs.
    Snapshot(String),
    /// The evaluation that makes the derivations of some targets: a check group's
    /// (`Some(group)`) or a host's system.
    Source(Option<String>, Vec<BuildTarget>),
    /// One derivation to build, with what made it.
    Build(String, Arc<StoreObjects>),
    /// A target whose derivation was built (or not): its record.
    Target(BuildTarget, Instant),
    /// Compiling the files a host's unit read last time while the job evaluating it runs
    /// (see `UnitEvaluator::prefetch`), until it ends.
    Prefetch(JobId, BTreeSet<ReadKey>),
    /// Loading the remembered snapshots of hosts' values (see `Run::snapshots`).
    LoadSnapshots,
    /// Writing the units evaluated so far to the cache (see `Run::record`).
    Record,
}

impl Job for Task<'_, '_> {
    fn priority(&self) -> u8 {
        match &self.work {
            // Builds are long: they start first, and what leads to them next.
            Work::Build(..) | Work::Target(..) => 4,
            // A batch of tests is the longest evaluation: it starts beside the hosts.
            Work::Source(..)
            | Work::Unit(Unit::Host(..) | Unit::Checks(_))
            | Work::HostAndTests(..)
            | Work::Prefetch(..)
            | Work::Listing => 3,
            Work::Batch(units) if units.len() > 1 => 3,
            // Writing what was evaluated serves later runs: after the tests.
            Work::Record => 1,
            // Snapshots serve later runs too, and take longer: after everything else.
            Work::Snapshot(_) => 0,
            _ => 2,
        }
    }

    /// A worker waiting while a job runs alone frees the session its last job left (see
    /// [`nxe_engine::units::exit_after_run`]), so that the job alone has the memory to
    /// itself. Otherwise it keeps it: freeing a host's evaluation there took 3.6 ms at the
    /// end of `nxe test --changed` after a host's edit, while the other worker finished.
    fn idle() {
        nxe_engine::units::free_parked_session();
    }

    fn run(&mut self, context: &Context<'_, Self>) -> Ending {
        let run = self.run;
        let ending = match &self.work {
            Work::Listing => run.listing(context),
            Work::Unit(unit) => run.unit(context, unit),
            Work::Batch(units) => run.batch(context, units),
            Work::HostTests(host, kinds) => run.host_tests(context, host, kinds),
            Work::HostAndTests(unit, kinds) => run.host_and_tests(context, unit, kinds),
            Work::FailingUnit(path) => run.failing_unit(path),
            Work::Snapshot(host) => run.snapshot(context, host),
            Work::Source(group, targets) => run.source(context, group.as_deref(), targets),
            Work::Build(drv, writes) => run.build(context, drv, writes),
            Work::Target(target, started) => run.target(target, *started),
            Work::Prefetch(host_job, keys) => {
                run.units.prefetch(keys, &|| context.ended(*host_job));
                Ending::Done
            }
            Work::LoadSnapshots => {
                run.snapshots();
                Ending::Done
            }
            Work::Record => run.record(),
        };
        run.queue_record(context);
        ending
    }
}

/// The job of a host evaluated in the run, what changed of what it read last time, and its
/// unit.
type HostJob = (JobId, Option<BTreeSet<ReadKey>>, Unit);

/// A host validation's kind, status, reason and seconds.
type HostTestResult = (TestKind, Status, Option<String>, f64);

const NOT_STARTED: &str = "not started: the run stopped at a failure (--fail-fast)";

impl<'a> Run<'a> {
    fn wanted_kind(&self, kind: TestKind) -> bool {
        self.options.kinds.is_empty() || self.options.kinds.contains(&kind)
    }

    fn wanted_host(&self, host: &str) -> bool {
        self.options.hosts.is_empty() || self.options.hosts.iter().any(|h| h == host)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, record: TestRecord) {
        self.reporter.finished(&record);
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    /// Ends the run with `error`.
    fn fatal(&self, error: EngineError) -> Ending {
        if let Ok(mut fatal) = self.fatal.lock() {
            fatal.get_or_insert(error);
        }
        Ending::Failed
    }

    /// A unit's outcome: from the cache when its read set holds, evaluated otherwise
    /// (`None`: it passed the memory budget, run it again alone); and whether it was
    /// evaluated now.
    fn resolve<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, unit: &Unit) -> Option<(Outcome, bool)> {
        if let Some(found) = self.store().cached(unit, self.state) {
            return Some((found.outcome, false));
        }
        if let Unit::Host(..) = unit {
            // A host unit takes its host's snapshot, as far as tests forced it before.
            let snapshots = || self.snapshots();
            let run =
                match self.units.evaluate_then(std::slice::from_ref(unit), &snapshots, context.alone(), &mut |_, _| {})
                {
                    Some(run) => run,
                    None if context.alone() => {
                        let error = format!("{} was stopped without a budget", unit.id());
                        return Some((Outcome::Failed { error }, true));
                    }
                    None => return None,
                };
            return Some((self.keep_host_run(run, false)?, true));
        }
        let evaluated = if context.alone() {
            match self.units.evaluate_alone(unit) {
                Ok(evaluated) => evaluated,
                Err(error) => return Some((Outcome::Failed { error: error.to_string() }, true)),
            }
        } else {
            self.units.evaluate(unit)?
        };
        Some((self.keep(evaluated), true))
    }

    /// Keeps a host unit evaluated in this run, and the snapshot it took (for the tests
    /// that run later, unless `published` says they have it already); gives its outcome.
    fn keep_host_run(&self, run: BatchRun, published: bool) -> Option<Outcome> {
        if !published {
            self.publish_snapshots(&run.taken);
        }
        if let Ok(mut taken) = self.taken.lock() {
            taken.extend(run.taken);
        }
        Some(self.keep(run.evaluated.into_iter().next()?))
    }

    /// Hands snapshots a host's unit took in this run to the tests that run later.
    fn publish_snapshots(&self, entries: &[SnapshotEntry]) {
        if let (Ok(mut fresh), Ok(mut valid)) = (self.fresh_snapshots.lock(), self.fresh_valid.lock()) {
            for entry in entries {
                fresh.insert(entry.0.clone(), entry.2.clone());
                let (host, snapshot) = HostSnapshot::of_entry(entry);
                valid.insert(host, snapshot);
            }
        }
    }

    /// The remembered snapshots of hosts' values, loaded the first time they are needed.
    fn snapshots(&self) -> &HostSnapshots {
        self.snapshots.get_or_init(|| {
            // Read under the store's lock, checked and parsed outside it: jobs that look
            // their units up in the cache meanwhile do not wait.
            let Ok(Some(stored)) = self.store().stored_snapshots() else { return HostSnapshots::default() };
            let (snapshots, broken) = host_snapshots_in(stored, self.state);
            // Broken rows are only dropped; the run goes on without them either way.
            let _ = self.store().forget_snapshots(&broken);
            snapshots
        })
    }

    /// Keeps a unit evaluated in this run, to be cached by the next `Work::Record` (or at the
    /// run's end), and gives its outcome. A copy of its store objects goes to the run's own,
    /// where check builds find them.
    fn keep(&self, evaluated: Evaluated) -> Outcome {
        let outcome = evaluated.outcome.clone();
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.derivations.extend(evaluated.derivations.iter().map(|(path, drv)| (path.clone(), drv.clone())));
            fresh.paths.extend(evaluated.added.iter().map(|(path, added)| (path.clone(), added.clone())));
        }
        if let Ok(mut done) = self.evaluated.lock() {
            done.push(evaluated);
        }
        outcome
    }

    /// Adds a job writing the units evaluated so far to the cache, unless one is waiting,
    /// there are none, or no other job runs or is ready to run beside it. Written while the
    /// run goes on, they no longer wait for its end: the write of a host's evaluation (about
    /// 1.5 ms) then runs beside the tests that follow it. What is left when nothing else
    /// runs is written at the end, with the rest, in one transaction.
    fn queue_record<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>) {
        let pending = self.evaluated.lock().map(|evaluated| !evaluated.is_empty()).unwrap_or(false);
        if pending && context.others_busy() && !self.record_queued.swap(true, Ordering::SeqCst) {
            context.add(Task { run: self, work: Work::Record }, &[]);
        }
    }

    /// Writes the units evaluated so far to the cache, in one transaction.
    /// Units kept while it writes wait for the next job, which the job adds as it ends (see
    /// `Task::run`), or for the run's end.
    fn record(&self) -> Ending {
        let mut store = self.store();
        let evaluated = self.evaluated.lock().map(|mut evaluated| std::mem::take(&mut *evaluated)).unwrap_or_default();
        let written = store.record(evaluated);
        drop(store);
        self.record_queued.store(false, Ordering::SeqCst);
        match written {
            Ok(_) => Ending::Done,
            Err(error) => self.fatal(error),
        }
    }

    /// A recording session within the run's memory budget (none when the job runs alone).
    fn session<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>) -> Session {
        let budget = if context.alone() { None } else { self.options.max_memory };
        self.units.session(budget)
    }

    fn listing<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>) -> Ending {
        let Some((outcome, _)) = self.resolve(context, &Unit::Listing) else { return Ending::Again };
        let listing = match outcome {
            Outcome::Listing(listing) => listing,
            Outcome::Failed { error } => return self.fatal(EngineError::Eval(error)),
            _ => return self.fatal(EngineError::Internal("no listing".into())),
        };
        if let Some(host) = self.options.hosts.iter().find(|host| !listing.hosts.contains(host)) {
            return self.fatal(EngineError::Config(format!("no host named '{host}'")));
        }
        let task = |work| Task { run: self, work };
        let hosts: Vec<&String> = listing.hosts.iter().filter(|h| self.wanted_host(h)).collect();
        if self.mode == Mode::Build {
            self.reporter.planned(hosts.len());
            for host in hosts {
                context.add(task(Work::Unit(Unit::Host(host.clone(), listing.checks.contains(host)))), &[]);
            }
            return Ending::Done;
        }
        let wanted_kinds: Vec<TestKind> =
            [TestKind::Option, TestKind::Policy].into_iter().filter(|k| self.wanted_kind(*k)).collect();
        let n_tests = if self.wanted_kind(TestKind::Unit) { listing.tests.len() } else { 0 };
        self.reporter.planned(n_tests + hosts.len() * wanted_kinds.len());
        // Option validation and policies, looked up in the cache first.
        let mut host_kinds = BTreeMap::new();
        for host in hosts {
            let mut kinds = Vec::new();
            for kind in &wanted_kinds {
                let id = format!("{}:{host}", kind.as_str());
                match self.store().lookup(&id, self.state) {
                    Some(result) if !self.options.rerun && result["status"] == "pass" => self.emit(
                        TestRecord::new(kind.as_str(), *kind, Some(host), Status::Pass)
                            .with_reason(PASSED_BEFORE)
                            .skipped(),
                    ),
                    _ => kinds.push(*kind),
                }
            }
            if !kinds.is_empty() {
                host_kinds.insert(host.clone(), kinds);
            }
        }
        let mut stale_tests = Vec::new();
        // Hosts evaluated in this run: their jobs, what changed of what they read, the units.
        let mut host_jobs: Vec<HostJob> = Vec::new();
        for unit in units_of(&listing) {
            let needed = match &unit {
                Unit::Test(_) => self.wanted_kind(TestKind::Unit),
                Unit::Host(host, true) => self.wanted_kind(TestKind::Check) && self.wanted_host(host),
                Unit::Checks(_) => self.wanted_kind(TestKind::Check),
                _ => false,
            };
            let stale = needed && self.store().cached(&unit, self.state).is_none();
            match &unit {
                Unit::Test(_) if stale => stale_tests.push(unit),
                // A host evaluated anyway: its options are validated on its evaluation.
                Unit::Host(host, _) if stale && host_kinds.contains_key(host) => {
                    let kinds = host_kinds.remove(host).unwrap_or_default();
                    let changed = self.store().previous_differences(&unit, self.state);
                    host_jobs.push((context.add(task(Work::HostAndTests(unit.clone(), kinds)), &[]), changed, unit));
                }
                Unit::Host(..) if stale => {
                    let changed = self.store().previous_differences(&unit, self.state);
                    host_jobs.push((context.add(task(Work::Unit(unit.clone())), &[]), changed, unit));
                }
                _ if needed => {
                    context.add(task(Work::Unit(unit)), &[]);
                }
                _ => {}
            }
        }
        if host_jobs.is_empty() && stale_tests.is_empty() {
            self.stop_prefetch.store(true, Ordering::Relaxed);
        }
        // One host to evaluate, which most other work waits for: another worker compiles
        // what it read last time meanwhile.
        if let [(host_job, _, unit)] = host_jobs.as_slice() {
            if let Some(keys) = self.store().previous_keys(unit).filter(|_| self.options.threads > 1) {
                context.add(task(Work::Prefetch(*host_job, keys)), &[]);
            }
        }
        // Stale tests that read the same files share an evaluation.
        let batches = {
            let store = self.store();
            nxe_engine::units::batches(&stale_tests, |unit| store.previous_keys(unit))
        };
        for batch in batches {
            let after = self.hosts_first(&batch, &host_jobs);
            context.add(task(Work::Batch(batch)), &after);
        }
        for (host, kinds) in host_kinds {
            context.add(task(Work::HostTests(host, kinds)), &[]);
        }
        // Hosts' units and tests use the snapshots: loaded while the hosts evaluate, after
        // the prefetch has started (the first job that needs them loads them otherwise).
        if !host_jobs.is_empty() || !stale_tests.is_empty() {
            context.add(task(Work::LoadSnapshots), &[]);
        }
        Ending::Done
    }

    /// The jobs of hosts evaluated in this run that a batch of tests waits for: those whose
    /// change the tests read last time. Such a test most likely forces the host's value,
    /// which it then takes from the snapshot the host's own evaluation takes, instead of
    /// evaluating the host a second time beside it.
    fn hosts_first(&self, batch: &[Unit], host_jobs: &[HostJob]) -> Vec<JobId> {
        if host_jobs.is_empty() || !batch.iter().all(|unit| matches!(unit, Unit::Test(_))) {
            return Vec::new();
        }
        let store = self.store();
        let read: BTreeSet<ReadKey> = batch.iter().filter_map(|unit| store.previous_keys(unit)).flatten().collect();
        host_jobs
            .iter()
            .filter(|(_, changed, _)| changed.as_ref().is_some_and(|changed| !changed.is_disjoint(&read)))
            .map(|(job, _, _)| *job)
            .collect()
    }

    fn unit<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, unit: &Unit) -> Ending {
        if context.stopped() {
            if let Unit::Test(path) = unit {
                self.emit(
                    TestRecord::new(join_attr_path(path), TestKind::Unit, None, Status::Skip).with_reason(NOT_STARTED),
                );
            }
            return Ending::Done;
        }
        let Some((outcome, evaluated)) = self.resolve(context, unit) else { return Ending::Again };
        self.resolved(context, unit, outcome, evaluated)
    }

    /// Unit tests evaluated together: each is then handled as [`Run::unit`] handles one.
    fn batch<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, units: &[Unit]) -> Ending {
        if context.stopped() {
            for unit in units {
                if let Unit::Test(path) = unit {
                    self.emit(
                        TestRecord::new(join_attr_path(path), TestKind::Unit, None, Status::Skip)
                            .with_reason(NOT_STARTED),
                    );
                }
            }
            return Ending::Done;
        }
        let with_fresh;
        let mut snapshots = self.snapshots();
        let fresh = self.fresh_valid.lock().map(|fresh| fresh.clone()).unwrap_or_default();
        if !fresh.is_empty() {
            with_fresh = snapshots.with_fresh(fresh);
            snapshots = &with_fresh;
        }
        let mut tests = match self.units.evaluate_with(units, snapshots, context.alone()) {
            Some(tests) => tests,
            None if context.alone() => {
                return self.fatal(EngineError::Internal(format!(
                    "a batch of {} units was stopped without a budget",
                    units.len()
                )))
            }
            None => return Ending::Again,
        };
        self.retake_snapshots(context, snapshots, std::mem::take(&mut tests.shapes), &tests.missed);
        let mut ending = Ending::Done;
        for one in tests.evaluated {
            let unit = one.unit.clone();
            let outcome = self.keep(one);
            if let Ending::Failed = self.resolved(context, &unit, outcome, true) {
                ending = Ending::Failed;
            }
        }
        ending
    }

    /// Takes again the snapshots of the hosts the tests evaluated that have none covering
    /// what the tests of this run and earlier ones forced, and marks those that lacked a
    /// value retaking would not add (a function, a string with context) as not to be used
    /// while they hold.
    fn retake_snapshots<'r>(
        &'r self,
        context: &Context<'_, Task<'r, 'a>>,
        snapshots: &HostSnapshots,
        shapes: BTreeMap<String, Shape>,
        missed: &BTreeSet<String>,
    ) {
        let Ok(mut forced) = self.shapes.lock() else { return };
        let forced = forced.get_or_insert_with(BTreeMap::new);
        let fresh = self.fresh_snapshots.lock().map(|fresh| fresh.clone()).unwrap_or_default();
        let (retake, unusable) = snapshots.note_forced(forced, shapes, missed, &fresh);
        if let Ok(mut taken) = self.taken.lock() {
            taken.extend(unusable);
        }
        for host in retake {
            let Some(shape) = snapshots.shape_forced(forced, &host) else { continue };
            // Tests that run later may force more of a host: its snapshot is taken again.
            let new = self.retaking.lock().is_ok_and(|mut hosts| {
                if hosts.get(&host) == Some(shape) {
                    return false;
                }
                hosts.insert(host.clone(), shape.clone());
                true
            });
            if new {
                context.add(Task { run: self, work: Work::Snapshot(host) }, &[]);
            }
        }
    }

    /// Takes a snapshot of `host`'s value as far as the tests of this run and earlier ones
    /// forced it (the job runs after the run's tests, which come first).
    fn snapshot<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, host: &str) -> Ending {
        let shape =
            self.shapes.lock().ok().and_then(|shapes| self.snapshots().shape_forced(shapes.as_ref()?, host).cloned());
        let Some(shape) = shape.filter(|_| !context.stopped()) else { return Ending::Done };
        // The host's unit may have taken it meanwhile.
        if self.fresh_snapshots.lock().is_ok_and(|fresh| fresh.get(host) == Some(&shape)) {
            return Ending::Done;
        }
        if let Some((reads, snap)) = self.units.snapshot(host, &shape, context.alone()) {
            if let Ok(mut fresh) = self.fresh_snapshots.lock() {
                fresh.insert(host.to_string(), shape.clone());
            }
            if let Ok(mut taken) = self.taken.lock() {
                taken.push((host.to_string(), reads, shape, snap));
            }
        }
        Ending::Done
    }

    /// What follows a unit's outcome (from the cache, or `evaluated` now): a test's record,
    /// a failing test's diff, a host's build or its checks.
    fn resolved<'r>(
        &'r self,
        context: &Context<'_, Task<'r, 'a>>,
        unit: &Unit,
        outcome: Outcome,
        evaluated: bool,
    ) -> Ending {
        let task = |work| Task { run: self, work };
        match (unit, &outcome, self.mode) {
            (Unit::Test(path), Outcome::Test(test), _) => {
                let record = TestRecord::new(join_attr_path(path), TestKind::Unit, None, Status::Pass);
                match (test.status, evaluated || self.options.rerun) {
                    (TestStatus::Pass, false) => self.emit(record.with_reason(PASSED_BEFORE).skipped()),
                    (TestStatus::Pass, true) => self.emit(record),
                    _ => {
                        context.add(task(Work::FailingUnit(path.clone())), &[]);
                    }
                }
            }
            (Unit::Host(name, _), Outcome::Host(host), Mode::Build) => match &host.drv_path {
                Some(drv_path) => {
                    let target = BuildTarget {
                        name: "system".into(),
                        host: Some(name.clone()),
                        group: None,
                        drv_path: drv_path.clone(),
                    };
                    context.add(task(Work::Source(None, vec![target])), &[]);
                }
                None => {
                    let error = host.error.clone().unwrap_or_default();
                    self.emit(
                        TestRecord::new("system", TestKind::Check, Some(name), Status::Fail)
                            .with_reason(format!("does not evaluate: {error}")),
                    );
                    return Ending::Failed;
                }
            },
            (_, _, Mode::Test) => return self.checks(context, unit, &outcome),
            _ => {}
        }
        Ending::Done
    }

    /// A unit's checks: failed evaluations and recorded passes are reported now; the others
    /// are built, by a source job per check group.
    fn checks<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, unit: &Unit, outcome: &Outcome) -> Ending {
        let checks: Vec<CheckResult> = unit_checks(unit, outcome)
            .into_iter()
            .filter(|c| c.host.as_deref().is_none_or(|h| self.wanted_host(h)))
            .collect();
        self.reporter.planned(checks.len());
        let keys: Vec<String> = checks.iter().filter_map(|c| c.drv_path.clone()).collect();
        let passed = match self.store().cache() {
            Some(cache) => match cache.passed(&keys) {
                Ok(passed) => passed,
                Err(error) => return self.fatal(error),
            },
            None => BTreeSet::new(),
        };
        let mut failed = false;
        let mut by_group: BTreeMap<String, Vec<BuildTarget>> = BTreeMap::new();
        for check in checks {
            let record = |status| TestRecord::new(check.name.clone(), TestKind::Check, check.host.as_deref(), status);
            match (&check.drv_path, &check.error) {
                (_, Some(error)) => {
                    failed = true;
                    self.emit(record(Status::Fail).with_reason(format!("does not evaluate: {error}")));
                }
                (Some(drv), None) if passed.contains(drv) && !self.options.rerun => {
                    self.emit(record(Status::Pass).with_reason(format!("built before as {drv}")).skipped())
                }
                (Some(_), None) if self.options.builder.is_none() => {
                    self.emit(record(Status::Skip).with_reason("no builder (--builder none)"))
                }
                (Some(drv), None) => {
                    let group = check.name.split('.').next().unwrap_or(&check.name).to_string();
                    by_group.entry(group.clone()).or_default().push(BuildTarget {
                        name: check.name.clone(),
                        host: check.host.clone(),
                        group: Some(group),
                        drv_path: drv.clone(),
                    });
                }
                (None, None) => {}
            }
        }
        for (group, targets) in by_group {
            context.add(Task { run: self, work: Work::Source(Some(group), targets) }, &[]);
        }
        if failed {
            Ending::Failed
        } else {
            Ending::Done
        }
    }

    fn host_tests<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, host: &str, kinds: &[TestKind]) -> Ending {
        let record = |kind: TestKind, status| TestRecord::new(kind.as_str(), kind, Some(host), status);
        if context.stopped() {
            for kind in kinds {
                self.emit(record(*kind, Status::Skip).with_reason(NOT_STARTED));
            }
            return Ending::Done;
        }
        for kind in kinds {
            self.reporter.started(&record(*kind, Status::Pass).label());
        }
        let mut session = self.session(context);
        let results = self.run_host_tests(&mut session, host, kinds);
        if session.interrupted() {
            return Ending::Again;
        }
        let reads = session.reads(self.state);
        drop(session);
        self.host_tests_done(host, results, &reads)
    }

    /// Validates `host`'s options and policies (`kinds`) on `session`: each kind's status,
    /// reason and seconds.
    fn run_host_tests(&self, session: &mut Session, host: &str, kinds: &[TestKind]) -> Vec<HostTestResult> {
        let mut results = Vec::new();
        for kind in kinds {
            let started = Instant::now();
            let (status, reason) = match kind {
                TestKind::Option => run_options(session, host, &self.layout),
                _ => run_policies(session, self.repo, host, &self.layout, &self.policy_config),
            };
            results.push((*kind, status, reason, started.elapsed().as_secs_f64()));
        }
        results
    }

    /// Remembers and reports a host's validations, which read `reads`.
    fn host_tests_done(&self, host: &str, results: Vec<HostTestResult>, reads: &ReadSet) -> Ending {
        let record = |kind: TestKind, status| TestRecord::new(kind.as_str(), kind, Some(host), status);
        let mut failed = false;
        for (kind, status, reason, seconds) in results {
            if let Ok(mut remembered) = self.remembered.lock() {
                let result = serde_json::json!({ "status": status.as_str(), "reason": reason });
                remembered.push((format!("{}:{host}", kind.as_str()), reads.clone(), result));
            }
            failed |= status == Status::Fail;
            let mut record = record(kind, status);
            record.reason = reason;
            self.emit(record.with_seconds(seconds));
        }
        if failed {
            Ending::Failed
        } else {
            Ending::Done
        }
    }

    /// A host's unit, evaluated, with its option validation and policies (`kinds`) run on
    /// the unit's session once the unit is done: the host is evaluated once for both.
    fn host_and_tests<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, unit: &Unit, kinds: &[TestKind]) -> Ending {
        let Unit::Host(host, _) = unit else { return self.unit(context, unit) };
        if context.stopped() {
            for kind in kinds {
                let record = TestRecord::new(kind.as_str(), *kind, Some(host), Status::Skip);
                self.emit(record.with_reason(NOT_STARTED));
            }
            return Ending::Done;
        }
        for kind in kinds {
            self.reporter.started(&TestRecord::new(kind.as_str(), *kind, Some(host), Status::Pass).label());
        }
        let mut validated = None;
        let mut after = |session: &mut Session, taken: &[SnapshotEntry]| {
            // The tests waiting for the host's snapshot start now, beside its validation.
            self.publish_snapshots(taken);
            context.release();
            let results = self.run_host_tests(session, host, kinds);
            validated = Some((results, session.reads(self.state)));
        };
        let snapshots = || self.snapshots();
        let run = match self.units.evaluate_then(std::slice::from_ref(unit), &snapshots, context.alone(), &mut after) {
            Some(run) => run,
            None if context.alone() => {
                return self.fatal(EngineError::Internal(format!("{} was stopped without a budget", unit.id())))
            }
            None => return Ending::Again,
        };
        let Some(outcome) = self.keep_host_run(run, true) else {
            return self.fatal(EngineError::Internal(format!("{} gave no outcome", unit.id())));
        };
        let tests = match validated {
            Some((results, reads)) => self.host_tests_done(host, results, &reads),
            None => Ending::Failed,
        };
        match self.resolved(context, unit, outcome, true) {
            Ending::Done => tests,
            other => other,
        }
    }

    fn failing_unit(&self, path: &[String]) -> Ending {
        let started = Instant::now();
        let mut session = self.units.session(None);
        let record = unit_record(&mut session, self.repo, path);
        self.emit(record.with_seconds(started.elapsed().as_secs_f64()));
        Ending::Failed
    }

    /// Evaluates what makes `targets` (a check group, or a host's system) and adds the
    /// builds of their closures and a job reporting each target.
    fn source<'r>(
        &'r self,
        context: &Context<'_, Task<'r, 'a>>,
        group: Option<&str>,
        targets: &[BuildTarget],
    ) -> Ending {
        let started = Instant::now();
        let fail = |status: Status, reason: String| {
            for target in targets {
                let record = TestRecord::new(target.name.clone(), TestKind::Check, target.host.as_deref(), status);
                self.emit(record.with_reason(reason.clone()).with_seconds(started.elapsed().as_secs_f64()));
            }
            if status == Status::Fail {
                Ending::Failed
            } else {
                Ending::Done
            }
        };
        if context.stopped() {
            return fail(Status::Skip, NOT_STARTED.into());
        }
        for target in targets {
            let record = TestRecord::new(target.name.clone(), TestKind::Check, target.host.as_deref(), Status::Pass);
            self.reporter.started(&record.label());
        }
        let roots: Vec<String> = targets.iter().map(|t| t.drv_path.clone()).collect();
        let writes = match self.remembered_closure(&roots) {
            // The evaluation that gave these drvPaths remembered what they need.
            Some(objects) => Arc::new(objects),
            None => {
                let mut session = self.session(context);
                let evaluated = match (group, targets.first().and_then(|t| t.host.as_deref())) {
                    (Some(group), _) => session.checks(group).map(|_| ()),
                    (None, Some(host)) => {
                        system_drv_path(&mut session, self.repo, host).map(|_| ()).map_err(|e| session.summary(&e))
                    }
                    (None, None) => Ok(()),
                };
                if session.interrupted() {
                    return Ending::Again;
                }
                if let Err(error) = evaluated {
                    return fail(Status::Fail, format!("does not evaluate: {error}"));
                }
                let writes = session.store_writes();
                Arc::new(StoreObjects { derivations: writes.derivations.clone(), paths: writes.paths.clone() })
            }
        };
        for target in targets {
            let Some(root) = self.add_builds(context, &target.drv_path, &writes) else {
                let record =
                    TestRecord::new(target.name.clone(), TestKind::Check, target.host.as_deref(), Status::Fail);
                self.emit(
                    record.with_reason(format!("{} is not among the derivations its evaluation made", target.drv_path)),
                );
                continue;
            };
            context.add(Task { run: self, work: Work::Target(target.clone(), started) }, &[root]);
        }
        Ending::Done
    }

    /// The store objects the derivations `roots` need, as the cache remembers them.
    fn remembered_closure(&self, roots: &[String]) -> Option<StoreObjects> {
        let fresh = self.fresh.lock().ok().and_then(|fresh| fresh.closure(roots));
        if fresh.is_some() {
            return fresh;
        }
        let mut store = self.store();
        store.cache()?.closure(roots).ok().flatten()
    }

    /// Adds the build of `drv` after the builds of its inputs (each derivation once per
    /// run); its job, or `None` when `writes` does not have it.
    fn add_builds<'r>(
        &'r self,
        context: &Context<'_, Task<'r, 'a>>,
        drv: &str,
        writes: &Arc<StoreObjects>,
    ) -> Option<JobId> {
        let key = format!("build {drv}");
        if let Some(id) = context.find(&key) {
            return Some(id);
        }
        let derivation = writes.derivations.get(drv)?;
        let inputs: Vec<JobId> =
            derivation.input_drvs.keys().filter_map(|input| self.add_builds(context, input, writes)).collect();
        let make = || Task { run: self, work: Work::Build(drv.to_string(), writes.clone()) };
        Some(context.add_keyed(&key, make, &inputs))
    }

    fn build<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, drv: &str, writes: &StoreObjects) -> Ending {
        let result = self.build_result(context, drv, writes);
        let ending = match result {
            NodeResult::Built { .. } => Ending::Done,
            _ => Ending::Failed,
        };
        if let Ok(mut builds) = self.builds.lock() {
            builds.insert(drv.to_string(), result);
        }
        ending
    }

    fn build_result<'r>(&'r self, context: &Context<'_, Task<'r, 'a>>, drv: &str, writes: &StoreObjects) -> NodeResult {
        if context.stopped() {
            return NodeResult::NotStarted;
        }
        let Some(builder) = &self.options.builder else { return NodeResult::NotStarted };
        if !context.failed_inputs().is_empty() {
            let builds = self.builds.lock().unwrap_or_else(|p| p.into_inner());
            let inputs: Vec<String> =
                writes.derivations.get(drv).map(|d| d.input_drvs.keys().cloned().collect()).unwrap_or_default();
            for input in inputs {
                match builds.get(&input) {
                    Some(NodeResult::Built { .. }) => {}
                    Some(NodeResult::DependencyFailed(first)) => return NodeResult::DependencyFailed(first.clone()),
                    Some(NodeResult::NotStarted) => return NodeResult::NotStarted,
                    _ => return NodeResult::DependencyFailed(input),
                }
            }
        }
        let mut first_error = None;
        for attempt in 1..=self.options.retries + 1 {
            let request = BuildRequest {
                drv_path: drv,
                derivations: &writes.derivations,
                added_paths: &writes.paths,
                timeout: self.options.build_timeout,
                log_dir: &self.log_dir,
            };
            match builder.build(&request) {
                Ok(outcome) => return NodeResult::Built { outputs: outcome.outputs, attempts: attempt, first_error },
                Err(error) => {
                    let message = describe(&error);
                    if attempt > self.options.retries {
                        return NodeResult::Failed(message);
                    }
                    first_error.get_or_insert(message);
                }
            }
        }
        NodeResult::Failed(first_error.unwrap_or_default())
    }

    fn target(&self, target: &BuildTarget, started: Instant) -> Ending {
        let record = |status: Status, reason: String| {
            TestRecord::new(target.name.clone(), TestKind::Check, target.host.as_deref(), status).with_reason(reason)
        };
        let builds = self.builds.lock().unwrap_or_else(|p| p.into_inner());
        let record = match builds.get(&target.drv_path) {
            Some(NodeResult::Built { outputs, attempts: 1, .. }) => {
                record(Status::Pass, format!("built {}", outputs.values().cloned().collect::<Vec<_>>().join(" ")))
            }
            Some(NodeResult::Built { attempts, first_error, .. }) => record(
                Status::Flaky,
                format!("passed on try {attempts} after: {}", first_error.clone().unwrap_or_default()),
            ),
            Some(NodeResult::Failed(error)) => record(Status::Fail, error.clone()),
            Some(NodeResult::DependencyFailed(input)) => {
                let cause = match builds.get(input) {
                    Some(NodeResult::Failed(error)) => error.clone(),
                    _ => String::new(),
                };
                record(Status::Fail, format!("its input {input} failed to build: {cause}"))
            }
            Some(NodeResult::NotStarted) | None => record(Status::Skip, NOT_STARTED.into()),
        };
        drop(builds);
        let status = record.status;
        let passed = matches!(status, Status::Pass | Status::Flaky);
        if passed && self.mode == Mode::Test {
            if let Ok(mut passes) = self.passes.lock() {
                passes.push((target.drv_path.clone(), "check".to_string(), target.name.clone()));
            }
        }
        self.emit(record.with_seconds(started.elapsed().as_secs_f64()));
        if status == Status::Fail {
            Ending::Failed
        } else {
            Ending::Done
        }
    }
}

/// How one derivation's build ended.
#[derive(Clone, Debug, PartialEq)]
enum NodeResult {
    /// Built (or already present), after `attempts` tries; its outputs.
    Built { outputs: BTreeMap<String, String>, attempts: u32, first_error: Option<String> },
    /// Its builder failed (the message names the log).
    Failed(String),
    /// An input failed, so it was not built.
    DependencyFailed(String),
    /// Not started: the run stopped at a failure (`--fail-fast`).
    NotStarted,
}

/// A build error with its log.
fn describe(error: &BuildError) -> String {
    let message = error.to_string();
    match error.log() {
        Some(log) if !message.contains(&log.display().to_string()) => format!("{message} (log: {})", log.display()),
        _ => message,
    }
}

trait Skipped {
    fn skipped(self) -> TestRecord;
}

impl Skipped for TestRecord {
    /// The record as skipped (keeping its reason).
    fn skipped(mut self) -> TestRecord {
        self.status = Status::Skip;
        self
    }
}

/// A failing unit test, run again for its diff.
fn unit_record(session: &mut Session, repo: &Repo, path: &[String]) -> TestRecord {
    let name = join_attr_path(path);
    let tests = session
        .evaluation()
        .load(&nxe_evaluator::Source::File(repo.entry.display().to_string()))
        .and_then(|root| options::select(session.evaluation(), &root, &repo.unit_attr));
    let tests = match tests {
        Ok(tests) => tests,
        Err(error) => {
            return TestRecord::new(name, TestKind::Unit, None, Status::Fail).with_reason(session.summary(&error))
        }
    };
    let outcome = unit::run(session.evaluation(), &tests, path);
    let reason = match &outcome.result {
        unit::UnitResult::Pass => None,
        unit::UnitResult::Fail(mismatch) => {
            Some(format!("expected {}\n     got {}\n{}", mismatch.expected, mismatch.actual, mismatch.diff))
        }
        unit::UnitResult::Error(error) => Some(error.clone()),
    };
    let status = if reason.is_some() { Status::Fail } else { Status::Pass };
    let mut record = TestRecord::new(name, TestKind::Unit, None, status);
    record.reason = match (reason, outcome.position) {
        (Some(reason), Some(position)) => Some(format!("{reason}\n  test at {position}")),
        (reason, _) => reason,
    };
    record
}

/// Option validation of one host: failed assertions, refused definitions and evaluation
/// errors fail it; warnings are reported with a pass.
fn run_options(session: &mut Session, host: &str, layout: &HostLayout) -> (Status, Option<String>) {
    let value = match session.host_value(host) {
        Ok(value) => value,
        Err(error) => return (Status::Fail, Some(session.summary(&error))),
    };
    let findings = options::check_host(session.evaluation(), host, &value, layout);
    let failing: Vec<String> =
        findings.iter().filter(|f| f.kind != FindingKind::Warning).map(|f| f.to_string()).collect();
    let warnings: Vec<String> =
        findings.iter().filter(|f| f.kind == FindingKind::Warning).map(|f| f.to_string()).collect();
    if failing.is_empty() {
        (Status::Pass, (!warnings.is_empty()).then(|| warnings.join("\n")))
    } else {
        (Status::Fail, Some(failing.into_iter().chain(warnings).collect::<Vec<_>>().join("\n")))
    }
}

/// The secrets and backups policies on one host.
fn run_policies(
    session: &mut Session,
    repo: &Repo,
    host: &str,
    layout: &HostLayout,
    config: &PolicyConfig,
) -> (Status, Option<String>) {
    let value = match session.host_value(host) {
        Ok(value) => value,
        Err(error) => return (Status::Fail, Some(session.summary(&error))),
    };
    let mut policies = match Policies::new(config.clone(), &repo.root) {
        Ok(policies) => policies,
        Err(error) => return (Status::Fail, Some(error.to_string())),
    };
    let outcome = policies.check_host(session.evaluation(), host, &value, layout);
    let mut problems = Vec::new();
    let mut unchecked = None;
    for policy in [&outcome.secrets, &outcome.backups] {
        match policy {
            crate::policy::Outcome::Checked(violations) => problems.extend(violations.iter().map(|v| v.to_string())),
            crate::policy::Outcome::Error(error) => unchecked = Some(error.clone()),
            crate::policy::Outcome::Disabled => {}
        }
    }
    match (problems.is_empty(), unchecked) {
        (false, _) => (Status::Fail, Some(problems.join("\n"))),
        // The host does not evaluate: that is the option validation's failure to report.
        (true, Some(error)) => (Status::Skip, Some(format!("cannot be checked: {error}"))),
        (true, None) => (Status::Pass, None),
    }
}

/// Something to build: a check, or a host's system.
#[derive(Clone, Debug)]
pub struct BuildTarget {
    /// The check's name (`HOST.CHECK`), or `system`.
    pub name: String,
    /// The host it belongs to.
    pub host: Option<String>,
    /// The entry of the checks' set whose evaluation makes it (`None`: the host's system).
    pub group: Option<String>,
    /// Its `.drv` path.
    pub drv_path: String,
}

/// Evaluates a host's system derivation (its drvPath forced, so that its derivations are
/// made).
fn system_drv_path(session: &mut Session, repo: &Repo, host: &str) -> nxe_evaluator::EvalResult<String> {
    let value = session.host_value(host)?;
    let toplevel = options::select(session.evaluation(), &value, &repo.toplevel_attr)?;
    let drv = options::select(session.evaluation(), &toplevel, &["drvPath".to_string()])?;
    let text = nxe_evaluator::builtins::force_string(session.evaluation().evaluator(), &drv)?;
    Ok(text.as_str().to_string())
}
