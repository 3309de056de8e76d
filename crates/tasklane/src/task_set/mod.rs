//! [`TaskSet`] (tokio's `JoinSet`, asyncio's set of tasks) and
//! [`as_completed`]: tasks reaped in the order they finish.

mod as_completed;
mod ready;

pub use as_completed::{AsCompleted, as_completed};

use crate::runtime::ShutdownReport;
use crate::task::{JoinError, JoinHandle, TaskId};
use ready::Ready;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;
use tasklane_sched::coop;
use tasklane_sched::task::CancelCause;

/// A set of tasks reaped in the order they finish: tokio's `JoinSet`,
/// asyncio's set of tasks with `asyncio.wait(.., FIRST_COMPLETED)` in a
/// loop.
///
/// [`spawn`](Self::spawn) starts a task in the set; [`join_next`](Self::join_next)
/// gives the result of the next task to finish (its value, or the
/// [`JoinError`] of a panic or a cancellation), and `None` once the set is
/// empty; [`try_join_next`](Self::try_join_next) does the same without
/// waiting. The tasks are ordinary tasks: they have names, their catch
/// points see cancellations, and `Handle::tasks()` lists them.
///
/// **Memory is bounded by what the set holds**: a finished task stays in
/// the set only until its result is taken, so a loop that spawns and reaps
/// as it goes (an accept loop) holds its live tasks and the finished ones
/// not reaped yet, never the whole history.
///
/// **Dropping the set cancels every task in it** (a cancellation, cause
/// `HandleDropped`: catch points may clean up), as dropping a `JoinHandle`
/// does. [`shutdown`](Self::shutdown) cancels, gives a grace, then aborts.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::{TaskSet, time::sleep};
///
/// tasklane::run(async {
///     let mut set = TaskSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(r) = set.join_next().await {
///         order.push(r.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
#[must_use = "dropping a TaskSet cancels its tasks"]
pub struct TaskSet<T> {
    /// Every task in the set, finished or not, until its result is taken.
    handles: HashMap<TaskId, JoinHandle<T>>,
    /// The tasks that finished, in order (see `ready.rs` for the protocol).
    ready: Arc<Ready>,
}

impl<T> TaskSet<T> {
    /// An empty set.
    pub fn new() -> TaskSet<T> {
        TaskSet {
            handles: HashMap::new(),
            ready: Arc::default(),
        }
    }

