//! The monitor's sleep protocol (`sched/monitor.rs`, "Sleeping") with the
//! real `Scheduler`: the monitor decides to sleep while a task spawned from
//! outside wakes the worker. Whatever the interleaving, the monitor is
//! never asleep while the worker polls a task (the worker that returns from
//! parking wakes it first), and shutdown ends its sleep.
#![cfg(tasklane_loom)]

use loom_tests::mock;
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Config, Scheduler};

/// One worker; a model thread plays the monitor's sleep step; the main
/// thread spawns a task that checks the monitor is awake while it runs,
/// awaits it, and shuts down. Preemption bound 2.
#[test]
fn sched_monitor_sleep() {
    mock::model(Some(2), || {
        let mut sched = Scheduler::new(Config {
            worker_threads: 1,
            spin_before_park: Duration::ZERO,
            monitor: true,
            ..Config::default()
        })
        .unwrap();
        let monitor_handle = sched.handle().clone();
        let monitor = loom::thread::spawn(move || monitor_handle.monitor_sleep_if_idle());
        let h = sched.handle().clone();
        let task = sched.handle().spawn(
            async move {
                assert!(
                    !h.monitor_is_asleep(),
                    "a worker polls a task while the monitor sleeps"
                );
            },
            TaskOptions::new(),
        );
        loom::future::block_on(task).expect("the task completed");
        let stats = sched.shutdown(Duration::from_secs(1));
        assert!(stats.dropped.is_empty(), "{stats:?}");
        // The monitor slept or not; either way it returned (shutdown ends
        // a sleep that began after the task).
        let _slept = monitor.join().unwrap();
    });
}
