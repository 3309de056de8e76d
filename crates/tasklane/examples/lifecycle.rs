//! The task lifecycle tour: the README's demo.
//!
//! Each step spawns tasks on a real two-worker runtime and prints what it
//! observes, in the order asyncio's documentation tells a task's life:
//! `create_task` -> scheduled -> running -> suspended -> one of the three
//! ends (completed, panicked, cancelled). Along the way it shows `done()`
//! (`is_finished`), names (`task::Builder::name`, and the default
//! `Task-{id}`), `task::current()` (asyncio's `current_task`), `on_done`
//! (asyncio's `add_done_callback`), `Handle::tasks()` (asyncio's
//! `all_tasks`), cancellation caught by a catch point that cleans up and
//! re-raises, cancellation without one (destructors run once), a cancel
//! before the first poll, a caught panic, dropping versus `detach`,
//! `spawn_blocking`, and the `ShutdownReport` of a graceful shutdown.
//!
//! Every step asserts what it prints, so a wrong observation fails the run.
//!
//! Run it with `cargo run --example lifecycle`.

use futures_channel::oneshot;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::Handle;
use tasklane::task::{self, JoinHandle, TaskId, TaskState};
use tasklane::time::sleep;

/// Yields until the task's state satisfies `want`, then prints it.
async fn observe<T>(h: &JoinHandle<T>, want: impl Fn(TaskState) -> bool) -> TaskState {
    loop {
        let s = h.state();
        if want(s) {
            println!("    observed {:<15} -> {s}", h.name());
            return s;
        }
        tasklane::yield_now().await;
    }
}

/// Counts how many times its owner's destructor ran (Rust's `finally`).
struct Cleanup(&'static str, Arc<AtomicUsize>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
        println!("    [{}] destructor ran: cleanup done", self.0);
    }
}

/// True if the runtime lists a live task with this id.
fn is_listed(id: TaskId) -> bool {
    Handle::current().tasks().iter().any(|t| t.id() == id)
}

