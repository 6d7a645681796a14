//! The interpreter: evaluates compiled expressions to weak head normal form.
//!
//! [`Evaluator::eval`] walks the compiled tree with an environment; arguments, list
//! elements and attribute values become thunks ([`Evaluator::lazy`]) unless they are
//! constants or variables, which cost nothing to pass along. Forcing a thunk blackholes it
//! first, so a thunk that needs itself reports infinite recursion instead of looping.
//! Function calls are counted against Nix's `max-call-depth`, and evaluation nesting is
//! bounded too, so deep recursion ends in an error, never a stack overflow.

use crate::builtins;
use crate::compile::{compile, CompileError, CompileOptions, Lints};
use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::io::EvalIo;
use crate::ir::{
    AttrKey, AttrValue, AttrsDef, BinOp, Expr, LambdaDef, Literal, OperatorStarts, Param, StaticAttr, StrPart,
};
use crate::paths::canonicalize;
use crate::source::{Pos, SourceMap, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, Closure, Env, Forces, NixString, PrimOp, PrimOpApp, Shared, Thunk, ThunkState, Value};
use rustc_hash::FxHashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// Nix's default `max-call-depth`.
pub const MAX_CALL_DEPTH: usize = 10_000;
/// Bound on nested forcing of thunks, well inside the evaluation thread's stack.
const MAX_EVAL_DEPTH: usize = 60_000;

/// Settings of one evaluation.
#[derive(Clone, Debug)]
pub struct EvalSettings {
    /// Search path entries (`-I`, `NIX_PATH`): an optional prefix and a path.
    pub nix_path: Vec<(String, String)>,
    /// The logical store directory.
    pub store_dir: String,
    /// `builtins.currentSystem`.
    pub system: String,
    /// `builtins.currentTime`.
    pub current_time: i64,
    /// The directory relative search path entries are resolved against.
    pub cwd: String,
    /// Nix's `max-call-depth`.
    pub max_call_depth: usize,
    /// Enabled experimental features (`--extra-experimental-features`).
    pub experimental_features: Vec<String>,
    /// Lints on literals.
    pub lints: Lints,
    /// Make `builtins.warn` fail (`abort-on-warn`).
    pub abort_on_warn: bool,
    /// Asked every few thousand function calls whether evaluation must stop (a memory budget,
    /// a cancelled run); a returned reason ends it with an uncatchable
    /// [`ErrorKind::Interrupted`].
    pub interrupt: Option<fn() -> Option<String>>,
    /// Asked when `unsafeGetAttrPos` finds an attribute without a position (one made by a
    /// builtin, or by an embedder that builds values itself and cannot tell); a returned
    /// reason ends evaluation with an uncatchable [`ErrorKind::Interrupted`] instead of
    /// answering `null`.
    pub unknown_position: Option<fn() -> Option<String>>,
}

impl Default for EvalSettings {
    fn default() -> EvalSettings {
        EvalSettings {
            nix_path: Vec::new(),
            store_dir: "/nix/store".to_string(),
            system: "x86_64-linux".to_string(),
            current_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            cwd: "/".to_string(),
            max_call_depth: MAX_CALL_DEPTH,
            experimental_features: Vec::new(),
            lints: Lints::default(),
            abort_on_warn: false,
            interrupt: None,
            unknown_position: None,
        }
    }
}

/// How many function calls pass between two calls of [`EvalSettings::interrupt`].
const INTERRUPT_CHECK_INTERVAL: u32 = 4096;

/// Compiled files shared by every evaluator of a process, keyed by path and mode.
#[derive(Default)]
pub struct CodeCache {
    files: Mutex<FxHashMap<(String, bool), Slot>>,
    /// Where compiled files are kept between runs, if anywhere.
    store: std::sync::OnceLock<crate::code_store::CodeStore>,
    /// Signalled when a compilation ends, for workers waiting for that file: workers
    /// importing the same file at the same moment (they follow the same imports) wait for
    /// one compilation instead of each doing it, and other files compile meanwhile.
    compiled: std::sync::Condvar,
}

/// A file in the code cache.
#[derive(Clone)]
enum Slot {
    /// Some thread is reading and compiling it.
    Compiling,
    /// Compiled.
    Done(CompiledFile),
}

impl CodeCache {
    /// Keeps the files this cache compiles in `store`, and takes files from there that were
    /// compiled before from the same text; the first store given stays.
    pub fn keep_in(&self, store: crate::code_store::CodeStore) {
        let _ = self.store.set(store);
    }

    fn files(&self) -> std::sync::MutexGuard<'_, FxHashMap<(String, bool), Slot>> {
        self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The claim of the thread compiling a file: it ends with the result, or, if the
/// compilation could not finish (the file could not be read), with the file unclaimed.
struct Claim<'c> {
    code: &'c CodeCache,
    key: Option<(String, bool)>,
}

impl Claim<'_> {
    fn finish(mut self, result: CompiledFile) {
        if let Some(key) = self.key.take() {
            self.code.files().insert(key, Slot::Done(result));
            self.code.compiled.notify_all();
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.code.files().remove(&key);
            self.code.compiled.notify_all();
        }
    }
}

/// A compiled file, or the errors that stopped its compilation.
type CompiledFile = Result<&'static Expr, Arc<Vec<CompileError>>>;

/// One evaluator: per worker thread, with its own values, sharing compiled code.
pub struct Evaluator {
    pub(crate) io: Rc<dyn EvalIo>,
    pub(crate) settings: EvalSettings,
    pub(crate) globals: Vec<Value>,
    code: Arc<CodeCache>,
    import_cache: FxHashMap<String, Option<Value>>,
    /// String literals' values, by their numbers (see [`Literal`]).
    literals: Vec<Option<NixString>>,
    /// Attribute names' string values (see [`Evaluator::name_string`]).
    names: FxHashMap<Symbol, NixString>,
    call_depth: usize,
    eval_depth: usize,
    /// Function calls left before `settings.interrupt` is asked again.
    calls_until_check: u32,
    pub(crate) sym: builtins::Syms,
    /// What the evaluation put in the (logical) store: derivations, sources, text files.
    pub(crate) store_writes: StoreWrites,
    /// `builtins.fetchGit` results, by repository and request: each work tree is read and
    /// hashed once per evaluator (its files stay shown at the store path).
    pub(crate) fetched_git: FxHashMap<String, (Value, String, AddedPath)>,
    /// Whether a function argument whose value is known or cheap (a function, known
    /// arithmetic or selection) is passed as its value instead of a thunk. Off for lazy
    /// output, where the reference shows such an argument stored unevaluated as `<CODE>`.
    pub(crate) speculate: bool,
    /// Names by the order in which the reference would have named them in this evaluation
    /// after its own (each file's as it is parsed; see `intern_order::rank`), and the files
    /// counted so far: deep forcing visits a set's attributes in this order, as the
    /// reference does.
    name_ranks: FxHashMap<Symbol, u32>,
    ranked_files: rustc_hash::FxHashSet<usize>,
}

impl Evaluator {
    /// A new evaluator.
    pub fn new(io: Rc<dyn EvalIo>, settings: EvalSettings, code: Arc<CodeCache>) -> Evaluator {
        let mut evaluator = Evaluator {
            io,
            settings,
            globals: Vec::new(),
            code,
            import_cache: FxHashMap::default(),
            literals: Vec::new(),
            names: FxHashMap::default(),
            call_depth: 0,
            eval_depth: 0,
            calls_until_check: INTERRUPT_CHECK_INTERVAL,
            speculate: true,
            sym: builtins::Syms::new(),
            store_writes: StoreWrites::default(),
            fetched_git: FxHashMap::default(),
            name_ranks: FxHashMap::default(),
            ranked_files: rustc_hash::FxHashSet::default(),
        };
        evaluator.globals = builtins::make_globals(&mut evaluator);
        evaluator
    }

    /// The evaluation settings.
    pub fn settings(&self) -> &EvalSettings {
        &self.settings
    }

    /// Every derivation this evaluator created, by `.drv` path.
    pub fn derivations(&self) -> &std::collections::BTreeMap<String, nxe_store::Derivation> {
        &self.store_writes.derivations
    }

    /// Reads a file, serving store objects this evaluator created itself (`toFile` texts,
    /// `.drv` files) from memory, since nxe does not write the store while evaluating.
    pub(crate) fn read_file_bytes(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if let Some(text) = crate::builtins::corepkg(path) {
            return Ok(text.as_bytes().to_vec());
        }
        if let Some(AddedPath::Text { contents, .. }) = self.store_writes.paths.get(path) {
            return Ok(contents.clone().into_bytes());
        }
        if let Some(drv) = self.store_writes.derivations.get(path) {
            return Ok(drv.to_aterm().into_bytes());
        }
        self.io.read_file(std::path::Path::new(path))
    }

    /// Whether a path is a store object this evaluator created.
    pub(crate) fn is_virtual_store_file(&self, path: &str) -> bool {
        crate::builtins::corepkg(path).is_some()
            || matches!(self.store_writes.paths.get(path), Some(AddedPath::Text { .. }))
            || self.store_writes.derivations.contains_key(path)
    }

    /// Everything this evaluator added to the store: derivations, sources and text files.
    pub fn store_writes(&self) -> &StoreWrites {
        &self.store_writes
    }

    /// Records a store object the evaluation uses that its host made (a flake's source), so
    /// that it is among the objects derivations need.
    pub fn record_added_path(&mut self, store_path: &str, added: &AddedPath) {
        self.store_writes.paths.entry(store_path.to_string()).or_insert_with(|| added.clone());
    }

    /// Takes the store objects other than derivations the evaluation added so far.
    pub fn take_added_paths(&mut self) -> std::collections::BTreeMap<String, AddedPath> {
        std::mem::take(&mut self.store_writes.paths)
    }

    /// Takes the derivations made so far, for an evaluator that is about to be dropped
    /// (later derivations could not find the hashes of these as inputs otherwise).
    pub fn take_derivations(&mut self) -> std::collections::BTreeMap<String, nxe_store::Derivation> {
        self.store_writes.drv_hashes.clear();
        std::mem::take(&mut self.store_writes.derivations)
    }

