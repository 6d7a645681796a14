//! Snapshots of hosts' values, so that a unit test about the whole fleet does not evaluate
//! every host again after one host changed.
//!
//! After a test evaluates hosts, [`capture`] notes what it forced of each host's value (its
//! [`Shape`]: the sets and lists it went into, by name and index). A snapshot unit then
//! evaluates one host alone on a fresh recording evaluator, forces that shape and keeps the
//! values found there ([`take`]: a [`Snap`]), with the unit's read set. When tests run
//! again, every host whose snapshot's read set still holds is seeded with the snapshot
//! ([`seed`]) instead of being evaluated: the host's value is rebuilt from it when a test
//! first forces it, and the test is charged with the snapshot's read set. What the snapshot
//! lacks (a value nobody forced before, a function, a string with context) is a thunk that
//! stops the evaluation uncatchably when forced; the tests are then evaluated again without
//! snapshots, so a snapshot can make a test faster but never change its result.

use crate::fleet::Worker;
use crate::reads::ReadSet;
use nxe_evaluator::source::Pos;
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::value::{Attr, Attrs, Shared, Thunk, ThunkCell, ThunkState};
use nxe_evaluator::{ErrorKind, EvalResult, Evaluator, Value};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

/// What an evaluation forced of a value: the forced members of a set or a list; `Leaf` for
/// any other forced value, and for a set or list none of whose members was forced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// Forced, and nothing below it.
    #[default]
    Leaf,
    /// A set and its forced attributes.
    Attrs(BTreeMap<String, Shape>),
    /// A list and its forced elements, by index.
    List(BTreeMap<usize, Shape>),
}

impl Shape {
    /// Everything `self` or `other` covers (where the two disagree on what a value is,
    /// `other`, the newer).
    pub fn union(self, other: Shape) -> Shape {
        match (self, other) {
            (Shape::Attrs(a), Shape::Attrs(b)) => Shape::Attrs(unite(a, b)),
            (Shape::List(a), Shape::List(b)) => Shape::List(unite(a, b)),
            (old, Shape::Leaf) => old,
            (_, new) => new,
        }
    }

    /// Whether `self.union(other)` is `self`: `other` adds nothing.
    pub fn covers(&self, other: &Shape) -> bool {
        match (self, other) {
            (_, Shape::Leaf) => true,
            (Shape::Attrs(a), Shape::Attrs(b)) => b.iter().all(|(k, s)| a.get(k).is_some_and(|o| o.covers(s))),
            (Shape::List(a), Shape::List(b)) => b.iter().all(|(k, s)| a.get(k).is_some_and(|o| o.covers(s))),
            _ => false,
        }
    }
}

/// The members of two sets' or lists' shapes, united member by member.
fn unite<K: Ord>(mut a: BTreeMap<K, Shape>, b: BTreeMap<K, Shape>) -> BTreeMap<K, Shape> {
    for (key, shape) in b {
        let merged = match a.remove(&key) {
            Some(old) => old.union(shape),
            None => shape,
        };
        a.insert(key, merged);
    }
    a
}

/// A host's value as far as a shape reaches: what was forced there, and `Miss` for what was
/// not or cannot be kept (functions, strings with context, errors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Snap {
    /// Not kept: forcing it stops the evaluation that uses the snapshot.
    Miss,
    /// `null`.
    Null,
    /// A Boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float, by its bits (exact).
    Float(u64),
    /// A string without context.
    Str(String),
    /// A path.
    Path(String),
    /// A set: every attribute, in the set's order.
    Attrs(Vec<(String, Snap)>),
    /// A list: every element.
    List(Vec<Snap>),
}

/// A snapshot of a host's value, valid while its read set holds.
#[derive(Debug)]
pub struct HostSnapshot {
    /// What the snapshot's evaluation read.
    pub reads: ReadSet,
    /// What it forced.
    pub shape: Shape,
    /// What it found there.
    pub snap: Arc<Snap>,
}

/// The remembered snapshots of a context's hosts.
#[derive(Debug, Default)]
pub struct HostSnapshots {
    /// By host, the newest snapshot whose read set holds in the state at hand.
    pub valid: BTreeMap<String, Arc<HostSnapshot>>,
    /// By host, the newest shape (of a snapshot valid or not); shared, since every batch of
    /// tests takes these snapshots with the run's fresh ones added.
    pub shapes: Arc<BTreeMap<String, Shape>>,
}

