//! Tasks: spawning, joining, cancelling, naming.
//!
//! # Two-phase cancellation of one task
//!
//! [`JoinHandle::cancel_within`] cancels a task, gives its catch points
//! `grace` to clean up, then aborts it:
//!
//! ```
//! use std::time::Duration;
//! use tasklane::task::cancellable;
//! use tasklane::time::sleep;
//!
//! tasklane::run(async {
//!     // Cleans up within the grace: ends cancelled, its cleanup done.
//!     let polite = tasklane::spawn(async {
//!         if let Err(c) = cancellable(sleep(Duration::from_secs(60))).await {
//!             sleep(Duration::from_millis(5)).await; // say goodbye
//!             c.reraise().await
//!         }
//!     });
//!     tasklane::yield_now().await;
//!     let r = polite.cancel_within(Duration::from_secs(1)).await;
//!     assert!(r.unwrap_err().is_cancelled());
//!
//!     // Swallows every cancellation: aborted after the grace.
//!     let stubborn = tasklane::spawn(async {
//!         loop {
//!             let _ = cancellable(sleep(Duration::from_secs(60))).await;
//!         }
//!     });
//!     tasklane::yield_now().await;
//!     let r: Result<(), _> = stubborn.cancel_within(Duration::from_millis(10)).await;
//!     assert!(r.unwrap_err().is_cancelled());
//! });
//! ```

use crate::runtime::Handle;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use crate::group::{TaskOutput, Waitable};
pub use crate::task_local::{AccessError, LocalKey, TaskLocalFuture};
pub use tasklane_sched::task::{
    CancelCause, CancelWithin, Cancellable, Cancelled, JoinError, JoinHandle, Origin, Reraise,
    TaskDump, TaskId, TaskInfo, TaskRef, TaskSnapshot, TaskState, cancellable, current,
};

/// Spawns a task on the current runtime: asyncio's `create_task`.
///
/// Returns at once; the task runs concurrently, in parallel with others.
/// Dropping the returned handle cancels the task (use
/// [`JoinHandle::detach`] to let it run on).
///
/// # Panics
///
/// Outside a tasklane runtime (a worker, a blocking-pool thread, or inside
/// `Runtime::block_on` / `Runtime::enter`).
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     let h = tasklane::spawn(async { "hello" });
///     assert_eq!(h.await.unwrap(), "hello");
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Builder::new().spawn(future)
}

/// Spawns a `!Send` future (it may hold an `Rc` or a `RefCell` borrow across
/// awaits) on the current-thread runtime whose `block_on` runs on this
/// thread. The task has the same lifecycle as one from [`spawn`]: a name,
/// cancellation and catch points, `on_done`, a place in `Handle::tasks()`
/// and in the shutdown report. Its output must be `Send`, as the
/// [`JoinHandle`] may be awaited anywhere.
///
/// The runtime must keep being driven on this thread (module docs of the
/// local tasks in `docs/semantics.md`): polled on another, the task ends
/// panicked; dropped on another, its future is leaked rather than dropped.
///
/// # Panics
///
/// Anywhere but inside a current-thread runtime's `block_on` (or its tasks)
/// on this thread.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let rt = tasklane::Runtime::builder().current_thread().build().unwrap();
/// let n = rt.block_on(async {
///     let shared = Rc::new(std::cell::Cell::new(0));
///     let s = shared.clone();
///     let h = tasklane::task::spawn_local(async move {
///         tasklane::yield_now().await;
///         s.set(s.get() + 1);
///         s.get()
///     });
///     h.await.unwrap() + shared.get()
/// });
/// assert_eq!(n, 2);
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: Send + 'static,
{
    Builder::new().spawn_local(future)
}

/// Runs a blocking closure on the blocking pool, so workers never stall:
/// asyncio's `run_in_executor`.
///
/// Cancelling the handle before the closure starts means it never runs;
/// once it runs, it runs to the end.
///
/// # Panics
///
/// Outside a tasklane runtime.
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     let n = tasklane::spawn_blocking(|| (1..=10u64).product::<u64>()).await.unwrap();
///     assert_eq!(n, 3_628_800);
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Builder::new().spawn_blocking(f)
}

/// A suspension point that lets other tasks run: asyncio's `sleep(0)`.
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     tasklane::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Spawns tasks with options: a name. Every task of the crate (groups'
/// children, `gather`'s, shields) is spawned through it.
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     let h = tasklane::task::Builder::new().name("data-fetch-01").spawn(async {});
///     assert_eq!(h.name(), "data-fetch-01");
///     h.await.unwrap();
/// });
/// ```
#[derive(Default)]
pub struct Builder {
    name: Option<Cow<'static, str>>,
    /// The spawn location to record, when it is not the caller's (a helper
    /// that spawns on behalf of its own caller).
    location: Option<&'static Location<'static>>,
    shielded: bool,
}

impl Builder {
    /// A builder for an unnamed task (it will be called `Task-{id}`).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Records `location` as the spawn location instead of the caller's.
    pub(crate) fn location(mut self, location: &'static Location<'static>) -> Builder {
        self.location = Some(location);
        self
    }

    /// Spawns the task shielded: shutdown does not cancel it (`shield`).
    pub(crate) fn shielded(mut self) -> Builder {
        self.shielded = true;
        self
    }

    fn options(self, caller: &'static Location<'static>) -> tasklane_sched::task::TaskOptions {
        let opts = tasklane_sched::task::TaskOptions::new()
            .location(self.location.unwrap_or(caller))
            .shielded(self.shielded);
        match self.name {
            Some(n) => opts.name(n),
            None => opts,
        }
    }

    /// Spawns on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a tasklane runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        Handle::with_current(|h| h.sched().spawn(future, self.options(location)))
    }

    /// Spawns a `!Send` future on the current-thread runtime running on
    /// this thread (see [`spawn_local`]).
    ///
    /// # Panics
    ///
    /// Anywhere but inside a current-thread runtime's `block_on` on this
    /// thread.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        let handle = crate::local_task::local_runtime();
        handle.sched().spawn(
            crate::local_task::LocalFuture::new(future),
            self.options(location),
        )
    }

    /// Spawns on the runtime behind `handle`.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle
            .sched()
            .spawn(future, self.options(Location::caller()))
    }

    /// Runs a blocking closure on the current runtime's blocking pool.
    ///
    /// # Panics
    ///
    /// Outside a tasklane runtime.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let location = Location::caller();
        Handle::with_current(|h| h.sched().spawn_blocking(f, self.options(location)))
    }

    /// Runs a blocking closure on the blocking pool of the runtime behind
    /// `handle`.
    #[track_caller]
    pub fn spawn_blocking_on<F, R>(self, f: F, handle: &Handle) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        handle
            .sched()
            .spawn_blocking(f, self.options(Location::caller()))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
