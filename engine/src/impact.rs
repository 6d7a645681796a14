//! What a change affects: compares two states of a repository (a base revision and the work
//! tree, or two revisions) host by host, check by check and test by test, evaluating only
//! what the cache cannot answer.
//!
//! Each side resolves its units (see [`crate::units`]) in this order: on the head side, the
//! base side's evaluation of the same unit when every file it read is unchanged; then any
//! cached evaluation whose read set holds in that state; and only then a fresh evaluation
//! (of the work tree, or of a temporary checkout of the revision), which is cached. A cold
//! cache therefore evaluates the base side once and the head side only where files changed,
//! and gives the same answer as a warm one.

use crate::cache::{Cache, Entry, StoreObjects, StoredSnapshots};
use crate::config::Repo;
use crate::git::{self, Checkout};
use crate::reads::{Anchor, GitTree, ReadKey, ReadSet, State};
use crate::snapshots::{HostSnapshot, HostSnapshots, LazySnapshots, Snap, SnapshotEntry};
use crate::units::{evaluate_units_within, Evaluated, HostOutcome, Listing, Outcome, TestOutcome, TestStatus, Unit};
use crate::{CheckResult, EngineError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to compute an impact.
#[derive(Clone, Debug, Default)]
pub struct ImpactOptions {
    /// The base revision (default `HEAD`).
    pub since: Option<String>,
    /// The head revision (default: the work tree).
    pub head: Option<String>,
    /// Worker threads.
    pub threads: usize,
    /// The cache's directory (default `.nxe` in the repository's root).
    pub cache_dir: Option<PathBuf>,
    /// Memory budget of each worker (a unit that passes it is evaluated again alone).
    pub max_memory: Option<u64>,
}

/// A host's failed assertion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FailingAssertion {
    /// The host.
    pub host: String,
    /// The assertion's message.
    pub message: String,
}

/// A host, check or test that failed to evaluate on the head side.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Failure {
    /// `host`, `check` or `test`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// The error, in short.
    pub error: String,
}

/// What a change affects. Every list is sorted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Impact {
    /// The base commit.
    pub base: String,
    /// The head commit (absent for the work tree).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// Files that differ between the two sides, relative to the repository's top level.
    pub changed_files: Vec<String>,
    /// Changed files that `[impact] ignore` matched, which count as unchanged.
    pub ignored_files: Vec<String>,
    /// Hosts whose inputs changed (or that are new), so they were evaluated again.
    pub reevaluated_hosts: Vec<String>,
    /// Hosts whose top-level drvPath differs (or that no longer evaluate).
    pub changed_hosts: Vec<String>,
    /// Hosts whose drvPath differs only through options `[impact] ignore` names: with those
    /// options pinned to their defaults, both sides give the same drvPath.
    pub ignored_hosts: Vec<String>,
    /// Hosts on both sides with the same drvPath.
    pub unchanged_hosts: Vec<String>,
    /// Hosts only on the head side.
    pub added_hosts: Vec<String>,
    /// Hosts only on the base side.
    pub removed_hosts: Vec<String>,
    /// Checks whose drvPath differs (or that no longer evaluate).
    pub changed_checks: Vec<String>,
    /// Checks of ignored hosts whose drvPath differs, when they read nothing changed beyond
    /// what their host read.
    pub ignored_checks: Vec<String>,
    /// Checks only on the head side.
    pub added_checks: Vec<String>,
    /// Checks only on the base side.
    pub removed_checks: Vec<String>,
    /// Unit tests whose expression or expected value changed, or that are new.
    pub changed_tests: Vec<String>,
    /// Failed assertions of the head side's hosts.
    pub failing_assertions: Vec<FailingAssertion>,
    /// Hosts, checks and tests that fail to evaluate on the head side.
    pub errors: Vec<Failure>,
    /// Notes about the cache (a rebuilt or damaged cache), one line each.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Units evaluated in this run, per side (base, head): what the cache could not answer.
    #[serde(skip)]
    pub evaluated: (usize, usize),
}

/// One side of a comparison: a state of the repository and how to evaluate it.
pub struct Side<'a> {
    repo: &'a Repo,
    top: PathBuf,
    /// `None`: the work tree.
    commit: Option<String>,
    state: State,
    checkout: Option<(Checkout, Repo)>,
    label: &'static str,
    max_memory: Option<u64>,
}

impl<'a> Side<'a> {
    /// The work tree of `repo`.
    pub fn work_tree(repo: &'a Repo, top: &Path) -> Side<'a> {
        Side {
            repo,
            top: top.to_path_buf(),
            commit: None,
            state: State::work_tree(anchor(repo, top)),
            checkout: None,
            label: "head",
            max_memory: None,
        }
    }

    /// A commit of `repo`'s git repository.
    pub fn commit(repo: &'a Repo, top: &Path, commit: &str, label: &'static str) -> Result<Side<'a>, EngineError> {
        let differing: BTreeSet<String> = git::changed_paths(top, commit, None)?.into_iter().collect();
        Side::commit_differing(repo, top, commit, label, &differing, GitTree::new(top, commit)?)
    }

