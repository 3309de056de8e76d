//! Timeouts: [`wait_for`] and the movable deadlines of [`timeout`],
//! [`timeout_at`] and [`timeout_with`] (asyncio's `wait_for` and
//! `asyncio.timeout` with `reschedule`).
//!
//! A [`Timeout`] owns a cancellation scope around its future, driven by a
//! `ScopeDriver` (the delivery state machine shared with `CancelScope`);
//! its deadline is a timer entry it keeps, and, once a [`TimeoutHandle`]
//! exists, a deadline shared with the handles:
//!
//! 1. A handle writes the new deadline and a change count under the
//!    shared lock; if the deadline moved earlier, it wakes the task that
//!    last polled the timeout (a later one needs no wake: the timer fires
//!    at the old deadline at worst, and that poll moves it).
//! 2. At each poll that finds the future pending, the timeout stores its
//!    waker under the same lock, and moves its timer to the shared deadline
//!    if the count changed since it last looked; only then does it ask the
//!    timer whether the deadline passed.
//! 3. Once the deadline has passed (the timer fired and the future was
//!    cancelled), the shared deadline is marked expired and rescheduling
//!    does nothing.

use super::{Elapsed, Instant, TimerEntry, deadline_after};
use parking_lot::Mutex;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tasklane_sched::facade::{ScopeDriver, ScopePoll};
use tasklane_sched::task::CancelCause;

/// Runs `future` for at most `timeout`: asyncio's `wait_for`.
///
/// Returns the future's output if it finishes first. Otherwise, once the
/// timeout passes, it is delivered to the future as a cancellation:
///
/// * if the future holds no catch point ([`task::cancellable`]), it is
///   dropped there and `Err(Elapsed)` is returned;
/// * else its innermost catch points get `Err(Cancelled)` and the code
///   around them may clean up with awaits. `wait_for` returns only once the
///   future has finished: `Err(Elapsed)` if it re-raised the cancellation
///   ([`Cancelled::reraise`](crate::task::Cancelled::reraise)), or its value
///   if it swallowed it and produced one (as asyncio does).
///
/// `wait_for(&mut shield, t)` times out without cancelling the shielded
/// work, and `wait_for(&mut handle, t)` leaves the task running. The future
/// is polled before the timer, so a future that is ready wins even with a
/// zero timeout; one that is not gets a zero timeout at its first
/// suspension point. At the deadline, a future that holds no catch point is
/// dropped without being polled again.
///
/// [`task::cancellable`]: crate::task::cancellable
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tasklane::run(async {
///     let fast = tasklane::wait_for(async { 7 }, Duration::from_millis(50)).await;
///     assert_eq!(fast, Ok(7));
///     let slow = tasklane::wait_for(
///         tasklane::time::sleep(Duration::from_secs(5)),
///         Duration::from_millis(5),
///     )
///     .await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn wait_for<F: IntoFuture>(future: F, timeout: Duration) -> WaitFor<F::IntoFuture> {
    timeout_at(deadline_after(timeout), future)
}

/// The future returned by [`wait_for`]: a [`Timeout`].
pub type WaitFor<F> = Timeout<F>;

/// Runs `future` for at most `duration`, with a deadline that can move:
/// asyncio's `async with asyncio.timeout(d)`.
///
/// The same as [`wait_for`] (the deadline is delivered to `future` as a
/// cancellation; `Err(Elapsed)` once it has finished, or its value if it
/// swallowed the cancellation), and the returned [`Timeout`] has
/// [`deadline`](Timeout::deadline), [`reschedule`](Timeout::reschedule)
/// and [`handle`](Timeout::handle). To move the deadline from inside the
/// future (an idle timeout), use [`timeout_with`].
///
/// # Panics
///
/// The returned future panics if polled outside a tasklane runtime.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use std::time::Duration;
/// use tasklane::time::{Instant, sleep, timeout};
///
/// tasklane::run(async {
///     let mut t = pin!(timeout(Duration::from_millis(5), sleep(Duration::from_millis(30))));
///     // More time, before it expires: the sleep finishes.
///     t.as_mut().reschedule(Instant::now() + Duration::from_secs(5));
///     assert_eq!(t.await, Ok(()));
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    timeout_at(deadline_after(duration), future)
}