/// Snapshots loaded when first asked for, on whichever thread asks first (an idle worker,
/// while a host evaluates), since reading and checking them takes a few milliseconds that a
/// run need not wait for before it starts evaluating.
pub struct LazySnapshots<'a> {
    load: std::sync::Mutex<Option<SnapshotLoader<'a>>>,
    loaded: std::sync::OnceLock<HostSnapshots>,
}

/// What loads [`LazySnapshots`], given the state their read sets are checked against.
pub type SnapshotLoader<'a> = Box<dyn FnOnce(&crate::reads::State) -> HostSnapshots + Send + 'a>;

impl<'a> LazySnapshots<'a> {
    /// Snapshots that `load` gives when first asked for.
    pub fn new(load: SnapshotLoader<'a>) -> Self {
        LazySnapshots { load: std::sync::Mutex::new(Some(load)), loaded: std::sync::OnceLock::new() }
    }

    /// Snapshots already at hand.
    pub fn ready(snapshots: HostSnapshots) -> Self {
        LazySnapshots { load: std::sync::Mutex::new(None), loaded: std::sync::OnceLock::from(snapshots) }
    }

    /// The snapshots, loaded now (checked against `state`) if nothing loaded them yet; a
    /// thread asking while another loads them waits for it.
    pub fn get(&self, state: &crate::reads::State) -> &HostSnapshots {
        self.loaded.get_or_init(|| {
            let load = self.load.lock().ok().and_then(|mut load| load.take());
            load.map(|load| load(state)).unwrap_or_default()
        })
    }

    /// The same snapshots with the path `from` replaced by `to` once loaded.
    pub fn relocated(self, from: String, to: String) -> LazySnapshots<'a> {
        let LazySnapshots { load, loaded } = self;
        if let Some(snapshots) = loaded.into_inner() {
            return LazySnapshots::ready(snapshots.relocated(&from, &to));
        }
        match load.into_inner().ok().flatten() {
            Some(load) => LazySnapshots::new(Box::new(move |state| load(state).relocated(&from, &to))),
            None => LazySnapshots::ready(HostSnapshots::default()),
        }
    }
}

/// A snapshot to remember: host, reads, shape, snapshot.
pub type SnapshotEntry = (String, ReadSet, Shape, Snap);

impl HostSnapshot {
    /// The snapshot of an entry taken in this run (its read set holds: it was just taken),
    /// with its host.
    pub fn of_entry((host, reads, shape, snap): &SnapshotEntry) -> (String, Arc<HostSnapshot>) {
        let snapshot = HostSnapshot { reads: reads.clone(), shape: shape.clone(), snap: Arc::new(snap.clone()) };
        (host.clone(), Arc::new(snapshot))
    }
}

impl HostSnapshots {
    /// These snapshots, with those of `fresh` (taken in this run) in place of their hosts'.
    pub fn with_fresh(&self, fresh: impl IntoIterator<Item = (String, Arc<HostSnapshot>)>) -> HostSnapshots {
        let mut valid = self.valid.clone();
        valid.extend(fresh);
        HostSnapshots { valid, shapes: self.shapes.clone() }
    }

    /// The snapshots tests may be given: the valid ones that hold a value.
    pub fn usable(&self) -> BTreeMap<String, Arc<HostSnapshot>> {
        self.valid.iter().filter(|(_, s)| *s.snap != Snap::Miss).map(|(h, s)| (h.clone(), s.clone())).collect()
    }

    /// The same snapshots with the path `from` (and what is below it) replaced by `to`.
    pub fn relocated(&self, from: &str, to: &str) -> HostSnapshots {
        let valid = self
            .valid
            .iter()
            .map(|(host, snapshot)| {
                let mut snap = (*snapshot.snap).clone();
                snap.relocate(from, to);
                let moved =
                    HostSnapshot { reads: snapshot.reads.clone(), shape: snapshot.shape.clone(), snap: Arc::new(snap) };
                (host.clone(), Arc::new(moved))
            })
            .collect();
        HostSnapshots { valid, shapes: self.shapes.clone() }
    }

