//! `testing::cancel_sweep`: the suspension points it counts, where each
//! copy's cancellation lands, and what the catch points and cleanup of the
//! copies see, on the multi-thread and the current-thread runtime.

use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tasklane::Runtime;
use tasklane::task::{CancelCause, TaskState, cancellable};
use tasklane::testing::{CancelSweep, cancel_sweep};
use tasklane::time::sleep;
use tasklane::yield_now;

/// What one copy of a swept future did. Copy 0 is the reference run; copy
/// `k` is the one cancelled after its `k`-th suspension point.
#[derive(Debug, Default)]
struct Run {
    /// Awaits the copy got past.
    passed: AtomicUsize,
    /// Its resource: acquired, and released by its cleanup.
    acquired: AtomicUsize,
    released: AtomicUsize,
    /// Cancellations seen by its (inner and outer) catch points.
    inner: AtomicUsize,
    outer: AtomicUsize,
    /// Its future's destructor ran.
    dropped: AtomicUsize,
}

impl Run {
    fn pass(&self) {
        self.passed.fetch_add(1, Ordering::SeqCst);
    }
    fn acquire(&self) {
        self.acquired.fetch_add(1, Ordering::SeqCst);
    }
    fn release(&self) {
        self.released.fetch_add(1, Ordering::SeqCst);
    }
    /// Acquired and not released.
    fn leaked(&self) -> bool {
        self.acquired.load(Ordering::SeqCst) != self.released.load(Ordering::SeqCst)
    }
}

/// Sets `dropped` when the future holding it is dropped.
struct DropGuard(Arc<Run>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Every copy built, in the order `make` built them.
#[derive(Default)]
struct Runs(Mutex<Vec<Arc<Run>>>);

impl Runs {
    fn next(&self) -> Arc<Run> {
        let run = Arc::new(Run::default());
        self.0.lock().unwrap().push(run.clone());
        run
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// `f` of each copy, the reference run first.
    fn each(&self, f: impl Fn(&Run) -> usize) -> Vec<usize> {
        self.0.lock().unwrap().iter().map(|r| f(r)).collect()
    }

    /// The `k`s whose copy leaked its resource.
    fn leaked(&self) -> Vec<usize> {
        let runs = self.0.lock().unwrap();
        (1..runs.len()).filter(|&k| runs[k].leaked()).collect()
    }
}

/// Three `yield_now`s and one `sleep`: four suspension points, and no catch
/// point, so each copy is dropped where its cancellation lands.
async fn four_awaits(run: Arc<Run>) {
    let _guard = DropGuard(run.clone());
    for _ in 0..3 {
        yield_now().await;
        run.pass();
    }
    sleep(Duration::from_millis(1)).await;
    run.pass();
}

/// A resource acquired, then awaits inside a catch point whose cleanup
/// awaits too, releases the resource, and re-raises.
async fn releases_in_catch_point(run: Arc<Run>) {
    run.acquire();
    let work = cancellable(async {
        yield_now().await;
        run.pass();
        sleep(Duration::from_millis(1)).await;
        run.pass();
        yield_now().await;
        run.pass();
    });
    match work.await {
        Ok(()) => run.release(),
        Err(cancelled) => {
            run.inner.fetch_add(1, Ordering::SeqCst);
            sleep(Duration::from_millis(1)).await; // say goodbye
            run.release();
            cancelled.reraise().await
        }
    }
}

/// As [`releases_in_catch_point`], but with one await between the
/// acquisition and the catch point: a cancellation landing there drops the
/// future before the cleanup can run.
async fn leaks_at_its_first_await(run: Arc<Run>) {
    run.acquire();
    yield_now().await; // outside the catch point
    run.pass();
    let work = cancellable(async {
        yield_now().await;
        run.pass();
        sleep(Duration::from_millis(1)).await;
        run.pass();
    });
    match work.await {
        Ok(()) => run.release(),
        Err(cancelled) => {
            run.release();
            cancelled.reraise().await
        }
    }
}

fn assert_releases_at_every_await(sweep: &CancelSweep, runs: &Runs) {
    assert_eq!(sweep.suspension_points(), 3);
    assert_eq!(sweep.outcomes(), [TaskState::Cancelled; 3]);
    assert_eq!(runs.len(), 4, "the reference run and one copy per await");
    assert_eq!(runs.each(|r| r.acquired.load(Ordering::SeqCst)), [1; 4]);
    assert_eq!(runs.each(|r| r.released.load(Ordering::SeqCst)), [1; 4]);
    assert_eq!(
        runs.each(|r| r.inner.load(Ordering::SeqCst)),
        [0, 1, 1, 1],
        "the catch point saw every copy's cancellation"
    );
    assert_eq!(
        runs.each(|r| r.passed.load(Ordering::SeqCst)),
        [3, 0, 1, 2],
        "copy k was cancelled at its k-th await"
    );
    assert!(runs.leaked().is_empty());
}

fn assert_leak_found_at_first_await(sweep: &CancelSweep, runs: &Runs) {
    assert_eq!(sweep.suspension_points(), 3);
    // Every copy ended cancelled: the outcome alone does not show the leak;
    // the resource's counters, one set per copy, do.
    assert_eq!(sweep.outcomes(), [TaskState::Cancelled; 3]);
    assert_eq!(
        runs.leaked(),
        [1],
        "only a cancellation at the first await leaks"
    );
    assert_eq!(runs.each(|r| r.passed.load(Ordering::SeqCst)), [3, 0, 1, 2]);
}

#[tasklane::test]
async fn counts_suspension_points_exactly() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| four_awaits(runs.next())).await;
    assert_eq!(sweep.suspension_points(), 4);
    assert_eq!(sweep.outcomes().len(), sweep.suspension_points());
    assert_eq!(sweep.outcomes(), [TaskState::Cancelled; 4]);
    assert_eq!(runs.len(), 5, "make() is called once per copy");
    // The reference run got past every await; copy k stopped at its k-th.
    assert_eq!(
        runs.each(|r| r.passed.load(Ordering::SeqCst)),
        [4, 0, 1, 2, 3]
    );
    assert_eq!(runs.each(|r| r.dropped.load(Ordering::SeqCst)), [1; 5]);
    let shown = format!("{sweep:?}");
    assert!(shown.contains("suspension_points: 4"), "{shown}");
    assert!(shown.contains("4: Cancelled"), "{shown}");
}

