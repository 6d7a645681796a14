//! What a finished recording session leaves on its thread: freed at once by default; after
//! `exit_after_run`, kept until the thread holds too much when its next session starts, or
//! the thread waits, and freed at once when its budget stopped it; a thread's first session
//! then tracks scopes only past a limit. Measured with per-thread memory accounting.

use nxe_engine::memory::{thread_live_bytes, CountingAllocator};
use nxe_engine::reads::{Anchor, State};
use nxe_engine::units::{exit_after_run, free_parked_session, UnitEvaluator, PARK_LIMIT, UNTRACKED_LIMIT};
use nxe_engine::{Overrides, Repo};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::Value;

#[global_allocator]
static ALLOCATOR: CountingAllocator<std::alloc::System> = CountingAllocator(std::alloc::System);

/// A repository whose one host holds a large value (a few MB) with cycles through scopes
/// (each entry's function sees the whole set).
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let host = r#"{
  hosts.big = rec {
    config = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = { inherit i; get = _: config; }; }) 20000);
    toplevel = builtins.length (builtins.attrNames config);
  };
  # Like big, twenty times as large, in a list: no new names, which stay interned.
  hosts.huge = rec {
    config.all = let all = builtins.genList (i: { inherit i; get = _: config; }) 400000; in builtins.deepSeq all all;
    toplevel = builtins.length config.all;
  };
  # A large value with cycles through thunks only: each entry holds the thunk of the set.
  hosts.selfref = rec {
    config = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = { inherit i; self = config; }; }) 20000);
    toplevel = builtins.length (builtins.attrNames config);
  };
  # Keeps a set like big's, then goes on to need far more memory.
  hosts.greedy = rec {
    kept = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = { inherit i; get = _: kept; }; }) 20000);
    config = builtins.deepSeq kept (builtins.foldl' (a: i: a + i) 0 (builtins.genList (i: i) 2000000));
  };
}
"#;
    std::fs::write(dir.path().join("default.nix"), host).expect("write default.nix");
    std::fs::write(dir.path().join("nxe.toml"), "[hosts]\nattr = \"hosts\"\n").expect("write nxe.toml");
    dir
}

/// Live bytes of this thread left after a session evaluated the big host and was dropped,
/// and the session's own growth while it was alive.
fn evaluate_and_drop(units: &UnitEvaluator<'_>, name: &str) -> (usize, usize) {
    let before = thread_live_bytes();
    let mut session = units.session(None);
    {
        let host = session.host_value(name).expect("host");
        let evaluator = session.evaluation().evaluator();
        let Value::Attrs(host) = evaluator.force(&host).expect("host") else { panic!("the host is not a set") };
        let config = host.get(Symbol::intern("config")).cloned().expect("config");
        let Value::Attrs(config) = evaluator.force(&config).expect("config") else { panic!("config is not a set") };
        for attr in config.iter() {
            evaluator.force(&attr.value).expect("entry");
        }
    }
    let grown = thread_live_bytes().saturating_sub(before);
    drop(session);
    (thread_live_bytes().saturating_sub(before), grown)
}

#[test]
fn finished_sessions_are_kept_only_until_the_thread_needs_the_memory() {
    let dir = repo();
    let repo =
        Repo::discover(&Overrides { repo: Some(dir.path().to_path_buf()), ..Overrides::default() }).expect("repo");
    let anchor = Anchor { root: repo.root.clone(), store_dir: "/nix/store".to_string() };
    let state = State::work_tree(anchor.clone());
    let units = UnitEvaluator::new(&repo, &anchor, &state, None).expect("unit evaluator");
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || {
                // The first session also makes what stays for the whole process (interned
                // names, compiled files).
                evaluate_and_drop(&units, "big");
                // By default a dropped session frees what it made, cycles included.
                let (left, grown) = evaluate_and_drop(&units, "big");
                assert!(grown > 2 << 20, "the session grew by only {grown} bytes");
                assert!(left < grown / 10, "{left} of {grown} bytes stayed after the session was dropped");
                // Cycles through thunks alone too.
                let (left, grown) = evaluate_and_drop(&units, "selfref");
                assert!(grown > 2 << 20, "the session grew by only {grown} bytes");
                assert!(left < grown / 10, "{left} of {grown} bytes stayed after a session with cycles through thunks");

                // A process that ends after its run keeps a finished session...
                exit_after_run();
                // ...and the thread's first one then tracks no scopes while it is small:
                // freed, it leaves its cycles.
                let before = thread_live_bytes();
                let (_, grown) = evaluate_and_drop(&units, "big");
                free_parked_session();
                let leaked = thread_live_bytes().saturating_sub(before);
                assert!(leaked > grown / 2, "only {leaked} of {grown} bytes stayed after an untracked session");
                assert!(leaked < UNTRACKED_LIMIT, "{leaked} bytes stayed after an untracked session");
                let start = thread_live_bytes();
                let (left, grown) = evaluate_and_drop(&units, "big");
                assert!(left > grown / 2, "only {left} of {grown} bytes were kept");
                // ...and the next ones, while the thread holds little memory...
                evaluate_and_drop(&units, "big");
                let kept = thread_live_bytes().saturating_sub(start);
                assert!(kept > grown + grown / 2, "{kept} bytes kept for two sessions of {grown}");
                // ...but a session that starts when the thread holds more than the limit
                // frees the oldest first, so what is kept stays within the limit and one
                // session.
                let sessions = PARK_LIMIT / grown + 3;
                for _ in 0..sessions {
                    evaluate_and_drop(&units, "big");
                }
                let kept = thread_live_bytes().saturating_sub(start);
                assert!(
                    kept <= PARK_LIMIT + grown + grown / 2,
                    "{kept} bytes kept after {sessions} more sessions of {grown} (limit {PARK_LIMIT})"
                );
                // ...or the thread waits for work.
                free_parked_session();
                let now = thread_live_bytes().saturating_sub(start);
                assert!(now < grown / 10, "{now} bytes stayed after the waiting thread freed its session");

                // A session its budget stopped is freed at once: its work runs again alone.
                // The budget counts the thread's live bytes; the session passes it after
                // it made a set like big's.
                let mut session = units.session(Some((thread_live_bytes() + 3 * grown) as u64));
                let stopped = session.host_value("greedy").and_then(|host| {
                    let evaluator = session.evaluation().evaluator();
                    let Value::Attrs(host) = evaluator.force(&host)? else { panic!("the host is not a set") };
                    let config = host.get(Symbol::intern("config")).cloned().expect("config");
                    evaluator.force(&config).map(drop)
                });
                assert!(stopped.is_err() && session.interrupted(), "the budget did not stop the session");
                let held = thread_live_bytes().saturating_sub(start);
                assert!(held > grown / 2, "the stopped session holds only {held} bytes");
                drop(session);
                let now = thread_live_bytes().saturating_sub(start);
                assert!(now < grown / 10, "{now} bytes stayed after a stopped session");
            })
            .expect("thread")
            .join()
            .expect("the first thread");
        // On a fresh thread, the first session grows far past the limit: it tracks scopes from
        // there on, so freed it leaves only what its cycles held before.
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || {
                let before = thread_live_bytes();
                let (_, grown) = evaluate_and_drop(&units, "huge");
                assert!(grown > 2 * UNTRACKED_LIMIT, "the session grew by only {grown} bytes");
                free_parked_session();
                let leaked = thread_live_bytes().saturating_sub(before);
                assert!(leaked < UNTRACKED_LIMIT + (8 << 20), "{leaked} of {grown} bytes stayed after the session");
            })
            .expect("thread");
    });
}
