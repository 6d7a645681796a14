//! Units of cached evaluation: the listing of a repository (host names, check groups, unit
//! test names), each host (its top-level derivation, failing assertions and warnings), each
//! host's checks, and each unit test. Every unit is evaluated on a fresh evaluator whose I/O
//! is recorded, so its read set is exactly what it depended on.

use crate::config::{join_attr_path, Repo};
use crate::fleet::{base_io, CheckResult, Shared, Worker};
use crate::reads::{Anchor, ReadKey, ReadSet, RecordingIo, State};
use crate::snapshots::{HostSnapshot, HostSnapshots, LazySnapshots, Shape, Snap, SnapshotEntry};
use crate::EngineError;
use nxe_evaluator::diagnostics;
use nxe_evaluator::eval::CodeCache;
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::value::TrackedScopes;
use nxe_evaluator::{EvalError, EvalIo, EvalResult, OutputMode, Source, Value};
use nxe_store::Derivation;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One unit of evaluation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// Host names, check groups and unit test names.
    Listing,
    /// One host, with its checks when the checks' set has an entry of the host's name
    /// (evaluated together, since checks build on the host).
    Host(String, bool),
    /// The checks of one entry of the checks' set (normally a host's).
    Checks(String),
    /// One unit test, by attribute path below the tests' set.
    Test(Vec<String>),
}

impl Unit {
    /// The unit's name in the cache.
    pub fn id(&self) -> String {
        match self {
            Unit::Listing => "listing".to_string(),
            Unit::Host(name, false) => format!("host:{name}"),
            Unit::Host(name, true) => format!("host+checks:{name}"),
            Unit::Checks(name) => format!("checks:{name}"),
            Unit::Test(path) => format!("test:{}", join_attr_path(path)),
        }
    }
}

/// What the listing gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Host names, sorted.
    pub hosts: Vec<String>,
    /// Names of the entries of the checks' set, sorted.
    pub checks: Vec<String>,
    /// Attribute paths of the unit tests, sorted.
    pub tests: Vec<Vec<String>>,
}

/// What a host's evaluation gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOutcome {
    /// The top-level derivation.
    #[serde(rename = "drvPath")]
    pub drv_path: Option<String>,
    /// Why it did not evaluate, in short.
    pub error: Option<String>,
    /// Messages of the assertions that failed.
    pub failing_assertions: Vec<String>,
    /// The host's warnings.
    pub warnings: Vec<String>,
    /// Its checks, when they were evaluated with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<CheckResult>>,
    /// With option ignores configured (`[impact] ignore = ["config.…"]`): a key of the
    /// drvPath the host's top level has with those options pinned to their defaults; `None`
    /// when they are not configured or pinning failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_digest: Option<String>,
    /// With its checks and option ignores: a key of `pinned_digest` and of what the checks
    /// read beyond what the host read, so that equal keys mean the checks changed only
    /// through the ignored options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_checks_digest: Option<String>,
}

/// Whether a unit test passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// `expr == expected`.
    Pass,
    /// They differ.
    Fail,
    /// One of them failed to evaluate.
    Error,
}

/// What a unit test gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// Pass, fail or error.
    pub status: TestStatus,
    /// A hash of the test's name and both values as evaluated (or its error): the same key
    /// means the same test with the same outcome.
    pub key: String,
    /// The expected and actual values, or the error, when it did not pass.
    pub message: Option<String>,
}

/// What a unit gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Outcome {
    /// The listing.
    Listing(Listing),
    /// A host.
    Host(HostOutcome),
    /// One group of checks.
    Checks {
        /// Each check's result.
        checks: Vec<CheckResult>,
    },
    /// A unit test.
    Test(TestOutcome),
    /// The unit could not be evaluated at all (the listing, or the checks' set itself).
    Failed {
        /// The error, rendered.
        error: String,
    },
}

/// A unit, what it gave, and what it read.
pub struct Evaluated {
    /// The unit.
    pub unit: Unit,
    /// What it gave.
    pub outcome: Outcome,
    /// What it read.
    pub reads: ReadSet,
    /// The derivations it made.
    pub derivations: BTreeMap<String, Derivation>,
    /// The other store objects it added.
    pub added: BTreeMap<String, nxe_evaluator::AddedPath>,
}

/// What evaluating a batch of units gave.
pub struct BatchRun {
    /// Each unit's outcome, with the reads of all (and those of the snapshots used).
    pub evaluated: Vec<Evaluated>,
    /// What the tests forced of each host they evaluated (not of those rebuilt from
    /// snapshots).
    pub shapes: BTreeMap<String, Shape>,
    /// The hosts rebuilt from snapshots.
    pub used: BTreeSet<String>,
    /// The hosts whose snapshots lacked a value a test forced.
    pub missed: BTreeSet<String>,
    /// Snapshots host units took of their hosts, with the shapes earlier tests forced.
    pub taken: Vec<SnapshotEntry>,
}

