//! `nxe instantiate`: the derivations that attribute paths select, as `nix-instantiate`
//! computes them.
//!
//! Selection follows Nix's `getDerivations`: a derivation value selects itself; a list
//! selects each element (recursively); a set selects the derivations among its attributes
//! (names matching `[A-Za-z_][A-Za-z0-9-_+]*`, in name order) and descends only into
//! attributes that are sets with `recurseForDerivations = true`. A derivation seen twice
//! under one attribute path is selected once. Functions are called with the `--arg` values
//! on the way, as Nix does.
//!
//! Output: one `.drv` path per selected derivation, with `!OUTPUT` when the value is an
//! output other than `out`; or, with `--json`, the selected derivations as
//! `nix derivation show` prints them (format version 4).
//!
//! Nothing is written unless `--store DIR` is given: then every `.drv` file the evaluation
//! created and every store object it added (`builtins.toFile` texts, copied sources) is
//! written into `DIR` under its base name, atomically (a temporary name, then a rename), and
//! objects already there are left alone. Files are read-only, as in a Nix store; directories
//! stay writable so that the directory can be deleted.

use crate::{auto_args_from, current_dir, diagnostics, settings_from, source_from, CommonArgs};
use clap::Args;
use nxe_evaluator::ir::Param;
use nxe_evaluator::ops::{coerce_to_string, Coerce};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::value::{Attr, Attrs};
use nxe_evaluator::{
    run_with_big_stack, AddedPath, AutoArg, EvalError, EvalRequest, EvalResult, Evaluation, OutputMode, Source, Value,
};
use nxe_store::{ContentAddressMethod, Derivation, Hash, HashAlgo, StoreDir, StorePath};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `nxe instantiate`.
#[derive(Args)]
pub(crate) struct InstantiateArgs {
    /// Print the selected derivations as JSON, as `nix derivation show` does.
    #[arg(long)]
    json: bool,
    /// Write the `.drv` files and the other store objects the evaluation created into DIR.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// The logical store directory store paths are computed for (default `/nix/store`).
    #[arg(long, value_name = "LOGICAL")]
    store_dir: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Runs `nxe instantiate`.
pub(crate) fn run(args: InstantiateArgs) -> ExitCode {
    let cwd = current_dir();
    let mut settings = match settings_from(&args.common, &cwd) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.store_dir {
        settings.store_dir = dir.trim_end_matches('/').to_string();
    }
    let store_dir = match StoreDir::new(&settings.store_dir) {
        Ok(store_dir) => store_dir,
        Err(error) => {
            eprintln!("error: invalid store directory '{}': {error}", settings.store_dir);
            return ExitCode::from(2);
        }
    };
    let job = Job {
        source: source_from(&args.common, &cwd),
        attr_paths: if args.common.attr.is_empty() { vec![String::new()] } else { args.common.attr.clone() },
        auto_args: auto_args_from(&args.common),
        json: args.json,
        keep_writes: args.store.is_some(),
        show_trace: args.common.show_trace,
        cwd,
    };
    let outcome = std::panic::catch_unwind(move || {
        run_with_big_stack(move || job.run(nxe_engine::git::LocalIo::evaluation(settings), store_dir))
    });
    let Ok(outcome) = outcome else {
        eprintln!("error: internal error: the evaluator panicked (please report this)");
        return ExitCode::from(101);
    };
    if let (Some(dir), Some(writes)) = (&args.store, &outcome.writes) {
        if let Err(message) = write_store(dir, &outcome.store_dir, writes) {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
    }
    let mut stdout = std::io::stdout().lock();
    let mut printed = outcome.lines.iter().try_for_each(|line| writeln!(stdout, "{line}"));
    if let Some(json) = &outcome.json {
        printed = printed.and_then(|()| writeln!(stdout, "{json}"));
    }
    let printed = printed.and_then(|()| stdout.flush());
    if let Some(rendered) = &outcome.error {
        eprint!("{rendered}");
        return ExitCode::from(1);
    }
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: writing the output: {error}");
            ExitCode::from(1)
        }
    }
}

