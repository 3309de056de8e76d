//! The multi-threaded work-stealing scheduler.
//!
//! One worker thread per configured core, each with a `crossbeam-deque`
//! local queue and a LIFO slot; a global injector for tasks scheduled from
//! outside the workers; batch stealing; parking through [`Driver`]; a
//! monitor thread that takes work back from a worker stuck in a poll. The
//! module docs of `worker.rs`, `idle.rs`, `lifo.rs` and `monitor.rs` give
//! the run loop, the sleep/wake protocol, the stealable LIFO slot and the
//! monitor step by step.
//!
//! With `Config::current_thread` the same scheduler has one worker and no
//! worker thread: the thread inside [`Scheduler::block_on`] runs the loop
//! (`current.rs`).

mod current;
mod idle;
mod lifo;
mod metrics;
mod monitor;
mod park;
mod sim;
mod worker;

pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use park::Driver;

use crate::blocking::{BlockingSchedule, Pool};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::deque::{Injector, Stealer, Worker as LocalQueue};
use crate::sync::{Arc, StdArc, thread};
use crate::task::{
    self, CancelCause, JoinHandle, Notified, Registry, Schedule, TaskOptions, TaskRef,
};
use crossbeam_utils::CachePadded;
use idle::Idle;
use lifo::LifoSlot;
use metrics::WorkerCounters;
use monitor::Monitor;
use park::{DriverSlot, Parker};
use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// A callback run on each runtime thread (workers and blocking threads).
pub type ThreadHook = StdArc<dyn Fn() + Send + Sync + 'static>;

/// How to build a [`Scheduler`].
pub struct Config {
    /// Number of worker threads (at least 1).
    pub worker_threads: usize,
    /// Name of runtime threads; the worker index (or `None` for a blocking
    /// thread) is passed in.
    pub thread_name: StdArc<dyn Fn(Option<usize>) -> String + Send + Sync>,
    /// Upper bound on blocking-pool threads.
    pub max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits.
    pub blocking_keep_alive: Duration,
    /// How long an idle worker keeps looking for work before it parks.
    pub spin_before_park: Duration,
    /// An idle worker of a multi-thread scheduler whose last sleep ended
    /// on an I/O or timer event offers its core to other threads once
    /// (`sched_yield`) before it sleeps again, and does not sleep if work
    /// came meanwhile (`park.rs`, "Yielding first"). On by default;
    /// ignored by the current-thread and deterministic schedulers.
    pub yield_before_park: bool,
    /// What idle workers block in; `None` parks them on condition variables.
    pub driver: Option<Box<dyn Driver>>,
    /// Run at the start of every runtime thread.
    pub on_thread_start: Option<ThreadHook>,
    /// Run at the end of every runtime thread.
    pub on_thread_stop: Option<ThreadHook>,
    /// Measure each task's time spent running (two reads of the CPU's
    /// time-stamp counter per poll). Off by default: where that read is
    /// slow (on some virtual machines) it can cost as much as a short
    /// poll (`docs/benchmarks.md`, observability).
    pub poll_timing: bool,
    /// A poll longer than this is reported as a `tracing` WARN by the
    /// worker that ran it (`task/trace.rs`). Default 100 ms.
    pub slow_poll_threshold: Duration,
    /// Debug mode: `tracing` WARNs (target `tasklane::debug`) about
    /// swallowed cancellations, catch points a delivery could not reach,
    /// panics nobody retrieved and cancellations left undelivered
    /// (`task/debug.rs`). Off by default.
    pub debug: bool,
    /// In debug mode, how long a cancellation may stay undelivered before
    /// the warning. Default 1 s; one watch serves the process, with the
    /// latest debug runtime's setting.
    pub cancel_warn_after: Duration,
    /// Run the monitor thread, which takes the work queued behind a worker
    /// stuck in a poll to the other workers and hands the driver on
    /// (`sched/monitor.rs`). Ignored with one worker, which has nobody to
    /// hand work to. On by default; under the loom cfg off by
    /// default (the models that check it turn it on and drive it through
    /// `Handle::monitor_rescue_all` and `Handle::monitor_sleep_if_idle`).
    pub monitor: bool,
    /// A current-thread scheduler: one worker and no worker thread; its
    /// loop runs on the thread inside [`Scheduler::block_on`] (and in
    /// shutdown), and no task runs in between (`sched/current.rs`).
    /// `worker_threads` and `monitor` are ignored. Off by default.
    pub current_thread: bool,
    /// A deterministic scheduler with this seed (`sched/sim.rs`):
    /// `worker_threads` simulated workers, all on the thread inside
    /// [`Scheduler::block_on`], every choice between them drawn from a
    /// generator seeded here. No monitor, no slow-poll watch, no poll
    /// timing (they read real clocks). Overrides `current_thread`. `None`
    /// by default.
    pub deterministic: Option<u64>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            worker_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            thread_name: StdArc::new(|i| match i {
                Some(i) => format!("tasklane-worker-{i}"),
                None => "tasklane-blocking".to_owned(),
            }),
            max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
            blocking_keep_alive: Duration::from_secs(10),
            spin_before_park: DEFAULT_SPIN_BEFORE_PARK,
            yield_before_park: true,
            driver: None,
            on_thread_start: None,
            on_thread_stop: None,
            poll_timing: false,
            slow_poll_threshold: DEFAULT_SLOW_POLL_THRESHOLD,
            debug: false,
            cancel_warn_after: Duration::from_secs(1),
            monitor: cfg!(not(tasklane_loom)),
            current_thread: false,
            deterministic: None,
        }
    }
}

