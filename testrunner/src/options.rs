//! Option validation of a host: every assertion (`config.assertions`, failed when
//! `assertion` is false) and warning (`config.warnings`) of its module evaluation, and a full
//! type check, which forces every option value of the configuration (the module system checks
//! a value's type when it is forced) and reports each error with the option's path and the
//! position of the bad definition.
//!
//! Everything is a [`Finding`] naming its host; a host whose evaluation fails is one finding,
//! never a panic or an early return for the others. The caller selects the host's value (for
//! example `hosts.<name>` of the repository's root) and says where its configuration and its
//! system are with a [`HostLayout`] (nxe.toml's `hosts.config` and `hosts.toplevel`).
//!
//! The module system names the file of a definition in its message (`Definition values: - In
//! `FILE'`), not its line, and the error itself points into the module system. So the
//! position of a type error is found by parsing that file and looking for the binding of the
//! option's path ([`locate_definition`]); any other error keeps its own position.

use nxe_engine::config::join_attr_path;
use nxe_evaluator::compile::static_string;
use nxe_evaluator::source::SourceMap;
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::value::Attrs;
use nxe_evaluator::{EvalError, EvalResult, Evaluation, Value};
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;
use rustc_hash::FxHashSet;
use std::fmt;

/// Where a host's configuration and system are inside its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostLayout {
    /// Attribute path of the evaluated options (`config`).
    pub config: Vec<String>,
    /// Attribute path of the top-level derivation (`toplevel`).
    pub toplevel: Vec<String>,
    /// Paths inside the configuration the type check leaves alone: values that are not
    /// options' data, such as a whole package set (`nixpkgs.pkgs` in NixOS).
    pub unchecked: Vec<Vec<String>>,
}

impl HostLayout {
    /// The layout a repository's `nxe.toml` (or its flake defaults) gives.
    pub fn of(repo: &nxe_engine::Repo) -> HostLayout {
        HostLayout { config: repo.config_attr.clone(), toplevel: repo.toplevel_attr.clone(), ..HostLayout::default() }
    }
}

impl Default for HostLayout {
    fn default() -> HostLayout {
        HostLayout {
            config: vec!["config".into()],
            toplevel: vec!["toplevel".into()],
            unchecked: vec![vec!["nixpkgs".into(), "pkgs".into()]],
        }
    }
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// A failed assertion.
    Assertion,
    /// A warning of the configuration.
    Warning,
    /// A definition the module system refused: a wrong type, an undeclared option,
    /// conflicting definitions.
    OptionDefinition,
    /// Any other evaluation error, including a host that does not evaluate at all.
    Evaluation,
}

impl FindingKind {
    /// A short lowercase name: `assertion`, `warning`, `option`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Assertion => "assertion",
            FindingKind::Warning => "warning",
            FindingKind::OptionDefinition => "option",
            FindingKind::Evaluation => "error",
        }
    }

    /// Whether the finding fails the host's validation (everything but a warning).
    pub fn is_failure(self) -> bool {
        self != FindingKind::Warning
    }
}

/// A place in a file: the line and column are missing when only the file is known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The file, as the evaluation named it (absolute for files of the repository).
    pub file: String,
    /// 1-based line and column (in characters).
    pub line_col: Option<(u32, u32)>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, column)) => write!(f, "{}:{line}:{column}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// One result of validating a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The host's name.
    pub host: String,
    /// What it is about.
    pub kind: FindingKind,
    /// The option concerned, when known (`services.web.port`).
    pub option: Option<String>,
    /// The message, without ANSI escapes; may span several lines.
    pub message: String,
    /// Where: the assertion's declaration, the bad definition, or the error's position.
    pub position: Option<Position>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.host, self.kind.as_str(), self.message)?;
        if let Some(position) = &self.position {
            write!(f, "\n  at {position}")?;
        }
        Ok(())
    }
}

