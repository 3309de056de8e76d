//! The park protocol of `tasklane-timer`'s `Timers`: the driver computes the
//! deadline to block until (`park_deadline`) while other threads register
//! earlier deadlines. For every registration, either the driver's scan sees
//! its deadline (it blocks no later than that), or the registration reports
//! `unpark`: a wake-up is never lost. Once the driver is awake again
//! (`unparked`), registrations stop asking for unparks.
//!
//! Each model first calls `seq_cst_baseline` (in `loom_tests::timer`) to
//! work around loom's incomplete `SeqCst` loads, which otherwise report a
//! lost deadline that the C11 memory model rules out; its docs explain why.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_tests::mock::{self, CountingWaker};
use loom_tests::timer::{pending, seq_cst_baseline};
use std::task::Waker;
use tasklane_timer::Timers;

/// The deadline the racing registration asks for: before the existing
/// timers, at 100.
const DEADLINE: u64 = 7;

/// Whether a registration of `deadline` that reported `unpark` is covered
/// by a driver that blocks until `parked` (`None`: until unparked).
fn covered(unpark: bool, parked: Option<u64>, deadline: u64) -> bool {
    unpark || parked.is_some_and(|d| d <= deadline)
}

/// New timers with `shards` shards (baseline applied) and a timer at 100 in
/// each shard listed in `existing`.
fn timers(shards: usize, existing: &[usize]) -> Arc<Timers> {
    let timers = Arc::new(Timers::new(shards));
    seq_cst_baseline(&timers);
    for &s in existing {
        let _ = pending(timers.register(s, 100, Waker::noop()));
    }
    timers
}

/// The driver thread parks while the main thread registers [`DEADLINE`] in
/// shard `shard` of `timers`.
fn park_vs_register(timers: Arc<Timers>, shard: usize) {
    let driver = {
        let timers = timers.clone();
        thread::spawn(move || timers.park_deadline())
    };
    let (count, waker) = CountingWaker::new();
    let (_key, unpark) = pending(timers.register(shard, DEADLINE, &waker));
    let parked = driver.join().unwrap();
    assert!(
        covered(unpark, parked, DEADLINE),
        "lost deadline: the driver blocks until {parked:?} and was not unparked"
    );
    // A driver that parks now blocks no later than the registration.
    assert_eq!(timers.park_deadline(), Some(DEADLINE));
    assert_eq!(count.wakes(), 0, "nothing is due");
}

/// One shard, empty: the driver would block until unparked. Unbounded.
#[test]
fn timer_park_no_lost_deadline() {
    mock::model(None, || park_vs_register(timers(1, &[]), 0));
}

/// One shard holding a timer at 100: the driver would block until 100.
/// Unbounded.
#[test]
fn timer_park_no_lost_deadline_existing() {
    mock::model(None, || park_vs_register(timers(1, &[0]), 0));
}

/// Two shards, the registration in shard 0 and a timer at 100 in shard 1:
/// the driver's scan reads shard 0's `next` first, so it may miss the
/// registration yet see the timer at 100 and block until then. Unbounded.
#[test]
fn timer_park_no_lost_deadline_two_shards() {
    mock::model(None, || park_vs_register(timers(2, &[1]), 0));
}

/// Two registering threads, at 7 in shard 0 and at 9 in shard 1, race one
/// park (three threads): each is covered on its own, so the later one may
/// rely on the driver blocking until the earlier one. Unbounded.
#[test]
fn timer_park_no_lost_deadline_two_registrations() {
    mock::model(None, || {
        let timers = timers(2, &[]);
        let registering: Vec<_> = [(0, DEADLINE), (1, DEADLINE + 2)]
            .into_iter()
            .map(|(shard, deadline)| {
                let timers = timers.clone();
                thread::spawn(move || {
                    let (_, unpark) = pending(timers.register(shard, deadline, Waker::noop()));
                    (deadline, unpark)
                })
            })
            .collect();
        let parked = timers.park_deadline();
        for t in registering {
            let (deadline, unpark) = t.join().unwrap();
            assert!(
                covered(unpark, parked, deadline),
                "lost deadline {deadline}: the driver blocks until {parked:?} and was not unparked"
            );
        }
        assert_eq!(timers.park_deadline(), Some(DEADLINE));
    });
}

/// The driver parks, is woken (`unparked`) and says so through a flag; a
/// registration that sees the flag (so comes after `unparked`) must not ask
/// for an unpark, and neither must one after the driver thread has joined.
/// A registration before that may (the driver could still be blocked).
/// Unbounded.
#[test]
fn timer_no_unpark_after_unparked() {
    mock::model(None, || {
        let timers = timers(1, &[0]);
        let awake = Arc::new(AtomicBool::new(false));
        let driver = {
            let (timers, awake) = (timers.clone(), awake.clone());
            thread::spawn(move || {
                let _ = timers.park_deadline();
                timers.unparked();
                awake.store(true, Ordering::Release);
            })
        };
        // Races the park: it may ask for an unpark or not.
        let _ = pending(timers.register(0, DEADLINE, Waker::noop()));
        if awake.load(Ordering::Acquire) {
            let (_, unpark) = pending(timers.register(0, DEADLINE - 1, Waker::noop()));
            assert!(!unpark, "unpark asked of an awake driver");
        }
        driver.join().unwrap();
        let (_, unpark) = pending(timers.register(0, 2, Waker::noop()));
        assert!(!unpark, "unpark asked of an awake driver");
    });
}
