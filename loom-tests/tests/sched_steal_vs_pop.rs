//! The real `Scheduler` with two workers: tasks reach them through the
//! injector (spawned from outside) and through a worker's LIFO slot and
//! local queue (spawned from inside a task), where the other worker may
//! steal them. Every task runs exactly once and none is lost.
#![cfg(tasklane_loom)]

use loom_tests::mock::{self, Counter};
use std::time::Duration;
use tasklane_sched::task::{JoinHandle, TaskOptions};
use tasklane_sched::{Config, Scheduler};

/// A task that counts its runs.
fn leaf(runs: &Counter) -> impl Future<Output = ()> + Send + 'static {
    let runs = runs.clone();
    async move {
        runs.incr();
    }
}

/// Two workers and the main thread. The main thread spawns `outer` (into
/// the injector); `outer`, on a worker, spawns `a` then `b` (the LIFO slot
/// takes `a`, then `b` pushes `a` into the local queue, where the idle
/// worker may steal it) and returns their handles. The main thread joins
/// all three. Preemption bound 2.
#[test]
fn sched_steal_vs_pop() {
    mock::model(Some(2), || {
        let mut sched = Scheduler::new(Config {
            worker_threads: 2,
            spin_before_park: Duration::ZERO,
            ..Config::default()
        })
        .unwrap();
        let (outer_runs, a_runs, b_runs) = (Counter::new(), Counter::new(), Counter::new());
        let handle = sched.handle().clone();
        let (a2, b2, outer2) = (a_runs.clone(), b_runs.clone(), outer_runs.clone());
        let outer = sched.handle().spawn(
            async move {
                outer2.incr();
                let a: JoinHandle<()> = handle.spawn(leaf(&a2), TaskOptions::new());
                let b: JoinHandle<()> = handle.spawn(leaf(&b2), TaskOptions::new());
                (a, b)
            },
            TaskOptions::new(),
        );
        let (a, b) = loom::future::block_on(outer).expect("outer completed");
        loom::future::block_on(a).expect("a completed");
        loom::future::block_on(b).expect("b completed");
        // Relaxed counters: each join ordered its task's run before these loads.
        assert_eq!(outer_runs.get(), 1);
        assert_eq!(a_runs.get(), 1);
        assert_eq!(b_runs.get(), 1);
        let stats = sched.shutdown(Duration::from_secs(1));
        assert!(stats.stuck.is_empty(), "{stats:?}");
        assert_eq!(sched.handle().num_tasks(), 0);
    });
}