/// Forces `value` and selects `path` below it, forcing each step (no auto-calling).
pub fn select(evaluation: &mut Evaluation, value: &Value, path: &[String]) -> EvalResult<Value> {
    let ev = evaluation.evaluator();
    let mut current = ev.force(value)?;
    for (depth, name) in path.iter().enumerate() {
        let found = match &current {
            Value::Attrs(attrs) => attrs.get(Symbol::intern(name)).cloned(),
            other => {
                return Err(EvalError::msg(format!(
                    "the value at '{}' is {} while a set was expected",
                    join_attr_path(&path[..depth]),
                    other.type_with_article()
                )))
            }
        };
        let Some(found) = found else {
            return Err(EvalError::msg(format!("attribute '{}' not found", join_attr_path(&path[..=depth]))));
        };
        current = ev.force(&found)?;
    }
    Ok(current)
}

/// The names of a set's attributes, sorted (the host names of a set of hosts).
pub fn attr_names(evaluation: &mut Evaluation, value: &Value) -> EvalResult<Vec<String>> {
    match evaluation.evaluator().force(value)? {
        Value::Attrs(attrs) => Ok(attrs.iter().map(|attr| attr.name.as_str().to_string()).collect()),
        other => Err(EvalError::msg(format!("{} while a set was expected", other.type_with_article()))),
    }
}

/// Validates one host: its assertions and warnings, then the type check of its whole
/// configuration. A host whose configuration (or its list of assertions) does not evaluate
/// gives that one finding. When an assertion fails, it is reported once, as an assertion,
/// and the type check reports only definitions the module system refused: other errors are
/// then the failed system's or what the assertion guards against.
pub fn check_host(evaluation: &mut Evaluation, host: &str, host_value: &Value, layout: &HostLayout) -> Vec<Finding> {
    let config = match select(evaluation, host_value, &layout.config) {
        Ok(config) => config,
        Err(error) => return vec![error_finding(host, &error, None)],
    };
    let mut findings = match assertions_and_warnings(evaluation, host, &config) {
        Ok(findings) => findings,
        Err(finding) => return vec![finding],
    };
    let assertion_failed = findings.iter().any(|finding| finding.kind == FindingKind::Assertion);
    for finding in type_check(evaluation, host, &config, &layout.unchecked) {
        // Failed assertions stop the system's derivation (its error repeats them), and what
        // they guard against may fail to evaluate: only the module system's own refusals of
        // definitions are news then.
        if assertion_failed && finding.kind == FindingKind::Evaluation {
            continue;
        }
        if !findings.contains(&finding) {
            findings.push(finding);
        }
    }
    findings
}

/// The failed assertions and the warnings of a configuration, in their order. A
/// configuration without `assertions` or `warnings` has none; an error evaluating the
/// configuration or either list is returned as the one finding of the host, while an error
/// inside a single assertion is a finding among the others.
pub fn assertions_and_warnings(
    evaluation: &mut Evaluation,
    host: &str,
    config: &Value,
) -> Result<Vec<Finding>, Finding> {
    let fail = |error: EvalError| error_finding(host, &error, None);
    let config = evaluation.evaluator().force(config).map_err(fail)?;
    let Value::Attrs(config) = &config else {
        return Err(Finding {
            host: host.to_string(),
            kind: FindingKind::Evaluation,
            option: None,
            message: format!("the configuration is {} while a set was expected", config.type_with_article()),
            position: None,
        });
    };
    let assertions = list_attr(evaluation, config, "assertions").map_err(fail)?;
    let warnings = list_attr(evaluation, config, "warnings").map_err(fail)?;
    let mut findings = Vec::new();
    for (index, assertion) in assertions.iter().enumerate() {
        match check_assertion(evaluation, host, assertion) {
            Ok(Some(finding)) => findings.push(finding),
            Ok(None) => {}
            Err(error) => findings.push(error_finding(host, &error, Some(format!("assertions.{index}")))),
        }
    }
    for (index, warning) in warnings.iter().enumerate() {
        let ev = evaluation.evaluator();
        match nxe_evaluator::builtins::force_string(ev, warning) {
            Ok(text) => findings.push(Finding {
                host: host.to_string(),
                kind: FindingKind::Warning,
                option: None,
                message: strip(text.as_str()),
                position: None,
            }),
            Err(error) => findings.push(error_finding(host, &error, Some(format!("warnings.{index}")))),
        }
    }
    Ok(findings)
}