    /// [`Side::commit`], given the paths that differ between the commit and the work tree,
    /// and the commit's tree.
    fn commit_differing(
        repo: &'a Repo,
        top: &Path,
        commit: &str,
        label: &'static str,
        differing: &BTreeSet<String>,
        tree: GitTree,
    ) -> Result<Side<'a>, EngineError> {
        Ok(Side {
            repo,
            top: top.to_path_buf(),
            commit: Some(commit.to_string()),
            state: State::revision(anchor(repo, top), tree, differing),
            checkout: None,
            label,
            max_memory: None,
        })
    }

    /// Sets the memory budget of each worker evaluating on this side.
    pub fn with_max_memory(mut self, max_memory: Option<u64>) -> Self {
        self.max_memory = max_memory;
        self
    }

    /// The state read sets are checked against.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Evaluates units on this side (in a checkout for a commit), recording read sets.
    /// Unit tests use `snapshots` of the hosts' values, and the snapshots taken again are
    /// given back (naming paths in the work tree, wherever they were taken).
    fn evaluate(
        &mut self,
        units: &[Vec<Unit>],
        threads: usize,
        snapshots: Option<LazySnapshots<'_>>,
        prefetch: Option<&BTreeSet<ReadKey>>,
    ) -> Result<(Vec<Evaluated>, Vec<SnapshotEntry>), EngineError> {
        if units.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        match &self.commit {
            None => evaluate_units_within(
                self.repo,
                self.state.anchor(),
                &self.state,
                units,
                threads,
                self.max_memory,
                snapshots.as_ref(),
                prefetch,
            ),
            Some(commit) => {
                if self.checkout.is_none() {
                    let checkout = Checkout::new(&self.top, commit)?;
                    let relative = self.repo.root.strip_prefix(&self.top).unwrap_or(Path::new(""));
                    let root = checkout.path().join(relative);
                    if !root.is_dir() {
                        return Err(EngineError::Config(format!(
                            "the repository '{}' does not exist at {commit}",
                            relative.display()
                        )));
                    }
                    let revision = crate::config::SourceRevision {
                        checkout: checkout.path().to_path_buf(),
                        git_top: self.top.clone(),
                        commit: commit.clone(),
                    };
                    let repo = self.repo.at_revision(&root, revision)?;
                    self.checkout = Some((checkout, repo));
                }
                let Some((checkout, repo)) = &self.checkout else {
                    return Err(EngineError::Internal("checkout vanished".into()));
                };
                let anchor = Anchor { root: checkout.path().to_path_buf(), store_dir: self.repo.store_dir.clone() };
                // Keys are relative to the checkout's root, so the revision's own state
                // answers them: the checkout holds exactly the revision's files.
                let from = checkout.path().display().to_string();
                let to = self.top.display().to_string();
                // Snapshots name paths in the work tree: in the checkout, they are there.
                let snapshots = snapshots.map(|snapshots| snapshots.relocated(to.clone(), from.clone()));
                let (mut evaluated, mut taken) = evaluate_units_within(
                    repo,
                    &anchor,
                    &self.state,
                    units,
                    threads,
                    self.max_memory,
                    snapshots.as_ref(),
                    prefetch,
                )?;
                for unit in &mut evaluated {
                    unit.outcome = relocate(&unit.outcome, &from, &to);
                }
                for (_, _, _, snap) in &mut taken {
                    snap.relocate(&from, &to);
                }
                Ok((evaluated, taken))
            }
        }
    }
}

fn anchor(repo: &Repo, top: &Path) -> Anchor {
    Anchor { root: top.to_path_buf(), store_dir: repo.store_dir.clone() }
}

/// An outcome whose error messages name `from` (a checkout) as `to` (the work tree).
fn relocate(outcome: &Outcome, from: &str, to: &str) -> Outcome {
    match serde_json::to_string(outcome) {
        Ok(text) => serde_json::from_str(&text.replace(from, to)).unwrap_or_else(|_| outcome.clone()),
        Err(_) => outcome.clone(),
    }
}

/// A unit's outcome on one side, and how it was obtained.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// What it gave.
    pub outcome: Outcome,
    /// What it read.
    pub reads: ReadSet,
    /// Whether the base side's evaluation answered for the head side.
    pub from_base: bool,
    /// Whether it was evaluated in this run.
    pub evaluated: bool,
}

/// The cache, its entries for one evaluation context, and what this run adds.
pub struct Store {
    cache: Option<Cache>,
    /// Where the list of files to compile first goes (see [`Store::write_compile_hint`]).
    hint: Option<PathBuf>,
    context: String,
    entries: BTreeMap<String, Vec<Entry>>,
    /// Notes about the cache.
    pub notes: Vec<String>,
}

/// The file beside the cache listing the Nix files to compile first.
const COMPILE_HINT: &str = "compile-hint";
/// Its first line: what it is, and its format's version.
const COMPILE_HINT_HEADER: &str = "nxe compile hint 1";
/// At most so many files are listed.
const MAX_COMPILE_HINT: usize = 4096;

/// Where the cache of `repo` lives: `dir`, or `.nxe` in the repository's root.
pub fn cache_dir(repo: &Repo, dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(|| repo.root.join(".nxe"), Path::to_path_buf)
}

/// A relative path that stays below where it starts: no `..`, no root, no empty part.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(|part| !part.is_empty() && part != ".." && part != ".")
}

/// Whether the compile hint lists `file` when a unit read it: a Nix file inside the anchor.
fn hinted(file: &str) -> bool {
    file.ends_with(".nix") && is_plain_relative(file)
}

/// The Nix files the last run's units read, most read first, from the list beside the cache
/// in `dir` (see [`Store::write_compile_hint`]); none when there is no such list or it is
/// not one. Every path is relative and stays below the anchor.
pub fn read_compile_hint(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join(COMPILE_HINT)) else { return Vec::new() };
    let mut lines = text.lines();
    if lines.next() != Some(COMPILE_HINT_HEADER) {
        return Vec::new();
    }
    lines.filter(|line| hinted(line)).take(MAX_COMPILE_HINT).map(str::to_string).collect()
}

