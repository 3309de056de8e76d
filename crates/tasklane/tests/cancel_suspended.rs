//! Cancelling a task that is suspended: its future is dropped at once (it is
//! never polled again), its destructors run exactly once, and the handle
//! yields a cancellation. `abort()` does the same.

mod common;

use common::{Counts, DropCounter, Tracked, rt, spin_until};
use futures_channel::oneshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tasklane::task::{JoinHandle, TaskState};

/// Spawns a task that holds two guards (one in a nested future), then waits
/// forever; `after` is set if it ever gets past the wait.
fn spawn_waiting(
    rt: &tasklane::Runtime,
    futs: &Arc<Counts>,
    guards: &Arc<Counts>,
    after: &Arc<AtomicBool>,
) -> JoinHandle<()> {
    let (g1, g2) = (DropCounter::new(guards), DropCounter::new(guards));
    let after = after.clone();
    rt.spawn(Tracked::new(futs, async move {
        let _outer = g1;
        async move {
            let _inner = g2;
            std::future::pending::<()>().await;
        }
        .await;
        after.store(true, Ordering::SeqCst);
    }))
}

fn check_cancel(abort: bool) {
    let rt = rt(2);
    let (futs, guards) = (Counts::new(), Counts::new());
    let after = Arc::new(AtomicBool::new(false));
    let mut h = spawn_waiting(&rt, &futs, &guards, &after);
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    assert_eq!(futs.polls(), 1);
    assert_eq!(guards.drops(), 0);

    if abort {
        h.abort();
    } else {
        assert!(h.cancel());
    }
    let err = rt.block_on(&mut h).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.id(), h.id());
    assert_eq!(h.state(), TaskState::Cancelled);
    assert!(h.is_cancelled() && h.is_finished());
    assert_eq!(futs.polls(), 1, "a cancelled task is not polled again");
    assert_eq!(futs.drops(), 1, "future dropped exactly once");
    assert_eq!(guards.drops(), 2, "each destructor ran exactly once");
    assert!(!after.load(Ordering::SeqCst), "nothing ran past the wait");
    assert!(!h.cancel(), "already finished");
}

#[test]
fn cancel_while_suspended() {
    check_cancel(false);
}

#[test]
fn abort_while_suspended() {
    check_cancel(true);
}

/// Cancelling again, or aborting after cancelling, changes nothing: one
/// delivery, one drop.
#[test]
fn repeated_cancel_and_abort_deliver_once() {
    let rt = rt(2);
    let (futs, guards) = (Counts::new(), Counts::new());
    let after = Arc::new(AtomicBool::new(false));
    let mut h = spawn_waiting(&rt, &futs, &guards, &after);
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    let _ = h.cancel();
    h.abort();
    assert!(rt.block_on(&mut h).unwrap_err().is_cancelled());
    assert!(!h.cancel());
    h.abort();
    assert_eq!((futs.drops(), guards.drops()), (1, 2));
}

/// The cancellation comes from another task, which then awaits the handle.
#[test]
fn cancel_from_another_task() {
    let rt = rt(2);
    let (futs, guards) = (Counts::new(), Counts::new());
    let after = Arc::new(AtomicBool::new(false));
    let h = spawn_waiting(&rt, &futs, &guards, &after);
    let canceller = rt.spawn(async move {
        let mut h = h;
        common::yield_until(|| h.state() == TaskState::Suspended).await;
        assert!(h.cancel());
        let err = (&mut h).await.unwrap_err();
        (err.is_cancelled(), h.state())
    });
    assert_eq!(
        rt.block_on(canceller).unwrap(),
        (true, TaskState::Cancelled)
    );
    assert_eq!((futs.polls(), futs.drops(), guards.drops()), (1, 1, 2));
    assert!(!after.load(Ordering::SeqCst));
}

/// A task suspended on a channel whose sender is still alive: after the
/// cancellation the sender sees the receiver gone (the future really was
/// dropped, along with what it owned).
#[test]
fn cancel_drops_what_the_future_owns() {
    let rt = rt(2);
    let (tx, rx) = oneshot::channel::<u32>();
    let mut h = rt.spawn(async move { rx.await.ok() });
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    assert!(!tx.is_canceled());
    assert!(h.cancel());
    assert!(rt.block_on(&mut h).unwrap_err().is_cancelled());
    assert!(
        tx.is_canceled(),
        "the receiver inside the future was dropped"
    );
    assert!(tx.send(1).is_err());
}

/// Cancelling many suspended tasks at once.
#[test]
fn cancel_many_suspended_tasks() {
    let rt = rt(2);
    let (futs, guards) = (Counts::new(), Counts::new());
    let after = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..500)
        .map(|_| spawn_waiting(&rt, &futs, &guards, &after))
        .collect();
    for h in &handles {
        spin_until("task suspended", || h.state() == TaskState::Suspended);
    }
    for (i, h) in handles.iter().enumerate() {
        if i % 2 == 0 {
            assert!(h.cancel());
        } else {
            h.abort();
        }
    }
    for mut h in handles {
        assert!(rt.block_on(&mut h).unwrap_err().is_cancelled());
        assert_eq!(h.state(), TaskState::Cancelled);
    }
    assert_eq!(futs.polls(), 500);
    assert_eq!(futs.drops(), 500);
    assert_eq!(guards.drops(), 1_000);
    assert!(!after.load(Ordering::SeqCst));
}
