//! The real `Scheduler` with two workers: tasks reach them through the
//! injector (spawned from outside) and through a worker's LIFO slot and
//! local queue (spawned from inside a task), where the other worker may
//! steal them. Every task runs exactly once and none is lost.
#![cfg(tasklane_loom)]

use loom_tests::mock::{self, Countdown, Counter, spawn_leaf};
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Config, Scheduler};

/// Two workers and the main thread, which spawns `outer` and then `c` into
/// the injector. `outer`, on a worker, spawns `a` then `b`: the LIFO slot
/// takes `a`, then `b` takes the slot and pushes `a` into the local queue,
/// waking the other worker, which may steal `a` while the first pops it.
/// The main thread waits until all three leaves have run (a countdown, not
/// join handles: three joins make the model several times larger; joins
/// are modelled in `sched_no_lost_wakeup` and `join_waker_*`), then shuts
/// down. Preemption bound 2, which already reaches executions where `a` is
/// stolen (bound 1 explores about 5 000 executions, bound 2 about 500 000,
/// 1.5 min).
#[test]
fn sched_steal_vs_pop() {
    mock::model(Some(2), || {
        let mut sched = Scheduler::new(Config {
            worker_threads: 2,
            spin_before_park: Duration::ZERO,
            ..Config::default()
        })
        .unwrap();
        let runs = [
            Counter::new(),
            Counter::new(),
            Counter::new(),
            Counter::new(),
        ];
        let [outer_runs, a_runs, b_runs, c_runs] = runs.clone();
        let countdown = Countdown::new(3);
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
        spawn_leaf(sched.handle(), &c_runs, &countdown);
        countdown.wait();
        let stats = sched.shutdown(Duration::from_secs(1));
        assert!(stats.dropped.is_empty(), "{stats:?}");
        for (name, runs) in ["outer", "a", "b", "c"].iter().zip(&runs) {
            assert_eq!(runs.get(), 1, "task {name} ran {} times", runs.get());
        }
        assert_eq!(sched.handle().num_tasks(), 0);
    });
}
