//! [`CancelScope`]: trio's cancel scope, cancelled from anywhere, with a
//! deadline.
//!
//! A scope is shared state (`Arc`): a `ScopeSignal` (the cancelled flag, a
//! count of deadline changes, the wakers of the runs waiting on it) and the
//! deadline. Each [`CancelScope::run`] owns a `ScopeDriver`, the delivery
//! state machine it shares with `wait_for` and `time::timeout`, and asks it
//! to deliver when the flag is set or its deadline timer fires:
//!
//! 1. `cancel` sets the flag and wakes every waiting run; `set_deadline`
//!    writes the deadline under its lock, then counts a change in the
//!    signal, which wakes them too.
//! 2. A run whose future is pending stores its waker in the signal, then
//!    reads the flag and the change count; a count it has not seen makes
//!    it read the deadline and move its timer there (made on the first
//!    deadline, dropped when it is cleared).
//! 3. A timer that fired cancels the scope (every run of it), as trio's
//!    deadline sets `cancel_called`.

use crate::time::{Instant, TimerEntry};
use parking_lot::Mutex;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tasklane_sched::facade::{ScopeDriver, ScopePoll, ScopeSignal, WaiterSlot};
use tasklane_sched::task::{CancelCause, Cancelled};

/// A cancel scope: trio's `CancelScope`, asyncio's `asyncio.timeout`
/// context manager.
///
/// [`run`](Self::run) runs a future inside the scope. Cancelling the
/// scope ([`cancel`](Self::cancel), from any thread, or its
/// [deadline](Self::set_deadline) passing) delivers a cancellation to the
/// catch points ([`task::cancellable`](crate::task::cancellable)) inside
/// that future only, at its pending await: they get `Err(Cancelled)` and
/// may clean up with awaits. If it holds none, the future is dropped there
/// at once. `run` then returns `Err(Cancelled)` once the future has ended
/// (dropped, or re-raised the scope's cancellation), and the code after it
/// goes on: the task itself is not cancelled. A future that swallows the
/// cancellation and returns a value makes `run` return that value.
///
/// Scopes nest: a cancellation is caught by the scope that was cancelled,
/// never by an outer one (a re-raise inside an inner scope of the outer
/// scope's cancellation passes through the inner `run` to the outer one,
/// and the reverse). The task's own cancellation passes through every
/// scope to the task's catch points, as before.
///
/// A scope cancelled before `run` is polled delivers at `run`'s first
/// suspension point (the future runs until then). Cancelling is
/// idempotent, and is allowed after `run` has ended (it does nothing). A
/// scope can guard several `run`s (in several tasks): cancelling it
/// cancels each. Clones share the scope; it is `Send + Sync`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::{CancelScope, task::cancellable, time::sleep};
///
/// tasklane::run(async {
///     let scope = CancelScope::new();
///     let operator = scope.clone();
///     tasklane::spawn(async move {
///         sleep(Duration::from_millis(10)).await;
///         operator.cancel();
///     })
///     .detach();
///
///     let r = scope
///         .run(async {
///             match cancellable(sleep(Duration::from_secs(60))).await {
///                 Ok(()) => "slept",
///                 // Cleanup may await here.
///                 Err(cancelled) => cancelled.reraise().await,
///             }
///         })
///         .await;
///     assert!(r.is_err());
///     assert!(scope.is_cancelled());
///
///     // With a deadline: trio's `move_on_after`.
///     let scope = CancelScope::new();
///     scope.set_deadline(tasklane::time::Instant::now() + Duration::from_millis(5));
///     assert!(scope.run(sleep(Duration::from_secs(60))).await.is_err());
/// });
/// ```
#[derive(Clone, Default)]
pub struct CancelScope {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    signal: ScopeSignal,
    deadline: Mutex<Option<Instant>>,
    /// Why the scope was cancelled: the first of `cancel()` (`Scope`) and
    /// the deadline (`Timeout`), set before the signal.
    cause: Mutex<Option<CancelCause>>,
}

impl Shared {
    fn cancel(&self, cause: CancelCause) {
        self.cause.lock().get_or_insert(cause);
        self.signal.cancel();
    }

    fn cause(&self) -> CancelCause {
        self.cause.lock().unwrap_or(CancelCause::Scope)
    }
}

impl CancelScope {
    /// A scope that is not cancelled and has no deadline.
    pub fn new() -> CancelScope {
        CancelScope::default()
    }

