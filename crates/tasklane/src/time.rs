//! Time: sleeping, intervals and timeouts on the runtime's timer wheel.
//!
//! Timers have a resolution of [`TICK`] (2^16 ns, about 65.5 µs) and never
//! fire early: a deadline is rounded up to the next tick, and fires when the
//! driver sees that tick pass (when a worker parks, and every
//! [`MAINTENANCE_INTERVAL`](crate::metrics::MAINTENANCE_INTERVAL) scheduler
//! ticks on a busy runtime). On an idle runtime a sleep ends within about
//! the resolution plus the time to wake a thread; `docs/benchmarks.md` has
//! the measured lateness.
//!
//! A timer is registered on its first poll, in the timer shard of the worker
//! polling it (the last shard, from a thread that is not a worker), and
//! removed when it fires or is dropped (a worker that drops a timer of its
//! own shard removes it in a batch, soon after; until then it may still
//! fire, which wakes its task once, spuriously); nothing is allocated per
//! timer. Deadlines more than [`MAX_DELAY`] (about 9 years) away are
//! clamped to it rather than rejected.
//!
//! [`Instant`] is the runtime's clock: real time, or virtual time while the
//! clock is paused. It converts to and from `std::time::Instant` for free,
//! and the functions taking a deadline accept either.
//!
//! # Test time
//!
//! [`pause`] stops the current runtime's clock (or
//! [`Builder::start_paused`](crate::Builder::start_paused) starts it
//! stopped, on any flavour, multi-thread included). While paused, time
//! stands still as long as any task can run; once every task is idle (every
//! worker parked, nothing queued, no blocking job and no `block_on` poll in
//! flight) the clock jumps straight to the next timer's deadline, so a test
//! that sleeps an hour runs in milliseconds, and each timer fires at exactly
//! its deadline. [`advance`] moves it by hand; [`resume`] lets it run at
//! real speed again, from the virtual time reached. `docs/semantics.md`
//! ("Test time") has the rules, and what becomes of I/O and blocking jobs.
//!
//! ```
//! use std::time::Duration;
//! use tasklane::time::{Instant, sleep};
//!
//! let rt = tasklane::Runtime::builder().start_paused(true).build().unwrap();
//! rt.block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_secs(24 * 3600)).await; // at once
//!     assert_eq!(start.elapsed(), Duration::from_secs(24 * 3600));
//! });
//! ```
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use tasklane::time::{Instant, sleep};
//!
//! tasklane::run(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_millis(20)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(20));
//!
//!     let r = tasklane::wait_for(sleep(Duration::from_secs(10)), Duration::from_millis(10)).await;
//!     assert!(r.is_err());
//! });
//! ```

use crate::driver::{Key, RuntimeDriver};
use crate::runtime::Handle;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tasklane_sched::coop;

pub(crate) mod clock;
mod instant;
mod timeout;

pub use instant::Instant;
pub use timeout::{Timeout, TimeoutHandle, WaitFor, timeout, timeout_at, timeout_with, wait_for};

/// The furthest ahead a timer can be set (about 9 years); later deadlines
/// are clamped to it.
pub const MAX_DELAY: Duration =
    Duration::from_nanos(tasklane_timer::MAX_DELAY * TICK.as_nanos() as u64);

/// The timer resolution: deadlines round up to a multiple of it.
pub use tasklane_timer::TICK;

const OUTSIDE_CLOCK: &str = "tasklane::time: pause, resume and advance act on the current \
     runtime's clock; call them from a task or from Runtime::block_on";

/// Stops the current runtime's clock. Time then stands still while any
/// task can run, and jumps to the next timer's deadline once every task is
/// idle (module docs, "Test time"). Pausing a paused clock does nothing.
///
/// Works on every runtime flavour, multi-thread included.
///
/// # Panics
///
/// Outside a tasklane runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::{Instant, pause, resume, sleep};
///
/// tasklane::run(async {
///     pause();
///     let start = Instant::now();
///     sleep(Duration::from_secs(60)).await; // returns at once
///     assert_eq!(start.elapsed(), Duration::from_secs(60));
///     resume();
/// });
/// ```
#[track_caller]
pub fn pause() {
    let driver = Handle::try_with_current(|h| h.driver().clone()).expect(OUTSIDE_CLOCK);
    driver.pause();
}

