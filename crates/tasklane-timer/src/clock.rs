//! Converting between `Instant`s and the wheel's milliseconds.

use std::time::{Duration, Instant};

/// The timers' time base: milliseconds since the clock was made.
///
/// Deadlines round **up** and the current time rounds **down**, so a timer
/// whose deadline in milliseconds has been reached is past its `Instant`
/// deadline too: nothing fires early, and a timer is at most 1 ms (the
/// resolution) late on this account.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use tasklane_timer::Clock;
///
/// let clock = Clock::new();
/// let deadline = Instant::now() + Duration::from_micros(1500);
/// let ms = clock.deadline_ms(deadline);
/// assert!(clock.instant_at(ms) >= deadline);
/// assert!(clock.now_ms() < ms);
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

    /// The whole milliseconds elapsed since the clock's zero (rounded down).
    pub fn now_ms(&self) -> u64 {
        self.floor_ms(Instant::now())
    }

    /// `instant` in whole milliseconds since zero, rounded down (0 for
    /// instants before the zero).
    pub fn floor_ms(&self, instant: Instant) -> u64 {
        let d = instant.saturating_duration_since(self.start);
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    }

    /// The first millisecond at or after `deadline` (rounded up, so the
    /// timer never fires before `deadline`; saturates for far deadlines,
    /// which the wheel clamps).
    pub fn deadline_ms(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if d.subsec_nanos().is_multiple_of(1_000_000) {
            ms
        } else {
            ms.saturating_add(1)
        }
    }

    /// The instant of millisecond `ms` (saturating far in the future).
    pub fn instant_at(&self, ms: u64) -> Instant {
        self.start
            .checked_add(Duration::from_millis(ms))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365 * 30))
    }
}