/// Evaluates `batches` of units of `repo` on `threads` workers, each batch on a fresh
/// evaluator (see [`batches`]), recording their reads (hashes are taken in `state`, the
/// state of the files `repo` is in) and keeping the store objects they made. A memory budget
/// applies per worker: a batch whose evaluation passes it is stopped, and evaluated again
/// alone without a budget after the others (its stopped evaluation is never a result).
///
/// With `snapshots` (of the hosts' values, see [`crate::snapshots`]), unit tests use those
/// that hold, and the snapshots of hosts the tests evaluated are taken again where they do
/// not cover what the tests forced: they are given back, to be remembered.
///
/// With `prefetch` (what a host's unit read last time), when that unit is all there is to
/// evaluate before the tests, another worker compiles those files meanwhile.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_units_within(
    repo: &Repo,
    anchor: &Anchor,
    state: &State,
    batches: &[Vec<Unit>],
    threads: usize,
    max_memory: Option<u64>,
    snapshots: Option<&LazySnapshots>,
    prefetch: Option<&BTreeSet<ReadKey>>,
) -> Result<(Vec<Evaluated>, Vec<SnapshotEntry>), EngineError> {
    let evaluator = UnitEvaluator::new(repo, anchor, state, max_memory)?;
    let none = HostSnapshots::default();
    let given = || snapshots.map_or(&none, |snapshots| snapshots.get(state));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1).min(batches.len().max(1)))
        .stack_size(crate::fleet::WORKER_STACK)
        .thread_name(|i| format!("nxe-unit-{i}"))
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot start worker threads: {e}")))?;
    pool.install(|| {
        // Tests wait for the hosts evaluated beside them and take those hosts' values from
        // the snapshots their units take, instead of evaluating them a second time.
        let hosts_first = snapshots.is_some() && batches.iter().flatten().any(|unit| matches!(unit, Unit::Host(..)));
        let later = |batch: &Vec<Unit>| hosts_first && batch.iter().all(|unit| matches!(unit, Unit::Test(_)));
        let (tests, first): (Vec<&Vec<Unit>>, Vec<&Vec<Unit>>) = batches.iter().partition(|batch| later(batch));
        // Beside the first batches, another thread compiles what a lone host's unit read last
        // time, then loads the snapshots, which a host's unit needs only once it is evaluated.
        let prefetch = prefetch.filter(|_| first.len() == 1);
        let mut runs = match (prefetch.is_some() || snapshots.is_some()) && rayon::current_num_threads() > 1 {
            true => {
                let done = AtomicBool::new(false);
                let (runs, ()) = rayon::join(
                    || {
                        let runs = run_batches(&evaluator, &first, &given);
                        done.store(true, Ordering::Relaxed);
                        runs
                    },
                    || {
                        if let Some(keys) = prefetch {
                            evaluator.prefetch(keys, &|| done.load(Ordering::Relaxed));
                        }
                        given();
                    },
                );
                runs?
            }
            false => run_batches(&evaluator, &first, &given)?,
        };
        let mut fresh_given = None;
        if !tests.is_empty() {
            let fresh = runs.iter().flat_map(|run| &run.taken).map(HostSnapshot::of_entry);
            let with_fresh = fresh_given.insert(given().with_fresh(fresh));
            runs.extend(run_batches(&evaluator, &tests, &|| &*with_fresh)?);
        }
        let given = fresh_given.as_ref().unwrap_or_else(|| given());
        let mut done = Vec::new();
        let mut taken = Vec::new();
        let mut forced_by = Vec::new();
        for run in runs {
            done.extend(run.evaluated);
            taken.extend(run.taken);
            forced_by.push((run.shapes, run.missed));
        }
        let Some(snapshots) = snapshots.map(|_| given) else { return Ok((done, Vec::new())) };
        let mut forced = BTreeMap::new();
        let fresh: BTreeMap<String, Shape> =
            taken.iter().map(|(host, _, shape, _)| (host.clone(), shape.clone())).collect();
        let mut retake = BTreeSet::new();
        let mut entries = taken;
        for (shapes, missed) in forced_by {
            let (hosts, unusable) = snapshots.note_forced(&mut forced, shapes, &missed, &fresh);
            retake.extend(hosts);
            entries.extend(unusable);
        }
        let retake: Vec<(String, Shape)> = retake
            .into_iter()
            .filter_map(|host| Some((host.clone(), snapshots.shape_forced(&forced, &host)?.clone())))
            .collect();
        let taken: Vec<SnapshotEntry> = retake
            .par_iter()
            .filter_map(|(host, shape)| {
                let (reads, snap) = evaluator.snapshot(host, shape, false)?;
                Some((host.clone(), reads, shape.clone(), snap))
            })
            .collect();
        entries.extend(taken);
        Ok((done, entries))
    })
}

/// Evaluates `batches` in parallel in the current pool, then again alone those that passed
/// the memory budget.
fn run_batches<'s>(
    evaluator: &UnitEvaluator,
    batches: &[&Vec<Unit>],
    given: &(dyn Fn() -> &'s HostSnapshots + Sync),
) -> Result<Vec<BatchRun>, EngineError> {
    let first: Vec<Option<BatchRun>> =
        batches.par_iter().map(|batch| evaluator.evaluate_then(batch, given, false, &mut |_, _| {})).collect();
    if first.iter().any(Option::is_none) {
        // Some run alone next: the other threads free what their last batch left.
        rayon::broadcast(|_| free_parked_session());
    }
    batches
        .iter()
        .zip(first)
        .map(|(batch, result)| match result {
            Some(run) => Ok(run),
            // Over the budget: alone now, without one.
            None => evaluator.evaluate_then(batch, given, true, &mut |_, _| {}).ok_or_else(|| {
                EngineError::Internal(format!("a batch of {} units was stopped without a budget", batch.len()))
            }),
        })
        .collect()
}

/// A test may share an evaluation with others when its previous read set is within that of
/// the batch's first test and lacks at most a fifth of its own size of it.
const SHARED_READS_SLACK: usize = 5;

/// Splits `units` into batches, each evaluated on one evaluator: unit tests that read (last
/// time, by `previous`) the same files, or nearly, share one, so that what they all read
/// (such as every host's configuration, for a test about the whole fleet) is evaluated once;
/// every other unit is a batch of its own. A batch's units all get the batch's read set:
/// a test is charged at most a fifth more than it read itself, and never less, so no change
/// that matters to it goes unnoticed. Tests without a previous read set run alone, so that
/// what they read on their own is known first. Hosts come first, then batches of several
/// units.
pub fn batches(units: &[Unit], previous: impl Fn(&Unit) -> Option<BTreeSet<ReadKey>>) -> Vec<Vec<Unit>> {
    let mut single = Vec::new();
    let mut tests = Vec::new();
    for unit in units {
        match (unit, previous(unit)) {
            (Unit::Test(_), Some(keys)) if !keys.is_empty() => tests.push((unit.clone(), keys)),
            _ => single.push(vec![unit.clone()]),
        }
    }
    // The widest first, so that each batch is led by the widest of its tests.
    tests.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let mut groups: Vec<(BTreeSet<ReadKey>, Vec<Unit>)> = Vec::new();
    for (unit, keys) in tests {
        let slack = keys.len() / SHARED_READS_SLACK;
        match groups.iter_mut().find(|(lead, _)| lead.len() - keys.len() <= slack && keys.is_subset(lead)) {
            Some((_, members)) => members.push(unit),
            None => groups.push((keys, vec![unit])),
        }
    }
    let mut out: Vec<Vec<Unit>> = groups.into_iter().map(|(_, members)| members).collect();
    out.extend(single);
    // The longest first: hosts (a host's unit is the longest evaluation left when tests take
    // the other hosts from snapshots), then shared evaluations, then the rest.
    out.sort_by_key(|batch| match batch.as_slice() {
        [Unit::Host(..)] => (0, std::cmp::Reverse(0)),
        _ => (1, std::cmp::Reverse(batch.len())),
    });
    out
}

