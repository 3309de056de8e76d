//! The real `Scheduler`: a task spawned from outside while the workers go
//! to sleep runs (no lost wake-up in the idle/parking protocol), its join
//! handle is woken, and shutdown then stops every worker.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use loom_tests::mock;
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Config, Scheduler};

fn config(workers: usize) -> Config {
    Config {
        worker_threads: workers,
        spin_before_park: Duration::ZERO,
        ..Config::default()
    }
}

/// Spawns one task from the main thread while the workers start, search
/// and park; waits for it through its `JoinHandle`; shuts down.
fn spawn_from_outside(workers: usize) {
    let mut sched = Scheduler::new(config(workers)).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = ran.clone();
    let handle = sched.handle().spawn(
        async move {
            ran2.store(true, Relaxed);
            7
        },
        TaskOptions::new(),
    );
    // A lost wake-up leaves the worker asleep and this blocked: loom reports
    // a deadlock.
    let out = loom::future::block_on(handle).expect("the task completed");
    assert_eq!(out, 7);
    // Relaxed: the join ordered the task's store before this load.
    assert!(ran.load(Relaxed));
    let stats = sched.shutdown(Duration::from_secs(1));
    assert!(stats.dropped.is_empty(), "{stats:?}");
    assert_eq!(sched.handle().num_tasks(), 0);
}

/// One worker. Preemption bound 4 (unbounded, the model runs for more than
/// ten minutes; bound 5 takes about 40 s).
#[test]
fn sched_no_lost_wakeup() {
    mock::model(Some(4), || spawn_from_outside(1));
}

/// Two workers (three threads with the main one). Preemption bound 2 (bound
/// 3 runs for more than eight minutes).
#[test]
fn sched_no_lost_wakeup_two_workers() {
    mock::model(Some(2), || spawn_from_outside(2));
}
