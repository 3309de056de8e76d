//! `#[tasklane::test]` and `#[tasklane::main]` at run time: the body runs on
//! a runtime of the configured size, its value is returned, attributes are
//! kept, and the runtime is shut down when the body returns.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Spawns `n` tasks that each note the name of the thread they run on,
/// yielding in between so they spread over the workers, and returns the
/// distinct names.
async fn worker_names(n: usize) -> HashSet<String> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tasklane::spawn(async {
                let mut names = Vec::new();
                for _ in 0..4 {
                    let name = std::thread::current().name().map(str::to_owned);
                    names.push(name.expect("runtime threads are named"));
                    // Long enough that idle workers steal from the busy ones.
                    std::thread::sleep(Duration::from_micros(200));
                    tasklane::yield_now().await;
                }
                names
            })
        })
        .collect();
    let mut all = HashSet::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn allowed(workers: usize) -> HashSet<String> {
    (0..workers)
        .map(|i| format!("tasklane-worker-{i}"))
        .collect()
}

#[tasklane::test]
async fn plain_test_runs_the_body_on_a_runtime() {
    let v = tasklane::spawn(async { 6 * 7 }).await.unwrap();
    assert_eq!(v, 42);
}

#[tasklane::test]
async fn tests_default_to_two_workers() {
    assert_eq!(tasklane::Handle::current().num_workers(), 2);
    let names = worker_names(32).await;
    assert!(!names.is_empty());
    assert!(
        names.is_subset(&allowed(2)),
        "tasks ran on {names:?}, expected worker 0 or 1"
    );
}

#[tasklane::test(worker_threads = 1)]
async fn worker_threads_one_runs_every_task_on_one_worker() {
    assert_eq!(tasklane::Handle::current().num_workers(), 1);
    let names = worker_names(32).await;
    assert_eq!(names, allowed(1), "tasks ran on {names:?}");
}

#[tasklane::test(worker_threads = 3)]
async fn worker_threads_three() {
    assert_eq!(tasklane::Handle::current().num_workers(), 3);
    let names = worker_names(48).await;
    assert!(names.is_subset(&allowed(3)), "tasks ran on {names:?}");
}

#[tasklane::test]
async fn returns_ok() -> Result<(), String> {
    let v: u32 = "17".parse().map_err(|e| format!("{e}"))?;
    let doubled = tasklane::spawn(async move { v * 2 }).await;
    assert_eq!(doubled.map_err(|e| e.to_string())?, 34);
    Ok(())
}

#[tasklane::main]
async fn entry_failing() -> Result<u32, String> {
    let n: u32 = "x".parse().map_err(|_| "not a number".to_owned())?;
    unreachable!("`?` returns early, got {n}")
}

#[test]
fn question_mark_returns_the_error_from_the_body() {
    assert_eq!(entry_failing(), Err("not a number".to_owned()));
}

#[tasklane::test]
#[should_panic(expected = "boom from the body")]
async fn should_panic_is_kept() {
    tasklane::yield_now().await;
    panic!("boom from the body");
}

#[tasklane::test]
#[ignore = "checks that `#[ignore]` is kept: it must never run"]
async fn ignore_is_kept() {
    panic!("an ignored test ran");
}

#[tasklane::main]
async fn entry() -> u32 {
    tasklane::spawn(async { 41 }).await.unwrap() + 1
}

#[tasklane::main(worker_threads = 3)]
async fn entry_with_workers() -> usize {
    tasklane::Handle::current().num_workers()
}

/// A task left running when the body returns: shutdown cancels it, which
/// drops its future and sets the flag.
#[tasklane::main(worker_threads = 1)]
async fn entry_leaving_a_task(dropped: Arc<AtomicBool>) {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let guard = SetOnDrop(dropped);
    tasklane::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    })
    .detach();
    tasklane::yield_now().await;
}

#[test]
fn main_macro_returns_the_body_value() {
    assert_eq!(entry(), 42);
    // Each call builds (and shuts down) its own runtime.
    assert_eq!(entry(), 42);
}

#[test]
fn main_macro_honours_worker_threads() {
    assert_eq!(entry_with_workers(), 3);
}

#[test]
fn main_macro_shuts_the_runtime_down() {
    let dropped = Arc::new(AtomicBool::new(false));
    entry_leaving_a_task(dropped.clone());
    assert!(
        dropped.load(Ordering::SeqCst),
        "the task left running was not cancelled by the shutdown"
    );
}

#[test]
fn main_macro_is_not_a_runtime_outside() {
    // The runtime does not outlive the call.
    entry();
    assert!(tasklane::Handle::try_current().is_none());
}