/// Starts, in `scope`, a thread compiling for the work tree of `repo` the files of the
/// compile hint beside its cache (in `cache`, or `.nxe`), most read first, until `stop` is
/// set: the units evaluated later in the run find them compiled. Nothing when there is no
/// sound hint; a thread that cannot start is no loss.
///
/// With `state`, the thread first hashes those files in it, as the listing then would when
/// it checks the units' read sets (about a millisecond on the fleet, on its critical path).
pub fn compile_ahead<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    repo: &'scope Repo,
    top: &Path,
    cache: Option<&Path>,
    state: Option<&'scope State>,
    stop: &'scope std::sync::atomic::AtomicBool,
) {
    let dir = cache_dir(repo, cache);
    crate::units::keep_compiled_code(repo, &dir);
    let files = read_compile_hint(&dir);
    if files.is_empty() {
        return;
    }
    let top = top.to_path_buf();
    let compile = move || {
        if let Some(state) = state {
            for file in &files {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                // Only regular files, as below: opening a named pipe would wait for a writer.
                if std::fs::metadata(state.anchor().absolute(file)).is_ok_and(|meta| meta.is_file()) {
                    state.answer(&ReadKey::File(file.clone()));
                }
            }
        }
        let state = State::work_tree(anchor(repo, &top));
        if let Ok(units) = crate::units::UnitEvaluator::new(repo, state.anchor(), &state, None) {
            let done = || stop.load(std::sync::atomic::Ordering::Relaxed);
            units.prefetch_files(files.iter().map(String::as_str), &done, "head start");
        }
    };
    let _ = std::thread::Builder::new()
        .name("nxe-prefetch".into())
        .stack_size(crate::fleet::WORKER_STACK)
        .spawn_scoped(scope, compile);
}

impl Store {
    /// Opens the cache of `repo` (in `dir`, or `.nxe` in its root); `None` as `dir` with
    /// `disabled` gives a store that remembers nothing.
    pub fn open(repo: &Repo, top: &Path, dir: Option<&Path>) -> Result<Store, EngineError> {
        let dir = cache_dir(repo, dir);
        crate::units::keep_compiled_code(repo, &dir);
        let context = context_key(repo, top, &ignored_options(repo)?);
        let (cache, entries, notes) = Cache::open_and_load(&dir.join("cache.db"), &context)?;
        Ok(Store { cache: Some(cache), hint: Some(dir.join(COMPILE_HINT)), context, entries, notes })
    }

    /// Closes the cache. What was loaded from it is let go (see [`crate::units::let_go`]).
    pub fn close(self) {
        let Store { cache, entries, .. } = self;
        drop(cache);
        crate::units::let_go(entries);
    }

    /// The newest remembered result of `unit_id` whose read set holds in `state`.
    pub fn lookup(&self, unit_id: &str, state: &State) -> Option<serde_json::Value> {
        self.entries.get(unit_id)?.iter().find(|entry| entry.holds(state)).and_then(Entry::result)
    }

    /// Remembers results of work outside the engine's units (unit id, reads, result).
    pub fn remember(&mut self, rows: &[(String, ReadSet, serde_json::Value)]) -> Result<(), EngineError> {
        for (id, reads, result) in rows {
            self.entries.entry(id.clone()).or_default().insert(0, Entry::new(reads.clone(), result.clone()));
        }
        match &mut self.cache {
            Some(cache) => cache.store(&self.context, rows),
            None => Ok(()),
        }
    }

    /// The snapshot rows as stored (none without a cache), for [`host_snapshots_in`].
    pub fn stored_snapshots(&self) -> Result<Option<StoredSnapshots>, EngineError> {
        match &self.cache {
            Some(cache) => cache.stored_snapshots(&self.snapshot_context()).map(Some),
            None => Ok(None),
        }
    }

    /// Deletes the snapshot rows [`host_snapshots_in`] found broken.
    pub fn forget_snapshots(&self, ids: &[i64]) -> Result<(), EngineError> {
        match &self.cache {
            Some(cache) if !ids.is_empty() => cache.forget_snapshots(ids),
            _ => Ok(()),
        }
    }

    /// Remembers snapshots of hosts' values (host, reads, shape, snapshot).
    /// Paths below `anchor`'s root in them are kept relative to it, so a snapshot taken in a
    /// checkout of a revision serves the work tree, and a copy of the repository elsewhere.
    pub fn remember_snapshots(&mut self, anchor: &Anchor, rows: &[SnapshotEntry]) -> Result<(), EngineError> {
        let root = anchor.root.display().to_string();
        let rows: Vec<SnapshotEntry> = rows
            .iter()
            .map(|(host, reads, shape, snap)| {
                let mut snap = snap.clone();
                snap.relocate(&root, crate::snapshots::PLACE);
                (host.clone(), reads.clone(), shape.clone(), snap)
            })
            .collect();
        let context = self.snapshot_context();
        match &mut self.cache {
            Some(cache) => cache.store_snapshots(&context, &rows),
            None => Ok(()),
        }
    }

    fn snapshot_context(&self) -> String {
        crate::units::key_of(&[&self.context, "snapshots"])
    }

    /// Runs `write` with the cache's writes in one transaction (see [`Cache::begin`]).
    pub fn together<T>(&mut self, write: impl FnOnce(&mut Store) -> Result<T, EngineError>) -> Result<T, EngineError> {
        if let Some(cache) = &mut self.cache {
            cache.begin()?;
        }
        let result = write(self);
        match &mut self.cache {
            Some(cache) => cache.finish(result),
            None => result,
        }
    }

    /// The open cache.
    pub fn cache(&mut self) -> Option<&mut Cache> {
        self.cache.as_mut()
    }

