//! The `nxe` command: argument parsing, diagnostic rendering and exit codes; nothing else.
//!
//! Exit codes: `0` success, `1` an error in the user's Nix code or configuration, `2` a bad
//! command line, `3` tests failed, `101` an internal error (a caught panic).

mod bench;
mod diagnostics;
mod fleet;
mod impact;
mod instantiate;
mod test;

/// mimalloc: the evaluator allocates many small, short-lived objects; counted per thread
/// for the fleet commands' per-worker memory budgets.
#[global_allocator]
static ALLOCATOR: nxe_engine::memory::CountingAllocator<Mimalloc> = nxe_engine::memory::CountingAllocator(Mimalloc);

/// mimalloc through its plain entry points whenever they give enough alignment (8 bytes for
/// every block, 16 from 16 bytes on), which skips the aligned path's extra checks on the
/// evaluator's hot allocations.
struct Mimalloc;

impl Mimalloc {
    fn plain(layout: std::alloc::Layout) -> bool {
        layout.align() <= 8 || (layout.align() <= 16 && layout.size() >= 16)
    }

    /// The pool of this thread that blocks of `layout` go through (see [`POOLS`]), if any.
    #[inline]
    fn pool_of(layout: std::alloc::Layout) -> Option<usize> {
        let size = layout.size();
        let aligned = layout.align() <= 8 || (layout.align() <= 16 && size.is_multiple_of(16));
        ((POOLED_MIN..=POOLED_MAX).contains(&size) && size.is_multiple_of(8) && aligned)
            .then(|| size / 8 - POOLED_MIN / 8)
    }
}

/// The sizes of the evaluator's most frequent blocks, pooled in steps of 8 bytes: thunks
/// (24), the scopes of one-argument calls (32), short strings (24 to 64), sets of a few
/// attributes (64 to 112) and small lists.
const POOLED_MIN: usize = 16;
const POOLED_MAX: usize = 128;
const POOL_COUNT: usize = (POOLED_MAX - POOLED_MIN) / 8 + 1;
/// The size of the chunks pooled blocks are cut from.
const CHUNK: usize = 64 * 1024;

/// A thread's blocks of one pooled size.
struct Pool {
    /// Blocks of this size freed on this thread, each holding the address of the next:
    /// taken again first.
    free: std::cell::Cell<*mut u8>,
    /// The part of the current chunk not handed out yet: from `next` to `end`.
    next: std::cell::Cell<*mut u8>,
    end: std::cell::Cell<*mut u8>,
}

thread_local! {
    /// For each pooled size, this thread's pool. Blocks are cut from chunks of 64 KiB, one
    /// after the other, at their exact size: mimalloc rounds a block of 24 bytes up to 32
    /// (and 40 to 48, 88 to 96) to keep 16-byte alignment, which a thunk of 24 bytes does not
    /// need. Freed blocks go to the pool of the thread that frees them and are handed out
    /// again before a chunk is cut further, which also saves most of an allocation's and a
    /// free's work on the evaluator's hottest paths. Chunks stay in the process, as mimalloc
    /// keeps freed memory anyway (see `tune_allocator`); those of a thread that ends stay
    /// with it.
    static POOLS: [Pool; POOL_COUNT] = const {
        [const {
            Pool {
                free: std::cell::Cell::new(std::ptr::null_mut()),
                next: std::cell::Cell::new(std::ptr::null_mut()),
                end: std::cell::Cell::new(std::ptr::null_mut()),
            }
        }; POOL_COUNT]
    };
}

/// A block from this thread's pool `index` (of blocks of `size` bytes), or null when the
/// thread's pools are gone (it is ending) or no chunk can be had.
#[inline]
fn pool_take(index: usize, size: usize) -> *mut u8 {
    POOLS
        .try_with(|pools| {
            let pool = &pools[index];
            let head = pool.free.get();
            if !head.is_null() {
                // SAFETY: a freed block in a pool holds the address of the next one (or null).
                pool.free.set(unsafe { head.cast::<*mut u8>().read() });
                return head;
            }
            if !cut(size) {
                return std::ptr::null_mut();
            }
            let next = pool.next.get();
            if (pool.end.get() as usize).wrapping_sub(next as usize) >= size && !next.is_null() {
                // SAFETY: at least `size` bytes of the chunk are left from `next`.
                pool.next.set(unsafe { next.add(size) });
                return next;
            }
            cut_chunk(pool, size)
        })
        .unwrap_or(std::ptr::null_mut())
}

