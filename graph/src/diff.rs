//! [`diff`]: what changed between two fleets (say, two git revisions), root
//! by root, and why.
//!
//! A root whose drvPath changed is explained by walking both graphs from it
//! at once, pairing each derivation's input derivations by name. A pair of
//! derivations that differ is a *cause* when something differs other than
//! which input derivations it uses: environment, builder, arguments,
//! platform, outputs, input sources, added or removed inputs. Derivations
//! that differ only because an input changed are walked through, not
//! reported. An environment value counts as changed only if it still differs
//! once the output paths of changed inputs, the derivation's own output
//! paths and changed sources are replaced by placeholders on both sides, so
//! `PATH=/nix/store/<old>-nginx/bin` becoming `/nix/store/<new>-nginx/bin`
//! is blamed on the nginx input, not on the environment.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use nxe_store::Derivation;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::graph::{DrvGraph, RootKind};
use crate::names::{drv_name, store_path_name};
use crate::normalise::Normaliser;

/// How every root differs between two graphs, sorted by kind then name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetDiff {
    /// One entry per root of either graph.
    pub roots: Vec<RootDiff>,
}

/// How one root differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootDiff {
    /// The kind of root.
    pub kind: RootKind,
    /// Its name.
    pub name: String,
    /// Whether it was added, removed, changed or left alone.
    pub status: RootStatus,
    /// Its drvPath in the old graph.
    pub old: Option<String>,
    /// Its drvPath in the new graph.
    pub new: Option<String>,
    /// How many derivations of its closure differ (0 unless changed).
    pub n_changed: usize,
    /// Why it changed, nearest to the root first (empty unless changed).
    pub causes: Vec<Cause>,
    /// The side on which it failed to evaluate and the error, when it did (see
    /// [`FleetDiff::record_failure`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<(Side, String)>,
}

impl FleetDiff {
    /// Records that a root failed to evaluate on one side (so it is missing from that
    /// graph): it counts as changed, with the error, instead of added or removed.
    pub fn record_failure(&mut self, kind: RootKind, name: &str, side: Side, error: &str) {
        let found = self.roots.iter_mut().find(|root| root.kind == kind && root.name == name);
        let root = match found {
            Some(root) => root,
            None => {
                self.roots.push(RootDiff {
                    kind,
                    name: name.to_owned(),
                    status: RootStatus::Changed,
                    old: None,
                    new: None,
                    n_changed: 0,
                    causes: Vec::new(),
                    error: None,
                });
                self.roots.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
                let Some(root) = self.roots.iter_mut().find(|root| root.kind == kind && root.name == name) else {
                    return;
                };
                root
            }
        };
        root.status = RootStatus::Changed;
        if root.error.is_none() || side == Side::New {
            root.error = Some((side, error.to_owned()));
        }
    }
}

/// What happened to a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RootStatus {
    /// Only in the new graph.
    Added,
    /// Only in the old graph.
    Removed,
    /// Same drvPath in both.
    Unchanged,
    /// Different drvPaths.
    Changed,
}

/// A derivation that differs for a reason of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// Derivation names from the root down to this derivation, both included.
    pub path: Vec<String>,
    /// Its old drvPath.
    pub old: String,
    /// Its new drvPath.
    pub new: String,
    /// What differs, in a fixed order (env, builder, args, platform, outputs, inputs, sources).
    pub changes: Vec<Change>,
}

/// Which of the two graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The graph passed first to [`diff`].
    Old,
    /// The graph passed second.
    New,
}