    /// Spawns `future` as a task in the set, on the current runtime, and
    /// returns its id.
    ///
    /// # Panics
    ///
    /// Outside a tasklane runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> TaskId
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handle = crate::task::Builder::new()
            .location(Location::caller())
            .spawn(future);
        self.insert(handle)
    }

    /// Spawns a named task in the set, as [`spawn`](Self::spawn) does
    /// (asyncio's `create_task(coro, name=..)`).
    ///
    /// ```
    /// tasklane::run(async {
    ///     let mut set = tasklane::TaskSet::new();
    ///     set.spawn_named("conn-1", async { tasklane::task::current().unwrap().name().to_owned() });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), "conn-1");
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a tasklane runtime.
    #[track_caller]
    pub fn spawn_named<F>(&mut self, name: impl Into<Cow<'static, str>>, future: F) -> TaskId
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handle = crate::task::Builder::new()
            .name(name)
            .location(Location::caller())
            .spawn(future);
        self.insert(handle)
    }

    /// Takes `handle`'s task into the set.
    pub(crate) fn insert(&mut self, mut handle: JoinHandle<T>) -> TaskId {
        let id = handle.id();
        let waker = self.ready.waker_for(id);
        if handle
            .poll_finished(&mut Context::from_waker(&waker))
            .is_ready()
        {
            // Finished before the waker was in place: it will not be woken.
            self.ready.push(id);
        }
        let old = self.handles.insert(id, handle);
        debug_assert!(old.is_none(), "a task is in a set once");
        id
    }

    /// Waits for the next task to finish and gives its result: `Ok(value)`,
    /// or the [`JoinError`] of a task that panicked or was cancelled.
    /// Results come in the order the tasks finished. `None` when the set is
    /// empty.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it returns loses no result: the task
    /// stays in the set, and the next `join_next` gives it.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next) as a poll: `Ready(None)` when the set
    /// is empty, `Pending` (with `cx`'s waker kept) while no task has
    /// finished. Takes part in the cooperative budget, so a set whose tasks
    /// are always finished cannot keep its task from yielding.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.handles.is_empty() {
            return Poll::Ready(None);
        }
        let proceed = ready!(coop::poll_proceed(cx));
        loop {
            let id = ready!(self.ready.poll_pop(cx));
            if let Some(r) = self.take(id) {
                proceed.made_progress();
                return Poll::Ready(Some(r));
            }
        }
    }

    /// The result of a task that has finished, if there is one; never
    /// waits. `None` when no task has finished (or the set is empty).
    ///
    /// ```
    /// tasklane::run(async {
    ///     let mut set = tasklane::TaskSet::new();
    ///     assert!(set.try_join_next().is_none());
    ///     set.spawn(async { 7 });
    ///     while set.try_join_next().map(|r| r.unwrap()) != Some(7) {
    ///         tasklane::yield_now().await;
    ///     }
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        while let Some(id) = self.ready.pop() {
            if let Some(r) = self.take(id) {
                return Some(r);
            }
        }
        None
    }

    /// Takes the result of task `id`, reported finished; `None` if the
    /// task is no longer in the set.
    fn take(&mut self, id: TaskId) -> Option<Result<T, JoinError>> {
        let handle = self.handles.get_mut(&id)?;
        debug_assert!(handle.is_finished(), "reported finished: {id}");
        // The task is complete: reading its result waits for nothing, so the
        // budget (already charged by the caller, if at all) is left out.
        let polled = coop::unconstrained(|| {
            Pin::new(&mut *handle).poll(&mut Context::from_waker(Waker::noop()))
        });
        let Poll::Ready(r) = polled else {
            unreachable!("task {id} reported finished but its result is not there");
        };
        self.handles.remove(&id);
        Some(r)
    }

    /// Tasks in the set: running, and finished but not yet reaped.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Cancels every task in the set (asyncio's `cancel()` on each): a
    /// cancellation, not an abort, so their catch points may clean up. The
    /// tasks stay in the set, and `join_next` gives their results (a
    /// `JoinError` for those that ended cancelled, their value for those
    /// that finished anyway or swallowed the cancellation).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tasklane::{TaskSet, time::sleep};
    ///
    /// tasklane::run(async {
    ///     let mut set = TaskSet::new();
    ///     for _ in 0..3 {
    ///         set.spawn(sleep(Duration::from_secs(60)));
    ///     }
    ///     set.cancel_all();
    ///     let mut cancelled = 0;
    ///     while let Some(r) = set.join_next().await {
    ///         cancelled += r.unwrap_err().is_cancelled() as usize;
    ///     }
    ///     assert_eq!(cancelled, 3);
    /// });
    /// ```
    pub fn cancel_all(&self) {
        for h in self.handles.values() {
            h.cancel();
        }
    }

    /// Cancels the task `id` alone, if it is in the set (as
    /// `JoinHandle::cancel` does): `false` if it is not, or had finished.
    /// Its result still comes through `join_next`.
    ///
    /// ```
    /// tasklane::run(async {
    ///     let mut set = tasklane::TaskSet::new();
    ///     let slow = set.spawn(std::future::pending::<()>());
    ///     assert!(set.cancel(slow));
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    ///     assert!(!set.cancel(slow), "no longer in the set");
    /// });
    /// ```
    pub fn cancel(&self, id: TaskId) -> bool {
        self.handles.get(&id).is_some_and(|h| h.cancel())
    }

    /// Shuts the set down, as the runtime's shutdown does for every task:
    /// cancels every task in it (cause `Shutdown`; their catch points may
    /// clean up), waits up to `grace` for them, aborts those still running
    /// after it, waits for those to end, and reports what became of each.
    /// The set is empty after it (and can be used again).
    ///
    /// The report counts every task the set held, the finished ones not
    /// yet reaped included (their results are dropped): `completed` (a
    /// value), `cancelled`, `panicked`, and `dropped` with the names of
    /// those aborted after the grace (by task id: in spawn order for tasks
    /// spawned from one thread). If this future is
    /// dropped before it returns, the tasks it took are cancelled as a
    /// dropped set's are.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tasklane::{TaskSet, task::cancellable, time::sleep};
    ///
    /// tasklane::run(async {
    ///     let (started, all_started) = tasklane::sync::bounded(2);
    ///     let mut set = TaskSet::new();
    ///     let s = started.clone();
    ///     set.spawn(async move {
    ///         s.send(()).await.unwrap();
    ///         // Cleans up when cancelled, then ends with a value.
    ///         let _ = cancellable(sleep(Duration::from_secs(60))).await;
    ///     });
    ///     set.spawn_named("stubborn", async move {
    ///         started.send(()).await.unwrap();
    ///         loop {
    ///             let _ = cancellable(sleep(Duration::from_secs(60))).await;
    ///         }
    ///     });
    ///     for _ in 0..2 {
    ///         all_started.recv().await.unwrap();
    ///     }
    ///     let report = set.shutdown(Duration::from_millis(20)).await;
    ///     assert_eq!(report.completed(), 1);
    ///     assert_eq!(report.dropped_names(), ["stubborn"]);
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self, grace: Duration) -> ShutdownReport {
        let mut handles: Vec<JoinHandle<T>> = self.handles.drain().map(|(_, h)| h).collect();
        self.ready.clear();
        handles.sort_unstable_by_key(|h| h.id());
        for h in &handles {
            h.task_ref().cancel_because(CancelCause::Shutdown);
        }
        crate::two_phase::finish_shutdown(handles, grace, |_| Poll::Ready(())).await
    }
}

impl<T> Default for TaskSet<T> {
    fn default() -> Self {
        TaskSet::new()
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet")
            .field("len", &self.handles.len())
            .field("finished", &self.ready.len())
            .finish()
    }
}