/// The list at `name` of a configuration, empty when there is none.
fn list_attr(evaluation: &mut Evaluation, config: &Attrs, name: &str) -> EvalResult<nxe_evaluator::value::List> {
    let Some(value) = config.get(Symbol::intern(name)).cloned() else {
        return Ok(nxe_evaluator::value::List::new(Vec::new()));
    };
    match evaluation.evaluator().force(&value)? {
        Value::List(items) => Ok(items),
        other => Err(EvalError::msg(format!(
            "the option '{name}' is {} while a list was expected",
            other.type_with_article()
        ))),
    }
}

/// A finding when `{ assertion; message; }` has a false `assertion`, positioned at the
/// `assertion` attribute's definition.
fn check_assertion(evaluation: &mut Evaluation, host: &str, assertion: &Value) -> EvalResult<Option<Finding>> {
    let ev = evaluation.evaluator();
    let Value::Attrs(attrs) = ev.force(assertion)? else {
        return Err(EvalError::msg("an assertion is not a set { assertion; message; }"));
    };
    let Some(entry) = attrs.get_entry(Symbol::intern("assertion")).cloned() else {
        return Err(EvalError::msg("an assertion has no attribute 'assertion'"));
    };
    match ev.force(&entry.value)? {
        Value::Bool(true) => return Ok(None),
        Value::Bool(false) => {}
        other => {
            return Err(nxe_evaluator::eval::type_error("a Boolean", &other)
                .note(entry.pos.span(), "while evaluating an assertion"))
        }
    }
    let message = match attrs.get(Symbol::intern("message")).cloned() {
        Some(message) => strip(nxe_evaluator::builtins::force_string(ev, &message)?.as_str()),
        None => "assertion failed (without a message)".to_string(),
    };
    let position = entry
        .pos
        .span()
        .and_then(|span| SourceMap::global().location(span))
        .map(|location| Position { file: location.file, line_col: Some((location.line, location.column)) });
    Ok(Some(Finding { host: host.to_string(), kind: FindingKind::Assertion, option: None, message, position }))
}

/// How deep the type check descends; configurations are far shallower.
const MAX_TYPE_CHECK_DEPTH: usize = 200;

/// Forces the whole configuration, as a deployment would: every attribute and list element,
/// a derivation only as far as its `drvPath` (its other attributes are the builder's business),
/// never calling a function, and nothing below the `unchecked` paths. Every error is a
/// finding (the same error reached twice, through two options that share a value, is
/// reported once), and the check goes on past it.
pub fn type_check(evaluation: &mut Evaluation, host: &str, config: &Value, unchecked: &[Vec<String>]) -> Vec<Finding> {
    let mut walk = TypeWalk {
        host,
        unchecked,
        drv_path: Symbol::intern("drvPath"),
        seen: FxHashSet::default(),
        findings: Vec::new(),
        path: Vec::new(),
    };
    match evaluation.evaluator().force(config) {
        Ok(value) => walk.value(evaluation, &value),
        Err(error) => walk.error(&error),
    }
    walk.findings
}

/// The state of a type check.
struct TypeWalk<'a> {
    host: &'a str,
    unchecked: &'a [Vec<String>],
    drv_path: Symbol,
    /// Sets and lists already walked, by address.
    seen: FxHashSet<usize>,
    findings: Vec<Finding>,
    /// The path being walked, for errors that name no option themselves.
    path: Vec<String>,
}