    /// The newest remembered outcome of `unit` whose read set holds in `state`.
    pub fn cached(&self, unit: &Unit, state: &State) -> Option<Resolved> {
        self.entries.get(&unit.id())?.iter().find(|entry| entry.holds(state)).and_then(|entry| {
            let outcome = entry.result_as::<Outcome>()?;
            Some(Resolved { outcome, reads: entry.reads()?.clone(), from_base: false, evaluated: false })
        })
    }

    /// Remembers evaluated units, with the store objects each made, in this store and in
    /// the cache (one transaction).
    pub fn record(&mut self, evaluated: Vec<Evaluated>) -> Result<BTreeMap<Unit, Resolved>, EngineError> {
        let mut resolved = BTreeMap::new();
        let mut rows = Vec::new();
        let mut objects = Vec::new();
        for unit in evaluated {
            objects.push(StoreObjects { derivations: unit.derivations, paths: unit.added });
            let result = serde_json::to_value(&unit.outcome).map_err(|e| EngineError::Internal(e.to_string()))?;
            rows.push((unit.unit.id(), unit.reads.clone(), result.clone()));
            self.entries.entry(unit.unit.id()).or_default().insert(0, Entry::new(unit.reads.clone(), result));
            resolved.insert(
                unit.unit,
                Resolved { outcome: unit.outcome, reads: unit.reads, from_base: false, evaluated: true },
            );
        }
        if let Some(cache) = &mut self.cache {
            cache.store_with_objects(&self.context, &rows, &objects)?;
        }
        if !rows.is_empty() {
            self.update_compile_hint(&rows);
        }
        Ok(resolved)
    }

    /// Writes the compile hint again (see [`Store::write_compile_hint`]) when a unit of
    /// `rows` read a Nix file it does not list. The order of the others may be a little
    /// stale: it is only a hint, and rewriting it cost half a millisecond of the run after a
    /// host's edit.
    fn update_compile_hint(&self, rows: &[(String, ReadSet, serde_json::Value)]) {
        let Some(path) = &self.hint else { return };
        let Some(dir) = path.parent() else { return };
        let listed: std::collections::HashSet<String> = read_compile_hint(dir).into_iter().collect();
        let unlisted = rows.iter().flat_map(|(_, reads, _)| reads.0.iter()).any(|(key, _)| match key {
            ReadKey::File(file) => hinted(file) && !listed.contains(file),
            _ => false,
        });
        if unlisted {
            self.write_compile_hint();
        }
    }

    /// Writes, beside the cache, the Nix files that the remembered units read, those read
    /// by most units first: the next run compiles them while it opens the cache (see
    /// [`crate::units::UnitEvaluator::prefetch_files`]). Only a hint, never trusted: the
    /// files are read and compiled as they are then. Written to a temporary file and renamed
    /// over the old one, so a reader sees one whole list; a failure leaves the old one.
    fn write_compile_hint(&self) {
        let Some(path) = &self.hint else { return };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in self.entries.values().filter_map(|entries| entries.first()) {
            for (key, _) in entry.reads().iter().flat_map(|reads| reads.0.iter()) {
                if let ReadKey::File(file) = key {
                    if hinted(file) {
                        *counts.entry(file).or_default() += 1;
                    }
                }
            }
        }
        let mut files: Vec<(&str, usize)> = counts.into_iter().collect();
        files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut text = format!("{COMPILE_HINT_HEADER}\n");
        for (file, _) in files.iter().take(MAX_COMPILE_HINT) {
            text.push_str(file);
            text.push('\n');
        }
        let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
        if std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path)).is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }

    /// What `unit` read when it was last evaluated, as far as the cache knows.
    pub fn previous_keys(&self, unit: &Unit) -> Option<BTreeSet<ReadKey>> {
        Some(self.entries.get(&unit.id())?.first()?.reads()?.keys())
    }

    /// What changed, in `state`, of what `unit`'s newest evaluation read.
    pub fn previous_differences(&self, unit: &Unit, state: &State) -> Option<BTreeSet<ReadKey>> {
        Some(self.entries.get(&unit.id())?.first()?.reads()?.differences(state).into_iter().cloned().collect())
    }

    /// Resolves `units` on `side`: from `base` (head side only), then from the cache, then
    /// by evaluating them.
    pub fn resolve(
        &mut self,
        side: &mut Side<'_>,
        units: &[Unit],
        base: Option<&BTreeMap<Unit, Resolved>>,
        threads: usize,
    ) -> Result<BTreeMap<Unit, Resolved>, EngineError> {
        let mut resolved = BTreeMap::new();
        let mut missing = Vec::new();
        for unit in units {
            if let Some(found) = base.and_then(|b| b.get(unit)).filter(|r| r.reads.holds(side.state())) {
                resolved.insert(
                    unit.clone(),
                    Resolved {
                        outcome: found.outcome.clone(),
                        reads: found.reads.clone(),
                        from_base: true,
                        evaluated: false,
                    },
                );
                continue;
            }
            match self.cached(unit, side.state()) {
                Some(found) => {
                    resolved.insert(unit.clone(), found);
                }
                None => missing.push(unit.clone()),
            }
        }
        let previous = |unit: &Unit| match base.and_then(|b| b.get(unit)) {
            Some(found) => Some(found.reads.keys()),
            None => self.previous_keys(unit),
        };
        let batches = crate::units::batches(&missing, previous);
        // One host's unit before the tests: what it read last time compiles beside it.
        let mut not_tests = batches.iter().filter(|batch| !batch.iter().all(|unit| matches!(unit, Unit::Test(_))));
        let prefetch = match (not_tests.next().map(Vec::as_slice), not_tests.next()) {
            (Some([host @ Unit::Host(..)]), None) => previous(host),
            _ => None,
        };
        // Tests on the work tree use the snapshots of hosts' values, when some ran before.
        let tests = missing.iter().any(|unit| matches!(unit, Unit::Test(_)));
        // They are read here and checked on another thread while the evaluation starts.
        let broken = std::sync::Mutex::new(Vec::new());
        let snapshots = match tests {
            true => Some(match self.stored_snapshots()? {
                Some(stored) => LazySnapshots::new(Box::new(|state| {
                    let (snapshots, ids) = host_snapshots_in(stored, state);
                    if let Ok(mut broken) = broken.lock() {
                        *broken = ids;
                    }
                    snapshots
                })),
                None => LazySnapshots::ready(HostSnapshots::default()),
            }),
            false => None,
        };
        let evaluated = side.evaluate(&batches, threads, snapshots, prefetch.as_ref());
        self.forget_snapshots(&broken.into_inner().unwrap_or_default())?;
        let (evaluated, taken) = evaluated?;
        resolved.extend(self.record(evaluated)?);
        self.remember_snapshots(side.state().anchor(), &taken)?;
        Ok(resolved)
    }
}