    /// What tests forced of `host` in this run and earlier ones: its entry in `forced`, else
    /// the newest remembered shape (see [`HostSnapshots::note_forced`]).
    pub fn shape_forced<'s>(&'s self, forced: &'s BTreeMap<String, Shape>, host: &str) -> Option<&'s Shape> {
        forced.get(host).or_else(|| self.shapes.get(host))
    }

    /// Notes in `forced` (what tests forced of each host in this run and earlier ones, where
    /// it grew past [`HostSnapshots::shapes`]: start it empty, and read it through
    /// [`HostSnapshots::shape_forced`]) what some tests forced (`shapes`) and whose
    /// snapshots lacked a value (`missed`). Gives the hosts whose snapshots are to be taken
    /// again (with their shape there), and entries that mark as not to be used, while
    /// they hold, snapshots that lacked a value although they have all a snapshot can have
    /// (a function, a string with context): tests evaluate those hosts. Hosts in `fresh`
    /// have a snapshot taken in this run, with the shape given there.
    pub fn note_forced(
        &self,
        forced: &mut BTreeMap<String, Shape>,
        shapes: BTreeMap<String, Shape>,
        missed: &BTreeSet<String>,
        fresh: &BTreeMap<String, Shape>,
    ) -> (Vec<String>, Vec<SnapshotEntry>) {
        let mut retake = Vec::new();
        let mut unusable = Vec::new();
        for (host, shape) in shapes {
            // Nothing is copied when the remembered shape covers what the tests forced (the
            // same tests as last time, the usual case).
            let shape = match (forced.remove(&host), self.shapes.get(&host)) {
                (Some(old), _) => Cow::Owned(old.union(shape)),
                (None, Some(remembered)) if remembered.covers(&shape) => Cow::Borrowed(remembered),
                (None, Some(remembered)) => Cow::Owned(remembered.clone().union(shape)),
                (None, None) => Cow::Owned(shape),
            };
            if fresh.get(&host) != Some(&*shape) {
                match self.valid.get(&host).filter(|s| s.shape == *shape) {
                    Some(current) if missed.contains(&host) && *current.snap != Snap::Miss => {
                        unusable.push((host.clone(), current.reads.clone(), shape.clone().into_owned(), Snap::Miss));
                    }
                    Some(_) => {}
                    None => retake.push(host.clone()),
                }
            }
            if let Cow::Owned(shape) = shape {
                forced.insert(host, shape);
            }
        }
        (retake, unusable)
    }
}

/// Stands for the repository's root in remembered snapshots (a Nix string cannot hold a
/// NUL, so no value contains it by chance).
pub const PLACE: &str = "\0root\0";

impl Snap {
    /// Replaces the path `from` (where a path or string names it or something below it) by
    /// `to`.
    pub fn relocate(&mut self, from: &str, to: &str) {
        let below = format!("{from}/");
        let fix = |text: &mut String| {
            if text == from {
                *text = to.to_string();
            } else if text.contains(&below) {
                *text = text.replace(&below, &format!("{to}/"));
            }
        };
        match self {
            Snap::Str(text) | Snap::Path(text) => fix(text),
            Snap::Attrs(members) => members.iter_mut().for_each(|(_, inner)| inner.relocate(from, to)),
            Snap::List(items) => items.iter_mut().for_each(|inner| inner.relocate(from, to)),
            _ => {}
        }
    }
}

/// How many values a shape or a snapshot may hold; a host past it gets none (its tests
/// evaluate it as before).
const MAX_NODES: usize = 200_000;
/// How deep a shape may go (deeper values are left out, so forcing them is a miss).
const MAX_DEPTH: usize = 256;

/// A value that needs no evaluation to be known: not a thunk, or a finished one.
fn known(value: &Value) -> Option<Value> {
    match value {
        Value::Thunk(thunk) => thunk.value_if_done(),
        other => Some(other.clone()),
    }
}

/// Whether a value is a scalar that costs nothing to keep, forced or not.
fn is_plain(value: &Value) -> bool {
    matches!(value, Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Path(_))
        || matches!(value, Value::String(s) if s.context().is_empty())
}

