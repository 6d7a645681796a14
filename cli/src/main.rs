//! The `nxe` command: argument parsing, diagnostic rendering and exit codes; nothing else.
//!
//! Exit codes: `0` success, `1` an error in the user's Nix code or configuration, `2` a bad
//! command line, `3` tests failed, `101` an internal error (a caught panic).

mod diagnostics;

use clap::{Args, Parser, Subcommand};
use nxe_evaluator::{run_with_big_stack, AutoArg, EvalRequest, EvalSettings, Evaluation, OutputMode, Source};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "nxe", version, about = "Build-and-test engine for Nix mono-repos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a Nix file or expression, like `nix-instantiate --eval`.
    Eval(EvalArgs),
}

#[derive(Args)]
struct EvalArgs {
    /// Evaluate everything, not only what is needed to print the top level.
    #[arg(long)]
    strict: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Print the result, which must be a string, without quotes.
    #[arg(long)]
    raw: bool,
    /// Add a search path entry: `name=path` or `path`.
    #[arg(short = 'I', value_name = "PATH")]
    include: Vec<String>,
    /// Pass `NAME = EXPR` to the top-level function.
    #[arg(long = "arg", num_args = 2, value_names = ["NAME", "EXPR"])]
    arg: Vec<String>,
    /// Pass `NAME = "STRING"` to the top-level function.
    #[arg(long = "argstr", num_args = 2, value_names = ["NAME", "STRING"])]
    argstr: Vec<String>,
    /// Select an attribute path of the result.
    #[arg(short = 'A', long = "attr", value_name = "ATTRPATH")]
    attr: Vec<String>,
    /// Evaluate the given expression instead of a file.
    #[arg(short = 'E', long = "expr")]
    expr: Option<String>,
    /// Show the full chain of evaluation steps on errors.
    #[arg(long)]
    show_trace: bool,
    /// The file to evaluate (a directory means its default.nix).
    file: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Eval(args) => run_eval(args),
    }
}

fn nix_path(includes: &[String], env_nix_path: Option<String>) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let cwd = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|_| "/".into());
    let mut add = |entry: &str| {
        let (prefix, path) = match entry.split_once('=') {
            Some((prefix, path)) => (prefix.to_string(), path.to_string()),
            None => (String::new(), entry.to_string()),
        };
        let path = if path.starts_with('/') || path.contains("://") { path } else { format!("{cwd}/{path}") };
        entries.push((prefix, nxe_evaluator::paths::canonicalize(&path)));
    };
    for include in includes {
        add(include);
    }
    if let Some(env_path) = env_nix_path {
        for entry in env_path.split(':').filter(|e| !e.is_empty()) {
            add(entry);
        }
    }
    entries
}

fn run_eval(args: EvalArgs) -> ExitCode {
    let cwd = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|_| "/".into());
    let source = match (&args.expr, &args.file) {
        (Some(text), _) => Source::Expression { text: text.clone(), base_dir: cwd.clone() },
        (None, Some(file)) => {
            let path = if file.starts_with('/') { file.clone() } else { format!("{cwd}/{file}") };
            Source::File(path)
        }
        (None, None) => Source::File(format!("{cwd}/default.nix")),
    };
    let mode = if args.json {
        OutputMode::Json
    } else if args.raw {
        OutputMode::Raw
    } else if args.strict {
        OutputMode::Strict
    } else {
        OutputMode::Lazy
    };
    let mut auto_args = Vec::new();
    for pair in args.arg.chunks(2) {
        if let [name, expr] = pair {
            auto_args.push((name.clone(), AutoArg::Expr(expr.clone())));
        }
    }
    for pair in args.argstr.chunks(2) {
        if let [name, text] = pair {
            auto_args.push((name.clone(), AutoArg::Str(text.clone())));
        }
    }
    let request = EvalRequest { source, attr_paths: args.attr.clone(), auto_args, mode };
    let settings = EvalSettings { nix_path: nix_path(&args.include, std::env::var("NIX_PATH").ok()), ..EvalSettings::default() };
    let show_trace = args.show_trace;
    let result = std::panic::catch_unwind(move || {
        run_with_big_stack(move || {
            let mut evaluation = Evaluation::new(settings);
            evaluation.evaluate(&request).map_err(|error| diagnostics::render(&error, show_trace))
        })
    });
    match result {
        Ok(Ok(output)) => {
            if mode == OutputMode::Raw {
                print!("{output}");
            } else {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(rendered)) => {
            eprint!("{rendered}");
            ExitCode::from(1)
        }
        Err(_) => {
            eprintln!("error: internal error: the evaluator panicked (please report this)");
            ExitCode::from(101)
        }
    }
}
