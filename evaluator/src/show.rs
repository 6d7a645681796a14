//! Rendering of expressions as the reference shows them in messages, for instance in
//! "assertion '(((a).x == 2) && true)' failed": fully parenthesised, with the operators the
//! reference desugars into calls (`-`, `*`, `/`, `<` and friends) shown as those calls.

use rnix::ast::{self, AstToken, HasEntry, InterpolPart};
use rowan::ast::AstNode;

/// Shows an expression in the reference's notation.
pub fn show(expr: &ast::Expr) -> String {
    let mut out = String::new();
    show_into(&mut out, expr);
    out
}

/// Where relative (`./a`) and home (`~/a`) path literals of the expression being shown lead:
/// the reference shows a path literal as the absolute path it stands for.
pub struct PathBase<'a> {
    /// The directory of the file.
    pub dir: &'a str,
    /// The home directory, if known.
    pub home: Option<&'a str>,
}

thread_local! {
    /// The [`PathBase`] of [`show_in`]'s expression, while it is shown.
    static PATH_BASE: std::cell::RefCell<Option<(String, Option<String>)>> = const { std::cell::RefCell::new(None) };
}

/// [`show`] with path literals made absolute from `base`.
pub fn show_in(expr: &ast::Expr, base: &PathBase<'_>) -> String {
    PATH_BASE.with(|b| *b.borrow_mut() = Some((base.dir.to_string(), base.home.map(str::to_string))));
    let shown = show(expr);
    PATH_BASE.with(|b| *b.borrow_mut() = None);
    shown
}

/// A path literal as the absolute path it stands for, when [`show_in`] knows the base.
fn show_path(out: &mut String, expr: &ast::Expr) {
    let text = expr.syntax().text().to_string();
    let absolute = PATH_BASE.with(|b| {
        let base = b.borrow();
        let (dir, home) = base.as_ref()?;
        if text.contains("${") {
            return None;
        }
        let absolute = match expr {
            ast::Expr::PathRel(_) => format!("{dir}/{text}"),
            ast::Expr::PathHome(_) => format!("{}{}", home.as_ref()?, &text[1..]),
            _ => text.clone(),
        };
        Some(crate::paths::canonicalize(&absolute))
    });
    out.push_str(&absolute.unwrap_or(text));
}

fn show_opt(out: &mut String, expr: Option<ast::Expr>) {
    if let Some(expr) = expr {
        show_into(out, &expr);
    }
}

