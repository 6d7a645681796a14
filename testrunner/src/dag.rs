//! A DAG of jobs that grows while it runs: what `nxe test` and `nxe build` schedule.
//!
//! Jobs are nodes of a petgraph graph, with an edge from each job to every job that waits
//! for it. A job runs on one of the run's worker threads once every job it waits for has
//! ended, and may add jobs as it runs (a host's evaluation adds the builds of its checks, a
//! check group's evaluation adds one build per derivation), so evaluation, tests and builds
//! are one graph: a build starts as soon as the evaluation that made its derivation and the
//! builds of its inputs are done, whatever else is still evaluating.
//!
//! - Every job runs exactly once, even after a job it waits for failed: it sees which ones
//!   did ([`Context::failed_inputs`]) and reports that itself. A failure never stops other
//!   jobs, unless the run is fail-fast: then jobs that start later see
//!   [`Context::stopped`] and only report that they did not run.
//! - A job that passed its memory budget ends with [`Ending::Again`]: it runs again once
//!   nothing else runs, alone ([`Context::alone`]), and the jobs waiting for it wait longer.
//! - Among ready jobs, the one with the highest [`Job::priority`] starts first, then the
//!   oldest.

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

/// A job's place in the graph.
pub type JobId = NodeIndex;

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It did what it had to.
    Done,
    /// It failed: the jobs waiting for it see that.
    Failed,
    /// It passed its memory budget: run it again, alone.
    Again,
}

/// Something to run.
pub trait Job: Send + Sized {
    /// Ready jobs with a higher priority start first.
    fn priority(&self) -> u8 {
        0
    }

