//! `TaskGroup` (asyncio.TaskGroup): values in spawn order; the first child
//! that fails cancels its siblings, whose catch-point cleanup finishes
//! before `join` returns; `GroupError` holds every error and panic but not
//! the cancellations; `cancel()` and dropping the group cancel the
//! children; a child spawned after a failure never runs.

mod common;

use common::{Counts, DropCounter, in_task_on, rt, spin_until};
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::sync::{Receiver, Sender, bounded};
use tasklane::task::{TaskState, cancellable};
use tasklane::time::{Instant, sleep};
use tasklane::{TaskGroup, wait_for};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);

/// A child that says it is ready, then waits forever at a catch point; on
/// cancellation it cleans up with awaits (counting in `cleaned`) and
/// re-raises.
async fn waiting_child(
    ready: Sender<()>,
    cleaned: Arc<AtomicUsize>,
    cleanup: Duration,
) -> Result<u32, &'static str> {
    ready.send(()).await.unwrap();
    match cancellable(sleep(LONG)).await {
        Ok(()) => Ok(0),
        Err(c) => {
            sleep(cleanup).await;
            tasklane::yield_now().await;
            cleaned.fetch_add(1, Ordering::SeqCst);
            c.reraise().await
        }
    }
}

async fn recv_n(rx: &Receiver<()>, n: usize) {
    for _ in 0..n {
        rx.recv().await.unwrap();
    }
}

/// Values come back in spawn order, whatever order the children finish in.
#[test]
fn values_in_spawn_order() {
    let rt = rt(2);
    let values = in_task_on(&rt, async {
        let mut group = TaskGroup::<u64, ()>::new();
        for i in 0..6u64 {
            // Later children finish first.
            group.spawn(async move {
                sleep(MS * (6 - i as u32) * 5).await;
                Ok(i * 10)
            });
        }
        assert_eq!(group.len(), 6);
        group.join().await
    });
    assert_eq!(values.unwrap(), [0, 10, 20, 30, 40, 50]);

    let empty = in_task_on(&rt, TaskGroup::<u8, ()>::new().join());
    assert_eq!(empty.unwrap(), Vec::<u8>::new());
}

/// The first `Err` cancels every sibling; each sibling's cleanup (with
/// awaits) has finished when `join` returns, and the error is the only one
/// in the `GroupError`.
#[test]
fn the_first_error_cancels_siblings_after_their_cleanup() {
    let rt = rt(2);
    const SIBLINGS: usize = 4;
    let cleaned = Arc::new(AtomicUsize::new(0));
    let (err, cleaned_at_join, took) = in_task_on(&rt, {
        let cleaned = cleaned.clone();
        async move {
            let (tx, rx) = bounded::<()>(SIBLINGS);
            let mut group = TaskGroup::new();
            for _ in 0..SIBLINGS {
                group.spawn(waiting_child(tx.clone(), cleaned.clone(), 20 * MS));
            }
            group.spawn(async move {
                recv_n(&rx, SIBLINGS).await;
                Err("boom")
            });
            let start = Instant::now();
            let err = group.join().await.unwrap_err();
            (err, cleaned.load(Ordering::SeqCst), start.elapsed())
        }
    });
    assert_eq!(cleaned_at_join, SIBLINGS, "join waited for every cleanup");
    assert!(took >= 20 * MS, "{took:?}");
    assert!(took < LONG / 2, "the siblings were cancelled: {took:?}");
    assert_eq!(err.errors(), ["boom"]);
    assert!(err.panics().is_empty());
    assert_eq!(err.cancelled(), SIBLINGS);
    assert_eq!(cleaned.load(Ordering::SeqCst), SIBLINGS);
}

