//! `TaskGroup`: asyncio's `async with asyncio.TaskGroup() as tg:`.
//!
//! Mirrors the asyncio originals' task group examples (seconds scaled down to
//! hundreds of milliseconds):
//!
//! 1. two workers (delays 1 and 3) both succeed: `join` gives their values
//!    in spawn order ("All tasks completed.");
//! 2. `worker(1)`, `worker(2)` (fails with "Something went wrong in
//!    worker 2") and `worker(3)`: when worker 2 fails, worker 3 is cancelled;
//!    its catch point cleans up asynchronously, and `join` returns only once
//!    that cleanup has finished, with a `GroupError` holding the error (like
//!    an `ExceptionGroup`; the cancellation is counted, not an error);
//! 3. `fetch_service` over three endpoints, the critical one failing with a
//!    `ConnectionError`, the others already done: `except* ConnectionError`.
//!
//! Run it with `cargo run --example task_group`.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::task::{self, TaskState};
use tasklane::time::{Instant, sleep};
use tasklane::{GroupError, TaskGroup};

type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, line: String) {
    println!("    {line}");
    log.lock().unwrap().push(line);
}

/// The asyncio original's `worker(delay)`: the one with delay 2 fails; a cancelled one
/// closes its connection (asynchronously) before re-raising.
async fn worker(delay: u64, log: Log) -> Result<String, String> {
    note(
        &log,
        format!("Worker starting, will sleep for {}ms", delay * 100),
    );
    let slept = task::cancellable(sleep(Duration::from_millis(delay * 100))).await;
    if let Err(cancelled) = slept {
        note(
            &log,
            format!("worker({delay}) cancelled: closing its connection..."),
        );
        sleep(Duration::from_millis(50)).await;
        note(&log, format!("worker({delay}) cleanup finished"));
        return cancelled.reraise().await;
    }
    if delay == 2 {
        return Err("Something went wrong in worker 2".to_owned());
    }
    note(&log, format!("Worker with delay {delay} finished"));
    Ok(format!("Result from {delay}s"))
}

#[derive(Debug)]
struct ConnectionError(&'static str);

impl std::fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConnectionError({:?})", self.0)
    }
}

/// The asyncio original's `fetch_service(endpoint)`.
async fn fetch_service(endpoint: &'static str) -> Result<&'static str, ConnectionError> {
    sleep(Duration::from_millis(50)).await;
    if endpoint.contains("critical") {
        return Err(ConnectionError("Service unavailable"));
    }
    Ok("ok")
}

#[tasklane::main]
async fn main() {
    println!("1. TaskGroup basics: every child succeeds");
    let log = Log::default();
    let mut tg = TaskGroup::new();
    tg.spawn_named("task1", worker(1, log.clone()));
    tg.spawn_named("task3", worker(3, log.clone()));
    let values = tg.join().await.expect("both succeed");
    println!("    All tasks completed: {values:?}");
    assert_eq!(values, ["Result from 1s", "Result from 3s"]);

    println!("\n2. worker(1), worker(2) fails, worker(3) is cancelled and cleans up");
    println!("    Starting main with TaskGroup...");
    let log = Log::default();
    let start = Instant::now();
    let mut tg = TaskGroup::new();
    let w1 = tg.spawn_named("worker-1", worker(1, log.clone()));
    let w2 = tg.spawn_named("worker-2", worker(2, log.clone()));
    let w3 = tg.spawn_named("worker-3", worker(3, log.clone()));
    println!("    Tasks created in the group.");
    let result = tg.join().await;
    let took = start.elapsed();
    let err: GroupError<String> = result.expect_err("worker 2 fails");
    println!("    join returned after {took:?}: {err}");
    println!(
        "    Caught an exception group with {} exceptions.",
        err.errors().len()
    );
    for e in err.errors() {
        println!("     - {e}");
    }
    for t in [&w1, &w2, &w3] {
        println!("    {} ended {}", t.name(), t.state());
    }
    assert_eq!(err.errors(), ["Something went wrong in worker 2"]);
    assert!(err.panics().is_empty());
    assert_eq!(err.cancelled(), 1, "worker 3");
    assert_eq!(w1.state(), TaskState::Completed);
    assert_eq!(w2.state(), TaskState::Completed, "it returned its Err");
    assert_eq!(w3.state(), TaskState::Cancelled);
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains(&"worker(3) cleanup finished".to_owned()),
        "join waited for the sibling's cleanup"
    );
    assert!(!log.contains(&"Worker with delay 3 finished".to_owned()));
    assert!(
        took >= Duration::from_millis(250),
        "200ms + 50ms of cleanup"
    );
    println!("    Main function finished.");

    println!("\n3. fetch_service over three endpoints: except* ConnectionError");
    let endpoints = ["/api/v1/data", "/api/v1/critical", "/api/v1/health"];
    let mut tg = TaskGroup::new();
    for ep in endpoints {
        tg.spawn_named(ep, fetch_service(ep));
    }
    match tg.join().await {
        Ok(v) => panic!("the critical endpoint fails, got {v:?}"),
        Err(eg) => {
            let errors: Vec<String> = eg.errors().iter().map(|e| e.to_string()).collect();
            println!("    Group failed with: {errors:?}");
            assert_eq!(errors, ["ConnectionError(\"Service unavailable\")"]);
        }
    }
    println!("\ntask_group: the group waited for every child's cleanup");
}