    /// Runs the job; it may add jobs through `context`.
    fn run(&mut self, context: &Context<'_, Self>) -> Ending;

    /// Called on a worker about to wait while a job runs alone (never with the run's lock
    /// held): a chance to free what its last job left on the thread for the one alone.
    fn idle() {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Waiting,
    Ready,
    Running,
    Ended { failed: bool },
}

struct Node<J> {
    /// `None` while it runs.
    job: Option<J>,
    /// Jobs it waits for that have not ended (or released them).
    waiting: usize,
    state: State,
    /// Whether the jobs waiting for it were let start before it ended (see
    /// [`Context::release`]).
    released: bool,
}

struct Inner<J> {
    graph: StableDiGraph<Node<J>, ()>,
    keys: HashMap<String, JobId>,
    ready: BinaryHeap<(u8, Reverse<u64>, JobId)>,
    next: u64,
    running: usize,
    /// Jobs to run again, alone.
    again: VecDeque<JobId>,
    /// A job runs alone: nothing else starts.
    alone: bool,
    stopped: bool,
    /// A job panicked: nothing else starts, and the run panics with it once the jobs still
    /// running have ended (rather than leave the other workers waiting forever).
    panic: Option<Box<dyn std::any::Any + Send>>,
}

/// The graph of jobs and its run.
pub struct Dag<J: Job> {
    inner: Mutex<Inner<J>>,
    changed: Condvar,
    fail_fast: bool,
}

/// What a running job sees of the graph.
pub struct Context<'d, J: Job> {
    dag: &'d Dag<J>,
    me: JobId,
    alone: bool,
}

impl<J: Job> Dag<J> {
    /// An empty graph; with `fail_fast`, the first failure stops the run.
    pub fn new(fail_fast: bool) -> Dag<J> {
        Dag {
            inner: Mutex::new(Inner {
                graph: StableDiGraph::new(),
                keys: HashMap::new(),
                ready: BinaryHeap::new(),
                next: 0,
                running: 0,
                again: VecDeque::new(),
                alone: false,
                stopped: false,
                panic: None,
            }),
            changed: Condvar::new(),
            fail_fast,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<J>> {
        // A job never panics while holding the lock (jobs run outside it), so a poisoned
        // lock still holds a consistent graph.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `job`, to run once every job of `after` has ended.
    pub fn add(&self, job: J, after: &[JobId]) -> JobId {
        let mut inner = self.lock();
        let id = Self::insert(&mut inner, job, after);
        drop(inner);
        self.changed.notify_all();
        id
    }

    /// Adds the job `make` gives under `key`, unless a job with that key was added before:
    /// then that job's id.
    pub fn add_keyed(&self, key: &str, make: impl FnOnce() -> J, after: &[JobId]) -> JobId {
        let mut inner = self.lock();
        if let Some(id) = inner.keys.get(key) {
            return *id;
        }
        let id = Self::insert(&mut inner, make(), after);
        inner.keys.insert(key.to_string(), id);
        drop(inner);
        self.changed.notify_all();
        id
    }

    /// The job added under `key`.
    pub fn find(&self, key: &str) -> Option<JobId> {
        self.lock().keys.get(key).copied()
    }

    fn insert(inner: &mut Inner<J>, job: J, after: &[JobId]) -> JobId {
        let id = inner.graph.add_node(Node { job: Some(job), waiting: 0, state: State::Waiting, released: false });
        let mut waiting = 0;
        for input in after {
            let Some(node) = inner.graph.node_weight(*input) else { continue };
            if !node.released && !matches!(node.state, State::Ended { .. }) {
                waiting += 1;
            }
            inner.graph.add_edge(*input, id, ());
        }
        if let Some(node) = inner.graph.node_weight_mut(id) {
            node.waiting = waiting;
        }
        if waiting == 0 {
            Self::make_ready(inner, id);
        }
        id
    }

    fn make_ready(inner: &mut Inner<J>, id: JobId) {
        let priority = match inner.graph.node_weight_mut(id) {
            Some(node) => {
                node.state = State::Ready;
                node.job.as_ref().map_or(0, Job::priority)
            }
            None => return,
        };
        let order = Reverse(inner.next);
        inner.next += 1;
        inner.ready.push((priority, order, id));
    }

    /// Runs every job, added before or during the run, on `threads` workers with `stack`
    /// bytes of stack each; returns once all have ended. Each job's ending, by id.
    pub fn run(&self, threads: usize, stack: usize) -> std::io::Result<HashMap<JobId, Ending>> {
        let endings = Mutex::new(HashMap::new());
        std::thread::scope(|scope| {
            let mut workers = Vec::new();
            for i in 0..threads.max(1) {
                let endings = &endings;
                let worker = std::thread::Builder::new()
                    .name(format!("nxe-job-{i}"))
                    .stack_size(stack)
                    .spawn_scoped(scope, move || self.work(endings))?;
                workers.push(worker);
            }
            Ok::<(), std::io::Error>(())
        })?;
        if let Some(payload) = self.lock().panic.take() {
            std::panic::resume_unwind(payload);
        }
        Ok(endings.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// One worker: takes ready jobs until none is left and none runs.
    fn work(&self, endings: &Mutex<HashMap<JobId, Ending>>) {
        loop {
            let Some((id, mut job, alone)) = self.next_job() else { return };
            let context = Context { dag: self, me: id, alone };
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&context)));
            let ending = match ran {
                // Alone there is no budget to pass: that is a failure of the job.
                Ok(Ending::Again) if alone => Ending::Failed,
                Ok(ending) => ending,
                Err(payload) => {
                    let mut inner = self.lock();
                    inner.panic.get_or_insert(payload);
                    inner.running -= 1;
                    drop(inner);
                    self.changed.notify_all();
                    return;
                }
            };
            let mut inner = self.lock();
            inner.running -= 1;
            if alone {
                inner.alone = false;
            }
            if ending == Ending::Again {
                if let Some(node) = inner.graph.node_weight_mut(id) {
                    node.job = Some(job);
                    node.state = State::Waiting;
                }
                inner.again.push_back(id);
            } else {
                drop(job);
                let failed = ending == Ending::Failed;
                if failed && self.fail_fast {
                    inner.stopped = true;
                }
                let released = match inner.graph.node_weight_mut(id) {
                    Some(node) => {
                        node.state = State::Ended { failed };
                        node.released
                    }
                    None => false,
                };
                if !released {
                    Self::release_dependents(&mut inner, id);
                }
                if let Ok(mut endings) = endings.lock() {
                    endings.insert(id, ending);
                }
            }
            drop(inner);
            self.changed.notify_all();
        }
    }

    /// Counts `id` as ended for the jobs that wait for it; those that wait for nothing else
    /// become ready.
    fn release_dependents(inner: &mut Inner<J>, id: JobId) {
        let dependents: Vec<JobId> =
            inner.graph.edges_directed(id, Direction::Outgoing).map(|edge| edge.target()).collect();
        for dependent in dependents {
            let now_ready = match inner.graph.node_weight_mut(dependent) {
                Some(node) if node.state == State::Waiting && node.waiting > 0 => {
                    node.waiting -= 1;
                    node.waiting == 0
                }
                _ => false,
            };
            if now_ready {
                Self::make_ready(inner, dependent);
            }
        }
    }

    /// The next job to run, waiting for one; `None` when the run is over.
    fn next_job(&self) -> Option<(JobId, J, bool)> {
        let mut inner = self.lock();
        let mut idled = false;
        loop {
            if inner.panic.is_some() {
                return None;
            }
            if !inner.alone {
                while let Some((_, _, id)) = inner.ready.pop() {
                    if let Some(job) = inner.graph.node_weight_mut(id).and_then(Self::start) {
                        inner.running += 1;
                        return Some((id, job, false));
                    }
                }
                if inner.running == 0 {
                    while let Some(id) = inner.again.pop_front() {
                        if let Some(job) = inner.graph.node_weight_mut(id).and_then(Self::start) {
                            inner.running += 1;
                            inner.alone = true;
                            // Waiting workers free what they hold for the one alone.
                            self.changed.notify_all();
                            return Some((id, job, true));
                        }
                    }
                    // Nothing ready, nothing running, nothing to run again: the run is over.
                    return None;
                }
            }
            if inner.alone && !std::mem::replace(&mut idled, true) {
                drop(inner);
                J::idle();
                inner = self.lock();
                continue;
            }
            inner = self.changed.wait(inner).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn start(node: &mut Node<J>) -> Option<J> {
        let job = node.job.take()?;
        node.state = State::Running;
        Some(job)
    }
}

impl<J: Job> Context<'_, J> {
    /// Adds a job, to run once every job of `after` has ended.
    pub fn add(&self, job: J, after: &[JobId]) -> JobId {
        self.dag.add(job, after)
    }

    /// Adds the job `make` gives under `key`, unless there is one: then that one's id.
    pub fn add_keyed(&self, key: &str, make: impl FnOnce() -> J, after: &[JobId]) -> JobId {
        self.dag.add_keyed(key, make, after)
    }

    /// The job added under `key`.
    pub fn find(&self, key: &str) -> Option<JobId> {
        self.dag.find(key)
    }

    /// The jobs this one waited for that failed.
    pub fn failed_inputs(&self) -> Vec<JobId> {
        let inner = self.dag.lock();
        inner
            .graph
            .edges_directed(self.me, Direction::Incoming)
            .map(|edge| edge.source())
            .filter(|input| {
                matches!(inner.graph.node_weight(*input), Some(Node { state: State::Ended { failed: true }, .. }))
            })
            .collect()
    }

    /// Whether the run stopped at a failure (fail-fast): the job should only say it did not
    /// run.
    pub fn stopped(&self) -> bool {
        self.dag.lock().stopped
    }

    /// Whether `job` has ended.
    pub fn ended(&self, job: JobId) -> bool {
        matches!(self.dag.lock().graph.node_weight(job), Some(Node { state: State::Ended { .. }, .. }))
    }

    /// Lets the jobs waiting for this one start now, as if it had ended well: for a job
    /// whose remaining work they do not need. Jobs added later do not wait for it either.
    /// That it then fails shows in [`Context::failed_inputs`] only to those that ask once
    /// it has ended.
    pub fn release(&self) {
        let mut inner = self.dag.lock();
        match inner.graph.node_weight_mut(self.me) {
            Some(node) if !node.released => node.released = true,
            _ => return,
        }
        Dag::release_dependents(&mut inner, self.me);
        drop(inner);
        self.dag.changed.notify_all();
    }

    /// Whether another job runs, or is ready to.
    pub fn others_busy(&self) -> bool {
        let inner = self.dag.lock();
        inner.running > 1 || !inner.ready.is_empty()
    }

    /// Whether this job runs alone (again, after it passed its memory budget).
    pub fn alone(&self) -> bool {
        self.alone
    }

    /// This job's id.
    pub fn id(&self) -> JobId {
        self.me
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A test job: logs its name when it runs, fails or asks to run again as told, and may
    /// add a child job waiting for itself.
    struct Step {
        name: String,
        log: Arc<Mutex<Vec<String>>>,
        fail: bool,
        again_once: bool,
        child: Option<Box<Step>>,
        priority: u8,
        running: Arc<AtomicUsize>,
        max_running: Arc<AtomicUsize>,
    }

    impl Step {
        fn new(name: &str, log: &Arc<Mutex<Vec<String>>>) -> Step {
            Step {
                name: name.into(),
                log: log.clone(),
                fail: false,
                again_once: false,
                child: None,
                priority: 0,
                running: Arc::new(AtomicUsize::new(0)),
                max_running: Arc::new(AtomicUsize::new(0)),
            }
        }
    }

    impl Job for Step {
        fn priority(&self) -> u8 {
            self.priority
        }

        fn run(&mut self, context: &Context<'_, Self>) -> Ending {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_running.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            self.running.fetch_sub(1, Ordering::SeqCst);
            let failed = context.failed_inputs().len();
            let entry = match (context.stopped(), context.alone()) {
                (true, _) => format!("{} stopped", self.name),
                (false, true) => format!("{} alone", self.name),
                (false, false) if failed > 0 => format!("{} after {failed} failed", self.name),
                (false, false) => self.name.clone(),
            };
            if self.again_once && !context.alone() {
                self.log.lock().expect("log").push(format!("{} over budget", self.name));
                return Ending::Again;
            }
            self.log.lock().expect("log").push(entry);
            if let Some(child) = self.child.take() {
                context.add(*child, &[context.id()]);
            }
            if self.fail {
                Ending::Failed
            } else {
                Ending::Done
            }
        }
    }

    fn position(log: &[String], entry: &str) -> usize {
        log.iter().position(|e| e == entry).unwrap_or_else(|| panic!("{entry} not in {log:?}"))
    }

    #[test]
    fn jobs_run_after_what_they_wait_for_and_added_jobs_run_too() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let dag = Dag::new(false);
        let a = dag.add(Step::new("a", &log), &[]);
        let b = dag.add(Step::new("b", &log), &[a]);
        let mut c = Step::new("c", &log);
        c.child = Some(Box::new(Step::new("c-child", &log)));
        let c = dag.add(c, &[a]);
        dag.add(Step::new("d", &log), &[b, c]);
        let endings = dag.run(2, 1 << 20).expect("run");
        assert_eq!(endings.len(), 5);
        assert!(endings.values().all(|e| *e == Ending::Done));
        let log = log.lock().expect("log").clone();
        assert!(position(&log, "a") < position(&log, "b"));
        assert!(position(&log, "a") < position(&log, "c"));
        assert!(position(&log, "b") < position(&log, "d"));
        assert!(position(&log, "c") < position(&log, "d"));
        assert!(position(&log, "c") < position(&log, "c-child"));
    }

    #[test]
    fn a_failure_is_seen_by_its_dependents_and_others_go_on() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let dag = Dag::new(false);
        let mut bad = Step::new("bad", &log);
        bad.fail = true;
        let bad = dag.add(bad, &[]);
        let good = dag.add(Step::new("good", &log), &[]);
        dag.add(Step::new("above-bad", &log), &[bad, good]);
        dag.add(Step::new("above-good", &log), &[good]);
        let endings = dag.run(2, 1 << 20).expect("run");
        assert_eq!(endings[&bad], Ending::Failed);
        let mut log = log.lock().expect("log").clone();
        log.sort();
        assert_eq!(log, ["above-bad after 1 failed", "above-good", "bad", "good"]);
    }

    #[test]
    fn fail_fast_tells_later_jobs_the_run_stopped() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let dag = Dag::new(true);
        let mut bad = Step::new("bad", &log);
        bad.fail = true;
        let bad = dag.add(bad, &[]);
        let later = dag.add(Step::new("later", &log), &[bad]);
        dag.add(Step::new("last", &log), &[later]);
        dag.run(1, 1 << 20).expect("run");
        assert_eq!(*log.lock().expect("log"), ["bad", "later stopped", "last stopped"]);
    }

    #[test]
    fn a_job_over_its_budget_runs_again_alone_and_its_dependents_wait() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let max_running = Arc::new(AtomicUsize::new(0));
        let dag = Dag::new(false);
        let mut heavy = Step::new("heavy", &log);
        heavy.again_once = true;
        heavy.running = running.clone();
        heavy.max_running = Arc::new(AtomicUsize::new(0));
        let heavy = dag.add(heavy, &[]);
        dag.add(Step::new("after-heavy", &log), &[heavy]);
        for i in 0..6 {
            let mut step = Step::new(&format!("light-{i}"), &log);
            step.running = running.clone();
            step.max_running = max_running.clone();
            dag.add(step, &[]);
        }
        let endings = dag.run(2, 1 << 20).expect("run");
        assert_eq!(endings[&heavy], Ending::Done);
        let log = log.lock().expect("log").clone();
        let alone = position(&log, "heavy alone");
        assert!(position(&log, "heavy over budget") < alone);
        assert!(alone < position(&log, "after-heavy"));
        // Every light job had ended before the heavy one ran alone.
        assert!((0..6).all(|i| position(&log, &format!("light-{i}")) < alone), "{log:?}");
        assert!(max_running.load(Ordering::SeqCst) <= 2);
    }