/// Lets the current runtime's clock run again at real speed, from the
/// virtual time it reached: [`Instant::now`] never goes back. Timers
/// registered while it was paused keep their deadlines on the resumed
/// clock. Resuming a running clock does nothing.
///
/// # Panics
///
/// Outside a tasklane runtime.
#[track_caller]
pub fn resume() {
    let driver = Handle::try_with_current(|h| h.driver().clone()).expect(OUTSIDE_CLOCK);
    driver.resume();
}

/// Moves the paused clock forward by exactly `duration`, at once, whether
/// or not tasks are busy, and wakes every timer due by then, in deadline
/// order (each sees the clock at the new time when it runs); then yields
/// once, so that they can run.
///
/// # Panics
///
/// Outside a tasklane runtime, or if the clock is not paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::{Instant, advance, pause};
///
/// tasklane::run(async {
///     pause();
///     let start = Instant::now();
///     advance(Duration::from_millis(1500)).await;
///     assert_eq!(Instant::now() - start, Duration::from_millis(1500));
/// });
/// ```
pub async fn advance(duration: Duration) {
    let driver = Handle::try_with_current(|h| h.driver().clone()).expect(OUTSIDE_CLOCK);
    if driver.advance(duration).is_err() {
        panic!("tasklane::time::advance: the clock is not paused; call time::pause() first");
    }
    crate::task::yield_now().await;
}

/// `now + d`, saturating far in the future (the wheel clamps it).
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + MAX_DELAY + Duration::from_secs(1))
}

const OUTSIDE_TIMER: &str = "tasklane::time: a timer (sleep, interval or wait_for) was polled \
     outside a tasklane runtime; poll it from a task or from Runtime::block_on";

/// One registration on the wheel, made lazily on first poll.
#[derive(Debug)]
pub(crate) struct TimerEntry {
    deadline: Instant,
    state: EntryState,
}

#[derive(Debug)]
enum EntryState {
    /// Not on the wheel: never polled, or reset since it fired.
    Idle,
    /// On the wheel (or the paused clock's map) of this driver (the `Arc`
    /// keeps it alive for the drop that removes the entry).
    Registered(Arc<RuntimeDriver>, Key),
    /// The deadline has passed.
    Fired,
}

impl TimerEntry {
    pub(crate) fn new(deadline: Instant) -> TimerEntry {
        TimerEntry {
            deadline,
            state: EntryState::Idle,
        }
    }

    /// `Ready` once the timer has fired (or its deadline had passed for the
    /// wheel when it was registered); otherwise registers (or refreshes) the
    /// task's waker.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &self.state {
            EntryState::Fired => Poll::Ready(()),
            EntryState::Idle => {
                let registered = Handle::try_with_current(|h| {
                    let driver = h.driver();
                    driver
                        .register(self.deadline.into_std(), cx.waker(), h.sched())
                        .map(|key| (driver.clone(), key))
                })
                .expect(OUTSIDE_TIMER);
                match registered {
                    None => {
                        self.state = EntryState::Fired;
                        Poll::Ready(())
                    }
                    Some((driver, key)) => {
                        self.state = EntryState::Registered(driver, key);
                        Poll::Pending
                    }
                }
            }
            EntryState::Registered(driver, key) => {
                if driver.poll(*key, cx.waker()) {
                    self.state = EntryState::Fired;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// As `poll_expired`, but an entry not yet on the wheel whose deadline
    /// has passed by the clock completes at once, without waiting for the
    /// driver to see its tick (a clock read per registration, so only where
    /// "due now" must mean now: interval ticks and `wait_for`).
    pub(crate) fn poll_expired_now(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if matches!(self.state, EntryState::Idle) && self.deadline <= Instant::now() {
            self.state = EntryState::Fired;
            return Poll::Ready(());
        }
        self.poll_expired(cx)
    }

    /// Moves the deadline; an entry on the wheel is moved in place (its
    /// waker kept), a fired one, or one moved to a deadline already past,
    /// is registered again on the next poll.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        match &mut self.state {
            EntryState::Registered(driver, key) => {
                // One already due leaves the wheel, so that `poll_expired_now`
                // sees it due at the next poll rather than when the driver
                // next looks at the wheel.
                if deadline <= Instant::now() {
                    driver.cancel(*key);
                    self.state = EntryState::Idle;
                } else if !driver.reset(key, deadline.into_std()) {
                    self.state = EntryState::Idle;
                }
            }
            EntryState::Fired => self.state = EntryState::Idle,
            EntryState::Idle => {}
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn is_fired(&self) -> bool {
        matches!(self.state, EntryState::Fired)
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        if let EntryState::Registered(driver, key) = &self.state {
            driver.cancel(*key);
        }
    }
}

/// Waits until `duration` has passed: asyncio's `sleep`.
///
/// Always a suspension point, even for `Duration::ZERO` (asyncio's
/// `sleep(0)`): the first poll returns `Pending`. A duration too large for
/// the clock is clamped to [`MAX_DELAY`].
///
/// # Panics
///
/// The returned future panics if polled outside a tasklane runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tasklane::run(async {
///     tasklane::time::sleep(Duration::from_millis(5)).await;
///     tasklane::time::sleep(Duration::ZERO).await; // yields once
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(deadline_after(duration))
}

/// Waits until `deadline`. A deadline in the past still suspends once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::{Instant, sleep_until};
///
/// tasklane::run(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: impl Into<Instant>) -> Sleep {
    Sleep::new(deadline.into())
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// Registered on the timer wheel at its first poll and removed from it when
/// it completes or is dropped. It is `Unpin`: it can be stored and polled
/// without pinning, and reset while pending.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    entry: TimerEntry,
    /// Whether `poll` has returned `Pending` once (the suspension point).
    suspended: bool,
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            entry: TimerEntry::new(deadline),
            suspended: false,
        }
    }

    /// The instant this sleep ends at.
    pub fn deadline(&self) -> Instant {
        self.entry.deadline
    }

    /// Whether the sleep has been seen to end (by a poll).
    pub fn is_elapsed(&self) -> bool {
        self.entry.is_fired()
    }

    /// Moves the deadline, earlier or later, even after the sleep ended; the
    /// task waiting on it is woken at the new deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tasklane::time::{Instant, sleep};
    ///
    /// tasklane::run(async {
    ///     let mut s = sleep(Duration::from_secs(60));
    ///     s.reset(Instant::now() + Duration::from_millis(5));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: impl Into<Instant>) {
        self.entry.reset(deadline.into());
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let coop = ready!(coop::poll_proceed(cx));
        let expired = this.entry.poll_expired(cx);
        if !this.suspended {
            this.suspended = true;
            if expired.is_ready() {
                // Past or zero deadline: still a suspension point.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        ready!(expired);
        coop.made_progress();
        Poll::Ready(())
    }
}