/// Evaluates single units of one repository, each on a fresh evaluator whose reads are
/// recorded, from any thread (give it threads with [`crate::fleet::WORKER_STACK`] of stack).
/// What schedulers of their own use; [`evaluate_units_within`] is one.
pub struct UnitEvaluator<'a> {
    shared: Shared<'a>,
    anchor: &'a Anchor,
    state: &'a State,
    pins: Vec<Vec<String>>,
    budget: Option<u64>,
}

impl<'a> UnitEvaluator<'a> {
    /// An evaluator of `repo`'s units, with read sets anchored at `anchor` and hashed in
    /// `state`, and a memory budget per unit.
    pub fn new(
        repo: &'a Repo,
        anchor: &'a Anchor,
        state: &'a State,
        max_memory: Option<u64>,
    ) -> Result<UnitEvaluator<'a>, EngineError> {
        let flake = match repo.kind {
            crate::config::RepoKind::Flake => Some(Arc::new(crate::flake::FlakeSetup::new(repo)?)),
            crate::config::RepoKind::Plain => None,
        };
        Ok(UnitEvaluator {
            shared: Shared { repo, code: code_cache(), flake },
            anchor,
            state,
            pins: crate::impact::ignored_options(repo)?,
            budget: max_memory.filter(|_| crate::memory::accounting_active()),
        })
    }

    /// Compiles on this thread the Nix files among `keys` (what a unit read last time) that
    /// no thread compiled or compiles yet, so that the unit about to import them finds them
    /// compiled: work for a thread that would otherwise wait. Files go in reverse order of
    /// their paths; the unit meets them from the other end. It stops once `done` says the
    /// unit ended.
    pub fn prefetch(&self, keys: &BTreeSet<ReadKey>, done: &dyn Fn() -> bool) {
        let files = keys.iter().rev().filter_map(|key| match key {
            ReadKey::File(path) if path.ends_with(".nix") => Some(path.as_str()),
            _ => None,
        });
        self.prefetch_files(files, done, "prefetch");
    }

    /// Compiles on this thread, in their order, the Nix files `files` (relative to the
    /// anchor, or absolute) that no thread compiled or compiles yet, until `done` says to
    /// stop. Nothing for a flake, whose units import copies of the files in the store.
    /// `NXE_TRACE_UNITS` prints what it did, after `label`.
    pub fn prefetch_files<'p>(&self, files: impl Iterator<Item = &'p str>, done: &dyn Fn() -> bool, label: &str) {
        if self.shared.flake.is_some() {
            return;
        }
        let settings = crate::fleet::settings_for(self.shared.repo, None);
        let mut evaluator = nxe_evaluator::Evaluator::new(base_io(&self.shared), settings, self.shared.code.clone());
        let started = std::time::Instant::now();
        let (mut compiled, mut seen) = (0, 0);
        for path in files {
            if done() {
                break;
            }
            seen += 1;
            // Only regular files: opening a named pipe would wait for a writer, and the run
            // for this thread.
            let absolute = self.anchor.absolute(path);
            if std::fs::metadata(&absolute).is_ok_and(|meta| meta.is_file()) {
                compiled += usize::from(evaluator.prefetch_file(&absolute.to_string_lossy()));
            }
        }
        if std::env::var_os("NXE_TRACE_UNITS").is_some() {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            eprintln!("{label} compiled {compiled} of {seen} files looked at in {ms:.1} ms");
        }
    }

    /// Evaluates `unit` within the memory budget; `None` when it passed the budget and was
    /// stopped (evaluate it again with [`UnitEvaluator::evaluate_alone`], when nothing else
    /// runs).
    pub fn evaluate(&self, unit: &Unit) -> Option<Evaluated> {
        self.run(unit, self.budget)
    }

    /// A recording session on the same repository, sharing what this evaluator resolved
    /// once (a flake's sources are hashed once per run, not once per session).
    pub fn session(&self, max_memory: Option<u64>) -> Session {
        if std::env::var_os("NXE_TRACE_UNITS").is_some() {
            eprintln!("session opened");
        }
        Session::with_shared(&self.shared, self.anchor, max_memory)
    }

    fn run_batch(&self, units: &[Unit], budget: Option<u64>) -> Option<Vec<Evaluated>> {
        self.run_batch_with(units, budget, &BTreeMap::new(), &|_| None, &mut |_, _| {}).map(|run| run.evaluated)
    }

    /// Evaluates a batch of units (see [`batches`]) on one evaluator within the memory
    /// budget (none when `alone`): each gets the reads of all, and the first the store
    /// objects of all. With `snapshots` of the hosts' values (see [`crate::snapshots`]),
    /// unit tests take the hosts whose snapshots
    /// hold from them instead of evaluating them (if a test forces what a snapshot lacks, the
    /// tests are evaluated again without any), and give what they forced of the hosts they
    /// evaluated; a host unit also takes its host's snapshot, when tests forced some of it
    /// before. `None` when the evaluation passed the memory budget (`alone`: there is none).
    pub fn evaluate_with(&self, units: &[Unit], snapshots: &HostSnapshots, alone: bool) -> Option<BatchRun> {
        self.evaluate_then(units, &|| snapshots, alone, &mut |_, _| {})
    }

    /// [`UnitEvaluator::evaluate_with`], running `after` on the units' session once they
    /// are evaluated and their hosts' snapshots taken, with those snapshots (the test runner
    /// hands them to the tests waiting for them, then validates a host's options there, on
    /// the evaluation the host's unit made); the units' read sets do not include what `after`
    /// read. The snapshots are asked for when needed: a host's unit needs them only once it
    /// is evaluated.
    pub fn evaluate_then<'s>(
        &self,
        units: &[Unit],
        snapshots: &dyn Fn() -> &'s HostSnapshots,
        alone: bool,
        after: &mut dyn FnMut(&mut Session, &[SnapshotEntry]),
    ) -> Option<BatchRun> {
        let budget = if alone { None } else { self.budget };
        let tests_only = units.iter().all(|unit| matches!(unit, Unit::Test(_)));
        let shape_of = |host: &str| snapshots().shapes.get(host).cloned();
        if !tests_only {
            return self.run_batch_with(units, budget, &BTreeMap::new(), &shape_of, after);
        }
        let usable = snapshots().usable();
        if !usable.is_empty() {
            let run = self.run_batch_with(units, budget, &usable, &shape_of, after)?;
            if run.missed.is_empty() {
                if std::env::var_os("NXE_TRACE_UNITS").is_some() && !run.used.is_empty() {
                    let used: Vec<&str> = run.used.iter().map(String::as_str).collect();
                    eprintln!("tests used the snapshots of {}", used.join(", "));
                }
                return Some(run);
            }
            if std::env::var_os("NXE_TRACE_UNITS").is_some() {
                eprintln!("snapshots of {:?} lacked a value; evaluating the tests again without", run.missed);
            }
            let mut again = self.run_batch_with(units, budget, &BTreeMap::new(), &shape_of, after)?;
            again.missed = run.missed;
            return Some(again);
        }
        self.run_batch_with(units, budget, &BTreeMap::new(), &shape_of, after)
    }

    /// Evaluates `host` alone, forces `shape` in its value and keeps what is there, with
    /// what that read; `None` when the host does not evaluate, the snapshot would be too
    /// large, or the memory budget stopped it.
    pub fn snapshot(&self, host: &str, shape: &Shape, alone: bool) -> Option<(ReadSet, Snap)> {
        let mut session = Session::with_shared(&self.shared, self.anchor, if alone { None } else { self.budget });
        let (value, _) = host_value(&mut session.worker, host).ok()?;
        let snap = crate::snapshots::take(session.worker.evaluation.evaluator(), &value, shape)?;
        if session.interrupted() {
            return None;
        }
        Some((session.reads(self.state), snap))
    }

    fn run_batch_with(
        &self,
        units: &[Unit],
        budget: Option<u64>,
        snapshots: &BTreeMap<String, Arc<HostSnapshot>>,
        shape_of: &dyn Fn(&str) -> Option<Shape>,
        after: &mut dyn FnMut(&mut Session, &[SnapshotEntry]),
    ) -> Option<BatchRun> {
        let mut session = Session::with_shared(&self.shared, self.anchor, budget);
        let tests_only = units.iter().all(|unit| matches!(unit, Unit::Test(_)));
        let seeding = tests_only && !snapshots.is_empty();
        if seeding {
            crate::snapshots::begin();
            let snaps = snapshots.iter().map(|(host, snapshot)| (host.clone(), snapshot.snap.clone())).collect();
            // A failure here is the units' own failure, and they report it.
            let _ = crate::snapshots::seed(&mut session.worker, snaps);
        }
        let pinning = Pinning { pins: &self.pins, recorder: &session.recorder, state: self.state };
        let mut outcomes = Vec::with_capacity(units.len());
        let mut stopped = false;
        for unit in units {
            let started = std::time::Instant::now();
            outcomes.push(evaluate_unit(&mut session.worker, unit, &pinning));
            if std::env::var_os("NXE_TRACE_UNITS").is_some() {
                let batch = if units.len() > 1 { format!(" (in a batch of {})", units.len()) } else { String::new() };
                eprintln!("unit {} {:.1} ms{batch}", unit.id(), started.elapsed().as_secs_f64() * 1000.0);
            }
            if session.interrupted() {
                stopped = true;
                break;
            }
        }
        let (used, missed) = if seeding { crate::snapshots::end() } else { Default::default() };
        if stopped {
            return None;
        }
        if !missed.is_empty() {
            // Not a result: the caller evaluates the units again without snapshots.
            return Some(BatchRun { evaluated: Vec::new(), shapes: BTreeMap::new(), used, missed, taken: Vec::new() });
        }
        // A test that used a host's snapshot read what the snapshot's evaluation read.
        let extra = used.iter().filter_map(|host| snapshots.get(host)).flat_map(|s| s.reads.keys());
        let reads = session.reads_with(self.state, extra);
        let mut taken = Vec::new();
        for unit in units {
            let Unit::Host(host, _) = unit else { continue };
            let Some(shape) = shape_of(host) else { continue };
            // After the units' reads: what only the tests force is not the host's.
            let Ok((value, _)) = host_value(&mut session.worker, host) else { continue };
            let snap = crate::snapshots::take(session.worker.evaluation.evaluator(), &value, &shape);
            if let Some(snap) = snap.filter(|_| !session.interrupted()) {
                taken.push((host.clone(), session.reads(self.state), shape, snap));
            }
        }
        after(&mut session, &taken);
        if session.interrupted() {
            return None;
        }
        let shapes = if tests_only { crate::snapshots::capture_hosts(&session.worker, &used) } else { BTreeMap::new() };
        let (mut derivations, mut added) = session.worker.take_store_objects();
        // Dropping the session frees the units' values, cycles included.
        let evaluated = units
            .iter()
            .zip(outcomes)
            .map(|(unit, outcome)| Evaluated {
                unit: unit.clone(),
                outcome,
                reads: reads.clone(),
                derivations: std::mem::take(&mut derivations),
                added: std::mem::take(&mut added),
            })
            .collect();
        Some(BatchRun { evaluated, shapes, used, missed, taken })
    }

    /// Evaluates `unit` without a budget.
    pub fn evaluate_alone(&self, unit: &Unit) -> Result<Evaluated, EngineError> {
        self.run(unit, None).ok_or_else(|| EngineError::Internal(format!("{} was stopped without a budget", unit.id())))
    }

    fn run(&self, unit: &Unit, budget: Option<u64>) -> Option<Evaluated> {
        self.run_batch(std::slice::from_ref(unit), budget)?.pop()
    }
}

