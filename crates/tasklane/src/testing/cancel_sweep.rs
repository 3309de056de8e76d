//! Cancellation fuzzing: [`cancel_sweep`] cancels copies of a future right
//! after each of its suspension points in turn.
//!
//! # Suspension points
//!
//! A suspension point is a poll of the future that returns `Pending`: the
//! place where a cancellation is delivered (`docs/semantics.md`,
//! "Cancellation"). The sweep counts them at the top of the task, around the
//! whole future, so two branches of a `join` pending in the same poll are
//! one suspension point, as they are one place where the task waits.
//!
//! # The sweep, step by step
//!
//! 1. `make()` builds the reference copy. It runs as a task, wrapped so that
//!    every poll of it that returns `Pending` is counted, to completion and
//!    uncancelled: its count is `n`.
//! 2. For each `k` in `1..=n`, `make()` builds copy `k`, which runs as a task
//!    wrapped so that the poll in which the future returns `Pending` for the
//!    `k`-th time requests the cancellation of its own task, after the
//!    future has returned and before the wrapper returns. The task is
//!    running, so the request only marks it; the task core queues it again
//!    as that poll ends, without waiting for whatever the future waits on,
//!    and its next poll delivers the cancellation where the future is
//!    suspended: to its catch points there, or by dropping it. Later polls
//!    of the copy (cleanup that awaits, a swallowed cancellation) are
//!    passed through untouched: each copy is cancelled once.
//! 3. The sweep awaits copy `k` and records its final state before it
//!    builds copy `k + 1`. One copy runs at a time, so copies never race
//!    each other, on every flavour of runtime.

use crate::task::{Builder, TaskRef, TaskState};
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{Location, resume_unwind};
use std::pin::pin;
use std::task::Poll;

/// Cancels copies of a future right after each of its suspension points in
/// turn, so that a test can check that cleanup runs at every await.
///
/// `make` builds the same future each time it is called. The sweep runs
/// one copy, uncancelled, to completion and counts its suspension points
/// (the polls that returned `Pending`): `n`. Then it runs `n` more copies,
/// one after the other, each as its own task: copy `k` is cancelled right
/// after its `k`-th suspension point, as [`JoinHandle::cancel`] would
/// cancel it (cause [`CancelCause::Requested`]), and the sweep records the
/// state it ended in: `Cancelled` if the cancellation ended it, `Completed`
/// if a catch point swallowed it and the future returned a value (or if
/// the copy finished before reaching its `k`-th suspension point), or
/// `Panicked`. Catch points inside the future see each delivery, exactly
/// as they would see a real `cancel()` arriving while the task waits there;
/// the counters or logs the future keeps then show whether its cleanup ran.
///
/// The futures' outputs are dropped. The futures run as tasks of the
/// current runtime, so they must be `Send + 'static`, and the whole sweep
/// takes as long as `n + 1` runs of the future, each cut short at its
/// cancellation. A future whose number of suspension points varies from
/// run to run is swept by the count of the reference run: a copy that
/// finishes before its `k`-th suspension point is never cancelled and is
/// recorded as it ended (usually `Completed`); one with more suspension
/// points than the reference run is never cancelled after the `n`-th.
///
/// # Panics
///
/// The returned future panics when polled outside a tasklane runtime (it
/// spawns tasks), and when the reference copy does not complete: with its
/// own panic if it panicked, with a message naming the sweep if it ended
/// cancelled (it cancelled itself, or the runtime is shutting down).
///
/// # Cancellation
///
/// Dropping the sweep (or cancelling the task awaiting it) drops the
/// handle of the copy it is waiting for, which cancels that copy.
///
/// # Examples
///
/// The usual shape of a cleanup that must run: a resource acquired, then
/// awaits inside a catch point that releases it and re-raises.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use tasklane::task::{TaskState, cancellable};
/// use tasklane::testing::cancel_sweep;
///
/// tasklane::run(async {
///     let open = Arc::new(AtomicUsize::new(0));
///     let sweep = cancel_sweep(|| {
///         let open = open.clone();
///         async move {
///             open.fetch_add(1, Ordering::SeqCst); // acquire
///             let work = cancellable(async {
///                 tasklane::yield_now().await;
///                 tasklane::time::sleep(Duration::from_millis(1)).await;
///             });
///             let result = work.await;
///             open.fetch_sub(1, Ordering::SeqCst); // release, cancelled or not
///             if let Err(cancelled) = result {
///                 cancelled.reraise().await
///             }
///         }
///     })
///     .await;
///     assert_eq!(sweep.suspension_points(), 2);
///     assert_eq!(sweep.outcomes(), [TaskState::Cancelled; 2]);
///     assert_eq!(open.load(Ordering::SeqCst), 0, "released at every await");
/// });
/// ```
///
/// [`JoinHandle::cancel`]: crate::task::JoinHandle::cancel
/// [`CancelCause::Requested`]: crate::task::CancelCause::Requested
#[track_caller]
pub fn cancel_sweep<M, F>(mut make: M) -> impl Future<Output = CancelSweep>
where
    M: FnMut() -> F,
    F: Future + Send + 'static,
{
    // The copies are spawned on behalf of the sweep's caller: `tasks()`
    // and tracing show the test that started them.
    let location = Location::caller();
    async move {
        let reference = Builder::new()
            .name("cancel_sweep reference")
            .location(location)
            .spawn(count_suspensions(make()));
        let n = match reference.await {
            Ok(n) => n,
            Err(e) if e.is_panic() => resume_unwind(e.into_panic()),
            Err(e) => panic!(
                "cancel_sweep: the reference run of the future, which must run to \
                 completion uncancelled, ended cancelled ({e})"
            ),
        };
        let mut outcomes = Vec::with_capacity(n);
        for k in 1..=n {
            let mut copy = Builder::new()
                .name(format!("cancel_sweep k={k}"))
                .location(location)
                .spawn(cancel_after(make(), k));
            // The outcome is read from the handle's state; the error adds
            // nothing to it (a panic's message was printed as it happened).
            let _ = (&mut copy).await;
            let state = copy.state();
            debug_assert!(state.is_done(), "awaited copy {k} is {state:?}");
            outcomes.push(state);
        }
        CancelSweep {
            suspension_points: n,
            outcomes,
        }
    }
}