    /// Compiles source text (cached by `cache_key` when given).
    pub fn compile_source(
        &mut self,
        name: &str,
        text: String,
        base_dir: &str,
        scoped: bool,
    ) -> Result<&'static Expr, Vec<CompileError>> {
        let expr = self.compile_text(name, text, base_dir, scoped, None)?;
        self.rank_names(expr);
        Ok(expr)
    }

    /// Counts the names of the file compiled to `root` into [`Evaluator::name_ranks`], once:
    /// when it is parsed in the reference, that is when it is first evaluated.
    fn rank_names(&mut self, root: &'static Expr) {
        if !self.ranked_files.insert(root as *const Expr as usize) {
            return;
        }
        for name in crate::intern_order::names_of(root) {
            let next = self.name_ranks.len() as u32;
            self.name_ranks.entry(*name).or_insert(next);
        }
    }

    /// [`Evaluator::compile_source`], through `store` when given.
    fn compile_text(
        &mut self,
        name: &str,
        text: String,
        base_dir: &str,
        scoped: bool,
        store: Option<&crate::code_store::CodeStore>,
    ) -> Result<&'static Expr, Vec<CompileError>> {
        let options = CompileOptions {
            lints: self.settings.lints,
            base_dir: base_dir.to_string(),
            home: self.io.get_env("HOME"),
            scoped,
        };
        let stored = store.map(|store| (store, crate::code_store::CodeStore::key(name, &text, &options)));
        let file = SourceMap::global().add(name.to_string(), text);
        if let Some(expr) = stored.as_ref().and_then(|(store, key)| store.load(name, scoped, key, file)) {
            return Ok(expr);
        }
        let source = SourceMap::global().file(file);
        let text = source.as_ref().map_or("", |f| f.text.as_str());
        let compiled = compile(file, text, &options)?;
        // A file with warnings is not kept: they are shown each time it is compiled.
        if let (Some((store, key)), true) = (&stored, compiled.warnings.is_empty()) {
            store.save(name, scoped, key, compiled.expr, &compiled.names, file);
        }
        crate::intern_order::register(compiled.expr, compiled.names);
        for warning in &compiled.warnings {
            let location = SourceMap::global()
                .location(warning.span)
                .map_or(String::new(), |l| format!("\n         at {}:{}:{}:", l.file, l.line, l.column));
            self.io.trace(&format!("warning: {}{location}", warning.message));
        }
        Ok(compiled.expr)
    }

    /// Compiles a file, reusing the process-wide cache.
    pub fn compile_file(&mut self, path: &str, scoped: bool) -> EvalResult<&'static Expr> {
        let code = self.code.clone();
        let key = (path.to_string(), scoped);
        let claim = {
            let mut files = code.files();
            loop {
                match files.get(&key) {
                    Some(Slot::Done(result)) => {
                        let result = result.clone();
                        drop(files);
                        self.io.reused_file(std::path::Path::new(path));
                        if let Ok(root) = result {
                            self.rank_names(root);
                        }
                        return result.map_err(|errors| compile_errors_to_eval(&errors));
                    }
                    Some(Slot::Compiling) => {
                        files = code.compiled.wait(files).unwrap_or_else(|poisoned| poisoned.into_inner());
                    }
                    None => {
                        files.insert(key.clone(), Slot::Compiling);
                        break Claim { code: &code, key: Some(key) };
                    }
                }
            }
        };
        let result = self.compile_claimed(path, scoped)?;
        claim.finish(result.clone());
        if let Ok(root) = result {
            self.rank_names(root);
        }
        result.map_err(|errors| compile_errors_to_eval(&errors))
    }

    /// Compiles a file ahead of its import, on a thread that would otherwise wait: unless
    /// some thread compiled or compiles it already. What this evaluator's I/O reads is what
    /// the importer would read; the importer still records reading the file when it reuses
    /// the compiled code. A file that cannot be read is left for the importer. Says whether
    /// it compiled the file.
    pub fn prefetch_file(&mut self, path: &str) -> bool {
        let code = self.code.clone();
        let key = (path.to_string(), false);
        let claim = {
            let mut files = code.files();
            if files.contains_key(&key) {
                return false;
            }
            files.insert(key.clone(), Slot::Compiling);
            Claim { code: &code, key: Some(key) }
        };
        match self.compile_claimed(path, false) {
            Ok(result) => {
                claim.finish(result);
                true
            }
            Err(_) => false,
        }
    }

    /// Reads and compiles a file this thread claimed; an error only when it cannot be read.
    fn compile_claimed(&mut self, path: &str, scoped: bool) -> EvalResult<CompiledFile> {
        let bytes = self.read_file_bytes(path).map_err(|e| crate::builtins::io_error("opening file", path, &e))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let dir = crate::paths::dir_of(path).to_string();
        let code = self.code.clone();
        let store = code.store.get().filter(|store| store.covers(path));
        Ok(self.compile_text(path, text, &dir, scoped, store).map_err(Arc::new))
    }

    /// `import path`: evaluates a file once per evaluator.
    pub fn import(&mut self, path: &str) -> EvalResult<Value> {
        self.import_file(path, false)
    }

    /// [`Evaluator::import`]; with `framed` (`import` in code), a failure of the file's
    /// evaluation has the reference's frame naming the file.
    pub(crate) fn import_file(&mut self, path: &str, framed: bool) -> EvalResult<Value> {
        let path = self.resolve_import_path(path)?;
        if let Some(value) = self.import_cache.get(&path) {
            return match value {
                Some(value) => Ok(value.clone()),
                None => Err(ErrorKind::InfiniteRecursion.into()),
            };
        }
        let expr = self.compile_file(&path, false)?;
        let env = Env::with_slots(0, None);
        self.import_cache.insert(path.clone(), None);
        match self.eval(expr, &env) {
            Ok(value) => {
                self.import_cache.insert(path, Some(value.clone()));
                Ok(value)
            }
            Err(error) => {
                self.import_cache.remove(&path);
                match framed {
                    true => Err(error.note(None, format!("while evaluating the file '{path}':"))),
                    false => Err(error),
                }
            }
        }
    }

    /// A directory means its `default.nix`.
    pub(crate) fn resolve_import_path(&mut self, path: &str) -> EvalResult<String> {
        if self.io.is_directory(std::path::Path::new(path)) {
            Ok(format!("{}/default.nix", path.trim_end_matches('/')))
        } else {
            Ok(path.to_string())
        }
    }

    /// Evaluates an expression with an empty scope.
    pub fn eval_root(&mut self, expr: &'static Expr) -> EvalResult<Value> {
        let env = Env::with_slots(0, None);
        self.eval(expr, &env)
    }

    /// A value for an expression without evaluating it: constants and variables are passed
    /// through, anything else becomes a thunk.
    #[inline(always)]
    pub(crate) fn lazy(&mut self, expr: &'static Expr, env: &Env) -> Value {
        match expr {
            Expr::Int(n) => Value::Int(*n),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => self.literal(s),
            Expr::Path(p) => Value::Path(Rc::new(p.to_string())),
            Expr::Global(index) => self.globals[*index as usize].clone(),
            Expr::Var { depth, slot, .. } => lookup(env, *depth, *slot),
            // The reference makes no thunk for `[ ]` either: lazy output prints it as is.
            Expr::List(items) if items.is_empty() => Value::List(crate::value::List::new(Vec::new())),
            Expr::BinOp(..) if self.speculate => match speculate_int_op(expr, env) {
                Some(value) => value,
                None => Thunk::pending(expr, env.clone()),
            },
            Expr::Lambda(..) | Expr::Select(..) if self.speculate => lazy_other(expr, env),
            _ => Thunk::pending(expr, env.clone()),
        }
    }

    /// An argument that the builtin it is passed to forces first ([`Forces`]), evaluated
    /// now instead of put in a thunk. A failure is handed to the builtin as a thunk that
    /// fails the same way when forced, so that the builtin reports it as it would have.
    #[inline]
    fn forced_arg(&mut self, expr: &'static Expr, env: &Env) -> Value {
        match expr {
            Expr::Var { depth, slot, .. } => lookup(env, *depth, *slot),
            Expr::Global(index) => self.globals[*index as usize].clone(),
            _ => match self.eval(expr, env) {
                Ok(value) => value,
                Err(error) => Thunk::failed(error),
            },
        }
    }

    /// The value of a string literal: made once per literal and evaluator, then shared (a
    /// literal is evaluated again on every call of the function it is in).
    #[inline]
    fn literal(&mut self, literal: &'static Literal) -> Value {
        match self.literals.get(literal.id as usize) {
            Some(Some(string)) => Value::String(string.clone()),
            _ => self.new_literal(literal),
        }
    }

    #[cold]
    #[inline(never)]
    fn new_literal(&mut self, literal: &'static Literal) -> Value {
        let index = literal.id as usize;
        if self.literals.len() <= index {
            self.literals.resize(index + 1, None);
        }
        let string = NixString::new(literal.text);
        self.literals[index] = Some(string.clone());
        Value::String(string)
    }

    /// An attribute name as a string value: made once per name and evaluator, then shared
    /// (`attrNames` and `mapAttrs` hand out the same names again and again).
    pub(crate) fn name_string(&mut self, name: Symbol) -> NixString {
        self.names.entry(name).or_insert_with(|| NixString::from_symbol(name)).clone()
    }

    /// [`Evaluator::lazy`] for a value that is stored where lazy printing can show it (an
    /// attribute, a binding, a list item): arithmetic stays a thunk even when its operands
    /// are known, so that it prints as `<CODE>` as in the reference.
    #[inline]
    fn lazy_binding(&mut self, expr: &'static Expr, env: &Env) -> Value {
        match expr {
            Expr::BinOp(..) | Expr::Lambda(..) | Expr::Select(..) => Thunk::pending(expr, env.clone()),
            _ => self.lazy(expr, env),
        }
    }

    /// A list literal's value.
    #[inline(never)]
    fn build_list(&mut self, items: &'static [Expr], env: &Env) -> Value {
        Value::List(crate::value::List::from_exact(items.len(), items.iter().map(|item| self.lazy_binding(item, env))))
    }

    /// Forces a value to weak head normal form.
    #[inline]
    pub fn force(&mut self, value: &Value) -> EvalResult<Value> {
        match value {
            Value::Thunk(thunk) => self.force_thunk(thunk),
            other => Ok(other.clone()),
        }
    }

    /// [`Evaluator::force`] of a value the caller owns: no copy when it is not a thunk.
    #[inline]
    pub fn force_owned(&mut self, value: Value) -> EvalResult<Value> {
        match value {
            Value::Thunk(thunk) => self.force_thunk(&thunk),
            other => Ok(other),
        }
    }

    /// The forced value of a variable, without copying the thunk handle when the thunk is
    /// already evaluated (the common case on every variable access).
    #[inline]
    fn force_var(&mut self, env: &Env, depth: u32, slot: u32) -> EvalResult<Value> {
        let Some(scope) = scope_at(env, depth) else { return Ok(Value::Null) };
        match scope.value_or_thunk(slot as usize) {
            Ok(value) => Ok(value),
            Err(pending) => {
                let value = self.force_thunk(&pending)?;
                // The slot holds the value from now on: later reads skip the thunk, which
                // is freed once nothing else holds it. Not a list: the reference prints a
                // list met again through the same variable as «repeated», which takes the
                // thunk to tell.
                if !matches!(value, Value::List(_)) {
                    scope.set(slot as usize, value.clone());
                }
                Ok(value)
            }
        }
    }

    fn force_thunk(&mut self, thunk: &Thunk) -> EvalResult<Value> {
        if let Some(value) = thunk.0.done() {
            return Ok(value);
        }
        let state = thunk.0.replace(ThunkState::Blackhole);
        self.eval_depth += 1;
        if self.eval_depth > MAX_EVAL_DEPTH {
            self.eval_depth -= 1;
            thunk.0.replace(state);
            return Err(ErrorKind::DepthLimit.into());
        }
        let result = match &state {
            ThunkState::Pending(expr, env) => self.eval(expr, env),
            ThunkState::Apply(call) => self.call_with(&call.0, call.1.clone()),
            ThunkState::ApplyIndex(closure, index) => match closure.def.param {
                Param::Ident(_) => {
                    self.run_body(closure.def, || Env::one(Value::Int(*index), Some(closure.env.clone())))
                }
                _ => self.call(Value::Lambda(closure.clone()), &[Value::Int(*index)], None),
            },
            ThunkState::InheritFromThunk(source, attr) => match self.force_thunk(source) {
                Ok(value) => self.select_inherited(&value, attr),
                Err(error) => Err(error),
            },
            ThunkState::InheritFromAttrs(source, attr) => self.select_inherited_from(source, attr),
            ThunkState::Native(_) => return self.force_native(thunk, state),
            ThunkState::Blackhole => Err(ErrorKind::InfiniteRecursion.into()),
            ThunkState::Done(value) => Ok(value.clone()),
        };
        self.eval_depth -= 1;
        match result {
            Ok(value) => {
                finish_thunk(thunk, &value);
                Ok(value)
            }
            Err(error) => Err(restore_failed(thunk, Some(state), error)),
        }
    }

    /// [`Evaluator::force_thunk`] of a thunk computed by native code, which is consumed:
    /// a failure is kept as a thunk failing the same way.
    #[cold]
    #[inline(never)]
    fn force_native(&mut self, thunk: &Thunk, state: ThunkState) -> EvalResult<Value> {
        let result = match state {
            ThunkState::Native(compute) => compute(self),
            _ => Err(EvalError::msg("internal error: a thunk's native code went missing")),
        };
        self.eval_depth -= 1;
        match result {
            Ok(value) => {
                finish_thunk(thunk, &value);
                Ok(value)
            }
            Err(error) => Err(restore_failed(thunk, None, error)),
        }
    }

    /// Evaluates an expression to weak head normal form.
    pub fn eval(&mut self, expr: &'static Expr, env: &Env) -> EvalResult<Value> {
        match expr {
            Expr::Int(n) => Ok(Value::Int(*n)),
            Expr::Float(f) => Ok(Value::Float(*f)),
            Expr::Str(s) => Ok(self.literal(s)),
            Expr::Path(p) => Ok(Value::Path(Rc::new(p.to_string()))),
            Expr::Global(index) => {
                let value = self.globals[*index as usize].clone();
                self.force_owned(value)
            }
            Expr::Var { depth, slot, .. } => match self.force_var(env, *depth, *slot) {
                Ok(value) => Ok(value),
                Err(error) => Err(variable_failed(error, expr)),
            },
            Expr::WithVar { name, withs, span, global } => self.with_var(*name, withs, *global, env, *span),
            Expr::Interp(parts, span) => self.interpolate(parts, env, *span).map_err(|e| e.at(*span)),
            Expr::PathInterp(parts, span) => self.path_interpolate(parts, env, *span).map_err(|e| e.at(*span)),
            Expr::List(items) => Ok(self.build_list(items, env)),
            Expr::Attrs(def) => self.build_attrs(def, env),
            Expr::Let(def, body) => {
                let scope = self.rec_scope(def, env)?;
                let result = self.eval(body, &scope);
                scope.release();
                result
            }
            Expr::Lambda(def) => Ok(Value::Lambda(Shared::new(Closure { def, env: env.clone() }))),
            Expr::Apply(func, args, span) => self.apply(func, args, *span, env),
            Expr::Select(target, path, default, span) => self.select(target, path, default.as_deref(), env, *span),
            Expr::HasAttr(target, path, span) => self.has_attr(target, path, env).map_err(|e| e.at(*span)),
            Expr::If(cond, then, other, span) => {
                const FRAME: &str = "while evaluating a branch condition";
                let cond = self.eval(cond, env).map_err(|e| e.note(Some(*span), FRAME))?;
                // A Boolean holds nothing: forgetting it skips a call to drop.
                let branch = match cond {
                    Value::Bool(true) => then,
                    Value::Bool(false) => other,
                    other => return Err(type_error("a Boolean", &other).at(*span).note(Some(*span), FRAME)),
                };
                std::mem::forget(cond);
                self.eval(branch, env)
            }
            Expr::Assert(cond, body, text, span) => {
                const FRAME: &str = "in the condition of the assert statement";
                match self.eval(cond, env).map_err(|e| e.note(Some(*span), FRAME))? {
                    Value::Bool(true) => self.eval(body, env),
                    Value::Bool(false) => Err(self.assertion_failure(cond, text, env, *span)),
                    other => Err(type_error("a Boolean", &other).at(*span).note(Some(*span), FRAME)),
                }
            }
            Expr::With(namespace, body, _) => {
                let namespace = self.lazy(namespace, env);
                let scope = Env::one(namespace, Some(env.clone()));
                self.eval(body, &scope)
            }
            Expr::Not(operand, span) => {
                const FRAME: &str = "in the argument of the not operator";
                match self.eval(operand, env).map_err(|e| e.note(Some(*span), FRAME))? {
                    Value::Bool(b) => Ok(Value::Bool(!b)),
                    other => Err(type_error("a Boolean", &other).at(*span).note(Some(*span), FRAME)),
                }
            }
            // `-e` is `__sub 0 e` in the reference.
            Expr::Negate(operand, span) => match self.eval(operand, env) {
                Ok(value) => crate::ops::arith(self, BinOp::Sub, Value::Int(0), value),
                Err(error) => Err(error),
            }
            .map_err(|e| operator_failed(BinOp::Sub, e, *span)),
            Expr::BinOp(op, lhs, rhs, span, starts) => self.binop(*op, (lhs, rhs), env, *span, *starts),
            Expr::CurPos(span) => Ok(self.position_attrs(*span)),
        }
    }

    /// `f a b …`: the arguments as thunks, or computed at once where the callee forces
    /// them first. Kept out of [`Evaluator::eval`], whose every call would otherwise save
    /// and restore the registers a call needs.
    #[inline(never)]
    fn apply(&mut self, func: &'static Expr, args: &'static [Expr], span: Span, env: &Env) -> EvalResult<Value> {
        let func = self.eval(func, env)?;
        match args {
            // Most calls pass one or two arguments: no collection needed.
            [arg] => {
                let arg = match &func {
                    Value::PrimOp(op) if op.arity == 1 && op.forces == Forces::First => self.forced_arg(arg, env),
                    _ => self.lazy(arg, env),
                };
                match self.call_one(func, arg, span) {
                    Err(error) => Err(positioned_overflow(error, span)),
                    done => done,
                }
            }
            [first, second] => {
                let pair = match &func {
                    Value::PrimOp(op) if op.arity == 2 && op.forces == Forces::First => {
                        [self.forced_arg(first, env), self.lazy(second, env)]
                    }
                    Value::PrimOp(op) if op.arity == 2 && op.forces == Forces::Second => {
                        [self.lazy(first, env), self.forced_arg(second, env)]
                    }
                    _ => [self.lazy(first, env), self.lazy(second, env)],
                };
                self.call_two(func, pair, span)
            }
            // A builtin of three arguments given all three (`substring`, `foldl'`,
            // `replaceStrings`): no vector for them.
            [first, second, third] if matches!(&func, Value::PrimOp(op) if op.arity == 3) => {
                let args = [self.lazy(first, env), self.lazy(second, env), self.lazy(third, env)];
                match func {
                    Value::PrimOp(op) => self.call_primop(op, &args, span),
                    func => self.call(func, &args, Some(span)),
                }
            }
            _ => {
                let args: Vec<Value> = args.iter().map(|arg| self.lazy(arg, env)).collect();
                self.call(func, &args, Some(span))
            }
        }
    }

    /// The error of a failed `assert`; for `assert a == b` it explains the difference.
    fn assertion_failure(&mut self, cond: &'static Expr, text: &str, env: &Env, span: Span) -> EvalError {
        if let Expr::BinOp(BinOp::Eq, lhs, rhs, _, _) = cond {
            let left = self.lazy(lhs, env);
            let right = self.lazy(rhs, env);
            match crate::ops::explain_inequality(self, &left, &right) {
                Ok(Some(inequality)) => {
                    let mut error = EvalError::new(ErrorKind::AssertionFailed(text.to_string()))
                        .with_message(inequality.reason)
                        .unpositioned();
                    for (at, frame) in inequality.frames {
                        error = error.note(at, frame);
                    }
                    return error.note(Some(span), format!("while evaluating the condition of the assertion '{text}'"));
                }
                Ok(None) => {}
                Err(error) => return error,
            }
        }
        EvalError::new(ErrorKind::AssertionFailed(text.to_string())).at(span)
    }

    #[inline(never)]
    fn binop(
        &mut self,
        op: BinOp,
        (lhs, rhs): (&'static Expr, &'static Expr),
        env: &Env,
        span: Span,
        starts: OperatorStarts,
    ) -> EvalResult<Value> {
        if matches!(op, BinOp::And | BinOp::Or | BinOp::Impl) {
            return self.boolean_binop(op, (lhs, rhs), env, span);
        }
        match self.binop_values(op, (lhs, rhs), env, span, starts) {
            Ok(value) => Ok(value),
            Err(error) => Err(operator_failed(op, error, span)),
        }
    }

    /// An operand of `//`, which must be a set: what fails in it is reported within the
    /// operand's frame at `at`, as in the reference.
    fn update_operand(&mut self, expr: &'static Expr, env: &Env, at: Span, frame: &'static str) -> EvalResult<Value> {
        match self.eval(expr, env) {
            Ok(set @ Value::Attrs(_)) => Ok(set),
            Ok(other) => Err(type_error("a set", &other).unpositioned().note(Some(at), frame)),
            Err(error) => Err(error.note(Some(at), frame)),
        }
    }

    /// `&&`, `||` and `->`.
    #[inline(never)]
    fn boolean_binop(
        &mut self,
        op: BinOp,
        (lhs, rhs): (&'static Expr, &'static Expr),
        env: &Env,
        span: Span,
    ) -> EvalResult<Value> {
        // The operand of a Boolean operator: anything failing in it is reported within
        // the operator's frame, as in the reference.
        let operand = |ev: &mut Evaluator, expr: &'static Expr, frame: &'static str| -> EvalResult<bool> {
            match ev.eval(expr, env) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(type_error("a Boolean", &other).at(span).note(Some(span), frame)),
                Err(error) => Err(error.note(Some(span), frame)),
            }
        };
        match op {
            BinOp::And => Ok(Value::Bool(
                operand(self, lhs, "in the left operand of the AND (&&) operator")?
                    && operand(self, rhs, "in the right operand of the AND (&&) operator")?,
            )),
            BinOp::Or => Ok(Value::Bool(
                operand(self, lhs, "in the left operand of the OR (||) operator")?
                    || operand(self, rhs, "in the right operand of the OR (||) operator")?,
            )),
            _ => Ok(Value::Bool(
                !operand(self, lhs, "in the left operand of the IMPL (->) operator")?
                    || operand(self, rhs, "in the right operand of the IMPL (->) operator")?,
            )),
        }
    }

    /// [`Evaluator::binop`] of an operator that evaluates both operands.
    #[inline]
    fn binop_values(
        &mut self,
        op: BinOp,
        (lhs, rhs): (&'static Expr, &'static Expr),
        env: &Env,
        span: Span,
        starts: OperatorStarts,
    ) -> EvalResult<Value> {
        // `//`, `<=` and `>` evaluate their right operand first, as the reference does
        // (`a <= b` is `!(b < a)` there, `a > b` is `b < a`): which error wins, and
        // whether it is catchable, depends on it.
        let (left, right) = if op == BinOp::Update {
            // `//` wants its right operand a set before it evaluates the left one.
            let at = Span { file: span.file, start: starts.rhs };
            let right = self.update_operand(rhs, env, at, "in the right operand of the update (//) operator")?;
            (self.update_operand(lhs, env, span, "in the left operand of the update (//) operator")?, right)
        } else if matches!(op, BinOp::LessEq | BinOp::Greater) {
            let right = self.eval(rhs, env)?;
            (self.eval(lhs, env)?, right)
        } else if op == BinOp::Add {
            // A first operand that is not a number, a path or a string is made a string
            // before the second is evaluated, as the reference does: its error wins.
            let left = match self.eval(lhs, env)? {
                left @ (Value::Int(_) | Value::Float(_) | Value::Path(_) | Value::String(_)) => left,
                other => crate::ops::coerce_to_string(self, &other, crate::ops::Coerce::Interpolation)
                    .map(Value::String)
                    .map_err(|e| e.context(Some(span), crate::ops::PATH_SEGMENT))?,
            };
            (left, self.eval(rhs, env)?)
        } else {
            (self.eval(lhs, env)?, self.eval(rhs, env)?)
        };
        if let (Value::Int(a), Value::Int(b)) = (&left, &right) {
            if let Some(value) = int_op(op, *a, *b) {
                // Integers hold nothing: forgetting them skips two calls to drop.
                std::mem::forget((left, right));
                return Ok(value);
            }
        }
        if op == BinOp::Add {
            return crate::ops::add_at(self, left, right, span, starts);
        }
        match crate::ops::binary(self, op, left, right) {
            Ok(value) => Ok(value),
            Err(error) => Err(binop_failed(op, error, span)),
        }
    }

    #[inline(never)]
    fn with_var(
        &mut self,
        name: Symbol,
        withs: &[(u32, Span)],
        global: Option<u32>,
        env: &Env,
        span: Span,
    ) -> EvalResult<Value> {
        for &(depth, with) in withs {
            let namespace = lookup(env, depth, 0);
            let namespace = self.force_owned(namespace).map_err(|e| e.at(span))?;
            let Value::Attrs(attrs) = namespace else {
                return Err(with_not_a_set(&namespace, with));
            };
            if let Some(value) = attrs.get(name) {
                let value = value.clone();
                return self.force_owned(value);
            }
        }
        if let Some(index) = global {
            let value = self.globals[index as usize].clone();
            return self.force_owned(value);
        }
        Err(EvalError::new(ErrorKind::UndefinedVariable(name.to_string())).at(span))
    }

    /// `"…${e}…"`: the pieces are coerced first, then written straight into the string's
    /// block, which is allocated once, at its exact size.
    #[inline(never)]
    fn interpolate(&mut self, parts: &'static [StrPart], env: &Env, span: Span) -> EvalResult<Value> {
        let mut pieces: smallvec::SmallVec<[Piece; 4]> = smallvec::SmallVec::new();
        let mut len = 0usize;
        let mut with_context = false;
        for part in parts {
            match part {
                StrPart::Literal(literal) => len += literal.len(),
                StrPart::Interp(expr, start) => {
                    let piece = match self.to_string_call(expr) {
                        Some((arg, call_span)) => self.coerced_to_string_piece(arg, env).map_err(|e| {
                            e.context(None, builtins::strings::TO_STRING_ARG).in_builtin("toString", Some(call_span))
                        }),
                        None => self.eval(expr, env).and_then(|value| match value {
                            // A string is the piece itself: no handle taken and dropped.
                            Value::String(s) => Ok(Piece::Str(s)),
                            value => crate::ops::coerce_to_string(self, &value, crate::ops::Coerce::Interpolation)
                                .map(Piece::Str),
                        }),
                    }
                    .map_err(|e| e.context(Some(Span { file: span.file, start: *start }), crate::ops::PATH_SEGMENT))?;
                    len = len.saturating_add(piece.as_str().len());
                    with_context |= matches!(&piece, Piece::Str(s) if s.has_context());
                    pieces.push(piece);
                }
            }
        }
        let context = with_context.then(|| Box::new(pieces.iter().flat_map(Piece::context).cloned().collect()));
        let string = NixString::build(len, context, |text| {
            let mut next_piece = pieces.iter();
            for part in parts {
                match part {
                    StrPart::Literal(literal) => text.push(literal),
                    StrPart::Interp(..) => text.push(next_piece.next().map_or("", Piece::as_str)),
                }
            }
        });
        Ok(Value::String(string))
    }

    /// The argument and span of `toString arg`, when the function is the builtin itself.
    #[inline]
    fn to_string_call(&self, expr: &'static Expr) -> Option<(&'static Expr, Span)> {
        match expr {
            Expr::Apply(func, args, span) => match (&**func, &**args) {
                (Expr::Global(index), [arg]) => match self.globals.get(*index as usize) {
                    Some(Value::PrimOp(op)) if builtins::is_to_string(op) => Some((arg, *span)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// `${toString arg}` without the call, and an integer's digits without a string of its
    /// own: what the builtin would give, the same errors included (the caller places them
    /// at the call, as a builtin's are).
    fn coerced_to_string_piece(&mut self, arg: &'static Expr, env: &Env) -> EvalResult<Piece> {
        let value = self.eval(arg, env)?;
        if let Value::Int(n) = value {
            let mut digits = [0u8; 20];
            let start = digits.len() - crate::ops::int_text(n, &mut digits).len();
            return Ok(Piece::Digits(digits, start as u8));
        }
        crate::ops::coerce_to_string(self, &value, crate::ops::Coerce::ToString).map(Piece::Str)
    }

    #[inline(never)]
    fn path_interpolate(&mut self, parts: &'static [StrPart], env: &Env, span: Span) -> EvalResult<Value> {
        let mut text = String::new();
        for part in parts {
            match part {
                StrPart::Literal(literal) => text.push_str(literal),
                StrPart::Interp(expr, start) => {
                    let value = self.eval(expr, env)?;
                    let piece =
                        crate::ops::coerce_to_string(self, &value, crate::ops::Coerce::PathPart).map_err(|e| {
                            e.context(Some(Span { file: span.file, start: *start }), crate::ops::PATH_SEGMENT)
                        })?;
                    if piece.has_context() {
                        return Err(EvalError::msg(
                            "a string that refers to a store path cannot be appended to a path",
                        ));
                    }
                    text.push_str(piece.as_str());
                }
            }
        }
        Ok(Value::Path(Rc::from(canonicalize(&text))))
    }

    #[inline(never)]
    fn build_attrs(&mut self, def: &'static AttrsDef, env: &Env) -> EvalResult<Value> {
        if def.rec {
            let scope = self.rec_scope(def, env)?;
            let entries = scope.with(|slots| {
                Attrs::from_sorted_iter(
                    def.statics.len(),
                    def.statics.iter().zip(slots.iter()).map(|(attr, value)| Attr {
                        name: attr.name,
                        value: value.clone(),
                        pos: attr.pos,
                    }),
                )
            });
            let attrs = self.apply_overrides(def, &scope, entries)?;
            return self.add_dynamics(attrs, def, &scope);
        }
        let sources: Vec<Value> = def.inherit_from.iter().map(|e| self.lazy(e, env)).collect();
        let entries = Attrs::from_sorted_iter(
            def.statics.len(),
            def.statics.iter().map(|attr| {
                let value = match &attr.value {
                    AttrValue::Expr(expr) => self.lazy_binding(expr, env),
                    AttrValue::InheritFrom(idx) => self.inherit_from(&sources[*idx], attr),
                };
                Attr { name: attr.name, value, pos: attr.pos }
            }),
        );
        // Most sets have no `${…}` names: no call for them.
        if def.dynamics.is_empty() {
            return Ok(Value::attrs(entries));
        }
        self.add_dynamics(entries, def, env)
    }

    fn add_dynamics(&mut self, attrs: Attrs, def: &'static AttrsDef, env: &Env) -> EvalResult<Value> {
        if def.dynamics.is_empty() {
            return Ok(Value::attrs(attrs));
        }
        let mut entries = attrs.into_entries();
        for dynamic in &def.dynamics {
            let name = self.eval(&dynamic.name, env)?;
            let name = match name {
                Value::Null => continue,
                Value::String(s) => {
                    crate::builtins::reject_context(&s).map_err(|e| dynamic_name_failed(e, dynamic.span))?;
                    s.to_symbol()
                }
                other => return Err(dynamic_name_failed(type_error("a string", &other), dynamic.span)),
            };
            if let Some(existing) = entries.iter().find(|attr| attr.name == name) {
                let location = existing
                    .pos
                    .span()
                    .and_then(|p| SourceMap::global().location(p))
                    .map_or(String::new(), |l| format!(" at {}:{}:{}", l.file, l.line, l.column));
                return Err(EvalError::msg(format!(
                    "dynamic attribute '{}' already defined{location}",
                    crate::print::shown_attr_name(name.as_str())
                ))
                .at(dynamic.span));
            }
            let value = self.lazy_binding(&dynamic.value, env);
            entries.push(Attr { name, value, pos: dynamic.pos });
        }
        Ok(Value::attrs(Attrs::from_unsorted(entries)))
    }

    /// Builds the scope of a `rec` set or `let`: one slot per static attribute.
    fn rec_scope(&mut self, def: &'static AttrsDef, env: &Env) -> EvalResult<Env> {
        // The slots are filled below, once their thunks can name the scope.
        let scope = Env::with_slots(def.statics.len(), Some(env.clone()));
        // A source from outside the scope (`inherit (lib) …`, `inherit (builtins) …`) is
        // looked up now; anything else may read slots not filled yet.
        let sources: Vec<Value> = def
            .inherit_from
            .iter()
            .map(|e| match e {
                Expr::Var { depth, slot, .. } if *depth > 0 => lookup(env, depth - 1, *slot),
                Expr::Global(index) => self.globals[*index as usize].clone(),
                _ => Thunk::pending(e, scope.clone()),
            })
            .collect();
        // No value here reads this scope's slots while they are filled: its own variables
        // become thunks, and `lazy_binding` does not compute arithmetic ahead.
        for (idx, attr) in def.statics.iter().enumerate() {
            let value = match &attr.value {
                AttrValue::Expr(expr) => match expr {
                    Expr::Var { depth, slot, .. } if *depth > 0 => lookup(env, depth - 1, *slot),
                    // Filled below with the slot it names.
                    Expr::Var { .. } if def.aliases.iter().any(|alias| alias.0 as usize == idx) => continue,
                    Expr::Var { .. } => Thunk::pending(expr, scope.clone()),
                    _ => self.lazy_binding(expr, &scope),
                },
                AttrValue::InheritFrom(idx) => self.inherit_from(&sources[*idx], attr),
            };
            scope.set(idx, value);
        }
        // In the reference's order, so that a binding naming an alias gets what it holds.
        for &(slot, named) in &def.aliases {
            scope.set(slot as usize, scope.get(named as usize).unwrap_or(Value::Null));
        }
        Ok(scope)
    }

    /// `rec { __overrides = { … }; … }`: the overriding attributes replace the set's own,
    /// in the scope too (a legacy feature the reference still honours).
    fn apply_overrides(&mut self, def: &'static AttrsDef, scope: &Env, attrs: Attrs) -> EvalResult<Attrs> {
        let overrides_sym = Symbol::intern("__overrides");
        let Some(slot) = def.statics.iter().position(|a| a.name == overrides_sym) else { return Ok(attrs) };
        let overrides = scope.get(slot).unwrap_or(Value::Null);
        let overrides = match self.force(&overrides)? {
            Value::Attrs(overrides) => overrides,
            other => {
                return Err(type_error("a set", &other)
                    .unpositioned()
                    .note(None, "while evaluating the `__overrides` attribute"))
            }
        };
        for attr in overrides.iter() {
            if let Some(idx) = def.statics.iter().position(|a| a.name == attr.name) {
                scope.set(idx, attr.value.clone());
            }
        }
        Ok(attrs.update(&overrides))
    }

    fn select(
        &mut self,
        target: &'static Expr,
        path: &'static [AttrKey],
        default: Option<&'static Expr>,
        env: &Env,
        span: Span,
    ) -> EvalResult<Value> {
        let value = self.eval(target, env)?;
        // Where the last attribute found was defined: what fails after it is reported
        // within its frame, as in the reference.
        let mut defined = None;
        match self.select_in(value, path, default, env, span, &mut defined) {
            Ok(value) => Ok(value),
            Err(error) => match defined.and_then(Pos::span) {
                Some(pos) => Err(self.selection_frame(error, path, pos, env)),
                None => Err(error),
            },
        }
    }

    /// [`Evaluator::select`] from the target's value, keeping in `defined` where the last
    /// attribute found was defined.
    #[inline]
    fn select_in(
        &mut self,
        mut value: Value,
        path: &'static [AttrKey],
        default: Option<&'static Expr>,
        env: &Env,
        span: Span,
        defined: &mut Option<Pos>,
    ) -> EvalResult<Value> {
        for key in path {
            let name = self.attr_name(key, env)?;
            // Forced where it lies: `value` holds the set meanwhile, so the attribute's
            // thunk needs no handle of its own.
            let found = match &value {
                Value::Attrs(attrs) => match attrs.get_entry(name) {
                    Some(found) => {
                        *defined = Some(found.pos);
                        // A value that needs itself is reported where the attribute is
                        // defined, as the reference reports it.
                        let pos = found.pos;
                        Some(
                            self.force(&found.value)
                                .map_err(|e| positioned_recursion(e, pos.span().unwrap_or(span)))?,
                        )
                    }
                    None => None,
                },
                _ if default.is_some() => None,
                other => {
                    return Err(type_error("a set", other)
                        .unpositioned()
                        .note(Some(span), "while selecting an attribute"))
                }
            };
            match found {
                Some(next) => value = next,
                None => {
                    return match default {
                        Some(default) => self.eval(default, env),
                        None => Err(self.missing_attr(name, &value).at(span)),
                    }
                }
            }
        }
        Ok(value)
    }

    /// The frame of a selection `e.a.b` that failed after it found an attribute defined at
    /// `pos`: the path selected, named as the reference names it.
    #[cold]
    #[inline(never)]
    fn selection_frame(&mut self, error: EvalError, path: &'static [AttrKey], pos: Span, env: &Env) -> EvalError {
        let mut shown = Vec::with_capacity(path.len());
        for key in path {
            match self.attr_name(key, env) {
                Ok(name) => shown.push(crate::print::shown_attr_name(name.as_str())),
                // A name that cannot be had is shown as its expression, as the reference
                // shows it; nxe does so for a variable, and gives up the frame otherwise.
                Err(_) => match key {
                    AttrKey::Dynamic(Expr::Var { span, .. }) => match variable_name(*span) {
                        Some(name) => shown.push(format!("\"${{{name}}}\"")),
                        None => return error,
                    },
                    _ => return error,
                },
            }
        }
        error.note(Some(pos), format!("while evaluating the attribute '{}'", shown.join(".")))
    }

    /// The value of `inherit (source) name`: when the source is already a set that has the
    /// name, its value there (a thunk shared, not a new one that would select it); otherwise
    /// a thunk selecting it when forced (which reports a missing name then). Only where
    /// nothing prints unevaluated values: a printed `inherit` shows `<CODE>`, as a new
    /// thunk does in the reference.
    #[inline]
    fn inherit_from(&self, source: &Value, attr: &'static StaticAttr) -> Value {
        if self.speculate {
            let found = match source {
                Value::Attrs(attrs) => attrs.get(attr.name).cloned(),
                Value::Thunk(thunk) => match thunk.value_if_done() {
                    Some(Value::Attrs(attrs)) => attrs.get(attr.name).cloned(),
                    _ => None,
                },
                _ => None,
            };
            if let Some(value) = found {
                return value;
            }
        }
        Thunk::inherit_from(source.clone(), attr)
    }

    /// The attribute `inherit (source) name` takes, from the evaluated source.
    pub(crate) fn select_inherited(&mut self, source: &Value, attr: &'static StaticAttr) -> EvalResult<Value> {
        match source {
            Value::Attrs(attrs) => self.select_inherited_from(attrs, attr),
            other => Err(type_error("a set", other).at(attr.span)),
        }
    }

    fn select_inherited_from(&mut self, attrs: &Attrs, attr: &'static StaticAttr) -> EvalResult<Value> {
        match attrs.get(attr.name) {
            Some(found) => self.force(found),
            None => Err(self.missing_attr(attr.name, &Value::Attrs(attrs.clone())).at(attr.span)),
        }
    }

    /// The error for a missing attribute, with a suggestion of close names like Nix.
    pub(crate) fn missing_attr(&self, name: Symbol, value: &Value) -> EvalError {
        // Named as the reference prints attribute names: quoted unless a plain identifier.
        let error = EvalError::new(ErrorKind::AttributeMissing(crate::print::shown_attr_name(name.as_str())));
        match value {
            Value::Attrs(attrs) => error.suggesting(name.as_str(), attrs.iter().map(|attr| attr.name.as_str())),
            _ => error,
        }
    }

    #[inline(never)]
    fn has_attr(&mut self, target: &'static Expr, path: &'static [AttrKey], env: &Env) -> EvalResult<Value> {
        let mut value = self.eval(target, env)?;
        for (idx, key) in path.iter().enumerate() {
            let name = self.attr_name(key, env)?;
            let Value::Attrs(attrs) = &value else { return Ok(Value::Bool(false)) };
            let next = match attrs.get(name) {
                Some(_) if idx + 1 == path.len() => return Ok(Value::Bool(true)),
                Some(next) => self.force(next)?,
                None => return Ok(Value::Bool(false)),
            };
            value = next;
        }
        Ok(Value::Bool(true))
    }

    #[inline]
    fn attr_name(&mut self, key: &'static AttrKey, env: &Env) -> EvalResult<Symbol> {
        match key {
            AttrKey::Static(name) => Ok(*name),
            AttrKey::Dynamic(expr) => self.dynamic_attr_name(expr, env),
        }
    }

    #[inline(never)]
    fn dynamic_attr_name(&mut self, expr: &'static Expr, env: &Env) -> EvalResult<Symbol> {
        // A variable that already holds a string without context (`.${name}` over
        // `attrNames`) is read where it lies: no evaluation, and no handle taken and dropped.
        if let Expr::Var { depth, slot, .. } = expr {
            if let Some(scope) = scope_at(env, *depth) {
                let name = scope.with(|slots| match slots.get(*slot as usize) {
                    Some(Value::String(s)) if !s.has_context() => Some(s.to_symbol()),
                    _ => None,
                });
                if let Some(name) = name {
                    return Ok(name);
                }
            }
        }
        match self.eval(expr, env)? {
            Value::String(s) => {
                crate::builtins::reject_context(&s).map_err(|e| attr_name_failed(e, expr, false))?;
                Ok(s.to_symbol())
            }
            other => Err(attr_name_failed(type_error("a string", &other), expr, true)),
        }
    }

    /// Applies a function value to arguments.
    #[inline(never)]
    pub fn call(&mut self, func: Value, args: &[Value], span: Option<Span>) -> EvalResult<Value> {
        if self.eval_depth >= MAX_EVAL_DEPTH {
            return Err(ErrorKind::DepthLimit.into());
        }
        self.eval_depth += 1;
        let result = self.call_inner(func, args, span);
        self.eval_depth -= 1;
        result
    }

    /// [`Evaluator::call`] of an evaluated function with one argument, for builtins and
    /// lazy applications: a function of one parameter takes it into its scope without a
    /// copy, and without the general path's handling of several arguments.
    #[inline]
    pub(crate) fn call_with(&mut self, func: &Value, arg: Value) -> EvalResult<Value> {
        match func {
            Value::Lambda(closure) if matches!(closure.def.param, Param::Ident(_)) => {
                self.run_body(closure.def, || Env::one(arg, Some(closure.env.clone())))
            }
            _ => self.call(func.clone(), std::slice::from_ref(&arg), None),
        }
    }

    /// [`Evaluator::call_with`] with two arguments: a function `a: b: …` takes them into
    /// its scopes directly (`foldl'`, `sort`, `mapAttrs`).
    #[inline]
    pub(crate) fn call_with_two(
        &mut self,
        func: &Value,
        first: Value,
        second: Value,
        at: Option<Span>,
    ) -> EvalResult<Value> {
        if let Value::Lambda(closure) = func {
            if let Some(inner) = curried_pair(closure) {
                return self.run_body(inner, || Env::one(second, Some(Env::one(first, Some(closure.env.clone())))));
            }
        }
        self.call(func.clone(), &[first, second], at)
    }

    /// [`Evaluator::call_with_two`] for a builtin that calls one function again and again
    /// (`foldl'`, `sort`): when nothing kept the scopes of a call (no thunk or function
    /// made in it outlives it), the next call refills them instead of making new ones.
    /// `spare` belongs to one function: it must not be used with another.
    pub(crate) fn call_with_two_again(
        &mut self,
        func: &Value,
        first: Value,
        second: Value,
        spare: &mut SpareScopes,
    ) -> EvalResult<Value> {
        if let Value::Lambda(closure) = func {
            if let Some(inner) = curried_pair(closure) {
                let scope = match spare.0.take() {
                    Some(scope) => {
                        // Both unique (kept only then): no cycle can pass through them.
                        if let Some(outer) = scope.parent() {
                            outer.refill(0, first);
                        }
                        scope.refill(0, second);
                        scope
                    }
                    None => Env::one(second, Some(Env::one(first, Some(closure.env.clone())))),
                };
                let result = self.run_body_in(inner, &scope);
                if scope.is_unique() && scope.parent().is_some_and(Env::is_unique) {
                    spare.0 = Some(scope);
                }
                return result;
            }
        }
        self.call(func.clone(), &[first, second], None)
    }

    /// [`Evaluator::call`] with one argument, which a function of one parameter takes into
    /// its scope without a copy (most calls in code).
    fn call_one(&mut self, func: Value, arg: Value, span: Span) -> EvalResult<Value> {
        match self.force_owned(func)? {
            Value::Lambda(closure) if matches!(closure.def.param, Param::Ident(_)) => {
                self.run_body(closure.def, || Env::one(arg, Some(closure.env.clone())))
            }
            Value::PrimOp(op) if op.arity == 1 => self.call_primop(op, std::slice::from_ref(&arg), span),
            func => self.call(func, std::slice::from_ref(&arg), Some(span)),
        }
    }

    /// A builtin given exactly its arguments in code, as [`Evaluator::call`] applies it.
    #[inline]
    fn call_primop(&mut self, op: &'static PrimOp, args: &[Value], span: Span) -> EvalResult<Value> {
        if self.eval_depth >= MAX_EVAL_DEPTH {
            return Err(ErrorKind::DepthLimit.into());
        }
        self.eval_depth += 1;
        let result = match (op.func)(self, args, span) {
            Ok(value) => self.force_owned(value),
            Err(error) => Err(error),
        };
        self.eval_depth -= 1;
        result.map_err(|error| builtin_failed(op, args, error, Some(span)))
    }

    /// [`Evaluator::call`] with two arguments, which a function `a: b: …` takes into its
    /// scopes without copies.
    fn call_two(&mut self, func: Value, args: [Value; 2], span: Span) -> EvalResult<Value> {
        let func = self.force_owned(func)?;
        if let Value::Lambda(closure) = &func {
            if let Some(inner) = curried_pair(closure) {
                let [first, second] = args;
                return self.run_body(inner, || Env::one(second, Some(Env::one(first, Some(closure.env.clone())))));
            }
        }
        if let Value::PrimOp(op) = func {
            if op.arity == 2 {
                return self.call_primop(op, &args, span);
            }
        }
        self.call(func, &args, Some(span))
    }

    /// The body of `def` in the scope `scope` makes, counted as a call as
    /// [`Evaluator::call`] counts it.
    #[inline]
    fn run_body(&mut self, def: &'static LambdaDef, scope: impl FnOnce() -> Env) -> EvalResult<Value> {
        self.counted_call(|ev| ev.eval_body(def, scope()))
    }

    /// [`Evaluator::run_body`] in a scope the caller keeps.
    fn run_body_in(&mut self, def: &'static LambdaDef, scope: &Env) -> EvalResult<Value> {
        self.counted_call(|ev| ev.eval_body_in(def, scope))
    }

    /// Runs a function's body (`run`) counted as a call: the depth checks, and every so
    /// many calls whether the evaluation is to stop.
    #[inline(always)]
    fn counted_call(&mut self, run: impl FnOnce(&mut Evaluator) -> EvalResult<Value>) -> EvalResult<Value> {
        if self.eval_depth >= MAX_EVAL_DEPTH {
            return Err(ErrorKind::DepthLimit.into());
        }
        self.eval_depth += 1;
        let result = match self.enter_call() {
            Ok(()) => run(self),
            Err(error) => Err(error),
        };
        self.eval_depth -= 1;
        result
    }

    /// The checks before a function's body runs: the call depth, and every so many calls
    /// whether the evaluation is to stop.
    #[inline]
    fn enter_call(&mut self) -> EvalResult<()> {
        if self.call_depth >= self.settings.max_call_depth {
            return Err(ErrorKind::DepthLimit.into());
        }
        self.calls_until_check -= 1;
        if self.calls_until_check == 0 {
            self.calls_until_check = INTERRUPT_CHECK_INTERVAL;
            if let Some(reason) = self.settings.interrupt.and_then(|interrupt| interrupt()) {
                return Err(ErrorKind::Interrupted(reason).into());
            }
        }
        Ok(())
    }

    fn call_inner(&mut self, func: Value, args: &[Value], span: Option<Span>) -> EvalResult<Value> {
        let mut func = self.force_owned(func)?;
        let mut rest = args;
        while !rest.is_empty() {
            func = match func {
                Value::Lambda(closure) => {
                    let (result, used) = self.call_lambda(&closure, rest, span)?;
                    rest = &rest[used..];
                    result
                }
                Value::PrimOp(op) => {
                    if rest.len() < op.arity {
                        return Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op, args: rest.to_vec() })));
                    }
                    let taken = &rest[..op.arity];
                    let result = (op.func)(self, taken, span.unwrap_or(DUMMY_SPAN));
                    rest = &rest[op.arity..];
                    match result {
                        Ok(value) => self.force_owned(value),
                        Err(error) => Err(error),
                    }
                    .map_err(|error| builtin_failed(op, taken, error, span))?
                }
                Value::PrimOpApp(app) => {
                    let mut all = app.args.clone();
                    let needed = app.op.arity - all.len();
                    let taken = needed.min(rest.len());
                    all.extend_from_slice(&rest[..taken]);
                    rest = &rest[taken..];
                    if all.len() < app.op.arity {
                        return Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op: app.op, args: all })));
                    }
                    let result = (app.op.func)(self, &all, span.unwrap_or(DUMMY_SPAN));
                    match result {
                        Ok(value) => self.force_owned(value),
                        Err(error) => Err(error),
                    }
                    .map_err(|error| builtin_failed(app.op, &all, error, span))?
                }
                Value::Attrs(attrs) if attrs.contains(self.sym.functor) => {
                    // Called where `__functor` is defined, and framed at the call, as in the
                    // reference.
                    let (functor, at) = match attrs.get_entry(self.sym.functor) {
                        Some(entry) => (entry.value.clone(), entry.pos.span().or(span)),
                        None => (Value::Null, span),
                    };
                    let result = match self.call(functor, &[Value::Attrs(attrs.clone())], at) {
                        Ok(inner) => self.call(inner, &rest[..1], at),
                        Err(error) => Err(error),
                    };
                    rest = &rest[1..];
                    result.map_err(|e| functor_failed(e, span))?
                }
                other => {
                    // As the reference says it for every call, from code or from a builtin
                    // (builtins that check their argument first say "expected a function").
                    let error = EvalError::msg(format!(
                        "attempt to call something which is not a function but {}",
                        crate::print::describe(&other)
                    ));
                    return Err(match span {
                        Some(span) => error.at(span),
                        None => error,
                    });
                }
            };
        }
        Ok(func)
    }

    /// Applies a closure to as many of `args` (at least one) as its curried body takes
    /// directly: `a: b: body` applied to two arguments binds both without building the
    /// intermediate function value. Returns the result and how many arguments were used.
    fn call_lambda(&mut self, closure: &Closure, args: &[Value], span: Option<Span>) -> EvalResult<(Value, usize)> {
        self.enter_call()?;
        let mut def: &'static LambdaDef = closure.def;
        let mut parent = closure.env.clone();
        let mut used = 0;
        let scope = loop {
            let arg = args[used].clone();
            used += 1;
            let scope = match &def.param {
                Param::Ident(_) => Env::one(arg, Some(parent)),
                Param::Pattern { formals, ellipsis, bind } => {
                    self.bind_formals(def, formals, *ellipsis, bind.is_some(), arg, &parent, span)?
                }
            };
            match &def.body {
                Expr::Lambda(inner) if used < args.len() => {
                    def = inner;
                    parent = scope;
                }
                _ => break scope,
            }
        };
        self.eval_body(def, scope).map(|value| (value, used))
    }

    /// Evaluates a function body in its new scope, counting the call depth.
    #[inline]
    fn eval_body(&mut self, def: &'static LambdaDef, scope: Env) -> EvalResult<Value> {
        self.eval_body_in(def, &scope)
    }

    /// [`Evaluator::eval_body`] in a scope the caller keeps.
    fn eval_body_in(&mut self, def: &'static LambdaDef, scope: &Env) -> EvalResult<Value> {
        self.call_depth += 1;
        let result = self.eval(&def.body, scope);
        self.call_depth -= 1;
        result.map_err(|error| {
            let name = match def.name {
                Some(name) => format!("while calling '{name}'"),
                None => "while calling anonymous lambda".to_string(),
            };
            error.note_traced(Some(def.span), name)
        })
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn bind_formals(
        &mut self,
        def: &'static LambdaDef,
        formals: &'static [(Symbol, Option<Expr>)],
        ellipsis: bool,
        has_bind: bool,
        arg: Value,
        parent: &Env,
        span: Option<Span>,
    ) -> EvalResult<Env> {
        // As the reference reports them: a failure to get the set within the frame of the
        // call site (when the call is in code), a set missing with the function's frame
        // too, a missing or unexpected argument at the function.
        let from_call_site = |error: EvalError| match span {
            Some(span) => error.note(Some(span), "from call site"),
            None => error,
        };
        let forced = self.force_owned(arg).map_err(from_call_site)?;
        let Value::Attrs(attrs) = &forced else {
            let error = type_error("a set", &forced)
                .unpositioned()
                .note(Some(def.span), "while evaluating the value passed for the lambda argument");
            return Err(from_call_site(error));
        };
        let scope = Env::with_slots(formals.len() + usize::from(has_bind), Some(parent.clone()));
        let mut used = 0;
        for (idx, (name, default)) in formals.iter().enumerate() {
            match attrs.get(*name) {
                Some(value) => {
                    used += 1;
                    scope.set(idx, value.clone());
                }
                None => match default {
                    // A default may name formals bound after it, so it is always a thunk.
                    Some(default) => scope.set(
                        idx,
                        match default {
                            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path(_) | Expr::Global(_) => {
                                self.lazy(default, &scope)
                            }
                            _ => Thunk::pending(default, scope.clone()),
                        },
                    ),
                    None => {
                        let error = EvalError::msg(format!(
                            "function '{}' called without required argument '{name}'",
                            lambda_name(def)
                        ));
                        return Err(error.at(def.span).note(span, "from call site"));
                    }
                },
            }
        }
        if !ellipsis && used < attrs.len() {
            for attr in attrs.iter() {
                if !formals.iter().any(|(name, _)| *name == attr.name) {
                    let error = EvalError::msg(format!(
                        "function '{}' called with unexpected argument '{}'",
                        lambda_name(def),
                        crate::print::shown_attr_name(attr.name.as_str())
                    ));
                    let formal_names = formals.iter().map(|(name, _)| name.as_str());
                    return Err(error
                        .at(def.span)
                        .note(span, "from call site")
                        .suggesting(attr.name.as_str(), formal_names));
                }
            }
        }
        if has_bind {
            scope.set(formals.len(), forced.clone());
        }
        Ok(scope)
    }

    /// `{ file; line; column; }` for a span, as `__curPos` and `unsafeGetAttrPos` give it.
    pub(crate) fn position_attrs(&mut self, span: Span) -> Value {
        let Some(location) = SourceMap::global().location(span) else { return Value::Null };
        let entries = vec![
            Attr { name: Symbol::intern("column"), value: Value::Int(location.column as i64), pos: Pos::NONE },
            Attr { name: Symbol::intern("file"), value: Value::string(location.file), pos: Pos::NONE },
            Attr { name: Symbol::intern("line"), value: Value::Int(location.line as i64), pos: Pos::NONE },
        ];
        Value::attrs(Attrs::from_sorted(entries))
    }

    /// Forces a value and everything inside it (`deepSeq`, `--strict`).
    pub fn force_deep(&mut self, value: &Value) -> EvalResult<Value> {
        let mut seen = rustc_hash::FxHashSet::default();
        let value = self.force(value)?;
        self.force_deep_inner(&value, &mut seen, 0)?;
        Ok(value)
    }

    /// Fails when `extra` more levels of nesting would pass `max-call-depth`: builtins that
    /// walk nested data (`toJSON`, `deepSeq`) count each level as the reference does.
    pub(crate) fn check_nesting(&self, extra: usize) -> EvalResult<()> {
        if self.call_depth + extra >= self.settings.max_call_depth {
            return Err(ErrorKind::DepthLimit.into());
        }
        Ok(())
    }

    /// Each level of nesting counts against `max-call-depth`, as in the reference.
    fn force_deep_inner(
        &mut self,
        value: &Value,
        seen: &mut rustc_hash::FxHashSet<usize>,
        depth: usize,
    ) -> EvalResult<()> {
        if self.call_depth + depth >= self.settings.max_call_depth {
            return Err(ErrorKind::DepthLimit.into());
        }
        match value {
            Value::Attrs(attrs) => {
                if !seen.insert(Attrs::as_ptr(attrs) as usize) {
                    return Ok(());
                }
                // In the order the reference keeps a set's attributes in: that of their
                // names' naming (see `Evaluator::name_ranks`), which decides whose error
                // is reported when several fail. Names it never saw come last.
                let mut order: Vec<(u32, &crate::value::Attr)> = attrs
                    .iter()
                    .map(|attr| (crate::intern_order::rank(attr.name, &self.name_ranks).unwrap_or(u32::MAX), attr))
                    .collect();
                // Stable: names never seen keep their order by name.
                order.sort_by_key(|(rank, _)| *rank);
                for (_, attr) in order {
                    let forced = match self.force(&attr.value) {
                        Ok(inner) => self.force_deep_inner(&inner, seen, depth + 1),
                        Err(error) => Err(error),
                    };
                    forced.map_err(|e| {
                        let pos = attr.pos.span();
                        e.note(
                            pos,
                            format!(
                                "while evaluating the attribute '{}'",
                                crate::print::shown_attr_name(attr.name.as_str())
                            ),
                        )
                    })?;
                }
            }
            Value::List(items) => {
                if !seen.insert(crate::value::List::as_ptr(items) as usize) {
                    return Ok(());
                }
                for (index, item) in items.iter().enumerate() {
                    let forced = match self.force(item) {
                        Ok(inner) => self.force_deep_inner(&inner, seen, depth + 1),
                        Err(error) => Err(error),
                    };
                    forced.map_err(|e| e.note(None, format!("while evaluating list element at index {index}")))?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Integer arithmetic and comparison that cannot fail; `None` on overflow, division by zero
/// and operators that are not about integers (the general path reports those).
#[inline]
fn int_op(op: BinOp, a: i64, b: i64) -> Option<Value> {
    Some(match op {
        BinOp::Less => Value::Bool(a < b),
        BinOp::LessEq => Value::Bool(a <= b),
        BinOp::Greater => Value::Bool(a > b),
        BinOp::GreaterEq => Value::Bool(a >= b),
        BinOp::Eq => Value::Bool(a == b),
        BinOp::NotEq => Value::Bool(a != b),
        _ => Value::Int(int_arith(op, a, b)?),
    })
}

/// `+`, `-`, `*` and `/` on integers; `None` on overflow, division by zero and other
/// operators.
#[inline]
fn int_arith(op: BinOp, a: i64, b: i64) -> Option<i64> {
    match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div => a.checked_div(b),
        _ => None,
    }
}

/// How many operators one speculation may compute.
const SPECULATED_OPS: u32 = 8;

/// The value of integer arithmetic (nested, up to [`SPECULATED_OPS`] operators) and of
/// a comparison of such, over integer constants and the integers `var` knows for variables
/// (by depth and slot): then computing it now cannot fail, diverge or be observed.
/// `None` as soon as an operand is not a known integer or an operation overflows or
/// divides by zero; the general path then evaluates it and reports the error.
#[inline]
fn speculate_int(expr: &Expr, var: &impl Fn(u32, u32) -> Option<i64>) -> Option<Value> {
    let mut budget = SPECULATED_OPS;
    match expr {
        Expr::BinOp(op, lhs, rhs, _, _) => {
            budget -= 1;
            let a = int_tree(lhs, var, &mut budget)?;
            let b = int_tree(rhs, var, &mut budget)?;
            int_op(*op, a, b)
        }
        other => int_tree(other, var, &mut budget).map(Value::Int),
    }
}

/// An operand of [`speculate_int`]: constants and variables inline (the common `n - 1`),
/// nested arithmetic through [`int_tree_nested`].
#[inline(always)]
fn int_tree(expr: &Expr, var: &impl Fn(u32, u32) -> Option<i64>, budget: &mut u32) -> Option<i64> {
    match expr {
        Expr::Int(n) => Some(*n),
        Expr::Var { depth, slot, .. } => var(*depth, *slot),
        Expr::BinOp(..) => int_tree_nested(expr, var, budget),
        _ => None,
    }
}

#[inline(never)]
fn int_tree_nested(expr: &Expr, var: &impl Fn(u32, u32) -> Option<i64>, budget: &mut u32) -> Option<i64> {
    match expr {
        Expr::BinOp(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div), lhs, rhs, _, _) if *budget > 0 => {
            *budget -= 1;
            let a = int_tree(lhs, var, budget)?;
            let b = int_tree(rhs, var, budget)?;
            int_arith(*op, a, b)
        }
        _ => None,
    }
}

/// [`speculate_int`] of `x - 1`, `a + b`, `n < 2`, `(i * 7) / 3` and the like in `env`:
/// saves allocating a thunk (function arguments such as `fib (n - 1)` are the common case).
#[inline]
fn speculate_int_op(expr: &Expr, env: &Env) -> Option<Value> {
    speculate_int(expr, &|depth, slot| evaluated_int(lookup(env, depth, slot)))
}

/// The integer a value is, or a finished thunk holds.
#[inline]
fn evaluated_int(value: Value) -> Option<i64> {
    match value {
        Value::Int(n) => {
            // An integer holds nothing: forgetting it skips a call to drop.
            std::mem::forget(value);
            Some(n)
        }
        Value::Thunk(thunk) => match thunk.value_if_done() {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        },
        _ => None,
    }
}

/// The value of the body of a one-parameter function applied to the integer `arg`, when
/// computing it now cannot fail, diverge or be observed (see [`speculate_int`]; the
/// variables it reads from `parent`, the function's scope, must already be integers):
/// `genList (i: i)` and `lib.range`'s `genList (n: first + n)` then make their elements
/// without a thunk each. `None` when it cannot (an operand not evaluated, an overflow).
#[inline]
pub(crate) fn speculate_applied_index(body: &'static Expr, arg: i64, parent: &Env) -> Option<Value> {
    speculate_int(body, &|depth, slot| match depth {
        0 => Some(arg),
        _ => evaluated_int(lookup(parent, depth - 1, slot)),
    })
}

/// The error of an operator. The reference evaluates some as calls of builtins, which
/// evaluate the operands (`a - b` is `__sub a b`, `a >= b` is `!(__lessThan a b)`): what
/// fails in them is reported within the builtin's frame, at the operator.
#[cold]
#[inline(never)]
fn operator_failed(op: BinOp, error: EvalError, at: Span) -> EvalError {
    let name = match op {
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::Less | BinOp::LessEq | BinOp::Greater | BinOp::GreaterEq => "lessThan",
        _ => return error,
    };
    let error = error.in_builtin(name, Some(at));
    match op {
        BinOp::LessEq | BinOp::GreaterEq => error.note(Some(at), "in the argument of the not operator"),
        _ => error,
    }
}

/// The error of an operator on its operands' values, placed as the reference places it.
#[cold]
#[inline(never)]
fn binop_failed(op: BinOp, error: EvalError, span: Span) -> EvalError {
    match op {
        BinOp::Concat => error.unpositioned().note(Some(span), "while evaluating one of the elements to concatenate"),
        // Within the builtin's frame (see `Evaluator::binop`).
        BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Less | BinOp::LessEq | BinOp::Greater | BinOp::GreaterEq => error,
        _ => error.at(span),
    }
}

/// A dynamic attribute's name that is not a string without context, framed as the
/// reference frames it.
#[cold]
fn dynamic_name_failed(error: EvalError, at: Span) -> EvalError {
    error.unpositioned().note(Some(at), "while evaluating the name of a dynamic attribute")
}

/// The name of the variable used at `span`, read from its source.
fn variable_name(span: Span) -> Option<String> {
    let file = SourceMap::global().file(span.file)?;
    let rest = file.text.get(span.start as usize..)?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))).unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

/// A name in a selection or `?` that is not a string without context, framed as the
/// reference frames it, at the name's expression where the reference has its position (an
/// interpolated string's or a variable's; a literal has none). A name that is no string is
/// also reported there (`positioned`); one with a context is not.
#[cold]
fn attr_name_failed(error: EvalError, name: &Expr, positioned: bool) -> EvalError {
    let at = match name {
        Expr::Var { span, .. } => Some(*span),
        // The parts start after the opening quote (`"` or `''`).
        Expr::Interp(_, span) => {
            let quote = SourceMap::global()
                .file(span.file)
                .and_then(|file| file.text.get(span.start as usize..).map(|rest| rest.starts_with("''")))
                .map_or(1, |two| if two { 2 } else { 1 });
            Some(Span { file: span.file, start: span.start + quote })
        }
        _ => None,
    };
    let error = match at {
        Some(at) if positioned => error.at(at),
        _ => error.unpositioned(),
    };
    error.note(at, "while evaluating an attribute name")
}

/// An infinite recursion not yet placed: placed at `at`, where the value that needs
/// itself was forced, as the reference places it; any other error as it is.
#[cold]
#[inline(never)]
fn positioned_recursion(error: EvalError, at: Span) -> EvalError {
    match error.kind() {
        ErrorKind::InfiniteRecursion => error.at(at),
        _ => error,
    }
}

/// The error of forcing the variable `var`: an infinite recursion not placed yet met the
/// thunk being evaluated right there (anything else between would have placed it or sealed
/// it), and is placed at the variable, as the reference places it.
#[cold]
#[inline(never)]
fn variable_failed(error: EvalError, var: &Expr) -> EvalError {
    match (error.kind(), var) {
        (ErrorKind::InfiniteRecursion, Expr::Var { span, .. }) => error.at(*span),
        _ => error,
    }
}

/// A stack overflow not yet placed: placed at `at`, the call that went too deep, as the
/// reference places it; any other error as it is.
#[cold]
#[inline(never)]
fn positioned_overflow(error: EvalError, at: Span) -> EvalError {
    match error.kind() {
        ErrorKind::DepthLimit => error.at(at),
        _ => error,
    }
}

/// An error in a call of a set's `__functor`, framed at the call.
#[cold]
#[inline(never)]
fn functor_failed(error: EvalError, at: Option<Span>) -> EvalError {
    error.note(at, "while calling a functor (an attribute set with a '__functor' attribute)")
}

/// The error of a `with` whose first subexpression, at last needed, is no set: framed at
/// the `with`, as in the reference.
#[cold]
#[inline(never)]
fn with_not_a_set(namespace: &Value, with: Span) -> EvalError {
    let with = (with.start != crate::source::NOWHERE).then_some(with);
    type_error("a set", namespace)
        .unpositioned()
        .note(with, "while evaluating the first subexpression of a with expression")
}

/// The error of a failed call of the builtin `op`, with the builtin's frame (but for
/// `addErrorContext`, whose message says more, as in the reference).
#[cold]
#[inline(never)]
fn builtin_failed(op: &PrimOp, args: &[Value], error: EvalError, span: Option<Span>) -> EvalError {
    if op.name == "addErrorContext" {
        return error;
    }
    let error = match fresh_argument_error(op, args, &error) {
        Some(frame) => error.unpositioned().note(None, frame),
        None => match forced_argument(op, args, &error) {
            Some(frame) => error.note(None, frame),
            None => error,
        },
    };
    error.in_builtin(op.name, span)
}

/// The reference's frame for the argument whose forcing failed (a `throw` in it, say), when
/// the builtin forced it with a check that frames any error (see [`EvalError::forcing`]).
fn forced_argument(op: &PrimOp, args: &[Value], error: &EvalError) -> Option<&'static str> {
    let forced = error.forced_value();
    let index = args.iter().position(|arg| std::ptr::from_ref(arg) as usize == forced)?;
    builtins::frames::argument_frame(op.name, index)
}