fn main() {
    // One line per panic instead of the default report (and backtrace).
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let msg = info.payload_as_str().unwrap_or("(non-string payload)");
        println!(
            "    [panic hook] {} panicked: {msg}",
            thread.name().unwrap_or("?")
        );
    }));
    let rt = tasklane::Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    println!(
        "tasklane lifecycle tour on {} worker threads\n",
        rt.handle().num_workers()
    );

    let log = rt.block_on(async {
        println!("1. create_task -> scheduled -> running -> suspended -> completed");
        let (go_tx, go_rx) = oneshot::channel::<u32>();
        let (running_tx, running_rx) = oneshot::channel::<TaskState>();
        // Spawned from a task, the child waits in that worker's LIFO slot
        // until its parent's poll ends, so its first state is Scheduled.
        let parent = tasklane::spawn(async move {
            let fetch = task::Builder::new().name("fetch-cpu").spawn(async move {
                let me = task::current().expect("inside a task");
                // Seen from inside, through the runtime's task list.
                let own = Handle::current()
                    .tasks()
                    .into_iter()
                    .find(|t| t.id() == me.id())
                    .expect("a running task is listed");
                println!(
                    "    [{}] current_task(): id {}, listed as {}",
                    me.name(),
                    me.id(),
                    own.state()
                );
                running_tx.send(own.state()).ok();
                let load = go_rx.await.unwrap_or(0);
                format!("CPU usage: {load}%")
            });
            let at_spawn = fetch.state();
            println!("    spawned {:<16} -> {at_spawn}", fetch.name());
            let listed = is_listed(fetch.id());
            (fetch, at_spawn, listed)
        });
        let (mut fetch, at_spawn, listed) = parent.await.expect("parent completes");
        assert_eq!(at_spawn, TaskState::Scheduled);
        assert!(listed, "a task is in all_tasks() as soon as it is created");
        assert_eq!(fetch.name(), "fetch-cpu");
        let running = running_rx.await.expect("task started");
        assert_eq!(running, TaskState::Running);
        assert_eq!(
            observe(&fetch, |s| s == TaskState::Suspended).await,
            TaskState::Suspended
        );
        println!("    done() = {}", fetch.is_finished());
        assert!(!fetch.is_finished());

        let (cb_tx, cb_rx) = oneshot::channel::<(TaskId, String, TaskState)>();
        fetch.on_done(move |t| {
            println!(
                "    [on_done] task {} '{}' ended {}",
                t.id(),
                t.name(),
                t.state()
            );
            cb_tx
                .send((t.id(), t.name().to_owned(), t.state()))
                .ok();
        });
        go_tx.send(55).expect("task waits");
        let out = (&mut fetch).await.expect("completes");
        println!("    result: {out:?}; done() = {}", fetch.is_finished());
        assert_eq!(out, "CPU usage: 55%");
        assert!(fetch.is_finished());
        assert_eq!(
            observe(&fetch, |s| s.is_done()).await,
            TaskState::Completed
        );
        let (id, name, state) = cb_rx.await.expect("on_done ran");
        assert_eq!((id, name.as_str(), state), (fetch.id(), "fetch-cpu", TaskState::Completed));
        // The callback runs after the task left the runtime's bookkeeping.
        assert!(!is_listed(fetch.id()), "a done task is not in all_tasks()");

        println!("\n2. names and all_tasks(): Handle::current().tasks()");
        let unnamed = tasklane::spawn(async {});
        println!("    an unnamed task is called {:?}", unnamed.name());
        assert_eq!(unnamed.name(), format!("Task-{}", unnamed.id()));
        unnamed.await.expect("completes");
        // Nobody sends: the workers wait (on clones of one MPMC receiver).
        let (_hold_tx, hold_rx) = tasklane::sync::bounded::<()>(1);
        let workers: Vec<JoinHandle<()>> = (1..=3)
            .map(|i| {
                let rx = hold_rx.clone();
                task::Builder::new()
                    .name(format!("data-fetch-worker-0{i}"))
                    .spawn(async move {
                        rx.recv().await.ok();
                    })
            })
            .collect();
        for w in &workers {
            observe(w, |s| s == TaskState::Suspended).await;
        }
        let snapshot = Handle::current().tasks();
        println!("    all_tasks() lists {} live task(s):", snapshot.len());
        for t in &snapshot {
            println!("      {t}");
        }
        for w in &workers {
            let t = snapshot
                .iter()
                .find(|t| t.id() == w.id())
                .expect("every live worker is listed");
            assert_eq!(t.name(), w.name());
            assert_eq!(t.state(), TaskState::Suspended);
            assert!(t.polls() >= 1);
        }
        drop(workers); // dropping the handles cancels them

        println!("\n3. cancel: a catch point cleans up, then re-raises (except CancelledError: ...; raise)");
        let cleaned = Arc::new(AtomicBool::new(false));
        let c = cleaned.clone();
        let slow = task::Builder::new().name("slow-op").spawn(async move {
            match task::cancellable(sleep(Duration::from_secs(10))).await {
                Ok(()) => "done",
                Err(cancelled) => {
                    println!("    [slow-op] Cancelled! ({cancelled}); releasing the resource...");
                    sleep(Duration::from_millis(20)).await;
                    c.store(true, Ordering::SeqCst);
                    println!("    [slow-op] released; re-raising");
                    cancelled.reraise().await
                }
            }
        });
        observe(&slow, |s| s == TaskState::Suspended).await;
        println!("    main: cancel()");
        assert!(slow.cancel());
        let mut slow = slow;
        let err = (&mut slow).await.expect_err("re-raised");
        println!(
            "    await -> Err({err}); is_cancelled() = {}, cleanup finished = {}",
            err.is_cancelled(),
            cleaned.load(Ordering::SeqCst)
        );
        assert!(err.is_cancelled());
        assert!(cleaned.load(Ordering::SeqCst), "cleanup ran before the task ended");
        assert_eq!(slow.state(), TaskState::Cancelled);
        assert!(slow.is_cancelled());
        assert!(!slow.cancel(), "cancel() on a finished task is false");

        println!("\n4. cancel without a catch point: the future is dropped, destructors run once");
        let cleanups = Arc::new(AtomicUsize::new(0));
        let c = cleanups.clone();
        let (_never_tx, never_rx) = oneshot::channel::<()>();
        let download = task::Builder::new()
            .name("slow-download")
            .spawn(async move {
                let _cleanup = Cleanup("slow-download", c);
                never_rx.await.ok();
            });
        observe(&download, |s| s == TaskState::Suspended).await;
        println!("    cancel() -> {}", download.cancel());
        let mut download = download;
        let err = (&mut download).await.expect_err("cancelled");
        println!(
            "    await -> Err({err}); is_cancelled() = {}",
            download.is_cancelled()
        );
        assert!(err.is_cancelled());
        assert_eq!(
            observe(&download, |s| s.is_done()).await,
            TaskState::Cancelled
        );
        println!("    destructor count: {}", cleanups.load(Ordering::SeqCst));
        assert_eq!(cleanups.load(Ordering::SeqCst), 1);

        println!("\n5. cancel before the first poll: the body never runs");
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        // Spawned from a worker, the new task waits in that worker's LIFO
        // slot until its parent yields, so the cancel lands first.
        let parent = tasklane::spawn(async move {
            let early = task::Builder::new()
                .name("never-started")
                .spawn(async move {
                    r.fetch_add(1, Ordering::SeqCst);
                });
            println!("    spawned {:<16} -> {}", early.name(), early.state());
            println!("    cancel() -> {}", early.cancel());
            early.await
        });
        match parent.await.expect("parent completes") {
            Err(e) if e.is_cancelled() => {
                println!(
                    "    await -> Err({e}); body ran {} times",
                    ran.load(Ordering::SeqCst)
                )
            }
            other => panic!("unexpected: {other:?}"),
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0);

        println!("\n6. a panic is caught and reaches the JoinHandle; the worker lives on");
        let flaky = task::Builder::new().name("flaky").spawn(async {
            if std::hint::black_box(true) {
                panic!("upstream returned 503");
            }
        });
        let (cb_tx, cb_rx) = oneshot::channel::<TaskState>();
        flaky.on_done(move |t| {
            cb_tx.send(t.state()).ok();
        });
        let mut flaky = flaky;
        let err = (&mut flaky).await.expect_err("panicked");
        assert_eq!(
            observe(&flaky, |s| s.is_done()).await,
            TaskState::Panicked
        );
        println!("    await -> Err({err}); is_panic() = {}", err.is_panic());
        assert!(err.is_panic());
        assert_eq!(cb_rx.await.expect("on_done ran"), TaskState::Panicked);
        let alive = tasklane::spawn(async { "still serving" })
            .await
            .expect("worker alive");
        println!("    next task on the same runtime: {alive:?}");

        println!("\n7. dropping a JoinHandle cancels; detach() lets the task run on");
        let cleanups = Arc::new(AtomicUsize::new(0));
        let c = cleanups.clone();
        let (_keep_tx, keep_rx) = oneshot::channel::<()>();
        let dropped = task::Builder::new().name("owned").spawn(async move {
            let _cleanup = Cleanup("owned", c);
            keep_rx.await.ok();
        });
        observe(&dropped, |s| s == TaskState::Suspended).await;
        drop(dropped);
        while cleanups.load(Ordering::SeqCst) == 0 {
            tasklane::yield_now().await;
        }
        let (done_tx, done_rx) = oneshot::channel::<&'static str>();
        task::Builder::new()
            .name("background")
            .spawn(async move {
                tasklane::yield_now().await;
                done_tx.send("background job finished").ok();
            })
            .detach();
        let said = done_rx.await.expect("detached task ran");
        println!("    detached task says: {said:?}");
        assert_eq!(said, "background job finished");

        println!("\n8. spawn_blocking: blocking work on the bounded pool, workers stay free");
        let (sum, thread) = tasklane::spawn_blocking(|| {
            let name = std::thread::current().name().unwrap_or("?").to_owned();
            ((1..=1_000_000u64).sum::<u64>(), name)
        })
        .await
        .expect("blocking job");
        println!("    sum computed on thread {thread:?}: {sum}");
        assert_eq!(sum, 500_000_500_000);
        assert_eq!(thread, "tasklane-blocking");

        println!("\n9. graceful shutdown: live tasks are cancelled, cleaned up and counted");
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        // A plain task: dropped at its suspension point (cancelled).
        let plain = task::Builder::new().name("straggler").spawn(async {
            std::future::pending::<()>().await;
        });
        // Catches, cleans up, re-raises (cancelled).
        let l = log.clone();
        let flusher = task::Builder::new().name("flusher").spawn(async move {
            if let Err(c) = task::cancellable(std::future::pending::<()>()).await {
                sleep(Duration::from_millis(20)).await;
                l.lock().unwrap().push("flusher: buffers flushed".into());
                c.reraise::<()>().await;
            }
        });
        // Catches and swallows the cancellation, returning a value (completed).
        let l = log.clone();
        let finisher = task::Builder::new().name("finisher").spawn(async move {
            if task::cancellable(std::future::pending::<()>()).await.is_err() {
                sleep(Duration::from_millis(20)).await;
                l.lock().unwrap().push("finisher: finished its work anyway".into());
            }
        });
        // Catches, then its cleanup outlasts the grace (dropped).
        let stubborn = task::Builder::new().name("stubborn").spawn(async move {
            if task::cancellable(std::future::pending::<()>()).await.is_err() {
                sleep(Duration::from_secs(30)).await;
            }
        });
        for h in [&plain, &flusher, &finisher, &stubborn] {
            observe(h, |s| s == TaskState::Suspended).await;
        }
        // What the shutdown will find: these four. (Earlier sections'
        // tasks whose handles were dropped end on a worker, asynchronously:
        // give them a moment to leave the list.)
        let handle = Handle::current();
        let start = std::time::Instant::now();
        while handle.num_tasks() > 4 && start.elapsed() < Duration::from_secs(1) {
            tasklane::yield_now().await;
        }
        let mut live: Vec<String> = handle.tasks().iter().map(|t| t.name().to_owned()).collect();
        live.sort();
        println!("    live tasks: {live:?}");
        assert_eq!(live, ["finisher", "flusher", "straggler", "stubborn"]);
        for h in [plain, flusher, finisher, stubborn] {
            h.detach();
        }
        log
    });
    let report = rt.shutdown(Duration::from_millis(300));
    for line in log.lock().unwrap().iter() {
        println!("    {line}");
    }
    println!("    shutdown report: {report}");
    assert_eq!(report.completed(), 1, "finisher swallowed its cancellation");
    assert_eq!(report.cancelled(), 2, "straggler and flusher");
    assert_eq!(report.dropped(), 1);
    assert_eq!(report.dropped_names(), ["stubborn"]);
    assert_eq!(log.lock().unwrap().len(), 2, "both cleanups ran");
    println!("\nlifecycle tour: every observation matched");
}
