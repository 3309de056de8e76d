//! The runtime's clock: real time, or virtual time while paused, and the
//! exact-deadline timers registered while it is paused.
//!
//! Each runtime's driver owns one [`Clock`]. It reads real time until it is
//! first paused; from then on it reads its own state:
//!
//! * paused: `now` is `base`, which moves only by [`Clock::advance`] (the
//!   `time::advance` of a task) and [`Clock::advance_to`] (the driver's
//!   auto-advance, made only while the scheduler is idle);
//! * resumed: `now` is `base + (real now - anchor)`, where `anchor` is the
//!   real time of the resume: real speed, from the virtual time reached, so
//!   the clock never goes back.
//!
//! # Timers while paused
//!
//! The timing wheel rounds deadlines up to a tick (`TICK`), which a paused
//! clock must not do: a test that sleeps an hour expects to wake at exactly
//! an hour, and two sleeps in one tick to wake in deadline order, at their
//! own instants. So a timer registered while the clock is paused goes into
//! this clock's ordered map, keyed by its exact deadline (and a sequence
//! number for equal deadlines), rather than into the wheel. The driver
//! fires the map as it fires the wheel (both, every time it looks), takes
//! the earlier of their next deadlines as the one to jump to, and blocks no
//! later than the map's first deadline once the clock runs again; a timer
//! stays in the structure it was registered in until it fires or is
//! cancelled. Deciding where a registration goes costs the unpaused path
//! one relaxed load of `paused`.
//!
//! Wakers leave the map under its lock and are woken, or dropped, after it
//! is released: dropping one can free a task whose timer's drop comes back
//! here.
//!
//! # `Instant::now`
//!
//! `SHIFTED_CLOCKS` counts the clocks, in the process, that were ever
//! paused. While it is zero, [`now`] is `std::time::Instant::now()` after
//! one relaxed load; otherwise it asks the current runtime's clock. A
//! thread that learns of a pause through any synchronisation (a wake, a
//! channel) sees the count raised, since the pause raised it first.

use crate::runtime::Handle;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant as StdInstant};

/// Clocks in this process that were ever paused (module docs).
static SHIFTED_CLOCKS: AtomicUsize = AtomicUsize::new(0);

/// The current runtime's time, or real time outside a runtime.
pub(crate) fn now() -> StdInstant {
    if SHIFTED_CLOCKS.load(Ordering::Relaxed) == 0 {
        return StdInstant::now();
    }
    now_shifted()
}

#[cold]
fn now_shifted() -> StdInstant {
    Handle::try_with_current(|h| h.driver().clock().now()).unwrap_or_else(StdInstant::now)
}

/// A timer in a clock's map: its exact deadline, then a sequence number
/// that keeps equal deadlines apart (and in registration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VirtualKey {
    deadline: StdInstant,
    seq: u64,
}

/// The error of [`Clock::advance`] on a running clock.
#[derive(Debug)]
pub(crate) struct NotPaused;

/// A runtime's clock (module docs).
pub(crate) struct Clock {
    /// Ever paused: `now` reads `state`, and the clock is counted in
    /// `SHIFTED_CLOCKS`. Set once, under the lock.
    shifted: AtomicBool,
    /// Paused now; written under the lock, read without it as a hint (where a
    /// registration goes, whether the driver auto-advances). Relaxed: the
    /// lock orders what depends on it.
    paused: AtomicBool,
    /// Timers in `state.timers`, read without the lock by the driver's look
    /// for due timers.
    pending: AtomicUsize,
    state: Mutex<State>,
}

struct State {
    paused: bool,
    /// Paused: the time. Running: the time at `anchor`.
    base: StdInstant,
    /// The real time of the last resume (running only).
    anchor: StdInstant,
    /// Timers registered while paused, by exact deadline.
    timers: BTreeMap<VirtualKey, Waker>,
    next_seq: u64,
}

