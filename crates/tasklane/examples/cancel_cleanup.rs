//! Cancellation with cleanup: asyncio's
//! `try: await ... except CancelledError: cleanup; raise`.
//!
//! A cancellation is delivered at the task's next suspension point. A catch
//! point, `tasklane::task::cancellable(fut).await`, receives it as
//! `Err(Cancelled)` (after dropping `fut`); the code around it can then
//! clean up with awaits and either re-raise (`cancelled.reraise().await`,
//! asyncio's bare `raise`: the task ends `Cancelled`) or swallow it by
//! returning a value (the task ends `Completed`). Mirrors the asyncio originals'
//! examples, with seconds scaled down to tens of milliseconds:
//!
//! 1. `slow_op`: catches, prints "Cancelled!", releases its resource
//!    asynchronously, re-raises; main sees `JoinError::is_cancelled()`;
//! 2. `long_task`: a `while True` loop that, once cancelled, cleans up and
//!    returns (swallowing): main gets its value, the task is `Completed`;
//! 3. `resource_intensive_task`: `except CancelledError` plus `finally`
//!    (a destructor), which runs after the except block;
//! 4. cleanup that is itself cancelled again: delivery is edge-triggered,
//!    one request per delivery, so a second `cancel()` reaches a catch
//!    point inside the cleanup;
//! 5. the "common mistake": code with no await cannot be interrupted; the
//!    cancellation lands at the next suspension point.
//!
//! Run it with `cargo run --example cancel_cleanup`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::task::{self, TaskState};
use tasklane::time::sleep;

type Log = Arc<Mutex<Vec<&'static str>>>;

fn note(log: &Log, line: &'static str) {
    println!("    {line}");
    log.lock().unwrap().push(line);
}

/// The asyncio original's `slow_op`: catches the cancellation, cleans up, re-raises.
async fn slow_op(log: Log) -> &'static str {
    match task::cancellable(sleep(Duration::from_secs(10))).await {
        Ok(()) => "done",
        Err(cancelled) => {
            note(&log, "slow_op: Cancelled!");
            sleep(Duration::from_millis(30)).await; // release a connection, say
            note(&log, "slow_op: connection released");
            cancelled.reraise().await
        }
    }
}

/// The asyncio original's `long_task`: loops until cancelled, cleans up, and returns
/// (it does not re-raise: the cancellation is swallowed).
async fn long_task(log: Log, iterations: Arc<AtomicUsize>) -> &'static str {
    let work = task::cancellable(async {
        loop {
            println!("    Running...");
            iterations.fetch_add(1, Ordering::SeqCst);
            sleep(Duration::from_millis(100)).await;
        }
    });
    // The loop never ends by itself: the only way out is a cancellation.
    let Err(_cancelled) = work.await;
    note(&log, "long_task: Task got cancelled, cleaning up...");
    sleep(Duration::from_millis(100)).await;
    note(&log, "long_task: Cleanup done.");
    "cleaned up"
}

/// Rust's `finally`: a destructor.
struct Finally(Log);
impl Drop for Finally {
    fn drop(&mut self) {
        note(&self.0, "finally: releasing resource (this always runs)");
    }
}

/// The asyncio original's `resource_intensive_task`: `except` then `finally`.
async fn resource_intensive_task(log: Log) {
    note(&log, "Acquiring resource (e.g., opening a connection)...");
    let _finally = Finally(log.clone());
    let steps = task::cancellable(async {
        for i in 1..=10 {
            println!("    Working... step {i}");
            sleep(Duration::from_millis(100)).await;
        }
    });
    if let Err(cancelled) = steps.await {
        note(&log, "except: Task was cancelled! Cleaning up...");
        cancelled.reraise::<()>().await;
    }
}

