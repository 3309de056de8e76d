//! The real `Scheduler` with a `Driver` that wakes tasks from inside its
//! `park` (`mock::EventDriver`, as the I/O driver dispatches readiness): a
//! task woken on the thread of the worker parked in the driver runs, also
//! when that wake makes the worker pick itself as the sleeper to notify
//! (`Shared::notify_parked` then only leaves the token, `Parker::notify_own`,
//! and relies on the driver's park returning after it fired a waker); the
//! idle counts stay right (a task spawned from outside afterwards still
//! runs); shutdown then stops every worker with nothing dropped.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use loom_tests::mock;
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Handle, Scheduler};

/// Spawns a task from outside once the event work is done and joins it: a
/// worker left counted as searching or unparked when it sleeps would make
/// this spawn wake nobody (a deadlock).
fn spawn_after(handle: &Handle) {
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = ran.clone();
    let h = handle.spawn(
        async move {
            ran2.store(true, Relaxed);
        },
        TaskOptions::new(),
    );
    mock::join(h);
    // Relaxed: the join ordered the task's store before this load.
    assert!(ran.load(Relaxed));
}

/// Shuts down: every worker stops (the threads are joined), nothing is
/// dropped, no task is left, the event holds no waker.
fn shut_down(mut sched: Scheduler, driver: &mock::EventDriver) {
    let stats = sched.shutdown(Duration::from_secs(1));
    assert!(stats.dropped.is_empty(), "{stats:?}");
    assert_eq!(sched.handle().num_tasks(), 0);
    assert_eq!(driver.waiters(), 0);
}

/// `tasks` tasks await the event, spawned from the main thread, which then
/// fires it and joins them. Returns how many wakers the driver fired from
/// inside a park (0: every task saw the event ready at its first poll).
fn tasks_await_event(workers: usize, tasks: usize, then_spawn: bool) -> usize {
    let driver = mock::EventDriver::new();
    let sched = Scheduler::new(mock::driver_config(workers, driver.clone())).unwrap();
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let event = driver.clone();
            sched.handle().spawn(
                async move {
                    event.wait().await;
                    i
                },
                TaskOptions::new(),
            )
        })
        .collect();
    driver.fire();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(mock::join(h), i);
    }
    if then_spawn {
        spawn_after(sched.handle());
    }
    let fired = driver.fired();
    shut_down(sched, &driver);
    fired
}

/// One task awaits the event; once woken (from inside the driver's park,
/// on the worker's thread) it spawns a second task from the worker, and
/// returns that task's handle, which the main thread joins.
fn woken_task_spawns(workers: usize) -> usize {
    let driver = mock::EventDriver::new();
    let sched = Scheduler::new(mock::driver_config(workers, driver.clone())).unwrap();
    let event = driver.clone();
    #[expect(
        clippy::async_yields_async,
        reason = "the handle is the task's output, joined by the main thread"
    )]
    let first = sched.handle().spawn(
        async move {
            event.wait().await;
            let here = Handle::current_worker().expect("a task runs on a worker");
            here.spawn(async { 7 }, TaskOptions::new())
        },
        TaskOptions::new(),
    );
    driver.fire();
    let second = mock::join(first);
    assert_eq!(mock::join(second), 7);
    let fired = driver.fired();
    shut_down(sched, &driver);
    fired
}

/// One worker, one task, then a spawn from outside. Preemption bound 3
/// (439 586 executions; bound 4 explores 3 203 973 and passes; unbounded
/// it runs for more than five minutes).
#[test]
fn sched_driver_self_wake_one_task() {
    mock::model_outcomes(Some(3), &[0, 1], || tasks_await_event(1, 1, true));
}

/// One worker, two tasks: a park that fires both wakers queues the first in
/// the LIFO slot, then pushes it to the local queue for the second and
/// notifies, and the only sleeper is the worker itself (`notify_own`).
/// Then a spawn from outside. Preemption bound 3 (1 637 847 executions).
#[test]
fn sched_driver_self_wake_two_tasks() {
    mock::model_outcomes(Some(3), &[0, 1, 2], || tasks_await_event(1, 2, true));
}

/// One worker; the woken task spawns a second one from the worker.
/// Preemption bound 3 (257 619 executions; unbounded it runs for
/// more than five minutes).
#[test]
fn sched_driver_self_wake_spawns() {
    mock::model_outcomes(Some(3), &[0, 1], || woken_task_spawns(1));
}

/// Two workers (three threads with the main one), one task, then a spawn
/// from outside. Preemption bound 1 (103 176 executions; bound 2
/// runs for more than three minutes).
#[test]
fn sched_driver_self_wake_one_task_two_workers() {
    mock::model_outcomes(Some(1), &[0, 1], || tasks_await_event(2, 1, true));
}

/// Two workers, two tasks: the worker in the driver that fires both wakers
/// notifies either itself (`notify_own`) or the other worker, asleep on its
/// condition variable (`unpark`). No spawn afterwards, to afford the bound:
/// preemption bound 2 (1 261 202 executions).
#[test]
fn sched_driver_self_wake_two_tasks_two_workers() {
    mock::model_outcomes(Some(2), &[0, 1, 2], || tasks_await_event(2, 2, false));
}

/// Two workers; the woken task spawns a second one from the worker.
/// Preemption bound 1 (49 872 executions; bound 2 explores
/// 2 400 684 and passes).
#[test]
fn sched_driver_self_wake_spawns_two_workers() {
    mock::model_outcomes(Some(1), &[0, 1], || woken_task_spawns(2));
}