/// What to instantiate, moved to the evaluation thread.
struct Job {
    source: Source,
    attr_paths: Vec<String>,
    auto_args: Vec<(String, AutoArg)>,
    json: bool,
    keep_writes: bool,
    show_trace: bool,
    cwd: String,
}

/// What the evaluation thread hands back: plain data only.
struct Outcome {
    /// Output lines printed before any error.
    lines: Vec<String>,
    /// The `--json` document, when asked for and everything succeeded.
    json: Option<String>,
    /// The rendered evaluation error, if any.
    error: Option<String>,
    /// With `--store`: what the evaluation created, to write.
    writes: Option<Writes>,
    /// The logical store directory.
    store_dir: StoreDir,
}

/// Derivations by `.drv` path and other store objects by store path.
type Writes = (BTreeMap<String, Derivation>, BTreeMap<String, AddedPath>);

impl Job {
    fn run(self, mut evaluation: Evaluation, store_dir: StoreDir) -> Outcome {
        let mut walker = Walker::new(&mut evaluation, &self, store_dir.clone());
        let mut lines = Vec::new();
        let mut selected = Vec::new();
        let mut result = Ok(());
        for path in &self.attr_paths {
            result = walker.instantiate(path, &mut lines, &mut selected);
            if result.is_err() {
                break;
            }
        }
        let result = result.and_then(|()| match self.json {
            true => show_derivations(walker.evaluation.evaluator().derivations(), &selected, &store_dir).map(Some),
            false => Ok(None),
        });
        let (json, error) = match result {
            Ok(json) => (json, None),
            Err(error) => (None, Some(diagnostics::render(&error, self.show_trace))),
        };
        let writes = self.keep_writes.then(|| {
            let store = evaluation.evaluator().store_writes();
            (store.derivations.clone(), store.paths.clone())
        });
        // The process ends with this command: its memory goes back to the system at once,
        // instead of being freed value by value.
        nxe_engine::units::let_go(evaluation);
        Outcome { lines: if self.json { Vec::new() } else { lines }, json, error, writes, store_dir }
    }
}

/// Nix's `getDerivations` over the values of one evaluation.
struct Walker<'a> {
    evaluation: &'a mut Evaluation,
    job: &'a Job,
    store_dir: StoreDir,
    /// The `--arg`/`--argstr` values as a set, once needed.
    args: Option<Attrs>,
    /// Derivations already selected under the current attribute path (by identity).
    done: HashSet<*const u8>,
    sym: Syms,
}

struct Syms {
    type_: Symbol,
    name: Symbol,
    drv_path: Symbol,
    output_name: Symbol,
    recurse: Symbol,
    functor: Symbol,
}

