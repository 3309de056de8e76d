//! `shield(fut)` (asyncio.shield): the future runs as its own task that no
//! cancellation of its awaiter reaches: not a `wait_for` timeout, not
//! `cancel()` on the awaiting task, not dropping the `Shield`; a panic in it
//! is resumed in the awaiter; graceful shutdown waits for it without
//! cancelling it, and a `TaskGroup` waits for the shields its children
//! started.

mod common;

use common::{payload_str, rt, spin_until};
use futures_channel::oneshot;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use tasklane::task::{TaskState, cancellable};
use tasklane::time::sleep;
use tasklane::{Runtime, TaskGroup, shield, wait_for};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);

/// A flag a shielded future sets if a cancellation ever reaches a catch
/// point inside it.
fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// `wait_for(&mut shield, t)` times out without delivering anything into
/// the shielded work (its catch point stays untouched); it keeps running
/// and the same `Shield` is awaited again for its value.
#[test]
fn a_timeout_on_a_shield_leaves_the_work_running() {
    let rt = rt(2);
    let reached = flag();
    let (gate_tx, gate_rx) = oneshot::channel::<u32>();
    let (timed_out_tx, timed_out_rx) = oneshot::channel::<()>();
    let h = rt.spawn({
        let reached = reached.clone();
        async move {
            let mut s = shield(async move {
                match cancellable(gate_rx).await {
                    Ok(v) => v.unwrap(),
                    Err(_) => {
                        reached.store(true, Ordering::SeqCst);
                        0
                    }
                }
            });
            assert!(wait_for(&mut s, 5 * MS).await.is_err());
            assert!(wait_for(&mut s, MS).await.is_err());
            assert!(!s.is_finished());
            timed_out_tx.send(()).unwrap();
            s.await
        }
    });
    rt.block_on(timed_out_rx).unwrap();
    gate_tx.send(5).unwrap();
    assert_eq!(rt.block_on(h).unwrap(), 5);
    assert!(
        !reached.load(Ordering::SeqCst),
        "no cancellation got inside"
    );
}

/// Cancelling the task that awaits a `Shield` cancels that task only: the
/// shielded work carries on to its end (seen through a channel) without a
/// cancellation reaching its catch point.
#[test]
fn cancelling_the_awaiter_does_not_cancel_the_shielded_work() {
    let rt = rt(2);
    let reached = flag();
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<&'static str>();
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let awaiter = rt.spawn({
        let reached = reached.clone();
        async move {
            shield(async move {
                started_tx.send(()).unwrap();
                if cancellable(gate_rx).await.is_err() {
                    reached.store(true, Ordering::SeqCst);
                }
                sleep(MS).await;
                done_tx.send("shielded work done").unwrap();
            })
            .await;
            "awaiter finished"
        }
    });
    rt.block_on(started_rx).unwrap();
    spin_until("awaiter suspended", || {
        awaiter.state() == TaskState::Suspended
    });
    assert!(awaiter.cancel());
    let err = rt.block_on(awaiter).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    // The shielded task is still live, and finishes once let go.
    spin_until("only the shielded task is live", || {
        rt.handle().num_tasks() == 1
    });
    // Its first poll may still be running (it signalled `started` before
    // it suspended): it reaches its catch point, never an end.
    spin_until("the shielded task suspended", || {
        let state = rt.handle().tasks()[0].state();
        assert!(!state.is_done(), "the shielded task ended: {state:?}");
        state == TaskState::Suspended
    });
    gate_tx.send(()).unwrap();
    assert_eq!(
        done_rx.recv_timeout(Duration::from_secs(10)),
        Ok("shielded work done")
    );
    assert!(!reached.load(Ordering::SeqCst));
}

/// asyncio's pattern: the awaiter catches its own cancellation around the
/// shield and then awaits the same shield for the result.
#[test]
fn the_awaiter_can_catch_its_cancellation_and_still_get_the_result() {
    let rt = rt(2);
    let (gate_tx, gate_rx) = oneshot::channel::<u32>();
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let awaiter = rt.spawn(async move {
        let mut s = shield(async move { gate_rx.await.unwrap() + 1 });
        started_tx.send(()).unwrap();
        match cancellable(&mut s).await {
            Ok(v) => (v, "not cancelled"),
            Err(_) => (s.await, "cancelled, then awaited again"),
        }
    });
    rt.block_on(started_rx).unwrap();
    spin_until("awaiter suspended", || {
        awaiter.state() == TaskState::Suspended
    });
    awaiter.cancel();
    spin_until("awaiter caught it", || {
        awaiter.state() == TaskState::Suspended && awaiter.snapshot().polls() >= 2
    });
    gate_tx.send(41).unwrap();
    assert_eq!(
        rt.block_on(awaiter).unwrap(),
        (42, "cancelled, then awaited again")
    );
}

