//! Runtimes: building one, entering it, driving a future on it, shutting it
//! down.

use crate::driver::{RuntimeDriver, SchedDriver};
use crate::task::{JoinHandle, TaskDump, TaskSnapshot};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;
use tasklane_sched::{Config, Scheduler};

/// Grace given to tasks when a runtime is dropped or `run` returns.
pub const DEFAULT_GRACE: Duration = tasklane_sched::DEFAULT_GRACE;

thread_local! {
    /// The runtime this thread belongs to: set on runtime threads for their
    /// whole life, and by `Runtime::enter` / `block_on` elsewhere.
    static CONTEXT: RefCell<Option<Arc<OnceLock<Handle>>>> = const { RefCell::new(None) };
    /// On runtime threads: the `tracing` subscriber the runtime was built
    /// under, kept as this thread's default until the thread ends.
    static DISPATCH: RefCell<Option<tracing::dispatcher::DefaultGuard>> = const { RefCell::new(None) };
}

/// Runs `future` to completion on a new default runtime (one worker per
/// core), then shuts the runtime down gracefully: asyncio's `run`.
///
/// # Panics
///
/// If the runtime cannot be built (no threads can be spawned), or if called
/// from inside a runtime.
///
/// # Examples
///
/// ```
/// let v = tasklane::run(async { tasklane::spawn(async { 5 }).await.unwrap() });
/// assert_eq!(v, 5);
/// ```
pub fn run<F: Future>(future: F) -> F::Output {
    run_with(Builder::new(), "tasklane::run", future)
}

/// `run` on a runtime built from `builder` (`#[tasklane::main]` and
/// `#[tasklane::test]` come here too); `who` names the caller in the panic
/// if the runtime cannot be built.
pub(crate) fn run_with<F: Future>(builder: Builder, who: &str, future: F) -> F::Output {
    let rt = builder
        .build()
        .unwrap_or_else(|e| panic!("{who}: could not build the runtime: {e}"));
    let out = rt.block_on(future);
    rt.shutdown(DEFAULT_GRACE);
    out
}

/// A cheap, cloneable reference to a runtime, for spawning onto it from
/// anywhere.
#[derive(Clone)]
pub struct Handle {
    sched: tasklane_sched::Handle,
    driver: Arc<RuntimeDriver>,
}

impl Handle {
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
        CONTEXT.with(|c| c.borrow().as_ref().and_then(|h| h.get().cloned()))
    }

    /// Runs `f` with the current handle, without cloning it.
    #[track_caller]
    pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> R {
        CONTEXT.with(|c| {
            let c = c.borrow();
            match c.as_ref().and_then(|h| h.get()) {
                Some(h) => f(h),
                None => panic!("{OUTSIDE}"),
            }
        })
    }

    /// Runs `f` with the current handle, if there is one.
    pub(crate) fn try_with_current<R>(f: impl FnOnce(&Handle) -> R) -> Option<R> {
        CONTEXT.with(|c| c.borrow().as_ref().and_then(|h| h.get()).map(f))
    }

    pub(crate) fn sched(&self) -> &tasklane_sched::Handle {
        &self.sched
    }

    pub(crate) fn driver(&self) -> &Arc<RuntimeDriver> {
        &self.driver
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
    /// [`Builder::poll_timing`]): asyncio's `all_tasks()`. Blocking jobs
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

/// Makes a runtime current on this thread until dropped
/// (see [`Runtime::enter`]).
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<Arc<OnceLock<Handle>>>,
}

impl EnterGuard {
    fn new(cell: Arc<OnceLock<Handle>>) -> EnterGuard {
        EnterGuard {
            prev: CONTEXT.with(|c| c.borrow_mut().replace(cell)),
        }
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CONTEXT.with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// What [`Runtime::shutdown`] did with the tasks alive when it began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    completed: usize,
    cancelled: usize,
    panicked: usize,
    dropped: Vec<String>,
}

impl ShutdownReport {
    /// Tasks that ended with a value after shutdown began.
    pub fn completed(&self) -> usize {
        self.completed
    }

    /// Tasks that ended cancelled.
    pub fn cancelled(&self) -> usize {
        self.cancelled
    }

    /// Tasks that ended by panicking.
    pub fn panicked(&self) -> usize {
        self.panicked
    }

    /// Tasks still running when the grace ran out, which shutdown gave up on.
    pub fn dropped(&self) -> usize {
        self.dropped.len()
    }

    /// Names of the tasks counted by [`dropped`](Self::dropped).
    pub fn dropped_names(&self) -> &[String] {
        &self.dropped
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} completed, {} cancelled, {} panicked, {} dropped",
            self.completed,
            self.cancelled,
            self.panicked,
            self.dropped.len()
        )?;
        if !self.dropped.is_empty() {
            write!(f, " ({})", self.dropped.join(", "))?;
        }
        Ok(())
    }
}

/// A multi-threaded runtime: worker threads, a timer driver, a blocking
/// pool.
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
    cell: Arc<OnceLock<Handle>>,
}

impl Runtime {
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
    /// run spawned tasks.
    ///
    /// # Panics
    ///
    /// If called from a worker thread of a tasklane runtime: that would block
    /// a worker.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            tasklane_sched::Handle::current_worker().is_none(),
            "Runtime::block_on called from inside a runtime worker; await the future instead"
        );
        let _enter = self.enter();
        let unparker = Arc::new(Unparker {
            thread: thread::current(),
            notified: AtomicBool::new(false),
        });
        let waker = Waker::from(unparker.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                return v;
            }
            // Acquire: pairs with the Release in `wake`, so whatever the waker
            // published is visible to the next poll.
            while !unparker.notified.swap(false, Ordering::Acquire) {
                thread::park();
            }
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
        let s = self.sched.shutdown(grace);
        self.shutdown_io();
        ShutdownReport {
            completed: s.completed,
            cancelled: s.cancelled,
            panicked: s.panicked,
            dropped: s.dropped,
        }
    }
}

