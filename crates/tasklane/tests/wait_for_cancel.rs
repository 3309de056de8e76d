//! `wait_for` delivers its timeout as a cancellation (asyncio.wait_for):
//! catch points inside the inner future receive it (as a *scope*
//! cancellation, not the task's), their cleanup may await and finishes
//! before `wait_for` returns `Err(Elapsed)` (re-raised) or the value
//! (swallowed); without a catch point the future is dropped at once; a
//! `&mut JoinHandle` is waited on without touching the task; nested
//! `wait_for`s each deliver to the right scope.
//!
//! The plain timeout behaviour (values, timing, timers) is `wait_for.rs`.

mod common;

use common::{Counts, DropCounter, Log, Tracked, entries, in_task_on, log, push, rt, spin_until};
use futures_channel::oneshot;
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::task::{Origin, TaskState, cancellable};
use tasklane::time::{Instant, sleep};
use tasklane::wait_for;

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(3);

/// A future that waits forever at a catch point; when the timeout reaches
/// it, it logs the origin, cleans up with awaits, and re-raises.
async fn catch_cleanup_reraise(log: Log, cleanup: Duration) -> &'static str {
    match cancellable(pending::<()>()).await {
        Ok(()) => "not cancelled",
        Err(c) => {
            let origin = match c.origin() {
                Origin::Scope(_) => "caught scope",
                Origin::Task => "caught task",
            };
            push(&log, origin);
            sleep(cleanup).await;
            tasklane::yield_now().await;
            push(&log, "cleaned");
            c.reraise().await
        }
    }
}

/// The timeout reaches a catch point inside the inner future, as a scope
/// cancellation; the task running the `wait_for` is not cancelled and goes
/// on to return its own value.
#[test]
fn the_timeout_reaches_a_catch_point_inside_the_inner_future() {
    let rt = rt(2);
    let l = log();
    let out = in_task_on(&rt, {
        let l = l.clone();
        async move {
            let r = wait_for(catch_cleanup_reraise(l.clone(), MS), 5 * MS).await;
            assert!(r.is_err(), "{r:?}");
            // The task itself was not cancelled: it runs on, through more
            // suspension points.
            sleep(MS).await;
            push(&l, "task goes on");
            "task value"
        }
    });
    assert_eq!(out, "task value");
    assert_eq!(entries(&l), ["caught scope", "cleaned", "task goes on"]);
}

/// Cleanup that awaits (a sleep, a yield) has finished by the time
/// `wait_for` returns `Err(Elapsed)`: the re-raise is what ends it.
#[test]
fn cleanup_that_awaits_finishes_before_elapsed_is_returned() {
    let rt = rt(2);
    let l = log();
    in_task_on(&rt, {
        let l = l.clone();
        async move {
            let counts = Counts::new();
            let guard = DropCounter::new(&counts);
            let cleaned = Arc::new(AtomicBool::new(false));
            let inner = {
                let (l, cleaned) = (l.clone(), cleaned.clone());
                async move {
                    let _guard = guard;
                    match cancellable(sleep(LONG)).await {
                        Ok(()) => 0,
                        Err(c) => {
                            push(&l, "caught");
                            sleep(30 * MS).await;
                            cleaned.store(true, Ordering::SeqCst);
                            push(&l, "cleaned");
                            c.reraise().await
                        }
                    }
                }
            };
            let start = Instant::now();
            let r = wait_for(inner, 10 * MS).await;
            let took = start.elapsed();
            assert!(r.is_err(), "{r:?}");
            assert!(
                cleaned.load(Ordering::SeqCst),
                "cleanup ran to its end first"
            );
            assert_eq!(counts.drops(), 1, "the inner future was dropped by then");
            assert!(took >= 40 * MS, "timeout + cleanup, took only {took:?}");
            assert!(took < GENEROUS, "took {took:?}");
            push(&l, "wait_for returned");
        }
    });
    assert_eq!(entries(&l), ["caught", "cleaned", "wait_for returned"]);
}

/// Cleanup that swallows the timeout and produces a value: `wait_for`
/// returns that value (as asyncio's does), after the cleanup's awaits.
#[test]
fn a_swallowed_timeout_gives_the_value() {
    let rt = rt(2);
    let v = in_task_on(&rt, async {
        let inner = async {
            match cancellable(pending::<u32>()).await {
                Ok(v) => v,
                Err(_) => {
                    sleep(5 * MS).await;
                    tasklane::yield_now().await;
                    42
                }
            }
        };
        let start = Instant::now();
        let r = wait_for(inner, 5 * MS).await;
        assert!(start.elapsed() >= 10 * MS);
        r
    });
    assert_eq!(v, Ok(42));
}

