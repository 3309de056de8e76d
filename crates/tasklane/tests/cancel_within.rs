//! `JoinHandle::cancel_within(grace)`: cancel, wait up to the grace, then
//! abort. A task that cleans up within the grace ends cancelled with its
//! cleanup done; one that ignores the cancellation is aborted after the
//! grace (its destructors run); one that completes first gives its value.

mod common;

use common::{Counts, DropCounter, in_task, yield_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tasklane::task::{CancelCause, cancellable};
use tasklane::time::{Instant, sleep};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(3);

#[test]
fn a_task_that_cleans_up_within_the_grace_ends_cancelled_with_cleanup_done() {
    in_task(async {
        let cleaned = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (c, s) = (cleaned.clone(), started.clone());
        let h = tasklane::spawn(async move {
            s.store(true, Ordering::SeqCst);
            match cancellable(sleep(LONG)).await {
                Ok(()) => "slept",
                Err(cancelled) => {
                    sleep(10 * MS).await;
                    c.store(true, Ordering::SeqCst);
                    cancelled.reraise().await
                }
            }
        });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        let start = Instant::now();
        let r = h.cancel_within(GENEROUS).await;
        assert!(r.unwrap_err().is_cancelled());
        assert!(cleaned.load(Ordering::SeqCst), "cleanup ran to its end");
        assert!(start.elapsed() < GENEROUS, "did not wait out the grace");
    });
}

#[test]
fn a_task_that_ignores_the_cancellation_is_aborted_after_the_grace() {
    in_task(async {
        let counts = Counts::new();
        let guard = DropCounter::new(&counts);
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        let h = tasklane::task::Builder::new()
            .name("stubborn")
            .spawn(async move {
                let _guard = guard;
                s.store(true, Ordering::SeqCst);
                loop {
                    // Swallows every cancellation.
                    let _ = cancellable(sleep(LONG)).await;
                }
            });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        let start = Instant::now();
        let r: Result<(), _> = h.cancel_within(20 * MS).await;
        let took = start.elapsed();
        assert!(r.unwrap_err().is_cancelled());
        assert!(took >= 20 * MS, "the grace was given: {took:?}");
        assert!(took < GENEROUS, "took {took:?}");
        assert_eq!(counts.drops(), 1, "the future was dropped by the abort");
    });
}

#[test]
fn a_task_that_completes_or_swallows_gives_its_value() {
    in_task(async {
        let done = tasklane::spawn(async { 5 });
        yield_until(|| done.is_finished()).await;
        assert_eq!(done.cancel_within(GENEROUS).await.unwrap(), 5);

        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        let swallows = tasklane::spawn(async move {
            s.store(true, Ordering::SeqCst);
            match cancellable(sleep(LONG)).await {
                Ok(()) => "slept",
                Err(_) => "swallowed",
            }
        });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        assert_eq!(swallows.cancel_within(GENEROUS).await.unwrap(), "swallowed");
    });
}

#[test]
fn a_zero_grace_aborts_at_once() {
    in_task(async {
        let reached_cleanup = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (r, s) = (reached_cleanup.clone(), started.clone());
        let h = tasklane::spawn(async move {
            s.store(true, Ordering::SeqCst);
            if cancellable(sleep(LONG)).await.is_err() {
                r.store(true, Ordering::SeqCst);
            }
        });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        let err = h.cancel_within(Duration::ZERO).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.cancel_cause(), Some(CancelCause::Aborted));
        assert!(
            !reached_cleanup.load(Ordering::SeqCst),
            "an abort never reaches a catch point"
        );
    });
}
