//! The fleet commands: `nxe hosts` (every host's top-level drvPath, in parallel), `nxe graph`
//! (the derivation graph of every host and check) and `nxe diff` (what changed between two
//! revisions, per host and check, and why).

use clap::Args;
use nxe_engine::fleet::{default_max_memory, default_threads};
use nxe_engine::{evaluate_fleet, memory, EngineError, Event, FleetEval, FleetOptions, Overrides, Repo};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Which repository and how to evaluate it: the arguments every fleet command shares.
#[derive(Args, Clone)]
pub struct RepoArgs {
    /// The repository (default: the nearest directory upwards with nxe.toml or flake.nix).
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Add a search path entry: `name=path` or `path`.
    #[arg(short = 'I', value_name = "PATH")]
    include: Vec<String>,
    /// Pass `NAME = EXPR` to the repository's top-level function.
    #[arg(long = "arg", num_args = 2, value_names = ["NAME", "EXPR"])]
    arg: Vec<String>,
    /// Pass `NAME = "STRING"` to the repository's top-level function.
    #[arg(long = "argstr", num_args = 2, value_names = ["NAME", "STRING"])]
    argstr: Vec<String>,
    /// Use PATH for the flake input NAME.
    #[arg(long = "override-input", num_args = 2, value_names = ["NAME", "PATH"])]
    override_input: Vec<String>,
    /// The system of flake outputs (`checks.<system>`).
    #[arg(long, value_name = "SYSTEM")]
    system: Option<String>,
    /// Worker threads (default: the number of cores).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Memory budget per worker, e.g. `2G` (default: half the machine's memory shared by
    /// the workers); a worker starts a fresh evaluation past a quarter of it (at most
    /// 256 MiB), and a host that passes it is evaluated again alone.
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
}

impl RepoArgs {
    pub(crate) fn overrides(&self) -> Overrides {
        let auto_args = crate::auto_args(&self.arg, &self.argstr);
        let input_overrides = self
            .override_input
            .chunks(2)
            .filter_map(|pair| match pair {
                [name, path] => Some((name.clone(), PathBuf::from(path))),
                _ => None,
            })
            .collect();
        Overrides {
            repo: self.repo.clone(),
            include: self.include.clone(),
            auto_args,
            system: self.system.clone(),
            input_overrides,
            source_revision: None,
        }
    }

    /// The repository and how to evaluate it; a failure is reported, with its exit status.
    pub(crate) fn open(&self) -> Result<(Repo, FleetOptions), ExitCode> {
        let options = self.options().map_err(usage)?;
        let repo = Repo::discover(&self.overrides()).map_err(fail)?;
        Ok((repo, options))
    }

    pub(crate) fn options(&self) -> Result<FleetOptions, String> {
        let threads = match self.jobs {
            Some(0) => return Err("--jobs must be at least 1".into()),
            Some(n) => n,
            None => default_threads(),
        };
        let max_memory = match &self.max_memory {
            Some(text) => {
                Some(memory::parse_size(text).ok_or_else(|| format!("invalid size '{text}' for --max-memory"))?)
            }
            None => default_max_memory(threads),
        };
        Ok(FleetOptions { threads, max_memory, keep_code: true, ..FleetOptions::default() })
    }
}

/// `nxe hosts`.
#[derive(Args)]
pub struct HostsArgs {
    /// Only these hosts (default: all).
    hosts: Vec<String>,
    /// Print `{"hosts": {NAME: {"drvPath", "error", "seconds"}}}`.
    #[arg(long, conflicts_with = "jsonl")]
    json: bool,
    /// Print one JSON object per host as soon as it is evaluated.
    #[arg(long)]
    jsonl: bool,
    /// Leave out evaluation times (for output that is the same on every run).
    #[arg(long)]
    no_timings: bool,
    #[command(flatten)]
    repo: RepoArgs,
}