    /// A job that panics.
    struct Boom;

    impl Job for Boom {
        fn run(&mut self, _: &Context<'_, Self>) -> Ending {
            panic!("boom");
        }
    }

    #[test]
    fn a_panicking_job_ends_the_run_with_its_panic_instead_of_a_hang() {
        let dag = Dag::new(false);
        let first = dag.add(Boom, &[]);
        dag.add(Boom, &[first]);
        for _ in 0..4 {
            dag.add(Boom, &[]);
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dag.run(2, 1 << 20)));
        let payload = outcome.expect_err("the run panics");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[test]
    fn higher_priority_jobs_start_first_and_keys_add_once() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let dag = Dag::new(false);
        let mut gate = Step::new("gate", &log);
        gate.priority = 9;
        let gate = dag.add(gate, &[]);
        for (name, priority) in [("low", 0), ("high", 5), ("mid", 2)] {
            let mut step = Step::new(name, &log);
            step.priority = priority;
            dag.add(step, &[gate]);
        }
        let first = dag.add_keyed("k", || Step::new("keyed", &log), &[]);
        let second = dag.add_keyed("k", || Step::new("keyed-again", &log), &[]);
        assert_eq!(first, second);
        assert_eq!(dag.find("k"), Some(first));
        dag.run(1, 1 << 20).expect("run");
        let log = log.lock().expect("log").clone();
        // The keyed job was ready before the three after the gate.
        assert_eq!(log, ["gate", "high", "mid", "keyed", "low"]);
    }