#[tasklane::main]
async fn main() {
    println!("1. slow_op: catch, clean up, re-raise");
    let log = Log::default();
    let task = tasklane::spawn(slow_op(log.clone()));
    sleep(Duration::from_millis(50)).await;
    assert!(task.cancel());
    let mut task = task;
    match (&mut task).await {
        Err(e) if e.is_cancelled() => println!("    main: Caught cancellation ({e})"),
        other => panic!("expected a cancellation, got {other:?}"),
    }
    assert_eq!(
        *log.lock().unwrap(),
        ["slow_op: Cancelled!", "slow_op: connection released"],
        "the cleanup finished before main saw the cancellation"
    );
    assert_eq!(task.state(), TaskState::Cancelled);
    assert!(task.is_cancelled());

    println!("\n2. long_task: catch, clean up, swallow (return a value)");
    let log = Log::default();
    let iterations = Arc::new(AtomicUsize::new(0));
    let task = tasklane::spawn(long_task(log.clone(), iterations.clone()));
    sleep(Duration::from_millis(250)).await;
    assert!(task.cancel());
    let mut task = task;
    let value = (&mut task)
        .await
        .expect("a swallowed cancellation is a value");
    println!("    main: await task -> {value:?}; state {}", task.state());
    assert_eq!(value, "cleaned up");
    assert_eq!(task.state(), TaskState::Completed);
    assert!(!task.is_cancelled());
    assert!(
        iterations.load(Ordering::SeqCst) >= 1,
        "the loop ran until cancelled"
    );
    assert_eq!(log.lock().unwrap().len(), 2);

    println!("\n3. resource_intensive_task: except, then finally");
    let log = Log::default();
    let task = tasklane::spawn(resource_intensive_task(log.clone()));
    sleep(Duration::from_millis(250)).await;
    println!("    Main decides to cancel the task.");
    assert!(task.cancel());
    let err = task.await.expect_err("re-raised");
    assert!(err.is_cancelled());
    println!("    Main has confirmed the task was cancelled.");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "Acquiring resource (e.g., opening a connection)...",
            "except: Task was cancelled! Cleaning up...",
            "finally: releasing resource (this always runs)",
        ]
    );

    println!("\n4. a second cancel() during the cleanup reaches the cleanup's catch point");
    let log = Log::default();
    let l = log.clone();
    let (in_cleanup_tx, in_cleanup_rx) = tasklane::sync::oneshot::channel::<()>();
    let task = tasklane::spawn(async move {
        let Err(first) = task::cancellable(std::future::pending::<Infallible>()).await;
        note(&l, "first cancellation: releasing (slowly)...");
        in_cleanup_tx.send(()).ok();
        let release = task::cancellable(sleep(Duration::from_secs(10))).await;
        if release.is_err() {
            note(
                &l,
                "second cancellation during the release: releasing quickly",
            );
            sleep(Duration::from_millis(10)).await;
        }
        first.reraise::<()>().await
    });
    sleep(Duration::from_millis(20)).await;
    assert!(task.cancel());
    in_cleanup_rx.await.expect("the cleanup started");
    sleep(Duration::from_millis(20)).await;
    assert!(task.cancel(), "still running: a new request");
    let err = task.await.expect_err("re-raised");
    assert!(err.is_cancelled());
    assert_eq!(log.lock().unwrap().len(), 2, "each request delivered once");

    println!("\n5. no await, no cancellation: it lands at the next suspension point");
    let reached_await = Arc::new(AtomicBool::new(false));
    let after_await = Arc::new(AtomicBool::new(false));
    let (r, a) = (reached_await.clone(), after_await.clone());
    let (started_tx, started_rx) = tasklane::sync::oneshot::channel::<()>();
    let task = tasklane::spawn(async move {
        started_tx.send(()).ok();
        // A tight loop with no await (150 ms of "CPU work").
        let until = std::time::Instant::now() + Duration::from_millis(150);
        let mut spins = 0u64;
        while std::time::Instant::now() < until {
            spins = std::hint::black_box(spins + 1);
        }
        r.store(true, Ordering::SeqCst);
        tasklane::yield_now().await; // asyncio.sleep(0): the cancellation lands here
        a.store(true, Ordering::SeqCst);
    });
    started_rx.await.expect("started");
    assert!(task.cancel());
    println!("    cancel() requested while the loop spins");
    let err = task.await.expect_err("cancelled at the await");
    println!(
        "    await -> Err({err}); loop finished: {}, code after the await ran: {}",
        reached_await.load(Ordering::SeqCst),
        after_await.load(Ordering::SeqCst)
    );
    assert!(err.is_cancelled());
    assert!(reached_await.load(Ordering::SeqCst));
    assert!(!after_await.load(Ordering::SeqCst));
    println!("\ncancel_cleanup: every cleanup ran before its task ended");
}
