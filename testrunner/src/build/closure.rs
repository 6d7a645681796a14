//! What a request's derivation needs, computed from the evaluation's records alone: its
//! derivations in dependency order, and the store objects (sources, texts, `.drv` files)
//! they take as inputs, each after the objects it refers to.

use std::collections::{BTreeSet, HashSet};

use nxe_evaluator::AddedPath;
use nxe_store::Derivation;

use super::error::BuildError;
use super::request::BuildRequest;

/// A store object the evaluation knows, other than a derivation's output.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Object<'a> {
    /// A text, source or download recorded by the evaluation.
    Added(&'a AddedPath),
    /// A `.drv` file, whose contents are the derivation's ATerm.
    DrvFile(&'a Derivation),
    /// Something the evaluation did not make (it may already be in the store).
    Unknown,
}

/// What the evaluation knows about the store object `path`.
pub(crate) fn object<'a>(request: &BuildRequest<'a>, path: &str) -> Object<'a> {
    if let Some(added) = request.added_paths.get(path) {
        return Object::Added(added);
    }
    match request.derivations.get(path) {
        Some(drv) => Object::DrvFile(drv),
        None => Object::Unknown,
    }
}

/// The store paths an object refers to: a text's references, a `.drv` file's input sources
/// and input derivations; sources and downloads refer to nothing.
pub(crate) fn object_references(object: Object<'_>) -> BTreeSet<String> {
    match object {
        Object::Added(AddedPath::Text { references, .. }) => references.clone(),
        Object::DrvFile(drv) => drv.input_srcs.iter().chain(drv.input_drvs.keys()).cloned().collect(),
        Object::Added(_) | Object::Unknown => BTreeSet::new(),
    }
}

/// The paths a derivation's builder reads: its input sources and the outputs it uses of
/// its input derivations.
pub(crate) fn input_paths(request: &BuildRequest<'_>, drv: &Derivation) -> Result<BTreeSet<String>, BuildError> {
    let mut paths: BTreeSet<String> = drv.input_srcs.iter().cloned().collect();
    for (input, used) in &drv.input_drvs {
        let input_drv = request.derivation(input)?;
        for name in used {
            let output = input_drv.outputs.get(name).ok_or_else(|| BuildError::Unsupported {
                drv_path: input.clone(),
                reason: format!("it has no output '{name}'"),
            })?;
            paths.insert(output.path.clone());
        }
    }
    Ok(paths)
}

/// The derivations `drv_path` depends on, itself included, inputs before the derivations
/// that use them.
pub(crate) fn derivations_in_order<'a>(request: &BuildRequest<'a>) -> Result<Vec<&'a str>, BuildError> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // An explicit stack keeps deep chains of derivations off the thread's stack.
    let root: &'a str = request.derivations.get_key_value(request.drv_path).map_or(request.drv_path, |(k, _)| k);
    let mut stack: Vec<(&'a str, bool)> = vec![(root, false)];
    while let Some((drv_path, expanded)) = stack.pop() {
        if expanded {
            order.push(drv_path);
            continue;
        }
        if !seen.insert(drv_path) {
            continue;
        }
        let drv = request.derivation(drv_path)?;
        stack.push((drv_path, true));
        for input in drv.input_drvs.keys().rev() {
            if !seen.contains(input.as_str()) {
                stack.push((input.as_str(), false));
            }
        }
    }
    Ok(order)
}

/// Every store object the derivations of `derivations` take as input sources, with what
/// those refer to, each after the objects it refers to.
pub(crate) fn objects_in_order<'a>(request: &BuildRequest<'a>, derivations: &[&'a str]) -> Vec<String> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    for drv_path in derivations {
        let Some(drv) = request.derivations.get(*drv_path) else { continue };
        for src in &drv.input_srcs {
            let mut stack = vec![(src.clone(), false)];
            while let Some((path, expanded)) = stack.pop() {
                if expanded {
                    order.push(path);
                    continue;
                }
                if !seen.insert(path.clone()) {
                    continue;
                }
                let references = object_references(object(request, &path));
                stack.push((path, true));
                stack.extend(references.into_iter().rev().filter(|r| !seen.contains(r)).map(|r| (r, false)));
            }
        }
    }
    order
}
