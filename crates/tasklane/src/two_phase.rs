//! The second half of a subtree's shutdown (`TaskGroup::shutdown`,
//! `TaskSet::shutdown`), as the runtime's shutdown does it for every task:
//!
//! 1. the caller has cancelled every task (cause `Shutdown`), so their
//!    catch points can clean up;
//! 2. wait up to `grace` for all of them to end, and for whatever else the
//!    caller waits on (a group's shields);
//! 3. abort the tasks still running (cause `Shutdown`) and wait for them;
//! 4. report how each task ended: completed (any value), cancelled,
//!    panicked, or dropped by the abort (with its name).

use crate::runtime::ShutdownReport;
use crate::task::JoinHandle;
use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;
use tasklane_sched::task::CancelCause;

/// Steps 2 to 4 above for `handles`, whose tasks the caller has cancelled.
/// `also` is polled once every task has ended, within the same grace.
pub(crate) async fn finish_shutdown<T>(
    mut handles: Vec<JoinHandle<T>>,
    grace: Duration,
    mut also: impl FnMut(&mut Context<'_>) -> Poll<()>,
) -> ShutdownReport {
    let all_ended = poll_fn(|cx| {
        let mut pending = false;
        for h in handles.iter_mut() {
            pending |= h.poll_finished(cx).is_pending();
        }
        if pending {
            return Poll::Pending;
        }
        also(cx)
    });
    let in_grace = crate::time::timeout(grace, all_ended).await.is_ok();
    let mut aborted = vec![false; handles.len()];
    if !in_grace {
        for (h, a) in handles.iter().zip(aborted.iter_mut()) {
            if !h.is_finished() {
                h.task_ref().abort_because(CancelCause::Shutdown);
                *a = true;
            }
        }
    }
    let (mut completed, mut cancelled, mut panicked) = (0, 0, 0);
    let mut dropped = Vec::new();
    for (h, a) in handles.into_iter().zip(aborted) {
        let name = if a { Some(h.name().to_owned()) } else { None };
        match h.await {
            Ok(_) => completed += 1,
            Err(e) if e.is_panic() => panicked += 1,
            Err(_) => match name {
                Some(name) => dropped.push(name),
                None => cancelled += 1,
            },
        }
    }
    ShutdownReport::new(completed, cancelled, panicked, dropped)
}