/// The reference's frame for the argument a builtin's error is about, when the error is
/// the builtin's own (no frame or position yet) and names the value of an argument the
/// reference words a frame for: the first such argument, in the order the reference checks
/// them.
fn fresh_argument_error(op: &PrimOp, args: &[Value], error: &EvalError) -> Option<&'static str> {
    if !error.trace().is_empty() || error.span().is_some() {
        return None;
    }
    let message = error.to_string();
    args.iter().enumerate().find_map(|(index, arg)| {
        let frame = builtins::frames::argument_frame(op.name, index)?;
        let value = match arg {
            Value::Thunk(thunk) => thunk.value_if_done()?,
            value => value.clone(),
        };
        let named = match &value {
            Value::String(s) if s.has_context() && message.starts_with(&format!("the string '{}'", s.as_str())) => true,
            _ => {
                message.ends_with(&format!(": {}", crate::print::short(&value)))
                    && message.contains(value.type_with_article().as_ref())
            }
        };
        named.then_some(frame)
    })
}

/// Puts a thunk's value in it; the blackhole it replaces holds nothing to drop.
#[inline]
fn finish_thunk(thunk: &Thunk, value: &Value) {
    let previous = thunk.0.replace(ThunkState::Done(value.clone()));
    if matches!(previous, ThunkState::Blackhole) {
        std::mem::forget(previous);
    } else {
        drop(previous);
    }
    crate::env::track_finished(thunk, value);
}

