//! Timers shared by many threads: one [`Wheel`] per shard, each behind its own
//! lock, and the protocol by which the thread that blocks learns of an earlier
//! deadline.
//!
//! # Why shards
//!
//! Every request in a service has a timeout and most never fire, so the hot
//! path is register-then-cancel from whichever worker runs the task. One wheel
//! behind one lock makes every worker take the same lock twice per timeout.
//! Here each worker registers into its
//! own shard, so the lock it takes is almost always uncontended and its cache
//! line stays on its core; a task that migrates cancels in the shard it
//! registered in (a [`TimerKey`] names its shard). The thread that fires
//! timers visits every shard, but it skips a shard without locking it unless
//! the shard's `next` hint says something is due.
//!
//! # The entry protocol
//!
//! An entry is a slab slot in one shard's wheel holding the registering
//! task's `Waker`. Every access to it is made under that shard's lock, so the
//! races between firing, cancelling, polling and resetting reduce to the
//! order in which the lock is taken:
//!
//! | first holder of the lock | then | outcome |
//! |---|---|---|
//! | `process` fires the entry | `cancel` / `poll` / `reset` | the key is stale: `cancel` returns `false`, `poll` reports fired, `reset` reports [`Reset::Fired`] |
//! | `cancel` removes the entry | `process` | nothing to fire; the waker is never woken |
//! | `reset` moves the entry | `process` | fires only at the new deadline |
//!
//! The slab's generation check makes a stale key inert even after its slot is
//! reused, so an entry is freed exactly once (by firing or by cancel) and its
//! waker is woken at most once. Wakers are woken, and replaced wakers
//! dropped, after the lock is released: a waker's code never runs under a
//! shard lock.
//!
//! # The park protocol
//!
//! One thread at a time (the runtime's driver) blocks until the next
//! deadline. `parked_until` tells registering threads whether they must wake
//! it:
//!
//! * `0` (`AWAKE`): nobody is blocked on the timers; whoever fires them next
//!   will look at every shard anyway.
//! * `u64::MAX` (`SCANNING`): the driver is about to block and is computing
//!   how long for, or blocks with no deadline at all (every shard's `next`
//!   was `NO_DEADLINE`, the same value); either way every registration must
//!   wake it.
//! * `m`: the driver blocks until tick `m`; a registration for a deadline `< m`
//!   must wake it.
//!
//! 1. The driver ([`Timers::park_deadline`]) stores `SCANNING`, reads every
//!    shard's `next`, then stores the minimum `m`; [`Timers::unparked`]
//!    stores `AWAKE` when it wakes.
//! 2. A registration (or reset) lowers its shard's `next` (if its deadline
//!    is earlier; otherwise the write that set `next` is the one that
//!    matters), then reads `parked_until`.
//!
//! All four accesses are `SeqCst`, so in their single total order either the
//! driver's read of `next` comes after the registration's update (the driver
//! sees the deadline and blocks no later than it), or the registration's
//! read of `parked_until` comes after the driver's store of `SCANNING` (it
//! sees `SCANNING` or `m` and asks for an unpark when its deadline is
//! earlier). A wake-up is therefore never lost; at worst it is spurious.
//! The loom model `timer_park_no_lost_deadline` checks this.

use std::fmt;
use std::task::Waker;

use crate::EntryKey;
use crate::sync::Mutex;
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::wheel::Wheel;

/// `parked_until` when nobody is blocked on the timers.
const AWAKE: u64 = 0;
/// `next` of a shard with no timer, and the minimum over shards when none
/// has one.
const NO_DEADLINE: u64 = u64::MAX;
/// `parked_until` while the driver computes its deadline. It equals
/// `NO_DEADLINE`, which the driver stores when it blocks with no deadline:
/// in both cases every registration must wake it (module docs).
const SCANNING: u64 = NO_DEADLINE;

// A registration compares its deadline with `parked_until`: every deadline is
// below `SCANNING`, none is below `AWAKE`.
const _: () = assert!(AWAKE < SCANNING);

/// A registered timer: the shard it lives in and its key there.
///
/// Stale once the timer has fired or been cancelled; every operation on a
/// stale key is a harmless no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    shard: u32,
    entry: EntryKey,
}