/// Keeps the Nix files that this process compiles of `repo`'s work tree and of the
/// directories of its search path in `code` under the cache's directory `cache_dir`, for
/// later runs to decode instead of compiling them again. Not those of temporary checkouts
/// (their paths change every run) or of the store (a new path for every change).
pub fn keep_compiled_code(repo: &Repo, cache_dir: &std::path::Path) {
    code_cache().keep_in(code_store(repo, cache_dir));
}

/// Where the Nix files of `repo`'s work tree and of the directories of its search path are
/// kept compiled, under the cache's directory `cache_dir` (see [`keep_compiled_code`]).
pub(crate) fn code_store(repo: &Repo, cache_dir: &std::path::Path) -> nxe_evaluator::CodeStore {
    let store_dir = std::path::Path::new(&repo.store_dir);
    let mut roots = vec![repo.root.clone()];
    roots.extend(
        repo.nix_path
            .iter()
            .map(|(_, path)| std::path::PathBuf::from(path))
            .filter(|path| path.is_absolute() && !path.starts_with(store_dir)),
    );
    nxe_evaluator::CodeStore::new(cache_dir.join("code"), &roots)
}

/// The compiled files every unit and session of this process shares: files are compiled
/// once per process (a run reads each file in one state; a checkout's files have other
/// paths), and a unit that reuses one still records reading it.
fn code_cache() -> Arc<CodeCache> {
    static CODE: std::sync::OnceLock<Arc<CodeCache>> = std::sync::OnceLock::new();
    CODE.get_or_init(|| Arc::new(CodeCache::default())).clone()
}

