//! The real `Scheduler` with a driver that plays a paused clock
//! (`mock::PausedClockDriver`): the worker parked in the driver fires its
//! virtual timer only once `Handle::is_idle` says the scheduler is idle,
//! and otherwise blocks until unparked. No idle notice is lost (the protocol
//! of `Handle::is_idle`): whoever makes the scheduler idle while another
//! worker holds the driver (a worker going to sleep on its condition
//! variable, `Parker::park`'s `on_condvar`; the end of an activity,
//! `Handle::activity_end`) unparks the driver through
//! `DriverSlot::notice_idle`, so a task sleeping on the virtual timer always
//! completes. A lost notice leaves every worker asleep and the main thread's
//! join blocked, which loom reports as a deadlock. Shutdown then stops every
//! worker with nothing dropped.
//!
//! Each test also checks that its executions reached both outcomes: no park
//! in the driver found the scheduler busy, and one did and blocked until an
//! unpark (the notice, when nothing else is left to wake it).
//!
//! Mutations checked (each applied, run and undone; each failure is a loom
//! deadlock): `DriverSlot::notice_idle` doing nothing fails every test; a
//! worker's park that gives no notice (its `on_condvar` a no-op, in
//! `worker.rs`) fails the two two-worker tests; `Shared::activity_end`
//! without its notice fails the two activity tests.
#![cfg(tasklane_loom)]

use loom_tests::mock;
use std::time::Duration;
use tasklane_sched::Scheduler;
use tasklane_sched::task::TaskOptions;

/// Shuts down: every worker stops (the threads are joined), nothing is
/// dropped, no task is left, the timer fired once and holds no waker.
fn shut_down(mut sched: Scheduler, clock: &mock::PausedClockDriver) {
    let stats = sched.shutdown(Duration::from_secs(1));
    assert!(stats.dropped.is_empty(), "{stats:?}");
    assert_eq!(sched.handle().num_tasks(), 0);
    assert_eq!(clock.fires(), 1);
    assert!(!clock.has_waiter());
}

/// One task, spawned from the main thread, sleeps on the virtual timer;
/// the main thread joins it. Returns whether a park in the driver found the
/// scheduler busy and blocked.
fn task_sleeps(workers: usize) -> bool {
    let clock = mock::PausedClockDriver::new();
    let sched = Scheduler::new(mock::driver_config(workers, clock.clone())).unwrap();
    let timer = clock.clone();
    let task = sched.handle().spawn(
        async move {
            timer.sleep().await;
            7
        },
        TaskOptions::new(),
    );
    assert_eq!(mock::join(task), 7);
    let blocked = clock.busy_waits() > 0;
    shut_down(sched, &clock);
    blocked
}

/// One task awaits a gate, then the virtual timer. The main thread opens
/// the gate inside an activity (`activity_begin`, the wake,
/// `activity_end`), as the facade's `block_on` counts the poll of its
/// future, then joins the task. Returns whether a park in the driver found
/// the scheduler busy and blocked.
fn woken_in_activity(workers: usize) -> bool {
    let clock = mock::PausedClockDriver::new();
    let sched = Scheduler::new(mock::driver_config(workers, clock.clone())).unwrap();
    let handle = sched.handle();
    let gate = mock::Gate::new();
    let (timer, opened) = (clock.clone(), gate.clone());
    let task = handle.spawn(
        async move {
            std::future::poll_fn(|cx| opened.poll_open(cx)).await;
            timer.sleep().await;
            7
        },
        TaskOptions::new(),
    );
    handle.activity_begin();
    gate.open();
    handle.activity_end();
    assert_eq!(mock::join(task), 7);
    let blocked = clock.busy_waits() > 0;
    shut_down(sched, &clock);
    blocked
}

/// Two workers (three threads with the main one): the worker that runs the
/// task is, in some executions, not the one in the driver, and it must give
/// the notice when it goes to sleep. Preemption bound 2 (66 815
/// executions; bound 3 explores 2 709 803 and passes).
#[test]
fn sched_idle_notice_worker_sleeps() {
    mock::model_outcomes(Some(2), &[false, true], || task_sleeps(2));
}

/// One worker: it runs the task woken in the activity and goes back into
/// the driver while the activity is still counted; the end of the activity
/// must give the notice. Preemption bound 3 (45 088 executions;
/// bound 4 explores 489 446 and passes).
#[test]
fn sched_idle_notice_activity_end() {
    mock::model_outcomes(Some(3), &[false, true], || woken_in_activity(1));
}

/// Two workers: the notice that ends the wait comes from the end of the
/// activity or from the worker that ran the task, whichever makes the
/// scheduler idle. Preemption bound 2 (106 769 executions).
#[test]
fn sched_idle_notice_activity_end_two_workers() {
    mock::model_outcomes(Some(2), &[false, true], || woken_in_activity(2));
}
