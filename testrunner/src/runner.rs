//! `nxe test`: every kind of test of a repository, scheduled in parallel, each skipped when
//! it passed before with the same inputs.
//!
//! - Unit tests and the hosts' evaluations come from the engine's cached units: a unit test
//!   whose read set still holds is answered from the cache.
//! - Option validation and policies run per host on a recording session: their read sets
//!   are cached with their result, so a pass whose files did not change is skipped.
//! - Checks pass when they build; a pass is recorded under the check's drvPath.

use crate::build::{BuildRequest, Builder};
use crate::options::{self, FindingKind, HostLayout};
use crate::policy::{Policies, PolicyConfig};
use crate::report::{Status, TestKind, TestRecord};
use crate::unit;
use nxe_engine::config::{join_attr_path, Repo};
use nxe_engine::impact::{resolve_side, Side, Store};
use nxe_engine::reads::{Anchor, State};
use nxe_engine::units::{Outcome, Session, TestStatus, Unit};
use nxe_engine::EngineError;
use rayon::prelude::*;
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

/// Runs the tests of `repo`, calling `on_record` as each one ends.
pub fn run(
    repo: &Repo,
    options: &RunOptions,
    on_record: &(dyn Fn(&TestRecord) + Sync),
) -> Result<RunResult, EngineError> {
    let top = nxe_engine::git::toplevel(&repo.root).unwrap_or_else(|_| repo.root.clone());
    let mut store = Store::open(repo, &top, options.cache_dir.as_deref())?;
    let mut side = Side::work_tree(repo, &top);
    let threads = options.threads.max(1);
    let resolved = resolve_side(&mut store, &mut side, None, threads)?;
    let wanted_kind = |kind: TestKind| options.kinds.is_empty() || options.kinds.contains(&kind);
    let wanted_host = |host: &str| options.hosts.is_empty() || options.hosts.iter().any(|h| h == host);
    for host in &options.hosts {
        if !resolved.listing.hosts.contains(host) {
            return Err(EngineError::Config(format!("no host named '{host}'")));
        }
    }
    let records = Mutex::new(Vec::new());
    let failed = std::sync::atomic::AtomicBool::new(false);
    let emit = |record: TestRecord| {
        if record.status == Status::Fail {
            failed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        on_record(&record);
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
    pool.install(|| {
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
        host_jobs.par_iter().for_each(|(kind, host)| {
            if stop() {
                return;
            }
            let started = Instant::now();
            let (status, reason, reads) = match Session::open(repo, &anchor) {
                Ok(mut session) => {
                    let (status, reason) = match kind {
                        TestKind::Option => run_options(&mut session, host, &layout),
                        _ => run_policies(&mut session, repo, host, &layout, &policy_config),
                    };
                    (status, reason, Some(session.reads(state)))
                }
                Err(error) => (Status::Fail, Some(error.to_string()), None),
            };
            if let (Some(reads), Ok(mut remembered)) = (reads, remembered.lock()) {
                let result = serde_json::json!({ "status": status.as_str(), "reason": reason });
                remembered.push((format!("{}:{host}", kind.as_str()), reads, result));
            }
            let mut record = TestRecord::new(kind.as_str(), *kind, Some(host), status);
            record.reason = reason;
            emit(record.with_seconds(started.elapsed().as_secs_f64()));
        });
        check_jobs.par_iter().for_each(|(check, drv)| {
            if stop() {
                return;
            }
            let Some(builder) = &options.builder else { return };
            let started = Instant::now();
            let record = build_check(repo, &anchor, check, drv, builder.as_ref(), options, &log_dir);
            if matches!(record.status, Status::Pass | Status::Flaky) {
                if let Ok(mut passes) = passes.lock() {
                    passes.push((drv.clone(), "check".to_string(), check.name.clone()));
                }
            }
            emit(record.with_seconds(started.elapsed().as_secs_f64()));
        });
    });
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
    for policy in [&outcome.secrets, &outcome.backups] {
        match policy {
            crate::policy::Outcome::Checked(violations) => problems.extend(violations.iter().map(|v| v.to_string())),
            crate::policy::Outcome::Error(error) => problems.push(format!("cannot be checked: {error}")),
            crate::policy::Outcome::Disabled => {}
        }
    }
    if problems.is_empty() {
        (Status::Pass, None)
    } else {
        (Status::Fail, Some(problems.join("\n")))
    }
}

/// Builds one check (retrying a failed build `options.retries` times).
fn build_check(
    repo: &Repo,
    anchor: &Anchor,
    check: &nxe_engine::CheckResult,
    drv: &str,
    builder: &dyn Builder,
    options: &RunOptions,
    log_dir: &Path,
) -> TestRecord {
    let host = check.host.as_deref();
    let fail =
        |reason: String| TestRecord::new(check.name.clone(), TestKind::Check, host, Status::Fail).with_reason(reason);
    let mut session = match Session::open(repo, anchor) {
        Ok(session) => session,
        Err(error) => return fail(error.to_string()),
    };
    let group = check.name.split('.').next().unwrap_or(&check.name).to_string();
    if let Err(error) = session.checks(&group) {
        return fail(error);
    }
    let writes = session.store_writes();
    let mut last_error = None;
    for attempt in 0..=options.retries {
        let request = BuildRequest {
            drv_path: drv,
            derivations: &writes.derivations,
            added_paths: &writes.paths,
            timeout: options.build_timeout,
            log_dir,
        };
        match builder.build(&request) {
            Ok(outcome) => {
                let outputs: Vec<String> = outcome.outputs.values().cloned().collect();
                let record = TestRecord::new(check.name.clone(), TestKind::Check, host, Status::Pass);
                return if attempt == 0 {
                    record.with_reason(format!("built {}", outputs.join(" ")))
                } else {
                    let first = last_error.unwrap_or_default();
                    TestRecord { status: Status::Flaky, ..record }
                        .with_reason(format!("passed on retry {attempt} after: {first}"))
                };
            }
            Err(error) => {
                let log = error.log().map(|log| format!(" (log: {})", log.display())).unwrap_or_default();
                last_error = Some(format!("{error}{log}"));
            }
        }
    }
    fail(last_error.unwrap_or_default())
}

/// A state for callers that only need to check read sets.
pub fn work_tree_state(repo: &Repo) -> State {
    let top = nxe_engine::git::toplevel(&repo.root).unwrap_or_else(|_| repo.root.clone());
    State::work_tree(Anchor { root: top, store_dir: repo.store_dir.clone() })
}
