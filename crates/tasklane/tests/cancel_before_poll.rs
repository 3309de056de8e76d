//! A task cancelled before its first poll never runs its body: its future is
//! dropped unpolled, exactly once, and the handle reports the cancellation.
//!
//! To cancel before the first poll deterministically, the only worker of a
//! one-worker runtime is held inside another task's poll while the target is
//! spawned and cancelled (see `common::occupy_worker`).

mod common;

use common::{Counts, Tracked, occupy_worker, rt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tasklane::task::TaskState;

fn body_flag() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let f = Arc::new(AtomicBool::new(false));
    (f.clone(), f)
}

#[test]
fn cancel_before_first_poll() {
    let rt = rt(1);
    let (gate, blocker) = occupy_worker(&rt);
    let counts = Counts::new();
    let (ran, ran_in_task) = body_flag();
    let mut h = rt.spawn(Tracked::new(&counts, async move {
        ran_in_task.store(true, Ordering::SeqCst);
    }));
    assert_eq!(h.state(), TaskState::Scheduled);
    assert!(h.cancel(), "cancel of an unfinished task reports true");
    assert!(
        h.cancel(),
        "cancel is idempotent while the task is unfinished"
    );
    assert!(!h.is_finished(), "delivered at the next poll, not at once");
    gate.open();

    let err = rt.block_on(&mut h).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
    assert_eq!(err.id(), h.id());
    let shown = err.to_string();
    assert!(shown.contains("cancelled"), "{shown}");
    assert!(shown.contains(&h.id().to_string()), "{shown}");

    assert!(!ran.load(Ordering::SeqCst), "the body never ran");
    assert_eq!(counts.polls(), 0, "the future was never polled");
    assert_eq!(counts.drops(), 1, "the future was dropped exactly once");
    assert_eq!(h.state(), TaskState::Cancelled);
    assert!(h.is_finished());
    assert!(h.is_cancelled());
    assert!(!h.cancel(), "cancel after the end reports false");
    h.abort(); // no effect on a finished task
    assert_eq!(h.state(), TaskState::Cancelled);
    assert_eq!(counts.drops(), 1);

    rt.block_on(blocker).unwrap();
}

#[test]
fn abort_before_first_poll() {
    let rt = rt(1);
    let (gate, blocker) = occupy_worker(&rt);
    let counts = Counts::new();
    let (ran, ran_in_task) = body_flag();
    let mut h = rt.spawn(Tracked::new(&counts, async move {
        ran_in_task.store(true, Ordering::SeqCst);
    }));
    h.abort();
    h.abort();
    gate.open();
    assert!(rt.block_on(&mut h).unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!((counts.polls(), counts.drops()), (0, 1));
    assert!(h.is_cancelled());
    assert!(!h.cancel());
    rt.block_on(blocker).unwrap();
}

/// Many tasks queued behind a busy worker and cancelled there: none runs,
/// each future is dropped once, and the uncancelled ones still run.
#[test]
fn cancel_many_queued_tasks() {
    let rt = rt(1);
    let (gate, blocker) = occupy_worker(&rt);
    let cancelled = Counts::new();
    let kept = Counts::new();
    let mut doomed = Vec::new();
    let mut live = Vec::new();
    for i in 0..200 {
        if i % 2 == 0 {
            doomed.push(rt.spawn(Tracked::new(&cancelled, async {
                unreachable!("a cancelled task's body ran")
            })));
        } else {
            live.push(rt.spawn(Tracked::new(&kept, async move { i })));
        }
    }
    for h in &doomed {
        assert!(h.cancel());
    }
    gate.open();
    for mut h in doomed {
        assert!(rt.block_on(&mut h).unwrap_err().is_cancelled());
        assert_eq!(h.state(), TaskState::Cancelled);
    }
    for (k, h) in live.into_iter().enumerate() {
        assert_eq!(rt.block_on(h).unwrap(), 2 * k + 1);
    }
    assert_eq!(cancelled.polls(), 0);
    assert_eq!(cancelled.drops(), 100);
    assert_eq!(kept.drops(), 100);
    rt.block_on(blocker).unwrap();
}

/// A task cancelled by its spawner, on the same (only) worker, before the
/// spawner suspends: it cannot have been polled yet.
#[test]
fn cancel_from_the_spawning_task() {
    let rt = rt(1);
    let counts = Counts::new();
    let c = counts.clone();
    let out = rt.block_on(rt.spawn(async move {
        let mut child = tasklane::spawn(Tracked::new(&c, async {
            unreachable!("cancelled before its first poll")
        }));
        assert!(child.cancel());
        let err = (&mut child).await.unwrap_err();
        (err.is_cancelled(), child.state())
    }));
    assert_eq!(out.unwrap(), (true, TaskState::Cancelled));
    assert_eq!((counts.polls(), counts.drops()), (0, 1));
}

#[test]
fn cancel_after_completion_reports_false_and_keeps_the_value() {
    let rt = rt(1);
    let mut h = rt.spawn(async { 9 });
    common::spin_until("task finished", || h.is_finished());
    assert!(!h.cancel());
    h.abort();
    assert_eq!(h.state(), TaskState::Completed);
    assert!(!h.is_cancelled());
    assert_eq!(rt.block_on(&mut h).unwrap(), 9);
}