impl<'a> Walker<'a> {
    fn new(evaluation: &'a mut Evaluation, job: &'a Job, store_dir: StoreDir) -> Walker<'a> {
        let sym = Syms {
            type_: Symbol::intern("type"),
            name: Symbol::intern("name"),
            drv_path: Symbol::intern("drvPath"),
            output_name: Symbol::intern("outputName"),
            recurse: Symbol::intern("recurseForDerivations"),
            functor: Symbol::intern("__functor"),
        };
        Walker { evaluation, job, store_dir, args: None, done: HashSet::new(), sym }
    }

    /// Selects the derivations under one attribute path and adds their lines (`DRV` or
    /// `DRV!OUTPUT`) and `.drv` paths.
    fn instantiate(&mut self, path: &str, lines: &mut Vec<String>, selected: &mut Vec<String>) -> EvalResult<()> {
        let request = EvalRequest {
            source: self.job.source.clone(),
            attr_paths: vec![path.to_string()],
            auto_args: self.job.auto_args.clone(),
            mode: OutputMode::Lazy,
        };
        let values = self.evaluation.values(&request)?;
        self.done.clear();
        let mut found = Vec::new();
        for value in &values {
            // `Evaluation` has already auto-called the value when there are `--arg` values;
            // Nix's `getDerivations` calls it (once) in any case.
            match self.job.auto_args.is_empty() {
                true => self.get_derivations(value, &mut found)?,
                false => self.select_in(value.clone(), &mut found)?,
            }
        }
        for attrs in found {
            let drv_path = self.drv_path(&attrs)?;
            let output = self.output_name(&attrs)?;
            if output.is_empty() {
                return Err(EvalError::msg(format!("derivation '{drv_path}' lacks an 'outputName' attribute")));
            }
            lines.push(if output == "out" { drv_path.clone() } else { format!("{drv_path}!{output}") });
            selected.push(drv_path);
        }
        Ok(())
    }

    /// Nix's `getDerivations`: auto-calls `value`, then selects it if it is a derivation, or
    /// what it contains if it is a set or a list.
    fn get_derivations(&mut self, value: &Value, found: &mut Vec<Attrs>) -> EvalResult<()> {
        let value = self.auto_call(value)?;
        self.select_in(value, found)
    }

    /// `getDerivations` after the auto-call.
    fn select_in(&mut self, value: Value, found: &mut Vec<Attrs>) -> EvalResult<()> {
        if !self.get_derivation(&value, found)? {
            return Ok(());
        }
        match &value {
            Value::Attrs(attrs) => {
                for attr in attrs.iter() {
                    if !is_selectable_name(attr.name.as_str()) || !self.get_derivation(&attr.value, found)? {
                        continue;
                    }
                    let ev = self.evaluation.evaluator();
                    let inner = ev.force(&attr.value)?;
                    let Value::Attrs(inner_attrs) = &inner else { continue };
                    let Some(recurse) = inner_attrs.get_entry(self.sym.recurse).cloned() else { continue };
                    if self.force_recurse(&recurse)? {
                        self.get_derivations(&inner, found)?;
                    }
                }
                Ok(())
            }
            Value::List(items) => {
                for item in items.iter() {
                    if self.get_derivation(item, found)? {
                        self.get_derivations(item, found)?;
                    }
                }
                Ok(())
            }
            _ => Err(EvalError::msg("expression does not evaluate to a derivation (or a set or list of those)")),
        }
    }

    /// Nix's `getDerivation`: selects `value` if it is a derivation not selected yet. Returns
    /// whether it was *not* a derivation (so the caller may look inside).
    fn get_derivation(&mut self, value: &Value, found: &mut Vec<Attrs>) -> EvalResult<bool> {
        let ev = self.evaluation.evaluator();
        let value = ev.force(value)?;
        let Value::Attrs(attrs) = &value else { return Ok(true) };
        let Some(kind) = attrs.get(self.sym.type_).cloned() else { return Ok(true) };
        if !matches!(ev.force(&kind)?, Value::String(text) if text.as_str() == "derivation") {
            return Ok(true);
        }
        if !self.done.insert(Attrs::as_ptr(attrs)) {
            return Ok(false);
        }
        let Some(name) = attrs.get(self.sym.name).cloned() else {
            return Err(EvalError::msg("derivation name missing"));
        };
        self.force_string(&name, "while evaluating the 'name' attribute of a derivation")?;
        found.push(attrs.clone());
        Ok(false)
    }

    fn force_recurse(&mut self, attr: &Attr) -> EvalResult<bool> {
        let ev = self.evaluation.evaluator();
        let note =
            |error: EvalError| error.note(attr.pos.span(), "while evaluating the attribute `recurseForDerivations`");
        match ev.force(&attr.value).map_err(note)? {
            Value::Bool(value) => Ok(value),
            other => {
                let error = nxe_evaluator::eval::type_error("a Boolean", &other);
                Err(note(match attr.pos.span() {
                    Some(pos) => error.at(pos),
                    None => error,
                }))
            }
        }
    }

    fn force_string(&mut self, value: &Value, note: &str) -> EvalResult<String> {
        let ev = self.evaluation.evaluator();
        match ev.force(value).map_err(|e| e.note(None, note))? {
            Value::String(text) => Ok(text.as_str().to_string()),
            other => Err(nxe_evaluator::eval::type_error("a string", &other).note(None, note)),
        }
    }

    /// The `drvPath` attribute, which must be a store path.
    fn drv_path(&mut self, attrs: &Attrs) -> EvalResult<String> {
        let Some(value) = attrs.get(self.sym.drv_path).cloned() else {
            return Err(EvalError::msg("derivation does not contain a 'drvPath' attribute"));
        };
        let ev = self.evaluation.evaluator();
        let text = coerce_to_string(ev, &value, Coerce::Interpolation)
            .map_err(|e| e.context(None, "while evaluating the 'drvPath' attribute of a derivation"))?;
        let text = text.as_str().to_string();
        match self.store_dir.parse_path(&text) {
            Ok(_) => Ok(text),
            Err(_) => Err(EvalError::msg(format!("path '{text}' is not in the Nix store"))),
        }
    }

    /// The `outputName` attribute, empty when there is none.
    fn output_name(&mut self, attrs: &Attrs) -> EvalResult<String> {
        match attrs.get(self.sym.output_name).cloned() {
            Some(value) => self.force_string(&value, "while evaluating the output name of a derivation"),
            None => Ok(String::new()),
        }
    }

    /// Nix's `autoCallFunction`: calls a function with a set pattern with the `--arg`
    /// values (its defaults fill the rest), and a set with `__functor` through it.
    fn auto_call(&mut self, value: &Value) -> EvalResult<Value> {
        let value = self.evaluation.evaluator().force(value)?;
        match &value {
            Value::Attrs(attrs) => {
                if let Some(functor) = attrs.get(self.sym.functor).cloned() {
                    let ev = self.evaluation.evaluator();
                    let inner = ev.call(functor, std::slice::from_ref(&value), None)?;
                    return self.auto_call(&inner);
                }
                Ok(value)
            }
            Value::Lambda(closure) => {
                let Param::Pattern { formals, ellipsis, .. } = &closure.def.param else { return Ok(value) };
                let args = self.auto_args()?;
                let mut entries = Vec::new();
                if *ellipsis {
                    entries.extend(args.iter().cloned());
                } else {
                    for (name, default) in formals {
                        match args.get_entry(*name) {
                            Some(arg) => entries.push(arg.clone()),
                            None if default.is_some() => {}
                            None => {
                                return Err(EvalError::msg(format!(
                                    "cannot evaluate a function that has an argument without a value ('{name}')"
                                )))
                            }
                        }
                    }
                }
                let arg = Value::attrs(Attrs::from_unsorted(entries));
                self.evaluation.evaluator().call(value.clone(), &[arg], None)
            }
            _ => Ok(value),
        }
    }

    /// The `--arg`/`--argstr` values as a set, evaluated once by the same code that passes
    /// them to the top-level function: `Evaluation` auto-calls `{ ... }@args: args` with them.
    fn auto_args(&mut self) -> EvalResult<Attrs> {
        if let Some(args) = &self.args {
            return Ok(args.clone());
        }
        let mut args = Attrs::new();
        if !self.job.auto_args.is_empty() {
            let request = EvalRequest {
                source: Source::Expression { text: "{ ... }@args: args".to_string(), base_dir: self.job.cwd.clone() },
                attr_paths: Vec::new(),
                auto_args: self.job.auto_args.clone(),
                mode: OutputMode::Lazy,
            };
            let values = self.evaluation.values(&request)?;
            if let Some(value) = values.first() {
                if let Value::Attrs(attrs) = self.evaluation.evaluator().force(value)? {
                    args = attrs;
                }
            }
        }
        self.args = Some(args.clone());
        Ok(args)
    }
}