/// What distinguishes evaluations of one repository that must not share results: where the
/// repository is inside its git work tree, its description, the command-line overrides and
/// the ignored options (hosts' outcomes hold digests made with them pinned). Without ignored
/// options the key is what it was before they existed, so existing caches stay valid.
fn context_key(repo: &Repo, top: &Path, ignored_options: &[Vec<String>]) -> String {
    let relative = |path: &Path| path.strip_prefix(top).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf());
    let description = format!(
        "{}|{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}",
        env!("CARGO_PKG_VERSION"),
        repo.kind,
        relative(&repo.root).display(),
        relative(&repo.entry).display(),
        repo.hosts_attr,
        repo.toplevel_attr,
        repo.config_attr,
        repo.unit_attr,
        repo.checks_attr,
        repo.nix_path,
        repo.system,
        repo.store_dir,
        repo.auto_args,
        repo.overrides.input_overrides,
    );
    if ignored_options.is_empty() {
        return crate::units::key_of(&[&description]);
    }
    let options = ignored_options.iter().map(|path| crate::config::join_attr_path(path)).collect::<Vec<_>>();
    crate::units::key_of(&[&description, "ignored options", &format!("{options:?}")])
}

/// The units a listing names.
pub fn units_of(listing: &Listing) -> Vec<Unit> {
    let hosts: BTreeSet<&String> = listing.hosts.iter().collect();
    let mut units: Vec<Unit> =
        listing.hosts.iter().map(|name| Unit::Host(name.clone(), listing.checks.contains(name))).collect();
    units.extend(listing.checks.iter().filter(|name| !hosts.contains(name)).cloned().map(Unit::Checks));
    units.extend(listing.tests.iter().cloned().map(Unit::Test));
    units
}

/// The listing of a side; a failed listing is an error (the repository itself does not
/// evaluate).
pub fn listing_of(resolved: &BTreeMap<Unit, Resolved>, label: &str) -> Result<Listing, EngineError> {
    match resolved.get(&Unit::Listing).map(|r| &r.outcome) {
        Some(Outcome::Listing(listing)) => Ok(listing.clone()),
        Some(Outcome::Failed { error }) => Err(EngineError::Eval(format!("{error}\n(on the {label} side)"))),
        _ => Err(EngineError::Internal("no listing".into())),
    }
}

/// The checks a unit's outcome gives: a host's with its checks, a check group's, or a
/// failed check group as one failed check of its name.
pub fn unit_checks(unit: &Unit, outcome: &Outcome) -> Vec<CheckResult> {
    match (unit, outcome) {
        (Unit::Host(_, true), Outcome::Host(HostOutcome { checks: Some(results), .. }))
        | (Unit::Checks(_), Outcome::Checks { checks: results }) => results.clone(),
        (Unit::Checks(name), Outcome::Failed { error }) => {
            vec![CheckResult { name: name.clone(), host: None, drv_path: None, error: Some(error.clone()) }]
        }
        _ => Vec::new(),
    }
}

/// Everything one side gave.
pub struct SideResults {
    /// The listing.
    pub listing: Listing,
    /// Every unit.
    pub units: BTreeMap<Unit, Resolved>,
}

impl SideResults {
    /// Each host's outcome.
    pub fn hosts(&self) -> BTreeMap<String, HostOutcome> {
        self.units
            .iter()
            .filter_map(|(unit, r)| match (unit, &r.outcome) {
                (Unit::Host(name, _), Outcome::Host(host)) => Some((name.clone(), host.clone())),
                _ => None,
            })
            .collect()
    }

    /// Each check's result, by name.
    pub fn checks(&self) -> BTreeMap<String, CheckResult> {
        let mut checks = BTreeMap::new();
        for (unit, resolved) in &self.units {
            for check in unit_checks(unit, &resolved.outcome) {
                checks.insert(check.name.clone(), check);
            }
        }
        checks
    }

    /// Each unit test's outcome, by name.
    pub fn tests(&self) -> BTreeMap<String, TestOutcome> {
        self.units
            .iter()
            .filter_map(|(unit, r)| match (unit, &r.outcome) {
                (Unit::Test(path), Outcome::Test(test)) => Some((crate::config::join_attr_path(path), test.clone())),
                _ => None,
            })
            .collect()
    }

    /// How many units were evaluated in this run.
    pub fn n_evaluated(&self) -> usize {
        self.units.values().filter(|r| r.evaluated).count()
    }
}