/// One difference between two paired derivations; values are the full, raw ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum Change {
    /// An environment variable only the new derivation has.
    EnvAdded {
        /// Its name.
        key: String,
        /// Its value.
        value: String,
    },
    /// An environment variable only the old derivation has.
    EnvRemoved {
        /// Its name.
        key: String,
        /// Its value.
        value: String,
    },
    /// An environment variable whose value differs beyond changed store paths.
    EnvChanged {
        /// Its name.
        key: String,
        /// The old value.
        old: String,
        /// The new value.
        new: String,
    },
    /// A different builder.
    BuilderChanged {
        /// The old builder.
        old: String,
        /// The new builder.
        new: String,
    },
    /// Different builder arguments.
    ArgsChanged {
        /// The old arguments.
        old: Vec<String>,
        /// The new arguments.
        new: Vec<String>,
    },
    /// A different platform (`system`).
    PlatformChanged {
        /// The old platform.
        old: String,
        /// The new platform.
        new: String,
    },
    /// An output only the new derivation has.
    OutputAdded {
        /// Its name.
        output: String,
    },
    /// An output only the old derivation has.
    OutputRemoved {
        /// Its name.
        output: String,
    },
    /// A fixed output whose expected hash (or hashing method) differs.
    OutputHashChanged {
        /// The output name.
        output: String,
        /// The old `<method><algo>:<hex>`, empty for an input-addressed output.
        old: String,
        /// The new one.
        new: String,
    },
    /// An input derivation with no counterpart in the old derivation.
    InputDrvAdded {
        /// Its name.
        name: String,
        /// Its drvPath.
        path: String,
    },
    /// An input derivation with no counterpart in the new derivation.
    InputDrvRemoved {
        /// Its name.
        name: String,
        /// Its drvPath.
        path: String,
    },
    /// A paired input derivation of which different outputs are used.
    InputOutputsChanged {
        /// Its name.
        name: String,
        /// The outputs used before.
        old: Vec<String>,
        /// The outputs used now.
        new: Vec<String>,
    },
    /// An input source with no counterpart in the old derivation.
    InputSrcAdded {
        /// Its name.
        name: String,
        /// Its store path.
        path: String,
    },
    /// An input source with no counterpart in the new derivation.
    InputSrcRemoved {
        /// Its name.
        name: String,
        /// Its store path.
        path: String,
    },
    /// An input source of the same name with different contents.
    InputSrcChanged {
        /// Its name.
        name: String,
        /// The old store path.
        old: String,
        /// The new store path.
        new: String,
    },
    /// The derivation is missing from one graph, so it cannot be compared.
    NotEvaluated {
        /// The graph it is missing from.
        side: Side,
    },
    /// The drvPaths differ but none of the above does.
    Unexplained,
}

/// Compares the roots of two graphs and explains every changed root.
pub fn diff(old: &DrvGraph, new: &DrvGraph) -> FleetDiff {
    let mut differ = Differ { old, new, comparisons: FxHashMap::default() };
    let keys: BTreeSet<&(RootKind, String)> = old.roots().keys().chain(new.roots().keys()).collect();
    let roots = keys
        .into_iter()
        .map(|key| {
            let (kind, name) = key.clone();
            let old_path = old.roots().get(key).map(String::as_str);
            let new_path = new.roots().get(key).map(String::as_str);
            let (status, n_changed, causes) = match (old_path, new_path) {
                (Some(o), Some(n)) if o == n => (RootStatus::Unchanged, 0, Vec::new()),
                (Some(o), Some(n)) => {
                    let (n_changed, causes) = differ.explain(o, n);
                    (RootStatus::Changed, n_changed, causes)
                }
                (Some(_), None) => (RootStatus::Removed, 0, Vec::new()),
                _ => (RootStatus::Added, 0, Vec::new()),
            };
            let (old, new) = (old_path.map(str::to_owned), new_path.map(str::to_owned));
            RootDiff { kind, name, status, old, new, n_changed, causes, error: None }
        })
        .collect();
    FleetDiff { roots }
}

/// The differences of one pair of derivations and the pairs of input
/// derivations that differ, to walk into.
struct Comparison<'a> {
    changes: Vec<Change>,
    changed_inputs: Vec<(&'a str, &'a str)>,
}

/// Compares derivation pairs, remembering each pair's result across roots
/// (hosts share most of their closures).
struct Differ<'a> {
    old: &'a DrvGraph,
    new: &'a DrvGraph,
    comparisons: FxHashMap<(&'a str, &'a str), Rc<Comparison<'a>>>,
}

