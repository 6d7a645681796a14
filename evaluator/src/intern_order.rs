//! The order in which the reference's evaluator first names identifiers, which decides two
//! things observable:
//! - in a `rec` set or a `let`, a binding that is just another binding's name (`b = a;`)
//!   shares that binding's value cell only when the reference fills `a`'s slot before
//!   `b`'s, and it fills them in the order it first named them; lists printed twice through
//!   one cell are `«repeated»` in strict output, so the order shows there;
//! - a set keeps its attributes in that order, and `--strict` and `deepSeq` force them in
//!   it, so when several fail, it decides whose error is reported (an evaluator counts each
//!   file's names when it first evaluates it: `Evaluator::rank_names`).
//!
//! The reference names its own symbols and the builtins' names first ([`PREINTERNED`],
//! in its order, measured against it); then its parser names identifiers as it reduces
//! them: in the order of the text, except that a function's parameter (`x: …`, the `@`
//! name of a pattern) is named after the function's body, and a formal with a default
//! after its default. For aliases, names are ranked per file (a name seen first in another
//! file the reference parsed earlier is ranked here by this file alone).

use crate::ir::Expr;
use crate::symbol::Symbol;
use rnix::{SyntaxKind, SyntaxNode};
use rustc_hash::FxHashMap;
use std::sync::{Mutex, OnceLock};