#[tasklane::test]
async fn a_future_without_suspension_points_has_no_copies() {
    let made = AtomicUsize::new(0);
    let sweep = cancel_sweep(|| {
        made.fetch_add(1, Ordering::SeqCst);
        async {
            // Awaiting a future that is ready at once does not suspend.
            std::future::ready(7).await
        }
    })
    .await;
    assert_eq!(sweep.suspension_points(), 0);
    assert!(sweep.outcomes().is_empty());
    assert_eq!(made.load(Ordering::SeqCst), 1, "only the reference run");
}

#[tasklane::test]
async fn cleanup_in_a_catch_point_runs_at_every_await() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| releases_in_catch_point(runs.next())).await;
    assert_releases_at_every_await(&sweep, &runs);
}

#[tasklane::test]
async fn a_leak_is_found_at_the_await_where_it_happens() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| leaks_at_its_first_await(runs.next())).await;
    assert_leak_found_at_first_await(&sweep, &runs);
}

#[tasklane::test]
async fn catch_points_see_each_delivery() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| {
        let run = runs.next();
        async move {
            let outer = cancellable(async {
                for _ in 0..2 {
                    if let Err(c) = cancellable(yield_now()).await {
                        assert_eq!(c.cause(), CancelCause::Requested);
                        run.inner.fetch_add(1, Ordering::SeqCst);
                        yield_now().await; // cleanup that awaits
                        c.reraise::<()>().await;
                    }
                    run.pass();
                }
                yield_now().await; // inside the outer catch point only
                run.pass();
            });
            if outer.await.is_err() {
                // Swallowed: the copy completes.
                run.outer.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
    .await;
    assert_eq!(sweep.suspension_points(), 3);
    assert_eq!(sweep.outcomes(), [TaskState::Completed; 3]);
    // Copies 1 and 2 are cancelled at an inner catch point, which re-raises
    // to the outer one; copy 3 at an await only the outer one surrounds.
    assert_eq!(runs.each(|r| r.inner.load(Ordering::SeqCst)), [0, 1, 1, 0]);
    assert_eq!(runs.each(|r| r.outer.load(Ordering::SeqCst)), [0, 1, 1, 1]);
    assert_eq!(runs.each(|r| r.passed.load(Ordering::SeqCst)), [3, 0, 1, 2]);
}

#[tasklane::test]
async fn a_copy_that_panics_is_recorded_panicked() {
    let sweep = cancel_sweep(|| async {
        yield_now().await;
        if cancellable(yield_now()).await.is_err() {
            panic!("cleanup failed (deliberately)");
        }
    })
    .await;
    assert_eq!(
        sweep.outcomes(),
        [TaskState::Cancelled, TaskState::Panicked]
    );
}

#[tasklane::test]
async fn a_copy_that_finishes_before_its_cancellation_is_recorded_completed() {
    // The reference run suspends three times, later copies once: copies 2
    // and 3 never reach the suspension point they were to be cancelled at.
    let made = AtomicUsize::new(0);
    let sweep = cancel_sweep(|| {
        let awaits = if made.fetch_add(1, Ordering::SeqCst) == 0 {
            3
        } else {
            1
        };
        async move {
            for _ in 0..awaits {
                yield_now().await;
            }
        }
    })
    .await;
    assert_eq!(sweep.suspension_points(), 3);
    assert_eq!(
        sweep.outcomes(),
        [
            TaskState::Cancelled,
            TaskState::Completed,
            TaskState::Completed
        ]
    );
}

#[tasklane::test]
#[should_panic(expected = "the reference run fails")]
async fn a_panic_in_the_reference_run_is_the_sweeps() {
    let _ = cancel_sweep(|| async {
        yield_now().await;
        panic!("the reference run fails");
    })
    .await;
}

#[tasklane::test]
async fn dropping_the_sweep_cancels_the_copy_it_waits_for() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| {
        let run = runs.next();
        async move {
            let _guard = DropGuard(run.clone());
            if cancellable(yield_now()).await.is_err() {
                // Swallows the sweep's cancellation, then waits forever:
                // only a second cancellation can end it.
                run.inner.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
        }
    });
    // Drive the sweep until copy 1 has swallowed its cancellation and
    // waits forever, then drop the sweep.
    let mut sweep = Box::pin(sweep);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    poll_fn(|cx| {
        assert!(sweep.as_mut().poll(cx).is_pending(), "copy 1 never ends");
        let caught = runs.len() == 2 && runs.each(|r| r.inner.load(Ordering::SeqCst)) == [0, 1];
        if caught {
            return Poll::Ready(());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "copy 1 was not cancelled"
        );
        cx.waker().wake_by_ref(); // poll again after the others ran
        Poll::Pending
    })
    .await;
    drop(sweep);
    // Dropping the sweep dropped copy 1's handle, which cancels it: its
    // future is dropped at its next poll, on a worker.
    let copy = runs.0.lock().unwrap()[1].clone();
    while copy.dropped.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "copy 1 was not dropped"
        );
        yield_now().await;
    }
}