/// Resolves every unit of one side.
pub fn resolve_side(
    store: &mut Store,
    side: &mut Side<'_>,
    base: Option<&SideResults>,
    threads: usize,
) -> Result<SideResults, EngineError> {
    let mut units = store.resolve(side, &[Unit::Listing], base.map(|b| &b.units), threads)?;
    let listing = listing_of(&units, side.label)?;
    units.extend(store.resolve(side, &units_of(&listing), base.map(|b| &b.units), threads)?);
    Ok(SideResults { listing, units })
}

/// The impact of the changes between `options.since` and the work tree (or `options.head`).
pub fn impact(repo: &Repo, options: &ImpactOptions) -> Result<Impact, EngineError> {
    let top = git::toplevel(&repo.root)?;
    // Against the work tree, another thread compiles what the last run read meanwhile.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        if options.head.is_none() && options.threads > 1 {
            compile_ahead(scope, repo, &top, options.cache_dir.as_deref(), None, &stop);
        }
        let result = impact_in(repo, options, &top);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    })
}

/// [`impact`] in the repository whose top is `top`.
fn impact_in(repo: &Repo, options: &ImpactOptions, top: &Path) -> Result<Impact, EngineError> {
    let top = top.to_path_buf();
    let base_commit = git::resolve(&top, options.since.as_deref().unwrap_or("HEAD"))?;
    let head_commit = options.head.as_deref().map(|rev| git::resolve(&top, rev)).transpose()?;
    // The changed files, the base's tree and the cache are read side by side: each of the
    // first two is a git process to wait for.
    let (changed_files, base_tree, store) = std::thread::scope(|scope| {
        let tree = scope.spawn(|| GitTree::new(&top, &base_commit));
        let store = scope.spawn(|| Store::open(repo, &top, options.cache_dir.as_deref()));
        let changed = git::changed_paths(&top, &base_commit, head_commit.as_deref());
        let joined = |what: &str| EngineError::Internal(format!("reading {what} failed unexpectedly"));
        (changed, tree.join().map_err(|_| joined("the base's tree")), store.join().map_err(|_| joined("the cache")))
    });
    let (changed_files, base_tree, mut store) = (changed_files?, base_tree??, store??);
    let ignore = ignore_rules(repo)?;
    // Against the work tree, what differs from the base is what changed: git is asked once.
    let base_differs: Option<BTreeSet<String>> = head_commit.is_none().then(|| changed_files.iter().cloned().collect());
    let (ignored_files, changed_files): (Vec<String>, Vec<String>) =
        changed_files.into_iter().partition(|file| ignore.files.iter().any(|p| p.matches(file)));

    let threads = options.threads.max(1);
    let base_side = match &base_differs {
        Some(differing) => Side::commit_differing(repo, &top, &base_commit, "base", differing, base_tree)?,
        None => {
            let differing: BTreeSet<String> = git::changed_paths(&top, &base_commit, None)?.into_iter().collect();
            Side::commit_differing(repo, &top, &base_commit, "base", &differing, base_tree)?
        }
    };
    let mut base_side = base_side.with_max_memory(options.max_memory);
    let mut head_side = match &head_commit {
        Some(commit) => Side::commit(repo, &top, commit, "head")?.with_max_memory(options.max_memory),
        None => Side::work_tree(repo, &top).with_max_memory(options.max_memory),
    };
    if !ignored_files.is_empty() {
        head_side.state.ignore(ignored_files.iter().cloned().collect());
    }
    let base = resolve_side(&mut store, &mut base_side, None, threads)?;
    let head = resolve_side(&mut store, &mut head_side, Some(&base), threads)?;

    let mut impact = Impact {
        base: base_commit,
        head: head_commit,
        changed_files,
        ignored_files,
        evaluated: (base.n_evaluated(), head.n_evaluated()),
        ..Impact::default()
    };
    let (base_hosts, head_hosts) = (base.hosts(), head.hosts());
    for (name, host) in &head_hosts {
        let resolved =
            head.units.iter().find(|(unit, _)| matches!(unit, Unit::Host(n, _) if n == name)).map(|(_, r)| r);
        if !resolved.is_some_and(|r| r.from_base) {
            impact.reevaluated_hosts.push(name.clone());
        }
        match base_hosts.get(name) {
            None => impact.added_hosts.push(name.clone()),
            Some(old) if differs(old.drv_path.as_deref(), old.error.as_deref(), host) => {
                if same_digest(old.pinned_digest.as_deref(), host.pinned_digest.as_deref()) && host.error.is_none() {
                    impact.ignored_hosts.push(name.clone())
                } else {
                    impact.changed_hosts.push(name.clone())
                }
            }
            Some(_) => impact.unchanged_hosts.push(name.clone()),
        }
        if let Some(error) = &host.error {
            impact.errors.push(Failure { kind: "host", name: name.clone(), error: error.clone() });
        }
        for message in &host.failing_assertions {
            impact.failing_assertions.push(FailingAssertion { host: name.clone(), message: message.clone() });
        }
    }
    impact.removed_hosts = base_hosts.keys().filter(|h| !head_hosts.contains_key(*h)).cloned().collect();

    let (base_checks, head_checks) = (base.checks(), head.checks());
    // A check changed only by noise: its host is, and the checks read nothing that differs
    // beyond what the host read.
    let noise_only = |check: &CheckResult| {
        let Some(host) = check.host.as_ref().filter(|host| impact.ignored_hosts.contains(host)) else { return false };
        let (old, new) = (base_hosts.get(host), head_hosts.get(host));
        check.error.is_none()
            && same_digest(
                old.and_then(|h| h.pinned_checks_digest.as_deref()),
                new.and_then(|h| h.pinned_checks_digest.as_deref()),
            )
    };
    for (name, check) in &head_checks {
        match base_checks.get(name) {
            None => impact.added_checks.push(name.clone()),
            Some(old) if old.drv_path != check.drv_path || (check.error.is_some() && old.error != check.error) => {
                if noise_only(check) {
                    impact.ignored_checks.push(name.clone())
                } else {
                    impact.changed_checks.push(name.clone())
                }
            }
            Some(_) => {}
        }
        if let Some(error) = &check.error {
            impact.errors.push(Failure { kind: "check", name: name.clone(), error: error.clone() });
        }
    }
    impact.removed_checks = base_checks.keys().filter(|c| !head_checks.contains_key(*c)).cloned().collect();

    let (base_tests, head_tests) = (base.tests(), head.tests());
    for (name, test) in &head_tests {
        if base_tests.get(name).is_none_or(|old| old.key != test.key) {
            impact.changed_tests.push(name.clone());
        }
        if test.status == TestStatus::Error {
            let error = test.message.clone().unwrap_or_default();
            impact.errors.push(Failure { kind: "test", name: name.clone(), error });
        }
    }
    impact.failing_assertions.sort();
    impact.errors.sort();
    impact.notes = std::mem::take(&mut store.notes);
    Ok(impact)
}