/// Puts a thunk whose evaluation failed back as it was, so that forcing it again fails the
/// same way (native code, which cannot run twice, is replaced by the error).
#[cold]
#[inline(never)]
fn restore_failed(thunk: &Thunk, state: Option<ThunkState>, error: EvalError) -> EvalError {
    if let Some(state) = state {
        drop(thunk.0.replace(state));
    } else {
        drop(thunk.0.replace(ThunkState::failed(error.clone())));
    }
    error
}

/// A placeholder span for calls from native code.
pub(crate) const DUMMY_SPAN: Span = Span { file: crate::source::FileId(std::num::NonZeroU32::MAX), start: 0 };

/// A coerced piece of an interpolated string: a string, or an integer's decimal digits
/// (the end of the buffer, from the index on).
enum Piece {
    Str(NixString),
    Digits([u8; 20], u8),
}

impl Piece {
    fn as_str(&self) -> &str {
        match self {
            Piece::Str(s) => s.as_str(),
            // SAFETY: `int_text` wrote ASCII digits (and a sign) from the index to the end,
            // and nothing changes them after (checking them again cost a tenth of a
            // string-building loop).
            Piece::Digits(digits, start) => unsafe { std::str::from_utf8_unchecked(&digits[*start as usize..]) },
        }
    }

