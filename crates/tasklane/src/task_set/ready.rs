//! The queue of finished tasks that a [`TaskSet`](super::TaskSet) reaps
//! from, in the order they finished.
//!
//! # Protocol
//!
//! 1. When the set takes a task, it registers a waker of the task's own
//!    ([`Ready::waker_for`]) as the `JoinHandle`'s join waker
//!    (`poll_finished`). A task wakes its join waker exactly once, when it
//!    completes, after its state says complete and after it has left the
//!    runtime's task list. If the task had already completed, the
//!    registration says so and the set pushes the id itself.
//! 2. The wake pushes the task's id on the queue and wakes the set's
//!    waker, if a `join_next` left one.
//! 3. `join_next` pops ids in order and takes each task's result from its
//!    handle, which is complete. Ids of tasks no longer in the set (taken
//!    out by a shutdown between the completion and its wake) are skipped.
//!
//! A wake costs a lock and a push; nothing ever scans the set, so reaping
//! `n` tasks is O(n) whatever the set's size. The per-task cost is one
//! allocation (the waker), which the task frees when it is freed. A
//! done callback (`JoinHandle::on_done`) would do the same job with more:
//! a callback list, a boxed closure and a snapshot (with a copy of the
//! name) per task.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tasklane_sched::task::TaskId;

/// Finished tasks not yet reaped, and who waits for the next.
#[derive(Default)]
pub(super) struct Ready {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Ids in the order their tasks finished.
    done: VecDeque<TaskId>,
    /// The reaper waiting for the next id, if any.
    waker: Option<Waker>,
}

impl Ready {
    /// The join waker for task `id`: waking it reports the task done.
    pub(super) fn waker_for(self: &Arc<Ready>, id: TaskId) -> Waker {
        Waker::from(Arc::new(Done {
            id,
            ready: self.clone(),
        }))
    }

    /// Reports task `id` done.
    pub(super) fn push(&self, id: TaskId) {
        let waker = {
            let mut inner = self.inner.lock();
            inner.done.push_back(id);
            inner.waker.take()
        };
        // Outside the lock: the reaper's waker is user code.
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The next finished task, or `Pending` with `cx`'s waker kept for the
    /// next push.
    pub(super) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<TaskId> {
        let mut inner = self.inner.lock();
        if let Some(id) = inner.done.pop_front() {
            return Poll::Ready(id);
        }
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next finished task, if any; never waits.
    pub(super) fn pop(&self) -> Option<TaskId> {
        self.inner.lock().done.pop_front()
    }

    /// Forgets every id queued (their tasks were taken out of the set).
    pub(super) fn clear(&self) {
        self.inner.lock().done.clear();
    }

    /// Ids queued and not yet popped.
    pub(super) fn len(&self) -> usize {
        self.inner.lock().done.len()
    }
}

/// One task's join waker.
struct Done {
    id: TaskId,
    ready: Arc<Ready>,
}

impl Wake for Done {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.id);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.id);
    }
}