fn show_into(out: &mut String, expr: &ast::Expr) {
    match expr {
        ast::Expr::Paren(paren) => show_opt(out, paren.expr()),
        ast::Expr::Root(root) => show_opt(out, root.expr()),
        ast::Expr::Literal(literal) => match literal.kind() {
            ast::LiteralKind::Integer(int) => out.push_str(int.syntax().text()),
            ast::LiteralKind::Float(float) => {
                out.push_str(&crate::print::format_float(float.value().unwrap_or(0.0)));
            }
            ast::LiteralKind::Uri(uri) => crate::print::escape_string_into(out, uri.syntax().text()),
        },
        ast::Expr::Ident(ident) => out.push_str(&ident.syntax().text().to_string()),
        ast::Expr::Str(string) => show_string(out, string),
        ast::Expr::PathSearch(search) => {
            let text = search.content().map_or(String::new(), |c| c.text().to_string());
            out.push_str("(__findFile __nixPath ");
            crate::print::escape_string_into(out, text.trim_start_matches('<').trim_end_matches('>'));
            out.push(')');
        }
        ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) => show_path(out, expr),
        ast::Expr::List(list) => {
            out.push_str("[ ");
            for item in list.items() {
                out.push('(');
                show_into(out, &item);
                out.push_str(") ");
            }
            out.push(']');
        }
        ast::Expr::AttrSet(set) => {
            if set.rec_token().is_some() {
                out.push_str("rec ");
            }
            out.push_str("{ ");
            show_bindings(out, set);
            out.push('}');
        }
        ast::Expr::LetIn(let_in) => {
            out.push_str("(let ");
            show_bindings(out, let_in);
            out.push_str("in ");
            show_opt(out, let_in.body());
            out.push(')');
        }
        ast::Expr::Lambda(lambda) => show_lambda(out, lambda),
        ast::Expr::Apply(apply) => {
            let mut args = Vec::new();
            let mut current = apply.clone();
            let func = loop {
                args.push(current.argument());
                match current.lambda() {
                    Some(ast::Expr::Apply(inner)) => current = inner,
                    other => break other,
                }
            };
            out.push('(');
            show_opt(out, func);
            for arg in args.into_iter().rev() {
                out.push(' ');
                show_opt(out, arg);
            }
            out.push(')');
        }
        ast::Expr::Select(select) => {
            out.push('(');
            show_opt(out, select.expr());
            out.push_str(").");
            show_attrpath(out, select.attrpath());
            if let Some(default) = select.default_expr() {
                out.push_str(" or (");
                show_into(out, &default);
                out.push(')');
            }
        }
        ast::Expr::HasAttr(has) => {
            out.push_str("((");
            show_opt(out, has.expr());
            out.push_str(") ? ");
            show_attrpath(out, has.attrpath());
            out.push(')');
        }
        ast::Expr::IfElse(if_else) => {
            out.push_str("(if ");
            show_opt(out, if_else.condition());
            out.push_str(" then ");
            show_opt(out, if_else.body());
            out.push_str(" else ");
            show_opt(out, if_else.else_body());
            out.push(')');
        }
        ast::Expr::Assert(assert) => {
            out.push_str("assert ");
            show_opt(out, assert.condition());
            out.push_str("; ");
            show_opt(out, assert.body());
        }
        ast::Expr::With(with) => {
            out.push_str("(with ");
            show_opt(out, with.namespace());
            out.push_str("; ");
            show_opt(out, with.body());
            out.push(')');
        }
        ast::Expr::UnaryOp(unary) => match unary.operator() {
            Some(ast::UnaryOpKind::Invert) => {
                out.push_str("(! ");
                show_opt(out, unary.expr());
                out.push(')');
            }
            _ => {
                out.push_str("(__sub 0 ");
                show_opt(out, unary.expr());
                out.push(')');
            }
        },
        ast::Expr::BinOp(binop) => show_binop(out, binop),
        ast::Expr::CurPos(_) => out.push_str("__curPos"),
        ast::Expr::LegacyLet(_) | ast::Expr::Error(_) => out.push_str(&expr.syntax().text().to_string()),
    }
}

fn show_binop(out: &mut String, binop: &ast::BinOp) {
    use ast::BinOpKind as K;
    let (lhs, rhs) = (binop.lhs(), binop.rhs());
    let call = |out: &mut String, name: &str, a: Option<ast::Expr>, b: Option<ast::Expr>| {
        out.push('(');
        out.push_str(name);
        out.push(' ');
        show_opt(out, a);
        out.push(' ');
        show_opt(out, b);
        out.push(')');
    };
    match binop.operator() {
        Some(K::Sub) => call(out, "__sub", lhs, rhs),
        Some(K::Mul) => call(out, "__mul", lhs, rhs),
        Some(K::Div) => call(out, "__div", lhs, rhs),
        Some(K::Less) => call(out, "__lessThan", lhs, rhs),
        Some(K::More) => call(out, "__lessThan", rhs, lhs),
        Some(K::LessOrEq) => {
            out.push_str("(! ");
            call(out, "__lessThan", rhs, lhs);
            out.push(')');
        }
        Some(K::MoreOrEq) => {
            out.push_str("(! ");
            call(out, "__lessThan", lhs, rhs);
            out.push(')');
        }
        other => {
            let symbol = match other {
                Some(K::Add) => "+",
                Some(K::Equal) => "==",
                Some(K::NotEqual) => "!=",
                Some(K::And) => "&&",
                Some(K::Or) => "||",
                Some(K::Implication) => "->",
                Some(K::Concat) => "++",
                Some(K::Update) => "//",
                Some(K::PipeLeft) => "<|",
                Some(K::PipeRight) => "|>",
                _ => "?",
            };
            out.push('(');
            show_opt(out, lhs);
            out.push(' ');
            out.push_str(symbol);
            out.push(' ');
            show_opt(out, rhs);
            out.push(')');
        }
    }
}

