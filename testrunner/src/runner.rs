//! `nxe test`: every kind of test of a repository, scheduled in parallel, each skipped when
//! it passed before with the same inputs.
//!
//! - Unit tests and the hosts' evaluations come from the engine's cached units: a unit test
//!   whose read set still holds is answered from the cache.
//! - Option validation and policies run per host on a recording session: their read sets
//!   are cached with their result, so a pass whose files did not change is skipped.
//! - Checks pass when they build; a pass is recorded under the check's drvPath.

use crate::build::Builder;
use crate::options::{self, FindingKind, HostLayout};
use crate::policy::{Policies, PolicyConfig};
use crate::report::{Status, TestKind, TestRecord};
use crate::schedule::{build_dag, BuildPlan, NodeResult};
use crate::unit;
use nxe_engine::config::{join_attr_path, Repo};
use nxe_engine::impact::{resolve_side, Side, SideResults, Store};
use nxe_engine::reads::Anchor;
use nxe_engine::units::{Outcome, Session, TestStatus, Unit};
use nxe_engine::EngineError;
use nxe_evaluator::AddedPath;
use nxe_store::Derivation;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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

/// An error naming the first of `hosts` the repository does not have.
fn check_hosts_exist(resolved: &SideResults, hosts: &[String]) -> Result<(), EngineError> {
    match hosts.iter().find(|host| !resolved.listing.hosts.contains(host)) {
        Some(host) => Err(EngineError::Config(format!("no host named '{host}'"))),
        None => Ok(()),
    }
}

