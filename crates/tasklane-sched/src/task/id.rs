//! Task identity: ids, names, and the public state enum.

#[cfg(not(tasklane_loom))]
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's id, unique within the process for its lifetime.
///
/// Ids are handed out in blocks to each thread, so they grow with spawn order
/// on one thread but not across threads.
///
/// # Examples
///
/// ```
/// # use tasklane_sched::task::TaskId;
/// fn log(id: TaskId) -> String { format!("task {id}") }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// A fresh id. A thread takes [`BLOCK`] ids at a time from one global
    /// counter, so spawning on several workers does not bounce one cache line.
    #[cfg(not(tasklane_loom))]
    pub(crate) fn next() -> TaskId {
        // Not part of any protocol the loom models check: plain std atomics.
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        const BLOCK: u64 = 1024;
        std::thread_local! {
            static LOCAL: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        LOCAL.with(|local| {
            let (mut next, mut end) = local.get();
            if next == end {
                // Relaxed: uniqueness needs only the atomicity of the add.
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            local.set((next + 1, end));
            TaskId(NonZeroU64::new(next).expect("task ids start at 1"))
        })
    }

    /// A fresh id, under loom: ids restart at 1 in every execution (a loom
    /// lazy static lives for one execution), so the registry shard a task
    /// lands in, and with it the model, is the same whenever loom replays a
    /// path. The counter is std's: no loom branch point, and no part of any
    /// protocol the models check.
    #[cfg(tasklane_loom)]
    pub(crate) fn next() -> TaskId {
        loom::lazy_static! {
            static ref NEXT: AtomicU64 = AtomicU64::new(1);
        }
        // Relaxed: uniqueness needs only the atomicity of the add.
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        TaskId(NonZeroU64::new(id).expect("task ids start at 1"))
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.0)
    }
}

/// Where a task is in its lifecycle, as asyncio tells it.
///
/// ```text
/// Scheduled ─▶ Running ─▶ Suspended ─▶ Scheduled …
///     └───────────┴──▶ Completed | Panicked | Cancelled
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting in a run queue to be polled.
    Scheduled,
    /// Being polled by a worker right now.
    Running,
    /// Waiting for something to wake it.
    Suspended,
    /// Finished with a value.
    Completed,
    /// Finished because it panicked.
    Panicked,
    /// Finished because a cancellation was delivered to it.
    Cancelled,
}

impl TaskState {
    /// True for the three final states.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Panicked | TaskState::Cancelled
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
            TaskState::Completed => "completed",
            TaskState::Panicked => "panicked",
            TaskState::Cancelled => "cancelled",
        };
        f.write_str(s)
    }
}
