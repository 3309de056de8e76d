//! `Timers::cancel_batch` (a worker applying its batch of cancellations)
//! while another thread fires due timers, and the batch's count that
//! `Timers::len` leaves out. Each timer in the batch is either cancelled by
//! the batch or fired, never both and never neither; every waker is woken
//! at most once, every entry freed once, and `len` never counts a batched
//! timer nor goes below the timers really pending.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::mock::{self, CountingWaker};
use loom_tests::timer::{fire, pending};
use tasklane_timer::Timers;

/// Two timers in shard 0, one due at 5 and one at 9, both batched and then
/// cancelled in one batch, while another thread fires at 5 (so only the
/// first may fire). A third timer at 7, not batched, stays registered
/// throughout. Unbounded.
#[test]
fn timer_cancel_batch_vs_fire() {
    mock::model(None, || {
        let timers = Arc::new(Timers::new(1));
        let (due, due_waker) = CountingWaker::new();
        let (later, later_waker) = CountingWaker::new();
        let (kept, kept_waker) = CountingWaker::new();
        let (k_due, _) = pending(timers.register(0, 5, &due_waker));
        let (k_later, _) = pending(timers.register(0, 9, &later_waker));
        let _ = pending(timers.register(0, 7, &kept_waker));
        let firing = {
            let timers = timers.clone();
            thread::spawn(move || fire(&timers, 5))
        };
        let mut batch = vec![k_due, k_later];
        timers.note_batched(0, batch.len());
        // Only the kept timer counts, whether or not the due one has fired
        // yet (then `len` is low by one, never high).
        let counted = timers.len();
        assert!(counted <= 1, "len counted a batched timer: {counted}");
        let cancelled = timers.cancel_batch(0, &mut batch);
        assert!(batch.is_empty());
        let fired = firing.join().unwrap();
        assert_eq!(fired, due.wakes(), "only the due timer may fire");
        assert!(due.wakes() <= 1);
        assert_eq!(later.wakes(), 0, "the later timer cannot have fired");
        // The due timer went one way or the other; the later one was
        // cancelled by the batch.
        assert_eq!(cancelled + due.wakes(), 2);
        assert_eq!(timers.len(), 1, "the kept timer, and nothing else");
        assert_eq!(fire(&timers, 1_000), 1);
        assert_eq!(kept.wakes(), 1);
        assert_eq!(timers.len(), 0);
        drop((due_waker, later_waker, kept_waker));
        for c in [&due, &later, &kept] {
            assert_eq!(std::sync::Arc::strong_count(c), 1, "a waker clone leaked");
        }
    });
}