impl State {
    fn now(&self) -> StdInstant {
        if self.paused {
            self.base
        } else {
            self.base + StdInstant::now().saturating_duration_since(self.anchor)
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("paused", &self.is_paused())
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Clock {
    /// A clock reading real time, paused at once if `paused`.
    pub(crate) fn new(paused: bool) -> Clock {
        let now = StdInstant::now();
        let clock = Clock {
            shifted: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            state: Mutex::new(State {
                paused: false,
                base: now,
                anchor: now,
                timers: BTreeMap::new(),
                next_seq: 0,
            }),
        };
        if paused {
            clock.pause();
        }
        clock
    }

    /// The clock's time.
    pub(crate) fn now(&self) -> StdInstant {
        if !self.shifted.load(Ordering::Relaxed) {
            return StdInstant::now();
        }
        self.state.lock().now()
    }

    /// Whether the clock is paused (a hint: see `paused`).
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Stops the clock at its current time; `false` if it was paused
    /// already.
    pub(crate) fn pause(&self) -> bool {
        let mut st = self.state.lock();
        if st.paused {
            return false;
        }
        st.base = st.now();
        st.paused = true;
        if !self.shifted.load(Ordering::Relaxed) {
            // Counted before any thread can read a virtual time from it.
            SHIFTED_CLOCKS.fetch_add(1, Ordering::Relaxed);
            self.shifted.store(true, Ordering::Relaxed);
        }
        self.paused.store(true, Ordering::Relaxed);
        true
    }

    /// Lets the clock run again at real speed from its current time;
    /// `false` if it was not paused.
    pub(crate) fn resume(&self) -> bool {
        let mut st = self.state.lock();
        if !st.paused {
            return false;
        }
        st.anchor = StdInstant::now();
        st.paused = false;
        self.paused.store(false, Ordering::Relaxed);
        true
    }

    /// Moves a paused clock forward by exactly `d` (saturating far in the
    /// future) and takes every timer of the map due by then, in deadline
    /// order, into `fired` (to be woken by the caller).
    pub(crate) fn advance(&self, d: Duration, fired: &mut Vec<Waker>) -> Result<(), NotPaused> {
        let mut st = self.state.lock();
        if !st.paused {
            return Err(NotPaused);
        }
        st.base = st
            .base
            .checked_add(d)
            .unwrap_or(st.base + crate::time::MAX_DELAY);
        let now = st.base;
        self.take_due_locked(&mut st, now, fired);
        Ok(())
    }

    /// The driver's auto-advance: moves a paused clock to `t` if that is
    /// later. Does nothing to a running clock (it was resumed meanwhile).
    pub(crate) fn advance_to(&self, t: StdInstant) {
        let mut st = self.state.lock();
        if st.paused && t > st.base {
            st.base = t;
        }
    }

    /// Registers `waker` for `deadline` in the map; `None` if the clock has
    /// reached `deadline` already.
    pub(crate) fn register(&self, deadline: StdInstant, waker: &Waker) -> Option<VirtualKey> {
        let mut st = self.state.lock();
        if deadline <= st.now() {
            return None;
        }
        Some(self.insert_locked(&mut st, deadline, waker.clone()))
    }

    fn insert_locked(&self, st: &mut State, deadline: StdInstant, waker: Waker) -> VirtualKey {
        let key = VirtualKey {
            deadline,
            seq: st.next_seq,
        };
        st.next_seq += 1;
        st.timers.insert(key, waker);
        self.pending.store(st.timers.len(), Ordering::Relaxed);
        key
    }

    /// Whether `key` has fired (or been cancelled); if not, `waker` replaces
    /// the stored one unless both wake the same task.
    pub(crate) fn poll(&self, key: VirtualKey, waker: &Waker) -> bool {
        let mut st = self.state.lock();
        let old = match st.timers.get_mut(&key) {
            None => return true,
            Some(stored) if stored.will_wake(waker) => return false,
            Some(stored) => std::mem::replace(stored, waker.clone()),
        };
        drop(st);
        // Dropped outside the lock (module docs).
        drop(old);
        false
    }

    /// Moves `key`'s timer to `deadline`, keeping its waker: its new key,
    /// or `None` if it had fired. A deadline the clock has reached fires on
    /// the driver's next look.
    pub(crate) fn reset(&self, key: VirtualKey, deadline: StdInstant) -> Option<VirtualKey> {
        let mut st = self.state.lock();
        let waker = st.timers.remove(&key)?;
        Some(self.insert_locked(&mut st, deadline, waker))
    }

    /// Removes `key`'s timer without waking it.
    pub(crate) fn cancel(&self, key: VirtualKey) {
        let mut st = self.state.lock();
        let waker = st.timers.remove(&key);
        self.pending.store(st.timers.len(), Ordering::Relaxed);
        drop(st);
        // Dropped outside the lock (module docs).
        drop(waker);
    }

    /// Whether the map may hold a timer (a relaxed hint: a registration
    /// racing this read is seen by the driver's next look, as with the
    /// wheel's hints).
    pub(crate) fn has_timers(&self) -> bool {
        self.pending.load(Ordering::Relaxed) != 0
    }

    /// Number of timers in the map.
    pub(crate) fn num_timers(&self) -> usize {
        self.state.lock().timers.len()
    }

    /// The earliest deadline in the map.
    pub(crate) fn next_deadline(&self) -> Option<StdInstant> {
        let st = self.state.lock();
        st.timers.first_key_value().map(|(k, _)| k.deadline)
    }

    /// Takes every timer of the map due by `now` into `fired`, in deadline
    /// order.
    pub(crate) fn take_due(&self, now: StdInstant, fired: &mut Vec<Waker>) {
        let mut st = self.state.lock();
        self.take_due_locked(&mut st, now, fired);
    }

    fn take_due_locked(&self, st: &mut State, now: StdInstant, fired: &mut Vec<Waker>) {
        while let Some(entry) = st.timers.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            fired.push(entry.remove());
        }
        self.pending.store(st.timers.len(), Ordering::Relaxed);
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        if *self.shifted.get_mut() {
            SHIFTED_CLOCKS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
