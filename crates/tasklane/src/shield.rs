//! `shield`: work that a cancellation of its awaiter does not reach.

use crate::group;
use std::fmt;
use std::future::Future;
use std::panic::{self, Location};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tasklane_sched::facade::abort_current;
use tasklane_sched::task::CancelCause;
use tasklane_sched::task::{JoinHandle, TaskId};

/// Runs `future` as its own task that cancellation does not reach:
/// asyncio's `shield`.
///
/// The returned [`Shield`] resolves to the future's output. Dropping it, or
/// cancelling the task that awaits it, leaves the shielded task running
/// (unowned); `wait_for(&mut shield, t)` times out without touching it, and
/// the `Shield` can then be awaited again. Graceful shutdown does not
/// cancel a shielded task but waits for it (up to the grace), and a
/// [`TaskGroup`](crate::TaskGroup) waits for the shields its children
/// started before `join` returns.
///
/// # Panics
///
/// Outside a tasklane runtime. Awaiting the `Shield` resumes a panic of the
/// shielded task.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tasklane::run(async {
///     let mut save = tasklane::shield(async {
///         tasklane::time::sleep(Duration::from_millis(30)).await;
///         "saved"
///     });
///     let r = tasklane::wait_for(&mut save, Duration::from_millis(5)).await;
///     assert!(r.is_err()); // timed out, but the save goes on
///     assert_eq!(save.await, "saved");
/// });
/// ```
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    let handle = crate::task::Builder::new()
        .location(location)
        .shielded()
        .spawn(future);
    group::track_shield(&handle);
    Shield {
        handle: Some(handle),
    }
}

/// The future of [`shield`]: resolves to the shielded future's output.
#[must_use = "dropping a Shield leaves its work running; await it for the result"]
pub struct Shield<T> {
    /// `None` once the output was returned.
    handle: Option<JoinHandle<T>>,
}

impl<T> Shield<T> {
    /// The shielded task's id; `None` once the output was returned.
    pub fn id(&self) -> Option<TaskId> {
        self.handle.as_ref().map(JoinHandle::id)
    }

    /// True once the shielded work has finished.
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl<T> Future for Shield<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let handle = self
            .handle
            .as_mut()
            .expect("Shield polled after it returned its output");
        let result = ready!(Pin::new(handle).poll(cx));
        self.handle = None;
        match result {
            Ok(v) => Poll::Ready(v),
            Err(e) if e.is_panic() => panic::resume_unwind(e.into_panic()),
            Err(e) => {
                // A shielded task ends cancelled by shutdown's abort after
                // the grace, or by passing on a cancellation of its own (a
                // cancelled `gather` child, which shutdown cancels at once):
                // the awaiter is aborted in turn, as `gather` does.
                assert!(
                    abort_current(e.cancel_cause().unwrap_or(CancelCause::Requested)),
                    "a shielded task was cancelled: {e}"
                );
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Shield<T> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.detach();
        }
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield")
            .field("task", &self.handle)
            .finish()
    }
}