/// Scheduler ticks (polls) between a busy worker's looks at the injector
/// ahead of its local queue and at the driver (its `maintain` hook, then due
/// timers and ready I/O without blocking); also how often a worker publishes
/// its poll count to [`Handle::metrics`]. tokio's default event interval is
/// the same.
///
/// A look at the driver also comes at the next tick whenever a poll
/// crossed a tick of the coarse clock, so long polls do not hold timers
/// back for a whole interval.
pub const MAINTENANCE_INTERVAL: u32 = 61;

// The worker loop takes the tick count modulo the interval.
const _: () = assert!(MAINTENANCE_INTERVAL > 0);

/// Default slow-poll threshold: asyncio's `slow_callback_duration`.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// Default upper bound on blocking-pool threads: blocking jobs are meant to
/// wait (on files, name lookups, child processes) more than to compute, so
/// the bound is well above the number of cores.
pub const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;

/// Default spin before parking: none, beyond one full steal pass (a spin
/// did not make idle wake-ups faster where it was measured:
/// `docs/benchmarks.md`, scheduler, "Spinning before parking").
pub const DEFAULT_SPIN_BEFORE_PARK: Duration = Duration::ZERO;

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("spin_before_park", &self.spin_before_park)
            .field("yield_before_park", &self.yield_before_park)
            .field("driver", &self.driver.is_some())
            .field("poll_timing", &self.poll_timing)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("monitor", &self.monitor)
            .field("current_thread", &self.current_thread)
            .field("deterministic", &self.deterministic)
            .finish_non_exhaustive()
    }
}

pub(crate) struct RuntimeConfig {
    pub(crate) spin_before_park: Duration,
    /// `Config::yield_before_park`, already false where it is ignored.
    pub(crate) yield_before_park: bool,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
    pub(crate) thread_name: StdArc<dyn Fn(Option<usize>) -> String + Send + Sync>,
    pub(crate) poll_timing: bool,
    pub(crate) slow_poll_threshold: Duration,
    /// The header flags every task spawned on the workers gets from the
    /// runtime: timed with `poll_timing`, watched when the workers' slow-poll
    /// watch is on (so it measures running time). Worked out once here
    /// rather than on every spawn.
    pub(crate) task_flags: u8,
    /// Debug mode (`Config::debug`).
    pub(crate) debug: bool,
}

/// State shared by all workers and every task's scheduler handle.
pub(crate) struct Shared {
    injector: Injector<Notified>,
    remotes: Box<[Remote]>,
    idle: Idle,
    pub(crate) registry: Registry,
    pub(crate) blocking: Pool,
    driver: Option<DriverSlot>,
    /// `None` when `Config::monitor` is off.
    monitor: Option<Monitor>,
    /// The workers' queues between runs, on a current-thread (one worker)
    /// or deterministic scheduler.
    core: Option<current::CoreSlot>,
    /// The deterministic scheduler's generator and schedule digest.
    sim: Option<sim::Sim>,
    shutdown: AtomicBool,
    pub(crate) config: RuntimeConfig,
}

