//! Four behaviours taken from CPython's own asyncio tests, where an earlier
//! tasklane differed: a failing group child cancels the group's owner
//! (`test_cancel_children_on_child_error`), a re-raised cancellation
//! reaches the enclosing catch point (`test_yield_future_passes_cancel`),
//! `wait` leaves the waited tasks running when its awaiter is cancelled
//! (`test_yield_wait_does_not_shield_cancel`), and a zero timeout expires
//! (`test_timeout_zero_sleep_zero`).

mod common;

use common::{Log, entries, log, push, rt, spin_until, yield_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tasklane::task::{TaskState, cancellable};
use tasklane::time::sleep;
use tasklane::{ReturnWhen, TaskGroup, wait, wait_for, yield_now};

const LONG: Duration = Duration::from_secs(30);

/// The body of a group owner: a child fails after a moment while the
/// owner waits in a catch point; the owner must see the cancellation, then
/// `join` gives the group's error, and the owner goes on uncancelled.
async fn owner_body(l: Log) -> &'static str {
    let mut group = TaskGroup::<u32, &'static str>::new();
    group.spawn(async {
        sleep(Duration::from_millis(10)).await;
        Err("boom")
    });
    group.spawn(async {
        sleep(LONG).await;
        Ok(1)
    });
    let started = Instant::now();
    match cancellable(sleep(LONG)).await {
        Ok(()) => push(&l, "slept the whole time"),
        Err(_) => {
            assert!(started.elapsed() < LONG / 2);
            push(&l, "owner cancelled");
            // Asynchronous cleanup in the owner, as after `except`.
            sleep(Duration::from_millis(5)).await;
        }
    }
    let err = group.join().await.unwrap_err();
    assert_eq!(err.errors(), &["boom"]);
    assert_eq!(err.cancelled(), 1);
    push(&l, "joined");
    // Not left cancelled: a later suspension point is not a delivery.
    match cancellable(sleep(Duration::from_millis(5))).await {
        Ok(()) => push(&l, "after"),
        Err(_) => push(&l, "cancelled again"),
    }
    "done"
}

#[test]
fn a_failing_child_cancels_the_owner_task_at_its_await() {
    let rt = rt(2);
    let l = log();
    let h = rt.spawn(owner_body(l.clone()));
    let mut h = h;
    assert_eq!(rt.block_on(&mut h).unwrap(), "done");
    assert_eq!(h.state(), TaskState::Completed);
    assert_eq!(entries(&l), ["owner cancelled", "joined", "after"]);
}

#[test]
fn a_failing_child_cancels_the_block_on_owner_too() {
    let rt = rt(2);
    let l = log();
    assert_eq!(rt.block_on(owner_body(l.clone())), "done");
    assert_eq!(entries(&l), ["owner cancelled", "joined", "after"]);
}

#[test]
fn an_owner_without_a_catch_point_runs_on_to_join() {
    // Nothing in the owner can take the group's cancellation: it is not
    // dropped for it (the group's error comes from `join`).
    let rt = rt(2);
    let h = rt.spawn(async {
        let mut group = TaskGroup::<u32, &'static str>::new();
        group.spawn(async { Err("boom") });
        sleep(Duration::from_millis(50)).await;
        yield_now().await;
        let err = group.join().await.unwrap_err();
        err.errors().len()
    });
    assert_eq!(rt.block_on(h).unwrap(), 1);
}

#[test]
fn a_failure_after_the_owner_reached_join_does_not_reach_its_catch_points() {
    // The owner's body is over once it awaits `join`: a catch point around
    // the whole group must not receive the group's cancellation.
    let rt = rt(2);
    let h = rt.spawn(async {
        let outer = cancellable(async {
            let mut group = TaskGroup::<u32, &'static str>::new();
            group.spawn(async {
                sleep(Duration::from_millis(20)).await;
                Err("late")
            });
            group.join().await
        })
        .await;
        match outer {
            Ok(Err(e)) => e.errors().to_vec(),
            Ok(Ok(_)) => vec!["ok"],
            Err(_) => vec!["outer catch point cancelled"],
        }
    });
    assert_eq!(rt.block_on(h).unwrap(), ["late"]);
}

