//! [`Builder`]: a runtime's options, and the hooks that make each of its
//! threads belong to it.

use super::context::{self, HandleCell};
use super::subscriber::Subscriber;
use super::{Handle, Runtime};
use crate::driver::{RuntimeDriver, SchedDriver};
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tasklane_sched::{Config, Scheduler};

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
    yield_before_park: bool,
    poll_timing: bool,
    /// `None`: as `TASKLANE_DEBUG` says.
    debug: Option<bool>,
    cancel_warn_after: Duration,
    current_thread: bool,
    deterministic: Option<u64>,
    start_paused: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            worker_threads: None,
            thread_name: "tasklane".to_owned(),
            max_blocking_threads: tasklane_sched::DEFAULT_MAX_BLOCKING_THREADS,
            slow_poll_threshold: tasklane_sched::DEFAULT_SLOW_POLL_THRESHOLD,
            spin_before_park: tasklane_sched::DEFAULT_SPIN_BEFORE_PARK,
            yield_before_park: true,
            poll_timing: false,
            debug: None,
            cancel_warn_after: Duration::from_secs(1),
            current_thread: false,
            deterministic: None,
            start_paused: false,
        }
    }
}

impl Builder {
    /// Defaults: one worker per core, up to 512 blocking threads.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// A current-thread runtime: no worker threads; every task runs on the
    /// thread inside [`Runtime::block_on`], between the polls of the future
    /// it drives, and only while a thread is in `block_on` (or in the
    /// runtime's shutdown). Timers and I/O are waited for there too; the
    /// blocking pool remains. `!Send` futures can be spawned on it with
    /// [`task::spawn_local`](crate::task::spawn_local). `worker_threads` is
    /// ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = tasklane::Runtime::builder().current_thread().build().unwrap();
    /// let me = std::thread::current().id();
    /// let ran_on = rt.block_on(async {
    ///     tasklane::spawn(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_eq!(ran_on, me);
    /// ```
    pub fn current_thread(mut self) -> Builder {
        self.current_thread = true;
        self
    }