/// Two children fail (the second while handling the cancellation the
/// first one caused): both errors are kept, in spawn order; a sibling that
/// is merely cancelled is not an error.
#[test]
fn every_error_is_kept_but_not_the_cancellations() {
    let rt = rt(2);
    let err = in_task_on(&rt, async {
        let (tx, rx) = bounded::<()>(2);
        let mut group = TaskGroup::<u32, String>::new();
        // Cancelled (no catch point): not an error.
        let plain = tx.clone();
        group.spawn(async move {
            plain.send(()).await.unwrap();
            sleep(LONG).await;
            Ok(1)
        });
        // Fails first.
        group.spawn(async move {
            recv_n(&rx, 2).await;
            Err("first".to_owned())
        });
        // Fails in its cleanup, after the group cancelled it.
        group.spawn(async move {
            tx.send(()).await.unwrap();
            match cancellable(pending::<()>()).await {
                Ok(()) => Ok(3),
                Err(_) => {
                    sleep(MS).await;
                    Err("second, during cleanup".to_owned())
                }
            }
        });
        group.join().await.unwrap_err()
    });
    assert_eq!(err.errors(), ["first", "second, during cleanup"]);
    assert_eq!(err.cancelled(), 1);
    assert!(err.panics().is_empty());
    let shown = err.to_string();
    assert!(shown.contains("2 error(s)"), "{shown}");
    assert!(
        shown.contains("first") && shown.contains("second"),
        "{shown}"
    );
    assert_eq!(err.into_errors().len(), 2);
}

/// A panicking child is a failure too: the siblings are cancelled (and
/// clean up), and the panic is in `panics()` with its payload; it is not
/// an error and not a cancellation.
#[test]
fn a_panicking_child_is_in_panics() {
    let rt = rt(2);
    let cleaned = Arc::new(AtomicUsize::new(0));
    let err = in_task_on(&rt, {
        let cleaned = cleaned.clone();
        async move {
            let (tx, rx) = bounded::<()>(2);
            let mut group = TaskGroup::new();
            group.spawn(waiting_child(tx.clone(), cleaned.clone(), MS));
            group.spawn(async move {
                recv_n(&rx, 2).await;
                if true {
                    panic!("child boom");
                }
                Ok(0)
            });
            group.spawn(waiting_child(tx, cleaned.clone(), MS));
            group.join().await.unwrap_err()
        }
    });
    assert_eq!(err.panics().len(), 1);
    assert!(err.errors().is_empty());
    assert_eq!(err.cancelled(), 2);
    assert_eq!(cleaned.load(Ordering::SeqCst), 2);
    let mut panics = err.panics().iter();
    let p = panics.next().unwrap();
    assert!(p.is_panic());
    assert!(p.to_string().contains("child boom"), "{p}");
}

/// `group.cancel()` cancels every child (catch points clean up first);
/// `join` still waits for all of them, and reports only cancellations.
#[test]
fn cancel_cancels_every_child() {
    let rt = rt(2);
    const N: usize = 5;
    let cleaned = Arc::new(AtomicUsize::new(0));
    let (err, cleaned_at_join, states) = in_task_on(&rt, {
        let cleaned = cleaned.clone();
        async move {
            let (tx, rx) = bounded::<()>(N);
            let mut group = TaskGroup::new();
            let mut children = Vec::new();
            for _ in 0..N {
                children.push(group.spawn(waiting_child(tx.clone(), cleaned.clone(), 5 * MS)));
            }
            recv_n(&rx, N).await;
            group.cancel();
            let err = group.join().await.unwrap_err();
            let states: Vec<TaskState> = children.iter().map(|c| c.state()).collect();
            (err, cleaned.load(Ordering::SeqCst), states)
        }
    });
    assert_eq!(cleaned_at_join, N);
    assert!(err.errors().is_empty() && err.panics().is_empty());
    assert_eq!(err.cancelled(), N);
    assert!(
        states.iter().all(|s| *s == TaskState::Cancelled),
        "{states:?}"
    );
}

