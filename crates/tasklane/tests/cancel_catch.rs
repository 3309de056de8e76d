//! Catch points (`task::cancellable`): a cancellation delivered at a
//! suspension point reaches the innermost catch points of the task, whose
//! code may clean up with awaits and then re-raise or swallow it.

mod common;

use common::{entries, log, push, rt, spin_until};
use std::future::pending;
use std::time::Duration;
use tasklane::task::{self, TaskState, cancellable};
use tasklane::time::sleep;

/// Spawns `fut` and returns once it is suspended (polled, and waiting).
fn start<F>(rt: &tasklane::Runtime, fut: F) -> tasklane::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let h = rt.spawn(fut);
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h
}

#[test]
fn cleanup_awaits_then_reraise_ends_cancelled() {
    let rt = rt(2);
    let l = log();
    let h = start(&rt, {
        let l = l.clone();
        async move {
            match cancellable(sleep(Duration::from_secs(60))).await {
                Ok(()) => "done",
                Err(c) => {
                    push(&l, "caught");
                    // Asynchronous cleanup: awaits work after the catch.
                    sleep(Duration::from_millis(20)).await;
                    tasklane::yield_now().await;
                    push(&l, "cleaned");
                    c.reraise().await
                }
            }
        }
    });
    assert!(h.cancel());
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(entries(&l), ["caught", "cleaned"]);
}

#[test]
fn swallowed_cancellation_completes_with_the_value() {
    let rt = rt(2);
    let h = start(&rt, async move {
        match cancellable(pending::<u32>()).await {
            Ok(v) => v,
            Err(_) => {
                sleep(Duration::from_millis(5)).await;
                7
            }
        }
    });
    h.cancel();
    let mut h = h;
    assert_eq!(rt.block_on(&mut h).unwrap(), 7);
    assert_eq!(h.state(), TaskState::Completed);
}

#[test]
fn nested_catch_points_only_the_innermost_receives() {
    let rt = rt(2);
    let l = log();
    let h = start(&rt, {
        let l = l.clone();
        async move {
            let outer = cancellable(async {
                let inner = cancellable(pending::<()>()).await;
                push(
                    &l,
                    if inner.is_err() {
                        "inner caught"
                    } else {
                        "inner ok"
                    },
                );
                "outer body finished"
            })
            .await;
            push(
                &l,
                if outer.is_err() {
                    "outer caught"
                } else {
                    "outer ok"
                },
            );
        }
    });
    h.cancel();
    rt.block_on(h).unwrap();
    assert_eq!(entries(&l), ["inner caught", "outer ok"]);
}

#[test]
fn sibling_catch_points_joined_both_receive() {
    let rt = rt(2);
    let l = log();
    let h = start(&rt, {
        let l = l.clone();
        async move {
            let a = async {
                if cancellable(pending::<()>()).await.is_err() {
                    push(&l, "a caught");
                }
            };
            let b = async {
                if cancellable(pending::<()>()).await.is_err() {
                    push(&l, "b caught");
                }
            };
            futures_lite::future::zip(a, b).await;
        }
    });
    h.cancel();
    rt.block_on(h).unwrap();
    let mut got = entries(&l);
    got.sort();
    assert_eq!(got, ["a caught", "b caught"]);
}

#[test]
fn each_cancel_is_one_delivery() {
    let rt = rt(2);
    let (caught_tx, caught_rx) = std::sync::mpsc::channel();
    let h = start(&rt, async move {
        let mut caught = 0;
        while caught < 3 {
            if cancellable(pending::<()>()).await.is_err() {
                caught += 1;
                caught_tx.send(caught).unwrap();
            }
        }
        caught
    });
    for i in 1..=3 {
        spin_until("suspended", || h.state() == TaskState::Suspended);
        assert!(h.cancel());
        assert_eq!(caught_rx.recv().unwrap(), i);
    }
    assert_eq!(rt.block_on(h).unwrap(), 3);
}

#[test]
fn abort_bypasses_catch_points() {
    let rt = rt(2);
    let l = log();
    let h = start(&rt, {
        let l = l.clone();
        async move {
            if cancellable(pending::<()>()).await.is_err() {
                push(&l, "caught");
            }
        }
    });
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert!(entries(&l).is_empty());
}

#[test]
fn cancelled_before_first_poll_never_runs_even_with_catch_points() {
    let rt = rt(1);
    let l = log();
    // Hold the only worker so the new task stays queued.
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        gate_rx.recv().unwrap();
    });
    let h = rt.spawn({
        let l = l.clone();
        async move {
            push(&l, "body ran");
            let _ = cancellable(pending::<()>()).await;
        }
    });
    assert!(h.cancel());
    gate_tx.send(()).unwrap();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    rt.block_on(blocker).unwrap();
    assert!(entries(&l).is_empty());
}

#[test]
fn no_catch_point_drops_the_future_at_the_suspension_point() {
    let rt = rt(2);
    let l = log();
    let h = start(&rt, {
        let l = l.clone();
        async move {
            // A catch point that already finished does not count.
            let _ = cancellable(async {}).await;
            pending::<()>().await;
            push(&l, "after");
        }
    });
    h.cancel();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert!(entries(&l).is_empty());
}

#[test]
fn current_task_is_visible_in_cleanup() {
    let rt = rt(2);
    let h = task::Builder::new().name("cleaner").spawn_on(
        async move {
            let _ = cancellable(pending::<()>()).await;
            sleep(Duration::from_millis(1)).await;
            task::current().map(|t| t.name().to_owned())
        },
        &rt.handle(),
    );
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.cancel();
    assert_eq!(rt.block_on(h).unwrap().as_deref(), Some("cleaner"));
}

#[test]
fn wait_for_delivers_to_catch_points_outside_tasks_too() {
    // `block_on`'s future is not a task, but a `wait_for` inside it still
    // delivers its timeout to the catch points of its inner future.
    let rt = rt(1);
    let l = log();
    let r = rt.block_on(tasklane::wait_for(
        {
            let l = l.clone();
            async move {
                match cancellable(sleep(Duration::from_secs(60))).await {
                    Ok(()) => "slept",
                    Err(c) => {
                        sleep(Duration::from_millis(10)).await;
                        push(&l, "cleaned");
                        c.reraise().await
                    }
                }
            }
        },
        Duration::from_millis(10),
    ));
    assert!(r.is_err());
    assert_eq!(entries(&l), ["cleaned"]);
}
