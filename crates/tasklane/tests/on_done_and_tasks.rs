//! `JoinHandle::on_done` (asyncio add_done_callback) and `Handle::tasks()`
//! (asyncio.all_tasks): a done callback runs exactly once with the task's
//! id, name and final state, at once if the task already finished, even
//! after the handle was detached or dropped, and with no runtime lock held;
//! `tasks()` lists exactly the live tasks with their name, state, spawn
//! location and poll count.

mod common;

use common::{rt, spin_until};
use futures_channel::oneshot;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;
use tasklane::task::{self, TaskId, TaskSnapshot, TaskState, cancellable};

/// What each callback call saw: (id, name, state).
type Calls = Arc<Mutex<Vec<(TaskId, String, TaskState)>>>;

fn record(calls: &Calls) -> impl FnOnce(&TaskSnapshot) + Send + 'static {
    let calls = calls.clone();
    move |s: &TaskSnapshot| {
        calls
            .lock()
            .unwrap()
            .push((s.id(), s.name().to_owned(), s.state()))
    }
}

fn calls_of(calls: &Calls) -> Vec<(TaskId, String, TaskState)> {
    calls.lock().unwrap().clone()
}

/// Once each for a task that completes, one that panics and one that is
/// cancelled (at a catch point, after cleanup), with the final state; and
/// never again, even after the handles and the runtime are gone.
#[test]
fn on_done_is_called_once_with_the_final_state() {
    let rt = rt(2);
    let calls: Calls = Arc::default();
    let spawn_gated = |name: &'static str, kind: u8| {
        let (tx, rx) = oneshot::channel::<()>();
        let h = task::Builder::new().name(name).spawn_on(
            async move {
                match cancellable(rx).await {
                    Ok(_) if kind == 1 => panic!("done boom"),
                    Ok(_) => 7,
                    Err(c) => {
                        tasklane::time::sleep(Duration::from_millis(1)).await;
                        c.reraise().await
                    }
                }
            },
            &rt.handle(),
        );
        (tx, h)
    };
    let (tx_ok, ok) = spawn_gated("completes", 0);
    let (tx_panic, panics) = spawn_gated("panics", 1);
    let (_tx_cancel, cancelled) = spawn_gated("is-cancelled", 0);
    // Two callbacks on one task: each once.
    ok.on_done(record(&calls));
    ok.on_done(record(&calls));
    panics.on_done(record(&calls));
    cancelled.on_done(record(&calls));
    assert!(calls_of(&calls).is_empty(), "not before the task is done");

    tx_ok.send(()).unwrap();
    tx_panic.send(()).unwrap();
    spin_until("suspended", || cancelled.state() == TaskState::Suspended);
    assert!(cancelled.cancel());
    let ids = (ok.id(), panics.id(), cancelled.id());
    assert_eq!(rt.block_on(ok).unwrap(), 7);
    assert!(rt.block_on(panics).unwrap_err().is_panic());
    assert!(rt.block_on(cancelled).unwrap_err().is_cancelled());
    spin_until("four calls", || calls_of(&calls).len() >= 4);
    drop(rt);

    let mut got = calls_of(&calls);
    got.sort_by_key(|c| c.1.clone());
    assert_eq!(
        got,
        [
            (ids.0, "completes".to_owned(), TaskState::Completed),
            (ids.0, "completes".to_owned(), TaskState::Completed),
            (ids.2, "is-cancelled".to_owned(), TaskState::Cancelled),
            (ids.1, "panics".to_owned(), TaskState::Panicked),
        ]
    );
}

/// A callback registered after the task finished runs at once, on the
/// calling thread, before `on_done` returns.
#[test]
fn on_done_after_the_task_finished_runs_at_once() {
    let rt = rt(2);
    let calls: Calls = Arc::default();
    let mut h = task::Builder::new()
        .name("already-done")
        .spawn_on(async { 1 }, &rt.handle());
    assert_eq!(rt.block_on(&mut h).unwrap(), 1);
    let here = thread::current().id();
    let on = Arc::new(Mutex::new(None));
    h.on_done({
        let on = on.clone();
        move |_| *on.lock().unwrap() = Some(thread::current().id())
    });
    h.on_done(record(&calls));
    assert_eq!(*on.lock().unwrap(), Some(here), "ran here, already");
    assert_eq!(
        calls_of(&calls),
        [(h.id(), "already-done".to_owned(), TaskState::Completed)]
    );
}