/// Names the reference has before it parses anything, in the order it named them.
const PREINTERNED: &[&str] = &[
    "outPath",
    "drvPath",
    "type",
    "meta",
    "name",
    "value",
    "system",
    "outputs",
    "outputName",
    "__ignoreNulls",
    "file",
    "line",
    "column",
    "__functor",
    "__toString",
    "right",
    "wrong",
    "__structuredAttrs",
    "__json",
    "allowedReferences",
    "allowedRequisites",
    "disallowedReferences",
    "disallowedRequisites",
    "maxSize",
    "maxClosureSize",
    "builder",
    "args",
    "__contentAddressed",
    "__impure",
    "outputHash",
    "outputHashAlgo",
    "outputHashMode",
    "recurseForDerivations",
    "description",
    "self",
    "startSet",
    "operator",
    "key",
    "path",
    "prefix",
    "outputSpecified",
    "__sub",
    "__lessThan",
    "__mul",
    "__div",
    "__findFile",
    "__nixPath",
    "builtins",
    "true",
    "false",
    "null",
    "__currentTime",
    "currentTime",
    "__currentSystem",
    "currentSystem",
    "__nixVersion",
    "nixVersion",
    "__storeDir",
    "storeDir",
    "__langVersion",
    "langVersion",
    "__traceVerbose",
    "traceVerbose",
    "nixPath",
    "scopedImport",
    "import",
    "__typeOf",
    "typeOf",
    "isNull",
    "__isFunction",
    "isFunction",
    "__isInt",
    "isInt",
    "__isFloat",
    "isFloat",
    "__isString",
    "isString",
    "__isBool",
    "isBool",
    "__isPath",
    "isPath",
    "__genericClosure",
    "genericClosure",
    "break",
    "abort",
    "throw",
    "__addErrorContext",
    "addErrorContext",
    "__ceil",
    "ceil",
    "__floor",
    "floor",
    "__tryEval",
    "tryEval",
    "__getEnv",
    "getEnv",
    "__seq",
    "seq",
    "__deepSeq",
    "deepSeq",
    "__trace",
    "trace",
    "__warn",
    "warn",
    "derivationStrict",
    "placeholder",
    "__toPath",
    "toPath",
    "__storePath",
    "storePath",
    "__pathExists",
    "pathExists",
    "baseNameOf",
    "dirOf",
    "__readFile",
    "readFile",
    "findFile",
    "__hashFile",
    "hashFile",
    "__readFileType",
    "readFileType",
    "__readDir",
    "readDir",
    "__toXML",
    "toXML",
    "__toJSON",
    "toJSON",
    "__fromJSON",
    "fromJSON",
    "__toFile",
    "toFile",
    "__filterSource",
    "filterSource",
    "__path",
    "__attrNames",
    "attrNames",
    "__attrValues",
    "attrValues",
    "__getAttr",
    "getAttr",
    "__unsafeGetAttrPos",
    "unsafeGetAttrPos",
    "__hasAttr",
    "hasAttr",
    "__isAttrs",
    "isAttrs",
    "removeAttrs",
    "__listToAttrs",
    "listToAttrs",
    "__intersectAttrs",
    "intersectAttrs",
    "__catAttrs",
    "catAttrs",
    "__functionArgs",
    "functionArgs",
    "__mapAttrs",
    "mapAttrs",
    "__zipAttrsWith",
    "zipAttrsWith",
    "__isList",
    "isList",
    "__elemAt",
    "elemAt",
    "__head",
    "head",
    "__tail",
    "tail",
    "map",
    "__filter",
    "filter",
    "__elem",
    "elem",
    "__concatLists",
    "concatLists",
    "__length",
    "length",
    "__foldl'",
    "foldl'",
    "__any",
    "any",
    "__all",
    "all",
    "__genList",
    "genList",
    "__sort",
    "sort",
    "__partition",
    "partition",
    "__groupBy",
    "groupBy",
    "__concatMap",
    "concatMap",
    "__add",
    "add",
    "sub",
    "mul",
    "div",
    "__bitAnd",
    "bitAnd",
    "__bitOr",
    "bitOr",
    "__bitXor",
    "bitXor",
    "lessThan",
    "toString",
    "__substring",
    "substring",
    "__stringLength",
    "stringLength",
    "__hashString",
    "hashString",
    "__convertHash",
    "convertHash",
    "__match",
    "match",
    "__split",
    "split",
    "__concatStringsSep",
    "concatStringsSep",
    "__replaceStrings",
    "replaceStrings",
    "__parseDrvName",
    "parseDrvName",
    "__compareVersions",
    "compareVersions",
    "__splitVersion",
    "splitVersion",
    "__unsafeDiscardStringContext",
    "unsafeDiscardStringContext",
    "__hasContext",
    "hasContext",
    "__unsafeDiscardOutputDependency",
    "unsafeDiscardOutputDependency",
    "__addDrvOutputDependencies",
    "addDrvOutputDependencies",
    "__getContext",
    "getContext",
    "__appendContext",
    "appendContext",
    "fetchMercurial",
    "__fetchurl",
    "fetchurl",
    "fetchTarball",
    "fetchGit",
    "fromTOML",
    "__getFlake",
    "getFlake",
    "__parseFlakeRef",
    "parseFlakeRef",
    "__flakeRefToString",
    "flakeRefToString",
    "derivation",
    "strict",
    "drvAttrs",
    "commonAttrs",
    "outputsList",
    "x",
    "outputToAttrListElement",
];

/// A file's names in the order the reference names them while parsing it.
pub(crate) struct Naming {
    /// The rank of each name of the file the reference does not have before, counted after
    /// those it has (see [`rank`]).
    ranks: FxHashMap<Symbol, u32>,
    /// Those names, in the order the reference names them.
    pub(crate) order: Vec<Symbol>,
}

impl Naming {
    /// The naming of the file whose tree is `root`.
    pub(crate) fn of(root: &SyntaxNode) -> Naming {
        let mut naming = Naming { ranks: FxHashMap::default(), order: Vec::new() };
        naming.visit(root);
        naming
    }

    /// A name's rank: a name the reference has before parsing by its place in
    /// [`PREINTERNED`], the file's after them; `None` for a name not in the file.
    pub(crate) fn rank(&self, name: Symbol) -> Option<u32> {
        rank(name, &self.ranks)
    }

