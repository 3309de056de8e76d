//! Converting between `Instant`s and the wheel's ticks.

use std::time::{Duration, Instant};

/// log2 of the tick length in nanoseconds.
const TICK_SHIFT: u32 = 16;

/// The timer resolution: one tick, 2^16 ns (about 65.5 µs).
///
/// Finer than tokio's 1 ms, so that a short sleep is not rounded up by most
/// of a millisecond; a power of two, so that converting is a shift. The
/// lateness this buys is measured in `docs/benchmarks.md`.
pub const TICK: Duration = Duration::from_nanos(1 << TICK_SHIFT);

/// The timers' time base: ticks of [`TICK`] since the clock was made.
///
/// Deadlines round **up** and the current time rounds **down**, so a timer
/// whose deadline in ticks has been reached is past its `Instant` deadline
/// too: nothing fires early, and rounding makes a timer at most one tick
/// late.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use tasklane_timer::Clock;
///
/// let clock = Clock::new();
/// let deadline = Instant::now() + Duration::from_micros(1500);
/// let tick = clock.deadline_ticks(deadline);
/// assert!(clock.instant_at(tick) >= deadline);
/// assert!(clock.now_ticks() < tick);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose zero is now.
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// Whole ticks elapsed since the clock's zero (rounded down).
    pub fn now_ticks(&self) -> u64 {
        self.floor_ticks(Instant::now())
    }

    /// Nanoseconds from the zero to `instant` (0 before it), saturating.
    fn nanos(&self, instant: Instant) -> u64 {
        let d = instant.saturating_duration_since(self.start);
        // In u64 rather than through `as_nanos`' u128: this runs on every
        // timer registration. Saturates after 584 years.
        d.as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()))
    }

    /// `instant` in whole ticks since zero, rounded down (0 for instants
    /// before the zero).
    pub fn floor_ticks(&self, instant: Instant) -> u64 {
        self.nanos(instant) >> TICK_SHIFT
    }

    /// The first tick at or after `deadline` (rounded up, so the timer never
    /// fires before `deadline`; saturates for far deadlines, which the wheel
    /// clamps).
    pub fn deadline_ticks(&self, deadline: Instant) -> u64 {
        self.nanos(deadline).div_ceil(1 << TICK_SHIFT)
    }

    /// The instant of tick `tick` (saturating far in the future).
    pub fn instant_at(&self, tick: u64) -> Instant {
        let nanos = tick.saturating_mul(1 << TICK_SHIFT);
        self.start
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365 * 30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_never_early() {
        let clock = Clock::new();
        for ns in [0u64, 1, 65_535, 65_536, 65_537, 1_000_000, 123_456_789] {
            let deadline = clock.start + Duration::from_nanos(ns);
            let tick = clock.deadline_ticks(deadline);
            assert!(clock.instant_at(tick) >= deadline, "{ns}");
            assert!(clock.instant_at(tick) < deadline + TICK, "{ns}");
            assert!(clock.floor_ticks(deadline) <= tick);
            assert!(clock.instant_at(clock.floor_ticks(deadline)) <= deadline);
        }
        assert_eq!(clock.deadline_ticks(clock.start + TICK), 1);
        assert_eq!(
            clock.floor_ticks(clock.start + TICK * 2 - Duration::from_nanos(1)),
            1
        );
    }
}