/// Runs `future` until `deadline`, with a deadline that can move:
/// asyncio's `async with asyncio.timeout_at(when)`. See [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::{Instant, sleep, timeout_at};
///
/// tasklane::run(async {
///     let at = Instant::now() + Duration::from_millis(5);
///     assert!(timeout_at(at, sleep(Duration::from_secs(5))).await.is_err());
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(
    deadline: impl Into<Instant>,
    future: F,
) -> Timeout<F::IntoFuture> {
    let deadline = deadline.into();
    Timeout {
        future: Some(future.into_future()),
        timer: TimerEntry::new(deadline),
        driver: ScopeDriver::new(),
        shared: OnceLock::new(),
        seen: 0,
    }
}

/// Runs the future `make` returns for at most `duration`, giving it a
/// [`TimeoutHandle`] to its own deadline: asyncio's `async with
/// asyncio.timeout(d) as cm:`, whose body calls `cm.reschedule(..)`.
///
/// This is the shape of an idle timeout: the future moves its deadline
/// forward each time it makes progress, and is cancelled (its catch points
/// may clean up) once it has been idle for the whole duration. The block
/// takes the handle by value, so it is an `async move` block: borrow what
/// it must not own through references made before it.
///
/// # Panics
///
/// The returned future panics if polled outside a tasklane runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::time::{Instant, sleep, timeout_with};
///
/// tasklane::run(async {
///     let (tx, rx) = tasklane::sync::bounded::<u32>(8);
///     tasklane::spawn(async move {
///         for i in 0..3 {
///             sleep(Duration::from_millis(10)).await;
///             tx.send(i).await.unwrap();
///         }
///         // Then idle: the handler times out, 100 ms after the last message.
///         sleep(Duration::from_secs(60)).await;
///     })
///     .detach();
///
///     const IDLE: Duration = Duration::from_millis(100);
///     let mut seen = 0;
///     let count = &mut seen; // the block is `async move`: it takes the handle
///     let r = timeout_with(IDLE, |idle| async move {
///         while let Ok(_msg) = rx.recv().await {
///             *count += 1;
///             idle.reschedule(Instant::now() + IDLE);
///         }
///     })
///     .await;
///     assert!(r.is_err());
///     assert_eq!(seen, 3);
/// });
/// ```
pub fn timeout_with<F, M>(duration: Duration, make: M) -> Timeout<F::IntoFuture>
where
    M: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    let deadline = deadline_after(duration);
    let shared = Arc::new(Shared::new(deadline));
    let handle = TimeoutHandle {
        shared: shared.clone(),
    };
    let t = timeout_at(deadline, make(handle));
    let _ = t.shared.set(shared);
    t
}

/// The future of [`timeout`], [`timeout_at`], [`timeout_with`] and
/// [`wait_for`]: its future's output, or `Err(Elapsed)` once the deadline
/// passed and the future ended (see [`wait_for`]).
///
/// The deadline moves with [`reschedule`](Self::reschedule) on the pinned
/// timeout (from the code that polls it, a `select!` loop say) or with a
/// [`TimeoutHandle`] (from anywhere, the future inside included). Once the
/// deadline has passed and the future was cancelled for it, rescheduling
/// does nothing (asyncio raises `RuntimeError` there).
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<F> {
    /// `None` once finished or dropped (dropped in place).
    future: Option<F>,
    timer: TimerEntry,
    driver: ScopeDriver,
    /// The deadline shared with handles, once there is one.
    shared: OnceLock<Arc<Shared>>,
    /// The change count of the shared deadline that `timer` follows.
    seen: u64,
}

/// A deadline shared by a [`Timeout`] and its handles.
struct Shared {
    inner: Mutex<SharedDeadline>,
}

struct SharedDeadline {
    at: Instant,
    /// How many times a handle moved it.
    changes: u64,
    /// The waker of the task that last polled the timeout.
    waker: Option<Waker>,
    /// The deadline passed and the future was cancelled for it.
    expired: bool,
}

impl Shared {
    fn new(at: Instant) -> Shared {
        Shared {
            inner: Mutex::new(SharedDeadline {
                at,
                changes: 0,
                waker: None,
                expired: false,
            }),
        }
    }
}