/// Without a catch point inside the inner future, it is dropped at the
/// deadline (even if the task holds catch points around the `wait_for`):
/// its destructors have run exactly once when `Err` comes back, and it is
/// never polled again. A catch point that already finished inside it does
/// not count.
#[test]
fn without_a_catch_point_the_future_is_dropped_at_once() {
    let rt = rt(2);
    in_task_on(&rt, async {
        let (futs, guards) = (Counts::new(), Counts::new());
        let guard = DropCounter::new(&guards);
        let after = Arc::new(AtomicBool::new(false));
        let inner = Tracked::new(&futs, {
            let after = after.clone();
            async move {
                let _guard = guard;
                // A finished catch point: no longer a place to deliver to.
                assert_eq!(cancellable(async { 1 }).await, Ok(1));
                sleep(LONG).await;
                after.store(true, Ordering::SeqCst);
            }
        });
        let start = Instant::now();
        // A catch point of the task around the wait_for must not take the
        // timeout either.
        let r = cancellable(wait_for(inner, 10 * MS)).await;
        let took = start.elapsed();
        assert!(matches!(r, Ok(Err(_))), "{r:?}");
        assert!(took >= 10 * MS && took < GENEROUS, "took {took:?}");
        assert_eq!(futs.drops(), 1, "dropped by the time Err is returned");
        assert_eq!(guards.drops(), 1, "its locals were dropped with it");
        let polls = futs.polls();
        sleep(5 * MS).await;
        assert_eq!(futs.polls(), polls, "not polled after the deadline");
        assert_eq!((futs.drops(), guards.drops()), (1, 1), "dropped once");
        assert!(!after.load(Ordering::SeqCst));
    });
}

/// `wait_for(&mut handle, t)`: the timeout is the awaiter's business, not
/// the task's: the task's own catch point receives nothing, the task keeps
/// running, and the handle can be awaited again for the value.
#[test]
fn a_timeout_on_a_join_handle_leaves_the_task_running() {
    let rt = rt(2);
    let caught = Arc::new(AtomicBool::new(false));
    let (tx, rx) = oneshot::channel::<u32>();
    let (started_tx, started_rx) = oneshot::channel();
    let mut h = rt.spawn({
        let caught = caught.clone();
        async move {
            started_tx.send(()).unwrap();
            match cancellable(rx).await {
                Ok(v) => v.unwrap() * 2,
                Err(_) => {
                    caught.store(true, Ordering::SeqCst);
                    0
                }
            }
        }
    });
    rt.block_on(started_rx).unwrap();
    spin_until("first poll over", || h.state() == TaskState::Suspended);
    let (mut h, tx) = in_task_on(&rt, async move {
        assert!(wait_for(&mut h, 10 * MS).await.is_err());
        assert!(wait_for(&mut h, MS).await.is_err());
        assert!(!h.is_finished());
        (h, tx)
    });
    assert!(!caught.load(Ordering::SeqCst), "the task was not cancelled");
    assert_eq!(h.state(), TaskState::Suspended);
    tx.send(21).unwrap();
    let v = in_task_on(&rt, async move {
        wait_for(&mut h, LONG).await.map(|r| r.unwrap())
    });
    assert_eq!(v, Ok(42));
    assert!(!caught.load(Ordering::SeqCst));
}

/// Nested, the inner timeout shorter: the inner scope's catch point gets
/// it; a catch point of the outer scope (around the inner `wait_for`) does
/// not, and the outer body runs on to its value.
#[test]
fn nested_inner_shorter_delivers_to_the_inner_scope() {
    let rt = rt(2);
    let l = log();
    let r = in_task_on(&rt, {
        let l = l.clone();
        async move {
            let outer_body = {
                let l = l.clone();
                async move {
                    let inner = wait_for(catch_cleanup_reraise(l.clone(), 5 * MS), 5 * MS);
                    // The outer scope's catch point.
                    match cancellable(inner).await {
                        Ok(Err(_elapsed)) => push(&l, "inner elapsed"),
                        Ok(Ok(v)) => push(&l, format!("inner value {v}")),
                        Err(_) => push(&l, "outer catch point caught"),
                    }
                    sleep(MS).await;
                    "outer body done"
                }
            };
            wait_for(outer_body, LONG).await
        }
    });
    assert_eq!(r, Ok("outer body done"));
    assert_eq!(entries(&l), ["caught scope", "cleaned", "inner elapsed"]);
}

