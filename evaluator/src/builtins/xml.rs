//! `builtins.toXML`: the reference's XML rendering of a value, forced deeply on the way.
//!
//! The layout is the reference's: an `<?xml …?>` header, an `<expr>` root, two spaces of
//! indentation per open element, one element per line, attributes of an element sorted by
//! name, and only `"`, `<`, `>`, `&` and newline escaped in attribute values. Sets are
//! `<attrs>` with one `<attr name=…>` per attribute in name order; derivations are
//! `<derivation drvPath=… outPath=…>` and print their attributes only the first time a
//! `drvPath` is met (later as `<repeated />`). The result string carries the context of
//! every string printed.

use crate::error::EvalResult;
use crate::eval::Evaluator;
use crate::ir::Param;
use crate::source::Span;
use crate::value::{Attrs, Closure, ContextElem, Forces, NixString, PrimOp, Value};
use std::collections::{BTreeSet, HashSet};

pub(super) static PRIMOPS: &[PrimOp] =
    &[PrimOp { name: "toXML", arity: 1, func: builtin_to_xml, forces: Forces::Nothing }];

fn builtin_to_xml(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let mut writer = XmlWriter::new();
    writer.open("expr", &[]);
    writer.value(ev, &args[0])?;
    writer.close();
    let XmlWriter { out, context, .. } = writer;
    Ok(Value::String(NixString::with_context(&out, context)))
}

/// The output being built, the open elements, and what was collected on the way.
struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
    context: BTreeSet<ContextElem>,
    drvs_seen: HashSet<String>,
}

impl XmlWriter {
    fn new() -> XmlWriter {
        let out = String::from("<?xml version='1.0' encoding='utf-8'?>\n");
        XmlWriter { out, open: Vec::new(), context: BTreeSet::new(), drvs_seen: HashSet::new() }
    }

    fn indent(&mut self, depth: usize) {
        self.out.extend(std::iter::repeat_n(' ', depth * 2));
    }

    /// Writes ` name="value"` for each attribute; callers pass them sorted by name.
    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
    }

    fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.indent(self.open.len());
        self.out.push('<');
        self.out.push_str(name);
        self.attrs(attrs);
        self.out.push_str(">\n");
        self.open.push(name);
    }

    fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            self.indent(self.open.len());
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent(self.open.len());
        self.out.push('<');
        self.out.push_str(name);
        self.attrs(attrs);
        self.out.push_str(" />\n");
    }

    /// Writes one value, forcing it first.
    fn value(&mut self, ev: &mut Evaluator, value: &Value) -> EvalResult<()> {
        let value = ev.force(value)?;
        match &value {
            Value::Int(n) => self.empty("int", &[("value", &n.to_string())]),
            Value::Bool(b) => self.empty("bool", &[("value", if *b { "true" } else { "false" })]),
            Value::String(s) => {
                self.context.extend(s.context().iter().cloned());
                self.empty("string", &[("value", s.as_str())]);
            }
            Value::Path(p) => self.empty("path", &[("value", p)]),
            Value::Null => self.empty("null", &[]),
            Value::Float(f) => self.empty("float", &[("value", &crate::print::format_float(*f))]),
            Value::Attrs(attrs) => {
                if super::is_derivation(ev, attrs)? {
                    self.derivation(ev, attrs)?;
                } else {
                    self.open("attrs", &[]);
                    self.attr_list(ev, attrs)?;
                    self.close();
                }
            }
            Value::List(items) => {
                self.open("list", &[]);
                for item in items.iter() {
                    self.value(ev, item)?;
                }
                self.close();
            }
            Value::Lambda(closure) => self.function(closure),
            Value::PrimOp(_) | Value::PrimOpApp(_) | Value::Thunk(_) => self.empty("unevaluated", &[]),
        }
        Ok(())
    }

    /// `<attr name=…>` for every attribute, in name order.
    fn attr_list(&mut self, ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<()> {
        for attr in attrs.iter() {
            self.open("attr", &[("name", attr.name.as_str())]);
            // No frame: the reference's XML printing adds none for an attribute.
            self.value(ev, &attr.value)?;
            self.close();
        }
        Ok(())
    }

    /// A derivation: its paths as attributes, its attributes the first time only.
    fn derivation(&mut self, ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<()> {
        let drv_path = string_attr(ev, attrs, ev.sym.drv_path)?;
        let out_path = string_attr(ev, attrs, ev.sym.out_path)?;
        let mut xml_attrs: Vec<(&str, &str)> = Vec::new();
        if let Some(path) = &drv_path {
            xml_attrs.push(("drvPath", path));
        }
        if let Some(path) = &out_path {
            xml_attrs.push(("outPath", path));
        }
        self.open("derivation", &xml_attrs);
        let drv_path = drv_path.unwrap_or_default();
        if !drv_path.is_empty() && self.drvs_seen.insert(drv_path) {
            self.attr_list(ev, attrs)?;
        } else {
            self.empty("repeated", &[]);
        }
        self.close();
        Ok(())
    }

    /// `<function>` with the shape of its parameter.
    fn function(&mut self, closure: &Closure) {
        self.open("function", &[]);
        match &closure.def.param {
            Param::Ident(name) => self.empty("varpat", &[("name", name.as_str())]),
            Param::Pattern { formals, ellipsis, bind } => {
                let mut pattern_attrs: Vec<(&str, &str)> = Vec::new();
                if *ellipsis {
                    pattern_attrs.push(("ellipsis", "1"));
                }
                if let Some(name) = bind {
                    pattern_attrs.push(("name", name.as_str()));
                }
                self.open("attrspat", &pattern_attrs);
                let mut names: Vec<&str> = formals.iter().map(|(name, _)| name.as_str()).collect();
                names.sort_unstable();
                for name in names {
                    self.empty("attr", &[("name", name)]);
                }
                self.close();
            }
        }
        self.close();
    }
}

/// The value of an attribute if it is (after forcing) a string.
fn string_attr(ev: &mut Evaluator, attrs: &Attrs, name: crate::symbol::Symbol) -> EvalResult<Option<String>> {
    let Some(value) = attrs.get(name).cloned() else { return Ok(None) };
    match ev.force(&value)? {
        Value::String(s) => Ok(Some(s.as_str().to_string())),
        _ => Ok(None),
    }
}

/// Escapes an attribute value as the reference's XML writer does.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("&#xA;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    #[test]
    fn only_markup_and_newlines_are_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "<&>\"'\t\né");
        assert_eq!(out, "&lt;&amp;&gt;&quot;'\t&#xA;é");
    }
}
