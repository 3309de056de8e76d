//! Graceful shutdown on Ctrl-C: the asyncio original's "Example 2: Graceful
//! Shutdown" (`loop.add_signal_handler(SIGINT, shutdown)`).
//!
//! Three workers loop, doing work every 100 ms. On SIGINT or SIGTERM
//! (`tasklane::signal::ctrl_c()`), main cancels them and awaits them all
//! (`gather` of their handles, asyncio's `return_exceptions=True`): each
//! worker's catch point receives the cancellation, it cleans up
//! asynchronously and re-raises. Then the runtime shuts down gracefully:
//! a background task that was still alive (a metrics flusher) is cancelled
//! by the shutdown itself, flushes, and the `ShutdownReport` says what
//! happened to it.
//!
//! Run it interactively and press Ctrl-C (or `kill -TERM <pid>` from another
//! shell):
//!
//! ```sh
//! cargo run --example graceful_shutdown
//! ```
//!
//! or unattended, sending SIGINT to itself after about 300 ms:
//!
//! ```sh
//! cargo run --example graceful_shutdown -- --self-signal
//! TASKLANE_SELF_SIGNAL=1 cargo run --example graceful_shutdown
//! ```

use futures_lite::future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::task::{self, JoinHandle};
use tasklane::time::sleep;

/// The asyncio original's `worker(name)`: works until cancelled, then shuts down
/// gracefully and re-raises.
async fn worker(name: String, stopped: Arc<AtomicUsize>) {
    let work = task::cancellable(async {
        loop {
            println!("Worker {name} doing work");
            sleep(Duration::from_millis(100)).await;
        }
    });
    // The loop never ends by itself: the only way out is a cancellation.
    let Err(cancelled) = work.await;
    println!("Worker {name} shutting down gracefully");
    sleep(Duration::from_millis(30)).await; // close files, commit, say goodbye
    stopped.fetch_add(1, Ordering::SeqCst);
    println!("Worker {name} cleanup done");
    cancelled.reraise().await
}

fn main() {
    let self_signal = std::env::args().any(|a| a == "--self-signal")
        || std::env::var_os("TASKLANE_SELF_SIGNAL").is_some_and(|v| v != "0");
    let rt = tasklane::Runtime::new().expect("runtime");
    let stopped = Arc::new(AtomicUsize::new(0));
    let flushed = Arc::new(AtomicUsize::new(0));

    let (s, f) = (stopped.clone(), flushed.clone());
    rt.block_on(async move {
        let workers: Vec<JoinHandle<()>> = (0..3)
            .map(|i| {
                let name = format!("worker-{i}");
                task::Builder::new()
                    .name(name.clone())
                    .spawn(worker(name, s.clone()))
            })
            .collect();
        // Left for the runtime's shutdown to cancel.
        task::Builder::new()
            .name("metrics-flusher")
            .spawn(async move {
                if let Err(c) = task::cancellable(std::future::pending::<()>()).await {
                    sleep(Duration::from_millis(20)).await;
                    f.fetch_add(1, Ordering::SeqCst);
                    println!("metrics-flusher: final metrics flushed");
                    c.reraise::<()>().await;
                }
            })
            .detach();

        // Install the handler (first poll) before anything can send the
        // signal: from here on SIGINT and SIGTERM no longer end the process.
        let mut ctrl_c = pin!(tasklane::signal::ctrl_c());
        assert!(future::poll_once(ctrl_c.as_mut()).await.is_none());
        let sender = self_signal.then(|| {
            tasklane::spawn(async {
                sleep(Duration::from_millis(300)).await;
                println!("(--self-signal: sending SIGINT to myself)");
                // SAFETY: kill(2) on our own pid with a valid signal number.
                let rc = unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
                assert_eq!(rc, 0, "kill failed");
            })
        });
        if sender.is_none() {
            println!(
                "press Ctrl-C (or kill -TERM {}) to shut down",
                std::process::id()
            );
        }

        ctrl_c.await.expect("signal handler");
        println!("Received SIGINT/SIGTERM, shutting down...");
        if let Some(sender) = sender {
            sender.await.expect("signal sent");
        }
        // Cancel all worker tasks, and wait for them to complete their cleanup.
        for w in &workers {
            assert!(w.cancel(), "the workers were still running");
        }
        let results = tasklane::gather(workers).await;
        for r in &results {
            assert!(r.as_ref().is_err_and(|e| e.is_cancelled()));
        }
        println!(
            "all {} workers cancelled and cleaned up",
            s.load(Ordering::SeqCst)
        );
        // What the shutdown will find (asyncio's all_tasks()): a task leaves
        // the list before its awaiter is woken, so only the flusher is left.
        let live = tasklane::Handle::current().tasks();
        for t in &live {
            println!("still live: {t}");
        }
        assert_eq!(live.len(), 1);
    });

    let report = rt.shutdown(Duration::from_secs(1));
    println!("shutdown report: {report}");
    assert_eq!(stopped.load(Ordering::SeqCst), 3);
    assert_eq!(flushed.load(Ordering::SeqCst), 1);
    assert_eq!(report.cancelled(), 1, "the metrics flusher");
    assert_eq!((report.completed(), report.dropped()), (0, 0));
}
