//! Helpers for the models of `tasklane-timer`'s [`Timers`]: unwrapping a
//! registration and firing due timers the way the runtime's driver does.
//!
//! The wakers the timer models store are [`CountingWaker`]s: `Arc`-based
//! (std's `Arc`, which `std::task::Wake` needs) with a loom counter of wakes,
//! so a model checks both how often a waker was woken and, through
//! `std::sync::Arc::strong_count`, that every clone the timers made of it
//! was dropped.
//!
//! [`CountingWaker`]: crate::mock::CountingWaker

use tasklane_timer::{Registration, TimerKey, Timers};

/// The key and `unpark` flag of a registration that must have been stored.
///
/// # Panics
///
/// If it is [`Registration::Expired`].
#[track_caller]
pub fn pending(registration: Registration) -> (TimerKey, bool) {
    match registration {
        Registration::Pending { key, unpark } => (key, unpark),
        Registration::Expired => panic!("the deadline had not passed, yet it was not stored"),
    }
}

/// Fires every timer due at `now_ms` as the driver does: collects the wakers
/// under the shard locks ([`Timers::process`]), then wakes each (by value,
/// so the clone the timers held is dropped) after the locks are released.
/// Returns how many it woke.
pub fn fire(timers: &Timers, now_ms: u64) -> usize {
    let mut fired = Vec::new();
    timers.process(now_ms, &mut fired);
    let n = fired.len();
    for waker in fired {
        waker.wake();
    }
    n
}

/// Makes the latest store to each of the park protocol's words a `SeqCst`
/// one, without changing what they mean: every shard's `next` is stored
/// (empty, by a [`Timers::process`] that fires a timer registered just for
/// this) and `parked_until` is set to "awake" ([`Timers::unparked`]). Call
/// it on new timers, before the model's threads start; it leaves them empty,
/// each shard's clock at 1 ms.
///
/// Why: loom 0.7 does not fully model `SeqCst` loads (its README, and
/// tokio-rs/loom#180). It lets a `SeqCst` load read an atomic's *initial*
/// value even after a newer `SeqCst` store, because it records the initial
/// value as a non-`SeqCst` store. C11 forbids that when the initial value
/// happens-before the newer store, as it does here (the timers are created
/// before the threads are spawned). Without this call the park model fails
/// on an interleaving the real memory model rules out: the driver reads the
/// initial `next` after the registration's `fetch_min`, and the registration
/// reads the initial `parked_until` after the driver's store of `SCANNING`.
/// Once the latest stores are `SeqCst`, loom does apply the rule (a
/// `SeqCst` load never reads a `SeqCst` store older than the newest one
/// executed), so the protocol's `SeqCst` pairs are checked as written, and a
/// weaker ordering in the code under test still shows up as a failure.
///
/// # Panics
///
/// If the timers are not new (a shard was not empty, or its clock is past
/// 1 ms).
pub fn seq_cst_baseline(timers: &Timers) {
    assert!(timers.is_empty(), "seq_cst_baseline wants new timers");
    for shard in 0..timers.num_shards() {
        let _ = pending(timers.register(shard, 1, std::task::Waker::noop()));
    }
    let mut fired = Vec::new();
    timers.process(1, &mut fired);
    assert_eq!(fired.len(), timers.num_shards());
    assert!(timers.is_empty());
    timers.unparked();
}
