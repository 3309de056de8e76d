//! Graceful shutdown (asyncio.run's ending): `Runtime::shutdown(grace)`,
//! the end of `tasklane::run` and dropping a `Runtime` cancel every task so
//! catch points can clean up (with awaits, even spawning and awaiting new
//! tasks), wait for them within the grace, then drop what is left, naming
//! it in the `ShutdownReport`; each future is dropped exactly once.

mod common;

use common::{Counts, DropCounter, spin_until};
use futures_channel::oneshot;
use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tasklane::Runtime;
use tasklane::task::{self, TaskState, cancellable};
use tasklane::time::sleep;

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);
/// A grace long enough for any cleanup here; tests that end early show
/// shutdown did not wait for all of it.
const GRACE: Duration = Duration::from_secs(10);

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().unwrap()
}

fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Cleanup that awaits finishes within the grace: a task that re-raises is
/// counted cancelled, one that swallows the cancellation and returns a
/// value is counted completed; shutdown returns when they are done, not at
/// the end of the grace.
#[test]
fn cleanup_finishes_within_the_grace_and_is_counted() {
    let rt = runtime();
    let (reraised, swallowed) = (flag(), flag());
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let spawn_cleaner = |name: &'static str, done: Arc<AtomicBool>, reraise: bool| {
        let started = started_tx.clone();
        task::Builder::new().name(name).spawn_on(
            async move {
                started.send(()).unwrap();
                match cancellable(sleep(LONG)).await {
                    Ok(()) => 0,
                    Err(c) => {
                        sleep(50 * MS).await;
                        tasklane::yield_now().await;
                        done.store(true, Ordering::SeqCst);
                        if reraise { c.reraise().await } else { 5 }
                    }
                }
            },
            &rt.handle(),
        )
    };
    let a = spawn_cleaner("reraiser", reraised.clone(), true);
    let b = spawn_cleaner("swallower", swallowed.clone(), false);
    started_rx.recv().unwrap();
    started_rx.recv().unwrap();
    spin_until("both suspended", || {
        a.state() == TaskState::Suspended && b.state() == TaskState::Suspended
    });
    let start = Instant::now();
    let report = rt.shutdown(GRACE);
    let took = start.elapsed();
    assert!(reraised.load(Ordering::SeqCst) && swallowed.load(Ordering::SeqCst));
    assert!(took >= 50 * MS, "{took:?}");
    assert!(
        took < GRACE / 2,
        "did not wait for the whole grace: {took:?}"
    );
    assert_eq!(report.cancelled(), 1, "{report}");
    assert_eq!(report.completed(), 1, "{report}");
    assert_eq!((report.dropped(), report.panicked()), (0, 0), "{report}");
    assert!(a.is_cancelled());
    assert_eq!(b.state(), TaskState::Completed);
    assert_eq!(futures_lite::future::block_on(b).unwrap(), 5);
}

