//! `TaskSet`: results in completion order, `try_join_next` never waits,
//! `cancel_all` is a cancellation that catch points see, dropping the set
//! cancels its tasks, the tasks are ordinary named tasks that
//! `Handle::tasks()` lists, `shutdown` reports each task once, a panic is a
//! result like any other, and a set reaped as it goes stays bounded.

mod common;

use common::{Tracked, in_task_watched, yield_until};
use futures_channel::oneshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::task::{CancelCause, cancellable};
use tasklane::time::sleep;
use tasklane::{Handle, TaskSet};

/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);

#[test]
fn results_come_in_completion_order() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let mut gates = Vec::new();
        for i in 0..5u32 {
            let (open, gate) = oneshot::channel::<()>();
            gates.push(Some(open));
            set.spawn(async move {
                gate.await.unwrap();
                i
            });
        }
        assert!(set.try_join_next().is_none(), "nothing finished yet");
        // Each task finishes alone, so the order is exactly the gates'.
        for i in [3usize, 0, 4, 1, 2] {
            gates[i].take().unwrap().send(()).unwrap();
            assert_eq!(set.join_next().await.unwrap().unwrap(), i as u32);
            assert_eq!(set.len(), gates.iter().filter(|g| g.is_some()).count());
        }
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none(), "an empty set gives None");
    });
}

#[test]
fn try_join_next_gives_finished_tasks_without_waiting() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        assert!(set.try_join_next().is_none(), "empty");
        let (open, gate) = oneshot::channel::<()>();
        set.spawn(async move {
            gate.await.unwrap();
            "gated"
        });
        set.spawn(async { "quick" });
        assert_eq!(set.len(), 2);
        // The quick one finishes on its own; the gated one never does
        // until the gate opens, so try_join_next keeps giving None for it.
        let mut got = None;
        yield_until(|| {
            got = set.try_join_next();
            got.is_some()
        })
        .await;
        assert_eq!(got.take().unwrap().unwrap(), "quick");
        assert_eq!(set.len(), 1, "the gated task is still in the set");
        for _ in 0..10 {
            tasklane::yield_now().await;
            assert!(set.try_join_next().is_none());
        }
        open.send(()).unwrap();
        yield_until(|| {
            got = set.try_join_next();
            got.is_some()
        })
        .await;
        assert_eq!(got.unwrap().unwrap(), "gated");
        assert!(set.is_empty());
    });
}

#[test]
fn len_counts_finished_tasks_until_they_are_reaped() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let d = done.clone();
            set.spawn(async move {
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        yield_until(|| done.load(Ordering::SeqCst) == 4).await;
        assert_eq!(set.len(), 4, "finished but not reaped");
        let mut reaped = 0;
        while let Some(r) = set.join_next().await {
            r.unwrap();
            reaped += 1;
            assert_eq!(set.len(), 4 - reaped);
        }
        assert_eq!(reaped, 4);
    });
}

#[test]
fn cancel_all_is_a_cancellation_the_catch_points_see() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let waiting = Arc::new(AtomicUsize::new(0));
        let cleaned = Arc::new(AtomicUsize::new(0));
        for i in 0..6u32 {
            let (w, c) = (waiting.clone(), cleaned.clone());
            set.spawn(async move {
                w.fetch_add(1, Ordering::SeqCst);
                match cancellable(sleep(LONG)).await {
                    Ok(()) => Ok(i),
                    Err(cancelled) => {
                        assert_eq!(cancelled.cause(), CancelCause::Requested);
                        // Cleanup may await.
                        tasklane::yield_now().await;
                        c.fetch_add(1, Ordering::SeqCst);
                        if i % 2 == 0 {
                            // Swallowed: the task ends with a value.
                            Err(i)
                        } else {
                            cancelled.reraise().await
                        }
                    }
                }
            });
        }
        yield_until(|| waiting.load(Ordering::SeqCst) == 6).await;
        set.cancel_all();
        assert_eq!(set.len(), 6, "cancel_all leaves the tasks in the set");
        let (mut swallowed, mut cancelled) = (Vec::new(), 0);
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Err(i)) => swallowed.push(i),
                Ok(Ok(i)) => panic!("task {i} slept a minute"),
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert_eq!(e.cancel_cause(), Some(CancelCause::Requested));
                    cancelled += 1;
                }
            }
        }
        swallowed.sort();
        assert_eq!(swallowed, [0, 2, 4]);
        assert_eq!(cancelled, 3);
        assert_eq!(cleaned.load(Ordering::SeqCst), 6);
    });
}