/// The callback outlives the handle: it runs when a detached task ends,
/// and when a task ends because its handle was dropped (cancelled).
#[test]
fn on_done_survives_the_handle() {
    let rt = rt(2);
    let calls: Calls = Arc::default();

    let (tx, rx) = oneshot::channel::<()>();
    let detached = rt.spawn(async move { rx.await.unwrap() });
    let detached_id = detached.id();
    detached.on_done(record(&calls));
    detached.detach();
    tx.send(()).unwrap();
    spin_until("the detached task's callback", || {
        !calls_of(&calls).is_empty()
    });
    assert_eq!(calls_of(&calls)[0].0, detached_id);
    assert_eq!(calls_of(&calls)[0].2, TaskState::Completed);

    let dropped = rt.spawn(std::future::pending::<()>());
    let dropped_id = dropped.id();
    dropped.on_done(record(&calls));
    drop(dropped);
    spin_until("the dropped task's callback", || {
        calls_of(&calls).len() == 2
    });
    assert_eq!(calls_of(&calls)[1].0, dropped_id);
    assert_eq!(calls_of(&calls)[1].2, TaskState::Cancelled);
}

/// A callback runs with no lock of the runtime held, after the task has
/// left the runtime's bookkeeping: it may list the tasks (and does not see
/// its own), and spawn.
#[test]
fn on_done_may_use_the_runtime() {
    let rt = rt(2);
    let handle = rt.handle();
    let (tx, rx) = mpsc::channel();
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    // Registered before the task ends, so that it runs on the finishing
    // worker (not at once, here).
    let h = rt.spawn(async move {
        gate_rx.await.unwrap();
        5
    });
    let id = h.id();
    h.on_done(move |s| {
        let listed = handle.tasks().iter().any(|t| t.id() == s.id());
        let spawned = handle.spawn(async { 6 });
        tx.send((listed, spawned)).unwrap();
    });
    gate_tx.send(()).unwrap();
    let (listed, spawned) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(!listed, "task {id} was still listed in its own callback");
    assert_eq!(rt.block_on(spawned).unwrap(), 6);
    assert_eq!(rt.block_on(h).unwrap(), 5);
}

/// `tasks()` lists exactly the live tasks: five named tasks waiting on
/// their gates, Suspended, spawned in this file, polled at least once.
/// Once they finish they are gone.
#[test]
fn tasks_lists_exactly_the_live_tasks() {
    let rt = rt(2);
    let handle = rt.handle();
    assert!(handle.tasks().is_empty());
    let first_line = line!();
    let (gates, hs): (Vec<_>, Vec<_>) = (0..5)
        .map(|i| {
            let (tx, rx) = oneshot::channel::<()>();
            let h = task::Builder::new()
                .name(format!("waiter-{i}"))
                .spawn_on(async move { rx.await.unwrap() }, &handle);
            (tx, h)
        })
        .unzip();
    let last_line = line!();
    spin_until("all suspended", || {
        hs.iter().all(|h| h.state() == TaskState::Suspended)
    });

    let tasks = handle.tasks();
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    assert_eq!(handle.num_tasks(), 5);
    let names: BTreeSet<String> = tasks.iter().map(|t| t.name().to_owned()).collect();
    let expected: BTreeSet<String> = (0..5).map(|i| format!("waiter-{i}")).collect();
    assert_eq!(names, expected);
    let listed: BTreeSet<TaskId> = tasks.iter().map(TaskSnapshot::id).collect();
    let spawned: BTreeSet<TaskId> = hs.iter().map(|h| h.id()).collect();
    assert_eq!(listed, spawned);
    for t in &tasks {
        assert_eq!(t.state(), TaskState::Suspended, "{t}");
        assert!(t.polls() >= 1, "{t}");
        let loc = t.location();
        assert!(loc.file().ends_with("on_done_and_tasks.rs"), "{t}");
        assert!((first_line..=last_line).contains(&loc.line()), "{t}");
        // The display form, as asyncio's repr.
        let shown = t.to_string();
        assert!(
            shown.contains(t.name()) && shown.contains("suspended"),
            "{shown}"
        );
    }

    for g in gates {
        g.send(()).unwrap();
    }
    for h in hs {
        rt.block_on(h).unwrap();
    }
    spin_until("no task left", || handle.tasks().is_empty());
    assert_eq!(handle.num_tasks(), 0);
}

