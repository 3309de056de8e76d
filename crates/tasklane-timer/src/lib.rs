//! A hierarchical timing wheel: O(1) insert, cancel and reset of deadlines,
//! with cheap lookup of the next one.
//!
//! It knows deadlines and `Waker`s, never the scheduler. Three layers:
//!
//! * [`Wheel`]: the single-threaded wheel. Time is a `u64` count of
//!   ticks and each entry carries an arbitrary value `T`.
//! * [`Timers`]: one wheel per shard (per worker thread), each behind its own
//!   lock, holding `Waker`s; registration, cancel and reset from any thread,
//!   firing by whichever thread drives time, and the park protocol by which a
//!   registration learns that the blocked driver must be woken. The entry
//!   protocol (who may touch an entry when, and what happens when cancel
//!   races firing) is documented in the `timers` module.
//! * [`Clock`]: `Instant`s to ticks of 2^16 ns (about 65.5 µs), rounding so
//!   nothing fires early.
//!
//! The runtime's driver (in the `tasklane` crate) owns a `Clock` and a
//! `Timers`, fires due timers when it parks and every few scheduler ticks,
//! and blocks until [`Timers::park_deadline`].
//!
//! # Concepts
//!
//! The [`Wheel`] follows Varghese & Lauck, "Hashed and Hierarchical Timing
//! Wheels" (1987), in tokio's shape of 64-slot levels, with 7 levels rather
//! than 6 because a tick is finer than tokio's millisecond. A slot on level
//! `l` spans `64^l` ticks, so level 0 holds deadlines within the current 64
//! ticks (4.2 ms), level 1 within the current 268 ms, … and level 6 reaches
//! `64^7` ticks (≈ 9.1 years). An entry is stored on the level given by the highest bit in
//! which its deadline differs from the wheel's current time.
//!
//! * **Occupancy bitmaps.** Each level keeps a `u64` with one bit per
//!   non-empty slot; the next occupied slot is a `rotate_right` and a
//!   `trailing_zeros` away, so [`Wheel::next_expiration`] costs O(levels).
//! * **Cascading.** When [`Wheel::advance`] reaches the start of an occupied
//!   slot on level `l > 0`, the slot's entries move to lower levels (they now
//!   agree with the current time on more bits); on level 0 a slot start is
//!   the exact deadline, so entries fire there. Nothing fires early, and every
//!   entry fires once, at the first advance to a time at or past its deadline.
//! * **Slab storage.** Entries live in a `Vec` with a free list; each slot's
//!   list is doubly linked through slab indices, so [`Wheel::remove`] and
//!   [`Wheel::reset`] are O(1). An [`EntryKey`] carries a generation, so a
//!   stale key (its entry fired or was removed) never touches a newer entry.
//! * **Clamping.** A deadline in the past fires on the next advance; one more
//!   than [`MAX_DELAY`] (≈ 9.0 years of `Clock` ticks) ahead is clamped to that, never a panic.
//!
//! The level and slot arithmetic, with the invariants it guarantees, is
//! documented in the `level` module; structural invariants are checked with
//! `debug_assert!`s.
//!
//! # Examples
//!
//! ```
//! use tasklane_timer::Wheel;
//!
//! let mut wheel = Wheel::new();
//! let soon = wheel.insert(20, "soon");
//! let later = wheel.insert(10_000, "later");
//! let cancelled = wheel.insert(30, "cancelled");
//! assert_eq!(wheel.remove(cancelled), Some("cancelled"));
//!
//! // A driver sleeps until `next_expiration()` and then advances.
//! assert_eq!(wheel.next_expiration(), Some(20));
//! let mut fired = Vec::new();
//! wheel.advance(25, |key, value| fired.push((key, value)));
//! assert_eq!(fired, [(soon, "soon")]);
//!
//! // Move `later` earlier; it fires exactly at its new deadline.
//! assert!(wheel.reset(later, 100));
//! wheel.advance(99, |_, v| fired.push((later, v)));
//! assert_eq!(fired.len(), 1);
//! wheel.advance(100, |_, v| fired.push((later, v)));
//! assert_eq!(fired[1], (later, "later"));
//! assert!(wheel.is_empty());
//! ```

mod clock;
mod level;
mod slab;
mod sync;
mod timers;
mod wheel;

pub use clock::{Clock, TICK};
pub use level::MAX_DELAY;
pub use slab::EntryKey;
pub use timers::{Registration, Reset, TimerKey, Timers};
pub use wheel::Wheel;

#[cfg(test)]
mod tests;