/// What pinning ignored options needs: the option paths (none: nothing is pinned), and the
/// unit's reads so far, to tell what a host's checks read beyond the host.
struct Pinning<'a> {
    pins: &'a [Vec<String>],
    recorder: &'a RecordingIo,
    state: &'a State,
}

fn evaluate_unit(worker: &mut Worker, unit: &Unit, pinning: &Pinning<'_>) -> Outcome {
    match unit {
        Unit::Listing => match listing(worker) {
            Ok(listing) => Outcome::Listing(listing),
            Err(error) => Outcome::Failed { error },
        },
        Unit::Host(name, with_checks) => {
            let mut outcome = host(worker, name);
            if !pinning.pins.is_empty() {
                outcome.pinned_digest = pinned_toplevel(worker, name, pinning.pins).ok().map(|drv| key_of(&[&drv]));
            }
            if *with_checks {
                let host_reads = pinning.recorder.keys();
                outcome.checks = Some(match worker.checks(name) {
                    Ok(checks) => checks,
                    Err(error) => vec![CheckResult {
                        name: name.clone(),
                        host: Some(name.clone()),
                        drv_path: None,
                        error: Some(error),
                    }],
                });
                if let Some(pinned) = &outcome.pinned_digest {
                    let check_reads = pinning.recorder.keys().difference(&host_reads).cloned().collect::<Vec<_>>();
                    let check_reads = pinning.state.read_set(check_reads);
                    outcome.pinned_checks_digest =
                        serde_json::to_string(&check_reads).ok().map(|reads| key_of(&[pinned, &reads]));
                }
            }
            Outcome::Host(outcome)
        }
        Unit::Checks(name) => match worker.checks(name) {
            Ok(checks) => Outcome::Checks { checks },
            Err(error) => Outcome::Failed { error },
        },
        Unit::Test(path) => Outcome::Test(test(worker, path)),
    }
}

fn listing(worker: &mut Worker) -> Result<Listing, String> {
    let (hosts, checks) = worker.listing(true)?;
    let mut tests = Vec::new();
    let root = worker.root().map_err(|e| diagnostics::render(&e, false, false))?;
    let path = worker.repo.unit_attr.clone();
    if !path.is_empty() {
        let shown = join_attr_path(&path);
        match worker.select(root, &path, &shown) {
            Ok(value) => match discover_tests(&mut worker.evaluation, &value) {
                Ok(found) => tests = found,
                // A default `tests` attribute that is not unit tests is not an error.
                Err(_) if !worker.repo.unit_explicit => {}
                Err(error) => return Err(diagnostics::render(&error, false, false)),
            },
            Err(error) if !worker.repo.unit_explicit && error.to_string().contains("not found") => {}
            Err(error) => return Err(diagnostics::render(&error, false, false)),
        }
    }
    Ok(Listing { hosts, checks, tests })
}

/// The attribute paths of the unit tests below `tests`, sorted: a set with `expr` and
/// `expected` is a test, any other set a group of tests, other values are left out. A group
/// that fails to evaluate is listed as a test, so that running it reports its error. Only
/// `tests` itself failing, or not being a set, is an error.
pub fn discover_tests(evaluation: &mut nxe_evaluator::Evaluation, tests: &Value) -> EvalResult<Vec<Vec<String>>> {
    let value = evaluation.evaluator().force(tests)?;
    let Value::Attrs(attrs) = &value else {
        return Err(EvalError::msg(format!(
            "the unit tests are {} while a set was expected",
            value.type_with_article()
        )));
    };
    let (expr, expected) = (Symbol::intern("expr"), Symbol::intern("expected"));
    let mut out = Vec::new();
    let mut path = Vec::new();
    discover_in(evaluation, attrs, (expr, expected), &mut path, &mut out);
    out.sort();
    Ok(out)
}

fn discover_in(
    evaluation: &mut nxe_evaluator::Evaluation,
    attrs: &nxe_evaluator::value::Attrs,
    (expr, expected): (Symbol, Symbol),
    path: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    for attr in attrs.iter() {
        path.push(attr.name.as_str().to_string());
        match evaluation.evaluator().force(&attr.value) {
            Ok(Value::Attrs(inner)) if inner.contains(expr) && inner.contains(expected) => out.push(path.clone()),
            Ok(Value::Attrs(inner)) => discover_in(evaluation, &inner, (expr, expected), path, out),
            Ok(_) => {}
            Err(_) => out.push(path.clone()),
        }
        path.pop();
    }
}

fn host(worker: &mut Worker, name: &str) -> HostOutcome {
    let mut outcome = HostOutcome::default();
    match worker.host(name) {
        Ok(drv_path) => outcome.drv_path = Some(drv_path),
        Err(error) => outcome.error = Some(worker.summary(&error)),
    }
    if let Ok((assertions, warnings)) = assertions_and_warnings(worker, name) {
        outcome.failing_assertions = assertions;
        outcome.warnings = warnings;
    }
    outcome
}