/// What other threads reach of a worker.
struct Remote {
    stealer: Stealer<Notified>,
    /// Put and taken by the worker, stolen by the monitor (`lifo.rs`). On a
    /// cache line of its own: its owner writes it on every spawn and wake.
    lifo: Arc<CachePadded<LifoSlot>>,
    parker: Parker,
    counters: WorkerCounters,
}

impl Shared {
    fn is_shutdown(&self) -> bool {
        // Acquire: pairs with the Release store in `Scheduler::shutdown`.
        self.shutdown.load(Ordering::Acquire)
    }

    /// Queues a task. On one of our workers, it goes to that worker's LIFO
    /// slot (or the back of its queue for a yield); elsewhere, the injector.
    fn schedule(&self, task: Notified, is_yield: bool) {
        worker::with_current(|cx| match cx {
            Some(cx) if std::ptr::eq(&*cx.shared, self) => cx.schedule_local(task, is_yield),
            _ => {
                self.injector.push(task);
                // `notify_parked` begins with a SeqCst fence, which orders the
                // push before the shutdown check below (against the fence in
                // `drain_injector`'s caller).
                self.notify_parked();
                if self.is_shutdown() {
                    // No worker will take it: deliver the abort here.
                    self.drain_injector();
                }
            }
        });
    }

    /// After shutdown: aborts every task left in the injector.
    fn drain_injector(&self) {
        while let Some(t) = worker::steal_retry(|| self.injector.steal()) {
            t.cancel_and_run();
        }
    }

    /// Wakes one sleeping worker if nobody is searching (see `idle.rs`).
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            let parker = &self.remotes[index].parker;
            let is_me = worker::with_current(|cx| {
                cx.is_some_and(|cx| cx.index == index && std::ptr::eq(&*cx.shared, self))
            });
            if is_me {
                // The sleeper chosen is this very worker, parked in the
                // driver and waking tasks from inside it (firing timers,
                // dispatching I/O): its park returns after those wakes
                // (`Driver::park`), so the token is enough, and no system
                // call is made to wake a thread that is awake.
                parker.notify_own();
            } else {
                parker.unpark(self.driver.as_ref());
            }
        }
    }

    /// Whether the driver has pending work and nobody parked in it.
    fn driver_is_vacant_with_work(&self) -> bool {
        self.driver
            .as_ref()
            .is_some_and(|d| d.is_vacant_with_work())
    }

    /// `Handle::is_idle`.
    pub(crate) fn is_idle(&self) -> bool {
        self.idle.is_quiet() && !self.has_work()
    }

    /// An activity begins (`Handle::activity_begin`).
    pub(crate) fn activity_begin(&self) {
        self.idle.activity_begin();
    }

    /// An activity ends (`Handle::activity_end`).
    pub(crate) fn activity_end(&self) {
        self.idle.activity_end();
        if let Some(d) = &self.driver {
            d.notice_idle(|| self.is_idle());
        }
    }

    /// Whether any queue other workers can reach holds a task.
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.remotes.iter().any(|r| !r.stealer.is_empty())
    }

    fn unpark_all(&self) {
        for r in self.remotes.iter() {
            r.parker.unpark(self.driver.as_ref());
        }
    }
}

/// A cheap, cloneable reference to a scheduler, for spawning onto it.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Schedule for Handle {
    fn schedule(&self, task: Notified) {
        self.shared.schedule(task, false);
    }

    fn yield_now(&self, task: Notified) {
        self.shared.schedule(task, true);
    }

    fn release(&self, task: &TaskRef) -> Option<TaskRef> {
        self.shared.registry.remove(task)
    }

    #[cfg(not(tasklane_loom))]
    fn clock_ticked_during_poll(&self) {
        worker::clock_ticked();
    }
}