impl Runtime {
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
        self.sched.shutdown(DEFAULT_GRACE);
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

struct Unparker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: see `block_on`.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

/// Builds a [`Runtime`] with options.
///
/// # Examples
///
/// ```
/// let rt = tasklane::Builder::new()
///     .worker_threads(2)
///     .thread_name("my-service")
///     .max_blocking_threads(16)
///     .build()
///     .unwrap();
/// # drop(rt);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    worker_threads: Option<usize>,
    thread_name: String,
    max_blocking_threads: usize,
    slow_poll_threshold: Duration,
    spin_before_park: Duration,
    poll_timing: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            worker_threads: None,
            thread_name: "tasklane".to_owned(),
            max_blocking_threads: 512,
            slow_poll_threshold: tasklane_sched::DEFAULT_SLOW_POLL_THRESHOLD,
            spin_before_park: tasklane_sched::DEFAULT_SPIN_BEFORE_PARK,
            poll_timing: false,
        }
    }
}

impl Builder {
    /// Defaults: one worker per core, up to 512 blocking threads.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of worker threads; `build` fails on 0.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Prefix of the runtime's thread names (`{name}-worker-{i}`,
    /// `{name}-blocking`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// Upper bound on blocking-pool threads; `build` fails on 0.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n;
        self
    }

    /// A poll that runs longer than this (default 100 ms) is reported as a
    /// `tracing` WARN (target `tasklane::slow_poll`) naming the task, its
    /// id, the duration and the worker: asyncio's `slow_callback_duration`.
    /// Measured with the coarse monotonic clock (its resolution is one
    /// kernel tick, 1 to 10 ms), once per poll, by the worker itself;
    /// `Duration::MAX` never reports.
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = threshold;
        self
    }

    /// How long an idle worker keeps looking for work before it sleeps
    /// (default: no spin beyond one steal pass; docs/benchmarks.md shows why).
    pub fn spin_before_park(mut self, spin: Duration) -> Builder {
        self.spin_before_park = spin;
        self
    }

    /// Measures each task's time spent running, shown by `Handle::tasks()`
    /// ([`TaskSnapshot::running_time`](crate::task::TaskSnapshot::running_time)).
    /// Off by default: it reads the CPU's time-stamp counter twice per
    /// poll, and where that read is slow (on some virtual machines) it
    /// can cost as much as a short poll (`docs/benchmarks.md`,
    /// observability).
    pub fn poll_timing(mut self, on: bool) -> Builder {
        self.poll_timing = on;
        self
    }

    /// Starts the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for zero workers or zero blocking threads; the OS
    /// error if threads cannot be started.
    pub fn build(self) -> io::Result<Runtime> {
        let workers = match self.worker_threads {
            Some(0) => return Err(invalid("worker_threads must be at least 1")),
            Some(n) => n,
            None => thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.max_blocking_threads == 0 {
            return Err(invalid("max_blocking_threads must be at least 1"));
        }
        let cell: Arc<OnceLock<Handle>> = Arc::new(OnceLock::new());
        let hook_cell = cell.clone();
        let name = self.thread_name;
        // The `tracing` subscriber in effect where the runtime is built
        // (a scoped one, from `tracing::subscriber::with_default`, included)
        // is the default on the runtime's threads too, so spans and events
        // of tasks reach it. With none at all (`NoSubscriber`), the threads
        // are left alone, so a global default set later is still seen.
        let dispatch = tracing::dispatcher::get_default(|d| {
            (!d.is::<tracing::subscriber::NoSubscriber>()).then(|| d.clone())
        });
        // Runtime threads keep this runtime current for their whole life.
        // No task can run before `cell` is filled below: tasks only exist
        // once a handle exists to spawn them.
        let driver = Arc::new(RuntimeDriver::new(workers)?);
        let start_driver = driver.clone();
        let on_start: tasklane_sched::ThreadHook = Arc::new(move || {
            CONTEXT.with(|c| *c.borrow_mut() = Some(hook_cell.clone()));
            start_driver.adopt_thread();
            if let Some(d) = &dispatch {
                let guard = tracing::dispatcher::set_default(d);
                DISPATCH.with(|g| *g.borrow_mut() = Some(guard));
            }
        });
        let stop_driver = driver.clone();
        let on_stop: tasklane_sched::ThreadHook = Arc::new(move || {
            stop_driver.release_thread();
            CONTEXT.with(|c| c.borrow_mut().take());
            DISPATCH.with(|g| g.borrow_mut().take());
        });
        let config = Config {
            worker_threads: workers,
            driver: Some(Box::new(SchedDriver(driver.clone()))),
            thread_name: Arc::new(move |i| match i {
                Some(i) => format!("{name}-worker-{i}"),
                None => format!("{name}-blocking"),
            }),
            max_blocking_threads: self.max_blocking_threads,
            spin_before_park: self.spin_before_park,
            on_thread_start: Some(on_start),
            on_thread_stop: Some(on_stop),
            poll_timing: self.poll_timing,
            slow_poll_threshold: self.slow_poll_threshold,
            ..Config::default()
        };
        let sched = Scheduler::new(config)?;
        cell.set(Handle {
            sched: sched.handle().clone(),
            driver,
        })
        .expect("fresh cell");
        Ok(Runtime { sched, cell })
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