    /// The context's elements (digits have none).
    fn context(&self) -> std::collections::btree_set::Iter<'_, crate::value::ContextElem> {
        match self {
            Piece::Str(s) => s.context().iter(),
            Piece::Digits(..) => Default::default(),
        }
    }
}

/// The scope `depth` levels up; compilation guarantees it exists.
#[inline]
fn scope_at(env: &Env, depth: u32) -> Option<&Env> {
    let mut scope = env;
    for _ in 0..depth {
        scope = scope.parent()?;
    }
    Some(scope)
}

/// The inner function of `a: b: …` (two plain parameters), which a call with two
/// arguments runs in two new scopes.
#[inline(always)]
fn curried_pair(closure: &Closure) -> Option<&'static LambdaDef> {
    match (&closure.def.param, &closure.def.body) {
        (Param::Ident(_), Expr::Lambda(inner)) if matches!(inner.param, Param::Ident(_)) => Some(inner),
        _ => None,
    }
}

/// The scopes of the last call made by [`Evaluator::call_with_two_again`], when nothing
/// else holds them.
#[derive(Default)]
pub(crate) struct SpareScopes(Option<Env>);

/// [`Evaluator::lazy`] for the rest: a function is made at once (it costs no more than
/// the thunk that would make it), `var.a.b` is taken when it is already known, anything
/// else becomes a thunk.
#[inline(never)]
fn lazy_other(expr: &'static Expr, env: &Env) -> Value {
    match expr {
        Expr::Lambda(def) => Value::Lambda(Shared::new(Closure { def, env: env.clone() })),
        Expr::Select(target, path, None, _) => match speculate_select(target, path, env) {
            Some(value) => value,
            None => Thunk::pending(expr, env.clone()),
        },
        _ => Thunk::pending(expr, env.clone()),
    }
}