/// Whether `getDerivations` looks at an attribute: `[A-Za-z_][A-Za-z0-9-_+]*`.
fn is_selectable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
}

/// The selected derivations as `nix derivation show` prints them (format version 4):
/// `{"derivations":{BASE.drv:{...}},"version":4}`, keys sorted, store paths as base names
/// except inside `env`.
fn show_derivations(
    all: &BTreeMap<String, Derivation>,
    selected: &[String],
    store_dir: &StoreDir,
) -> EvalResult<String> {
    let mut shown = BTreeMap::new();
    for drv_path in selected {
        let Some(drv) = all.get(drv_path) else {
            return Err(EvalError::msg(format!(
                "derivation '{drv_path}' was not created by this evaluation, so nxe cannot show it"
            )));
        };
        shown.insert(base_name(drv_path, store_dir), derivation_json(drv_path, drv, store_dir));
    }
    let document = Json::object([("derivations", Json::Object(shown)), ("version", Json::Number(4))]);
    let mut out = String::new();
    document.write(&mut out);
    Ok(out)
}

fn derivation_json(drv_path: &str, drv: &Derivation, store_dir: &StoreDir) -> Json {
    let name = store_dir
        .parse_path(drv_path)
        .map(|path| path.name().trim_end_matches(".drv").to_string())
        .unwrap_or_else(|_| drv.env.get("name").cloned().unwrap_or_default());
    let outputs = drv.outputs.iter().map(|(name, output)| (name.clone(), output_json(output, store_dir))).collect();
    let input_drvs = drv
        .input_drvs
        .iter()
        .map(|(path, outputs)| {
            let outputs = Json::Array(outputs.iter().map(|o| Json::String(o.clone())).collect());
            let input = Json::object([("dynamicOutputs", Json::Object(BTreeMap::new())), ("outputs", outputs)]);
            (base_name(path, store_dir), input)
        })
        .collect();
    let input_srcs = drv.input_srcs.iter().map(|path| Json::String(base_name(path, store_dir))).collect();
    let mut env = drv.env.clone();
    let structured = env.remove("__json");
    let env = env.into_iter().map(|(key, value)| (key, Json::String(value))).collect();
    let mut fields = vec![
        ("args", Json::Array(drv.args.iter().map(|a| Json::String(a.clone())).collect())),
        ("builder", Json::String(drv.builder.clone())),
        ("env", Json::Object(env)),
        ("inputs", Json::object([("drvs", Json::Object(input_drvs)), ("srcs", Json::Array(input_srcs))])),
        ("name", Json::String(name)),
        ("outputs", Json::Object(outputs)),
        ("system", Json::String(drv.platform.clone())),
        ("version", Json::Number(4)),
    ];
    if let Some(text) = structured {
        // Nix parses `__json` and prints it again; the evaluator wrote it exactly as Nix
        // prints JSON (sorted keys, compact), so the text goes in as it is.
        fields.push(("structuredAttrs", Json::Raw(text)));
    }
    Json::object(fields)
}