impl<'a> Differ<'a> {
    /// Walks breadth-first from a changed root pair, so each cause gets a
    /// shortest path; returns how many pairs differ and the causes.
    fn explain(&mut self, old_root: &'a str, new_root: &'a str) -> (usize, Vec<Cause>) {
        let mut queue = VecDeque::from([(old_root, new_root, vec![drv_name(new_root).to_owned()])]);
        let mut seen: FxHashSet<(&str, &str)> = FxHashSet::default();
        seen.insert((old_root, new_root));
        let mut causes = Vec::new();
        let mut n_changed = 0;
        while let Some((old_path, new_path, path)) = queue.pop_front() {
            n_changed += 1;
            let comparison = self.compare(old_path, new_path);
            for &(old_input, new_input) in &comparison.changed_inputs {
                if seen.insert((old_input, new_input)) {
                    let mut input_path = path.clone();
                    input_path.push(drv_name(new_input).to_owned());
                    queue.push_back((old_input, new_input, input_path));
                }
            }
            if !comparison.changes.is_empty() {
                let changes = comparison.changes.clone();
                causes.push(Cause { path, old: old_path.to_owned(), new: new_path.to_owned(), changes });
            }
        }
        (n_changed, causes)
    }

    fn compare(&mut self, old_path: &'a str, new_path: &'a str) -> Rc<Comparison<'a>> {
        if let Some(comparison) = self.comparisons.get(&(old_path, new_path)) {
            return Rc::clone(comparison);
        }
        let comparison = Rc::new(match (self.old.derivation(old_path), self.new.derivation(new_path)) {
            (Some(old_drv), Some(new_drv)) => compare_derivations(self.old, self.new, old_drv, new_drv),
            (old_drv, _) => {
                let side = if old_drv.is_none() { Side::Old } else { Side::New };
                Comparison { changes: vec![Change::NotEvaluated { side }], changed_inputs: Vec::new() }
            }
        });
        self.comparisons.insert((old_path, new_path), Rc::clone(&comparison));
        comparison
    }
}

/// Compares two derivations assumed to play the same role (see the module docs).
fn compare_derivations<'a>(
    old_graph: &DrvGraph,
    new_graph: &DrvGraph,
    old: &'a Derivation,
    new: &'a Derivation,
) -> Comparison<'a> {
    let output_names = |graph: &DrvGraph, drv: &Derivation, path: &str| -> String {
        let outputs: Vec<&str> = match graph.derivation(path) {
            Some(input) => input.outputs.keys().map(String::as_str).collect(),
            None => drv.input_drvs[path].iter().map(String::as_str).collect(),
        };
        outputs.join(",")
    };
    let inputs = pair_paths(
        old.input_drvs.keys().map(String::as_str),
        new.input_drvs.keys().map(String::as_str),
        drv_name,
        |side, path| match side {
            Side::Old => output_names(old_graph, old, path),
            Side::New => output_names(new_graph, new, path),
        },
    );
    let sources = pair_paths(
        old.input_srcs.iter().map(String::as_str),
        new.input_srcs.iter().map(String::as_str),
        store_path_name,
        |_, _| String::new(),
    );
    let changed_inputs: Vec<(&str, &str)> = inputs.pairs.iter().copied().filter(|(o, n)| o != n).collect();
    let changed_sources: Vec<(&str, &str)> = sources.pairs.iter().copied().filter(|(o, n)| o != n).collect();

    let normaliser = Normaliser::new((old_graph, new_graph), (old, new), &changed_inputs, &changed_sources);
    let mut changes = Vec::new();
    compare_env(old, new, &normaliser, &mut changes);
    compare_build(old, new, &normaliser, &mut changes);
    compare_outputs(old, new, &mut changes);
    for &(o, n) in &inputs.pairs {
        let (old_outputs, new_outputs) = (&old.input_drvs[o], &new.input_drvs[n]);
        if old_outputs != new_outputs {
            changes.push(Change::InputOutputsChanged {
                name: drv_name(n).to_owned(),
                old: old_outputs.iter().cloned().collect(),
                new: new_outputs.iter().cloned().collect(),
            });
        }
    }
    for path in inputs.removed {
        changes.push(Change::InputDrvRemoved { name: drv_name(path).to_owned(), path: path.to_owned() });
    }
    for path in inputs.added {
        changes.push(Change::InputDrvAdded { name: drv_name(path).to_owned(), path: path.to_owned() });
    }
    for &(o, n) in &changed_sources {
        changes.push(Change::InputSrcChanged {
            name: store_path_name(n).to_owned(),
            old: o.to_owned(),
            new: n.to_owned(),
        });
    }
    for path in sources.removed {
        changes.push(Change::InputSrcRemoved { name: store_path_name(path).to_owned(), path: path.to_owned() });
    }
    for path in sources.added {
        changes.push(Change::InputSrcAdded { name: store_path_name(path).to_owned(), path: path.to_owned() });
    }
    if changes.is_empty() && changed_inputs.is_empty() && old != new {
        changes.push(Change::Unexplained);
    }
    Comparison { changes, changed_inputs }
}