impl TypeWalk<'_> {
    fn value(&mut self, evaluation: &mut Evaluation, value: &Value) {
        if self.path.len() > MAX_TYPE_CHECK_DEPTH {
            return;
        }
        match value {
            Value::Attrs(attrs) => {
                if !self.seen.insert(Attrs::as_ptr(attrs) as usize) {
                    return;
                }
                match nxe_evaluator::builtins::is_derivation(evaluation.evaluator(), attrs) {
                    Ok(true) => return self.derivation(evaluation, attrs),
                    Ok(false) => {}
                    Err(error) => return self.error(&error),
                }
                for attr in attrs.iter() {
                    self.path.push(attr.name.as_str().to_string());
                    if !self.unchecked.contains(&self.path) {
                        self.member(evaluation, &attr.value);
                    }
                    self.path.pop();
                }
            }
            Value::List(items) => {
                if !self.seen.insert(nxe_evaluator::value::List::as_ptr(items) as usize) {
                    return;
                }
                for (index, item) in items.iter().enumerate() {
                    self.path.push(index.to_string());
                    self.member(evaluation, item);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    fn member(&mut self, evaluation: &mut Evaluation, value: &Value) {
        match evaluation.evaluator().force(value) {
            Ok(forced) => self.value(evaluation, &forced),
            Err(error) => self.error(&error),
        }
    }

    fn derivation(&mut self, evaluation: &mut Evaluation, attrs: &Attrs) {
        let Some(drv_path) = attrs.get(self.drv_path).cloned() else { return };
        self.path.push("drvPath".to_string());
        if let Err(error) = nxe_evaluator::builtins::force_string(evaluation.evaluator(), &drv_path) {
            self.error(&error);
        }
        self.path.pop();
    }

    fn error(&mut self, error: &EvalError) {
        let finding = error_finding(self.host, error, Some(join_attr_path(&self.path)));
        if !self.findings.iter().any(|f| f.message == finding.message && f.position == finding.position) {
            self.findings.push(finding);
        }
    }
}

/// A finding for an evaluation error: an option-definition error when the module system
/// names the option (then positioned at the bad definition), an evaluation error otherwise
/// (at the error's own position; `surfaced_at` is the path where it was met).
fn error_finding(host: &str, error: &EvalError, surfaced_at: Option<String>) -> Finding {
    let message = strip(&error.to_string()).trim_end().to_string();
    if let Some(option) = option_in_message(&message) {
        let position = definition_file(&message)
            .map(|file| locate_definition(&file, &option).unwrap_or(Position { file, line_col: None }))
            .or_else(|| error_position(error));
        return Finding {
            host: host.to_string(),
            kind: FindingKind::OptionDefinition,
            option: Some(option),
            message,
            position,
        };
    }
    Finding {
        host: host.to_string(),
        kind: FindingKind::Evaluation,
        option: surfaced_at.filter(|path| !path.is_empty()),
        message,
        position: error_position(error),
    }
}

/// The error's own position or, without one, its innermost positioned trace note (as
/// [`nxe_evaluator::diagnostics::summary`] shows it).
fn error_position(error: &EvalError) -> Option<Position> {
    let span = error.span().or_else(|| error.trace().iter().find_map(|frame| frame.span))?;
    let location = SourceMap::global().location(span)?;
    Some(Position { file: location.file, line_col: Some((location.line, location.column)) })
}

fn strip(text: &str) -> String {
    nxe_evaluator::io::strip_ansi_escapes(text)
}

/// The option a module-system message is about: the quoted path of a message that starts
/// "A definition for option `a.b' …" (a wrong type) or "The option `a.b' …" (undeclared,
/// conflicting, read-only, without a value).
fn option_in_message(message: &str) -> Option<String> {
    let first_line = message.lines().next()?;
    let rest =
        ["A definition for option `", "The option `"].iter().find_map(|prefix| first_line.strip_prefix(prefix))?;
    let end = rest.find("' ").or_else(|| rest.find("` ")).or_else(|| rest.rfind('\''))?;
    Some(rest[..end].to_string())
}

/// The file of the first definition a module-system message lists (`- In `FILE': …`).
fn definition_file(message: &str) -> Option<String> {
    let line = message.lines().find_map(|line| line.strip_prefix("- In `"))?;
    let end = line.find("':")?;
    Some(line[..end].to_string())
}

/// Finds where `file` defines `option` (a dotted path as the module system shows it, names
/// with dots in double quotes): the binding whose attribute path, nested through set
/// literals, functions, `let`, `mkIf`-style applications and lists, is the option's path (an
/// interpolated name matches any name; a leading `config.` is ignored). Failing that, the
/// deepest binding whose path leads to the option, or whose path ends the option's path (a
/// definition inside a submodule). `None` when the file cannot be read or parsed.
pub fn locate_definition(file: &str, option: &str) -> Option<Position> {
    let text = std::fs::read_to_string(file).ok()?;
    let wanted = split_option_path(option);
    let root = rnix::Root::parse(&text).tree();
    let mut bindings = Vec::new();
    if let Some(expr) = root.expr() {
        collect_bindings(&expr, &mut Vec::new(), &mut bindings, 0);
    }
    let matches = |path: &[Option<String>], target: &[String]| {
        path.len() == target.len()
            && path.iter().zip(target).all(|(have, want)| have.as_deref().is_none_or(|h| h == want))
    };
    let exact = bindings.iter().find(|(path, _)| matches(path, &wanted));
    let prefix = || {
        bindings
            .iter()
            .filter(|(path, _)| path.len() < wanted.len() && matches(path, &wanted[..path.len()]))
            .max_by_key(|(path, offset)| (path.len(), std::cmp::Reverse(*offset)))
    };
    let suffix = || {
        bindings
            .iter()
            .filter(|(path, _)| path.len() < wanted.len() && matches(path, &wanted[wanted.len() - path.len()..]))
            .max_by_key(|(path, offset)| (path.len(), std::cmp::Reverse(*offset)))
    };
    let (_, offset) = exact.or_else(prefix).or_else(suffix)?;
    let (line, column) = line_col(&text, *offset);
    Some(Position { file: file.to_string(), line_col: Some((line, column)) })
}

/// Splits `a."b.c".d` into its names.
fn split_option_path(option: &str) -> Vec<String> {
    nxe_evaluator::split_attr_path(option).unwrap_or_else(|_| option.split('.').map(str::to_string).collect())
}

/// Bindings below an expression: (attribute path, `None` for an interpolated name; byte
/// offset of the binding). A leading `config` is dropped, as modules may nest their
/// definitions in it.
fn collect_bindings(expr: &ast::Expr, prefix: &mut Vec<Option<String>>, out: &mut Bindings, depth: usize) {
    if depth > 400 {
        return;
    }
    let walk = |inner: Option<ast::Expr>, prefix: &mut Vec<Option<String>>, out: &mut Bindings| {
        if let Some(inner) = inner {
            collect_bindings(&inner, prefix, out, depth + 1);
        }
    };
    match expr {
        ast::Expr::AttrSet(set) => {
            for binding in set.attrpath_values() {
                let Some(path) = binding.attrpath() else { continue };
                let before = prefix.len();
                prefix.extend(path.attrs().map(|attr| static_attr_name(&attr)));
                if before == 0 && prefix.first().is_some_and(|first| first.as_deref() == Some("config")) {
                    prefix.remove(0);
                }
                if prefix.len() > before {
                    let offset: usize = binding.syntax().text_range().start().into();
                    out.push((prefix.clone(), offset));
                }
                walk(binding.value(), prefix, out);
                prefix.truncate(before);
            }
        }
        ast::Expr::Lambda(lambda) => walk(lambda.body(), prefix, out),
        ast::Expr::LetIn(let_in) => walk(let_in.body(), prefix, out),
        ast::Expr::Paren(paren) => walk(paren.expr(), prefix, out),
        ast::Expr::Root(root) => walk(root.expr(), prefix, out),
        ast::Expr::With(with) => walk(with.body(), prefix, out),
        ast::Expr::Assert(assert) => walk(assert.body(), prefix, out),
        ast::Expr::Apply(apply) => {
            walk(apply.lambda(), prefix, out);
            walk(apply.argument(), prefix, out);
        }
        ast::Expr::IfElse(if_else) => {
            walk(if_else.body(), prefix, out);
            walk(if_else.else_body(), prefix, out);
        }
        ast::Expr::BinOp(bin_op) => {
            walk(bin_op.lhs(), prefix, out);
            walk(bin_op.rhs(), prefix, out);
        }
        ast::Expr::List(list) => {
            for item in list.items() {
                walk(Some(item), prefix, out);
            }
        }
        _ => {}
    }
}

/// Attribute paths of bindings (`None` for an interpolated name) with their byte offsets.
type Bindings = Vec<(Vec<Option<String>>, usize)>;

/// The name of an attribute in a binding, or `None` when it is interpolated.
fn static_attr_name(attr: &ast::Attr) -> Option<String> {
    match attr {
        ast::Attr::Ident(ident) => Some(ident.syntax().text().to_string()),
        ast::Attr::Str(string) => static_string(string),
        ast::Attr::Dynamic(dynamic) => match dynamic.expr() {
            Some(ast::Expr::Str(string)) => static_string(&string),
            _ => None,
        },
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (line as u32, column as u32)
}
