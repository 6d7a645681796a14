//! The high-level entry point: evaluate a file or expression as `nix-instantiate --eval`
//! would, with `-A`, `--arg`/`--argstr` and the output modes, and return the printed text.

use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::{CodeCache, EvalSettings, Evaluator};
use crate::io::{EvalIo, RealIo};
use crate::source::Pos;
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, Value};
use std::rc::Rc;
use std::sync::Arc;

/// What to evaluate.
#[derive(Clone, Debug)]
pub enum Source {
    /// A file (a directory means its `default.nix`).
    File(String),
    /// An expression, resolved against a base directory.
    Expression {
        /// The text.
        text: String,
        /// The directory relative paths are resolved against.
        base_dir: String,
    },
}

/// A `--arg` or `--argstr` value.
#[derive(Clone, Debug)]
pub enum AutoArg {
    /// `--arg NAME EXPR`.
    Expr(String),
    /// `--argstr NAME STRING`.
    Str(String),
}

/// How to print the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// Nix syntax, forcing only what is needed (`--eval`).
    #[default]
    Lazy,
    /// Nix syntax, forcing everything (`--eval --strict`).
    Strict,
    /// JSON (`--json`).
    Json,
    /// The raw string (`--raw`).
    Raw,
    /// XML, as `builtins.toXML` renders it (`--xml`).
    Xml,
}

/// One evaluation request, as given on a command line.
#[derive(Clone, Debug)]
pub struct EvalRequest {
    /// The file or expression.
    pub source: Source,
    /// `-A` attribute paths; none means the whole value.
    pub attr_paths: Vec<String>,
    /// `--arg`/`--argstr`.
    pub auto_args: Vec<(String, AutoArg)>,
    /// How to print.
    pub mode: OutputMode,
}

impl EvalRequest {
    /// An expression evaluated strictly, relative to the current directory.
    pub fn expression(text: &str) -> EvalRequest {
        EvalRequest {
            source: Source::Expression { text: text.to_string(), base_dir: "/".to_string() },
            attr_paths: Vec::new(),
            auto_args: Vec::new(),
            mode: OutputMode::Strict,
        }
    }
}

/// An evaluation session: settings, I/O and the shared code cache.
pub struct Evaluation {
    evaluator: Evaluator,
}

impl Evaluation {
    /// A session on the real file system.
    pub fn new(settings: EvalSettings) -> Evaluation {
        Evaluation::with_io(settings, Rc::new(RealIo), Arc::new(CodeCache::default()))
    }

    /// A session with the given I/O and code cache.
    pub fn with_io(settings: EvalSettings, io: Rc<dyn EvalIo>, code: Arc<CodeCache>) -> Evaluation {
        Evaluation { evaluator: Evaluator::new(io, settings, code) }
    }

    /// The evaluator.
    pub fn evaluator(&mut self) -> &mut Evaluator {
        &mut self.evaluator
    }

    /// Evaluates a request and returns the printed results, one per attribute path, joined
    /// by newlines.
    pub fn evaluate(&mut self, request: &EvalRequest) -> EvalResult<String> {
        // Lazy output shows what is unevaluated: arguments are not computed ahead.
        self.evaluator().speculate = request.mode != OutputMode::Lazy;
        let values = self.values(request)?;
        let mut outputs = Vec::with_capacity(values.len());
        for value in values {
            outputs.push(self.render(&value, request.mode)?);
        }
        Ok(outputs.join("\n"))
    }

    /// Evaluates a request to values (one per attribute path), auto-calling functions.
    pub fn values(&mut self, request: &EvalRequest) -> EvalResult<Vec<Value>> {
        let root = self.load(&request.source)?;
        let args = self.auto_args(&request.auto_args)?;
        let paths: Vec<&str> = if request.attr_paths.is_empty() {
            vec![""]
        } else {
            request.attr_paths.iter().map(String::as_str).collect()
        };
        let mut values = Vec::new();
        for path in paths {
            let value = self.select_path(root.clone(), path, &args)?;
            let value = self.auto_call(value, &args)?;
            values.push(value);
        }
        Ok(values)
    }

    /// The value of a file (imported, so cached) or an expression, not auto-called.
    pub fn load(&mut self, source: &Source) -> EvalResult<Value> {
        let ev = &mut self.evaluator;
        match source {
            Source::File(path) => {
                let path = crate::paths::canonicalize(path);
                ev.import(&path)
            }
            Source::Expression { text, base_dir } => {
                let expr = ev
                    .compile_source("«string»", text.clone(), base_dir, false)
                    .map_err(|errors| crate::eval::compile_errors_to_eval(&errors))?;
                ev.eval_root(expr)
            }
        }
    }

    /// The `--arg`/`--argstr` values as a set.
    pub fn auto_args(&mut self, args: &[(String, AutoArg)]) -> EvalResult<Attrs> {
        let mut entries = Vec::new();
        for (name, arg) in args {
            let value = match arg {
                AutoArg::Str(text) => Value::string(text.as_str()),
                AutoArg::Expr(text) => {
                    let ev = &mut self.evaluator;
                    let cwd = ev.settings().cwd.clone();
                    let expr = ev
                        .compile_source("«string»", text.clone(), &cwd, false)
                        .map_err(|errors| crate::eval::compile_errors_to_eval(&errors))?;
                    ev.eval_root(expr)?
                }
            };
            entries.push(Attr { name: Symbol::intern(name), value, pos: Pos::NONE });
        }
        Ok(Attrs::from_unsorted(entries))
    }