/// Environment variables added, removed or changed after normalisation.
/// Variables named after an output hold that output's path and are skipped:
/// output changes are reported as such.
fn compare_env(old: &Derivation, new: &Derivation, normaliser: &Normaliser, changes: &mut Vec<Change>) {
    let keys: BTreeSet<&String> = old.env.keys().chain(new.env.keys()).collect();
    for key in keys {
        if old.outputs.contains_key(key) || new.outputs.contains_key(key) {
            continue;
        }
        let key_owned = key.clone();
        match (old.env.get(key), new.env.get(key)) {
            (Some(value), None) => changes.push(Change::EnvRemoved { key: key_owned, value: value.clone() }),
            (None, Some(value)) => changes.push(Change::EnvAdded { key: key_owned, value: value.clone() }),
            (Some(o), Some(n)) if !normaliser.same(o, n) => {
                changes.push(Change::EnvChanged { key: key_owned, old: o.clone(), new: n.clone() });
            }
            _ => {}
        }
    }
}

/// Builder, arguments and platform.
fn compare_build(old: &Derivation, new: &Derivation, normaliser: &Normaliser, changes: &mut Vec<Change>) {
    if !normaliser.same(&old.builder, &new.builder) {
        changes.push(Change::BuilderChanged { old: old.builder.clone(), new: new.builder.clone() });
    }
    let same_args =
        old.args.len() == new.args.len() && old.args.iter().zip(&new.args).all(|(o, n)| normaliser.same(o, n));
    if !same_args {
        changes.push(Change::ArgsChanged { old: old.args.clone(), new: new.args.clone() });
    }
    if old.platform != new.platform {
        changes.push(Change::PlatformChanged { old: old.platform.clone(), new: new.platform.clone() });
    }
}

/// Outputs added or removed, and fixed-output hashes. Output paths are not
/// compared: they follow from everything else.
fn compare_outputs(old: &Derivation, new: &Derivation, changes: &mut Vec<Change>) {
    let names: BTreeSet<&String> = old.outputs.keys().chain(new.outputs.keys()).collect();
    for name in names {
        match (old.outputs.get(name), new.outputs.get(name)) {
            (Some(_), None) => changes.push(Change::OutputRemoved { output: name.clone() }),
            (None, Some(_)) => changes.push(Change::OutputAdded { output: name.clone() }),
            (Some(o), Some(n)) if (&o.hash_algo, &o.hash) != (&n.hash_algo, &n.hash) => {
                let fixed =
                    |algo: &str, hash: &str| if hash.is_empty() { String::new() } else { format!("{algo}:{hash}") };
                changes.push(Change::OutputHashChanged {
                    output: name.clone(),
                    old: fixed(&o.hash_algo, &o.hash),
                    new: fixed(&n.hash_algo, &n.hash),
                });
            }
            _ => {}
        }
    }
}

/// Old and new paths paired by name, and the unpaired ones.
struct Pairing<'a> {
    pairs: Vec<(&'a str, &'a str)>,
    removed: Vec<&'a str>,
    added: Vec<&'a str>,
}