    /// Runs `future` inside the scope: its output, or `Err(Cancelled)` if
    /// the scope's cancellation ended it (see the type's docs).
    ///
    /// # Panics
    ///
    /// With a deadline set, the returned future panics if polled outside a
    /// tasklane runtime (the deadline is a timer).
    pub fn run<F: IntoFuture>(&self, future: F) -> ScopeRun<F::IntoFuture> {
        ScopeRun {
            future: Some(future.into_future()),
            shared: self.shared.clone(),
            driver: ScopeDriver::new(),
            slot: WaiterSlot::default(),
            timer: None,
            seen: None,
        }
    }

    /// Cancels the scope, from any thread: every `run` of it, pending or
    /// to come, gets the cancellation. Idempotent.
    pub fn cancel(&self) {
        self.shared.cancel(CancelCause::Scope);
    }

    /// Sets the deadline, earlier or later: the scope is cancelled when it
    /// passes (at once, for one already past). Moving it has no effect
    /// once the scope was cancelled.
    pub fn set_deadline(&self, deadline: impl Into<Instant>) {
        *self.shared.deadline.lock() = Some(deadline.into());
        self.shared.signal.notify();
    }

    /// Removes the deadline.
    pub fn clear_deadline(&self) {
        *self.shared.deadline.lock() = None;
        self.shared.signal.notify();
    }

    /// The deadline, if one is set.
    pub fn deadline(&self) -> Option<Instant> {
        *self.shared.deadline.lock()
    }

    /// True once the scope was cancelled, or its deadline has passed
    /// (trio's `cancel_called`).
    pub fn is_cancelled(&self) -> bool {
        self.shared.signal.state().is_cancelled()
            || self.deadline().is_some_and(|d| d <= Instant::now())
    }
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScope")
            .field("cancelled", &self.shared.signal.state().is_cancelled())
            .field("deadline", &self.deadline())
            .finish()
    }
}

/// The future of [`CancelScope::run`].
#[must_use = "futures do nothing unless polled"]
pub struct ScopeRun<F> {
    /// `None` once finished (dropped in place).
    future: Option<F>,
    shared: Arc<Shared>,
    driver: ScopeDriver,
    /// This run's waker slot in the scope's signal.
    slot: WaiterSlot,
    /// The deadline's timer, while the scope has a deadline.
    timer: Option<TimerEntry>,
    /// The signal's change count the timer follows (`None`: not looked).
    seen: Option<usize>,
}

/// Whether the scope is cancelled now (module docs, steps 2 and 3).
fn cancelled(
    shared: &Shared,
    slot: &mut WaiterSlot,
    timer: &mut Option<TimerEntry>,
    seen: &mut Option<usize>,
    cx: &mut Context<'_>,
) -> bool {
    let state = shared.signal.poll_state(slot, cx.waker());
    if state.is_cancelled() {
        return true;
    }
    if *seen != Some(state.changes()) {
        *seen = Some(state.changes());
        match (*shared.deadline.lock(), timer.as_mut()) {
            (None, _) => *timer = None,
            (Some(at), Some(t)) => t.reset(at),
            (Some(at), None) => *timer = Some(TimerEntry::new(at)),
        }
    }
    let fired = timer
        .as_mut()
        .is_some_and(|t| t.poll_expired_now(cx).is_ready());
    if fired {
        shared.cancel(CancelCause::Timeout);
    }
    fired
}

impl<F: Future> Future for ScopeRun<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // the `Option`, only polled in place and dropped in place with
        // `Pin::set`; the `Drop` impl touches only `slot`. The other
        // fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above: `this.future` is never moved while pinned.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        let inner = future
            .as_mut()
            .as_pin_mut()
            .expect("ScopeRun polled after it completed");
        let shared = &*this.shared;
        let (slot, timer, seen) = (&mut this.slot, &mut this.timer, &mut this.seen);
        let out = match this.driver.poll(inner, cx, |cx| {
            cancelled(shared, slot, timer, seen, cx).then(|| shared.cause())
        }) {
            ScopePoll::Pending => return Poll::Pending,
            ScopePoll::Ready(v) => Ok(v),
            ScopePoll::Cancelled(c) => Err(c),
        };
        // Dropped here, while the task is current: destructors see it.
        future.set(None);
        this.shared.signal.leave(&mut this.slot);
        this.timer = None;
        Poll::Ready(out)
    }
}

impl<F> Drop for ScopeRun<F> {
    fn drop(&mut self) {
        self.shared.signal.leave(&mut self.slot);
    }
}

impl<F> fmt::Debug for ScopeRun<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeRun")
            .field("done", &self.future.is_none())
            .field("delivered", &self.driver.is_delivered())
            .finish()
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<CancelScope>();
};