#[test]
fn cancel_cancels_one_task_alone() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let (open, gate) = oneshot::channel::<()>();
        let kept = set.spawn(async move {
            gate.await.unwrap();
            "kept"
        });
        let gone = set.spawn(async {
            sleep(LONG).await;
            "slept"
        });
        assert!(set.cancel(gone));
        let err = set.join_next().await.unwrap().unwrap_err();
        assert_eq!(
            (err.id(), err.cancel_cause()),
            (gone, Some(CancelCause::Requested))
        );
        assert!(!set.cancel(gone), "no longer in the set");
        open.send(()).unwrap();
        assert_eq!(set.join_next().await.unwrap().unwrap(), "kept");
        assert!(!set.cancel(kept));
    });
}

#[test]
fn dropping_the_set_cancels_every_task() {
    in_task_watched(async {
        let counts = common::Counts::new();
        let waiting = Arc::new(AtomicUsize::new(0));
        let causes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut set = TaskSet::new();
        for _ in 0..5 {
            let (w, causes) = (waiting.clone(), causes.clone());
            set.spawn(Tracked::new(&counts, async move {
                w.fetch_add(1, Ordering::SeqCst);
                if let Err(c) = cancellable(sleep(LONG)).await {
                    causes.lock().unwrap().push(c.cause());
                    c.reraise().await
                }
            }));
        }
        // One finished and not reaped: dropped with the set, output and all.
        set.spawn(Tracked::new(&counts, async {}));
        yield_until(|| waiting.load(Ordering::SeqCst) == 5).await;
        drop(set);
        yield_until(|| counts.drops() == 6).await;
        assert_eq!(
            *causes.lock().unwrap(),
            vec![CancelCause::HandleDropped; 5],
            "each catch point saw the drop's cancellation"
        );
    });
}

#[test]
fn tasks_in_a_set_are_named_and_listed() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let ids = [
            set.spawn_named("set-conn-a", sleep(LONG)),
            set.spawn_named("set-conn-b", sleep(LONG)),
            set.spawn(sleep(LONG)),
        ];
        let listed = Handle::current().tasks();
        let name_of = |id| {
            listed
                .iter()
                .find(|t| t.id() == id)
                .map(|t| t.name().to_owned())
                .unwrap_or_else(|| panic!("task {id} not listed"))
        };
        assert_eq!(name_of(ids[0]), "set-conn-a");
        assert_eq!(name_of(ids[1]), "set-conn-b");
        assert_eq!(name_of(ids[2]), format!("Task-{}", ids[2]));
        set.cancel_all();
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap_err().is_cancelled());
        }
        // A reaped task has left the runtime's list.
        let listed = Handle::current().tasks();
        assert!(listed.iter().all(|t| !ids.contains(&t.id())));
    });
}

