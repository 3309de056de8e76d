//! The entry protocol of `tasklane-timer`'s `Timers` for `reset`: a timer
//! moved to another deadline while another thread fires due timers. Either
//! the firing took the shard lock first (`reset` reports `Fired`, the key is
//! stale, the waker was woken once) or the reset did (`Moved`: the timer
//! fires at its new deadline and only then). Every entry is freed once,
//! every waker woken at most once, and no waker clone is leaked.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::mock::{self, CountingWaker};
use loom_tests::timer::{fire, pending};
use tasklane_timer::{Reset, Timers};

/// The time the racing thread fires at.
const NOW: u64 = 10;
/// A deadline due at [`NOW`].
const DUE: u64 = 5;
/// A deadline not due at [`NOW`].
const LATER: u64 = 50;

/// The main thread registers at [`DUE`] and then moves the timer to
/// [`LATER`] while the other thread fires at [`NOW`]. Afterwards, firing at
/// `LATER - 1` wakes nothing and at `LATER` wakes the timer if (and only
/// if) it was moved. Unbounded.
#[test]
fn timer_reset_later_vs_fire() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(1));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, NOW))
        };
        let (count, waker) = CountingWaker::new();
        let (key, _) = pending(timers.register(0, DUE, &waker));
        let reset = timers.reset(key, LATER);
        let fired = firing.join().unwrap();
        assert_eq!(fired, count.wakes());
        let moved = match reset {
            Reset::Fired => {
                assert_eq!(count.wakes(), 1, "reset reported Fired, yet not woken");
                // Stale: nothing to cancel or move.
                assert!(!timers.cancel(key));
                assert_eq!(timers.reset(key, LATER), Reset::Fired);
                false
            }
            Reset::Moved { .. } => {
                assert_eq!(count.wakes(), 0, "fired at its old deadline");
                assert!(!timers.poll(key, &waker), "moved, so not fired yet");
                true
            }
        };
        assert_eq!(fire(&timers, LATER - 1), 0, "fired before its new deadline");
        assert_eq!(fire(&timers, LATER), usize::from(moved));
        assert_eq!(count.wakes(), 1, "woken exactly once in all");
        assert_eq!(timers.reset(key, LATER), Reset::Fired);
        assert_eq!(timers.len(), 0);
        drop(waker);
        assert_eq!(
            std::sync::Arc::strong_count(&count),
            1,
            "a waker clone leaked"
        );
    });
}

/// The main thread registers at [`LATER`] and then moves the timer to
/// [`DUE`] while the other thread fires at [`NOW`]: the move always wins
/// (nothing is due before it), and the timer then fires either in the
/// racing firing, if that reads the lowered `next` hint, or in the next one
/// at [`NOW`], which must not skip the shard. Unbounded.
#[test]
fn timer_reset_earlier_vs_fire() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(1));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, NOW))
        };
        let (count, waker) = CountingWaker::new();
        let (key, _) = pending(timers.register(0, LATER, &waker));
        assert!(matches!(timers.reset(key, DUE), Reset::Moved { .. }));
        let fired = firing.join().unwrap();
        assert_eq!(fired, count.wakes());
        let late = fire(&timers, NOW);
        assert_eq!(
            fired + late,
            1,
            "fired once, at the latest by the next firing"
        );
        assert_eq!(count.wakes(), 1);
        assert_eq!(timers.reset(key, DUE), Reset::Fired);
        assert_eq!(timers.len(), 0);
        drop(waker);
        assert_eq!(
            std::sync::Arc::strong_count(&count),
            1,
            "a waker clone leaked"
        );
    });
}

/// The timer is registered at [`DUE`] before the threads start; one thread
/// moves it to [`LATER`] and then cancels it, another fires at [`NOW`]. The
/// entry is freed exactly once: by the firing (`Fired`, then `cancel`
/// returns `false`) or by the cancel (`Moved`, then `cancel` returns
/// `true`, and the waker is never woken). Unbounded.
#[test]
fn timer_reset_then_cancel_vs_fire() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(1));
        let (count, waker) = CountingWaker::new();
        let (key, _) = pending(timers.register(0, DUE, &waker));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, NOW))
        };
        let resetting = {
            let timers = timers.clone();
            thread::spawn(move || (timers.reset(key, LATER), timers.cancel(key)))
        };
        let (reset, cancelled) = resetting.join().unwrap();
        let fired = firing.join().unwrap();
        match reset {
            Reset::Fired => assert!(!cancelled && fired == 1, "freed twice"),
            Reset::Moved { .. } => assert!(cancelled && fired == 0, "moved, yet fired early"),
        }
        assert_eq!(count.wakes(), fired);
        assert_eq!(fire(&timers, LATER), 0, "cancelled or fired already");
        assert_eq!(timers.len(), 0);
        drop(waker);
        assert_eq!(
            std::sync::Arc::strong_count(&count),
            1,
            "a waker clone leaked"
        );
    });
}