/// Whether a host changed: its drvPath differs, or it fails on the head side differently.
fn differs(old_drv: Option<&str>, old_error: Option<&str>, new: &HostOutcome) -> bool {
    old_drv != new.drv_path.as_deref() || (new.error.is_some() && old_error != new.error.as_deref())
}

/// Whether both digests were computed and are equal.
fn same_digest(old: Option<&str>, new: Option<&str>) -> bool {
    matches!((old, new), (Some(old), Some(new)) if old == new)
}

/// What `[impact] ignore` declares noise.
#[derive(Debug, Default)]
pub struct IgnoreRules {
    /// File globs (entries with a glob character or a `/`), relative to the git top level.
    pub files: Vec<glob::Pattern>,
    /// Option paths (entries `config.<path>`), below each host's options; sorted, each once.
    pub options: Vec<Vec<String>>,
}

/// Reads `[impact] ignore`: an entry with a glob character or a `/`, or naming a file at the
/// repository's root, is a file glob; one starting with `config.` an option path; anything
/// else a configuration error (`system.stateVersion` is most likely a forgotten `config.`).
pub fn ignore_rules(repo: &Repo) -> Result<IgnoreRules, EngineError> {
    let mut rules = IgnoreRules::default();
    let Some(value) = repo.impact.get("ignore") else { return Ok(rules) };
    let not_a_list = || EngineError::Config("[impact] ignore must be a list of file globs and option paths".into());
    for item in value.as_array().ok_or_else(not_a_list)? {
        rules.add(item.as_str().ok_or_else(not_a_list)?, Some(&repo.root))?;
    }
    rules.options.sort();
    rules.options.dedup();
    Ok(rules)
}

impl IgnoreRules {
    /// Adds one entry of `[impact] ignore`.
    fn add(&mut self, text: &str, root: Option<&Path>) -> Result<(), EngineError> {
        let names_a_file = || !text.starts_with("config.") && root.is_some_and(|root| root.join(text).exists());
        if text.contains(['*', '?', '[', ']', '/']) || names_a_file() {
            let pattern = glob::Pattern::new(text)
                .map_err(|e| EngineError::Config(format!("[impact] ignore: bad pattern '{text}': {e}")))?;
            self.files.push(pattern);
        } else if let Some(path) = text.strip_prefix("config.") {
            let bad = |why: String| EngineError::Config(format!("[impact] ignore: bad option path '{text}': {why}"));
            let path = nxe_evaluator::split_attr_path(path).map_err(|e| bad(e.to_string()))?;
            if path.is_empty() || path.iter().any(String::is_empty) {
                return Err(bad("an empty attribute name".into()));
            }
            self.options.push(path);
        } else {
            return Err(EngineError::Config(format!(
                "[impact] ignore: '{text}' is neither a file glob (with a glob character or a '/', or a file at the repository's root) nor an option path (config.<option>)"
            )));
        }
        Ok(())
    }
}

/// The option paths of `[impact] ignore` (see [`ignore_rules`]).
pub fn ignored_options(repo: &Repo) -> Result<Vec<Vec<String>>, EngineError> {
    ignore_rules(repo).map(|rules| rules.options)
}

/// Why a host changed: the changed files it read, and the derivations that changed for a
/// reason of their own (from each side's derivation graph).
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The host.
    pub host: String,
    /// Files (relative to the top level) it read whose content differs.
    pub changed_inputs: Vec<String>,
    /// The derivation diff of its top level.
    pub diff: nxe_graph::FleetDiff,
}