/// A host's value (`hosts.<name>`), and its attribute path.
fn host_value(worker: &mut Worker, name: &str) -> EvalResult<(Value, Vec<String>)> {
    let hosts = worker.hosts_set()?;
    let mut path = worker.repo.hosts_attr.clone();
    path.push(name.to_string());
    let host = worker.select(hosts, &path[path.len() - 1..], &join_attr_path(&path))?;
    Ok((host, path))
}

/// Pins each option of `paths` to its default in a host and gives the host's top level:
/// `extendModules` (of NixOS and of `lib.evalModules`) evaluates the host again with a
/// module per option that overrides it (`mkOverride 0`, written out as the module system
/// represents it, since `lib` may not be at hand). The top level is at the host's top-level
/// path in the new evaluation, or where NixOS keeps it (a host that adds its top level to the
/// module evaluation's result, as the example fleet does, has it only there).
const PIN_OPTIONS: &str = r#"
paths: toplevelPath: configPath: host:
let
  get = path: set: builtins.foldl' (inner: name: inner.${name}) set path;
  has = path: set:
    path == [ ]
    || (builtins.isAttrs set && set ? ${builtins.head path} && has (builtins.tail path) set.${builtins.head path});
  nest = path: value: if path == [ ] then value else { ${builtins.head path} = nest (builtins.tail path) value; };
  pin = path: { options, ... }:
    nest path { _type = "override"; priority = 0; content = (get path options).default; };
  pinned = host.extendModules { modules = map pin paths; };
in
if has toplevelPath pinned then get toplevelPath pinned
else get (configPath ++ [ "system" "build" "toplevel" ]) pinned
"#;

/// The drvPath of a host's top level with the options at `paths` (below the host's options)
/// pinned to their defaults: equal on two sides when the host differs only in those options.
/// Any failure (no `extendModules`, an option that does not exist or has no default) is an
/// error, and the host then counts as changed.
fn pinned_toplevel(worker: &mut Worker, name: &str, paths: &[Vec<String>]) -> EvalResult<String> {
    let (host, path) = host_value(worker, name)?;
    let strings = |names: &[String]| Value::list(names.iter().map(|n| Value::string(n.as_str())).collect());
    let base_dir = worker.repo.root.display().to_string();
    let function = worker.evaluation.load(&Source::Expression { text: PIN_OPTIONS.to_string(), base_dir })?;
    let args = [
        Value::list(paths.iter().map(|p| strings(p)).collect()),
        strings(&worker.repo.toplevel_attr),
        strings(&worker.repo.config_attr),
        host,
    ];
    let toplevel = worker.evaluation.evaluator().call(function, &args, None)?;
    let toplevel = worker.evaluation.evaluator().force(&toplevel)?;
    let shown = format!("{} with ignored options pinned", join_attr_path(&path));
    worker.drv_path(&toplevel, &shown)?.ok_or_else(|| EvalError::msg(format!("'{shown}' is not a derivation")))
}

/// The messages of a host's failed assertions and its warnings.
fn assertions_and_warnings(worker: &mut Worker, name: &str) -> EvalResult<(Vec<String>, Vec<String>)> {
    let (host, mut path) = host_value(worker, name)?;
    let config_attr = worker.repo.config_attr.clone();
    path.extend(config_attr.iter().cloned());
    let config = worker.select(host, &config_attr, &join_attr_path(&path))?;
    let mut strings = |list_name: &str, config: &Value| -> EvalResult<Vec<Value>> {
        let Value::Attrs(attrs) = config else { return Ok(Vec::new()) };
        let Some(list) = attrs.get(Symbol::intern(list_name)).cloned() else { return Ok(Vec::new()) };
        match worker.evaluation.evaluator().force(&list)? {
            Value::List(items) => Ok(items.iter().cloned().collect()),
            _ => Ok(Vec::new()),
        }
    };
    let assertions = strings("assertions", &config)?;
    let warnings = strings("warnings", &config)?;
    let ev = worker.evaluation.evaluator();
    let (assertion, message) = (Symbol::intern("assertion"), Symbol::intern("message"));
    let mut failing = Vec::new();
    for item in assertions {
        let Value::Attrs(item) = ev.force(&item)? else { continue };
        let holds = match item.get(assertion) {
            Some(value) => matches!(ev.force(value)?, Value::Bool(true)),
            None => true,
        };
        if !holds {
            let text = match item.get(message) {
                Some(value) => nxe_evaluator::builtins::force_string(ev, value)?.as_str().to_string(),
                None => "assertion failed".to_string(),
            };
            failing.push(text);
        }
    }
    let mut texts = Vec::new();
    for item in warnings {
        texts.push(nxe_evaluator::builtins::force_string(ev, &item)?.as_str().to_string());
    }
    Ok((failing, texts))
}

fn test(worker: &mut Worker, path: &[String]) -> TestOutcome {
    let name = join_attr_path(path);
    match run_test(worker, path) {
        Ok((equal, expected, actual)) => {
            let key = key_of(&[&name, &expected, &actual]);
            let message = (!equal).then(|| format!("expected {expected}, got {actual}"));
            TestOutcome { status: if equal { TestStatus::Pass } else { TestStatus::Fail }, key, message }
        }
        Err(error) => {
            let message = worker.summary(&error);
            TestOutcome { status: TestStatus::Error, key: key_of(&[&name, "error", &message]), message: Some(message) }
        }
    }
}

/// Whether the test passes, and its expected and actual values printed.
fn run_test(worker: &mut Worker, path: &[String]) -> EvalResult<(bool, String, String)> {
    let root = worker.root()?;
    let mut full = worker.repo.unit_attr.clone();
    let tests = worker.select(root, &full, &join_attr_path(&full))?;
    full.extend(path.iter().cloned());
    let test = worker.select(tests, path, &join_attr_path(&full))?;
    let Value::Attrs(attrs) = &test else {
        return Err(EvalError::msg(format!("the test '{}' is not a set", join_attr_path(&full))));
    };
    let (Some(expr), Some(expected)) =
        (attrs.get(Symbol::intern("expr")).cloned(), attrs.get(Symbol::intern("expected")).cloned())
    else {
        return Err(EvalError::msg(format!("the test '{}' has no expr and expected", join_attr_path(&full))));
    };
    let ev = worker.evaluation.evaluator();
    let actual = ev.force_deep(&expr)?;
    let expected = ev.force_deep(&expected)?;
    let equal = nxe_evaluator::ops::equal(ev, &actual, &expected)?;
    let expected_text = worker.evaluation.render(&expected, OutputMode::Strict)?;
    let actual_text = worker.evaluation.render(&actual, OutputMode::Strict)?;
    Ok((equal, expected_text, actual_text))
}