/// What an [`Interval`] does when ticks were missed (the task came back
/// after the next tick was already due), as tokio's `MissedTickBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per poll, until caught up; the
    /// schedule keeps its original phase. The default.
    #[default]
    Burst,
    /// Fire one tick now and schedule the next a full period after now: the
    /// phase shifts, ticks are never closer than a period.
    Delay,
    /// Fire one tick now and drop the missed ones; the next tick is the next
    /// one of the original schedule that is still in the future.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after `tick`, seen at `now`. Saturates far in the future
    /// rather than overflowing.
    fn next(self, tick: Instant, now: Instant, period: Duration) -> Instant {
        let far = |from: Instant| {
            from.checked_add(period)
                .unwrap_or_else(|| deadline_after(MAX_DELAY))
        };
        let next = far(tick);
        if now < next {
            return next;
        }
        match self {
            MissedTickBehavior::Burst => next,
            MissedTickBehavior::Delay => far(now),
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(tick).as_nanos();
                let period_ns = period.as_nanos();
                let periods = behind / period_ns + 1;
                let ns = periods.saturating_mul(period_ns);
                tick.checked_add(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
                    .unwrap_or_else(|| far(now))
            }
        }
    }
}

/// A stream of ticks every `period`; the first completes at once.
///
/// A zero `period` is raised to [`TICK`] (the timer resolution) rather than
/// spinning or panicking, and one longer than [`MAX_DELAY`] is lowered to it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::{Instant, interval};
///
/// tasklane::run(async {
///     let start = Instant::now();
///     let mut ticks = interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// A stream of ticks every `period`, the first at `start`.
pub fn interval_at(start: impl Into<Instant>, period: Duration) -> Interval {
    Interval {
        entry: TimerEntry::new(start.into()),
        period: period.clamp(TICK, MAX_DELAY),
        missed: MissedTickBehavior::default(),
    }
}

/// Ticks at a fixed period; made by [`interval`] and [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    entry: TimerEntry,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: its scheduled instant once due.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let coop = ready!(coop::poll_proceed(cx));
        ready!(self.entry.poll_expired_now(cx));
        coop.made_progress();
        let tick = self.entry.deadline;
        let next = self.missed.next(tick, Instant::now(), self.period);
        self.entry.reset(next);
        Poll::Ready(tick)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.entry.reset(deadline_after(self.period));
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Chooses what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

/// The error of [`wait_for`]: the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}