/// Reports an engine error: configuration and usage problems exit with 2, evaluation
/// errors with 1.
pub(crate) fn fail(error: EngineError) -> ExitCode {
    match &error {
        EngineError::Eval(rendered) => {
            eprint!("{rendered}");
            if !rendered.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(1)
        }
        EngineError::Config(_) | EngineError::Git(_) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        _ => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

pub(crate) fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Writes to standard output; a closed pipe ends the command quietly.
pub(crate) fn emit(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_ok()
}

pub fn run_hosts(args: HostsArgs) -> ExitCode {
    let mut options = match args.repo.options() {
        Ok(options) => options,
        Err(message) => return usage(message),
    };
    options.only_hosts = args.hosts.clone();
    let repo = match Repo::discover(&args.repo.overrides()) {
        Ok(repo) => repo,
        Err(error) => return fail(error),
    };
    let started = Instant::now();
    let timings = !args.no_timings;
    let jsonl = args.jsonl;
    let mut closed = false;
    let result = evaluate_fleet(&repo, &options, |event| {
        if let (true, Event::Host(host), false) = (jsonl, event, closed) {
            let mut object = serde_json::json!({
                "name": host.name, "drvPath": host.drv_path, "error": host.error,
            });
            if timings {
                object["seconds"] = serde_json::json!(round_seconds(host.seconds));
            }
            closed = !emit(&format!("{object}\n"));
        }
        if let Event::Deferred(name) = event {
            eprintln!("nxe: {name}: passed the worker memory budget; evaluating it again alone");
        }
    });
    let fleet = match result {
        Ok(fleet) => fleet,
        Err(error) => return fail(error),
    };
    if args.json {
        let mut hosts = serde_json::Map::new();
        for host in &fleet.hosts {
            let mut object = serde_json::json!({ "drvPath": host.drv_path, "error": host.error });
            if timings {
                object["seconds"] = serde_json::json!(round_seconds(host.seconds));
            }
            hosts.insert(host.name.clone(), object);
        }
        let document = serde_json::json!({ "hosts": hosts });
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        emit(&format!("{text}\n"));
    } else if !jsonl {
        emit(&render_hosts(&fleet, timings));
    }
    let failed = fleet.hosts.iter().filter(|h| h.error.is_some()).count();
    if timings && !jsonl && !args.json {
        eprintln!(
            "{} hosts, {} failed, {} worker{}, {:.2} s",
            fleet.hosts.len(),
            failed,
            fleet.threads,
            if fleet.threads == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        );
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn round_seconds(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// The hosts as aligned lines: name, drvPath or error, time.
fn render_hosts(fleet: &FleetEval, timings: bool) -> String {
    let width = fleet.hosts.iter().map(|h| h.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for host in &fleet.hosts {
        let time = if timings { format!("  {:.3} s", host.seconds) } else { String::new() };
        match (&host.drv_path, &host.error) {
            (Some(drv), _) => out.push_str(&format!("{:width$}  {drv}{time}\n", host.name)),
            (None, error) => {
                let message = error.as_deref().unwrap_or("failed");
                let indent = " ".repeat(width + 2);
                let message = message.replace('\n', &format!("\n{indent}"));
                out.push_str(&format!("{:width$}  error: {message}{time}\n", host.name));
            }
        }
    }
    out
}

/// `nxe graph`.
#[derive(Args)]
pub struct GraphArgs {
    /// Only the closures of these hosts (default: every host and check).
    hosts: Vec<String>,
    /// Export format.
    #[arg(long, value_parser = ["json", "dot"], default_value = "json")]
    format: String,
    /// Print nodes, edges and per host how many derivations it has and shares.
    #[arg(long)]
    stats: bool,
    /// With --stats: print them as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    repo: RepoArgs,
}

/// Evaluates the fleet with its checks and derivation graph; failures are reported on
/// standard error and make the result `Err` with the exit code only when nothing evaluated.
fn fleet_graph(repo: &Repo, options: &FleetOptions, hosts: &[String]) -> Result<FleetEval, ExitCode> {
    let options = FleetOptions { checks: true, graph: true, only_hosts: hosts.to_vec(), ..options.clone() };
    let fleet = evaluate_fleet(repo, &options, |_| {}).map_err(fail)?;
    for host in fleet.hosts.iter().filter(|h| h.error.is_some()) {
        eprintln!("error: host {}: {}", host.name, host.error.as_deref().unwrap_or(""));
    }
    for check in fleet.checks.iter().filter(|c| c.error.is_some()) {
        eprintln!("error: check {}: {}", check.name, check.error.as_deref().unwrap_or(""));
    }
    Ok(fleet)
}

pub fn run_graph(args: GraphArgs) -> ExitCode {
    let options = match args.repo.options() {
        Ok(options) => options,
        Err(message) => return usage(message),
    };
    let repo = match Repo::discover(&args.repo.overrides()) {
        Ok(repo) => repo,
        Err(error) => return fail(error),
    };
    let fleet = match fleet_graph(&repo, &options, &args.hosts) {
        Ok(fleet) => fleet,
        Err(code) => return code,
    };
    let roots: Option<Vec<String>> = (!args.hosts.is_empty()).then(|| args.hosts.clone());
    let text = if args.stats {
        let stats = fleet.graph.stats();
        if args.json {
            serde_json::to_string_pretty(&stats).map(|t| t + "\n").unwrap_or_default()
        } else {
            stats.to_string()
        }
    } else if args.format == "dot" {
        match fleet.graph.to_dot(roots.as_deref()) {
            Ok(text) => text,
            Err(error) => return usage(error.to_string()),
        }
    } else {
        match fleet.graph.to_json(roots.as_deref()) {
            Ok(value) => serde_json::to_string_pretty(&value).map(|t| t + "\n").unwrap_or_default(),
            Err(error) => return usage(error.to_string()),
        }
    };
    emit(&text);
    if fleet.any_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `nxe diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The old revision.
    old: String,
    /// The new revision (default: the work tree as it is).
    new: Option<String>,
    /// Only these hosts and checks (default: all), after both revisions.
    hosts: Vec<String>,
    /// Only this host or check (repeatable; also when comparing with the work tree).
    #[arg(long = "host", value_name = "NAME")]
    host: Vec<String>,
    /// Print the differences as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    repo: RepoArgs,
}

pub fn run_diff(args: DiffArgs) -> ExitCode {
    let options = match args.repo.options() {
        Ok(options) => options,
        Err(message) => return usage(message),
    };
    let repo = match Repo::discover(&args.repo.overrides()) {
        Ok(repo) => repo,
        Err(error) => return fail(error),
    };
    let side = |rev: Option<&str>| -> Result<(FleetEval, Option<nxe_engine::git::Checkout>), ExitCode> {
        match rev {
            None => Ok((fleet_graph(&repo, &options, &[])?, None)),
            Some(rev) => {
                let checkout = nxe_engine::git::Checkout::new(&repo.root, rev).map_err(fail)?;
                let root = checkout.translate(&repo.root).map_err(fail)?;
                if !root.is_dir() {
                    return Err(usage(format!("the repository does not exist at revision {rev}")));
                }
                let at_rev = repo.at_root(&root).map_err(fail)?;
                let options = FleetOptions { keep_code: false, ..options.clone() };
                Ok((fleet_graph(&at_rev, &options, &[])?, Some(checkout)))
            }
        }
    };
    let (old, _old_checkout) = match side(Some(&args.old)) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let (new, _new_checkout) = match side(args.new.as_deref()) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let mut diff = nxe_graph::diff(&old.graph, &new.graph);
    for (side, fleet) in [(nxe_graph::Side::Old, &old), (nxe_graph::Side::New, &new)] {
        for host in &fleet.hosts {
            if let Some(error) = &host.error {
                diff.record_failure(nxe_graph::RootKind::Host, &host.name, side, error);
            }
        }
        for check in &fleet.checks {
            if let Some(error) = &check.error {
                diff.record_failure(nxe_graph::RootKind::Check, &check.name, side, error);
            }
        }
    }
    let wanted: Vec<&String> = args.hosts.iter().chain(&args.host).collect();
    if !wanted.is_empty() {
        diff.roots.retain(|root| wanted.contains(&&root.name));
    }
    let text = if args.json {
        serde_json::to_string_pretty(&diff).map(|t| t + "\n").unwrap_or_default()
    } else {
        diff.to_string()
    };
    emit(&text);
    if new.any_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