fn show_string(out: &mut String, string: &ast::Str) {
    if let Some(text) = crate::compile::static_string(string) {
        crate::print::escape_string_into(out, &text);
        return;
    }
    out.push('(');
    for (idx, part) in string.normalized_parts().into_iter().enumerate() {
        if idx > 0 {
            out.push_str(" + ");
        }
        match part {
            InterpolPart::Literal(text) => crate::print::escape_string_into(out, &text),
            InterpolPart::Interpolation(interp) => show_opt(out, interp.expr()),
        }
    }
    out.push(')');
}

fn show_attrpath(out: &mut String, path: Option<ast::Attrpath>) {
    let Some(path) = path else { return };
    for (idx, attr) in path.attrs().enumerate() {
        if idx > 0 {
            out.push('.');
        }
        show_attr_name(out, &attr);
    }
}

fn show_attr_name(out: &mut String, attr: &ast::Attr) {
    if let Some(name) = static_name(attr) {
        out.push_str(&name);
        return;
    }
    out.push_str("\"${");
    match attr {
        ast::Attr::Str(string) => show_string(out, string),
        ast::Attr::Dynamic(dynamic) => show_opt(out, dynamic.expr()),
        ast::Attr::Ident(_) => {}
    }
    out.push_str("}\"");
}

/// The bindings of a set or `let` as the reference keeps them once parsed: `a.b = 1;` is
/// `a = { b = 1; };`, merged with the other bindings under `a`.
#[derive(Default)]
struct Bindings {
    inherits: Vec<String>,
    inherit_from: Vec<(String, Vec<String>)>,
    plain: std::collections::BTreeMap<String, Binding>,
    dynamic: Vec<(String, String)>,
}

enum Binding {
    Shown(String),
    Set(Bindings),
}

impl Bindings {
    fn of(node: &impl HasEntry) -> Bindings {
        let mut bindings = Bindings::default();
        for entry in node.entries() {
            match entry {
                ast::Entry::Inherit(inherit) => {
                    let names: Vec<String> = inherit.attrs().map(|a| a.syntax().text().to_string()).collect();
                    match inherit.from().and_then(|f| f.expr()) {
                        Some(from) => bindings.inherit_from.push((show(&from), names)),
                        None => bindings.inherits.extend(names),
                    }
                }
                ast::Entry::AttrpathValue(binding) => {
                    let path: Vec<ast::Attr> = binding.attrpath().map(|p| p.attrs().collect()).unwrap_or_default();
                    bindings.insert(&path, binding.value());
                }
            }
        }
        bindings
    }

    /// Adds `path = value`, creating or entering the sets the path goes through.
    fn insert(&mut self, path: &[ast::Attr], value: Option<ast::Expr>) {
        let Some((first, rest)) = path.split_first() else { return };
        let Some(name) = static_name(first) else {
            let mut name = String::new();
            show_attr_name(&mut name, first);
            let shown = if rest.is_empty() {
                value.map_or(String::new(), |v| show(&v))
            } else {
                let mut inner = Bindings::default();
                inner.insert(rest, value);
                inner.show_set()
            };
            self.dynamic.push((name, shown));
            return;
        };
        if rest.is_empty() {
            match (self.plain.get_mut(&name), mergeable(value.as_ref())) {
                (Some(Binding::Set(existing)), Some(set)) => existing.merge(Bindings::of(&set)),
                (_, Some(set)) => {
                    self.plain.insert(name, Binding::Set(Bindings::of(&set)));
                }
                (_, None) => {
                    self.plain.insert(name, Binding::Shown(value.map_or(String::new(), |v| show(&v))));
                }
            }
            return;
        }
        let entry = self.plain.entry(name).or_insert_with(|| Binding::Set(Bindings::default()));
        if let Binding::Shown(_) = entry {
            *entry = Binding::Set(Bindings::default());
        }
        if let Binding::Set(inner) = entry {
            inner.insert(rest, value);
        }
    }