/// Pairs paths by `name`. Among several paths of one name, identical paths
/// pair first, then paths with the same `signature` (for derivations, their
/// output names), then the rest in sorted order; leftovers are paired by
/// name without version if that is unambiguous, else removed or added.
fn pair_paths<'a>(
    old: impl Iterator<Item = &'a str>,
    new: impl Iterator<Item = &'a str>,
    name: fn(&str) -> &str,
    signature: impl Fn(Side, &str) -> String,
) -> Pairing<'a> {
    let mut by_name: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for path in old {
        by_name.entry(name(path)).or_default().0.push(path);
    }
    for path in new {
        by_name.entry(name(path)).or_default().1.push(path);
    }
    let mut pairing = Pairing { pairs: Vec::new(), removed: Vec::new(), added: Vec::new() };
    for (_, (mut olds, mut news)) in by_name {
        if olds.len() > 1 || news.len() > 1 {
            take_pairs(&mut olds, &mut news, &mut pairing.pairs, |o, n| o == n);
            take_pairs(&mut olds, &mut news, &mut pairing.pairs, |o, n| {
                signature(Side::Old, o) == signature(Side::New, n)
            });
        }
        let n_paired = olds.len().min(news.len());
        pairing.pairs.extend(olds.iter().copied().zip(news.iter().copied()));
        pairing.removed.extend(&olds[n_paired..]);
        pairing.added.extend(&news[n_paired..]);
    }
    pair_renamed(&mut pairing, name);
    pairing
}

/// Pairs a removed and an added path whose names differ only in the
/// version (`nginx-1.26` and `nginx-1.27`), when each is the only one of
/// its side with that unversioned name: a version bump is explained inside
/// the input rather than as one input replacing another.
fn pair_renamed(pairing: &mut Pairing<'_>, name: fn(&str) -> &str) {
    if pairing.removed.is_empty() || pairing.added.is_empty() {
        return;
    }
    let mut by_unversioned: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for &path in &pairing.removed {
        by_unversioned.entry(unversioned(name(path))).or_default().0.push(path);
    }
    for &path in &pairing.added {
        by_unversioned.entry(unversioned(name(path))).or_default().1.push(path);
    }
    for (olds, news) in by_unversioned.into_values() {
        if let ([old], [new]) = (olds.as_slice(), news.as_slice()) {
            pairing.removed.retain(|path| path != old);
            pairing.added.retain(|path| path != new);
            pairing.pairs.push((*old, *new));
        }
    }
}

/// A name without its version: everything before the first `-` that is
/// followed by something other than a letter (`nginx-1.26` gives `nginx`).
fn unversioned(name: &str) -> &str {
    let bytes = name.as_bytes();
    let end = (0..bytes.len()).find(|&i| bytes[i] == b'-' && !bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic));
    &name[..end.unwrap_or(name.len())]
}

/// Moves each old path and the first new path it `matches` into `pairs`.
fn take_pairs<'a>(
    olds: &mut Vec<&'a str>,
    news: &mut Vec<&'a str>,
    pairs: &mut Vec<(&'a str, &'a str)>,
    matches: impl Fn(&str, &str) -> bool,
) {
    olds.retain(|&o| match news.iter().position(|&n| matches(o, n)) {
        Some(i) => {
            pairs.push((o, news.remove(i)));
            false
        }
        None => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unversioned_names_stop_before_the_first_dash_and_non_letter() {
        assert_eq!(unversioned("nginx-1.26"), "nginx");
        assert_eq!(unversioned("python3.12-requests-2.32.3"), "python3.12-requests");
        assert_eq!(unversioned("system-web-01"), "system-web");
        assert_eq!(unversioned("etc"), "etc");
        assert_eq!(unversioned("trailing-"), "trailing");
    }

    #[test]
    fn renamed_paths_pair_only_when_unambiguous() {
        let old = ["/s/a-foo-1.0", "/s/b-bar-1.0", "/s/c-bar-2.0"];
        let new = ["/s/d-foo-1.1", "/s/e-bar-3.0"];
        let pairing = pair_paths(old.into_iter(), new.into_iter(), store_path_name, |_, _| String::new());
        assert_eq!(pairing.pairs, [("/s/a-foo-1.0", "/s/d-foo-1.1")]);
        assert_eq!(pairing.removed, ["/s/b-bar-1.0", "/s/c-bar-2.0"]);
        assert_eq!(pairing.added, ["/s/e-bar-3.0"]);
    }
}