/// What has been forced of `value`; `None` when it was not forced, or holds more than a
/// snapshot may.
pub fn capture(value: &Value) -> Option<Shape> {
    let mut budget = MAX_NODES;
    let mut stack = Vec::new();
    let shape = capture_in(value, &mut budget, &mut stack, 0)?;
    (budget > 0).then_some(shape)
}

fn capture_in(value: &Value, budget: &mut usize, stack: &mut Vec<*const u8>, depth: usize) -> Option<Shape> {
    if *budget == 0 || depth > MAX_DEPTH {
        *budget = 0;
        return None;
    }
    *budget -= 1;
    let value = known(value)?;
    match &value {
        Value::Attrs(attrs) => {
            let id = Attrs::as_ptr(attrs);
            if stack.contains(&id) {
                // A cycle: the set itself is known, what is below it was taken higher up.
                return Some(Shape::Leaf);
            }
            stack.push(id);
            let mut members = BTreeMap::new();
            for attr in attrs.iter() {
                if is_plain(&attr.value) {
                    continue;
                }
                if let Some(shape) = capture_in(&attr.value, budget, stack, depth + 1) {
                    members.insert(attr.name.as_str().to_string(), shape);
                }
            }
            stack.pop();
            Some(if members.is_empty() { Shape::Leaf } else { Shape::Attrs(members) })
        }
        Value::List(items) => {
            let id = nxe_evaluator::value::List::as_ptr(items);
            if stack.contains(&id) {
                return Some(Shape::Leaf);
            }
            stack.push(id);
            let mut members = BTreeMap::new();
            for (index, item) in items.iter().enumerate() {
                if is_plain(item) {
                    continue;
                }
                if let Some(shape) = capture_in(item, budget, stack, depth + 1) {
                    members.insert(index, shape);
                }
            }
            stack.pop();
            Some(if members.is_empty() { Shape::Leaf } else { Shape::List(members) })
        }
        _ => Some(Shape::Leaf),
    }
}

/// Forces `shape` in `value` and keeps what it finds; `None` when that is more than a
/// snapshot may hold.
pub fn take(ev: &mut Evaluator, value: &Value, shape: &Shape) -> Option<Snap> {
    let mut budget = MAX_NODES;
    let snap = take_in(ev, value, Some(shape), &mut budget);
    (budget > 0).then_some(snap)
}

fn take_in(ev: &mut Evaluator, value: &Value, shape: Option<&Shape>, budget: &mut usize) -> Snap {
    if *budget == 0 {
        return Snap::Miss;
    }
    *budget -= 1;
    let value = match shape {
        Some(_) => match ev.force(value) {
            Ok(value) => value,
            Err(_) => return Snap::Miss,
        },
        None if is_plain(value) => value.clone(),
        None => return Snap::Miss,
    };
    match &value {
        Value::Null => Snap::Null,
        Value::Bool(b) => Snap::Bool(*b),
        Value::Int(n) => Snap::Int(*n),
        Value::Float(f) => Snap::Float(f.to_bits()),
        Value::String(s) if s.context().is_empty() => Snap::Str(s.as_str().to_string()),
        Value::Path(p) => Snap::Path(p.as_str().to_string()),
        Value::Attrs(attrs) => {
            let members = match shape {
                Some(Shape::Attrs(members)) => Some(members),
                _ => None,
            };
            Snap::Attrs(
                attrs
                    .iter()
                    .map(|attr| {
                        let name = attr.name.as_str();
                        let inner = members.and_then(|m| m.get(name));
                        (name.to_string(), take_in(ev, &attr.value, inner, budget))
                    })
                    .collect(),
            )
        }
        Value::List(items) => {
            let members = match shape {
                Some(Shape::List(members)) => Some(members),
                _ => None,
            };
            Snap::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| take_in(ev, item, members.and_then(|m| m.get(&index)), budget))
                    .collect(),
            )
        }
        _ => Snap::Miss,
    }
}

