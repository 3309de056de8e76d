//! Which task is being polled on this thread (asyncio's `current_task`).

use super::header::Header;
use super::id::TaskId;
use crate::sync::thread_local;
use std::cell::Cell;
use std::fmt;
use std::ptr::NonNull;

thread_local! {
    static CURRENT: Cell<Option<NonNull<Header>>> = const { Cell::new(None) };
}

/// Restores the previous current task when the poll ends (or unwinds).
pub(super) struct Enter {
    prev: Option<NonNull<Header>>,
}

/// Marks `ptr` as the task being polled on this thread.
#[inline]
pub(super) fn enter(ptr: NonNull<Header>) -> Enter {
    Enter {
        prev: CURRENT.with(|c| c.replace(Some(ptr))),
    }
}

impl Drop for Enter {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// The pointer of the task being polled on this thread, as it was entered:
/// with the whole cell's provenance, unlike a `&Header` from
/// [`with_header`], so it may become a counted reference.
#[inline]
pub(super) fn ptr() -> Option<NonNull<Header>> {
    CURRENT.with(|c| c.get())
}

/// Calls `f` with the header of the task being polled on this thread.
pub(crate) fn with_header<R>(f: impl FnOnce(Option<&Header>) -> R) -> R {
    CURRENT.with(|c| {
        // SAFETY: the pointer is set only for the duration of a poll (or of
        // the future's drop), while the poller holds a reference to the task.
        f(c.get().map(|ptr| unsafe { ptr.as_ref() }))
    })
}

/// The id and name of a task.
#[derive(Clone, PartialEq, Eq)]
pub struct TaskInfo {
    id: TaskId,
    name: String,
}

impl TaskInfo {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (`Task-{id}` if it was not given one).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish()
    }
}

/// The task being polled on this thread, if any: asyncio's `current_task()`.
///
/// # Examples
///
/// ```
/// assert!(tasklane_sched::task::current().is_none()); // not inside a task
/// ```
pub fn current() -> Option<TaskInfo> {
    CURRENT.with(|c| {
        c.get().map(|ptr| {
            // SAFETY: the pointer is set only for the duration of a poll, while
            // the poller holds a reference to the task.
            let h = unsafe { ptr.as_ref() };
            TaskInfo {
                id: h.id,
                name: h.name().to_owned(),
            }
        })
    })
}
