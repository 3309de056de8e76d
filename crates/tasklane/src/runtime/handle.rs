//! [`Handle`]: a cloneable reference to a runtime, for spawning onto it and
//! looking into it from anywhere.

use super::context;
use crate::driver::RuntimeDriver;
use crate::task::{JoinHandle, TaskDump, TaskSnapshot};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A cheap, cloneable reference to a runtime, for spawning onto it from
/// anywhere.
#[derive(Clone)]
pub struct Handle {
    sched: tasklane_sched::Handle,
    driver: Arc<RuntimeDriver>,
}

impl Handle {
    /// The handle of a runtime made of `sched` and `driver`.
    pub(super) fn new(sched: tasklane_sched::Handle, driver: Arc<RuntimeDriver>) -> Handle {
        Handle { sched, driver }
    }

    /// The runtime this code runs on.
    ///
    /// # Panics
    ///
    /// Outside a runtime; see [`try_current`](Self::try_current).
    pub fn current() -> Handle {
        Handle::try_current().expect(OUTSIDE)
    }

    /// The runtime this code runs on, if any.
    pub fn try_current() -> Option<Handle> {
        context::with_handle(|h| h.cloned())
    }

    /// Runs `f` with the current handle, without cloning it.
    #[track_caller]
    pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> R {
        context::with_handle(|h| match h {
            Some(h) => f(h),
            None => panic!("{OUTSIDE}"),
        })
    }

    /// Runs `f` with the current handle, if there is one.
    pub(crate) fn try_with_current<R>(f: impl FnOnce(&Handle) -> R) -> Option<R> {
        context::with_handle(|h| h.map(f))
    }

    pub(crate) fn sched(&self) -> &tasklane_sched::Handle {
        &self.sched
    }

    pub(crate) fn driver(&self) -> &Arc<RuntimeDriver> {
        &self.driver
    }

    /// On a deterministic runtime ([`Builder::deterministic`](crate::Builder::deterministic)),
    /// a hash of the sequence of polls so far, each task named by the order
    /// of its first poll (the `block_on` future counts as one more): equal
    /// across runs of the same program with the same seed. 0 on the other
    /// runtimes.
    pub fn schedule_digest(&self) -> u64 {
        self.sched.schedule_digest()
    }

    /// The seed of a deterministic runtime; `None` on the others.
    pub fn seed(&self) -> Option<u64> {
        self.sched.seed()
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::task::Builder::new().spawn_on(future, self)
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::task::Builder::new().spawn_blocking_on(f, self)
    }

    /// Every live task, with its id, name, state, spawn location, poll
    /// count and time spent running (coarse, or precise with
    /// [`Builder::poll_timing`](super::Builder::poll_timing)): asyncio's `all_tasks()`. Blocking jobs
    /// are included. Read shard by shard while tasks come and go: a task
    /// spawned or finished meanwhile may or may not be listed.
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.sched.tasks().iter().map(|t| t.snapshot()).collect()
    }

    /// [`tasks`](Self::tasks) in id order, printed like asyncio's task
    /// reprs, one per line: `println!("{}", handle.dump())` shows what a
    /// stuck program is doing.
    ///
    /// ```text
    /// 2 live tasks:
    ///   <Task running name='busy' id=3 polls=1 running=212ms spawned at src/main.rs:9:5>
    ///   <Task suspended name='idle' id=4 polls=1 running=0ns spawned at src/main.rs:10:5>
    /// ```
    pub fn dump(&self) -> TaskDump {
        TaskDump::new(self.tasks())
    }

    /// Per-worker polls, steals, parks and local queue depth, the injector's
    /// depth, blocking threads alive and live tasks, read now (racily: each
    /// figure was true at some instant during the read). The counters are
    /// always kept: each is written only by its worker, with no atomic
    /// read-modify-write.
    pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
        self.sched.metrics()
    }

    /// Number of live tasks (blocking jobs included).
    pub fn num_tasks(&self) -> usize {
        self.sched.num_tasks()
    }

    /// Number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.sched.num_workers()
    }

    /// Number of blocking-pool threads alive now.
    pub fn num_blocking_threads(&self) -> usize {
        self.sched.num_blocking_threads()
    }

    /// Number of timers registered on the timer wheel now: sleeps,
    /// intervals and `wait_for` deadlines that have been polled and have
    /// neither fired nor been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// tasklane::run(async {
    ///     let h = tasklane::Handle::current();
    ///     let r = tasklane::wait_for(std::future::pending::<()>(), Duration::from_millis(1)).await;
    ///     assert!(r.is_err());
    ///     assert_eq!(h.num_timers(), 0); // fired: gone from the wheel
    /// });
    /// ```
    pub fn num_timers(&self) -> usize {
        self.driver.num_timers()
    }
}

const OUTSIDE: &str = "no tasklane runtime here: spawn and Handle::current must be called \
     from a task, a blocking job, Runtime::block_on or inside Runtime::enter";

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.num_workers())
            .finish_non_exhaustive()
    }
}
