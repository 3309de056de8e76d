//! The entry protocol of `tasklane-timer`'s `Timers`: a timer registered
//! and then cancelled (or polled) while another thread fires due timers.
//! Whichever takes the shard lock first wins: the timer is either cancelled
//! (`cancel` returns `true`) or fired (its waker collected by `process` and
//! woken once), never both and never neither; a stale key is inert; every
//! entry is freed once and every waker clone the timers made is dropped.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::mock::{self, CountingWaker};
use loom_tests::timer::{fire, pending};
use std::task::Waker;
use tasklane_timer::Timers;

/// The timer's deadline; the firing thread processes at exactly this time.
const DEADLINE: u64 = 5;

/// Checks a registration of `waker` that was then cancelled (`cancelled`:
/// what `cancel` returned), after every thread has joined.
fn check_cancel_or_fire(
    timers: &Timers,
    cancelled: bool,
    count: std::sync::Arc<CountingWaker>,
    waker: Waker,
) {
    let wakes = count.wakes();
    assert!(wakes <= 1, "woken {wakes} times");
    assert!(
        cancelled != (wakes == 1),
        "cancel returned {cancelled} and the waker was woken {wakes} times"
    );
    // Fired or cancelled: freed either way, and nothing left to fire.
    assert_eq!(timers.len(), 0);
    assert_eq!(fire(timers, 1_000), 0);
    drop(waker);
    assert_eq!(
        std::sync::Arc::strong_count(&count),
        1,
        "a waker clone leaked"
    );
}

/// One shard; the main thread registers at [`DEADLINE`] and cancels, the
/// other thread fires at [`DEADLINE`]. Unbounded.
#[test]
fn timer_register_cancel_fire() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(1));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, DEADLINE))
        };
        let (count, waker) = CountingWaker::new();
        let (key, _) = pending(timers.register(0, DEADLINE, &waker));
        let cancelled = timers.cancel(key);
        let fired = firing.join().unwrap();
        assert_eq!(fired, count.wakes(), "the only timer is this one");
        // The key is stale now, whoever won.
        assert!(!timers.cancel(key));
        assert!(timers.poll(key, &waker));
        check_cancel_or_fire(&timers, cancelled, count, waker);
    });
}

/// A task that migrates: it registers in shard 1 on one thread and its key
/// is cancelled on another (the main thread, after the first joins), while
/// a third thread fires at [`DEADLINE`], visiting shard 0 (which holds a
/// timer at 3, due) and shard 1. The other shard's timer fires exactly once
/// whatever happens in shard 1. Unbounded.
#[test]
fn timer_register_cancel_fire_migrated() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(2));
        let (other, other_waker) = CountingWaker::new();
        let _ = pending(timers.register(0, 3, &other_waker));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, DEADLINE))
        };
        let (count, waker) = CountingWaker::new();
        let registering = {
            let (timers, waker) = (timers.clone(), waker.clone());
            thread::spawn(move || pending(timers.register(1, DEADLINE, &waker)).0)
        };
        let key = registering.join().unwrap();
        let cancelled = timers.cancel(key);
        let fired = firing.join().unwrap();
        assert_eq!(other.wakes(), 1, "the timer in shard 0 fired once");
        assert_eq!(fired, 1 + count.wakes());
        check_cancel_or_fire(&timers, cancelled, count, waker);
        drop(other_waker);
        assert_eq!(
            std::sync::Arc::strong_count(&other),
            1,
            "a waker clone leaked"
        );
    });
}

/// The task polls its timer while another thread fires it: first with the
/// waker it registered (the same task: nothing is replaced), then with a
/// new one, which replaces the stored waker. `poll` reports fired exactly
/// when the waker stored at that moment was already collected; otherwise
/// the waker it stored (the new one, after the second poll) is the one the
/// firing wakes, once, and the replaced one is never woken. Unbounded.
#[test]
fn timer_poll_vs_fire() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(1));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, DEADLINE))
        };
        let (first, w1) = CountingWaker::new();
        let (second, w2) = CountingWaker::new();
        let (key, _) = pending(timers.register(0, DEADLINE, &w1));
        let fired_at_first = timers.poll(key, &w1);
        let fired_at_second = timers.poll(key, &w2);
        assert!(!fired_at_first || fired_at_second, "a fired key came back");
        firing.join().unwrap();
        // Whatever the racing thread did not fire is still due.
        let late = fire(&timers, DEADLINE);
        if fired_at_second {
            // Collected before the second poll, with the first waker in it.
            assert_eq!((first.wakes(), second.wakes(), late), (1, 0, 0));
        } else {
            // The second waker was stored and is the one woken, by the
            // racing thread or by the late firing.
            assert_eq!((first.wakes(), second.wakes()), (0, 1));
        }
        assert!(timers.poll(key, &w2), "fired by now");
        assert!(!timers.cancel(key));
        assert_eq!(timers.len(), 0);
        drop((w1, w2));
        assert_eq!(
            std::sync::Arc::strong_count(&first),
            1,
            "a waker clone leaked"
        );
        assert_eq!(
            std::sync::Arc::strong_count(&second),
            1,
            "a waker clone leaked"
        );
    });
}