/// Nested, the outer timeout shorter: the cancellation travels through the
/// inner `wait_for` (whose own deadline has not passed) to the innermost
/// catch point; its re-raise ends the *outer* scope, which returns
/// `Err(Elapsed)`, and the code after the inner `wait_for` never runs.
#[test]
fn nested_outer_shorter_delivers_through_the_inner_wait_for() {
    let rt = rt(2);
    let l = log();
    let r = in_task_on(&rt, {
        let l = l.clone();
        async move {
            let outer_body = {
                let l = l.clone();
                async move {
                    let r = wait_for(catch_cleanup_reraise(l.clone(), 10 * MS), LONG).await;
                    push(&l, format!("after the inner wait_for: {r:?}"));
                    "outer body done"
                }
            };
            let start = Instant::now();
            let r = wait_for(outer_body, 5 * MS).await;
            assert!(start.elapsed() >= 15 * MS, "cleanup finished first");
            r
        }
    });
    assert!(r.is_err(), "{r:?}");
    assert_eq!(entries(&l), ["caught scope", "cleaned"]);
}

/// Nested, the outer timeout shorter, and the innermost catch point
/// swallows it: the inner `wait_for` returns the value, the outer body goes
/// on, and the outer `wait_for` returns the body's value (as asyncio's does
/// when the cancellation is swallowed).
#[test]
fn nested_outer_shorter_swallowed_gives_the_outer_value() {
    let rt = rt(2);
    let r = in_task_on(&rt, async {
        let outer_body = async {
            let inner = async {
                match cancellable(pending::<u32>()).await {
                    Ok(v) => v,
                    Err(_) => {
                        sleep(2 * MS).await;
                        7
                    }
                }
            };
            let v = wait_for(inner, LONG)
                .await
                .expect("the inner scope did not expire");
            tasklane::yield_now().await;
            v * 10
        };
        wait_for(outer_body, 5 * MS).await
    });
    assert_eq!(r, Ok(70));
}

/// Both scopes carry catch points, with the inner one in a loop: the first
/// (inner) timeout and then the second (outer) one each reach the catch
/// point live at that moment, in order.
#[test]
fn two_timeouts_two_deliveries_in_order() {
    let rt = rt(2);
    let l = log();
    let r = in_task_on(&rt, {
        let l = l.clone();
        async move {
            let outer_body = {
                let l = l.clone();
                async move {
                    let inner = wait_for(catch_cleanup_reraise(l.clone(), MS), 5 * MS);
                    assert!(inner.await.is_err());
                    push(&l, "inner elapsed");
                    // Now wait at a catch point for the outer deadline.
                    match cancellable(pending::<()>()).await {
                        Ok(()) => unreachable!(),
                        Err(c) => {
                            push(&l, "outer caught");
                            sleep(MS).await;
                            c.reraise().await
                        }
                    }
                }
            };
            wait_for(outer_body, 100 * MS).await
        }
    });
    assert!(r.is_err());
    assert_eq!(
        entries(&l),
        ["caught scope", "cleaned", "inner elapsed", "outer caught"]
    );
}

/// A task cancelled while its cleanup for a timeout is running: the task's
/// cancellation is a separate delivery (at the cleanup's next suspension,
/// which holds no catch point): the task ends cancelled, and the inner
/// future is dropped exactly once.
#[test]
fn a_task_cancel_during_timeout_cleanup_ends_the_task() {
    let rt = rt(2);
    let counts = Counts::new();
    let in_cleanup = Arc::new(AtomicUsize::new(0));
    let h = rt.spawn({
        let (counts, in_cleanup) = (counts.clone(), in_cleanup.clone());
        async move {
            let inner = Tracked::new(&counts, {
                let in_cleanup = in_cleanup.clone();
                async move {
                    match cancellable(pending::<()>()).await {
                        Ok(()) => 0,
                        Err(_) => {
                            in_cleanup.store(1, Ordering::SeqCst);
                            sleep(LONG).await;
                            in_cleanup.store(2, Ordering::SeqCst);
                            1
                        }
                    }
                }
            });
            wait_for(inner, 5 * MS).await
        }
    });
    spin_until("cleanup started", || in_cleanup.load(Ordering::SeqCst) == 1);
    spin_until("suspended in cleanup", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(in_cleanup.load(Ordering::SeqCst), 1);
    assert_eq!(counts.drops(), 1);
}

/// `tasklane::run`'s (and `block_on`'s) future is not a task, but a
/// `wait_for` in it still delivers its timeout to the catch points inside:
/// `wait_for`'s behaviour does not depend on where it is awaited.
#[test]
fn the_timeout_reaches_catch_points_in_block_on() {
    let rt = rt(2);
    let l = log();
    let r = rt.block_on(wait_for(catch_cleanup_reraise(l.clone(), MS), 5 * MS));
    assert!(r.is_err());
    assert_eq!(entries(&l), ["caught scope", "cleaned"]);

    let swallow = async {
        match cancellable(pending::<u32>()).await {
            Ok(v) => v,
            Err(_) => {
                sleep(MS).await;
                9
            }
        }
    };
    assert_eq!(rt.block_on(wait_for(swallow, 5 * MS)), Ok(9));
}