/// Whether blocks of `size` bytes are cut from chunks: sizes that are an odd multiple of 8,
/// which mimalloc rounds up to the next multiple of 16 (so 16-byte alignment holds). Blocks
/// of the other sizes come from mimalloc, whose bins for them are exact, and which can give
/// an emptied page to another size: cut blocks stay with their size, so the sizes a run uses
/// one after the other would each keep their peak.
#[inline(always)]
fn cut(size: usize) -> bool {
    size % 16 == 8
}

/// Starts a new chunk for `pool` and hands out its first block (null if none can be had).
#[cold]
#[inline(never)]
fn cut_chunk(pool: &Pool, size: usize) -> *mut u8 {
    // SAFETY: a plain allocation of a non-zero size, 8-byte aligned like every block cut.
    let chunk: *mut u8 = unsafe { libmimalloc_sys::mi_malloc(CHUNK).cast() };
    if chunk.is_null() {
        return chunk;
    }
    // SAFETY: the chunk has `CHUNK` bytes, more than any pooled size.
    unsafe {
        pool.next.set(chunk.add(size));
        pool.end.set(chunk.add(CHUNK));
    }
    chunk
}

/// Puts a freed block into this thread's pool `pool`; false when the thread's pools are
/// gone (the thread is ending).
#[inline]
fn pool_give(pool: usize, block: *mut u8) -> bool {
    POOLS
        .try_with(|pools| {
            // SAFETY: the block is free, at least 16 bytes and pointer-aligned.
            unsafe { block.cast::<*mut u8>().write(pools[pool].free.get()) };
            pools[pool].free.set(block);
        })
        .is_ok()
}