/// Dropping a group (without joining) cancels its children: their futures
/// are dropped, and catch points in them get to clean up.
#[test]
fn dropping_the_group_cancels_the_children() {
    let rt = rt(2);
    let counts = Counts::new();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let children = in_task_on(&rt, {
        let (counts, cleaned) = (counts.clone(), cleaned.clone());
        async move {
            let (tx, rx) = bounded::<()>(4);
            let mut group = TaskGroup::<u32, ()>::new();
            let mut children = Vec::new();
            for i in 0..4 {
                let guard = DropCounter::new(&counts);
                let (tx, cleaned) = (tx.clone(), cleaned.clone());
                children.push(group.spawn(async move {
                    let _guard = guard;
                    tx.send(()).await.unwrap();
                    if i % 2 == 0 {
                        pending::<()>().await;
                    } else if cancellable(pending::<()>()).await.is_err() {
                        sleep(MS).await;
                        cleaned.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(i)
                }));
            }
            recv_n(&rx, 4).await;
            drop(group);
            children
        }
    });
    spin_until("every child future dropped", || counts.drops() == 4);
    assert_eq!(cleaned.load(Ordering::SeqCst), 2);
    spin_until("every child done", || {
        children
            .iter()
            .all(|c| matches!(c.state(), TaskState::Cancelled | TaskState::Completed))
    });
    let states: Vec<TaskState> = children.iter().map(|c| c.state()).collect();
    // Those without a catch point end cancelled; those that swallowed the
    // cancellation in their cleanup complete (as asyncio).
    assert_eq!(
        states,
        [
            TaskState::Cancelled,
            TaskState::Completed,
            TaskState::Cancelled,
            TaskState::Completed
        ]
    );
}

/// A `join` abandoned half-way (here by a `wait_for` timeout) cancels the
/// children it had not collected yet.
#[test]
fn an_abandoned_join_cancels_the_children() {
    let rt = rt(2);
    let counts = Counts::new();
    in_task_on(&rt, {
        let counts = counts.clone();
        async move {
            let (tx, rx) = bounded::<()>(3);
            let mut group = TaskGroup::<(), ()>::new();
            for _ in 0..3 {
                let (guard, tx) = (DropCounter::new(&counts), tx.clone());
                group.spawn(async move {
                    let _guard = guard;
                    tx.send(()).await.unwrap();
                    sleep(LONG).await;
                    Ok(())
                });
            }
            recv_n(&rx, 3).await;
            assert!(wait_for(group.join(), 5 * MS).await.is_err());
        }
    });
    spin_until("every child future dropped", || counts.drops() == 3);
}

/// After a child failed (or after `cancel()`), a newly spawned child is
/// cancelled before its first poll: its body never runs, and `join` counts
/// it as cancelled.
#[test]
fn a_child_spawned_after_a_failure_never_runs() {
    let rt = rt(2);
    let ran = Arc::new(AtomicBool::new(false));
    let (err, late_state) = in_task_on(&rt, {
        let ran = ran.clone();
        async move {
            let mut group = TaskGroup::<(), &'static str>::new();
            let failing = group.spawn(async { Err("boom") });
            common::yield_until(|| failing.state() == TaskState::Completed).await;
            let ran2 = ran.clone();
            let late = group.spawn(async move {
                ran2.store(true, Ordering::SeqCst);
                Ok(())
            });
            let err = group.join().await.unwrap_err();
            (err, late.state())
        }
    });
    assert!(!ran.load(Ordering::SeqCst), "the late child's body ran");
    assert_eq!(late_state, TaskState::Cancelled);
    assert_eq!(err.errors(), ["boom"]);
    assert_eq!(err.cancelled(), 1);

    // The same after `cancel()`.
    let ran = Arc::new(AtomicBool::new(false));
    let err = in_task_on(&rt, {
        let ran = ran.clone();
        async move {
            let mut group = TaskGroup::<(), ()>::new();
            group.cancel();
            group.spawn(async move {
                ran.store(true, Ordering::SeqCst);
                Ok(())
            });
            group.join().await.unwrap_err()
        }
    });
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(err.cancelled(), 1);
}