impl Handle {
    /// Spawns `future` onto the workers.
    pub fn spawn<F>(&self, future: F, options: TaskOptions) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let options = options.with_runtime_flags(self.shared.config.task_flags);
        let (notified, join, registered) = task::new(future, self.clone(), options);
        self.submit_new(notified, registered, |n| self.shared.schedule(n, false));
        join
    }

    /// Runs `f` on the blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F, options: TaskOptions) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let sched = BlockingSchedule::new(self.shared.clone());
        // Blocking tasks are timed if the runtime says so, never watched.
        let options = options.with_runtime_flags(task::runtime_flag_bits(
            self.shared.config.poll_timing,
            false,
            self.shared.config.debug,
        ));
        let (notified, join, registered) =
            task::new(crate::blocking::BlockingTask::new(f), sched, options);
        self.submit_new(notified, registered, |n| {
            self.shared.blocking.submit(&self.shared, n)
        });
        join
    }

    /// Registers a new task and queues it; once the registry is closed
    /// (shutdown), cancels it instead, so its body never runs.
    fn submit_new(&self, notified: Notified, registered: TaskRef, queue: impl FnOnce(Notified)) {
        match self.shared.registry.insert(registered) {
            Ok(()) => queue(notified),
            Err(registered) => {
                registered.abort_because(CancelCause::Shutdown);
                drop(registered);
                // Delivers the cancellation here: drops the future unpolled.
                notified.run();
            }
        }
    }

    /// References to every live task.
    pub fn tasks(&self) -> Vec<TaskRef> {
        self.shared.registry.snapshot()
    }

    /// Number of live tasks.
    pub fn num_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// The scheduler whose worker is running this thread, if any.
    pub fn current_worker() -> Option<Handle> {
        worker::with_current(|cx| {
            cx.map(|cx| Handle {
                shared: cx.shared.clone(),
            })
        })
    }

    /// The index (`0..num_workers`) of the worker running this thread, if it
    /// is a worker of any scheduler: per-worker structures (such as timer
    /// shards) are chosen with it.
    pub fn current_worker_index() -> Option<usize> {
        worker::with_current(|cx| cx.map(|cx| cx.index))
    }

    /// Wakes one sleeping worker, unless one is already searching for work:
    /// it will look for tasks and then park, taking the driver if it is
    /// free. For a driver that learns of new work (a timer registered from a
    /// thread that is not a worker) while nobody is parked in it.
    pub fn wake_idle_worker(&self) {
        self.shared.notify_parked();
    }

    /// Whether the scheduler is idle: every worker parked, no task queued
    /// in the injector or a worker's queue, no blocking job submitted and
    /// unfinished, no activity begun and not ended
    /// ([`activity_begin`](Self::activity_begin)). A paused clock asks
    /// this before it jumps to the next timer.
    ///
    /// # Protocol
    ///
    /// The answer is a snapshot of one atomic word (the worker and activity
    /// counts, `sched/idle.rs`, "Idleness") and then of the queues. It may
    /// be stale, but only in the safe direction while it is asked by the
    /// thread parked in the driver (the one that fires timers): a task made
    /// runnable by a worker, a blocking job or a counted activity has a
    /// worker counted unparked before its waker counts itself out, so
    /// `true` means no task was runnable at the moment of the load. (A task
    /// woken by a thread the scheduler does not know of is seen once it is
    /// pushed to a queue.) The converse direction is the driver's to close:
    /// whoever makes the scheduler idle while the driver is held by another
    /// worker (a worker going to sleep, the end of a blocking job or of an
    /// activity) calls [`Driver::unpark`] after its count update if
    /// [`Driver::wants_idle_notice`] says so, and the driver then asks
    /// again. Both sides update, then read, the same `SeqCst` word, so at
    /// least one of them sees it idle.
    pub fn is_idle(&self) -> bool {
        self.shared.is_idle()
    }

    /// Counts one activity that can make tasks runnable and that the
    /// scheduler does not run itself (the facade's multi-thread `block_on`,
    /// from the wake of its future to its next park), so that
    /// [`is_idle`](Self::is_idle) is false while it lasts. Pair with
    /// [`activity_end`](Self::activity_end), called after the wakes the
    /// activity makes. Blocking jobs are counted this way by the pool
    /// itself.
    pub fn activity_begin(&self) {
        self.shared.idle.activity_begin();
    }

    /// Ends an activity counted by [`activity_begin`](Self::activity_begin),
    /// and gives the driver its idle notice if that made the scheduler idle
    /// (see [`is_idle`](Self::is_idle)).
    pub fn activity_end(&self) {
        self.shared.activity_end();
    }

    /// The monitor's one look at the workers (`sched/monitor.rs`), for the
    /// loom models, which run no monitor thread: the rescue of a stuck
    /// worker, applied to every worker as if all were stuck (takes the task
    /// in each LIFO slot to the injector). Does nothing unless
    /// `Config::monitor` is on.
    #[doc(hidden)]
    pub fn monitor_rescue_all(&self) {
        if self.shared.monitor.is_some() {
            for r in self.shared.remotes.iter() {
                monitor::rescue(&self.shared, r);
            }
        }
    }

    /// The monitor's sleep step (`sched/monitor.rs`), for the loom models:
    /// sleeps until a worker wakes up if every worker is parked; returns
    /// whether it slept. Does nothing unless `Config::monitor` is on.
    #[doc(hidden)]
    pub fn monitor_sleep_if_idle(&self) -> bool {
        self.shared
            .monitor
            .as_ref()
            .is_some_and(|m| m.sleep_if_idle(&self.shared))
    }

    /// Whether the monitor sleeps right now (for the loom models).
    #[doc(hidden)]
    pub fn monitor_is_asleep(&self) -> bool {
        self.shared.monitor.as_ref().is_some_and(Monitor::is_asleep)
    }

    /// True if this thread is one of this scheduler's workers.
    pub fn is_current_worker(&self) -> bool {
        worker::with_current(|cx| cx.is_some_and(|cx| Arc::ptr_eq(&cx.shared, &self.shared)))
    }

    /// Whether every task runs on the thread inside `block_on`: a
    /// current-thread (`Config::current_thread`) or deterministic
    /// (`Config::deterministic`) scheduler.
    pub fn is_current_thread(&self) -> bool {
        self.shared.core.is_some()
    }

    /// The deterministic scheduler's seed (`None` on the others).
    pub fn seed(&self) -> Option<u64> {
        self.shared.sim.as_ref().map(sim::Sim::seed)
    }

    /// On a deterministic scheduler, a hash of the sequence of polls so far
    /// (each task named by the order of its first poll, so the same program
    /// and seed give the same digest in any process); 0 on the others.
    pub fn schedule_digest(&self) -> u64 {
        self.shared.sim.as_ref().map_or(0, sim::Sim::digest)
    }

    /// Number of workers (1 on a current-thread scheduler, whose worker
    /// runs on the thread inside `block_on`).
    pub fn num_workers(&self) -> usize {
        self.shared.remotes.len()
    }

    /// Number of blocking-pool threads alive right now.
    pub fn num_blocking_threads(&self) -> usize {
        self.shared.blocking.num_threads()
    }

    /// Reads the runtime's metrics (racily: see `metrics.rs`).
    pub fn metrics(&self) -> RuntimeMetrics {
        let shared = &*self.shared;
        RuntimeMetrics {
            workers: shared
                .remotes
                .iter()
                .enumerate()
                .map(|(i, r)| r.counters.read(i, r.stealer.len()))
                .collect(),
            injector_depth: shared.injector.len(),
            blocking_threads: shared.blocking.num_threads(),
            live_tasks: shared.registry.len(),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.num_workers())
            .finish_non_exhaustive()
    }
}

