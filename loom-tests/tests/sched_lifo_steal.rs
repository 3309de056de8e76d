//! The real `Scheduler` with the monitor on: the monitor's steal from a
//! worker's LIFO slot (`sched/lifo.rs`) racing the worker's own puts and
//! takes. Every task runs exactly once, none is lost.
#![cfg(tasklane_loom)]

use loom_tests::mock::{self, Countdown, Counter, spawn_leaf};
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Config, Scheduler};

/// One worker. The main thread spawns `outer`, which spawns `a` (into the
/// empty LIFO slot: the put without a read-modify-write) and then `b`
/// (which swaps `a` out to the local queue); meanwhile the main thread runs
/// the monitor's rescue (a steal from every LIFO slot, to the injector).
/// Whichever of the worker's take and the steal wins, each task runs once.
/// Preemption bound 3.
#[test]
fn sched_lifo_steal() {
    mock::model(Some(3), || {
        let mut sched = Scheduler::new(Config {
            worker_threads: 1,
            spin_before_park: Duration::ZERO,
            monitor: true,
            ..Config::default()
        })
        .unwrap();
        let runs = [Counter::new(), Counter::new(), Counter::new()];
        let [outer_runs, a_runs, b_runs] = runs.clone();
        let countdown = Countdown::new(2);
        let inner = (sched.handle().clone(), countdown.clone());
        sched
            .handle()
            .spawn(
                async move {
                    let (handle, countdown) = inner;
                    outer_runs.incr();
                    spawn_leaf(&handle, &a_runs, &countdown);
                    spawn_leaf(&handle, &b_runs, &countdown);
                },
                TaskOptions::new(),
            )
            .detach();
        sched.handle().monitor_rescue_all();
        countdown.wait();
        let stats = sched.shutdown(Duration::from_secs(1));
        assert!(stats.dropped.is_empty(), "{stats:?}");
        for (name, runs) in ["outer", "a", "b"].iter().zip(&runs) {
            assert_eq!(runs.get(), 1, "task {name} ran {} times", runs.get());
        }
        assert_eq!(sched.handle().num_tasks(), 0);
    });
}