/// Runs `future` to completion and returns how many of its polls returned
/// `Pending`; its output is dropped.
async fn count_suspensions<F: Future>(future: F) -> usize {
    let mut future = pin!(future);
    let mut pending = 0;
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(_) => Poll::Ready(pending),
        Poll::Pending => {
            pending += 1;
            Poll::Pending
        }
    })
    .await
}

/// Runs `future`, cancelling the task that polls it right after the poll in
/// which `future` returns `Pending` for the `k`-th time; its output is
/// dropped. Must be the whole future of a task: the poll of this future is
/// the task's poll, so `Pending` here is the task suspending.
async fn cancel_after<F: Future>(future: F, k: usize) {
    debug_assert!(k >= 1);
    let mut future = pin!(future);
    let mut pending = 0;
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(_) => Poll::Ready(()),
        Poll::Pending => {
            pending += 1;
            if pending == k {
                // The future has returned `Pending`: the task is suspended
                // at its `k`-th suspension point as soon as this poll
                // returns. Requested while the task is running, the
                // cancellation is delivered at its next poll, which the
                // task core queues as this one ends.
                let task = TaskRef::current().expect("cancel_sweep polls its copies as tasks");
                task.cancel();
            }
            Poll::Pending
        }
    })
    .await
}

/// What [`cancel_sweep`] found: how many suspension points the future has,
/// and how each copy ended when cancelled after one of them.
///
/// # Examples
///
/// A future that swallows every cancellation completes every time, and its
/// catch point saw each delivery:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tasklane::task::{TaskState, cancellable};
///
/// tasklane::run(async {
///     let caught = Arc::new(AtomicUsize::new(0));
///     let sweep = tasklane::testing::cancel_sweep(|| {
///         let caught = caught.clone();
///         async move {
///             for _ in 0..3 {
///                 if cancellable(tasklane::yield_now()).await.is_err() {
///                     caught.fetch_add(1, Ordering::SeqCst);
///                 }
///             }
///         }
///     })
///     .await;
///     assert_eq!(sweep.suspension_points(), 3);
///     assert_eq!(sweep.outcomes(), [TaskState::Completed; 3]);
///     assert_eq!(caught.load(Ordering::SeqCst), 3, "one delivery per copy");
/// });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CancelSweep {
    suspension_points: usize,
    outcomes: Vec<TaskState>,
}

impl CancelSweep {
    /// How many suspension points the reference run of the future had:
    /// polls of it that returned `Pending`.
    pub fn suspension_points(&self) -> usize {
        self.suspension_points
    }

    /// How each cancelled copy ended, one state per suspension point:
    /// `outcomes()[k - 1]` is the final state of the copy cancelled right
    /// after its `k`-th suspension point (`Completed`, `Cancelled` or
    /// `Panicked`). As long as [`suspension_points`](Self::suspension_points).
    pub fn outcomes(&self) -> &[TaskState] {
        &self.outcomes
    }
}

impl fmt::Debug for CancelSweep {
    /// The count and, for each `k`, how copy `k` ended.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct ByK<'a>(&'a [TaskState]);
        impl fmt::Debug for ByK<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().enumerate().map(|(i, s)| (i + 1, s)))
                    .finish()
            }
        }
        f.debug_struct("CancelSweep")
            .field("suspension_points", &self.suspension_points)
            .field("outcomes", &ByK(&self.outcomes))
            .finish()
    }
}