/// One output: `{"path"}` when input-addressed, `{"hash","method"}` when fixed,
/// `{"hashAlgo","method"}` when floating, `{"hashAlgo","impure","method"}` when impure, `{}`
/// when deferred.
fn output_json(output: &nxe_store::Output, store_dir: &StoreDir) -> Json {
    if output.hash_algo.is_empty() {
        return match output.path.is_empty() {
            true => Json::object([]),
            false => Json::object([("path", Json::String(base_name(&output.path, store_dir)))]),
        };
    }
    let (method, algo) = match output.hash_algo.split_once(':') {
        Some(("r", algo)) => ("nar", algo),
        Some(("text", algo)) => ("text", algo),
        Some(("git", algo)) => ("git", algo),
        Some((other, algo)) => (other, algo),
        None => ("flat", output.hash_algo.as_str()),
    };
    let method = Json::String(method.to_string());
    if output.hash == "impure" {
        return Json::object([
            ("hashAlgo", Json::String(algo.to_string())),
            ("impure", Json::Bool(true)),
            ("method", method),
        ]);
    }
    if output.hash.is_empty() {
        return Json::object([("hashAlgo", Json::String(algo.to_string())), ("method", method)]);
    }
    let hash = HashAlgo::parse(algo)
        .ok()
        .and_then(|algo| Hash::parse_unprefixed(&output.hash, algo).ok())
        .map_or_else(|| format!("{algo}:{}", output.hash), |hash| hash.to_sri());
    Json::object([("hash", Json::String(hash)), ("method", method)])
}