/// Explains `host`'s change between `options.since` and the work tree (or `options.head`).
/// Each side's derivations come from the cache when it remembers that host with a read set
/// that holds, and from an evaluation otherwise.
pub fn explain(repo: &Repo, options: &ImpactOptions, host: &str) -> Result<Explanation, EngineError> {
    let top = git::toplevel(&repo.root)?;
    let base_commit = git::resolve(&top, options.since.as_deref().unwrap_or("HEAD"))?;
    let head_commit = options.head.as_deref().map(|rev| git::resolve(&top, rev)).transpose()?;
    let mut store = Store::open(repo, &top, options.cache_dir.as_deref())?;
    let mut base_side = Side::commit(repo, &top, &base_commit, "base")?.with_max_memory(options.max_memory);
    let mut head_side = match &head_commit {
        Some(commit) => Side::commit(repo, &top, commit, "head")?.with_max_memory(options.max_memory),
        None => Side::work_tree(repo, &top).with_max_memory(options.max_memory),
    };
    let threads = options.threads.max(1);
    let old = host_with_derivations(&mut store, &mut base_side, host, threads)?;
    let new = host_with_derivations(&mut store, &mut head_side, host, threads)?;
    let mut changed_inputs = BTreeSet::new();
    for key in old.reads.differences(head_side.state()) {
        if let Some(path) = key.path() {
            changed_inputs.insert(describe(key, path));
        }
    }
    let mut graphs = Vec::new();
    for evaluated in [&old, &new] {
        let mut graph = nxe_graph::DrvGraph::default();
        graph.add_derivations(evaluated.derivations.clone());
        if let Outcome::Host(HostOutcome { drv_path: Some(drv), .. }) = &evaluated.outcome {
            graph.add_root(nxe_graph::RootKind::Host, host, drv);
        }
        graphs.push(graph);
    }
    let mut diff = nxe_graph::diff(&graphs[0], &graphs[1]);
    for (evaluated, side) in [(&old, nxe_graph::Side::Old), (&new, nxe_graph::Side::New)] {
        if let Outcome::Host(HostOutcome { error: Some(error), .. }) = &evaluated.outcome {
            diff.record_failure(nxe_graph::RootKind::Host, host, side, error);
        }
    }
    Ok(Explanation { host: host.to_string(), changed_inputs: changed_inputs.into_iter().collect(), diff })
}

/// A host's outcome, read set and derivations on one side: from the cache when it holds
/// there and its derivations are remembered, evaluated otherwise.
fn host_with_derivations(
    store: &mut Store,
    side: &mut Side<'_>,
    host: &str,
    threads: usize,
) -> Result<Evaluated, EngineError> {
    for with_checks in [true, false] {
        let unit = Unit::Host(host.to_string(), with_checks);
        let Some(found) = store.cached(&unit, side.state()) else { continue };
        let Outcome::Host(HostOutcome { drv_path: Some(drv), .. }) = &found.outcome else { continue };
        let remembered = match store.cache() {
            Some(cache) => cache.closure(std::slice::from_ref(drv))?,
            None => None,
        };
        if let Some(objects) = remembered {
            return Ok(Evaluated {
                unit,
                outcome: found.outcome,
                reads: found.reads,
                derivations: objects.derivations,
                added: objects.paths,
            });
        }
    }
    let (mut evaluated, _) = side.evaluate(&[vec![Unit::Host(host.to_string(), false)]], threads, None, None)?;
    evaluated.pop().ok_or_else(|| EngineError::Internal(format!("no evaluation of {host}")))
}

fn describe(key: &ReadKey, path: &str) -> String {
    match key {
        ReadKey::Dir(_) => format!("{path}/ (entries)"),
        ReadKey::Kind(_) | ReadKey::Exists(_) => format!("{path} (existence)"),
        _ => path.to_string(),
    }
}

/// The snapshots of `stored` that tests may use in `state`: of each host, the newest whose
/// read set holds, and the newest shape of each; with the ids of broken rows.
pub fn host_snapshots_in(stored: StoredSnapshots, state: &State) -> (HostSnapshots, Vec<i64>) {
    let (rows, broken) = stored.check();
    let mut out = HostSnapshots::default();
    let mut shapes = BTreeMap::new();
    for row in rows {
        if !shapes.contains_key(&row.host) {
            shapes.insert(row.host.clone(), row.shape.clone());
        }
        if out.valid.contains_key(&row.host) || !row.reads.holds(state) {
            continue;
        }
        if let Ok(mut snap) = serde_json::from_str::<Snap>(&row.body) {
            snap.relocate(crate::snapshots::PLACE, &state.anchor().root.display().to_string());
            let snapshot = HostSnapshot { reads: row.reads, shape: row.shape, snap: Arc::new(snap) };
            out.valid.insert(row.host, Arc::new(snapshot));
        }
    }
    out.shapes = Arc::new(shapes);
    (out, broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(entries: &[&str]) -> Result<IgnoreRules, String> {
        let mut rules = IgnoreRules::default();
        for entry in entries {
            rules.add(entry, None).map_err(|e| e.to_string())?;
        }
        Ok(rules)
    }

    #[test]
    fn ignore_entries_are_globs_or_option_paths() {
        let parsed = rules(&["hosts/*.nix", "CHANGELOG.m?", "config.system.configurationRevision", "config.a.\"b.c\""])
            .unwrap_or_else(|e| panic!("{e}"));
        let globs: Vec<&str> = parsed.files.iter().map(glob::Pattern::as_str).collect();
        assert_eq!(globs, ["hosts/*.nix", "CHANGELOG.m?"]);
        assert_eq!(parsed.options, [vec!["system", "configurationRevision"], vec!["a", "b.c"]]);
    }

    #[test]
    fn a_file_at_the_root_is_a_glob() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("flake.lock"), "{}").expect("write");
        let mut rules = IgnoreRules::default();
        assert!(rules.add("flake.lock", Some(dir.path())).is_ok());
        assert!(rules.add("system.stateVersion", Some(dir.path())).is_err());
        assert_eq!(rules.files.len(), 1);
    }

    #[test]
    fn other_ignore_entries_are_errors_naming_them() {
        for entry in ["flake.lock", "system.configurationRevision", "config.", "config.a..b", "config.\"open", "[z-a"] {
            let error = rules(&[entry]).err().unwrap_or_default();
            assert!(error.contains(&format!("'{entry}'")), "{entry}: {error:?}");
        }
    }
}