/// The poll count goes up by one per `yield_now`, and the running time
/// counts time spent inside polls.
#[test]
fn polls_count_goes_up_with_yields() {
    let rt = tasklane::Runtime::builder()
        .worker_threads(2)
        .poll_timing(true)
        .build()
        .unwrap();
    let (tx1, rx1) = oneshot::channel::<()>();
    let (tx2, rx2) = oneshot::channel::<()>();
    let h = rt.spawn(async move {
        for _ in 0..10 {
            tasklane::yield_now().await;
        }
        rx1.await.unwrap();
        for _ in 0..25 {
            tasklane::yield_now().await;
        }
        // Busy inside one poll for a while.
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        rx2.await.unwrap();
    });
    // The first poll, ten more after the yields: suspended on the gate.
    spin_until("at the first gate", || h.state() == TaskState::Suspended);
    let first = h.snapshot().polls();
    assert_eq!(first, 11, "{:?}", h.snapshot());
    tx1.send(()).unwrap();
    spin_until("at the second gate", || {
        h.state() == TaskState::Suspended && h.snapshot().polls() > first
    });
    let second = h.snapshot();
    assert_eq!(second.polls(), first + 26, "{second:?}");
    assert!(
        second.running_time().unwrap() >= Duration::from_millis(20),
        "{second:?}"
    );
    // Listed with the same count.
    let listed = rt.handle().tasks();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].polls(), second.polls());
    tx2.send(()).unwrap();
    rt.block_on(h).unwrap();
}

/// Many tasks, one callback each: every callback runs exactly once.
#[test]
fn on_done_once_per_task_under_load() {
    let rt = rt(2);
    const N: usize = 2000;
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let h = rt.spawn(async move {
                if i % 3 == 0 {
                    tasklane::yield_now().await;
                }
                i
            });
            let counts = counts.clone();
            h.on_done(move |_| {
                counts[i].fetch_add(1, Ordering::SeqCst);
            });
            h
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        if i % 5 == 0 {
            h.cancel();
        }
        if i % 7 == 0 {
            h.detach();
        } else {
            let _ = rt.block_on(h);
        }
    }
    spin_until("every callback", || {
        counts.iter().all(|c| c.load(Ordering::SeqCst) >= 1)
    });
    drop(rt);
    for (i, c) in counts.iter().enumerate() {
        assert_eq!(c.load(Ordering::SeqCst), 1, "task {i}");
    }
}

/// Running time is measured coarsely by default (the slow-poll watch's
/// clock), and not at all with the watch off and poll timing off.
#[test]
fn running_time_is_coarse_by_default_and_absent_with_the_watch_off() {
    let rt = rt(1);
    let h = rt.spawn(async {
        // One poll of 30 ms: the coarse clock (a few ms per tick) sees it.
        std::thread::sleep(Duration::from_millis(30));
        tasklane::yield_now().await
    });
    let snap = rt.block_on(async {
        while h.snapshot().polls() < 1 || h.snapshot().state() == TaskState::Running {
            tasklane::yield_now().await;
        }
        let s = h.snapshot();
        h.await.unwrap();
        s
    });
    let running = snap.running_time().expect("measured by default");
    assert!(
        running >= Duration::from_millis(20) && running < Duration::from_secs(5),
        "{running:?}"
    );
    assert!(snap.to_string().contains(" running="), "{snap}");

    let rt = tasklane::Builder::new()
        .worker_threads(1)
        .slow_poll_threshold(Duration::MAX)
        .build()
        .unwrap();
    let h = rt.spawn(async { tasklane::yield_now().await });
    let snap = rt.block_on(async {
        let s = h.snapshot();
        h.await.unwrap();
        s
    });
    assert_eq!(snap.running_time(), None);
    assert!(!snap.to_string().contains("running="), "{snap}");
}
