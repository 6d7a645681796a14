//! Exports of the graph, whole or restricted to the closures of some roots:
//! JSON for tools ([`DrvGraph::to_json`]) and Graphviz DOT for people
//! ([`DrvGraph::to_dot`]).
//!
//! Both are deterministic: roots, derivations, outputs, inputs and edges
//! are written sorted, so two runs over the same fleet print identical bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::graph::{DrvGraph, GraphError, RootKind};
use crate::names::drv_name;

impl DrvGraph {
    /// The graph as JSON, restricted to the closures of the roots named in
    /// `roots` when given (a name selects the roots of every kind that have it):
    ///
    /// ```json
    /// {"roots": {"check": {"web-01.vm-test": "/nix/store/…-vm-test.drv"},
    ///            "host": {"web-01": "/nix/store/…-system-web-01.drv"}},
    ///  "derivations": {"/nix/store/…-nginx.drv": {"name": "nginx",
    ///      "outputs": {"out": "/nix/store/…-nginx"},
    ///      "inputDrvs": ["/nix/store/…"], "inputSrcs": ["/nix/store/…"]}}}
    /// ```
    ///
    /// Object keys and arrays are sorted. Inputs referenced but never added
    /// appear in `inputDrvs` only (see [`DrvGraph::missing_inputs`]).
    pub fn to_json(&self, roots: Option<&[String]>) -> Result<Value, GraphError> {
        let selected = self.select_roots(roots)?;
        let mut roots_by_kind: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
        for kind in [RootKind::Host, RootKind::Check] {
            roots_by_kind.insert(kind.as_str(), Map::new());
        }
        for ((kind, name), path) in &selected {
            roots_by_kind.entry(kind.as_str()).or_default().insert(name.clone(), Value::from(path.as_str()));
        }
        let mut derivations = Map::new();
        for path in self.sorted_closure(roots, &selected) {
            let Some(drv) = self.derivation(path) else { continue };
            let mut entry = Map::new();
            entry.insert("name".into(), drv_name(path).into());
            let outputs = drv.outputs.iter().map(|(name, out)| (name.clone(), Value::from(out.path.as_str())));
            entry.insert("outputs".into(), Value::Object(outputs.collect()));
            entry.insert("inputDrvs".into(), drv.input_drvs.keys().map(String::as_str).collect());
            entry.insert("inputSrcs".into(), drv.input_srcs.iter().map(String::as_str).collect());
            derivations.insert(path.to_owned(), Value::Object(entry));
        }
        let mut json = Map::new();
        let roots_json = roots_by_kind.into_iter().map(|(kind, map)| (kind.to_owned(), Value::Object(map)));
        json.insert("roots".into(), Value::Object(roots_json.collect()));
        json.insert("derivations".into(), Value::Object(derivations));
        Ok(Value::Object(json))
    }

    /// The graph in Graphviz DOT, restricted like [`DrvGraph::to_json`].
    ///
    /// Nodes are identified by drvPath and labelled with the derivation
    /// name; roots are filled (hosts blue, checks yellow) and list their
    /// root names under it; inputs that were never added are dashed. Edges
    /// point from a derivation to its inputs.
    pub fn to_dot(&self, roots: Option<&[String]>) -> Result<String, GraphError> {
        let selected = self.select_roots(roots)?;
        let mut root_names: BTreeMap<&str, Vec<(RootKind, &str)>> = BTreeMap::new();
        for ((kind, name), path) in &selected {
            root_names.entry(path.as_str()).or_default().push((*kind, name.as_str()));
        }
        let nodes = self.sorted_closure(roots, &selected);
        let mut dot = String::from("digraph derivations {\n  node [shape=box];\n");
        for &path in &nodes {
            let mut label = escape(drv_name(path));
            let mut styles = Vec::new();
            let mut fill = None;
            if let Some(names) = root_names.get(path) {
                for (kind, name) in names {
                    let _ = write!(label, "\\n{kind} {}", escape(name));
                }
                styles.extend(["filled", "bold"]);
                let is_host = names.iter().any(|(kind, _)| *kind == RootKind::Host);
                fill = Some(if is_host { "lightblue" } else { "khaki" });
            }
            if self.derivation(path).is_none() {
                styles.push("dashed");
            }
            let mut attributes = String::new();
            if !styles.is_empty() {
                let _ = write!(attributes, ", style=\"{}\"", styles.join(","));
            }
            if let Some(color) = fill {
                let _ = write!(attributes, ", fillcolor={color}");
            }
            let _ = writeln!(dot, "  \"{}\" [label=\"{label}\"{attributes}];", escape(path));
        }
        for &path in &nodes {
            let Some(drv) = self.derivation(path) else { continue };
            for input in drv.input_drvs.keys() {
                let _ = writeln!(dot, "  \"{}\" -> \"{}\";", escape(path), escape(input));
            }
        }
        dot.push_str("}\n");
        Ok(dot)
    }

    /// The drvPaths to export, sorted: every node when no roots were named,
    /// else the closures of the selected roots.
    fn sorted_closure(&self, names: Option<&[String]>, selected: &BTreeMap<(RootKind, String), String>) -> Vec<&str> {
        if names.is_none() {
            return self.drv_paths().collect();
        }
        let nodes = self.closure_of_roots(selected.values());
        let paths: BTreeSet<&str> = nodes.into_iter().map(|node| self.petgraph()[node].path.as_str()).collect();
        paths.into_iter().collect()
    }
}

/// Escapes `text` for a double-quoted DOT string.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}
