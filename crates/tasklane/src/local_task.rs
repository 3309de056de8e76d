//! `spawn_local`: `!Send` futures as tasks of a current-thread runtime.
//!
//! A local task is an ordinary task whose future is wrapped in
//! [`LocalFuture`], which the task core may treat as `Send` because the
//! wrapper itself makes sure the future is only ever touched on the thread
//! that spawned it (its *home*):
//!
//! - A current-thread runtime polls its tasks only on the thread holding
//!   its core, inside `block_on` or shutdown; `spawn_local` is only allowed
//!   there. As long as the runtime is driven from that thread, every poll
//!   and the final drop happen at home.
//! - If the runtime is later driven from another thread (it is `Send`),
//!   a poll of a local task there panics before touching the future (the
//!   task ends panicked, its `JoinError` says why), and a drop there leaks
//!   the future rather than drop it, with a `tracing` ERROR: dropping an
//!   `Rc` away from home could race its clones still at home.
//!
//! The future is boxed, outside the task's own allocation. A leaked future
//! is pinned and was never dropped, so its memory must stay valid for ever
//! (something may still point into it, as an intrusive waiter list does);
//! the task's allocation is freed when the task ends, its box is not.

use crate::runtime::Handle;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};

thread_local! {
    static THREAD_ID: ThreadId = thread::current().id();
}

fn this_thread() -> ThreadId {
    THREAD_ID.with(|id| *id)
}

/// A `!Send` future that may only be polled and dropped on `home`.
pub(crate) struct LocalFuture<F> {
    home: ThreadId,
    /// Boxed so that a leak (a drop away from home) leaves it in place:
    /// see the module docs.
    future: ManuallyDrop<Pin<Box<F>>>,
}

// SAFETY: the future inside is only ever polled or dropped on `home`: `poll`
// panics elsewhere before touching it, and `drop` leaks it elsewhere. The
// wrapper itself (a thread id and the box's pointer, never followed away
// from home) may move between threads.
unsafe impl<F> Send for LocalFuture<F> {}

impl<F> LocalFuture<F> {
    pub(crate) fn new(future: F) -> LocalFuture<F> {
        LocalFuture {
            home: this_thread(),
            future: ManuallyDrop::new(Box::pin(future)),
        }
    }
}

impl<F: Future> Future for LocalFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        assert!(
            self.home == this_thread(),
            "a task spawned with spawn_local was polled on another thread than the one that \
             spawned it: a current-thread runtime with local tasks must be driven (block_on, \
             shutdown, drop) on that thread"
        );
        self.get_mut().future.as_mut().poll(cx)
    }
}

impl<F> Drop for LocalFuture<F> {
    fn drop(&mut self) {
        if self.home == this_thread() {
            // SAFETY: dropped once, here, at home; never touched again.
            unsafe { ManuallyDrop::drop(&mut self.future) };
        } else {
            // The box is never freed: the pinned future stays where it is.
            tracing::error!(
                target: "tasklane::spawn_local",
                "a local task's future outlived the thread that runs its runtime and is leaked: \
                 it cannot be dropped on another thread"
            );
        }
    }
}

/// The runtime to spawn a local task on: a current-thread runtime whose
/// `block_on` runs on this thread, or a clear panic.
#[track_caller]
pub(crate) fn local_runtime() -> Handle {
    Handle::try_with_current(|h| {
        (h.sched().is_current_thread() && h.sched().is_current_worker()).then(|| h.clone())
    })
    .flatten()
    .unwrap_or_else(|| {
        panic!(
            "spawn_local called outside a current-thread runtime's block_on: a !Send future \
             can only run on the thread of a runtime built with Builder::current_thread()"
        )
    })
}