impl TimerKey {
    /// The shard the timer was registered in.
    pub fn shard(&self) -> usize {
        self.shard as usize
    }
}

/// What [`Timers::register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a Pending registration may require an unpark of the driver"]
pub enum Registration {
    /// The deadline had already passed for the shard's clock: nothing was
    /// stored and the caller may complete at once.
    Expired,
    /// Stored; the waker is woken once the deadline passes.
    Pending {
        /// The entry, for [`poll`](Timers::poll), [`reset`](Timers::reset) and
        /// [`cancel`](Timers::cancel).
        key: TimerKey,
        /// The driver is blocked past this deadline: the caller must unpark
        /// it (the timers do not know how).
        unpark: bool,
    },
}

/// What [`Timers::reset`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a Moved reset may require an unpark of the driver"]
pub enum Reset {
    /// The entry now fires at the new deadline; `unpark` as in
    /// [`Registration::Pending`].
    Moved {
        /// The caller must unpark the driver.
        unpark: bool,
    },
    /// The entry had already fired (or been cancelled): the key is stale and
    /// the caller registers afresh.
    Fired,
}

/// One shard: a wheel and a lock-free hint of its earliest deadline.
// 128-byte alignment keeps two shards' hot words off one cache line pair
// (adjacent-line prefetch), as crossbeam's `CachePadded` does on x86-64.
#[repr(align(128))]
struct Shard {
    wheel: Mutex<Wheel<Waker>>,
    /// A lower bound on the earliest deadline in `wheel` (`NO_DEADLINE` if
    /// empty).
    /// Lowered by `register`/`reset` and recomputed by `process`, always
    /// under the lock; read without it as a hint and by the park protocol.
    next: AtomicU64,
    /// How many of the shard's timers its owner has cancelled in a batch
    /// not yet applied ([`Timers::note_batched`]): written by the owner
    /// without the lock, reset by [`Timers::cancel_batch`] under it, and
    /// read under it by [`Timers::len`].
    batched: AtomicUsize,
}

impl Shard {
    /// Lowers `next` to `when` if that is earlier. Called with the wheel's
    /// lock held: every writer of `next` holds it, so the `Relaxed` load sees
    /// the latest value, and a plain store cannot lose a concurrent update.
    /// The store is `SeqCst` for the park protocol (module docs). When `when`
    /// is not earlier nothing is stored: the value already there is a bound
    /// for the new entry too, and the write that put it there was itself
    /// covered by the protocol.
    fn lower_next(&self, when: u64) {
        if when < self.next.load(Ordering::Relaxed) {
            self.next.store(when, Ordering::SeqCst);
        }
    }
}

