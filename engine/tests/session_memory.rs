//! What a fleet host's evaluation leaves on its thread once its session is dropped, with
//! per-thread memory accounting (in its own binary: `exit_after_run`, which keeps
//! sessions, is for the whole process).

use nxe_engine::memory::{thread_live_bytes, CountingAllocator};
use nxe_engine::reads::{Anchor, State};
use nxe_engine::units::UnitEvaluator;
use nxe_engine::{Overrides, Repo};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::Value;

#[global_allocator]
static ALLOCATOR: CountingAllocator<std::alloc::System> = CountingAllocator(std::alloc::System);

/// A host of the example fleet (its module system, packages and derivations) is freed
/// whole with its session: every cycle its evaluation made goes through something tracked.
#[test]
fn a_fleet_host_is_freed_with_its_session() {
    let fleet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fleet");
    let repo = Repo::discover(&Overrides { repo: Some(fleet), ..Overrides::default() }).expect("repo");
    let anchor = Anchor { root: repo.root.clone(), store_dir: "/nix/store".to_string() };
    let state = State::work_tree(anchor.clone());
    let units = UnitEvaluator::new(&repo, &anchor, &state, None).expect("unit evaluator");
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || {
                let evaluate = |name: &str| {
                    let before = thread_live_bytes();
                    let mut session = units.session(None);
                    let host = session.host_value(name).expect("host");
                    let evaluator = session.evaluation().evaluator();
                    let Value::Attrs(host) = evaluator.force(&host).expect("host") else { panic!("not a set") };
                    let toplevel = host.get(Symbol::intern("toplevel")).cloned().expect("toplevel");
                    let Value::Attrs(toplevel) = evaluator.force(&toplevel).expect("toplevel") else {
                        panic!("the toplevel is not a set")
                    };
                    let drv = toplevel.get(Symbol::intern("drvPath")).cloned().expect("drvPath");
                    let drv = nxe_evaluator::builtins::force_string(evaluator, &drv).expect("drvPath");
                    assert!(drv.as_str().ends_with("-fleet-system-web-01.drv"), "{}", drv.as_str());
                    let grown = thread_live_bytes().saturating_sub(before);
                    drop(session);
                    (thread_live_bytes().saturating_sub(before), grown)
                };
                evaluate("web-01");
                let (left, grown) = evaluate("web-01");
                assert!(grown > 1 << 20, "the session grew by only {grown} bytes");
                assert!(left < grown / 100, "{left} of {grown} bytes stayed after a fleet host's session");
            })
            .expect("thread");
    });
}
