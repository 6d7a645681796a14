//! `nxe bench`: whole-process timings of evaluation workloads, nxe next to the reference Nix.
//!
//! Each workload (a `.nix` file) is evaluated by a child `nxe eval --strict FILE` (the
//! running executable) and, when a reference is available, by `nix-instantiate --eval
//! --strict FILE`. Both are first run once and must print the same bytes, otherwise the
//! workload is reported as a mismatch and not timed. Then the runs alternate, nxe then the
//! reference, `--runs` times; wall time is measured around the whole child process and peak
//! memory is the child's `ru_maxrss` as `wait4` reports it (for a launcher, the largest of
//! it and the children it waited for).
//!
//! The reference is `--against COMMAND` (split on whitespace, so a launcher with arguments
//! works; `none` disables it), otherwise `$NXE_REFERENCE_NIX nix-instantiate` when that
//! variable is set, otherwise `nix-instantiate` when it is on `PATH`.
//!
//! Every child runs with an environment cleared down to `PATH`, `HOME` and `NIX_*`, through
//! [`command`], so that the two evaluators see the same environment from run to run.

use clap::Args;
use serde_json::{json, Value as Json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Arguments of `nxe bench`.
#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Workloads: names in the workloads directory (`sort` or `sort.nix`) or paths to files.
    /// Default: every `.nix` file of the workloads directory.
    #[arg(value_name = "WORKLOAD")]
    workloads: Vec<String>,
    /// The reference: a `nix-instantiate`-compatible command (may include arguments), or
    /// `none` to time nxe alone.
    #[arg(long, value_name = "COMMAND")]
    against: Option<String>,
    /// Timed runs of each evaluator per workload.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Print all figures as one JSON object.
    #[arg(long)]
    json: bool,
    /// The directory holding the workloads (default `benches/workloads`).
    #[arg(long = "workloads", value_name = "DIR")]
    workloads_dir: Option<PathBuf>,
}

/// Runs `nxe bench`.
pub(crate) fn run(args: BenchArgs) -> ExitCode {
    let files = match workload_files(&args) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
    };
    let nxe = match std::env::current_exe() {
        Ok(path) => vec![path.to_string_lossy().into_owned(), "eval".into()],
        Err(error) => {
            eprintln!("error: cannot find the nxe executable: {error}");
            return ExitCode::from(1);
        }
    };
    let reference = reference_command(args.against.as_deref());
    let label = reference_label(args.against.as_deref(), reference.as_deref());
    let version = reference.as_ref().map(|command| reference_version(command));
    let results: Vec<WorkloadResult> = files
        .iter()
        .map(|file| {
            if !args.json {
                eprintln!("bench: {}", workload_name(file));
            }
            bench_workload(file, &nxe, reference.as_deref(), args.runs)
        })
        .collect();
    if args.json {
        let report = json!({
            "runs": args.runs,
            "reference": reference.as_ref().map(|command| json!({ "command": command, "label": label, "version": version })),
            "workloads": results.iter().map(WorkloadResult::to_json).collect::<Vec<_>>(),
        });
        println!("{report:#}");
    } else {
        print_table(&results, &label, version.as_deref(), args.runs);
    }
    match results.iter().all(|result| result.outcome.is_ok()) {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}

