//! `nxe impact` (which hosts, checks and tests a change affects) and `nxe cache` (inspect,
//! verify or clear the cache it keeps).

use crate::fleet::{emit, fail, RepoArgs};
use clap::{Args, Subcommand};
use nxe_engine::cache::Cache;
use nxe_engine::impact::{explain, impact, Impact, ImpactOptions};
use nxe_engine::{FleetOptions, Repo};
use std::path::PathBuf;
use std::process::ExitCode;

/// `nxe impact`.
#[derive(Args)]
pub struct ImpactArgs {
    /// The base revision.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    since: String,
    /// The head revision (default: the work tree, with uncommitted and untracked files).
    #[arg(long, value_name = "REV")]
    head: Option<String>,
    /// Print the impact as one JSON object.
    #[arg(long)]
    json: bool,
    /// Say which changed files and which derivations made HOST change.
    #[arg(long, value_name = "HOST")]
    explain: Option<String>,
    /// The cache's directory (default: `.nxe` in the repository's root).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    #[command(flatten)]
    repo: RepoArgs,
}

pub fn run_impact(args: ImpactArgs) -> ExitCode {
    let (repo, FleetOptions { threads, max_memory, .. }) = match args.repo.open() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let options = ImpactOptions {
        since: Some(args.since.clone()),
        head: args.head.clone(),
        threads,
        cache_dir: args.cache,
        max_memory,
    };
    if let Some(host) = &args.explain {
        return match explain(&repo, &options, host) {
            Ok(explanation) => {
                if args.json {
                    emit(&format!("{}\n", serde_json::to_string_pretty(&explanation).unwrap_or_default()));
                } else {
                    let mut text = String::new();
                    if explanation.changed_inputs.is_empty() {
                        text.push_str(&format!("{host}: none of the files it reads changed\n"));
                    } else {
                        text.push_str(&format!("{host} reads these changed files:\n"));
                        for input in &explanation.changed_inputs {
                            text.push_str(&format!("  {input}\n"));
                        }
                    }
                    text.push_str(&explanation.diff.to_string());
                    emit(&text);
                }
                ExitCode::SUCCESS
            }
            Err(error) => fail(error),
        };
    }
    let result = match impact(&repo, &options) {
        Ok(result) => result,
        Err(error) => return fail(error),
    };
    for note in &result.notes {
        eprintln!("{note}");
    }
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&result).unwrap_or_default()));
    } else {
        emit(&render(&result));
    }
    if result.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The impact for people: counts first, then the names that matter.
fn render(impact: &Impact) -> String {
    let mut out = String::new();
    let head = impact.head.as_deref().map_or("the work tree".to_string(), short);
    out.push_str(&format!("{} -> {head}: {} changed files", short(&impact.base), impact.changed_files.len()));
    if !impact.ignored_files.is_empty() {
        out.push_str(&format!(" ({} more ignored)", impact.ignored_files.len()));
    }
    out.push('\n');
    out.push_str(&format!(
        "hosts: {} re-evaluated, {} changed, {} unchanged, {} added, {} removed\n",
        impact.reevaluated_hosts.len(),
        impact.changed_hosts.len(),
        impact.unchanged_hosts.len(),
        impact.added_hosts.len(),
        impact.removed_hosts.len()
    ));
    out.push_str(&format!(
        "evaluated: {} units on the base side, {} on the head side (the rest came from the cache)\n",
        impact.evaluated.0, impact.evaluated.1
    ));
    let lists: [(&str, &Vec<String>); 11] = [
        ("changed files", &impact.changed_files),
        ("ignored files", &impact.ignored_files),
        ("changed hosts", &impact.changed_hosts),
        ("hosts changed only by ignored options", &impact.ignored_hosts),
        ("added hosts", &impact.added_hosts),
        ("removed hosts", &impact.removed_hosts),
        ("changed checks", &impact.changed_checks),
        ("checks changed only by ignored options", &impact.ignored_checks),
        ("added checks", &impact.added_checks),
        ("removed checks", &impact.removed_checks),
        ("changed tests", &impact.changed_tests),
    ];
    for (title, names) in lists {
        if !names.is_empty() {
            out.push_str(&format!("{title}:\n"));
            for name in names {
                out.push_str(&format!("  {name}\n"));
            }
        }
    }
    if !impact.failing_assertions.is_empty() {
        out.push_str("failing assertions:\n");
        for failure in &impact.failing_assertions {
            out.push_str(&format!("  {}: {}\n", failure.host, failure.message));
        }
    }
    if !impact.errors.is_empty() {
        out.push_str("errors:\n");
        for failure in &impact.errors {
            out.push_str(&format!("  {} {}: {}\n", failure.kind, failure.name, failure.error));
        }
    }
    out
}

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

/// `nxe cache`.
#[derive(Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    action: CacheAction,
    /// The cache's directory (default: `.nxe` in the repository's root).
    #[arg(long, value_name = "DIR", global = true)]
    cache: Option<PathBuf>,
    /// The repository (default: the nearest directory upwards with nxe.toml or flake.nix).
    #[arg(long, value_name = "DIR", global = true)]
    repo: Option<PathBuf>,
}

#[derive(Subcommand)]
enum CacheAction {
    /// Check the database and every entry's checksum; exit 1 when something is wrong.
    Verify,
    /// Say where the cache is and how much it holds.
    Info,
    /// Delete the cache.
    Clear,
}

pub fn run_cache(args: CacheArgs) -> ExitCode {
    let dir = match args.cache {
        Some(dir) => dir,
        None => match Repo::discover(&nxe_engine::Overrides { repo: args.repo, ..Default::default() }) {
            Ok(repo) => repo.root.join(".nxe"),
            Err(error) => return fail(error),
        },
    };
    let path = dir.join("cache.db");
    if let CacheAction::Clear = args.action {
        if let Err(error) = Cache::remove(&path) {
            return fail(error);
        }
        // Compiled files kept between runs (see `nxe_evaluator::CodeStore`).
        let code = dir.join("code");
        if let Err(error) = std::fs::remove_dir_all(&code) {
            if error.kind() != std::io::ErrorKind::NotFound {
                eprintln!("error: {}: {error}", code.display());
                return ExitCode::from(1);
            }
        }
        emit(&format!("removed {}\n", path.display()));
        return ExitCode::SUCCESS;
    }
    let (cache, notes) = match Cache::open(&path) {
        Ok(opened) => opened,
        Err(error) => return fail(error),
    };
    for note in &notes {
        eprintln!("{note}");
    }
    match args.action {
        CacheAction::Verify => match cache.verify() {
            Ok(problems) if problems.is_empty() && notes.is_empty() => {
                emit(&format!("{}: ok\n", path.display()));
                ExitCode::SUCCESS
            }
            Ok(problems) => {
                for problem in problems {
                    eprintln!("{}: {problem}", path.display());
                }
                ExitCode::from(1)
            }
            Err(error) => fail(error),
        },
        _ => match cache.counts() {
            Ok((evaluations, passes, objects, snapshots)) => {
                emit(&format!(
                    "{}: {evaluations} evaluations, {objects} store objects, {passes} recorded passes, \
                     {snapshots} snapshots of hosts\n",
                    path.display()
                ));
                ExitCode::SUCCESS
            }
            Err(error) => fail(error),
        },
    }
}