#[test]
fn shutdown_reports_each_task_once_and_names_the_aborted() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let waiting = Arc::new(AtomicUsize::new(0));
        // Finished before the shutdown, not reaped: counted as completed.
        set.spawn(async { "early" });
        // Cleans up and swallows: completed.
        let w = waiting.clone();
        set.spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            let _ = cancellable(sleep(LONG)).await;
            "cleaned up"
        });
        // Cleans up and re-raises: cancelled.
        let w = waiting.clone();
        set.spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            if let Err(c) = cancellable(sleep(LONG)).await {
                assert_eq!(c.cause(), CancelCause::Shutdown);
                c.reraise().await
            }
            "slept"
        });
        // Panics in its cleanup: panicked.
        let w = waiting.clone();
        set.spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            let _ = cancellable(sleep(LONG)).await;
            panic!("cleanup failed");
        });
        // Swallows every cancellation: aborted after the grace.
        for name in ["stubborn-1", "stubborn-2"] {
            let w = waiting.clone();
            set.spawn_named(name, async move {
                w.fetch_add(1, Ordering::SeqCst);
                loop {
                    let _ = cancellable(sleep(LONG)).await;
                }
            });
        }
        yield_until(|| waiting.load(Ordering::SeqCst) == 5).await;
        let report = set.shutdown(Duration::from_millis(50)).await;
        assert_eq!(report.completed(), 2, "{report}");
        assert_eq!(report.cancelled(), 1, "{report}");
        assert_eq!(report.panicked(), 1, "{report}");
        assert_eq!(report.dropped_names(), ["stubborn-1", "stubborn-2"]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        // The set goes on being usable.
        set.spawn(async { "after" });
        assert_eq!(set.join_next().await.unwrap().unwrap(), "after");
    });
}

#[test]
fn a_panic_is_a_result_and_the_set_goes_on() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let bad = set.spawn(async {
            panic!("task failed");
        });
        let err = set.join_next().await.unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.id(), bad);
        assert_eq!(common::payload_str(&*err.into_panic()), Some("task failed"));
        for i in 0..3u32 {
            set.spawn(async move { i });
        }
        let mut got: Vec<u32> = Vec::new();
        while let Some(r) = set.join_next().await {
            got.push(r.unwrap());
        }
        got.sort();
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn a_dropped_join_next_loses_no_result() {
    in_task_watched(async {
        let mut set = TaskSet::new();
        let (open, gate) = oneshot::channel::<()>();
        set.spawn(async move {
            gate.await.unwrap();
            5
        });
        let mut join = Box::pin(set.join_next());
        assert!(common::poll_once(&mut join).is_pending());
        drop(join);
        open.send(()).unwrap();
        assert_eq!(set.join_next().await.unwrap().unwrap(), 5);
    });
}

/// Resident set size, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    pages * page
}

#[test]
fn a_set_reaped_as_it_goes_stays_bounded() {
    /// Tasks through the set.
    const TASKS: u64 = 1_000_000;
    /// Live tasks the loop allows before it waits for one.
    const LIVE: usize = 256;
    /// RSS is measured from here on: the allocator and the runtime have
    /// reached their working size.
    const WARM_UP: u64 = 50_000;
    /// Growth allowed after the warm-up. Keeping every finished task would
    /// grow by far more (each holds its task cell, well over 100 bytes).
    const MARGIN: usize = 16 << 20;
    let (sum, warm, end, max_len) = in_task_watched(async {
        let mut set = TaskSet::new();
        let (mut sum, mut warm, mut max_len) = (0u64, 0, 0);
        for i in 0..TASKS {
            if i == WARM_UP {
                warm = rss();
            }
            set.spawn(async move { i });
            while let Some(r) = set.try_join_next() {
                sum += r.unwrap();
            }
            max_len = max_len.max(set.len());
            if set.len() >= LIVE {
                sum += set.join_next().await.unwrap().unwrap();
            }
        }
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        (sum, warm, rss(), max_len)
    });
    assert_eq!(sum, TASKS * (TASKS - 1) / 2, "every result reaped once");
    assert!(max_len <= LIVE, "the set held {max_len} tasks");
    eprintln!(
        "rss after warm-up {} KiB, at the end {} KiB",
        warm >> 10,
        end >> 10
    );
    assert!(
        end <= warm + MARGIN,
        "RSS grew from {} KiB to {} KiB",
        warm >> 10,
        end >> 10
    );
}