/// A handle to a [`Timeout`]'s deadline: reads and moves it from anywhere
/// (`Clone + Send + Sync`). Made by [`Timeout::handle`], or given to the
/// future by [`timeout_with`].
#[derive(Clone)]
pub struct TimeoutHandle {
    shared: Arc<Shared>,
}

impl TimeoutHandle {
    /// The deadline now.
    pub fn deadline(&self) -> Instant {
        self.shared.inner.lock().at
    }

    /// Moves the deadline, earlier or later (asyncio's
    /// `Timeout.reschedule`); a deadline already past expires the timeout
    /// at its next poll, which this wakes. Does nothing once the timeout
    /// has expired.
    pub fn reschedule(&self, deadline: impl Into<Instant>) {
        let deadline = deadline.into();
        let waker = {
            let mut d = self.shared.inner.lock();
            if d.expired {
                return;
            }
            let earlier = deadline < d.at;
            d.at = deadline;
            d.changes += 1;
            if earlier { d.waker.clone() } else { None }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// True once the deadline has passed and the future was cancelled for
    /// it.
    pub fn is_expired(&self) -> bool {
        self.shared.inner.lock().expired
    }
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.shared.inner.lock();
        f.debug_struct("TimeoutHandle")
            .field("deadline", &d.at)
            .field("expired", &d.expired)
            .finish()
    }
}

impl<F> Timeout<F> {
    /// The deadline now.
    pub fn deadline(&self) -> Instant {
        match self.shared.get() {
            Some(s) => s.inner.lock().at,
            None => self.timer.deadline(),
        }
    }

    /// Moves the deadline, earlier or later (asyncio's
    /// `Timeout.reschedule`); one already past expires the timeout at its
    /// next poll. Does nothing once the timeout has expired.
    pub fn reschedule(self: Pin<&mut Self>, deadline: impl Into<Instant>) {
        let deadline = deadline.into();
        // SAFETY: only the unpinned fields are touched.
        let this = unsafe { self.get_unchecked_mut() };
        if this.driver.is_delivered() || this.timer.is_fired() {
            return;
        }
        if let Some(s) = this.shared.get() {
            let mut d = s.inner.lock();
            if d.expired {
                return;
            }
            d.at = deadline;
            d.changes += 1;
            this.seen = d.changes;
        }
        // Moved in place: the waker it holds is woken at the new deadline.
        this.timer.reset(deadline);
    }

    /// A handle that reads and moves this timeout's deadline from anywhere.
    pub fn handle(&self) -> TimeoutHandle {
        let shared = self
            .shared
            .get_or_init(|| Arc::new(Shared::new(self.timer.deadline())));
        TimeoutHandle {
            shared: shared.clone(),
        }
    }
}

/// Whether the deadline has passed, as the driver asks it (module docs).
fn expired(
    timer: &mut TimerEntry,
    shared: Option<&Arc<Shared>>,
    seen: &mut u64,
    cx: &mut Context<'_>,
) -> bool {
    let Some(s) = shared else {
        return timer.poll_expired_now(cx).is_ready();
    };
    let mut d = s.inner.lock();
    if !d.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        d.waker = Some(cx.waker().clone());
    }
    if d.changes != *seen {
        *seen = d.changes;
        timer.reset(d.at);
    }
    let fired = timer.poll_expired_now(cx).is_ready();
    d.expired = fired;
    fired
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // the `Option`, only polled in place and dropped in place with
        // `Pin::set`, and `Timeout` has no `Drop` impl that could move it.
        // The other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above: `this.future` is never moved while pinned.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        let inner = future
            .as_mut()
            .as_pin_mut()
            .expect("Timeout polled after it completed");
        let (timer, seen) = (&mut this.timer, &mut this.seen);
        let shared = this.shared.get();
        match this.driver.poll(inner, cx, |cx| {
            expired(timer, shared, seen, cx).then_some(CancelCause::Timeout)
        }) {
            ScopePoll::Pending => Poll::Pending,
            ScopePoll::Ready(v) => {
                future.set(None);
                Poll::Ready(Ok(v))
            }
            ScopePoll::Cancelled(_) => {
                // Dropped where it waits: its destructors run now.
                future.set(None);
                Poll::Ready(Err(Elapsed(())))
            }
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline())
            .field("done", &self.future.is_none())
            .field("expired", &self.timer.is_fired())
            .finish()
    }
}
