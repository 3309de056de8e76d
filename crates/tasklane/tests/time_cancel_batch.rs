//! Cancelled timers leave the wheel, also when a worker cancels them in
//! batches (`driver.rs`, "Cancellations in batches"): the count of timers
//! is exact as soon as the cancelling task is done, and every entry (with
//! the waker it holds) is freed once the worker has gone idle.

mod common;

use common::{rt, spin_until};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tasklane::Handle;
use tasklane::time::sleep;

/// A waker that counts its wakes; its `Arc`'s strong count tells how many
/// copies of it the wheel still holds.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sleeps of 10..=60 s, each polled once with `waker` (so each entry holds
/// a copy of it).
fn registered(n: u64, waker: &Waker) -> Vec<tasklane::time::Sleep> {
    let mut cx = Context::from_waker(waker);
    (0..n)
        .map(|i| {
            let mut s = sleep(Duration::from_secs(10 + i % 51));
            assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
            s
        })
        .collect()
}

/// A thousand sleeps dropped in one poll (15 full batches and a partial
/// one): the count is zero at once, inside the task and from outside after
/// it, and every entry's waker is dropped once the worker is idle; nothing
/// was woken.
#[test]
fn a_thousand_cancelled_sleeps_leave_the_wheel() {
    for workers in [1, 2] {
        let rt = rt(workers);
        let handle = rt.handle();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let inside = rt
            .block_on(rt.spawn({
                let waker = waker.clone();
                async move {
                    let h = Handle::current();
                    let sleeps = registered(1000, &waker);
                    assert_eq!(h.num_timers(), 1000);
                    drop(sleeps);
                    h.num_timers()
                }
            }))
            .unwrap();
        assert_eq!(inside, 0, "{workers} workers: counted inside the task");
        assert_eq!(
            handle.num_timers(),
            0,
            "{workers} workers: counted after it"
        );
        // Again, without asking inside (which applies the asker's batch):
        // the last partial batch may still be waiting when the task is done.
        rt.block_on(rt.spawn({
            let waker = waker.clone();
            async move { drop(registered(1000, &waker)) }
        }))
        .unwrap();
        assert_eq!(
            handle.num_timers(),
            0,
            "{workers} workers: counted after the second"
        );
        // The test holds two references (`count`, `waker`); the wheel's
        // copies go when the batch is applied, before the worker parks.
        spin_until("every entry freed", || Arc::strong_count(&count) == 2);
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "a cancelled timer fired");
    }
}

/// Sleeps registered on one worker and dropped on another (or outside the
/// runtime) are cancelled at once, not batched: the batch is for a worker's
/// own shard.
#[test]
fn sleeps_dropped_elsewhere_leave_the_wheel_at_once() {
    let rt = rt(2);
    let handle = rt.handle();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let sleeps = rt
        .block_on(rt.spawn({
            let waker = waker.clone();
            async move { registered(300, &waker) }
        }))
        .unwrap();
    assert_eq!(handle.num_timers(), 300);
    drop(sleeps);
    assert_eq!(handle.num_timers(), 0);
    assert_eq!(Arc::strong_count(&count), 2, "entries left on the wheel");
    assert_eq!(count.0.load(Ordering::SeqCst), 0);
}

/// A sleep cancelled in a batch whose deadline passes before the batch is
/// applied fires into the void: its waker is woken at most once, the entry
/// is freed once, and later timers on the same worker still fire on time.
///
/// Two workers: while the task's worker spins with the cancel still in its
/// batch, the other, parked in the driver, fires the timer. (On one worker
/// the batch is applied before the worker parks, so nothing could fire it
/// first.) A long sleep stays registered throughout, so that the worker
/// running the task always hands the driver to the other one. Rounds
/// repeat until the race has happened at least once.
#[test]
fn a_batched_cancel_racing_its_deadline_is_harmless() {
    const MAX_ROUNDS: usize = 500;
    let rt = rt(2);
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let rounds = rt
        .block_on(rt.spawn({
            let (waker, count) = (waker.clone(), count.clone());
            async move {
                let mut keeper = sleep(Duration::from_secs(60));
                let polled = Pin::new(&mut keeper).poll(&mut Context::from_waker(&waker));
                assert_eq!(polled, Poll::Pending);
                let mut rounds = 0;
                while rounds < MAX_ROUNDS && count.0.load(Ordering::SeqCst) == 0 {
                    rounds += 1;
                    // Due almost at once; dropped (batched) before it fires.
                    let mut short = sleep(Duration::from_micros(200));
                    let polled = Pin::new(&mut short).poll(&mut Context::from_waker(&waker));
                    assert_eq!(polled, Poll::Pending);
                    drop(short);
                    // Let the deadline pass while the batch holds the key,
                    // and give the other worker time to wake and fire it
                    // (on a loaded machine that can take many ms).
                    let until = std::time::Instant::now() + Duration::from_millis(20);
                    while std::time::Instant::now() < until && count.0.load(Ordering::SeqCst) == 0 {
                        std::hint::spin_loop();
                    }
                    let start = std::time::Instant::now();
                    sleep(Duration::from_millis(1)).await;
                    assert!(
                        start.elapsed() >= Duration::from_millis(1),
                        "a later sleep ended early"
                    );
                }
                drop(keeper);
                rounds
            }
        }))
        .unwrap();
    let wakes = count.0.load(Ordering::SeqCst);
    assert!(
        wakes >= 1,
        "no batched timer fired in {rounds} rounds: the race was never run"
    );
    assert!(
        wakes <= rounds,
        "{wakes} wakes for {rounds} timers: one woken twice"
    );
    spin_until("every entry freed", || Arc::strong_count(&count) == 2);
    assert_eq!(rt.handle().num_timers(), 0);
}