/// `/nix/store/HASH-NAME` → `HASH-NAME` (a path outside the store stays as it is).
fn base_name(path: &str, store_dir: &StoreDir) -> String {
    store_dir.parse_path(path).map_or_else(|_| path.to_string(), |p| p.base_name())
}

/// A JSON value, printed compactly with sorted keys, as Nix's JSON library prints it.
enum Json {
    String(String),
    Number(u64),
    Bool(bool),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
    /// Text that is already JSON.
    Raw(String),
}

impl Json {
    fn object(fields: impl IntoIterator<Item = (&'static str, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(key, value)| (key.to_string(), value)).collect())
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::String(text) => nxe_evaluator::builtins::write_json_string(out, text),
            Json::Number(n) => out.push_str(&n.to_string()),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Raw(text) => out.push_str(text),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    nxe_evaluator::builtins::write_json_string(out, key);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Writes every derivation and added store object into `dir` under its base name.
fn write_store(dir: &Path, store_dir: &StoreDir, (derivations, paths): &Writes) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating the store directory '{}': {e}", dir.display()))?;
    let mut writer = StoreWriter { dir, store_dir, counter: 0 };
    for (drv_path, drv) in derivations {
        let path = writer.parse(drv_path)?;
        writer.add(&path, |tmp| write_file(tmp, drv.to_aterm().as_bytes(), false))?;
    }
    for (store_path, added) in paths {
        let path = writer.parse(store_path)?;
        match added {
            AddedPath::Text { contents, .. } => writer.add(&path, |tmp| write_file(tmp, contents.as_bytes(), false))?,
            AddedPath::Source { source, recursive, excluded } => {
                let method = if *recursive { ContentAddressMethod::Recursive } else { ContentAddressMethod::Flat };
                writer.add(&path, |tmp| {
                    match recursive {
                        true => copy_tree(Path::new(source), source, tmp, excluded)?,
                        false => copy_flat(Path::new(source), tmp)?,
                    }
                    check_contents(tmp, method, &path, store_dir, source)
                })?
            }
            AddedPath::Fetched { url } => {
                eprintln!("warning: not writing '{store_path}': nxe does not have its contents (from '{url}')")
            }
        }
    }
    Ok(())
}

struct StoreWriter<'a> {
    dir: &'a Path,
    store_dir: &'a StoreDir,
    counter: u64,
}

impl StoreWriter<'_> {
    fn parse(&self, path: &str) -> Result<StorePath, String> {
        self.store_dir.parse_path(path).map_err(|e| format!("'{path}' is not a store path: {e}"))
    }

    /// Builds the object at a temporary name in the directory and renames it into place,
    /// unless an object of that name is already there.
    fn add(&mut self, path: &StorePath, build: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
        let base = path.base_name();
        let target = self.dir.join(&base);
        if target.symlink_metadata().is_ok() {
            return Ok(());
        }
        self.counter += 1;
        let tmp = self.dir.join(format!(".{base}.tmp-{}-{}", std::process::id(), self.counter));
        remove_any(&tmp);
        let built = build(&tmp).and_then(|()| match std::fs::rename(&tmp, &target) {
            Ok(()) => Ok(()),
            // Another process put it there first.
            Err(_) if target.symlink_metadata().is_ok() => Ok(()),
            Err(e) => Err(format!("moving '{}' into place: {e}", target.display())),
        });
        remove_any(&tmp);
        built.map_err(|e| format!("writing '{}': {e}", target.display()))
    }
}

/// Removes a file, symlink or directory tree if it exists.
fn remove_any(path: &Path) {
    match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

fn write_file(path: &Path, contents: &[u8], executable: bool) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| e.to_string())?;
    file.write_all(contents).map_err(|e| e.to_string())?;
    drop(file);
    set_read_only(path, executable)
}

