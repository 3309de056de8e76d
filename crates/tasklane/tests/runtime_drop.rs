//! Dropping (or shutting down) a runtime cancels every live task: each
//! future is dropped exactly once, none is polled once shutdown has begun
//! unless something woke it, tasks spawned during shutdown never run, and
//! `Runtime::shutdown` reports what happened.

mod common;

use common::{Counts, DropCounter, PendingWatch, Tracked, poll_once, rt, spin_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;
use tasklane::task::{JoinHandle, TaskState};

/// Shutdown has begun: a never-woken future polled after this is a bug.
struct Watch {
    flag: Arc<AtomicBool>,
    polled_late: Arc<AtomicUsize>,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            flag: Arc::new(AtomicBool::new(false)),
            polled_late: Arc::new(AtomicUsize::new(0)),
        }
    }
    fn future(&self) -> PendingWatch {
        PendingWatch {
            watch: self.flag.clone(),
            polled_while_set: self.polled_late.clone(),
        }
    }
    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }
    fn polled_late(&self) -> usize {
        self.polled_late.load(Ordering::SeqCst)
    }
}

fn assert_cancelled<T: std::fmt::Debug>(h: &mut JoinHandle<T>) {
    assert_eq!(h.state(), TaskState::Cancelled);
    match poll_once(h) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e}"),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

#[test]
fn drop_drops_every_future_exactly_once() {
    const EACH: usize = 20;
    let rt = rt(2);
    let watch = Watch::new();
    let (suspended, detached, finished, outputs, yielders, spawned) = (
        Counts::new(),
        Counts::new(),
        Counts::new(),
        Counts::new(),
        Counts::new(),
        Counts::new(),
    );

    // Suspended forever, handles kept.
    let mut kept: Vec<_> = (0..EACH)
        .map(|_| rt.spawn(Tracked::new(&suspended, watch.future())))
        .collect();
    // Suspended forever, detached.
    for _ in 0..EACH {
        let h = rt.spawn(Tracked::new(&detached, watch.future()));
        spin_until("detached task suspended", || {
            h.state() == TaskState::Suspended
        });
        h.detach();
    }
    // Completed, never joined: the output waits in the task for its handle.
    let done: Vec<_> = (0..EACH)
        .map(|_| {
            let o = outputs.clone();
            rt.spawn(Tracked::new(&finished, async move { DropCounter::new(&o) }))
        })
        .collect();
    // Always ready to run: yield forever, so they are queued or running.
    for _ in 0..4 {
        rt.spawn(Tracked::new(&yielders, async {
            loop {
                tasklane::yield_now().await;
            }
        }))
        .detach();
    }
    // Keeps spawning until shutdown stops it; late spawns are refused.
    let s = spawned.clone();
    rt.spawn(async move {
        loop {
            tasklane::spawn(Tracked::new(&s, std::future::pending::<()>())).detach();
            tasklane::yield_now().await;
        }
    })
    .detach();

    for h in &kept {
        spin_until("task suspended", || h.state() == TaskState::Suspended);
    }
    for h in &done {
        spin_until("task finished", || h.is_finished());
    }
    spin_until("yielders polled", || yielders.polls() >= 4);
    spin_until("spawner running", || spawned.created() >= 10);

    watch.set();
    drop(rt);

    assert_eq!(suspended.drops(), EACH);
    assert_eq!(suspended.polls(), EACH, "each polled once, before shutdown");
    assert_eq!(detached.drops(), EACH);
    assert_eq!(
        watch.polled_late(),
        0,
        "no never-woken future polled in shutdown"
    );
    assert_eq!(yielders.drops(), 4);
    assert_eq!(finished.drops(), EACH);
    assert_eq!(
        spawned.drops(),
        spawned.created(),
        "late spawns dropped too"
    );
    for h in &mut kept {
        assert_cancelled(h);
    }

    // Outputs of completed tasks belong to their handles, and go with them.
    assert_eq!(outputs.created(), EACH);
    assert_eq!(outputs.drops(), 0);
    for h in &done {
        assert_eq!(h.state(), TaskState::Completed);
    }
    drop(done);
    assert_eq!(outputs.drops(), EACH);
}

/// Tasks queued behind a busy worker when the runtime drops. The worker is
/// released just before the drop, so most are cancelled before their first
/// poll; whatever the interleaving, each future is dropped exactly once.
#[test]
fn drop_with_queued_tasks() {
    let rt = rt(1);
    let (gate, blocker) = common::occupy_worker(&rt);
    let queued = Counts::new();
    let handles: Vec<_> = (0..200)
        .map(|_| rt.spawn(Tracked::new(&queued, std::future::pending::<()>())))
        .collect();
    blocker.detach();
    gate.open();
    drop(rt);
    assert_eq!(queued.drops(), 200);
    assert!(queued.polls() <= 200);
    for mut h in handles {
        assert_cancelled(&mut h);
    }
}