/// Dropping a `Shield` unawaited leaves its work running (unowned) to the
/// end.
#[test]
fn dropping_the_shield_does_not_cancel_it() {
    let rt = rt(2);
    let reached = flag();
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<u32>();
    let id = rt
        .block_on(rt.spawn({
            let reached = reached.clone();
            async move {
                let s = shield(async move {
                    if cancellable(gate_rx).await.is_err() {
                        reached.store(true, Ordering::SeqCst);
                    }
                    done_tx.send(7).unwrap();
                });
                let id = s.id().unwrap();
                drop(s);
                id
            }
        }))
        .unwrap();
    // The task that dropped it ends (it may take a moment to leave the
    // registry after its handle was woken); the shielded one lives on.
    spin_until("only the shielded task is live", || {
        rt.handle().num_tasks() == 1
    });
    let live: Vec<_> = rt.handle().tasks().iter().map(|t| t.id()).collect();
    assert_eq!(live, [id]);
    gate_tx.send(()).unwrap();
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(10)), Ok(7));
    assert!(!reached.load(Ordering::SeqCst));
    spin_until("the shielded task ended", || rt.handle().num_tasks() == 0);
}

/// A panic in shielded work is resumed in whatever awaits the `Shield`: the
/// awaiting task ends panicked with the same payload, and `block_on`
/// unwinds with it.
#[test]
fn a_panic_in_shielded_work_is_resumed_in_the_awaiter() {
    let rt = rt(2);
    let h = rt.spawn(async {
        shield(async {
            sleep(MS).await;
            if true {
                panic!("shielded boom");
            }
            1
        })
        .await
    });
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(payload_str(&*err.into_panic()), Some("shielded boom"));

    let unwound = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            shield(async {
                if true {
                    panic!("shielded boom 2");
                }
            })
            .await
        })
    }))
    .unwrap_err();
    assert_eq!(payload_str(&*unwound), Some("shielded boom 2"));
    // The workers lived through it.
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
}

/// Graceful shutdown cancels the task awaiting a shield, but not the
/// shielded task: it waits for it (within the grace), and counts it
/// completed. The shielded work waits at a catch point until a thread has
/// seen its awaiter cancelled, so it is still running when the shutdown
/// begins, however slowly the test thread gets there.
#[test]
fn shutdown_waits_for_shielded_work_without_cancelling_it() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let reached = flag();
    let finished = flag();
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let (open_tx, open_rx) = oneshot::channel::<()>();
    let awaiter = rt.spawn({
        let (reached, finished) = (reached.clone(), finished.clone());
        async move {
            shield(async move {
                started_tx.send(()).unwrap();
                if cancellable(open_rx).await.is_err() {
                    reached.store(true, Ordering::SeqCst);
                }
                finished.store(true, Ordering::SeqCst);
            })
            .await
        }
    });
    rt.block_on(started_rx).unwrap();
    spin_until("awaiter suspended", || {
        awaiter.state() == TaskState::Suspended
    });
    let task = awaiter.task_ref();
    let opener = std::thread::spawn(move || {
        spin_until("awaiter cancelled", || task.state() == TaskState::Cancelled);
        open_tx.send(()).unwrap();
    });
    let report = rt.shutdown(Duration::from_secs(10));
    opener.join().unwrap();
    assert!(
        finished.load(Ordering::SeqCst),
        "waited for the shielded work"
    );
    assert!(!reached.load(Ordering::SeqCst), "and did not cancel it");
    assert_eq!(report.dropped(), 0, "{report}");
    assert_eq!(report.completed(), 1, "the shielded task: {report}");
    assert_eq!(report.cancelled(), 1, "its awaiter: {report}");
    assert!(awaiter.is_cancelled());
}

/// Shielded work that outlasts the grace is given up on like any other
/// task: dropped, and named in the report.
#[test]
fn shielded_work_outlasting_the_grace_is_dropped_and_named() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let id = rt
        .block_on(rt.spawn({
            let drops = drops.clone();
            async move {
                let s = shield(async move {
                    let _g = Guard(drops);
                    sleep(LONG).await;
                });
                s.id().unwrap()
            }
        }))
        .unwrap();
    let report = rt.shutdown(50 * MS);
    assert_eq!(report.dropped_names(), [format!("Task-{id}")], "{report}");
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// `TaskGroup::join` waits for shields started by its children, whether the
/// child dropped its `Shield` and returned, or was cancelled (because a
/// sibling failed) while awaiting it.
#[test]
fn a_task_group_waits_for_shields_its_children_started() {
    let rt = rt(2);
    let first = flag();
    let second = flag();
    // The failing child waits until both others have started their shield.
    let (ready_tx, ready_rx) = tasklane::sync::bounded::<()>(2);
    let errors = rt
        .block_on(rt.spawn({
            let (first, second) = (first.clone(), second.clone());
            async move {
                let mut group = TaskGroup::new();
                let ready = ready_tx.clone();
                group.spawn(async move {
                    drop(shield(async move {
                        sleep(30 * MS).await;
                        first.store(true, Ordering::SeqCst);
                    }));
                    ready.send(()).await.unwrap();
                    Ok(1)
                });
                group.spawn(async move {
                    let s = shield(async move {
                        sleep(30 * MS).await;
                        second.store(true, Ordering::SeqCst);
                    });
                    ready_tx.send(()).await.unwrap();
                    s.await;
                    Ok(2)
                });
                group.spawn(async move {
                    ready_rx.recv().await.unwrap();
                    ready_rx.recv().await.unwrap();
                    Err("fail")
                });
                group.join().await.unwrap_err().into_errors()
            }
        }))
        .unwrap();
    assert_eq!(errors, ["fail"]);
    assert!(
        first.load(Ordering::SeqCst),
        "join waited for the dropped shield"
    );
    assert!(
        second.load(Ordering::SeqCst),
        "and for the cancelled child's"
    );
}
