//! [`Budgeted`]: a wait on a runtime-agnostic primitive that takes part in
//! the cooperative budget (`tasklane_sched::coop`).
//!
//! The reader-writer lock, the semaphore, the barrier and the channel are
//! smol-rs's (`async-lock`, `async-channel`); they know nothing of
//! tasklane's budget, so a task that always finds them ready would never
//! yield its worker. Each of their waits is wrapped here, and so is the
//! mutex's (`mutex.rs`), which charges its wait the same way: the poll
//! first asks the budget (an
//! exhausted budget makes it return `Pending` after waking the task, so the
//! worker runs others first), then polls the wait, and charges one unit if
//! it completed. Nothing is taken from the primitive on the `Pending` the
//! budget returns, so cancel-safety is the wrapped wait's own.

use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tasklane_sched::coop;

/// A wait of one of the re-exported primitives, charged to the task's
/// cooperative budget: resolves to what the wrapped future resolves to.
#[must_use = "futures do nothing unless awaited"]
pub struct Budgeted<F>(pub(super) F);

impl<F: Future> Future for Budgeted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let proceed = ready!(coop::poll_proceed(cx));
        // SAFETY: structural pinning of the only field, never moved out.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        let out = ready!(inner.poll(cx));
        proceed.made_progress();
        Poll::Ready(out)
    }
}

impl<F> fmt::Debug for Budgeted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Budgeted(..)")
    }
}

/// `poll_next` of a re-exported stream, charged to the budget as
/// [`Budgeted`] charges a wait.
pub(super) fn poll_next_budgeted<S: Stream>(
    stream: Pin<&mut S>,
    cx: &mut Context<'_>,
) -> Poll<Option<S::Item>> {
    let proceed = ready!(coop::poll_proceed(cx));
    let out = ready!(stream.poll_next(cx));
    proceed.made_progress();
    Poll::Ready(out)
}
