//! `CancelScope` (trio's cancel scope): cancelled from another thread while
//! its future is pending, before `run`, by its deadline; nested scopes each
//! catch their own cancellation; the task's own cancellation passes
//! through; a cancel racing the future's completion gives one outcome and
//! drops the future once.

mod common;

use common::{Counts, DropCounter, Log, Tracked, entries, in_task_on, log, push, rt, spin_until};
use futures_channel::oneshot;
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::CancelScope;
use tasklane::task::{Origin, TaskState, cancellable};
use tasklane::time::{Instant, sleep};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(3);

/// Waits at a catch point; when a cancellation reaches it, logs `name`,
/// cleans up with an await and re-raises.
async fn catch_and_reraise(log: Log, name: &'static str) -> &'static str {
    match cancellable(pending::<()>()).await {
        Ok(()) => "not cancelled",
        Err(c) => {
            push(&log, format!("{name} caught"));
            sleep(MS).await;
            push(&log, format!("{name} cleaned"));
            c.reraise().await
        }
    }
}

#[test]
fn cancelled_from_another_thread_while_pending() {
    let rt = rt(2);
    let scope = CancelScope::new();
    let l = log();
    let entered = Arc::new(AtomicBool::new(false));
    let task = rt.spawn({
        let (scope, l, entered) = (scope.clone(), l.clone(), entered.clone());
        async move {
            let r = scope
                .run(async {
                    entered.store(true, Ordering::SeqCst);
                    catch_and_reraise(l.clone(), "inner").await
                })
                .await;
            let c = r.expect_err("the scope was cancelled");
            assert!(matches!(c.origin(), Origin::Scope(_)), "{c:?}");
            // The task is not cancelled: it runs on through more awaits.
            sleep(MS).await;
            push(&l, "after run");
            "task value"
        }
    });
    spin_until("the scope's future is running", || {
        entered.load(Ordering::SeqCst)
    });
    assert!(!scope.is_cancelled());
    std::thread::spawn(move || scope.cancel()).join().unwrap();
    assert_eq!(rt.block_on(task).unwrap(), "task value");
    assert_eq!(entries(&l), ["inner caught", "inner cleaned", "after run"]);
}

#[test]
fn a_future_with_no_catch_point_is_dropped_at_once() {
    let rt = rt(2);
    let counts = Counts::new();
    let scope = CancelScope::new();
    let polls_at_cancel = Arc::new(AtomicUsize::new(usize::MAX));
    let task = rt.spawn({
        let (counts, scope) = (counts.clone(), scope.clone());
        async move {
            let r = scope.run(Tracked::new(&counts, pending::<()>())).await;
            assert!(r.is_err());
            // Dropped by the time `run` returned.
            assert_eq!(counts.drops(), 1);
        }
    });
    spin_until("the future was polled", || counts.polls() > 0);
    polls_at_cancel.store(counts.polls(), Ordering::SeqCst);
    scope.cancel();
    rt.block_on(task).unwrap();
    assert_eq!(
        counts.polls(),
        polls_at_cancel.load(Ordering::SeqCst),
        "not polled again after the cancel"
    );
}

#[test]
fn cancelled_before_run_delivers_at_the_first_suspension_point() {
    let rt = rt(2);
    let l = log();
    in_task_on(&rt, {
        let l = l.clone();
        async move {
            let scope = CancelScope::new();
            scope.cancel();
            assert!(scope.is_cancelled());
            let r = scope
                .run(async {
                    push(&l, "body starts");
                    tasklane::yield_now().await;
                    push(&l, "past the first await");
                })
                .await;
            assert!(r.is_err());
            // A catch point at the first suspension point receives it.
            let r = scope
                .run(async {
                    match cancellable(sleep(LONG)).await {
                        Ok(()) => "slept",
                        Err(_) => "caught",
                    }
                })
                .await;
            assert_eq!(r.unwrap(), "caught", "swallowed: run returns the value");
            // A future ready at its first poll completes.
            assert_eq!(scope.run(async { 5 }).await.unwrap(), 5);
        }
    });
    assert_eq!(entries(&l), ["body starts"]);
}

#[test]
fn cancel_after_run_ended_does_nothing() {
    let rt = rt(2);
    in_task_on(&rt, async {
        let scope = CancelScope::new();
        assert_eq!(scope.run(sleep(MS)).await, Ok(()));
        scope.cancel();
        scope.cancel();
        assert!(scope.is_cancelled());
    });
}

#[test]
fn the_deadline_cancels_the_scope() {
    let rt = rt(2);
    in_task_on(&rt, async {
        let scope = CancelScope::new();
        assert_eq!(scope.deadline(), None);
        let start = Instant::now();
        let at = start + 20 * MS;
        scope.set_deadline(at);
        assert_eq!(scope.deadline(), Some(at));
        let caught = scope
            .run(async {
                match cancellable(sleep(LONG)).await {
                    Ok(()) => false,
                    Err(c) => c.reraise().await,
                }
            })
            .await;
        let took = start.elapsed();
        assert!(caught.is_err());
        assert!(took >= 20 * MS, "not before the deadline: {took:?}");
        assert!(took < GENEROUS, "took {took:?}");
        assert!(scope.is_cancelled());
    });
}

#[test]
fn the_deadline_moves_while_the_scope_runs() {
    let rt = rt(2);
    in_task_on(&rt, async {
        // Later: the future finishes before the first deadline would have
        // cancelled it.
        let scope = CancelScope::new();
        scope.set_deadline(Instant::now() + 10 * MS);
        let mover = scope.clone();
        let r = scope
            .run(async move {
                mover.set_deadline(Instant::now() + LONG);
                sleep(40 * MS).await;
                "finished"
            })
            .await;
        assert_eq!(r.unwrap(), "finished");

        // Earlier, from another task, while the run waits.
        let scope = CancelScope::new();
        scope.set_deadline(Instant::now() + LONG);
        let mover = scope.clone();
        let start = Instant::now();
        tasklane::spawn(async move {
            sleep(5 * MS).await;
            mover.set_deadline(Instant::now() + 5 * MS);
        })
        .detach();
        assert!(scope.run(sleep(LONG)).await.is_err());
        assert!(start.elapsed() < GENEROUS);

        // Cleared: no cancellation.
        let scope = CancelScope::new();
        scope.set_deadline(Instant::now() + 5 * MS);
        scope.clear_deadline();
        assert_eq!(scope.run(sleep(20 * MS)).await, Ok(()));
        assert!(!scope.is_cancelled());
    });
}

#[test]
fn an_inner_scope_cancelled_leaves_the_outer_one_running() {
    let rt = rt(2);
    let l = log();
    in_task_on(&rt, {
        let l = l.clone();
        async move {
            let outer = CancelScope::new();
            let inner = CancelScope::new();
            let canceller = inner.clone();
            let r = outer
                .run(async {
                    tasklane::spawn(async move {
                        sleep(5 * MS).await;
                        canceller.cancel();
                    })
                    .detach();
                    let r = inner.run(catch_and_reraise(l.clone(), "inner")).await;
                    push(
                        &l,
                        format!("inner run: {}", if r.is_err() { "Err" } else { "Ok" }),
                    );
                    sleep(MS).await;
                    7
                })
                .await;
            assert_eq!(r.unwrap(), 7);
            assert!(inner.is_cancelled());
            assert!(!outer.is_cancelled());
        }
    });
    assert_eq!(
        entries(&l),
        ["inner caught", "inner cleaned", "inner run: Err"]
    );
}

#[test]
fn an_outer_scope_cancelled_reaches_catch_points_inside_the_inner_one() {
    let rt = rt(2);
    let l = log();
    in_task_on(&rt, {
        let l = l.clone();
        async move {
            let outer = CancelScope::new();
            let inner = CancelScope::new();
            let canceller = outer.clone();
            tasklane::spawn(async move {
                sleep(5 * MS).await;
                canceller.cancel();
            })
            .detach();
            let r = outer
                .run(async {
                    let r = inner.run(catch_and_reraise(l.clone(), "innermost")).await;
                    push(&l, format!("inner run returned {r:?}"));
                    "outer body finished"
                })
                .await;
            assert!(r.is_err(), "the outer run ends cancelled: {r:?}");
            assert!(!inner.is_cancelled());
        }
    });
    // The re-raise went through the inner run (not its cancellation) to the
    // outer one, which dropped everything: the inner run never returned.
    assert_eq!(entries(&l), ["innermost caught", "innermost cleaned"]);
}

#[test]
fn a_reraise_of_the_inner_scope_reaches_the_inner_owner_not_the_outer() {
    let rt = rt(2);
    let l = log();
    in_task_on(&rt, {
        let l = l.clone();
        async move {
            let outer = CancelScope::new();
            let inner = CancelScope::new();
            let canceller = inner.clone();
            let r = outer
                .run(async {
                    tasklane::spawn(async move {
                        sleep(5 * MS).await;
                        canceller.cancel();
                    })
                    .detach();
                    // A catch point between the two scopes: the inner run
                    // is nearer to the re-raise, so it takes it.
                    let between =
                        cancellable(inner.run(catch_and_reraise(l.clone(), "inner"))).await;
                    let Ok(inner_result) = between else {
                        panic!("the catch point between the scopes got the re-raise")
                    };
                    let c = inner_result.expect_err("the inner run ends cancelled");
                    push(&l, "inner run caught its own");
                    // Re-raised again, out of the inner scope: the catch
                    // point around takes it, as any enclosing handler does.
                    let origin = c.origin();
                    match cancellable(c.reraise::<()>()).await {
                        Ok(()) => unreachable!(),
                        Err(again) => assert_eq!(again.origin(), origin),
                    }
                    "outer body finished"
                })
                .await;
            assert_eq!(r.unwrap(), "outer body finished");
        }
    });
    assert_eq!(
        entries(&l),
        ["inner caught", "inner cleaned", "inner run caught its own"]
    );
}

#[test]
fn the_tasks_own_cancellation_passes_through_a_scope() {
    let rt = rt(2);
    let l = log();
    let scope = CancelScope::new();
    let entered = Arc::new(AtomicBool::new(false));
    let task = rt.spawn({
        let (l, scope, entered) = (l.clone(), scope.clone(), entered.clone());
        async move {
            scope
                .run(async {
                    entered.store(true, Ordering::SeqCst);
                    match cancellable(pending::<()>()).await {
                        Ok(()) => {}
                        Err(c) => {
                            push(&l, format!("task origin: {}", c.origin() == Origin::Task));
                            c.reraise::<()>().await
                        }
                    }
                })
                .await
                .ok();
            push(&l, "after the scope");
        }
    });
    spin_until("inside the scope", || entered.load(Ordering::SeqCst));
    task.cancel();
    let err = rt.block_on(task).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!scope.is_cancelled());
    assert_eq!(entries(&l), ["task origin: true"]);
}