/// A `Command` for `program` with the environment cleared down to `PATH`, `HOME` and
/// `NIX_*`: the one place `nxe bench` spawns processes.
fn command(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.env_clear();
    for (name, value) in std::env::vars_os() {
        let keep = name == "PATH" || name == "HOME" || name.to_string_lossy().starts_with("NIX_");
        if keep {
            command.env(name, value);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// The workload files, in name order when they come from the directory.
fn workload_files(args: &BenchArgs) -> Result<Vec<PathBuf>, String> {
    let dir = args.workloads_dir.clone().unwrap_or_else(|| PathBuf::from("benches/workloads"));
    if !args.workloads.is_empty() {
        return args.workloads.iter().map(|name| find_workload(&dir, name)).collect();
    }
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        format!(
            "cannot read the workloads directory '{}': {e} (run in the repository root or pass --workloads DIR)",
            dir.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("reading '{}': {e}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "nix") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    match files.is_empty() {
        true => Err(format!("no .nix workloads in '{}'", dir.display())),
        false => Ok(files),
    }
}

/// A workload named on the command line: an existing file, or `NAME[.nix]` in `dir`.
fn find_workload(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let as_path = PathBuf::from(name);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let file_name = if name.ends_with(".nix") { name.to_string() } else { format!("{name}.nix") };
    let in_dir = dir.join(file_name);
    match in_dir.is_file() {
        true => Ok(in_dir),
        false => Err(format!("no workload '{name}' (looked for '{}')", in_dir.display())),
    }
}

fn workload_name(file: &Path) -> String {
    file.file_stem().map_or_else(|| file.display().to_string(), |stem| stem.to_string_lossy().into_owned())
}

/// The reference command line, without the `--eval --strict FILE` arguments.
fn reference_command(against: Option<&str>) -> Option<Vec<String>> {
    if let Some(against) = against {
        let words: Vec<String> = against.split_whitespace().map(str::to_string).collect();
        return match words.first().map(String::as_str) {
            None | Some("none") => None,
            Some(_) => Some(words),
        };
    }
    if let Some(launcher) = std::env::var("NXE_REFERENCE_NIX").ok().filter(|l| !l.is_empty()) {
        return Some(vec![launcher, "nix-instantiate".into()]);
    }
    let path = std::env::var_os("PATH")?;
    let on_path = std::env::split_paths(&path).any(|dir| dir.join("nix-instantiate").is_file());
    on_path.then(|| vec!["nix-instantiate".to_string()])
}

/// How the report names the reference: the command as given, but a launcher from
/// `NXE_REFERENCE_NIX` by the variable's name rather than its path, which is a detail of one
/// machine.
fn reference_label(against: Option<&str>, reference: Option<&[String]>) -> String {
    match (against, reference) {
        (_, None) => "none".into(),
        (Some(_), Some(words)) => words.join(" "),
        (None, Some(words)) if words.len() > 1 => "$NXE_REFERENCE_NIX nix-instantiate".into(),
        (None, Some(words)) => words.join(" "),
    }
}

/// The first line of `REFERENCE --version`, or why there is none.
fn reference_version(reference: &[String]) -> String {
    let mut words = reference.to_vec();
    words.push("--version".into());
    match measure(&words) {
        Ok(run) if run.success => run.stdout.lines().next().unwrap_or("").trim().to_string(),
        Ok(run) => format!("unknown ('--version' failed: {})", run.stderr.trim()),
        Err(message) => format!("unknown ({message})"),
    }
}

/// One finished child process.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
    wall: Duration,
    /// Peak resident memory in KiB.
    max_rss_kib: u64,
}

/// Runs `words` (program and arguments) to completion, timing it and reading its peak
/// memory from `wait4`.
fn measure(words: &[String]) -> Result<Run, String> {
    let (program, arguments) = words.split_first().ok_or("empty command")?;
    let start = Instant::now();
    let mut child = command(program)
        .args(arguments)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run '{program}': {e}"))?;
    // Standard error is drained on another thread so that neither pipe can fill up and
    // block the child while the other is read.
    let stderr_pipe = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = stderr_pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        let _ = pipe.read_to_string(&mut stdout);
    }
    let (status, max_rss_kib) = wait_with_rusage(child.id())?;
    let wall = start.elapsed();
    let stderr = stderr_reader.join().unwrap_or_default();
    Ok(Run { success: status == 0, stdout, stderr, wall, max_rss_kib })
}

/// Waits for the child `pid` with `wait4`: its exit status (a non-zero value for a signal)
/// and its peak resident memory in KiB.
fn wait_with_rusage(pid: u32) -> Result<(i32, u64), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("process id {pid} out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's `Child` is never waited on),
        // and both pointers are to live, writable locals.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waiting for process {pid}: {error}"));
        }
    }
    let code = match libc::WIFEXITED(status) {
        true => libc::WEXITSTATUS(status),
        false => 128 + libc::WTERMSIG(status),
    };
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    // Linux reports KiB, macOS bytes.
    let max_rss_kib = if cfg!(target_os = "macos") { max_rss / 1024 } else { max_rss };
    Ok((code, max_rss_kib))
}