    /// Calls a function whose parameter is a set pattern with the `--arg` values, as Nix does
    /// for the final value of a request, and only when there are `--arg` values.
    fn auto_call(&mut self, value: Value, args: &Attrs) -> EvalResult<Value> {
        if args.is_empty() {
            return self.evaluator.force(&value);
        }
        self.auto_call_always(value, args)
    }

    /// Calls a function whose parameter is a set pattern with the `--arg` values (possibly
    /// none), as the reference does at every step of an attribute path.
    pub fn auto_call_always(&mut self, value: Value, args: &Attrs) -> EvalResult<Value> {
        let ev = &mut self.evaluator;
        let value = ev.force(&value)?;
        let Value::Lambda(closure) = &value else {
            if let Value::Attrs(attrs) = &value {
                if attrs.contains(ev.sym.functor) {
                    let functor = attrs.get(ev.sym.functor).cloned().unwrap_or(Value::Null);
                    let inner = ev.call(functor, std::slice::from_ref(&value), None)?;
                    return self.auto_call_always(inner, args);
                }
            }
            return Ok(value);
        };
        let crate::ir::Param::Pattern { formals, ellipsis, .. } = &closure.def.param else {
            return Ok(value);
        };
        let mut entries = Vec::new();
        for (name, default) in formals {
            match args.get(*name) {
                Some(arg) => entries.push(Attr { name: *name, value: arg.clone(), pos: Pos::NONE }),
                None if default.is_some() => {}
                None => {
                    return Err(EvalError::msg(format!(
                        "cannot evaluate a function that has an argument without a value ('{name}')"
                    )))
                }
            }
        }
        if *ellipsis {
            for attr in args.iter() {
                if !formals.iter().any(|(name, _)| *name == attr.name) {
                    entries.push(attr.clone());
                }
            }
        }
        let arg = Value::attrs(Attrs::from_unsorted(entries));
        ev.call(value.clone(), &[arg], None)
    }

    fn select_path(&mut self, root: Value, path: &str, args: &Attrs) -> EvalResult<Value> {
        self.select(root, &split_attr_path(path)?, args, path)
    }

    /// Selects an attribute path given as names, as `-A` does: before each step the value is
    /// auto-called with `args`; `shown` is the path as messages show it. The result is not
    /// forced.
    pub fn select(&mut self, root: Value, names: &[String], args: &Attrs, shown: &str) -> EvalResult<Value> {
        let path = shown;
        let mut value = root;
        for component in names {
            value = self.auto_call_always(value, args)?;
            let ev = &mut self.evaluator;
            value = ev.force(&value)?;
            value = match (&value, component.parse::<usize>()) {
                (Value::List(items), Ok(index)) => match items.get(index) {
                    Some(item) => item.clone(),
                    None => {
                        return Err(EvalError::msg(format!(
                            "list index {index} in selection path '{path}' is out of range"
                        )))
                    }
                },
                (Value::Attrs(attrs), _) => match attrs.get(Symbol::intern(component)) {
                    Some(found) => found.clone(),
                    None => {
                        return Err(EvalError::msg(format!(
                            "attribute '{component}' in selection path '{path}' not found"
                        )))
                    }
                },
                (other, _) => {
                    return Err(EvalError::msg(format!(
                        "the value at selection path '{path}' is {} while a set was expected",
                        other.type_with_article()
                    )))
                }
            };
        }
        Ok(value)
    }

    /// Prints a value in the given mode.
    pub fn render(&mut self, value: &Value, mode: OutputMode) -> EvalResult<String> {
        let ev = &mut self.evaluator;
        match mode {
            OutputMode::Lazy => {
                let value = ev.force(value)?;
                Ok(crate::print::print_value(&value))
            }
            OutputMode::Strict => {
                let value = ev.force_deep(value)?;
                Ok(crate::print::print_value(&value))
            }
            OutputMode::Json => crate::builtins::value_to_json(ev, value),
            OutputMode::Xml => {
                let value = ev.force_deep(value)?;
                crate::builtins::value_to_xml(ev, &value)
            }
            OutputMode::Raw => {
                let text = crate::ops::coerce_to_string(ev, value, crate::ops::Coerce::Interpolation)?;
                Ok(text.as_str().to_string())
            }
        }
    }
}

/// Splits an attribute path on dots, honouring double quotes (`a."b.c".d`).
pub fn split_attr_path(path: &str) -> EvalResult<Vec<String>> {
    let mut out = Vec::new();
    if path.is_empty() {
        return Ok(out);
    }
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push(std::mem::take(&mut current)),
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some(inner) => current.push(inner),
                    None => return Err(EvalError::msg(format!("missing closing quote in selection path '{path}'"))),
                }
            },
            other => current.push(other),
        }
    }
    out.push(current);
    if out.iter().any(String::is_empty) {
        return Err(EvalError::new(ErrorKind::Other(format!("empty attribute name in selection path '{path}'"))));
    }
    Ok(out)
}

/// Runs `f` on a thread with a large stack, so that deep but legal Nix recursion fits.
pub fn run_with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    const STACK: usize = 1 << 30;
    let handle = std::thread::Builder::new().name("nxe-eval".into()).stack_size(STACK).spawn(f);
    match handle {
        Ok(handle) => match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(_) => panic!("cannot start the evaluation thread"),
    }
}
