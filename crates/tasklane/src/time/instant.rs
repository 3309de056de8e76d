//! [`Instant`]: a point on the runtime's clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A point in time on the runtime's clock: real monotonic time, or virtual
/// time while the current runtime's clock is paused
/// ([`pause`](super::pause), [`Builder::start_paused`](crate::Builder::start_paused)).
///
/// It is a `std::time::Instant` underneath and converts both ways for
/// free; [`Instant::now`] is the one difference. On a thread with no
/// runtime, or in a runtime whose clock has never been paused, it is
/// `std::time::Instant::now()` (after one relaxed load of a process-wide
/// count of clocks that were ever paused, which is zero unless some
/// runtime's was). Inside a runtime whose clock is paused it is that
/// clock's virtual time; once the clock has resumed it runs at real speed
/// again, from the virtual time it had reached (so it never goes back, and
/// may differ from `std::time::Instant::now()` from then on).
///
/// Every timer of the runtime reads this clock: [`sleep`](super::sleep),
/// [`sleep_until`](super::sleep_until), [`interval`](super::interval),
/// [`wait_for`](crate::wait_for), [`timeout`](super::timeout) and
/// [`CancelScope`](crate::CancelScope) deadlines, hyper's timer, the grace
/// of [`JoinHandle::cancel_within`](crate::task::JoinHandle::cancel_within).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::Instant;
///
/// let rt = tasklane::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     tasklane::time::sleep(Duration::from_secs(3600)).await; // returns at once
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
///     let std: std::time::Instant = start.into();
///     assert_eq!(Instant::from(std), start);
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The current time on the current runtime's clock (type docs).
    pub fn now() -> Instant {
        Instant(super::clock::now())
    }

    /// The same point as a `std::time::Instant`.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// `std`'s instant as one of this clock (the same point).
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant(std)
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later (as
    /// `std::time::Instant::duration_since` does today).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time since `self` on the runtime's clock (zero if `self` is later).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if that is not representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, or `None` if that is not representable.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result is not representable; see [`Instant::checked_add`].
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result is not representable; see [`Instant::checked_sub`].
    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0 - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// [`duration_since`](Instant::duration_since): zero if `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
