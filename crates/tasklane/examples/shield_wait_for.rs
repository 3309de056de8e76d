//! `shield` under `wait_for`: asyncio's
//! `await asyncio.wait_for(asyncio.shield(task), timeout=1)`.
//!
//! Mirrors the asyncio original's `important_save` (seconds scaled down to
//! hundreds of milliseconds):
//!
//! 1. `wait_for(&mut save, 100ms)` times out, but the shielded save is not
//!    cancelled: it goes on, prints "Save completed!", and awaiting the
//!    `Shield` again gives its result (the save's own catch point never
//!    receives anything);
//! 2. cancelling the task that awaits a shield cancels that task, not the
//!    shielded work (the asyncio original's "outer task cancelled, but inner
//!    operation continues");
//! 3. graceful shutdown does not cancel shielded work either: it waits for
//!    it (up to the grace), and the report counts it completed.
//!
//! Run it with `cargo run --example shield_wait_for`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::task;
use tasklane::time::{Instant, sleep};

/// What happened to a save.
#[derive(Default)]
struct SaveLog {
    completed: AtomicBool,
    cancelled: AtomicUsize,
}

/// The asyncio original's `important_save`: a commit that reports a cancellation if one
/// ever reaches it.
async fn important_save(log: Arc<SaveLog>, ms: u64) -> &'static str {
    match task::cancellable(sleep(Duration::from_millis(ms))).await {
        Ok(()) => {
            println!("    Save completed!");
            log.completed.store(true, Ordering::SeqCst);
            "saved"
        }
        Err(cancelled) => {
            println!("    Save was cancelled!");
            log.cancelled.fetch_add(1, Ordering::SeqCst);
            cancelled.reraise().await
        }
    }
}

fn main() {
    tasklane::run(async {
        println!("1. wait_for(shield(important_save()), 100ms)");
        let log = Arc::new(SaveLog::default());
        let start = Instant::now();
        let mut save = tasklane::shield(important_save(log.clone(), 300));
        match tasklane::wait_for(&mut save, Duration::from_millis(100)).await {
            Ok(v) => panic!("the save cannot finish in 100ms: {v}"),
            Err(elapsed) => println!(
                "    Timeout ({elapsed}) after {:?}, but save is still running...",
                start.elapsed()
            ),
        }
        assert!(!save.is_finished(), "the timeout did not cancel the save");
        assert!(!log.completed.load(Ordering::SeqCst));
        let result = save.await; // Now we wait again to ensure it finishes
        println!("    awaited again: {result:?} after {:?}", start.elapsed());
        assert_eq!(result, "saved");
        assert!(log.completed.load(Ordering::SeqCst));
        assert_eq!(log.cancelled.load(Ordering::SeqCst), 0, "never cancelled");
        assert!(start.elapsed() >= Duration::from_millis(300));

        println!("\n2. cancel the task awaiting a shield: the shielded save goes on");
        let log = Arc::new(SaveLog::default());
        let l = log.clone();
        let outer = tasklane::spawn(async move { tasklane::shield(important_save(l, 150)).await });
        sleep(Duration::from_millis(30)).await;
        assert!(outer.cancel());
        let err = outer.await.expect_err("the outer task is cancelled");
        println!("    outer task: Err({err}), but inner operation continues");
        assert!(err.is_cancelled());
        assert!(!log.completed.load(Ordering::SeqCst));
        let start = Instant::now();
        while !log.completed.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(2) {
            sleep(Duration::from_millis(10)).await;
        }
        assert!(
            log.completed.load(Ordering::SeqCst),
            "the save finished on its own"
        );
        assert_eq!(log.cancelled.load(Ordering::SeqCst), 0);
    });

    println!("\n3. graceful shutdown waits for a shielded save instead of cancelling it");
    let rt = tasklane::Runtime::new().expect("runtime");
    let log = Arc::new(SaveLog::default());
    let l = log.clone();
    rt.block_on(async move {
        // Dropping the Shield leaves the save running, unowned.
        drop(tasklane::shield(important_save(l, 200)));
        println!("    shield dropped; shutting down with a 2s grace");
    });
    let start = Instant::now();
    let report = rt.shutdown(Duration::from_secs(2));
    println!("    shutdown took {:?}: {report}", start.elapsed());
    assert!(log.completed.load(Ordering::SeqCst));
    assert_eq!(log.cancelled.load(Ordering::SeqCst), 0);
    assert_eq!(report.completed(), 1);
    assert_eq!((report.cancelled(), report.dropped()), (0, 0));
    println!("\nshield_wait_for: no save was ever cancelled");
}