/// Cleanup may spawn a new task during the grace and await it (a goodbye
/// message, say); the new task runs, and is counted.
#[test]
fn cleanup_can_spawn_and_await_a_task() {
    let rt = runtime();
    let said = Arc::new(Mutex::new(None::<&'static str>));
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let h = rt.spawn({
        let said = said.clone();
        async move {
            started_tx.send(()).unwrap();
            match cancellable(pending::<()>()).await {
                Ok(()) => unreachable!(),
                Err(c) => {
                    let goodbye = tasklane::spawn(async {
                        sleep(20 * MS).await;
                        "goodbye sent"
                    });
                    *said.lock().unwrap() = Some(goodbye.await.unwrap());
                    c.reraise().await
                }
            }
        }
    });
    rt.block_on(started_rx).unwrap();
    spin_until("suspended", || h.state() == TaskState::Suspended);
    let report = rt.shutdown(GRACE);
    assert_eq!(*said.lock().unwrap(), Some("goodbye sent"));
    assert_eq!(report.cancelled(), 1, "{report}");
    assert_eq!(report.completed(), 1, "the goodbye task: {report}");
    assert_eq!(report.dropped(), 0, "{report}");
    assert!(h.is_cancelled());
}

/// A stubborn task that swallows every cancellation and goes back to
/// waiting is dropped when the grace runs out, named in the report; its
/// destructors run exactly once. Shutdown waited for the grace, not much
/// longer.
#[test]
fn a_stubborn_task_is_dropped_after_the_grace_and_named() {
    let rt = runtime();
    let counts = Counts::new();
    let swallowed = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let guard = DropCounter::new(&counts);
    let h = task::Builder::new().name("stubborn").spawn_on(
        {
            let swallowed = swallowed.clone();
            async move {
                let _guard = guard;
                started_tx.send(()).unwrap();
                loop {
                    if cancellable(pending::<()>()).await.is_err() {
                        swallowed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        },
        &rt.handle(),
    );
    // A polite neighbour, to show the report tells them apart.
    let polite = task::Builder::new()
        .name("polite")
        .spawn_on(sleep(LONG), &rt.handle());
    rt.block_on(started_rx).unwrap();
    spin_until("stubborn suspended", || h.state() == TaskState::Suspended);
    let grace = 200 * MS;
    let start = Instant::now();
    let report = rt.shutdown(grace);
    let took = start.elapsed();
    assert!(took >= grace, "{took:?}");
    assert!(took < grace + Duration::from_secs(3), "{took:?}");
    assert_eq!(report.dropped_names(), ["stubborn"], "{report}");
    assert_eq!(report.dropped(), 1);
    assert_eq!(report.cancelled(), 1, "the polite one: {report}");
    assert_eq!(
        swallowed.load(Ordering::SeqCst),
        1,
        "one delivery, then the abort"
    );
    assert_eq!(counts.drops(), 1, "the stubborn future was dropped");
    assert!(h.is_cancelled());
    assert!(polite.is_cancelled());
    drop((h, polite));
    assert_eq!(counts.drops(), 1, "once");
}

/// `tasklane::run` shuts down the same way when its future returns: a
/// detached task with a catch point gets to clean up (with awaits) before
/// `run` returns; one without is dropped, its destructors run once.
#[test]
fn run_shuts_down_gracefully() {
    let cleaned = flag();
    let counts = Counts::new();
    let start = Instant::now();
    let v = tasklane::run({
        let (cleaned, counts) = (cleaned.clone(), counts.clone());
        async move {
            let (tx, rx) = oneshot::channel::<()>();
            tasklane::spawn(async move {
                tx.send(()).unwrap();
                if let Err(c) = cancellable(pending::<()>()).await {
                    sleep(20 * MS).await;
                    cleaned.store(true, Ordering::SeqCst);
                    c.reraise().await
                }
            })
            .detach();
            let guard = DropCounter::new(&counts);
            tasklane::spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            })
            .detach();
            rx.await.unwrap();
            7
        }
    });
    assert_eq!(v, 7);
    assert!(
        cleaned.load(Ordering::SeqCst),
        "cleanup ran before run returned"
    );
    assert_eq!(counts.drops(), 1);
    assert!(
        start.elapsed() < tasklane::DEFAULT_GRACE,
        "did not wait out the grace"
    );
}

/// Dropping a `Runtime` shuts it down the same way, with the default grace.
#[test]
fn dropping_the_runtime_shuts_down_gracefully() {
    let rt = runtime();
    let cleaned = flag();
    let counts = Counts::new();
    let (tx, rx) = oneshot::channel::<()>();
    let guard = DropCounter::new(&counts);
    rt.spawn({
        let cleaned = cleaned.clone();
        async move {
            let _guard = guard;
            tx.send(()).unwrap();
            if let Err(c) = cancellable(pending::<()>()).await {
                sleep(20 * MS).await;
                tasklane::yield_now().await;
                cleaned.store(true, Ordering::SeqCst);
                c.reraise().await
            }
        }
    })
    .detach();
    rt.block_on(rx).unwrap();
    let start = Instant::now();
    drop(rt);
    assert!(
        cleaned.load(Ordering::SeqCst),
        "cleanup ran before drop returned"
    );
    assert_eq!(counts.drops(), 1);
    assert!(
        start.elapsed() < tasklane::DEFAULT_GRACE,
        "did not wait out the grace"
    );
}