/// What [`Scheduler::shutdown`] saw: the tasks alive when it began (all
/// of which, but the shielded ones, it asked to cancel) and those spawned
/// during the grace period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownStats {
    /// Ended with a value (they finished before the cancellation landed, or
    /// swallowed it).
    pub completed: usize,
    /// Ended cancelled.
    pub cancelled: usize,
    /// Ended by panicking.
    pub panicked: usize,
    /// Not done when the grace ran out, by name. Each is then aborted
    /// (dropped): a task that is queued or suspended has its future dropped;
    /// one inside a poll is dropped when that poll returns (the workers are
    /// joined, so shutdown waits for it); a blocking job still running is
    /// left to finish on its own thread.
    pub dropped: Vec<String>,
}

/// The owner of the worker threads. Dropping it shuts down with
/// [`DEFAULT_GRACE`].
pub struct Scheduler {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
    monitor: Option<thread::JoinHandle<()>>,
    done: bool,
}

/// Grace used when a `Scheduler` is dropped without an explicit shutdown.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

impl Scheduler {
    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// If a thread cannot be spawned; the threads already started are
    /// stopped first.
    pub fn new(mut config: Config) -> io::Result<Scheduler> {
        let simulated = config.deterministic.is_some();
        let current_thread = config.current_thread && !simulated;
        let n = if current_thread {
            1
        } else {
            config.worker_threads.max(1)
        };
        if simulated {
            // What reads a real clock would make the schedule depend on it.
            config.slow_poll_threshold = Duration::MAX;
            config.poll_timing = false;
        }
        task::init_clock();
        let mut locals: Vec<LocalQueue<Notified>> =
            (0..n).map(|_| LocalQueue::new_fifo()).collect();
        let remotes: Box<[Remote]> = locals
            .iter()
            .map(|l| Remote {
                stealer: l.stealer(),
                lifo: Arc::new(CachePadded::new(LifoSlot::new())),
                parker: Parker::new(),
                counters: WorkerCounters::default(),
            })
            .collect();
        let mut lifos: Vec<_> = remotes.iter().map(|r| r.lifo.clone()).collect();
        // A current-thread or deterministic scheduler keeps its workers'
        // queues for `block_on`; the thread loop below then has none to
        // start.
        let core = if current_thread || simulated {
            let cores = locals
                .drain(..)
                .zip(lifos.drain(..))
                .enumerate()
                .map(|(i, (local, lifo))| {
                    let core = worker::Core::with_queues(i, local, lifo);
                    match config.deterministic {
                        Some(seed) => core.with_seed(sim::worker_seed(seed, i)),
                        None => core,
                    }
                })
                .collect();
            Some(current::CoreSlot::new(cores))
        } else {
            None
        };
        let watched = config.slow_poll_threshold != Duration::MAX && cfg!(not(tasklane_loom));
        if config.debug {
            task::set_cancel_warn_after(config.cancel_warn_after);
        }
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            remotes,
            // The simulation sleeps as one worker, worker 0 (`sim.rs`).
            idle: Idle::new(if simulated { 1 } else { n }),
            registry: Registry::new(4 * n),
            blocking: Pool::new(config.max_blocking_threads, config.blocking_keep_alive),
            driver: config.driver.map(DriverSlot::new),
            // One worker has nobody to hand work to: no monitor.
            // (The loom models drive it with one worker, to stay small.)
            monitor: (config.monitor
                && !current_thread
                && !simulated
                && (n > 1 || cfg!(tasklane_loom)))
            .then(Monitor::new),
            core,
            sim: config.deterministic.map(sim::Sim::new),
            shutdown: AtomicBool::new(false),
            config: RuntimeConfig {
                spin_before_park: config.spin_before_park,
                yield_before_park: config.yield_before_park && !current_thread && !simulated,
                on_thread_start: config.on_thread_start,
                on_thread_stop: config.on_thread_stop,
                thread_name: config.thread_name,
                poll_timing: config.poll_timing,
                slow_poll_threshold: config.slow_poll_threshold,
                task_flags: task::runtime_flag_bits(config.poll_timing, watched, config.debug),
                debug: config.debug,
            },
        });
        let mut sched = Scheduler {
            handle: Handle {
                shared: shared.clone(),
            },
            threads: Vec::with_capacity(n),
            monitor: None,
            done: false,
        };
        if current_thread || simulated {
            // No thread: the cores wait for `block_on`, worker 0 counted
            // parked until then (`current.rs`, `sim.rs`).
            shared.idle.transition_worker_to_parked(0, false);
            return Ok(sched);
        }
        for (index, (local, lifo)) in locals.into_iter().zip(lifos).enumerate() {
            let shared = shared.clone();
            let name = (shared.config.thread_name)(Some(index));
            let t = thread::Builder::new().name(name).spawn(move || {
                let config = shared.clone();
                let _hooks = ThreadHooks::enter(&config.config);
                worker::run(shared, index, local, lifo);
            });
            match t {
                Ok(t) => sched.threads.push(t),
                Err(e) => {
                    sched.shutdown(Duration::ZERO);
                    return Err(e);
                }
            }
        }
        // Under loom the models drive the monitor's steps themselves: a
        // thread that waits for time to pass has no place in a model.
        if shared.monitor.is_some() && cfg!(not(tasklane_loom)) {
            let shared = shared.clone();
            let name = "tasklane-monitor".to_owned();
            match thread::Builder::new()
                .name(name)
                .spawn(move || monitor::run(&shared))
            {
                Ok(t) => sched.monitor = Some(t),
                Err(e) => {
                    sched.shutdown(Duration::ZERO);
                    return Err(e);
                }
            }
        }
        Ok(sched)
    }

    /// A handle for spawning.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// On a current-thread scheduler: polls the root future through
    /// `poll_root` (with a waker of the scheduler's) on the calling thread
    /// until it is ready, running the scheduler's tasks there meanwhile
    /// (`sched/current.rs`). If another thread is inside `block_on`, that
    /// one runs the tasks and this one only polls its root, until the core
    /// comes free.
    ///
    /// # Panics
    ///
    /// On a multi-thread scheduler (its `block_on` is the caller's own
    /// loop), or on a worker thread of any scheduler.
    pub fn block_on<T>(
        &self,
        poll_root: impl FnMut(&mut std::task::Context<'_>) -> std::task::Poll<T>,
    ) -> T {
        assert!(
            self.handle.is_current_thread(),
            "Scheduler::block_on is for a current-thread scheduler"
        );
        assert!(
            Handle::current_worker().is_none(),
            "block_on called from inside a runtime's task; await the future instead"
        );
        current::block_on(&self.handle.shared, poll_root)
    }

    /// Cancels every live task, waits up to `grace` for all of them to end,
    /// then stops the workers and the blocking pool. Idempotent.
    ///
    /// # Panics
    ///
    /// If called from one of this scheduler's own worker threads (it would
    /// wait for itself).
    pub fn shutdown(&mut self, grace: Duration) -> ShutdownStats {
        if self.done {
            return ShutdownStats::default();
        }
        assert!(
            !self.handle.is_current_worker(),
            "a tasklane runtime cannot be shut down or dropped from one of its own tasks"
        );
        self.done = true;
        let shared = &self.handle.shared;
        // 1. Cancel every live task but the shielded ones, so catch points
        //    can clean up; spawns stay open for that cleanup.
        // In spawn order (ids grow), not in the registry's shard order: the
        // same program then cancels in the same order every run.
        let mut live = shared.registry.drain();
        live.sort_unstable_by_key(|t| t.id());
        for t in live {
            if !t.is_shielded() {
                t.cancel_because(CancelCause::Shutdown);
            }
        }
        // 2. Wait for all of them, shielded ones and those spawned since
        //    included, up to the grace.
        let deadline = Instant::now().checked_add(grace);
        if shared.core.is_some() {
            // Nobody else runs the tasks: this thread does.
            current::wait_empty(shared, deadline);
        } else {
            shared.registry.wait_empty(deadline);
        }
        // 3. Close: whatever is left outlived the grace and is aborted.
        let (mut late, tally) = shared.registry.close();
        late.sort_unstable_by_key(|t| t.id());
        let mut stats = ShutdownStats {
            completed: tally.completed,
            cancelled: tally.cancelled,
            panicked: tally.panicked,
            dropped: Vec::new(),
        };
        for t in &late {
            stats.dropped.push(t.name().to_owned());
            t.abort_because(CancelCause::Shutdown);
        }
        drop(late);
        // SeqCst store then fence: the workers' Acquire loads see everything
        // before it, and `Shared::schedule` (push, fence, load) either sees
        // the flag or has its push seen by the drain below.
        shared.shutdown.store(true, Ordering::SeqCst);
        crate::sync::atomic::fence(Ordering::SeqCst);
        // The monitor ends before the workers do, so nothing steals from a
        // LIFO slot while its worker drains it (`worker::run`).
        if let Some(m) = &shared.monitor {
            m.stop();
        }
        if let Some(t) = self.monitor.take() {
            let _ = t.join();
        }
        shared.unpark_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if shared.core.is_some() {
            current::abort_queued(shared);
        }
        shared.drain_injector();
        shared.blocking.shutdown(shared, deadline);
        stats
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        // Unwinding out of one of our own tasks: shutting down would wait
        // for ourselves, and a second panic would abort.
        let unwinding_in_own_task = std::thread::panicking() && self.handle.is_current_worker();
        if !self.done && !unwinding_in_own_task {
            self.shutdown(DEFAULT_GRACE);
        }
    }
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

/// Runs the start hook now and the stop hook when dropped.
pub(crate) struct ThreadHooks<'a>(&'a RuntimeConfig);

impl<'a> ThreadHooks<'a> {
    pub(crate) fn enter(config: &'a RuntimeConfig) -> ThreadHooks<'a> {
        if let Some(h) = &config.on_thread_start {
            h();
        }
        ThreadHooks(config)
    }
}

impl Drop for ThreadHooks<'_> {
    fn drop(&mut self) {
        if let Some(h) = &self.0.on_thread_stop {
            h();
        }
    }
}