/// Timings of one evaluator on one workload.
struct Timings {
    wall: Vec<Duration>,
    max_rss_kib: Vec<u64>,
}

impl Timings {
    fn new() -> Timings {
        Timings { wall: Vec::new(), max_rss_kib: Vec::new() }
    }

    fn add(&mut self, run: &Run) {
        self.wall.push(run.wall);
        self.max_rss_kib.push(run.max_rss_kib);
    }

    fn median_seconds(&self) -> f64 {
        median(&self.wall.iter().map(Duration::as_secs_f64).collect::<Vec<_>>())
    }

    fn median_max_rss_kib(&self) -> f64 {
        median(&self.max_rss_kib.iter().map(|&kib| kib as f64).collect::<Vec<_>>())
    }

    fn to_json(&self) -> Json {
        json!({
            "median_seconds": self.median_seconds(),
            "median_max_rss_kib": self.median_max_rss_kib(),
            "seconds": self.wall.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            "max_rss_kib": self.max_rss_kib,
        })
    }
}

/// The median (the mean of the middle two for an even count; 0 for none).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// What happened to one workload.
struct WorkloadResult {
    name: String,
    file: PathBuf,
    /// The error or mismatch that stopped the workload, if any.
    outcome: Result<(), Problem>,
    nxe: Timings,
    reference: Option<Timings>,
}

/// Why a workload was not timed to the end.
enum Problem {
    /// nxe or the reference failed.
    Error(String),
    /// Both succeeded but printed different results.
    Mismatch { nxe: String, reference: String },
}

impl WorkloadResult {
    /// nxe's time over the reference's, for each pair of runs.
    fn ratios(&self) -> Vec<f64> {
        let Some(reference) = &self.reference else { return Vec::new() };
        let pairs = self.nxe.wall.iter().zip(&reference.wall);
        pairs.map(|(nxe, reference)| nxe.as_secs_f64() / reference.as_secs_f64().max(1e-9)).collect()
    }

    /// `(min, median, max)` of the ratios, if there are any.
    fn ratio_summary(&self) -> Option<(f64, f64, f64)> {
        let ratios = self.ratios();
        let min = ratios.iter().copied().reduce(f64::min)?;
        let max = ratios.iter().copied().reduce(f64::max)?;
        Some((min, median(&ratios), max))
    }

    fn to_json(&self) -> Json {
        let (status, message) = match &self.outcome {
            Ok(()) => ("ok", Json::Null),
            Err(Problem::Error(message)) => ("error", json!(message)),
            Err(Problem::Mismatch { nxe, reference }) => ("mismatch", json!({ "nxe": nxe, "reference": reference })),
        };
        let ratio = self.ratio_summary().map(|(min, median, max)| json!({ "min": min, "median": median, "max": max }));
        json!({
            "name": self.name,
            "file": self.file.display().to_string(),
            "status": status,
            "message": message,
            "nxe": self.nxe.to_json(),
            "reference": self.reference.as_ref().map(Timings::to_json),
            "ratio": ratio,
        })
    }
}

