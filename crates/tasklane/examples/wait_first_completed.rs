//! `wait` with `FirstCompleted`, then cleaning up the rest: asyncio's
//! `done, pending = await asyncio.wait(tasks, return_when=FIRST_COMPLETED)`.
//!
//! Mirrors the asyncio original's redundant data sources (seconds scaled down to
//! tens and hundreds of milliseconds):
//!
//! 1. `query_source` on a fast mirror, a slow main DB and a geographic
//!    replica: take the first result, cancel the pending queries, and await
//!    them (a `gather` of their `JoinHandle`s, asyncio's
//!    `gather(*pending, return_exceptions=True)`), so each one's cleanup has
//!    finished before "Cleanup complete." is printed;
//! 2. `wait` with a timeout (the asyncio original's `timeout=1.5` over sleeps of 1, 2
//!    and 3, then `AllCompleted` that the timeout cuts short): it returns
//!    with what is done; `wait` never cancels anything, so the rest is
//!    cancelled by hand (or by dropping the handles);
//! 3. `FirstException`: returns as soon as one task fails.
//!
//! Run it with `cargo run --example wait_first_completed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::ReturnWhen;
use tasklane::task::{self, JoinHandle};
use tasklane::time::{Instant, sleep};

/// The asyncio original's `query_source(name, delay)`; a cancelled query closes its
/// connection before re-raising.
async fn query_source(name: &'static str, delay_ms: u64, closed: Arc<AtomicUsize>) -> String {
    match task::cancellable(sleep(Duration::from_millis(delay_ms))).await {
        Ok(()) => format!("Result from {name}"),
        Err(cancelled) => {
            println!("    [{name}] cancelled: closing the connection...");
            sleep(Duration::from_millis(20)).await;
            closed.fetch_add(1, Ordering::SeqCst);
            println!("    [{name}] connection closed");
            cancelled.reraise().await
        }
    }
}

#[tasklane::main]
async fn main() {
    println!("1. first of three mirrors, then cancel and await the others");
    let closed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<JoinHandle<String>> = [
        ("Fast Mirror", 50),
        ("Slow Main DB", 200),
        ("Geographic Replica", 80),
    ]
    .into_iter()
    .map(|(name, ms)| {
        task::Builder::new()
            .name(name)
            .spawn(query_source(name, ms, closed.clone()))
    })
    .collect();
    let (mut done, pending) = tasklane::wait(tasks, ReturnWhen::FirstCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (1, 2));
    let first = done.pop().expect("one is done");
    assert_eq!(first.name(), "Fast Mirror");
    let first_result = first.await.expect("the fast mirror answered");
    println!(
        "    Got first result: {first_result} (after {:?})",
        start.elapsed()
    );
    assert_eq!(first_result, "Result from Fast Mirror");

    println!("    Cancelling {} pending tasks...", pending.len());
    let names: Vec<String> = pending.iter().map(|t| t.name().to_owned()).collect();
    for t in &pending {
        assert!(t.cancel());
    }
    // Await the cancelled tasks so that they finish their cleanup.
    let results = tasklane::gather(pending).await;
    for (name, r) in names.iter().zip(&results) {
        println!(
            "    {name}: {}",
            r.as_ref().map_or_else(|e| e.to_string(), String::clone)
        );
        assert!(r.as_ref().is_err_and(|e| e.is_cancelled()));
    }
    assert_eq!(closed.load(Ordering::SeqCst), 2, "both cleanups finished");
    println!("    Cleanup complete. (after {:?})", start.elapsed());
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "the slow DB was not waited for"
    );

    println!("\n2. wait(timeout = 150ms) over sleeps of 100, 200 and 300ms");
    let start = Instant::now();
    let tasks: Vec<JoinHandle<()>> = [100, 200, 300]
        .into_iter()
        .map(|ms| tasklane::spawn(sleep(Duration::from_millis(ms))))
        .collect();
    let (done, pending) = tasklane::wait(
        tasks,
        ReturnWhen::FirstCompleted,
        Some(Duration::from_millis(150)),
    )
    .await;
    println!(
        "    Completed tasks: {}, pending tasks: {} (after {:?})",
        done.len(),
        pending.len(),
        start.elapsed()
    );
    assert_eq!((done.len(), pending.len()), (1, 2));
    for t in &pending {
        assert!(!t.is_finished(), "wait never cancels");
        t.cancel();
    }
    for t in pending {
        assert!(t.await.expect_err("cancelled").is_cancelled());
    }
    let start = Instant::now();
    let (done, pending) = tasklane::wait(
        vec![
            tasklane::spawn(sleep(Duration::from_millis(20))),
            tasklane::spawn(sleep(Duration::from_secs(10))),
        ],
        ReturnWhen::AllCompleted,
        Some(Duration::from_millis(100)),
    )
    .await;
    println!(
        "    AllCompleted, timeout 100ms, over 20ms and 10s: {} done, {} pending (after {:?})",
        done.len(),
        pending.len(),
        start.elapsed()
    );
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert!(start.elapsed() < Duration::from_secs(10));
    drop(pending); // dropping the handles cancels the tasks

    println!("\n3. FirstException: return as soon as one fails");
    let start = Instant::now();
    let tasks: Vec<JoinHandle<Result<&'static str, String>>> = vec![
        tasklane::spawn(async {
            sleep(Duration::from_millis(300)).await;
            Ok("slow ok")
        }),
        tasklane::spawn(async {
            sleep(Duration::from_millis(50)).await;
            Err("upstream returned 503".to_owned())
        }),
    ];
    let (done, pending) = tasklane::wait(tasks, ReturnWhen::FirstException, None).await;
    println!(
        "    after {:?}: {} done, {} pending",
        start.elapsed(),
        done.len(),
        pending.len()
    );
    assert_eq!((done.len(), pending.len()), (1, 1));
    let failed = done.into_iter().next().expect("one done");
    let failure = failed.await.expect("returned, not panicked");
    println!("    first failure: {failure:?}");
    assert_eq!(failure, Err("upstream returned 503".to_owned()));
    assert!(start.elapsed() < Duration::from_millis(300));
    println!("\nwait_first_completed: first result taken, every other query cleaned up");
}