/// A short blake3 key of some texts.
pub fn key_of(parts: &[&str]) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex()[..32].to_string()
}

/// An evaluation of a repository on a fresh evaluator whose reads are recorded: each unit's,
/// and the test runner's for its own work (option validation, policies, check builds). Its
/// values are freed when it is dropped (one session per thread at a time), or, after
/// [`exit_after_run`], when the thread's next session starts.
pub struct Session {
    worker: ManuallyDrop<Worker>,
    recorder: ManuallyDrop<Rc<RecordingIo>>,
}

/// What a session holds: its evaluation and its record of reads.
type SessionParts = (Worker, Rc<RecordingIo>);

/// Whether the process ends when its run is over (see [`exit_after_run`]).
static EXIT_AFTER_RUN: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread's finished sessions, oldest first, with what they tracked, kept after
    /// [`exit_after_run`] while the thread holds little memory (see [`PARK_LIMIT`]). Never
    /// freed at the thread's end: the process is about to end, and the system takes their
    /// memory back at once.
    static PARKED: RefCell<Vec<ManuallyDrop<(SessionParts, TrackedScopes)>>> = const { RefCell::new(Vec::new()) };
}

/// The memory a thread may hold (its live bytes, parked sessions included) when it starts a
/// session, before its oldest parked sessions are freed (an eighth of the session's budget,
/// when that is less). Freeing a host's evaluation took 3 ms of the 60 of `nxe test
/// --changed` after a host's edit, on the path to the tests that wait for that host.
pub const PARK_LIMIT: usize = 64 << 20;

/// How much a thread's first session after [`exit_after_run`] may grow before it tracks
/// scopes (an eighth of its budget, when that is less). Tracking costs about a tenth of an
/// evaluation's time (1.6 of the 17 ms of a host's unit in `nxe test --changed` after a
/// host's edit); what it buys is freeing the session's cycles, which a process that ends
/// after its run needs only when it holds too much. Freed, this session leaves what its
/// cycles held before it started tracking: at most this much, once per thread.
pub const UNTRACKED_LIMIT: usize = 32 << 20;