#[test]
fn one_scope_cancels_every_run_of_it() {
    let rt = rt(2);
    let scope = CancelScope::new();
    let started = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (scope, started) = (scope.clone(), started.clone());
            rt.spawn(async move {
                scope
                    .run(async {
                        started.fetch_add(1, Ordering::SeqCst);
                        sleep(LONG).await;
                    })
                    .await
            })
        })
        .collect();
    spin_until("every run started", || started.load(Ordering::SeqCst) == 3);
    scope.cancel();
    for t in tasks {
        assert!(rt.block_on(t).unwrap().is_err());
    }
}

/// A cancel from another thread racing the completion of the scope's
/// future: `run` returns one outcome, the future is dropped exactly once,
/// and the task always ends `Completed`.
#[test]
fn a_cancel_racing_completion_gives_one_outcome() {
    let rt = rt(2);
    let (mut ok, mut err) = (0, 0);
    for i in 0..300 {
        let scope = CancelScope::new();
        let counts = Counts::new();
        let (tx, rx) = oneshot::channel::<u32>();
        let entered = Arc::new(AtomicBool::new(false));
        let task = rt.spawn({
            let (scope, counts, entered) = (scope.clone(), counts.clone(), entered.clone());
            async move {
                let guard = DropCounter::new(&counts);
                let r = scope
                    .run(async move {
                        let _guard = guard;
                        entered.store(true, Ordering::SeqCst);
                        rx.await.unwrap_or(0)
                    })
                    .await;
                assert_eq!(counts.drops(), 1, "dropped once, before run returned");
                r
            }
        });
        spin_until("the run is inside its future", || {
            entered.load(Ordering::SeqCst)
        });
        let canceller = std::thread::spawn(move || scope.cancel());
        if i % 2 == 0 {
            let _ = tx.send(1);
        } else {
            std::thread::yield_now();
            let _ = tx.send(1);
        }
        canceller.join().unwrap();
        let handle_state = rt.block_on(task);
        match handle_state {
            Ok(Ok(v)) => {
                assert_eq!(v, 1);
                ok += 1;
            }
            Ok(Err(_)) => err += 1,
            Err(e) => panic!("the task itself ended: {e}"),
        }
        assert_eq!(counts.drops(), 1);
    }
    assert_eq!(ok + err, 300);
}

#[test]
fn a_scope_run_in_block_on_works_without_a_task() {
    let rt = rt(1);
    let state = rt.block_on(async {
        let scope = CancelScope::new();
        scope.set_deadline(Instant::now() + 5 * MS);
        let r = scope
            .run(async {
                match cancellable(sleep(LONG)).await {
                    Ok(()) => "slept",
                    Err(_) => "caught",
                }
            })
            .await;
        assert_eq!(r, Ok("caught"));
        TaskState::Completed
    });
    assert_eq!(state, TaskState::Completed);
}