    /// Counts the calls of [`Job::idle`] (its own type: tests run side by side).
    static IDLE_CALLS: AtomicUsize = AtomicUsize::new(0);

    /// A job that sleeps, and asks once to run again alone when `again` is set.
    struct Sleeper {
        again: bool,
    }

    impl Job for Sleeper {
        fn run(&mut self, context: &Context<'_, Self>) -> Ending {
            std::thread::sleep(std::time::Duration::from_millis(if context.alone() { 100 } else { 5 }));
            if self.again && !context.alone() {
                return Ending::Again;
            }
            Ending::Done
        }

        fn idle() {
            IDLE_CALLS.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn workers_free_what_they_hold_only_for_a_job_running_alone() {
        // Workers that wait for each other's jobs keep what they hold.
        let dag = Dag::new(false);
        let first = dag.add(Sleeper { again: false }, &[]);
        let second = dag.add(Sleeper { again: false }, &[first]);
        dag.add(Sleeper { again: false }, &[second]);
        dag.run(2, 1 << 20).expect("run");
        assert_eq!(IDLE_CALLS.load(Ordering::SeqCst), 0);
        // One job over its budget runs again alone: the other worker frees for it.
        let dag = Dag::new(false);
        let heavy = dag.add(Sleeper { again: true }, &[]);
        dag.add(Sleeper { again: false }, &[heavy]);
        let endings = dag.run(2, 1 << 20).expect("run");
        assert!(endings.values().all(|e| *e == Ending::Done));
        assert_eq!(IDLE_CALLS.load(Ordering::SeqCst), 1);
    }

    /// Test jobs for [`Context::release`] and [`Context::others_busy`].
    enum Probe {
        /// Lets the jobs waiting for it start (or not), adds `later` waiting for itself, then
        /// waits a bounded time for `done`, and says whether it saw it.
        First { release: bool, later: Option<Box<Probe>>, done: Arc<AtomicBool>, saw: Arc<AtomicBool> },
        /// Sets `done`.
        Second { done: Arc<AtomicBool> },
        /// Logs whether another job ran or was ready while it ran.
        Busy { name: &'static str, priority: u8, log: Arc<Mutex<Vec<String>>> },
    }

    impl Job for Probe {
        fn priority(&self) -> u8 {
            match self {
                Probe::Busy { priority, .. } => *priority,
                _ => 0,
            }
        }

        fn run(&mut self, context: &Context<'_, Self>) -> Ending {
            match self {
                Probe::First { release, later, done, saw } => {
                    if *release {
                        context.release();
                    }
                    if let Some(later) = later.take() {
                        context.add(*later, &[context.id()]);
                    }
                    let started = std::time::Instant::now();
                    while !done.load(Ordering::SeqCst) && started.elapsed() < std::time::Duration::from_millis(500) {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    saw.store(done.load(Ordering::SeqCst), Ordering::SeqCst);
                }
                Probe::Second { done } => done.store(true, Ordering::SeqCst),
                Probe::Busy { name, log, .. } => {
                    log.lock().expect("log").push(format!("{name} {}", context.others_busy()));
                }
            }
            Ending::Done
        }
    }

    /// Runs a `First` job (releasing or not) and a `Second` one waiting for it, added before
    /// the run or by `First` after its release; whether `First` saw `Second` end.
    fn second_ran_during_first(release: bool, added_later: bool) -> bool {
        let (done, saw) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let second = Probe::Second { done: done.clone() };
        let dag = Dag::new(false);
        let later = added_later.then(|| Box::new(Probe::Second { done: done.clone() }));
        let first = dag.add(Probe::First { release, later, done: done.clone(), saw: saw.clone() }, &[]);
        if !added_later {
            dag.add(second, &[first]);
        }
        let endings = dag.run(2, 1 << 20).expect("run");
        assert_eq!(endings.len(), 2);
        assert!(endings.values().all(|e| *e == Ending::Done));
        assert!(done.load(Ordering::SeqCst), "the second job ran");
        saw.load(Ordering::SeqCst)
    }

    #[test]
    fn a_released_job_lets_the_jobs_waiting_for_it_start_before_it_ends() {
        assert!(second_ran_during_first(true, false));
        assert!(second_ran_during_first(true, true), "a job added after the release does not wait");
        assert!(!second_ran_during_first(false, false), "without a release, the second waits");
    }

    #[test]
    fn a_job_knows_whether_others_run_or_are_ready_beside_it() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let dag = Dag::new(false);
        dag.add(Probe::Busy { name: "first", priority: 1, log: log.clone() }, &[]);
        dag.add(Probe::Busy { name: "last", priority: 0, log: log.clone() }, &[]);
        dag.run(1, 1 << 20).expect("run");
        assert_eq!(*log.lock().expect("log"), ["first true", "last false"]);
    }
}