    fn name(&mut self, text: &str) {
        let name = Symbol::intern(text);
        if preinterned_ranks().contains_key(&name) {
            return;
        }
        let next = self.order.len() as u32;
        if let std::collections::hash_map::Entry::Vacant(entry) = self.ranks.entry(name) {
            entry.insert(next);
            self.order.push(name);
        }
    }

    fn visit(&mut self, node: &SyntaxNode) {
        match node.kind() {
            SyntaxKind::NODE_IDENT => self.name_ident(node),
            SyntaxKind::NODE_LAMBDA => {
                // Named once the body is parsed.
                let mut later = Vec::new();
                for child in node.children() {
                    match child.kind() {
                        SyntaxKind::NODE_IDENT_PARAM => later.extend(first_ident(&child)),
                        SyntaxKind::NODE_PATTERN => {
                            for part in child.children() {
                                match part.kind() {
                                    SyntaxKind::NODE_PAT_BIND => later.extend(first_ident(&part)),
                                    SyntaxKind::NODE_PAT_ENTRY => {
                                        let mut children = part.children();
                                        let ident = children.next();
                                        for default in children {
                                            self.visit(&default);
                                        }
                                        if let Some(ident) = ident {
                                            self.visit(&ident);
                                        }
                                    }
                                    _ => self.visit(&part),
                                }
                            }
                        }
                        _ => self.visit(&child),
                    }
                }
                for ident in later {
                    self.name_ident(&ident);
                }
            }
            SyntaxKind::NODE_STRING if node.parent().is_some_and(|p| p.kind() == SyntaxKind::NODE_ATTRPATH) => {
                // A quoted attribute name without interpolation is a name like any other.
                if node.children().next().is_none() {
                    let text = node.text().to_string();
                    self.name(text.trim_matches('"'));
                }
            }
            _ => {
                for child in node.children() {
                    self.visit(&child);
                }
            }
        }
    }

    fn name_ident(&mut self, ident: &SyntaxNode) {
        if let Some(token) = ident.first_token() {
            self.name(token.text());
        }
    }
}

/// The names the reference has before it parses anything, by their place in its order.
fn preinterned_ranks() -> &'static FxHashMap<Symbol, u32> {
    static RANKS: OnceLock<FxHashMap<Symbol, u32>> = OnceLock::new();
    RANKS.get_or_init(|| PREINTERNED.iter().enumerate().map(|(i, name)| (Symbol::intern(name), i as u32)).collect())
}

/// A name's rank: a name the reference has before parsing by its place in
/// [`PREINTERNED`], any other by its rank in `later` (from 0), counted after those.
pub(crate) fn rank(name: Symbol, later: &FxHashMap<Symbol, u32>) -> Option<u32> {
    match preinterned_ranks().get(&name) {
        Some(rank) => Some(*rank),
        None => later.get(&name).map(|rank| PREINTERNED.len() as u32 + rank),
    }
}

/// The naming order of each compiled file, by the address of its tree (trees live as long
/// as the process: see [`crate::ir`]).
static FILE_NAMES: Mutex<Option<FxHashMap<usize, &'static [Symbol]>>> = Mutex::new(None);

/// Records the naming order of the file compiled to `root`.
pub(crate) fn register(root: &'static Expr, names: Vec<Symbol>) {
    let names: &'static [Symbol] = Box::leak(names.into_boxed_slice());
    let mut files = FILE_NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    files.get_or_insert_with(FxHashMap::default).insert(root as *const Expr as usize, names);
}

/// The naming order of the file compiled to `root`, if it was recorded.
pub(crate) fn names_of(root: &'static Expr) -> &'static [Symbol] {
    let files = FILE_NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    files.as_ref().and_then(|files| files.get(&(root as *const Expr as usize)).copied()).unwrap_or(&[])
}

fn first_ident(node: &SyntaxNode) -> Option<SyntaxNode> {
    node.children().find(|c| c.kind() == SyntaxKind::NODE_IDENT)
}