/// Destructors that run once shutdown has closed the runtime (the futures
/// of tasks that outlived the grace, dropped by the abort) may spawn: the
/// runtime refuses the new task (cancelled before its first poll) instead
/// of leaking it. (Spawns during the grace are admitted, for cleanup; the
/// tasks here swallow every cancellation, so their futures are dropped only
/// after it.)
#[test]
fn spawns_from_destructors_after_close_never_run() {
    struct SpawnOnDrop {
        late: Arc<Counts>,
        ran: Arc<AtomicBool>,
        ran_blocking: Arc<AtomicBool>,
        refused: Arc<AtomicUsize>,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            // Dropped on a worker, or on the thread that shuts down (which
            // runs no runtime: nothing to spawn on there).
            let Some(rt) = tasklane::Handle::try_current() else {
                self.refused.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let ran = self.ran.clone();
            let h = rt.spawn(Tracked::new(&self.late, async move {
                ran.store(true, Ordering::SeqCst);
            }));
            if h.is_cancelled() {
                self.refused.fetch_add(1, Ordering::SeqCst);
            }
            h.detach();
            let ran = self.ran_blocking.clone();
            rt.spawn_blocking(move || ran.store(true, Ordering::SeqCst))
                .detach();
        }
    }
    let rt = rt(2);
    let late = Counts::new();
    let (ran, ran_blocking) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let refused = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let guard = SpawnOnDrop {
                late: late.clone(),
                ran: ran.clone(),
                ran_blocking: ran_blocking.clone(),
                refused: refused.clone(),
            };
            rt.spawn(async move {
                let _g = guard;
                // Swallows every cancellation: only the abort ends it.
                loop {
                    let _ = tasklane::task::cancellable(std::future::pending::<()>()).await;
                }
            })
        })
        .collect();
    for h in &handles {
        spin_until("task suspended", || h.state() == TaskState::Suspended);
    }
    let report = rt.shutdown(Duration::from_millis(50));
    assert_eq!(report.dropped(), 10);
    assert_eq!(
        refused.load(Ordering::SeqCst),
        10,
        "refused at once: the runtime is closed"
    );
    assert_eq!(late.created(), late.drops());
    assert_eq!(late.polls(), 0);
    assert!(!ran.load(Ordering::SeqCst));
    assert!(!ran_blocking.load(Ordering::SeqCst));
}

#[test]
fn shutdown_reports_the_cancelled_tasks() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("cleanup failed");
        }
    }
    let rt = rt(2);
    let futs = Counts::new();
    let mut kept: Vec<_> = (0..10)
        .map(|i| {
            tasklane::task::Builder::new()
                .name(format!("waiter-{i}"))
                .spawn_on(
                    Tracked::new(&futs, std::future::pending::<()>()),
                    &rt.handle(),
                )
        })
        .collect();
    for _ in 0..3 {
        let h = rt.spawn(Tracked::new(&futs, std::future::pending::<()>()));
        spin_until("task suspended", || h.state() == TaskState::Suspended);
        h.detach();
    }
    let mut panicky = rt.spawn(async {
        let _g = PanicOnDrop;
        std::future::pending::<()>().await;
    });
    // Finished before shutdown: not live, not reported.
    let finished: Vec<_> = (0..2).map(|i| rt.spawn(async move { i })).collect();
    for h in &kept {
        spin_until("task suspended", || h.state() == TaskState::Suspended);
    }
    spin_until("task suspended", || panicky.state() == TaskState::Suspended);
    for h in &finished {
        spin_until("task finished", || h.is_finished());
    }

    let report = rt.shutdown(Duration::from_secs(30));
    assert_eq!(report.cancelled(), 13, "{report}");
    assert_eq!(report.panicked(), 1, "{report}");
    assert_eq!(report.completed(), 0, "{report}");
    assert_eq!(report.dropped(), 0, "{report}");
    assert!(report.dropped_names().is_empty());
    assert_eq!(
        report.to_string(),
        "0 completed, 13 cancelled, 1 panicked, 0 dropped"
    );
    assert_eq!(futs.drops(), 13);
    for h in &mut kept {
        assert_cancelled(h);
    }
    assert_eq!(panicky.state(), TaskState::Panicked);
    assert!(matches!(poll_once(&mut panicky), Poll::Ready(Err(e)) if e.is_panic()));
    for (i, mut h) in finished.into_iter().enumerate() {
        assert!(matches!(poll_once(&mut h), Poll::Ready(Ok(v)) if v == i));
    }
}

/// An empty runtime reports nothing.
#[test]
fn shutdown_of_an_idle_runtime() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {})).unwrap();
    let report = rt.shutdown(Duration::from_secs(30));
    assert_eq!(report, tasklane::ShutdownReport::default());
}

/// `tasklane::run` shuts down too: tasks left behind are cancelled and
/// dropped before it returns.
#[test]
fn run_cancels_what_is_left() {
    let futs = Counts::new();
    let f = futs.clone();
    let v = tasklane::run(async move {
        for _ in 0..50 {
            tasklane::spawn(Tracked::new(&f, std::future::pending::<()>())).detach();
        }
        "returned"
    });
    assert_eq!(v, "returned");
    assert_eq!(futs.created(), 50);
    assert_eq!(futs.drops(), 50);
}

/// A blocking job still running when the grace runs out is reported as
/// dropped, by name, and shutdown returns without waiting for it.
#[test]
fn shutdown_reports_a_job_that_outlives_the_grace() {
    let rt = rt(1);
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (finished_tx, finished_rx) = std::sync::mpsc::channel::<()>();
    let job = {
        let _enter = rt.enter();
        tasklane::task::Builder::new()
            .name("stuck-job")
            .spawn_blocking(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                finished_tx.send(()).unwrap();
            })
    };
    job.detach();
    started_rx.recv().unwrap();
    let report = rt.shutdown(Duration::from_millis(50));
    assert_eq!(report.dropped(), 1, "{report}");
    assert_eq!(report.dropped_names(), ["stuck-job".to_owned()]);
    assert_eq!(report.cancelled(), 0);
    // The job was left to finish on its own thread.
    release_tx.send(()).unwrap();
    finished_rx.recv().unwrap();
}