/// Copies a file, symlink or directory, leaving out the paths in `excluded` (as the
/// evaluator named them: the parent's name, `/`, the entry's name).
fn copy_tree(source: &Path, name: &str, target: &Path, excluded: &BTreeSet<String>) -> Result<(), String> {
    let mut write = |from: &Path, to: &Path, executable: bool| {
        let contents = std::fs::read(from)?;
        write_file(to, &contents, executable).map_err(std::io::Error::other)
    };
    nxe_store::copy_filtered(source, name, target, excluded, &mut write).map_err(|error| error.to_string())
}

/// Copies the bytes of a regular file (flat ingestion: never executable).
fn copy_flat(source: &Path, target: &Path) -> Result<(), String> {
    let contents = std::fs::read(source).map_err(|e| format!("reading '{}': {e}", source.display()))?;
    write_file(target, &contents, false)
}

/// Checks that what was copied still has the contents the store path was computed from.
fn check_contents(
    copy: &Path,
    method: ContentAddressMethod,
    path: &StorePath,
    store_dir: &StoreDir,
    source: &str,
) -> Result<(), String> {
    let hash = match method {
        ContentAddressMethod::Recursive => nxe_store::nar_hash_path(copy).map_err(|e| e.to_string())?.0,
        _ => Hash::compute(HashAlgo::Sha256, &std::fs::read(copy).map_err(|e| e.to_string())?),
    };
    let actual = nxe_store::make_fixed_output_path(method, &hash, path.name(), &BTreeSet::new(), store_dir)
        .map_err(|e| e.to_string())?;
    if actual != *path {
        return Err(format!(
            "'{source}' changed since it was evaluated (it is now {})",
            store_dir.display_path(&actual)
        ));
    }
    Ok(())
}

/// Makes a file read-only as in a Nix store: `r--r--r--`, or `r-xr-xr-x` if executable.
#[cfg(unix)]
fn set_read_only(path: &Path, executable: bool) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o555 } else { 0o444 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())
}

#[cfg(not(unix))]
fn set_read_only(path: &Path, _executable: bool) -> Result<(), String> {
    let mut permissions = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(path, permissions).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectable_names() {
        for name in ["a", "_x", "foo-bar", "a+b", "A9_-+"] {
            assert!(is_selectable_name(name), "{name}");
        }
        for name in ["", "1x", "a.b", "ok'", "a b", "é"] {
            assert!(!is_selectable_name(name), "{name}");
        }
    }

    #[test]
    fn json_strings_escape_as_nix_does() {
        let mut out = String::new();
        nxe_evaluator::builtins::write_json_string(&mut out, "a\"b\\c\nd\u{1}\u{7f}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001\u{7f}é\"");
    }

    #[test]
    fn outputs_as_nix_shows_them() -> Result<(), nxe_store::StoreError> {
        let store = StoreDir::new("/nix/store")?;
        let show = |output: nxe_store::Output| {
            let mut out = String::new();
            output_json(&output, &store).write(&mut out);
            out
        };
        let path = "/nix/store/dj2scnsjjm4gxxwkg6m0bisl3r77167b-b".to_string();
        assert_eq!(show(nxe_store::Output::input_addressed(path)), r#"{"path":"dj2scnsjjm4gxxwkg6m0bisl3r77167b-b"}"#);
        let fixed = nxe_store::Output {
            path: "/nix/store/1dv2rgkkc16pf6mmkic4l22m656zy9q5-fodr".into(),
            hash_algo: "r:sha256".into(),
            hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        };
        assert_eq!(show(fixed), r#"{"hash":"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","method":"nar"}"#);
        let floating = nxe_store::Output { path: String::new(), hash_algo: "r:sha256".into(), hash: String::new() };
        assert_eq!(show(floating), r#"{"hashAlgo":"sha256","method":"nar"}"#);
        Ok(())
    }
}