/// The value of `var.a.b` when it is already known: the variable and every attribute on
/// the way are evaluated, so selecting cannot fail or evaluate anything. `None` otherwise.
#[inline]
fn speculate_select(target: &Expr, path: &[AttrKey], env: &Env) -> Option<Value> {
    let Expr::Var { depth, slot, .. } = target else { return None };
    let mut value = match scope_at(env, *depth)?.value_or_thunk(*slot as usize) {
        Ok(value) => value,
        Err(_) => return None,
    };
    for key in path {
        let AttrKey::Static(name) = key else { return None };
        let Value::Attrs(attrs) = &value else { return None };
        let next = match attrs.get(*name)? {
            Value::Thunk(thunk) => thunk.value_if_done()?,
            other => other.clone(),
        };
        value = next;
    }
    // A list keeps its thunk: the reference prints a list met again through the same
    // argument as «repeated».
    (!matches!(value, Value::List(_))).then_some(value)
}

#[inline]
fn lookup(env: &Env, depth: u32, slot: u32) -> Value {
    let Some(scope) = scope_at(env, depth) else { return Value::Null };
    // Not `unwrap_or`, which would make and drop a `null` on every lookup.
    scope.get(slot as usize).unwrap_or_else(|| Value::Null)
}

fn lambda_name(def: &LambdaDef) -> String {
    match def.name {
        Some(name) => name.to_string(),
        None => "anonymous lambda".to_string(),
    }
}