#[tasklane::test(flavor = "current_thread")]
async fn current_thread_cleanup_in_a_catch_point_runs_at_every_await() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| releases_in_catch_point(runs.next())).await;
    assert_releases_at_every_await(&sweep, &runs);
}

#[tasklane::test(flavor = "current_thread")]
async fn current_thread_a_leak_is_found_at_the_await_where_it_happens() {
    let runs = Runs::default();
    let sweep = cancel_sweep(|| leaks_at_its_first_await(runs.next())).await;
    assert_leak_found_at_first_await(&sweep, &runs);
}

#[test]
fn current_thread_sweep_from_the_block_on_future() {
    // The sweep in `block_on`'s own future, which is not a task: it spawns
    // the copies and waits for them from outside any task.
    let rt = Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime builds");
    let runs = Runs::default();
    let sweep = rt.block_on(cancel_sweep(|| four_awaits(runs.next())));
    assert_eq!(sweep.suspension_points(), 4);
    assert_eq!(sweep.outcomes(), [TaskState::Cancelled; 4]);
    assert_eq!(
        runs.each(|r| r.passed.load(Ordering::SeqCst)),
        [4, 0, 1, 2, 3]
    );
}

#[test]
fn multi_thread_sweep_from_the_block_on_future() {
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime builds");
    let runs = Runs::default();
    let sweep = rt.block_on(cancel_sweep(|| releases_in_catch_point(runs.next())));
    assert_releases_at_every_await(&sweep, &runs);
}
