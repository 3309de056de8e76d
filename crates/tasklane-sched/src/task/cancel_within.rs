//! [`JoinHandle::cancel_within`]: two-phase cancellation of one task.
//!
//! This crate has no timers, so the grace period is a timer the runtime
//! that wires one in installs once per process ([`set_grace_timer`], called
//! by the `tasklane` crate when it builds a runtime).

use super::{JoinError, JoinHandle};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that completes once the duration has passed: the grace timer.
pub type GraceSleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Makes a [`GraceSleep`] for a duration.
pub type GraceTimer = fn(Duration) -> GraceSleep;

static GRACE_TIMER: OnceLock<GraceTimer> = OnceLock::new();

/// Installs the timer `cancel_within` waits with; the first call wins.
pub fn set_grace_timer(timer: GraceTimer) {
    let _ = GRACE_TIMER.set(timer);
}

const NO_TIMER: &str = "JoinHandle::cancel_within needs a timer: build a tasklane runtime \
     (the `tasklane` crate installs one) before awaiting it";

impl<T> JoinHandle<T> {
    /// Cancels the task, waits up to `grace` for it to end (its catch
    /// points may clean up with awaits), then aborts it if it has not, and
    /// returns its result: the runtime's two-phase shutdown for one task.
    ///
    /// The cancel is made at once, when this is called. A zero `grace`
    /// aborts at once instead, without the cooperative cancel first, so no
    /// catch point sees it (with both, another worker could deliver the
    /// cancel between the two). The result is that of awaiting the handle: the
    /// task's value if it completed (before the cancel reached it, or by
    /// swallowing it), or a [`JoinError`] that `is_cancelled()` (it ended
    /// cancelled, or was aborted), or its panic. An aborted task that is
    /// inside a long poll ends when that poll returns; this waits for it.
    /// Dropping the future before it resolves drops the handle, which
    /// leaves the task cancelled but (with a non-zero grace) not aborted.
    ///
    /// # Panics
    ///
    /// With a non-zero grace, the future panics when polled if no timer
    /// was installed (no `tasklane` runtime was built in this process).
    ///
    /// The `tasklane` crate's `task` module has a runnable example.
    pub fn cancel_within(self, grace: Duration) -> CancelWithin<T> {
        let aborted = grace.is_zero();
        if aborted {
            self.abort();
        } else {
            self.cancel();
        }
        CancelWithin {
            handle: self,
            grace,
            timer: None,
            aborted,
        }
    }
}

/// The future of [`JoinHandle::cancel_within`].
#[must_use = "the task is aborted after the grace only if this is awaited"]
pub struct CancelWithin<T> {
    handle: JoinHandle<T>,
    grace: Duration,
    /// The grace timer, made at the first poll.
    timer: Option<GraceSleep>,
    /// The task was aborted: the grace ran out, or it was zero.
    aborted: bool,
}

impl<T> Unpin for CancelWithin<T> {}

impl<T> Future for CancelWithin<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(r) = Pin::new(&mut this.handle).poll(cx) {
            return Poll::Ready(r);
        }
        if this.aborted {
            return Poll::Pending;
        }
        let grace = this.grace;
        let timer = this
            .timer
            .get_or_insert_with(|| GRACE_TIMER.get().expect(NO_TIMER)(grace));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.timer = None;
        this.aborted = true;
        this.handle.abort();
        // Waits for the abort to end the task (its waker is registered).
        Pin::new(&mut this.handle).poll(cx)
    }
}

impl<T> fmt::Debug for CancelWithin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelWithin")
            .field("task", &self.handle)
            .field("grace", &self.grace)
            .field("aborted", &self.aborted)
            .finish()
    }
}