// SAFETY: a block of a pooled size comes from a thread's pool of its size, or from mimalloc.
// A pool serves only layouts of its size with an alignment its blocks have: blocks cut from
// a chunk (sizes that are odd multiples of 8, which `pool_of` lets through only with an
// alignment of 8) are 8-byte aligned, and the others came from mimalloc's plain entry points
// (8 bytes, or 16 for sizes that are multiples of 16). A freed block goes back to a pool of
// its size; on an ending thread, a cut one is left alone and any other goes to mimalloc,
// which is where it came from then. `plain` only routes layouts whose alignment mimalloc's
// unaligned entry points guarantee.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if let Some(pool) = Mimalloc::pool_of(layout) {
            let block = pool_take(pool, layout.size());
            if !block.is_null() {
                return block;
            }
        }
        // SAFETY: plain calls into mimalloc with a non-zero size (GlobalAlloc's contract).
        unsafe {
            if Mimalloc::plain(layout) {
                libmimalloc_sys::mi_malloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if let Some(pool) = Mimalloc::pool_of(layout) {
            let block = pool_take(pool, layout.size());
            if !block.is_null() {
                // SAFETY: the block has the layout's size.
                unsafe { block.write_bytes(0, layout.size()) };
                return block;
            }
        }
        // SAFETY: as for `alloc`.
        unsafe {
            if Mimalloc::plain(layout) {
                libmimalloc_sys::mi_zalloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if let Some(pool) = Mimalloc::pool_of(layout) {
            // A block cut from a chunk, which mimalloc cannot free, is left alone on a
            // thread that is ending.
            if pool_give(pool, ptr) || cut(layout.size()) {
                return;
            }
        }
        // SAFETY: `ptr` was allocated by mimalloc (the caller's contract): blocks of the sizes
        // that are cut never come from it but on an ending thread, and are never freed here.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let new_layout = std::alloc::Layout::from_size_align(new_size, layout.align());
        if Mimalloc::pool_of(layout).is_some() || new_layout.as_ref().is_ok_and(|l| Mimalloc::pool_of(*l).is_some()) {
            // Through `alloc` and `dealloc`, which know the pool.
            let Ok(new_layout) = new_layout else { return std::ptr::null_mut() };
            // SAFETY: the caller's contract for `realloc` covers these calls.
            unsafe {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                return new;
            }
        }
        // SAFETY: `ptr` was allocated by mimalloc with `layout` (the caller's contract).
        unsafe {
            if new_layout.is_ok_and(Mimalloc::plain) {
                libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

use clap::{Args, Parser, Subcommand};
use nxe_evaluator::compile::LintLevel;
use nxe_evaluator::{run_with_big_stack, AutoArg, EvalRequest, EvalSettings, OutputMode, Source};
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
    /// Compute the derivations an attribute path selects, like `nix-instantiate`.
    Instantiate(instantiate::InstantiateArgs),
    /// Evaluate every host of the repository in parallel and print its top-level drvPath.
    Hosts(fleet::HostsArgs),
    /// Export the derivation graph of every host and check, or its statistics.
    Graph(fleet::GraphArgs),
    /// Show, per host and check, which derivations differ between two revisions and why.
    Diff(fleet::DiffArgs),
    /// Say which hosts, checks and tests a change affects, evaluating only what it must.
    Impact(impact::ImpactArgs),
    /// Run option validation, unit tests, checks and policies, skipping what passed before.
    Test(test::TestArgs),
    /// Build hosts' systems, every derivation once, in parallel.
    Build(test::BuildArgs),
    /// Print the build log of a check.
    Log(test::LogArgs),
    /// Inspect or clear the cache (`.nxe/cache.db`).
    Cache(impact::CacheArgs),
    /// Time evaluation workloads as whole processes, next to the reference `nix-instantiate`.
    Bench(bench::BenchArgs),
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
    /// Print the result as XML, like `builtins.toXML`.
    #[arg(long)]
    xml: bool,
    /// Omit source positions from XML output (they are never included).
    #[arg(long)]
    no_location: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// What to evaluate and how: the arguments `nxe eval` and `nxe instantiate` share.
#[derive(Args)]
struct CommonArgs {
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
    #[arg(long, overrides_with = "no_show_trace")]
    show_trace: bool,
    /// Do not show the chain of evaluation steps on errors (the default).
    #[arg(long)]
    no_show_trace: bool,
    /// Accepted for compatibility: evaluation is always impure.
    #[arg(long)]
    impure: bool,
    /// Nix's `max-call-depth`: how deeply functions may call each other.
    #[arg(long, value_name = "N")]
    max_call_depth: Option<usize>,
    /// Enable experimental features of the language (e.g. `parse-toml-timestamps`).
    #[arg(long = "extra-experimental-features", value_name = "FEATURES")]
    experimental_features: Vec<String>,
    /// Set a Nix option: `max-call-depth`, `extra-experimental-features`, `lint-*`.
    #[arg(long = "option", num_args = 2, value_names = ["NAME", "VALUE"])]
    option: Vec<String>,
    /// Lint URL literals: ignore, warn or fatal.
    #[arg(long, value_name = "LEVEL")]
    lint_url_literals: Option<String>,
    /// Lint relative path literals without `./`: ignore, warn or fatal.
    #[arg(long, value_name = "LEVEL")]
    lint_short_path_literals: Option<String>,
    /// Lint absolute and home path literals: ignore, warn or fatal.
    #[arg(long, value_name = "LEVEL")]
    lint_absolute_path_literals: Option<String>,
    /// The file to evaluate (a directory means its default.nix).
    file: Option<String>,
}

/// `mi_option_allow_large_os_pages`, the same in mimalloc 2.x and 3.x.
const LARGE_OS_PAGES: libmimalloc_sys::mi_option_t = 6;
/// `mi_option_purge_delay`, the same in mimalloc 2.x and 3.x.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Runs `tune_allocator` before anything allocates: the runtime's first allocations, before
/// `main`, make mimalloc reserve its first arena and touch its first pages, which would then
/// be 2 MiB pages (mimalloc asks for them), costing up to 13 ms of zeroing on a short run.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn tune() {
        tune_allocator();
    }
    tune
};

/// Tunes mimalloc for evaluation, which frees and reallocates small objects constantly:
/// freed memory stays in the process instead of going back to the kernel (after 10 ms in
/// mimalloc 2.x, 1 s in 3.x), and no 2 MiB pages are used, whose zeroing on first touch cost
/// up to a third of the run time of short evaluations (measured on nixpkgs' lib tests and the
/// attribute lookup workload).
fn tune_allocator() {
    // SAFETY: plain reads and writes of mimalloc's option table, before any other thread
    // exists. The version and the purge delay's default are checked first, so a different
    // option layout is left alone.
    unsafe {
        let default_delay = match libmimalloc_sys::mi_version() / 10_000 {
            2 => 10,
            3 => 1000,
            _ => 0,
        };
        if default_delay != 0 && libmimalloc_sys::mi_option_get(PURGE_DELAY) == default_delay {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
            libmimalloc_sys::mi_option_set(LARGE_OS_PAGES, 0);
        }
    }
    // Transparent huge pages are decided when a page is first touched; this runs before the
    // first allocation (see `TUNE_ALLOCATOR`), so no page of the process is a huge one.
    // SAFETY: prctl with integer arguments only; failure leaves the default in place.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
    // Every command ends the process when its run is over.
    nxe_engine::units::exit_after_run();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Eval(args) => run_eval(args),
        Command::Instantiate(args) => instantiate::run(args),
        Command::Hosts(args) => guarded(move || fleet::run_hosts(args)),
        Command::Graph(args) => guarded(move || fleet::run_graph(args)),
        Command::Diff(args) => guarded(move || fleet::run_diff(args)),
        Command::Impact(args) => guarded(move || impact::run_impact(args)),
        Command::Test(args) => guarded(move || test::run_test(args)),
        Command::Build(args) => guarded(move || test::run_build(args)),
        Command::Log(args) => guarded(move || test::run_log(args)),
        Command::Cache(args) => guarded(move || impact::run_cache(args)),
        Command::Bench(args) => bench::run(args),
    };
    // Commits `builtins.fetchGit` checked out in temporary directories live as long as the run.
    nxe_engine::git::remove_exports();
    code
}

/// Runs a command, turning a panic into an internal error (exit status 101).
fn guarded(command: impl FnOnce() -> ExitCode + std::panic::UnwindSafe) -> ExitCode {
    std::panic::catch_unwind(command).unwrap_or_else(|_| {
        eprintln!("error: internal error: nxe panicked (please report this)");
        ExitCode::from(101)
    })
}

fn nix_path(includes: &[String], env_nix_path: Option<String>) -> Vec<(String, String)> {
    let env_entries = env_nix_path.unwrap_or_default();
    let env_entries = env_entries.split(':').filter(|e| !e.is_empty());
    includes
        .iter()
        .map(String::as_str)
        .chain(env_entries)
        .map(|entry| nxe_engine::config::split_search_entry(entry, None))
        .collect()
}

/// Evaluation settings from the command line and the environment.
fn settings_from(args: &CommonArgs, cwd: &str) -> Result<EvalSettings, String> {
    let mut settings = EvalSettings {
        nix_path: nix_path(&args.include, std::env::var("NIX_PATH").ok()),
        cwd: cwd.to_string(),
        ..EvalSettings::default()
    };
    let mut options: Vec<(String, String)> = args
        .option
        .chunks(2)
        .filter_map(|pair| match pair {
            [name, value] => Some((name.clone(), value.clone())),
            _ => None,
        })
        .collect();
    for (name, value) in [
        ("lint-url-literals", &args.lint_url_literals),
        ("lint-short-path-literals", &args.lint_short_path_literals),
        ("lint-absolute-path-literals", &args.lint_absolute_path_literals),
    ] {
        if let Some(value) = value {
            options.push((name.to_string(), value.clone()));
        }
    }
    if let Some(depth) = args.max_call_depth {
        options.push(("max-call-depth".to_string(), depth.to_string()));
    }
    for features in &args.experimental_features {
        options.push(("extra-experimental-features".to_string(), features.clone()));
    }
    if std::env::var_os("NIX_ABORT_ON_WARN").is_some_and(|v| !v.is_empty() && v != "0") {
        settings.abort_on_warn = true;
    }
    for (name, value) in options {
        let lint = || {
            LintLevel::parse(&value)
                .ok_or_else(|| format!("invalid value '{value}' for option '{name}' (expected ignore, warn or fatal)"))
        };
        match name.as_str() {
            "max-call-depth" => {
                settings.max_call_depth =
                    value.parse().map_err(|_| format!("invalid value '{value}' for option '{name}'"))?
            }
            "extra-experimental-features" | "experimental-features" => {
                settings.experimental_features.extend(value.split_whitespace().map(str::to_string))
            }
            "lint-url-literals" => settings.lints.url_literals = lint()?,
            "lint-short-path-literals" => settings.lints.short_path_literals = lint()?,
            "lint-absolute-path-literals" => settings.lints.absolute_path_literals = lint()?,
            "abort-on-warn" => settings.abort_on_warn = matches!(value.as_str(), "true" | "1" | "yes"),
            _ => eprintln!("warning: unknown setting '{name}'"),
        }
    }
    Ok(settings)
}

/// The current directory, as evaluation sees it.
fn current_dir() -> String {
    std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|_| "/".into())
}

/// The file or expression to evaluate (no file means `default.nix` in `cwd`).
fn source_from(args: &CommonArgs, cwd: &str) -> Source {
    match (&args.expr, &args.file) {
        (Some(text), _) => Source::Expression { text: text.clone(), base_dir: cwd.to_string() },
        (None, Some(file)) => {
            let path = if file.starts_with('/') { file.clone() } else { format!("{cwd}/{file}") };
            Source::File(path)
        }
        (None, None) => Source::File(format!("{cwd}/default.nix")),
    }
}

/// `--arg` and `--argstr` values (flat name/value pairs), `--arg`s first.
fn auto_args(arg: &[String], argstr: &[String]) -> Vec<(String, AutoArg)> {
    let mut auto_args = Vec::new();
    for pair in arg.chunks(2) {
        if let [name, expr] = pair {
            auto_args.push((name.clone(), AutoArg::Expr(expr.clone())));
        }
    }
    for pair in argstr.chunks(2) {
        if let [name, text] = pair {
            auto_args.push((name.clone(), AutoArg::Str(text.clone())));
        }
    }
    auto_args
}

/// `--arg` and `--argstr` values of `nxe eval` and `nxe instantiate`.
fn auto_args_from(args: &CommonArgs) -> Vec<(String, AutoArg)> {
    auto_args(&args.arg, &args.argstr)
}

fn run_eval(args: EvalArgs) -> ExitCode {
    let cwd = current_dir();
    let source = source_from(&args.common, &cwd);
    let settings = match settings_from(&args.common, &cwd) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let mode = if args.xml {
        OutputMode::Xml
    } else if args.json {
        OutputMode::Json
    } else if args.raw {
        OutputMode::Raw
    } else if args.strict {
        OutputMode::Strict
    } else {
        OutputMode::Lazy
    };
    let request =
        EvalRequest { source, attr_paths: args.common.attr.clone(), auto_args: auto_args_from(&args.common), mode };
    let show_trace = args.common.show_trace;
    let result = std::panic::catch_unwind(move || {
        run_with_big_stack(move || {
            let mut evaluation = nxe_engine::git::LocalIo::evaluation(settings);
            let output = evaluation.evaluate(&request).map_err(|error| diagnostics::render(&error, show_trace));
            // The process ends with this command: its memory goes back to the system at
            // once, instead of being freed value by value.
            nxe_engine::units::let_go(evaluation);
            output
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

#[cfg(test)]
mod tests {
    /// The tuning must apply to the allocator actually bundled: a new major version with
    /// another default would otherwise leave it silently undone.
    #[test]
    fn the_bundled_allocator_is_tuned() {
        super::tune_allocator();
        // SAFETY: reads of mimalloc's option table.
        let (purge_delay, large_pages) = unsafe {
            (libmimalloc_sys::mi_option_get(super::PURGE_DELAY), libmimalloc_sys::mi_option_get(super::LARGE_OS_PAGES))
        };
        assert_eq!((purge_delay, large_pages), (-1, 0));
    }

    /// A freed block of a pooled size is the next one of that size handed out on its thread,
    /// zeroed when asked; moving a block in or out of a pooled size keeps its bytes; other
    /// sizes and larger alignments never come from a pool.
    #[test]
    fn the_pool_hands_freed_blocks_out_again() {
        use std::alloc::{GlobalAlloc, Layout};
        let allocator = super::Mimalloc;
        let pooled = Layout::from_size_align(32, 8).expect("layout");
        // SAFETY: every block is used within its layout and freed once, with its layout.
        unsafe {
            let first = allocator.alloc(pooled);
            assert!(!first.is_null());
            first.write_bytes(0xAB, 32);
            allocator.dealloc(first, pooled);
            let again = allocator.alloc_zeroed(pooled);
            assert_eq!(again, first, "the freed block was not taken again");
            assert!(std::slice::from_raw_parts(again, 32).iter().all(|b| *b == 0));
            again.write_bytes(7, 32);
            let grown = allocator.realloc(again, pooled, 100);
            assert!(std::slice::from_raw_parts(grown, 32).iter().all(|b| *b == 7));
            let taken = allocator.alloc(pooled);
            assert_eq!(taken, again, "the block left by realloc was not pooled");
            allocator.dealloc(taken, pooled);
            let shrunk = allocator.realloc(grown, Layout::from_size_align(100, 8).expect("layout"), 32);
            assert!(std::slice::from_raw_parts(shrunk, 32).iter().all(|b| *b == 7));
            assert_eq!(shrunk, taken, "a block shrunk to the pooled size did not come from the pool");
            allocator.dealloc(shrunk, pooled);
            let aligned = Layout::from_size_align(32, 32).expect("layout");
            let other = allocator.alloc(aligned);
            assert_ne!(other, shrunk, "a block aligned to 32 came from the pool");
            assert_eq!(other as usize % 32, 0);
            allocator.dealloc(other, aligned);
            let last = allocator.alloc(pooled);
            assert_eq!(last, shrunk, "the pool lost its block");
            allocator.dealloc(last, pooled);
            // Every pooled size has a pool of its own.
            let sizes = [16, 24, 40, 48, 56, 64, 88, 128];
            let blocks: Vec<*mut u8> =
                sizes.iter().map(|size| allocator.alloc(Layout::from_size_align(*size, 8).expect("layout"))).collect();
            for (size, block) in sizes.iter().zip(&blocks) {
                allocator.dealloc(*block, Layout::from_size_align(*size, 8).expect("layout"));
            }
            for (size, block) in sizes.iter().zip(&blocks).rev() {
                let layout = Layout::from_size_align(*size, 8).expect("layout");
                let again = allocator.alloc(layout);
                assert_eq!(again, *block, "size {size} did not take its own block again");
                allocator.dealloc(again, layout);
            }
            // A size that is no multiple of 16 with an alignment of 16 is not pooled: its
            // pool's blocks may be aligned to 8 only.
            assert_eq!(super::Mimalloc::pool_of(Layout::from_size_align(24, 16).expect("layout")), None);
            assert_eq!(super::Mimalloc::pool_of(Layout::from_size_align(136, 8).expect("layout")), None);
            assert_eq!(super::Mimalloc::pool_of(Layout::from_size_align(20, 4).expect("layout")), None);
        }
    }

    /// Blocks of a size mimalloc would round up (an odd multiple of 8: thunks are 24 bytes)
    /// are cut from a chunk at their exact size, one after the other, and 8-byte aligned;
    /// pooled blocks of the other sizes keep the alignment of 16 they may be asked for.
    #[test]
    fn blocks_of_odd_multiples_of_eight_are_cut_at_their_exact_size() {
        use std::alloc::{GlobalAlloc, Layout};
        // A fresh thread starts with empty pools.
        std::thread::spawn(|| {
            let allocator = super::Mimalloc;
            for size in [24, 40, 88, 120] {
                let layout = Layout::from_size_align(size, 8).expect("layout");
                // SAFETY: the blocks are only compared, then freed once with their layout.
                unsafe {
                    let blocks: Vec<*mut u8> = (0..64).map(|_| allocator.alloc(layout)).collect();
                    assert!(blocks.iter().all(|b| !b.is_null() && (*b as usize).is_multiple_of(8)));
                    let exact = blocks.windows(2).filter(|w| w[1] as usize == w[0] as usize + size).count();
                    // All in one chunk but where a chunk ends.
                    assert!(exact >= 62, "size {size}: only {exact} of 63 blocks follow the previous one");
                    for block in blocks {
                        allocator.dealloc(block, layout);
                    }
                }
            }
            for size in [32, 48, 64, 96, 112, 128] {
                let layout = Layout::from_size_align(size, 16).expect("layout");
                // SAFETY: as above.
                unsafe {
                    let blocks: Vec<*mut u8> = (0..64).map(|_| allocator.alloc(layout)).collect();
                    assert!(blocks.iter().all(|b| !b.is_null() && (*b as usize).is_multiple_of(16)), "size {size}");
                    for block in blocks {
                        allocator.dealloc(block, layout);
                    }
                }
            }
        })
        .join()
        .expect("the allocating thread");
    }
}