#[test]
fn a_reraised_cancellation_reaches_the_enclosing_catch_point() {
    let rt = rt(2);
    let l = log();
    let h = rt.spawn({
        let l = l.clone();
        async move {
            let outer = cancellable(async {
                match cancellable(sleep(LONG)).await {
                    Ok(()) => "slept",
                    Err(c) => {
                        push(&l, "inner caught");
                        sleep(Duration::from_millis(5)).await;
                        push(&l, "inner cleaned up");
                        c.reraise().await
                    }
                }
            })
            .await;
            match outer {
                Ok(v) => v,
                Err(_) => {
                    push(&l, "outer caught");
                    "swallowed"
                }
            }
        }
    });
    spin_until("suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    let mut h = h;
    assert_eq!(rt.block_on(&mut h).unwrap(), "swallowed");
    assert_eq!(h.state(), TaskState::Completed);
    assert_eq!(
        entries(&l),
        ["inner caught", "inner cleaned up", "outer caught"]
    );
}

#[test]
fn a_reraise_passes_through_a_wait_for_to_the_catch_point_outside_it() {
    let rt = rt(2);
    let h = rt.spawn(async {
        let outer = cancellable(wait_for(
            async {
                match cancellable(sleep(LONG)).await {
                    Ok(()) => 0,
                    Err(c) => c.reraise().await,
                }
            },
            LONG,
        ))
        .await;
        outer.is_err()
    });
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.cancel();
    assert!(rt.block_on(h).unwrap(), "the outer catch point caught it");
}

#[test]
fn a_reraised_timeout_reaches_a_catch_point_inside_the_wait_for() {
    // The timeout's cancellation, re-raised by the inner handler, is caught
    // by the outer handler inside the `wait_for`, which swallows it: the
    // `wait_for` returns the value, as asyncio's does.
    let rt = rt(2);
    let r = rt.block_on(wait_for(
        async {
            let outer = cancellable(async {
                match cancellable(sleep(LONG)).await {
                    Ok(()) => 0,
                    Err(c) => c.reraise().await,
                }
            })
            .await;
            if outer.is_err() { 7 } else { 0 }
        },
        Duration::from_millis(10),
    ));
    assert_eq!(r, Ok(7));
}

#[test]
fn a_reraise_with_only_a_sibling_catch_point_ends_the_task() {
    // A catch point pending beside the re-raising code, first awaited after
    // the cancellation landed, is not around it: the cancellation goes past
    // it and the task ends cancelled.
    let rt = rt(2);
    let sibling_caught = Arc::new(AtomicBool::new(false));
    let h = rt.spawn({
        let sibling_caught = sibling_caught.clone();
        async move {
            let (tx, rx) = tasklane::sync::oneshot::channel::<()>();
            let reraiser = async move {
                match cancellable(sleep(LONG)).await {
                    Ok(()) => (),
                    Err(c) => {
                        let _ = tx.send(());
                        // Lets the sibling reach its catch point first.
                        sleep(Duration::from_millis(5)).await;
                        c.reraise().await
                    }
                }
            };
            let sibling = async {
                let _ = rx.await;
                if cancellable(sleep(LONG)).await.is_err() {
                    sibling_caught.store(true, Ordering::SeqCst);
                }
            };
            futures_lite::future::zip(reraiser, sibling).await;
        }
    });
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.cancel();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!sibling_caught.load(Ordering::SeqCst));
}

#[test]
fn wait_leaves_the_waited_tasks_running_when_its_awaiter_is_cancelled() {
    let rt = rt(2);
    let finished = Arc::new(AtomicBool::new(false));
    // The child runs on until the test lets it, after its awaiter is gone.
    let (open, gate) = futures_channel::oneshot::channel::<()>();
    let child = rt.spawn({
        let finished = finished.clone();
        async move {
            gate.await.unwrap();
            finished.store(true, Ordering::SeqCst);
            5
        }
    });
    let child_ref = child.task_ref();
    let awaiter = rt.spawn(async move {
        let (done, _) = wait(vec![child], ReturnWhen::AllCompleted, None).await;
        done.len()
    });
    spin_until("awaiter waiting", || {
        awaiter.state() == TaskState::Suspended
    });
    assert!(awaiter.cancel());
    assert!(rt.block_on(awaiter).unwrap_err().is_cancelled());
    open.send(()).unwrap();
    spin_until("child finished", || {
        child_ref.state() == TaskState::Completed
    });
    assert!(finished.load(Ordering::SeqCst));
}

#[test]
fn wait_on_borrowed_handles_keeps_them_with_their_owner() {
    let rt = rt(2);
    let n = rt.block_on(async {
        let mut tasks = vec![
            tasklane::spawn(async { 1 }),
            tasklane::spawn(async {
                sleep(LONG).await;
                2
            }),
        ];
        let (done, pending) = wait(&mut tasks, ReturnWhen::FirstCompleted, None).await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        yield_until(|| tasks[1].state() == TaskState::Suspended).await;
        // Cancelled while waiting again: the handles stay in `tasks`.
        let r = wait_for(
            wait(&mut tasks, ReturnWhen::AllCompleted, None),
            Duration::from_millis(10),
        )
        .await;
        assert!(r.is_err());
        assert_eq!(tasks[1].state(), TaskState::Suspended);
        tasks[1].cancel();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap_or(0);
        }
        sum
    });
    assert_eq!(n, 1);
}

#[test]
fn a_zero_timeout_expires_at_the_first_suspension_point() {
    let rt = rt(2);
    rt.block_on(async {
        for _ in 0..2000 {
            assert!(wait_for(yield_now(), Duration::ZERO).await.is_err());
            assert!(
                wait_for(sleep(Duration::ZERO), Duration::ZERO)
                    .await
                    .is_err()
            );
        }
        // Ready at its first poll: the value wins.
        assert_eq!(wait_for(async { 7 }, Duration::ZERO).await, Ok(7));
        // A catch point inside receives the timeout there, and may swallow it.
        let caught = wait_for(
            async {
                match cancellable(yield_now()).await {
                    Ok(()) => "ran on",
                    Err(_) => "caught",
                }
            },
            Duration::ZERO,
        )
        .await;
        assert_eq!(caught, Ok("caught"));
    });
    // The same inside a task.
    let h = rt.spawn(async {
        let mut expired = 0;
        for _ in 0..2000 {
            expired += wait_for(yield_now(), Duration::ZERO).await.is_err() as u32;
        }
        expired
    });
    assert_eq!(rt.block_on(h).unwrap(), 2000);
}