/// Deadline-ordered wakers, sharded so that threads register and cancel
/// without sharing a lock. Time is in ticks of the caller's clock (`Clock`).
///
/// # Examples
///
/// ```
/// use std::task::Waker;
/// use tasklane_timer::{Registration, Timers};
///
/// let timers = Timers::new(2);
/// let Registration::Pending { key, .. } = timers.register(0, 10, Waker::noop()) else {
///     unreachable!()
/// };
/// let mut fired = Vec::new();
/// timers.process(9, &mut fired);
/// assert!(fired.is_empty());
/// timers.process(10, &mut fired);
/// assert_eq!(fired.len(), 1);
/// assert!(timers.poll(key, Waker::noop())); // fired
/// ```
pub struct Timers {
    shards: Box<[Shard]>,
    /// The park protocol's word (module docs).
    parked_until: AtomicU64,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("shards", &self.shards.len())
            .field("parked_until", &self.parked_until.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Timers {
    /// Timers with `shards` shards (at least one): one per worker thread is
    /// the intended use.
    pub fn new(shards: usize) -> Timers {
        let shards = (0..shards.max(1))
            .map(|_| Shard {
                wheel: Mutex::new(Wheel::new()),
                next: AtomicU64::new(NO_DEADLINE),
                batched: AtomicUsize::new(0),
            })
            .collect();
        Timers {
            shards,
            parked_until: AtomicU64::new(AWAKE),
        }
    }

    /// The number of shards.
    pub fn num_shards(&self) -> usize {
        self.shards.len()
    }

    fn shard(&self, index: usize) -> &Shard {
        &self.shards[index % self.shards.len()]
    }

    /// Stores `waker` to be woken once the time reaches `deadline`, in shard
    /// `shard` (taken modulo the number of shards). O(1).
    ///
    /// A deadline the shard's clock has already reached is not stored:
    /// [`Registration::Expired`]. A deadline too far ahead is clamped to
    /// [`MAX_DELAY`](crate::MAX_DELAY) past the shard's clock.
    pub fn register(&self, shard: usize, deadline: u64, waker: &Waker) -> Registration {
        let index = shard % self.shards.len();
        let shard = &self.shards[index];
        let mut wheel = shard.wheel.lock();
        if deadline <= wheel.elapsed() {
            return Registration::Expired;
        }
        // The wheel's own clamp, computed here to save a lookup.
        let when = deadline.min(wheel.elapsed().saturating_add(crate::MAX_DELAY));
        let entry = wheel.insert(when, waker.clone());
        debug_assert_eq!(wheel.deadline(entry), Some(when));
        shard.lower_next(when);
        drop(wheel);
        Registration::Pending {
            key: TimerKey {
                shard: index as u32,
                entry,
            },
            unpark: when < self.parked_until.load(Ordering::SeqCst),
        }
    }

    /// Whether `key`'s timer has fired (or been cancelled). If it has not,
    /// `waker` replaces the stored waker unless both wake the same task.
    pub fn poll(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut wheel = self.shard(key.shard as usize).wheel.lock();
        let old = match wheel.get_mut(key.entry) {
            None => return true,
            Some(stored) if stored.will_wake(waker) => return false,
            Some(stored) => std::mem::replace(stored, waker.clone()),
        };
        drop(wheel);
        // The replaced waker is dropped here, outside the lock.
        drop(old);
        false
    }

    /// Moves `key`'s timer to `deadline` (clamped as in
    /// [`register`](Self::register); a past deadline fires on the next
    /// [`process`](Self::process)), keeping its waker. O(1).
    pub fn reset(&self, key: TimerKey, deadline: u64) -> Reset {
        let shard = self.shard(key.shard as usize);
        let mut wheel = shard.wheel.lock();
        if !wheel.reset(key.entry, deadline) {
            return Reset::Fired;
        }
        let when = wheel.deadline(key.entry).expect("just reset");
        shard.lower_next(when);
        drop(wheel);
        Reset::Moved {
            unpark: when < self.parked_until.load(Ordering::SeqCst),
        }
    }

    /// Removes `key`'s timer without waking it; `false` if it had already
    /// fired or been cancelled. O(1).
    pub fn cancel(&self, key: TimerKey) -> bool {
        let mut wheel = self.shard(key.shard as usize).wheel.lock();
        let waker = wheel.remove(key.entry);
        drop(wheel);
        waker.is_some()
    }

    /// Cancels every key in `keys`, all of shard `shard`, under one
    /// acquisition of its lock, and empties `keys`; returns how many were
    /// still registered. Stale keys are skipped, as [`cancel`](Self::cancel)
    /// skips them. The removed wakers are dropped after the lock is
    /// released.
    ///
    /// Cancelling in batches spares the lock's two atomic instructions per
    /// timer, and with them the wait, at each, for the stores into the
    /// wheel's cold slots to drain (`docs/benchmarks.md`, timers).
    ///
    /// # Panics
    ///
    /// In debug builds, if a key is not of shard `shard`.
    pub fn cancel_batch(&self, shard: usize, keys: &mut Vec<TimerKey>) -> usize {
        const CHUNK: usize = 64;
        let mut removed = 0;
        for chunk in keys.chunks(CHUNK) {
            let mut wakers: [Option<Waker>; CHUNK] = [const { None }; CHUNK];
            let mut wheel = self.shard(shard).wheel.lock();
            for (key, slot) in chunk.iter().zip(wakers.iter_mut()) {
                debug_assert_eq!(
                    key.shard as usize % self.shards.len(),
                    shard % self.shards.len()
                );
                *slot = wheel.remove(key.entry);
            }
            // Under the lock, so that `len` sees the entries and this count
            // change together.
            self.shard(shard).batched.store(0, Ordering::Release);
            drop(wheel);
            removed += wakers.iter().filter(|w| w.is_some()).count();
            // The wakers are dropped here, outside the lock.
        }
        keys.clear();
        removed
    }

    /// The owner of shard `shard` holds `n` of its keys in a batch of
    /// cancellations for [`cancel_batch`](Self::cancel_batch): [`len`]
    /// leaves them out. Only the shard's owner calls this, after each key
    /// it adds.
    ///
    /// [`len`]: Self::len
    pub fn note_batched(&self, shard: usize, n: usize) {
        self.shard(shard).batched.store(n, Ordering::Release);
    }

    /// Fires every timer whose deadline is `<= now`: removes it and pushes
    /// its waker onto `fired` for the caller to wake (after this returns, so
    /// no waker runs under a shard lock). Shards with nothing due are skipped
    /// without taking their lock.
    ///
    /// `process`, [`park_deadline`](Self::park_deadline) and
    /// [`unparked`](Self::unparked) are the driver's: one thread at a time,
    /// handed over with a happens-before edge (the runtime's driver slot is
    /// an acquire/release flag).
    pub fn process(&self, now: u64, fired: &mut Vec<Waker>) {
        for shard in self.shards.iter() {
            // A hint only: a registration racing this read is caught by the
            // park protocol or by the next call.
            if shard.next.load(Ordering::Acquire) > now {
                continue;
            }
            let mut wheel = shard.wheel.lock();
            wheel.advance(now, |_, waker| fired.push(waker));
            shard.next.store(
                wheel.next_expiration().unwrap_or(NO_DEADLINE),
                Ordering::SeqCst,
            );
        }
    }

    /// The driver is about to block: returns the deadline to block until
    /// (`None`: no timers), having published it so that any registration of
    /// an earlier deadline reports `unpark` (module docs). Pair with
    /// [`unparked`](Self::unparked) when the driver wakes.
    pub fn park_deadline(&self) -> Option<u64> {
        self.parked_until.store(SCANNING, Ordering::SeqCst);
        let next = self
            .shards
            .iter()
            .map(|s| s.next.load(Ordering::SeqCst))
            .min()
            .unwrap_or(NO_DEADLINE);
        self.parked_until.store(next, Ordering::SeqCst);
        (next != NO_DEADLINE).then_some(next)
    }

    /// The driver is awake again: registrations stop asking for unparks
    /// until its next [`park_deadline`](Self::park_deadline).
    pub fn unparked(&self) {
        self.parked_until.store(AWAKE, Ordering::SeqCst);
    }

    /// Whether any timer may be registered: a conservative hint from the
    /// shards' `next` words, without locking (a shard whose timers were all
    /// cancelled may still say yes until the next [`process`](Self::process)).
    pub fn may_have_pending(&self) -> bool {
        self.shards
            .iter()
            .any(|s| s.next.load(Ordering::Relaxed) != NO_DEADLINE)
    }

    /// Whether the driver is blocked (or about to block) on the timers, as
    /// published by [`park_deadline`](Self::park_deadline). When it is not,
    /// a registration reports no `unpark`, and firing relies on whoever
    /// drives time next; a caller on a thread that never drives time can use
    /// this to make sure someone will.
    pub fn is_driver_blocked(&self) -> bool {
        self.parked_until.load(Ordering::SeqCst) != AWAKE
    }

    /// The number of registered timers, summed over shards (each counted
    /// under its lock, so only exact when no thread registers meanwhile),
    /// leaving out those held in a batch of cancellations
    /// ([`note_batched`](Self::note_batched)). A batched timer whose
    /// deadline passed before its batch was applied has fired and is left
    /// out twice, until then.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let wheel = s.wheel.lock();
                // Acquire: pairs with the owner's Release, made after the
                // registrations its batch cancels.
                wheel
                    .len()
                    .saturating_sub(s.batched.load(Ordering::Acquire))
            })
            .sum()
    }

    /// Whether no timer is registered (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
