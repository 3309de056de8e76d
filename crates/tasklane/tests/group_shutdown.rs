//! `TaskGroup::shutdown(grace)`: the runtime's two-phase shutdown for a
//! group's children. The report counts each child once: completed,
//! cancelled, panicked, or dropped (aborted after the grace, by name);
//! cleanup within the grace, shields the children started included, has
//! finished when it returns.

mod common;

use common::{Counts, DropCounter, in_task, in_task_on, paused_rt, yield_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::TaskGroup;
use tasklane::task::{TaskState, cancellable};
use tasklane::time::{Instant, sleep};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(3);

/// On the paused clock, so the 5 ms cleanups always end inside the 30 ms
/// grace and the grace is exactly 30 ms.
#[test]
fn the_report_counts_each_child_and_names_the_aborted() {
    in_task_on(&paused_rt(2), async {
        let mut group = TaskGroup::<&'static str, &'static str>::new();
        let counts = Counts::new();
        // Children waiting where the cancellation will find them.
        let waiting = Arc::new(AtomicUsize::new(0));
        // Done before the shutdown.
        let early = group.spawn(async { Ok("early") });
        // Cleans up and swallows: completed.
        let w = waiting.clone();
        group.spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            match cancellable(sleep(LONG)).await {
                Ok(()) => Ok("slept"),
                Err(_) => {
                    sleep(5 * MS).await;
                    Ok("cleaned up")
                }
            }
        });
        // Cleans up and re-raises: cancelled.
        let w = waiting.clone();
        group.spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            match cancellable(sleep(LONG)).await {
                Ok(()) => Ok("slept"),
                Err(c) => {
                    sleep(5 * MS).await;
                    c.reraise().await
                }
            }
        });
        // No catch point: cancelled at once.
        let w = waiting.clone();
        group.spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            sleep(LONG).await;
            Ok("slept")
        });
        // Ignores the cancellation: aborted after the grace.
        let guard = DropCounter::new(&counts);
        let w = waiting.clone();
        group.spawn_named("stubborn", async move {
            let _guard = guard;
            w.fetch_add(1, Ordering::SeqCst);
            loop {
                let _ = cancellable(sleep(LONG)).await;
            }
        });
        yield_until(|| {
            waiting.load(Ordering::SeqCst) == 4 && early.state() == TaskState::Completed
        })
        .await;
        let start = Instant::now();
        let report = group.shutdown(30 * MS).await;
        let took = start.elapsed();
        assert_eq!(report.completed(), 2, "{report}");
        assert_eq!(report.cancelled(), 2, "{report}");
        assert_eq!(report.panicked(), 0, "{report}");
        assert_eq!(report.dropped(), 1, "{report}");
        assert_eq!(report.dropped_names(), ["stubborn"]);
        assert_eq!(counts.drops(), 1, "the aborted child was dropped");
        assert_eq!(took, 30 * MS, "the grace, on the paused clock");
    });
}

#[test]
fn a_group_that_cleans_up_within_the_grace_returns_early() {
    in_task(async {
        let mut group = TaskGroup::<(), ()>::new();
        let shielded_done = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (s, st) = (shielded_done.clone(), started.clone());
        group.spawn(async move {
            st.store(true, Ordering::SeqCst);
            // A shield the child starts: the shutdown waits for it too.
            let work = tasklane::shield(async move {
                sleep(20 * MS).await;
                s.store(true, Ordering::SeqCst);
            });
            let _ = cancellable(sleep(LONG)).await;
            drop(work);
            Ok(())
        });
        group.spawn(async { Ok(()) });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        let start = Instant::now();
        let report = group.shutdown(GENEROUS).await;
        assert!(start.elapsed() < GENEROUS, "no need to wait out the grace");
        assert!(shielded_done.load(Ordering::SeqCst), "the shield finished");
        assert_eq!((report.completed(), report.dropped()), (2, 0), "{report}");
    });
}

#[test]
fn panics_are_counted() {
    in_task(async {
        let mut group = TaskGroup::<(), ()>::new();
        let started = Arc::new(AtomicBool::new(false));
        let st = started.clone();
        group.spawn(async move {
            st.store(true, Ordering::SeqCst);
            let _ = cancellable(sleep(LONG)).await;
            panic!("in cleanup")
        });
        group.spawn(async { Ok(()) });
        yield_until(|| started.load(Ordering::SeqCst)).await;
        let report = group.shutdown(GENEROUS).await;
        assert_eq!((report.completed(), report.panicked()), (1, 1), "{report}");
    });
}