thread_local! {
    /// Hosts whose snapshots were rebuilt into values on this thread since [`begin`].
    static USED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
    /// Hosts whose snapshots lacked a value that was forced, since [`begin`].
    static MISSED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
    /// Whether values rebuilt from snapshots may be in the evaluation on this thread.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Starts an evaluation that may use snapshots on this thread.
pub(crate) fn begin() {
    USED.with(|u| u.borrow_mut().clear());
    MISSED.with(|m| m.borrow_mut().clear());
    ACTIVE.with(|a| a.set(true));
}

/// Ends it: the hosts whose snapshots were used, and those whose snapshots missed a value.
pub(crate) fn end() -> (BTreeSet<String>, BTreeSet<String>) {
    ACTIVE.with(|a| a.set(false));
    (USED.with(|u| std::mem::take(&mut *u.borrow_mut())), MISSED.with(|m| std::mem::take(&mut *m.borrow_mut())))
}

/// The evaluator's hook for `unsafeGetAttrPos` on an attribute without a position: rebuilt
/// values have none, so while snapshots are in use the answer is not trusted.
pub(crate) fn unknown_position() -> Option<String> {
    ACTIVE.with(Cell::get).then(|| "a snapshot of a host cannot say where an attribute was defined".to_string())
}

/// A thunk that stops evaluation when forced: the snapshot of `host` lacks this value.
fn miss(host: &Rc<str>) -> Value {
    let host = host.clone();
    Thunk::native(move |_| {
        MISSED.with(|m| m.borrow_mut().insert(host.to_string()));
        Err(ErrorKind::Interrupted(format!("the snapshot of host '{host}' lacks a value")).into())
    })
}

/// The value a snapshot stands for.
fn rebuild(snap: &Snap, host: &Rc<str>) -> Value {
    match snap {
        Snap::Miss => miss(host),
        Snap::Null => Value::Null,
        Snap::Bool(b) => Value::Bool(*b),
        Snap::Int(n) => Value::Int(*n),
        Snap::Float(bits) => Value::Float(f64::from_bits(*bits)),
        Snap::Str(text) => Value::string(text.as_str()),
        Snap::Path(path) => Value::Path(Rc::new(path.clone())),
        Snap::Attrs(members) => Value::Attrs(Attrs::from_unsorted(
            members
                .iter()
                .map(|(name, inner)| Attr { name: Symbol::intern(name), value: rebuild(inner, host), pos: Pos::NONE })
                .collect(),
        )),
        Snap::List(items) => Value::list(items.iter().map(|item| rebuild(item, host)).collect()),
    }
}

/// Seeds the set of hosts of `worker`'s repository with `snapshots` (by host name): once the
/// set is evaluated, each host's value that is not yet evaluated is rebuilt from its
/// snapshot when forced (and the host noted as used), instead of being evaluated. The set
/// itself is evaluated as before, when something forces it.
pub(crate) fn seed(worker: &mut Worker, snapshots: BTreeMap<String, Arc<Snap>>) -> EvalResult<()> {
    if snapshots.is_empty() {
        return Ok(());
    }
    let path = worker.repo.hosts_attr.clone();
    let Some((last, parents)) = path.split_last() else { return Ok(()) };
    let root = worker.root()?;
    let parent = if parents.is_empty() {
        root
    } else {
        worker.select(root, parents, &crate::config::join_attr_path(parents))?
    };
    let Value::Attrs(parent) = parent else { return Ok(()) };
    let Some(hosts) = parent.get(Symbol::intern(last)).cloned() else { return Ok(()) };
    match &hosts {
        Value::Thunk(thunk) if thunk.value_if_done().is_none() => {
            // Evaluated as before when forced, then seeded.
            let original = Value::Thunk(Thunk(Shared::new(ThunkCell::new(thunk.0.replace(ThunkState::Blackhole)))));
            drop(thunk.0.replace(ThunkState::Native(Box::new(move |ev| {
                let hosts = ev.force(&original)?;
                seed_hosts(&hosts, &snapshots);
                Ok(hosts)
            }))));
        }
        other => {
            if let Some(hosts) = known(other) {
                seed_hosts(&hosts, &snapshots);
            }
        }
    }
    Ok(())
}

fn seed_hosts(hosts: &Value, snapshots: &BTreeMap<String, Arc<Snap>>) {
    let Value::Attrs(hosts) = hosts else { return };
    for attr in hosts.iter() {
        let Some(snap) = snapshots.get(attr.name.as_str()) else { continue };
        let Value::Thunk(thunk) = &attr.value else { continue };
        if thunk.value_if_done().is_some() {
            continue;
        }
        let (snap, host): (Arc<Snap>, Rc<str>) = (snap.clone(), Rc::from(attr.name.as_str()));
        let previous = thunk.0.replace(ThunkState::Native(Box::new(move |_| {
            USED.with(|u| u.borrow_mut().insert(host.to_string()));
            Ok(rebuild(&snap, &host))
        })));
        if matches!(previous, ThunkState::Blackhole) {
            // Being evaluated (cannot happen before evaluation starts): leave it be.
            drop(thunk.0.replace(previous));
        }
    }
}

/// What was forced of each host's value in `worker`'s evaluation, except `seeded` ones'
/// (without forcing anything).
pub(crate) fn capture_hosts(worker: &Worker, seeded: &BTreeSet<String>) -> BTreeMap<String, Shape> {
    let mut out = BTreeMap::new();
    let Some(mut value) = worker.root_if_evaluated() else { return out };
    for name in &worker.repo.hosts_attr {
        let Some(Value::Attrs(attrs)) = known(&value) else { return out };
        let Some(inner) = attrs.get(Symbol::intern(name)).cloned() else { return out };
        value = inner;
    }
    let Some(Value::Attrs(hosts)) = known(&value) else { return out };
    for attr in hosts.iter() {
        let name = attr.name.as_str();
        if seeded.contains(name) {
            continue;
        }
        if let Some(shape) = capture(&attr.value) {
            out.insert(name.to_string(), shape);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nxe_evaluator::{EvalSettings, Evaluation, Source};

    const SET: &str = r#"{
      a = { b = 1 + 1; c = throw "no"; d = "plain"; };
      l = [ (2 * 3) (x: x) ];
      f = x: x;
      s = "${builtins.toFile "t" "x"}";
      n = 3;
    }"#;

    fn evaluate(text: &str) -> (Evaluation, Value) {
        let mut evaluation = Evaluation::new(EvalSettings::default());
        let value = evaluation.load(&Source::Expression { text: text.to_string(), base_dir: "/".to_string() });
        let value = value.unwrap_or_else(|e| panic!("{e}"));
        (evaluation, value)
    }

    fn attr(ev: &mut Evaluator, value: &Value, name: &str) -> Value {
        let Ok(Value::Attrs(attrs)) = ev.force(value) else { panic!("not a set") };
        let member = attrs.get(Symbol::intern(name)).cloned().unwrap_or_else(|| panic!("no {name}"));
        ev.force(&member).unwrap_or_else(|e| panic!("{e}"))
    }

    fn shape(members: &[(&str, Shape)]) -> Shape {
        Shape::Attrs(members.iter().map(|(n, s)| (n.to_string(), s.clone())).collect())
    }

    #[test]
    fn a_shape_is_what_was_forced_and_a_snapshot_keeps_only_that() {
        let (mut evaluation, value) = evaluate(SET);
        let ev = evaluation.evaluator();
        let a = attr(ev, &value, "a");
        attr(ev, &a, "b");
        let Value::List(items) = attr(ev, &value, "l") else { panic!("not a list") };
        ev.force(&items[0]).unwrap_or_else(|e| panic!("{e}"));
        attr(ev, &value, "s");
        let expected = shape(&[
            ("a", shape(&[("b", Shape::Leaf)])),
            ("l", Shape::List([(0, Shape::Leaf)].into_iter().collect())),
            ("s", Shape::Leaf),
        ]);
        assert_eq!(capture(&value), Some(expected.clone()));

        // Taken on a fresh evaluation: what the shape reaches, and plain values for free.
        let (mut fresh, value) = evaluate(SET);
        let snap = take(fresh.evaluator(), &value, &expected);
        let attrs =
            |members: Vec<(&str, Snap)>| Snap::Attrs(members.into_iter().map(|(n, s)| (n.to_string(), s)).collect());
        let want = attrs(vec![
            ("a", attrs(vec![("b", Snap::Int(2)), ("c", Snap::Miss), ("d", Snap::Str("plain".into()))])),
            ("f", Snap::Miss),
            ("l", Snap::List(vec![Snap::Int(6), Snap::Miss])),
            ("n", Snap::Int(3)),
            // A string with context is not kept.
            ("s", Snap::Miss),
        ]);
        assert_eq!(snap, Some(want));
    }

    #[test]
    fn relocating_moves_the_root_and_what_is_below_it_only() {
        let texts = ["/repo", "/repo/hosts/a.nix", "see /repo/x and /repo/y", "/repository/z", "/other"];
        let mut snap = Snap::List(texts.iter().map(|t| Snap::Str(t.to_string())).collect());
        if let Snap::List(items) = &mut snap {
            items.push(Snap::Path("/repo/p".into()));
        }
        snap.relocate("/repo", PLACE);
        let mut back = snap.clone();
        back.relocate(PLACE, "/elsewhere");
        let strings = |snap: &Snap| match snap {
            Snap::List(items) => items
                .iter()
                .map(|item| match item {
                    Snap::Str(t) | Snap::Path(t) => t.clone(),
                    _ => String::new(),
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert!(strings(&snap).iter().all(|t| !t.contains("/repo/") && t != "/repo"), "{snap:?}");
        assert_eq!(
            strings(&back),
            vec![
                "/elsewhere",
                "/elsewhere/hosts/a.nix",
                "see /elsewhere/x and /elsewhere/y",
                "/repository/z",
                "/other",
                "/elsewhere/p"
            ]
        );
    }

    #[test]
    fn shapes_unite() {
        let one = shape(&[("a", shape(&[("b", Shape::Leaf)])), ("c", Shape::Leaf)]);
        let two = shape(&[("a", shape(&[("d", Shape::Leaf)])), ("c", shape(&[("e", Shape::Leaf)]))]);
        let both =
            shape(&[("a", shape(&[("b", Shape::Leaf), ("d", Shape::Leaf)])), ("c", shape(&[("e", Shape::Leaf)]))]);
        assert_eq!(one.clone().union(two.clone()), both);
        assert_eq!(two.union(one), both);
    }

    #[test]
    fn a_shape_covers_what_its_union_would_not_change() {
        let leaf = Shape::Leaf;
        let one = shape(&[("a", shape(&[("b", Shape::Leaf)])), ("c", Shape::Leaf)]);
        let less = shape(&[("a", Shape::Leaf)]);
        let deeper = shape(&[("c", shape(&[("e", Shape::Leaf)]))]);
        let list = Shape::List(BTreeMap::from([(0, Shape::Leaf)]));
        let shapes = [leaf, one, less, deeper, list, shape(&[])];
        for a in &shapes {
            for b in &shapes {
                assert_eq!(a.covers(b), a.clone().union(b.clone()) == *a, "{a:?} covers {b:?}");
            }
        }
        assert!(shapes[1].covers(&shapes[2]));
        assert!(!shapes[1].covers(&shapes[3]));
    }

    #[test]
    fn forcing_what_a_snapshot_lacks_stops_evaluation_even_under_try_eval() {
        let (mut evaluation, try_eval) = evaluate("builtins.tryEval");
        let snap = Snap::Attrs(vec![("a".to_string(), Snap::Miss), ("b".to_string(), Snap::Bool(true))]);
        begin();
        let rebuilt = rebuild(&snap, &Rc::from("web-01"));
        let ev = evaluation.evaluator();
        assert!(matches!(attr(ev, &rebuilt, "b"), Value::Bool(true)));
        let Ok(Value::Attrs(attrs)) = ev.force(&rebuilt) else { panic!("not a set") };
        let missing = attrs.get(Symbol::intern("a")).cloned().unwrap_or(Value::Null);
        let result = ev.call(try_eval, &[missing], None).and_then(|v| ev.force_deep(&v));
        // The error is not caught: the evaluation using snapshots stops.
        let error = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("snapshot of host 'web-01' lacks a value"), "{error}");
        // Positions are not trusted while snapshots are in use.
        assert!(unknown_position().is_some());
        let (used, missed) = end();
        assert!(used.is_empty());
        assert_eq!(missed.into_iter().collect::<Vec<_>>(), vec!["web-01".to_string()]);
        assert!(unknown_position().is_none());
    }
}
