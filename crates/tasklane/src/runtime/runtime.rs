//! [`Runtime`]: owns the scheduler (and through its driver the timers and
//! I/O); drives a future on the calling thread and shuts everything down.

use super::context::HandleCell;
use super::{Builder, EnterGuard, Handle, ShutdownReport, park};
use crate::task::JoinHandle;
use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;
use tasklane_sched::Scheduler;

/// Grace given to tasks when a runtime is dropped or `run` returns.
pub const DEFAULT_GRACE: Duration = tasklane_sched::DEFAULT_GRACE;

/// A runtime: worker threads (or, built with
/// [`Builder::current_thread`], the thread inside `block_on`), a timer and
/// I/O driver, a blocking pool.
///
/// Dropping it shuts it down as [`shutdown`](Self::shutdown) does, with a
/// grace of [`DEFAULT_GRACE`].
///
/// # Examples
///
/// ```
/// let rt = tasklane::Runtime::builder().worker_threads(2).build().unwrap();
/// let h = rt.spawn(async { 1 });
/// assert_eq!(rt.block_on(h).unwrap(), 1);
/// ```
pub struct Runtime {
    sched: Scheduler,
    cell: HandleCell,
}

impl Runtime {
    /// A runtime around `sched`, whose threads know it by `cell` (already
    /// filled with its handle).
    pub(super) fn from_parts(sched: Scheduler, cell: HandleCell) -> Runtime {
        Runtime { sched, cell }
    }

    /// The default runtime: one worker per core.
    ///
    /// # Errors
    ///
    /// If the worker threads cannot be started.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder for a runtime with options.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A handle for spawning onto this runtime from anywhere.
    pub fn handle(&self) -> Handle {
        self.cell.get().expect("set in build").clone()
    }

    /// Spawns a task from outside the runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::task::Builder::new().spawn_on(future, self.cell.get().expect("set in build"))
    }

    /// Makes this runtime current on this thread until the guard drops, so
    /// `tasklane::spawn` works here.
    pub fn enter(&self) -> EnterGuard {
        EnterGuard::new(self.cell.clone())
    }

    /// Drives `future` to completion on the calling thread while the workers
    /// run spawned tasks. On a current-thread runtime the tasks run on this
    /// thread, between the polls of `future`, and only while some thread is
    /// inside `block_on` (or shutting the runtime down).
    ///
    /// # Panics
    ///
    /// If called from inside a tasklane runtime's task (on a worker thread,
    /// or inside a current-thread runtime's `block_on`): that would block
    /// the thread that must run the tasks.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            tasklane_sched::Handle::current_worker().is_none(),
            "Runtime::block_on called from inside a runtime worker; await the future instead"
        );
        let _enter = self.enter();
        if self.sched.handle().is_current_thread() {
            park::block_on_current_thread(&self.sched, future)
        } else {
            park::block_on(self.sched.handle(), future)
        }
    }

    /// Shuts down gracefully (asyncio.run's ending):
    ///
    /// 1. cancels every live task but the shielded ones, so catch points can
    ///    clean up; cleanup may spawn more tasks and await them;
    /// 2. waits up to `grace` for every task to end (shielded ones, and
    ///    those spawned meanwhile, included);
    /// 3. aborts whatever is left (each future is dropped at its next
    ///    suspension point) and joins the worker and blocking threads;
    /// 4. reports what happened to those tasks.
    pub fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let stats = self.shutdown_tasks(grace);
        self.shutdown_io();
        ShutdownReport::from_stats(stats)
    }
}

impl Runtime {
    /// Steps 1–3 of `shutdown`. A current-thread runtime runs its tasks'
    /// cleanup on this thread, which is made its runtime's for that time.
    fn shutdown_tasks(&mut self, grace: Duration) -> tasklane_sched::ShutdownStats {
        let _enter = self
            .sched
            .handle()
            .is_current_thread()
            .then(|| self.enter());
        self.sched.shutdown(grace)
    }

    /// After the tasks: sockets that outlive the runtime fail from now on
    /// rather than wait for a reactor nobody polls.
    fn shutdown_io(&self) {
        if let Some(h) = self.cell.get() {
            h.driver().io().shutdown();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // As `Scheduler`'s own drop: not while unwinding out of one of our
        // tasks (that would wait for itself).
        if std::thread::panicking() && self.sched.handle().is_current_worker() {
            return;
        }
        self.shutdown_tasks(DEFAULT_GRACE);
        self.shutdown_io();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.cell.get())
            .finish()
    }
}