/// The standard type error: "expected a set but found an integer: 1".
pub fn type_error(expected: &'static str, found: &Value) -> EvalError {
    EvalError::new(ErrorKind::TypeMismatch { expected, found: crate::print::describe(found) })
}

/// Turns compile errors into one evaluation error (the first, with a count of the rest).
pub(crate) fn compile_errors_to_eval(errors: &[CompileError]) -> EvalError {
    match errors.first() {
        Some(first) => {
            // The name between the quotes may end in quotes of its own (`a'`).
            let undefined = first.message.strip_prefix("undefined variable '").and_then(|rest| rest.strip_suffix('\''));
            let kind = match undefined {
                Some(name) => ErrorKind::UndefinedVariable(name.to_string()),
                None => ErrorKind::Other(first.message.clone()),
            };
            EvalError::new(kind).at(first.span)
        }
        None => EvalError::new(ErrorKind::Bug("compilation failed without an error")),
    }
}

/// A store object an evaluation added, other than a derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddedPath {
    /// A text file (`builtins.toFile`): its contents and the store paths it refers to.
    Text {
        /// The file's contents.
        contents: String,
        /// Store paths the file refers to.
        references: std::collections::BTreeSet<String>,
    },
    /// A file or directory copied from the file system (path interpolation, `builtins.path`,
    /// `filterSource`, local `fetchurl`).
    Source {
        /// The file system path it was copied from (symlinks resolved as Nix does).
        source: String,
        /// NAR serialisation (`true`) or the bytes of a single file (`false`).
        recursive: bool,
        /// Paths under `source` that a filter excluded (with everything below them).
        excluded: std::collections::BTreeSet<String>,
    },
    /// A path known only by its content hash (a download given with its hash); its contents
    /// are not available to nxe.
    Fetched {
        /// Where it would be downloaded from.
        url: String,
    },
}

/// The evaluator's record of what it put in the store (nothing is written by the evaluator).
#[derive(Default)]
pub struct StoreWrites {
    /// Derivations by `.drv` path.
    pub derivations: std::collections::BTreeMap<String, nxe_store::Derivation>,
    /// Other store objects by store path.
    pub paths: std::collections::BTreeMap<String, AddedPath>,
    /// Hash modulo of each derivation in `derivations`, by `.drv` path.
    pub(crate) drv_hashes: FxHashMap<String, [u8; 32]>,
    /// Store path of each file system path copied by interpolation.
    pub(crate) copied: FxHashMap<String, String>,
}