thread_local! {
    /// Whether this thread already ran its session that starts without tracking scopes
    /// (see [`UNTRACKED_LIMIT`]).
    static UNTRACKED_SPENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The live bytes past which the running session starts tracking scopes (0: it
    /// tracks them already, or never will).
    static TRACK_PAST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The evaluator's interrupt hook for sessions: starts tracking scopes once an untracked
/// session passed [`UNTRACKED_LIMIT`], and stops a session past its budget.
fn session_hook() -> Option<String> {
    let past = TRACK_PAST.with(std::cell::Cell::get);
    if past != 0 && crate::memory::thread_live_bytes() > past {
        TRACK_PAST.with(|t| t.set(0));
        nxe_evaluator::value::track_scopes();
    }
    crate::fleet::over_budget()
}

/// Tells the engine that the process ends once the current run is over (the command line):
/// a finished session is then not freed at once but, when its thread starts another, only
/// if the thread holds too much memory (see [`PARK_LIMIT`]), so the last sessions of each
/// thread are never freed. Freeing an evaluation of a whole fleet one
/// value at a time took 43 ms after the fixture fleet's fleet-wide tests, an eighth of
/// `nxe test --changed`, spent on memory the system reclaims anyway.
pub fn exit_after_run() {
    EXIT_AFTER_RUN.store(true, Ordering::Relaxed);
}

/// Frees `value`, or, when the process ends once the run is over (see [`exit_after_run`]),
/// leaves its memory to the system, which takes it back at once.
pub fn let_go<T>(value: T) {
    if EXIT_AFTER_RUN.load(Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

/// Frees this thread's parked sessions (see [`exit_after_run`]): when it waits while another
/// thread runs alone, so the one alone has the memory.
pub fn free_parked_session() {
    free_parked_over(0);
}

/// Frees this thread's parked sessions, oldest first, until it holds at most `limit` bytes
/// (all of them when memory is not counted).
fn free_parked_over(limit: usize) {
    while !crate::memory::accounting_active() || crate::memory::thread_live_bytes() > limit {
        let oldest = PARKED.with(|p| {
            let mut parked = p.borrow_mut();
            (!parked.is_empty()).then(|| parked.remove(0))
        });
        let Some(oldest) = oldest else { return };
        let (parts, tracked) = ManuallyDrop::into_inner(oldest);
        free_whole(parts, tracked);
    }
}

/// Frees an evaluation (`parts`) with the scopes it tracked: releasing them first breaks
/// the cycles through them, so dropping the evaluation frees everything.
pub(crate) fn free_whole<T>(parts: T, tracked: TrackedScopes) {
    tracked.release();
    drop(parts);
}

impl Drop for Session {
    fn drop(&mut self) {
        crate::fleet::BUDGET.with(|b| b.set(0));
        TRACK_PAST.with(|t| t.set(0));
        // SAFETY: the fields are taken once, here, and the session is not used after.
        let fields = unsafe { (ManuallyDrop::take(&mut self.worker), ManuallyDrop::take(&mut self.recorder)) };
        // A session stopped by its budget is freed at once: its work runs again alone.
        let interrupted = crate::fleet::INTERRUPTED.with(std::cell::Cell::get);
        if EXIT_AFTER_RUN.load(Ordering::Relaxed) && !interrupted {
            let tracked = nxe_evaluator::value::take_tracked_scopes();
            PARKED.with(|p| p.borrow_mut().push(ManuallyDrop::new((fields, tracked))));
            return;
        }
        free_parked_session();
        nxe_evaluator::value::release_scopes();
        drop(fields);
    }
}

impl Session {
    /// A session whose thread may hold at most `max_memory` bytes: past that, evaluation
    /// stops with an error and [`Session::interrupted`] says so (run the work again without
    /// a budget, when nothing else runs). It shares what `shared` resolved once (a flake's
    /// sources).
    fn with_shared(shared: &Shared<'_>, anchor: &Anchor, max_memory: Option<u64>) -> Session {
        let budget = max_memory.filter(|_| crate::memory::accounting_active());
        crate::fleet::BUDGET.with(|b| b.set(budget.map_or(0, |b| b as usize)));
        crate::fleet::INTERRUPTED.with(|i| i.set(false));
        free_parked_over(budget.map_or(PARK_LIMIT, |budget| PARK_LIMIT.min(budget as usize / 8)));
        // The thread's first session after `exit_after_run` tracks scopes only once it grew
        // past a limit (see `UNTRACKED_LIMIT`); every other session from its start.
        let untracked = EXIT_AFTER_RUN.load(Ordering::Relaxed)
            && crate::memory::accounting_active()
            && !UNTRACKED_SPENT.with(|spent| spent.replace(true));
        if untracked {
            let limit = budget.map_or(UNTRACKED_LIMIT, |budget| UNTRACKED_LIMIT.min(budget as usize / 8));
            TRACK_PAST.with(|t| t.set(crate::memory::thread_live_bytes() + limit));
        } else {
            TRACK_PAST.with(|t| t.set(0));
            nxe_evaluator::value::track_scopes();
        }
        let interrupt = (budget.is_some() || untracked).then_some(session_hook as fn() -> Option<String>);
        let recorder = Rc::new(RecordingIo::new(base_io(shared), anchor.clone()));
        let io: Rc<dyn EvalIo> = recorder.clone();
        Session {
            worker: ManuallyDrop::new(Worker::with_io(shared, interrupt, io)),
            recorder: ManuallyDrop::new(recorder),
        }
    }

    /// Whether the session passed its memory budget (its results are not to be used).
    pub fn interrupted(&self) -> bool {
        crate::fleet::INTERRUPTED.with(std::cell::Cell::get)
    }

    /// The evaluation.
    pub fn evaluation(&mut self) -> &mut nxe_evaluator::Evaluation {
        &mut self.worker.evaluation
    }

    /// A host's value (`hosts.<name>`).
    pub fn host_value(&mut self, name: &str) -> EvalResult<Value> {
        host_value(&mut self.worker, name).map(|(host, _)| host)
    }

    /// The checks under one entry of the checks' set.
    pub fn checks(&mut self, name: &str) -> Result<Vec<CheckResult>, String> {
        self.worker.checks(name)
    }

    /// An error in short, with its position.
    pub fn summary(&self, error: &EvalError) -> String {
        self.worker.summary(error)
    }

    /// What the session read so far, hashed in `state`.
    pub fn reads(&self, state: &State) -> ReadSet {
        self.reads_with(state, std::iter::empty())
    }

    /// What the session read so far and `extra`, hashed in `state`.
    fn reads_with(&self, state: &State, extra: impl IntoIterator<Item = ReadKey>) -> ReadSet {
        let mut keys = self.recorder.keys();
        keys.extend(extra);
        if self.worker.repo.kind == crate::config::RepoKind::Flake {
            // A flake's values name its source's store path, which hashes every tracked
            // file, and its revision: any change to one, or a commit, may change them.
            keys.insert(ReadKey::Tree(self.recorder.anchor().key_path(&self.worker.repo.root)));
        }
        state.read_set(keys)
    }

    /// Everything the evaluation put in the store: derivations and other paths.
    pub fn store_writes(&mut self) -> &nxe_evaluator::StoreWrites {
        self.worker.evaluation.evaluator().store_writes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str) -> Unit {
        Unit::Test(vec![name.to_string()])
    }

    fn files(range: std::ops::Range<usize>) -> BTreeSet<ReadKey> {
        range.map(|i| ReadKey::File(format!("f{i}.nix"))).collect()
    }

    #[test]
    fn tests_that_read_nearly_the_same_files_share_a_batch() {
        let previous = |unit: &Unit| match unit {
            Unit::Test(path) => match path[0].as_str() {
                "wide" => Some(files(0..100)),
                "same" => Some(files(0..100)),
                // A fifth less than the widest: still charged with it.
                "within" => Some(files(0..84)),
                "narrow" => Some(files(0..70)),
                "elsewhere" => Some(files(50..150)),
                "other-narrow" => Some(files(100..170)),
                _ => None,
            },
            _ => None,
        };
        let units = vec![
            Unit::Listing,
            test("narrow"),
            test("new"),
            test("within"),
            test("wide"),
            test("elsewhere"),
            test("same"),
            Unit::Host("web-01".into(), false),
            test("other-narrow"),
        ];
        let batches = batches(&units, previous);
        assert_eq!(batches[0], vec![Unit::Host("web-01".into(), false)], "{batches:?}");
        assert_eq!(batches[1], vec![test("same"), test("wide"), test("within")], "{batches:?}");
        assert!(batches[2..].iter().all(|batch| batch.len() == 1), "{batches:?}");
        let mut rest: Vec<Unit> = batches[2..].iter().map(|batch| batch[0].clone()).collect();
        rest.sort();
        let mut expected = vec![Unit::Listing, test("elsewhere"), test("narrow"), test("new"), test("other-narrow")];
        expected.sort();
        assert_eq!(rest, expected);
    }

    #[test]
    fn every_unit_is_in_exactly_one_batch() {
        let units: Vec<Unit> = (0..40).map(|i| test(&format!("t{i}"))).collect();
        // Read sets of many sizes, nested and not.
        let previous = |unit: &Unit| match unit {
            Unit::Test(path) => {
                let i: usize = path[0][1..].parse().unwrap_or(0);
                Some(files((i % 3) * 10..(i % 3) * 10 + 20 + i))
            }
            _ => None,
        };
        let mut seen: Vec<Unit> = batches(&units, previous).into_iter().flatten().collect();
        seen.sort();
        let mut expected = units.clone();
        expected.sort();
        assert_eq!(seen, expected);
    }
}
