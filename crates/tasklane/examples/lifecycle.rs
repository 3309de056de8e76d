//! The task lifecycle tour: the README's demo.
//!
//! Each step spawns tasks on a real two-worker runtime and prints the states
//! it observes through `JoinHandle::state()`, in the order asyncio's
//! documentation tells them: scheduled, running, suspended, and one of the
//! three ends (completed, panicked, cancelled).
//!
//! Run it with `cargo run --example lifecycle`.

use futures_channel::oneshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tasklane::task::{self, JoinHandle, TaskState};

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

    rt.block_on(async {
        println!("1. create -> scheduled -> running -> suspended -> completed");
        let (go_tx, go_rx) = oneshot::channel::<u32>();
        let (running_tx, running_rx) = oneshot::channel::<()>();
        let fetch = task::Builder::new().name("fetch-cpu").spawn(async move {
            let me = task::current().expect("inside a task");
            println!(
                "    [{}] running (id {}), now waiting for input",
                me.name(),
                me.id()
            );
            running_tx.send(()).ok();
            let load = go_rx.await.unwrap_or(0);
            format!("CPU usage: {load}%")
        });
        println!("    spawned {:<16} -> {}", fetch.name(), fetch.state());
        running_rx.await.expect("task started");
        observe(&fetch, |s| s == TaskState::Suspended).await;
        go_tx.send(55).expect("task waits");
        let mut fetch = fetch;
        let out = (&mut fetch).await.expect("completes");
        println!("    result: {out:?}; done() = {}", fetch.is_finished());
        observe(&fetch, |s| s.is_done()).await;

        println!("\n2. cancel while suspended: the future is dropped, destructors run once");
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
        observe(&download, |s| s.is_done()).await;
        println!("    destructor count: {}", cleanups.load(Ordering::SeqCst));

        println!("\n3. cancel before the first poll: the body never runs");
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
            other => println!("    unexpected: {other:?}"),
        }

        println!("\n4. a panic is caught and reaches the JoinHandle; the worker lives on");
        let flaky = task::Builder::new().name("flaky").spawn(async {
            if std::hint::black_box(true) {
                panic!("upstream returned 503");
            }
        });
        let mut flaky = flaky;
        let err = (&mut flaky).await.expect_err("panicked");
        observe(&flaky, |s| s.is_done()).await;
        println!("    await -> Err({err}); is_panic() = {}", err.is_panic());
        let alive = tasklane::spawn(async { "still serving" })
            .await
            .expect("worker alive");
        println!("    next task on the same runtime: {alive:?}");

        println!("\n5. dropping a JoinHandle cancels; detach() lets the task run on");
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
        println!(
            "    detached task says: {:?}",
            done_rx.await.expect("detached task ran")
        );

        println!("\n6. spawn_blocking: blocking work on the bounded pool, workers stay free");
        let sum = tasklane::spawn_blocking(|| (1..=1_000_000u64).sum::<u64>())
            .await
            .expect("blocking job");
        println!("    sum computed on the blocking pool: {sum}");
    });

    println!("\n7. graceful shutdown: live tasks are cancelled and counted");
    let (_tx, rx) = oneshot::channel::<()>();
    let straggler = rt.spawn(async move {
        rx.await.ok();
    });
    straggler.detach();
    let report = rt.shutdown(std::time::Duration::from_secs(1));
    println!("    shutdown report: {report}");
}
