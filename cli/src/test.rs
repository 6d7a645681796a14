//! `nxe test` (option validation, unit tests, checks and policies, skipping what passed
//! before with the same inputs) and `nxe log` (a check's build log).

use crate::fleet::{emit, fail, usage, RepoArgs};
use clap::{Args, ValueEnum};
use nxe_engine::{FleetOptions, Repo};
use nxe_testrunner::build::{Builder, LocalBuilder, NixBuilder};
use nxe_testrunner::report::Progress;
use nxe_testrunner::report::{self, Counts, Status, TestKind, TestRecord};
use nxe_testrunner::runner::{self, Reporter, RunOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Which builder builds checks.
#[derive(Clone, Copy, ValueEnum)]
pub enum BuilderChoice {
    /// The built-in builder, else the installed Nix when `nix-store` is on PATH (an installed
    /// Nix accepts the evaluation's store objects only from root or its trusted users, so it
    /// is not the default).
    Auto,
    /// The built-in builder (a local store directory, builders in a private namespace).
    Local,
    /// The installed Nix (`nix-store --realise`, remote builders included).
    Nix,
    /// Do not build checks (they are reported as skipped).
    None,
}

/// `nxe test`.
#[derive(Args)]
pub struct TestArgs {
    /// Only tests of these hosts (unit tests always run).
    hosts: Vec<String>,
    /// Only these kinds of tests (repeatable).
    #[arg(long, value_enum)]
    kind: Vec<KindArg>,
    /// Run only what has no recorded pass with its current inputs, and say so when nothing
    /// needs to run (for pre-commit hooks; a plain `nxe test` skips the same tests).
    #[arg(long)]
    changed: bool,
    /// Run every test, even those that passed before with the same inputs.
    #[arg(long, conflicts_with = "changed")]
    rerun: bool,
    /// Stop starting new tests after the first failure (the default keeps going).
    #[arg(long)]
    fail_fast: bool,
    /// Run everything even when tests fail (the default).
    #[arg(long, conflicts_with = "fail_fast")]
    keep_going: bool,
    /// Build a failed check again up to N times; a pass on a retry is reported flaky.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// Which builder builds checks.
    #[arg(long, value_enum, default_value = "auto")]
    builder: BuilderChoice,
    /// Seconds one check's build may take.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Print one JSON object per test on standard output.
    #[arg(long)]
    json: bool,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// The cache's directory (default: `.nxe` in the repository's root).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    #[command(flatten)]
    repo: RepoArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Option,
    Unit,
    Check,
    Policy,
}

fn builder(choice: BuilderChoice) -> Result<Option<Arc<dyn Builder>>, String> {
    let local = || -> Result<Arc<dyn Builder>, String> {
        LocalBuilder::for_user().map(|b| Arc::new(b) as Arc<dyn Builder>).map_err(|e| e.to_string())
    };
    let nix = std::env::var_os("NXE_BUILD_NIX").map(NixBuilder::new).or_else(NixBuilder::from_path);
    Ok(match choice {
        BuilderChoice::None => None,
        BuilderChoice::Local => Some(local()?),
        BuilderChoice::Nix => {
            Some(Arc::new(nix.ok_or("--builder nix: no nix-store on PATH (or NXE_BUILD_NIX)")?) as Arc<dyn Builder>)
        }
        BuilderChoice::Auto => match (local(), nix) {
            (Ok(local), _) => Some(local),
            (Err(_), Some(nix)) => Some(Arc::new(nix) as Arc<dyn Builder>),
            (Err(error), None) => return Err(error),
        },
    })
}

pub fn run_test(args: TestArgs) -> ExitCode {
    let (repo, FleetOptions { threads, max_memory, .. }) = match args.repo.open() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let builder = match builder(args.builder) {
        Ok(builder) => builder,
        Err(message) => return usage(message),
    };
    let kinds = args
        .kind
        .iter()
        .map(|k| match k {
            KindArg::Option => TestKind::Option,
            KindArg::Unit => TestKind::Unit,
            KindArg::Check => TestKind::Check,
            KindArg::Policy => TestKind::Policy,
        })
        .collect();
    let options = RunOptions {
        hosts: args.hosts.clone(),
        kinds,
        rerun: args.rerun,
        fail_fast: args.fail_fast,
        retries: args.retries,
        threads,
        cache_dir: args.cache.clone(),
        builder,
        build_timeout: args.timeout.map(Duration::from_secs),
        max_memory,
    };
    let started = Instant::now();
    let reporter = Console::new(args.json);
    let result = match runner::run(&repo, &options, &reporter) {
        Ok(result) => result,
        Err(error) => return fail(error),
    };
    let summarised = reporter.done();
    for note in &result.notes {
        eprintln!("{note}");
    }
    if let Some(path) = &args.junit {
        let mut xml = Vec::new();
        let written = report::write_junit(&mut xml, &result.records).and_then(|()| std::fs::write(path, xml));
        if let Err(error) = written {
            eprintln!("error: {}: {error}", path.display());
            return ExitCode::from(2);
        }
    }
    let counts = Counts::of(&result.records);
    if args.changed && result.nothing_ran() {
        eprintln!("nothing needs to run: all {} tests passed before with the same inputs", counts.tests);
    } else if !summarised {
        eprintln!(
            "{} tests: {} passed, {} failed, {} flaky, {} skipped ({:.2} s)",
            counts.tests,
            counts.passed,
            counts.failed,
            counts.flaky,
            counts.skipped,
            started.elapsed().as_secs_f64()
        );
    }
    if result.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `nxe build`.
#[derive(Args)]
pub struct BuildArgs {
    /// Only these hosts (default: all).
    hosts: Vec<String>,
    /// Stop starting new builds after the first failure (the default keeps going).
    #[arg(long)]
    fail_fast: bool,
    /// Build a failed derivation again up to N times.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// Which builder builds the systems.
    #[arg(long, value_enum, default_value = "auto")]
    builder: BuilderChoice,
    /// Seconds one derivation's build may take.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Print one JSON object per host on standard output.
    #[arg(long)]
    json: bool,
    /// The cache's directory (default: `.nxe` in the repository's root).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    #[command(flatten)]
    repo: RepoArgs,
}

pub fn run_build(args: BuildArgs) -> ExitCode {
    let (repo, FleetOptions { threads, max_memory, .. }) = match args.repo.open() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let builder = match builder(args.builder) {
        Ok(Some(builder)) => Some(builder),
        Ok(None) => return usage("nxe build needs a builder".into()),
        Err(message) => return usage(message),
    };
    let options = RunOptions {
        hosts: args.hosts.clone(),
        kinds: Vec::new(),
        rerun: false,
        fail_fast: args.fail_fast,
        retries: args.retries,
        threads,
        cache_dir: args.cache.clone(),
        builder,
        build_timeout: args.timeout.map(Duration::from_secs),
        max_memory,
    };
    let started = Instant::now();
    let reporter = Console::new(args.json);
    let result = match runner::build_hosts(&repo, &options, &reporter) {
        Ok(result) => result,
        Err(error) => return fail(error),
    };
    let summarised = reporter.done();
    for note in &result.notes {
        eprintln!("{note}");
    }
    if !args.json {
        for record in result.records.iter().filter(|r| r.status == Status::Pass) {
            let outputs = record.reason.as_deref().and_then(|r| r.strip_prefix("built ")).unwrap_or_default();
            emit(&format!("{} {outputs}\n", record.host.as_deref().unwrap_or_default()));
        }
    }
    let counts = Counts::of(&result.records);
    if !summarised {
        eprintln!(
            "{} hosts: {} built, {} failed ({:.2} s)",
            counts.tests,
            counts.passed + counts.flaky,
            counts.failed,
            started.elapsed().as_secs_f64()
        );
    }
    if result.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// How `nxe test` and `nxe build` show tests as they end: JSON lines on standard output;
/// else, on a terminal, a live status line with failures printed above it, and otherwise one
/// line per test that ran (skipped tests are counted, not listed).
struct Console {
    json: bool,
    live: OnceLock<Mutex<Progress<std::io::Stderr>>>,
}

impl Console {
    fn new(json: bool) -> Console {
        Console { json, live: OnceLock::new() }
    }

    /// Ends the live line with its summary; whether there was one.
    fn done(&self) -> bool {
        match self.live.get().map(Mutex::lock) {
            Some(Ok(mut progress)) => {
                let _ = progress.finish();
                true
            }
            _ => false,
        }
    }
}

impl Reporter for Console {
    fn planned(&self, more: usize) {
        if !self.json && std::io::stderr().is_terminal() {
            let live = self.live.get_or_init(|| Mutex::new(Progress::new(std::io::stderr(), 0, true)));
            if let Ok(mut progress) = live.lock() {
                progress.plan(more);
            }
        }
    }

    fn started(&self, label: &str) {
        if let Some(Ok(mut progress)) = self.live.get().map(Mutex::lock) {
            let _ = progress.started(label);
        }
    }

    fn finished(&self, record: &TestRecord) {
        if self.json {
            let mut line = Vec::new();
            if report::write_json_line(&mut line, record).is_ok() {
                emit(&String::from_utf8_lossy(&line));
            }
            return;
        }
        if let Some(progress) = self.live.get() {
            if let Ok(mut progress) = progress.lock() {
                let _ = progress.finished(record);
            }
            return;
        }
        if record.status == Status::Skip {
            return;
        }
        let mut text =
            format!("{:5} {} ({:.2} s)\n", record.status.as_str().to_uppercase(), record.label(), record.seconds);
        if record.status != Status::Pass {
            for line in record.reason.iter().flat_map(|r| r.lines()) {
                text.push_str(&format!("      {line}\n"));
            }
        }
        eprint!("{text}");
    }
}

/// `nxe log`.
#[derive(Args)]
pub struct LogArgs {
    /// The check (`HOST.CHECK`, as `nxe test` names it).
    check: String,
    /// The cache's directory (default: `.nxe` in the repository's root).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    #[command(flatten)]
    repo: RepoArgs,
}

pub fn run_log(args: LogArgs) -> ExitCode {
    let repo = match Repo::discover(&args.repo.overrides()) {
        Ok(repo) => repo,
        Err(error) => return fail(error),
    };
    let resolved = match runner::resolve_work_tree(&repo, args.cache.as_deref(), 1, None) {
        Ok((_, _, resolved)) => resolved,
        Err(error) => return fail(error),
    };
    let checks = resolved.checks();
    let Some(drv) = checks.get(&args.check).and_then(|c| c.drv_path.clone()) else {
        let names: Vec<&String> = checks.keys().collect();
        return usage(format!(
            "no check named '{}' (checks: {})",
            args.check,
            names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    };
    let stem = drv.rsplit('/').next().unwrap_or(&drv).trim_end_matches(".drv").to_string();
    let log = runner::log_dir(&repo, args.cache.as_deref()).join(format!("{stem}.log"));
    match std::fs::read_to_string(&log) {
        Ok(text) => {
            emit(&text);
            ExitCode::SUCCESS
        }
        Err(_) => {
            eprintln!("error: no build log of {} ({drv}) yet: run `nxe test` first", args.check);
            ExitCode::from(1)
        }
    }
}