    fn merge(&mut self, other: Bindings) {
        self.inherits.extend(other.inherits);
        self.inherit_from.extend(other.inherit_from);
        for (name, binding) in other.plain {
            match (self.plain.get_mut(&name), binding) {
                (Some(Binding::Set(existing)), Binding::Set(set)) => existing.merge(set),
                (_, binding) => {
                    self.plain.insert(name, binding);
                }
            }
        }
        self.dynamic.extend(other.dynamic);
    }

    fn show_set(&self) -> String {
        let mut out = String::from("{ ");
        self.show_into(&mut out);
        out.push('}');
        out
    }

    fn show_into(&self, out: &mut String) {
        if !self.inherits.is_empty() {
            show_inherit(out, "inherit", &self.inherits);
        }
        for (from, names) in &self.inherit_from {
            show_inherit(out, &format!("inherit ({from})"), names);
        }
        for (name, binding) in &self.plain {
            out.push_str(name);
            out.push_str(" = ");
            match binding {
                Binding::Shown(shown) => out.push_str(shown),
                Binding::Set(set) => out.push_str(&set.show_set()),
            }
            out.push_str("; ");
        }
        for (name, shown) in &self.dynamic {
            out.push_str(name);
            out.push_str(" = ");
            out.push_str(shown);
            out.push_str("; ");
        }
    }
}

/// `inherit a b; ` (after `head`, which may name the source), the names sorted.
fn show_inherit(out: &mut String, head: &str, names: &[String]) {
    let mut names = names.to_vec();
    names.sort();
    out.push_str(head);
    for name in &names {
        out.push(' ');
        out.push_str(name);
    }
    out.push_str("; ");
}

/// The name of an attribute written without interpolation.
fn static_name(attr: &ast::Attr) -> Option<String> {
    match attr {
        ast::Attr::Ident(ident) => Some(ident.syntax().text().to_string()),
        ast::Attr::Str(string) => crate::compile::static_string(string),
        ast::Attr::Dynamic(_) => None,
    }
}

/// A value that bindings under the same name merge into: a set literal that is not `rec`.
fn mergeable(value: Option<&ast::Expr>) -> Option<ast::AttrSet> {
    let mut value = value?.clone();
    while let ast::Expr::Paren(paren) = &value {
        value = paren.expr()?;
    }
    match value {
        ast::Expr::AttrSet(set) if set.rec_token().is_none() => Some(set),
        _ => None,
    }
}

fn show_bindings(out: &mut String, node: &impl HasEntry) {
    Bindings::of(node).show_into(out);
}

fn show_lambda(out: &mut String, lambda: &ast::Lambda) {
    out.push('(');
    match lambda.param() {
        Some(ast::Param::IdentParam(ident)) => out.push_str(&ident.syntax().text().to_string()),
        Some(ast::Param::Pattern(pattern)) => {
            let mut formals: Vec<(String, Option<String>)> = pattern
                .pat_entries()
                .map(|e| {
                    (e.ident().map_or(String::new(), |i| i.syntax().text().to_string()), e.default().map(|d| show(&d)))
                })
                .collect();
            formals.sort();
            out.push_str("{ ");
            let mut first = true;
            for (name, default) in formals {
                if !first {
                    out.push_str(", ");
                }
                first = false;
                out.push_str(&name);
                if let Some(default) = default {
                    out.push_str(" ? ");
                    out.push_str(&default);
                }
            }
            if pattern.ellipsis_token().is_some() {
                if !first {
                    out.push_str(", ");
                }
                out.push_str("...");
            }
            out.push_str(" }");
            if let Some(bind) = pattern.pat_bind().and_then(|b| b.ident()) {
                out.push_str(" @ ");
                out.push_str(&bind.syntax().text().to_string());
            }
        }
        None => {}
    }
    out.push_str(": ");
    show_opt(out, lambda.body());
    out.push(')');
}