/// Checks that nxe and the reference agree on one workload, then times them alternately.
fn bench_workload(file: &Path, nxe: &[String], reference: Option<&[String]>, runs: u32) -> WorkloadResult {
    let mut result = WorkloadResult {
        name: workload_name(file),
        file: file.to_path_buf(),
        outcome: Ok(()),
        nxe: Timings::new(),
        reference: reference.map(|_| Timings::new()),
    };
    let file_arg = file.to_string_lossy().into_owned();
    let nxe_words: Vec<String> = nxe.iter().cloned().chain(["--strict".into(), file_arg.clone()]).collect();
    let reference_words: Option<Vec<String>> = reference.map(|reference| {
        reference.iter().cloned().chain(["--eval".into(), "--strict".into(), file_arg.clone()]).collect()
    });
    result.outcome = time_workload(&mut result, &nxe_words, reference_words.as_deref(), runs);
    result
}

/// The check and the timed runs; the timings go into `result`.
fn time_workload(
    result: &mut WorkloadResult,
    nxe_words: &[String],
    reference_words: Option<&[String]>,
    runs: u32,
) -> Result<(), Problem> {
    let expected = successful("nxe", nxe_words)?.stdout;
    if let Some(words) = reference_words {
        let reference_output = successful("the reference", words)?.stdout;
        if reference_output != expected {
            return Err(Problem::Mismatch { nxe: expected, reference: reference_output });
        }
    }
    for _ in 0..runs {
        result.nxe.add(&successful("nxe", nxe_words)?);
        if let (Some(words), Some(timings)) = (reference_words, result.reference.as_mut()) {
            timings.add(&successful("the reference", words)?);
        }
    }
    Ok(())
}

/// Runs a command that must succeed.
fn successful(who: &str, words: &[String]) -> Result<Run, Problem> {
    let run = measure(words).map_err(Problem::Error)?;
    if !run.success {
        let stderr = run.stderr.trim();
        return Err(Problem::Error(format!("{who} failed: {stderr}")));
    }
    Ok(run)
}

/// The human-readable report.
fn print_table(results: &[WorkloadResult], label: &str, version: Option<&str>, runs: u32) {
    match version {
        Some(version) => println!("reference: {label} ({version})"),
        None => println!("reference: none"),
    }
    println!("runs: {runs} per evaluator, alternating; medians of wall time and peak RSS");
    println!();
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9}  {:>7}  ratio min..max",
        "workload", "nxe", "nxe mem", "ref", "ref mem", "ratio"
    );
    for result in results {
        let nxe = format!("{:.3}s", result.nxe.median_seconds());
        let nxe_mem = megabytes(result.nxe.median_max_rss_kib());
        let (reference_time, reference_mem) = match &result.reference {
            Some(timings) if !timings.wall.is_empty() => {
                (format!("{:.3}s", timings.median_seconds()), megabytes(timings.median_max_rss_kib()))
            }
            _ => ("-".into(), "-".into()),
        };
        let (ratio, range) = match result.ratio_summary() {
            Some((min, median, max)) => (format!("{median:.2}"), format!("{min:.2}..{max:.2}")),
            None => ("-".into(), "-".into()),
        };
        match &result.outcome {
            Ok(()) => println!(
                "{:<16} {nxe:>9} {nxe_mem:>9} {reference_time:>9} {reference_mem:>9}  {ratio:>7}  {range}",
                result.name
            ),
            Err(Problem::Error(message)) => println!("{:<16} error: {message}", result.name),
            Err(Problem::Mismatch { nxe, reference }) => println!(
                "{:<16} MISMATCH: nxe printed {:?}, the reference {:?}",
                result.name,
                shorten(nxe),
                shorten(reference)
            ),
        }
    }
}

fn megabytes(kib: f64) -> String {
    format!("{:.1}MB", kib / 1024.0)
}

/// At most 200 characters of an output, for a mismatch report.
fn shorten(text: &str) -> String {
    let text = text.trim_end();
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn against_none_disables_the_reference() {
        assert_eq!(reference_command(Some("none")), None);
        assert_eq!(reference_command(Some("  ")), None);
        assert_eq!(reference_command(Some("run nix-instantiate")), Some(vec!["run".into(), "nix-instantiate".into()]));
    }
}