    /// Starts the runtime with its clock paused, as
    /// [`time::pause`](crate::time::pause) would: time stands still while
    /// any task can run and jumps to the next timer's deadline once every
    /// task is idle, so tests of timeouts and intervals run in milliseconds
    /// and see exact times. Works on every flavour, multi-thread included.
    /// Off by default. `docs/semantics.md` ("Test time") has the rules.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tasklane::time::{Instant, sleep};
    ///
    /// let rt = tasklane::Runtime::builder()
    ///     .worker_threads(2)
    ///     .start_paused(true)
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     let a = tasklane::spawn(sleep(Duration::from_secs(30)));
    ///     sleep(Duration::from_secs(10)).await;
    ///     assert_eq!(start.elapsed(), Duration::from_secs(10));
    ///     a.await.unwrap();
    ///     assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// });
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// A deterministic runtime for tests: one OS thread, the one inside
    /// [`Runtime::block_on`], simulates `worker_threads` workers (2 unless
    /// set: not one per core, so that a seed means the same schedule on
    /// every machine) with the real scheduler's queues, LIFO slots, steals
    /// and wake paths, and every choice between them (which worker runs,
    /// and so who steals from whom) is drawn from a generator seeded by
    /// `seed`. The same seed and program give the same schedule
    /// ([`Handle::schedule_digest`]); what comes from outside the runtime
    /// (sockets, the blocking pool, other threads) is only as deterministic
    /// as it is. Its clock is paused ([`start_paused`](Self::start_paused)),
    /// so timers fire at the same points of the schedule every run. As on a
    /// current-thread runtime, tasks run only inside `block_on` (or
    /// shutdown), and [`task::spawn_local`](crate::task::spawn_local) works.
    ///
    /// # Examples
    ///
    /// ```
    /// let digest = |seed| {
    ///     let rt = tasklane::Runtime::builder().deterministic(seed).build().unwrap();
    ///     rt.block_on(async {
    ///         let hs: Vec<_> = (0..4).map(|i| tasklane::spawn(async move { i })).collect();
    ///         for h in hs {
    ///             h.await.unwrap();
    ///         }
    ///     });
    ///     rt.handle().schedule_digest()
    /// };
    /// assert_eq!(digest(7), digest(7));
    /// ```
    pub fn deterministic(mut self, seed: u64) -> Builder {
        self.deterministic = Some(seed);
        self
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

    /// Whether an idle worker whose last sleep ended on an I/O or timer
    /// event offers its core to other threads once (`sched_yield`) before
    /// it sleeps again, and skips the sleep if work came meanwhile
    /// (default: yes, on the multi-thread runtime; the current-thread and
    /// deterministic runtimes never do). Where threads outnumber cores (a
    /// load generator or a client on the same machine, other processes)
    /// the peer that makes the worker's next I/O often waits for that very
    /// core, and the yield saves a sleep and a wake-up; where the core is
    /// free, it costs one system call (docs/benchmarks.md, "Yielding
    /// before parking").
    pub fn yield_before_park(mut self, on: bool) -> Builder {
        self.yield_before_park = on;
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

    /// Debug mode: `tracing` WARNs (target `tasklane::debug`, naming the
    /// task and where it was spawned) when a task swallows a delivered
    /// cancellation and later completes; when a delivery finds catch points
    /// registered but none of them polled during it (one held by a
    /// `select!` arm or a `FuturesUnordered`: cleanup silently skipped);
    /// when a task's panic is never retrieved (detached, or its handle
    /// dropped unread); when a cancellation stays undelivered longer than
    /// [`cancel_warn_after`](Self::cancel_warn_after). Task listings
    /// (`Handle::dump`) then show how long each pending cancellation has
    /// waited. Off by default, unless `TASKLANE_DEBUG=1` is in the
    /// environment; this call overrides the environment. When off it costs
    /// nothing per poll.
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// In debug mode, how long a cancellation may wait for its delivery
    /// before the warning. Default 1 s. One watch serves the process: the
    /// latest debug runtime's setting applies.
    pub fn cancel_warn_after(mut self, d: Duration) -> Builder {
        self.cancel_warn_after = d;
        self
    }

    /// Starts the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for zero workers or zero blocking threads; the OS
    /// error if threads cannot be started.
    pub fn build(self) -> io::Result<Runtime> {
        // What this builder leaves alone is the scheduler's default (its
        // worker count is one per core).
        let defaults = Config::default();
        let workers = match self.worker_threads {
            _ if self.current_thread && self.deterministic.is_none() => 1,
            Some(0) => return Err(invalid("worker_threads must be at least 1")),
            None if self.deterministic.is_some() => DETERMINISTIC_WORKERS,
            Some(n) => n,
            None => defaults.worker_threads,
        };
        if self.max_blocking_threads == 0 {
            return Err(invalid("max_blocking_threads must be at least 1"));
        }
        let cell: HandleCell = Arc::new(OnceLock::new());
        let hook_cell = cell.clone();
        let name = self.thread_name;
        let subscriber = Subscriber::current();
        // Runtime threads keep this runtime current for their whole life.
        // No task can run before `cell` is filled below: tasks only exist
        // once a handle exists to spawn them.
        // A deterministic runtime's clock is paused: real time would make
        // its timers fire at points of the schedule that vary.
        let paused = self.start_paused || self.deterministic.is_some();
        let driver = Arc::new(RuntimeDriver::new(workers, paused)?);
        let start_driver = driver.clone();
        let on_start: tasklane_sched::ThreadHook = Arc::new(move || {
            context::replace(Some(hook_cell.clone()));
            start_driver.adopt_thread();
            subscriber.adopt();
        });
        let stop_driver = driver.clone();
        let on_stop: tasklane_sched::ThreadHook = Arc::new(move || {
            stop_driver.release_thread();
            context::replace(None);
            Subscriber::release();
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
            yield_before_park: self.yield_before_park,
            on_thread_start: Some(on_start),
            on_thread_stop: Some(on_stop),
            poll_timing: self.poll_timing,
            slow_poll_threshold: self.slow_poll_threshold,
            debug: self.debug.unwrap_or_else(debug_from_env),
            cancel_warn_after: self.cancel_warn_after,
            current_thread: self.current_thread,
            deterministic: self.deterministic,
            ..defaults
        };
        let sched = Scheduler::new(config)?;
        cell.set(Handle::new(sched.handle().clone(), driver))
            .expect("fresh cell");
        // `JoinHandle::cancel_within` waits out its grace on this crate's
        // timers (the task core has none).
        tasklane_sched::facade::set_grace_timer(|d| Box::pin(crate::time::sleep(d)));
        Ok(Runtime::from_parts(sched, cell))
    }
}

/// Simulated workers of a deterministic runtime unless `worker_threads`
/// says otherwise.
const DETERMINISTIC_WORKERS: usize = 2;

/// `TASKLANE_DEBUG=1` (or `true`, `on`, `yes`) turns debug mode on.
fn debug_from_env() -> bool {
    std::env::var("TASKLANE_DEBUG").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "on" | "yes"))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