/// What a run tells as it goes.
pub trait Reporter: Sync {
    /// How many tests the run has, said once before the first one ends.
    fn planned(&self, _total: usize) {}
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
    let threads = options.threads.max(1);
    let (mut store, side, resolved) =
        resolve_work_tree(repo, options.cache_dir.as_deref(), threads, options.max_memory)?;
    let wanted_kind = |kind: TestKind| options.kinds.is_empty() || options.kinds.contains(&kind);
    let wanted_host = |host: &str| options.hosts.is_empty() || options.hosts.iter().any(|h| h == host);
    check_hosts_exist(&resolved, &options.hosts)?;
    let n_hosts = resolved.listing.hosts.iter().filter(|h| wanted_host(h)).count();
    let total = [
        (TestKind::Unit, resolved.listing.tests.len()),
        (TestKind::Option, n_hosts),
        (TestKind::Policy, n_hosts),
        (
            TestKind::Check,
            resolved_checks(&resolved).iter().filter(|c| c.host.as_deref().is_none_or(&wanted_host)).count(),
        ),
    ]
    .iter()
    .filter(|(kind, _)| wanted_kind(*kind))
    .map(|(_, n)| n)
    .sum();
    reporter.planned(total);
    let records = Mutex::new(Vec::new());
    let failed = std::sync::atomic::AtomicBool::new(false);
    let emit = |record: TestRecord| {
        if record.status == Status::Fail {
            failed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        reporter.finished(&record);
        if let Ok(mut records) = records.lock() {
            records.push(record);
        }
    };

    // Unit tests: straight from the engine's units.
    let mut failing_tests = Vec::new();
    if wanted_kind(TestKind::Unit) {
        for (unit_id, resolved_unit) in &resolved.units {
            let (Unit::Test(path), Outcome::Test(test)) = (unit_id, &resolved_unit.outcome) else { continue };
            let name = join_attr_path(path);
            let record = TestRecord::new(name, TestKind::Unit, None, Status::Pass);
            let record = match (test.status, resolved_unit.evaluated || options.rerun) {
                (TestStatus::Pass, false) => record.with_reason(PASSED_BEFORE).skipped(),
                (TestStatus::Pass, true) => record,
                (_, _) => {
                    failing_tests.push(path.clone());
                    continue;
                }
            };
            emit(record);
        }
    }

    let state = side.state();
    let anchor = state.anchor().clone();
    let policy_config = PolicyConfig::from_table(&repo.policy).map_err(|e| EngineError::Config(e.to_string()))?;
    let layout =
        HostLayout { config: repo.config_attr.clone(), toplevel: repo.toplevel_attr.clone(), ..HostLayout::default() };
    let hosts: Vec<String> = resolved.listing.hosts.iter().filter(|h| wanted_host(h)).cloned().collect();

    // Per-host work (option validation, policies), looked up in the cache first.
    let mut host_jobs = Vec::new();
    for host in &hosts {
        for kind in [TestKind::Option, TestKind::Policy] {
            if !wanted_kind(kind) {
                continue;
            }
            let id = format!("{}:{host}", kind.as_str());
            match store.lookup(&id, state) {
                Some(result) if !options.rerun && result["status"] == "pass" => emit(
                    TestRecord::new(kind.as_str(), kind, Some(host), Status::Pass).with_reason(PASSED_BEFORE).skipped(),
                ),
                _ => host_jobs.push((kind, host.clone())),
            }
        }
    }

    // Checks: a pass is recorded under the drvPath.
    let mut check_jobs = Vec::new();
    if wanted_kind(TestKind::Check) {
        let checks = resolved_checks(&resolved);
        let keys: Vec<String> = checks.iter().filter_map(|c| c.drv_path.clone()).collect();
        let passed = match store.cache() {
            Some(cache) => cache.passed(&keys)?,
            None => BTreeSet::new(),
        };
        for check in checks {
            let host = check.host.clone();
            if host.as_deref().is_some_and(|h| !wanted_host(h)) {
                continue;
            }
            let name = check.name.clone();
            match (&check.drv_path, &check.error) {
                (_, Some(error)) => emit(
                    TestRecord::new(name, TestKind::Check, host.as_deref(), Status::Fail)
                        .with_reason(format!("does not evaluate: {error}")),
                ),
                (Some(drv), None) if passed.contains(drv) && !options.rerun => emit(
                    TestRecord::new(name, TestKind::Check, host.as_deref(), Status::Pass)
                        .with_reason(format!("built before as {drv}"))
                        .skipped(),
                ),
                (Some(_), None) if options.builder.is_none() => emit(
                    TestRecord::new(name, TestKind::Check, host.as_deref(), Status::Skip)
                        .with_reason("no builder (--builder none)"),
                ),
                (Some(drv), None) => check_jobs.push((check.clone(), drv.clone())),
                (None, None) => {}
            }
        }
    }

    let log_dir = log_dir(repo, options.cache_dir.as_deref());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(1 << 30)
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot start worker threads: {e}")))?;
    let remembered = Mutex::new(Vec::new());
    let passes = Mutex::new(Vec::new());
    let stop = || options.fail_fast && failed.load(std::sync::atomic::Ordering::Relaxed);
    // Evaluations (failing unit tests again, option validation, policies) and check builds
    // run side by side on the pool.
    let run_evaluations = || {
        // Failing unit tests again, for a readable diff.
        failing_tests.par_iter().for_each(|path| {
            let started = Instant::now();
            let record = match Session::open(repo, &anchor) {
                Ok(mut session) => unit_record(&mut session, repo, path),
                Err(error) => TestRecord::new(join_attr_path(path), TestKind::Unit, None, Status::Fail)
                    .with_reason(error.to_string()),
            };
            emit(record.with_seconds(started.elapsed().as_secs_f64()));
        });
        // One session per host for its option validation and policies: the host is
        // evaluated once for both, and both results are cached with what the session read.
        let mut by_host: BTreeMap<&String, Vec<TestKind>> = BTreeMap::new();
        for (kind, host) in &host_jobs {
            by_host.entry(host).or_default().push(*kind);
        }
        let by_host: Vec<(&String, Vec<TestKind>)> = by_host.into_iter().collect();
        by_host.par_iter().for_each(|(host, kinds)| {
            if stop() {
                return;
            }
            let mut session = match Session::open(repo, &anchor) {
                Ok(session) => Some(session),
                Err(error) => {
                    for kind in kinds {
                        emit(
                            TestRecord::new(kind.as_str(), *kind, Some(host), Status::Fail)
                                .with_reason(error.to_string()),
                        );
                    }
                    None
                }
            };
            let Some(session) = session.as_mut() else { return };
            let mut results = Vec::new();
            for kind in kinds {
                let started = Instant::now();
                let (status, reason) = match kind {
                    TestKind::Option => run_options(session, host, &layout),
                    _ => run_policies(session, repo, host, &layout, &policy_config),
                };
                results.push((*kind, status, reason, started.elapsed().as_secs_f64()));
            }
            let reads = session.reads(state);
            for (kind, status, reason, seconds) in results {
                if let Ok(mut remembered) = remembered.lock() {
                    let result = serde_json::json!({ "status": status.as_str(), "reason": reason });
                    remembered.push((format!("{}:{host}", kind.as_str()), reads.clone(), result));
                }
                let mut record = TestRecord::new(kind.as_str(), kind, Some(host), status);
                record.reason = reason;
                emit(record.with_seconds(seconds));
            }
        });
    };
    let run_builds = || {
        if let Some(builder) = &options.builder {
            let targets: Vec<BuildTarget> = check_jobs
                .iter()
                .map(|(check, drv)| BuildTarget {
                    name: check.name.clone(),
                    host: check.host.clone(),
                    group: Some(check.name.split('.').next().unwrap_or(&check.name).to_string()),
                    drv_path: drv.clone(),
                })
                .collect();
            for (target, record) in build_targets(repo, &anchor, &targets, builder.as_ref(), options, &log_dir) {
                if matches!(record.status, Status::Pass | Status::Flaky) {
                    if let Ok(mut passes) = passes.lock() {
                        passes.push((target.drv_path.clone(), "check".to_string(), target.name.clone()));
                    }
                }
                emit(record);
            }
        }
    };
    pool.install(|| rayon::join(run_evaluations, run_builds));
    let remembered = remembered.into_inner().unwrap_or_default();
    store.remember(&remembered)?;
    let passes = passes.into_inner().unwrap_or_default();
    if let Some(cache) = store.cache() {
        cache.record_passes(&passes)?;
    }
    let mut records = records.into_inner().unwrap_or_default();
    records.sort_by(|a, b| (a.kind, &a.host, &a.name).cmp(&(b.kind, &b.host, &b.name)));
    Ok(RunResult { records, notes: std::mem::take(&mut store.notes) })
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

fn resolved_checks(resolved: &nxe_engine::impact::SideResults) -> Vec<nxe_engine::CheckResult> {
    resolved.checks().into_values().collect()
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

/// Builds targets as one DAG of derivations: evaluates what makes them (in parallel, one
/// session per check group or host), then builds every derivation once, as soon as its
/// inputs are built. One record per target, in the order given.
pub fn build_targets(
    repo: &Repo,
    anchor: &Anchor,
    targets: &[BuildTarget],
    builder: &dyn Builder,
    options: &RunOptions,
    log_dir: &Path,
) -> Vec<(BuildTarget, TestRecord)> {
    let started = Instant::now();
    let record = |target: &BuildTarget, status: Status, reason: String| {
        TestRecord::new(target.name.clone(), TestKind::Check, target.host.as_deref(), status).with_reason(reason)
    };
    // What makes the targets: one evaluation per check group or host.
    let source_of = |target: &BuildTarget| match &target.group {
        Some(group) => (Some(group.clone()), None),
        None => (None, target.host.clone()),
    };
    let sources: BTreeSet<(Option<String>, Option<String>)> = targets.iter().map(source_of).collect();
    let sources: Vec<_> = sources.into_iter().collect();
    type Writes = (BTreeMap<String, Derivation>, BTreeMap<String, AddedPath>);
    type Source = (Option<String>, Option<String>);
    let evaluated: Vec<Result<Writes, (Source, String)>> = sources
        .par_iter()
        .map(|source| {
            let fail = |message: String| (source.clone(), message);
            let mut session = Session::open(repo, anchor).map_err(|e| fail(e.to_string()))?;
            match source {
                (Some(group), _) => {
                    session.checks(group).map_err(fail)?;
                }
                (None, Some(host)) => {
                    let outcome = system_drv_path(&mut session, repo, host);
                    outcome.map_err(|e| fail(session.summary(&e)))?;
                }
                (None, None) => {}
            }
            let writes = session.store_writes();
            Ok((writes.derivations.clone(), writes.paths.clone()))
        })
        .collect();
    let mut derivations = BTreeMap::new();
    let mut added_paths = BTreeMap::new();
    let mut failed_sources = BTreeMap::new();
    for result in evaluated {
        match result {
            Ok((drvs, paths)) => {
                derivations.extend(drvs);
                added_paths.extend(paths);
            }
            Err((source, error)) => {
                failed_sources.insert(source, error);
            }
        }
    }
    let roots: Vec<String> = targets.iter().map(|t| t.drv_path.clone()).collect();
    let plan = BuildPlan {
        derivations: &derivations,
        added_paths: &added_paths,
        roots: &roots,
        timeout: options.build_timeout,
        log_dir,
        retries: options.retries,
        fail_fast: options.fail_fast,
    };
    let results = build_dag(&plan, builder);
    let seconds = started.elapsed().as_secs_f64();
    targets
        .iter()
        .map(|target| {
            let out = match (failed_sources.get(&source_of(target)), results.get(&target.drv_path)) {
                (Some(error), _) => record(target, Status::Fail, format!("does not evaluate: {error}")),
                (None, Some(NodeResult::Built { outputs, attempts: 1, .. })) => record(
                    target,
                    Status::Pass,
                    format!("built {}", outputs.values().cloned().collect::<Vec<_>>().join(" ")),
                ),
                (None, Some(NodeResult::Built { attempts, first_error, .. })) => record(
                    target,
                    Status::Flaky,
                    format!("passed on try {attempts} after: {}", first_error.clone().unwrap_or_default()),
                ),
                (None, Some(NodeResult::Failed(error))) => record(target, Status::Fail, error.clone()),
                (None, Some(NodeResult::DependencyFailed(input))) => {
                    let cause = match results.get(input) {
                        Some(NodeResult::Failed(error)) => error.clone(),
                        _ => String::new(),
                    };
                    record(target, Status::Fail, format!("its input {input} failed to build: {cause}"))
                }
                (None, Some(NodeResult::NotStarted)) => {
                    record(target, Status::Skip, "not started: the run stopped at a failure (--fail-fast)".into())
                }
                (None, None) => record(
                    target,
                    Status::Fail,
                    format!("{} is not among the derivations its evaluation made", target.drv_path),
                ),
            };
            (target.clone(), out.with_seconds(seconds))
        })
        .collect()
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

/// Builds hosts' systems (`nxe build`): one record per host, named `system`.
pub fn build_hosts(repo: &Repo, options: &RunOptions, reporter: &dyn Reporter) -> Result<RunResult, EngineError> {
    let threads = options.threads.max(1);
    let (mut store, side, resolved) =
        resolve_work_tree(repo, options.cache_dir.as_deref(), threads, options.max_memory)?;
    check_hosts_exist(&resolved, &options.hosts)?;
    let Some(builder) = &options.builder else {
        return Err(EngineError::Config("nxe build needs a builder (--builder local or nix)".into()));
    };
    let mut records = Vec::new();
    let mut targets = Vec::new();
    for (name, host) in resolved.hosts() {
        if !options.hosts.is_empty() && !options.hosts.contains(&name) {
            continue;
        }
        match (host.drv_path, host.error) {
            (Some(drv_path), _) => {
                targets.push(BuildTarget { name: "system".into(), host: Some(name), group: None, drv_path })
            }
            (None, error) => {
                let record = TestRecord::new("system", TestKind::Check, Some(&name), Status::Fail)
                    .with_reason(format!("does not evaluate: {}", error.unwrap_or_default()));
                records.push(record);
            }
        }
    }
    reporter.planned(records.len() + targets.len());
    for record in &records {
        reporter.finished(record);
    }
    let anchor = side.state().anchor().clone();
    let log_dir = log_dir(repo, options.cache_dir.as_deref());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(1 << 30)
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot start worker threads: {e}")))?;
    let built = pool.install(|| build_targets(repo, &anchor, &targets, builder.as_ref(), options, &log_dir));
    for (_, record) in built {
        reporter.finished(&record);
        records.push(record);
    }
    records.sort_by(|a, b| (&a.host, &a.name).cmp(&(&b.host, &b.name)));
    Ok(RunResult { records, notes: std::mem::take(&mut store.notes) })
}
