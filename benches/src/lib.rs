//! Shared helpers for tasklane's runtime-comparison benchmarks.
//!
//! The `rt_compare` bench runs the same workloads on three multi-threaded
//! runtimes: tasklane, tokio and an `async-executor` driven by plain threads
//! (what smol does). Each runtime is wrapped in a [`BenchRuntime`], and
//! code running inside tasks spawns through a [`Spawner`], so a workload is
//! written once and only the runtime differs.
//!
//! The worker count comes from `TASKLANE_BENCH_WORKERS` (default 2), the same
//! for all three runtimes; see [`workers`].

pub mod current_thread;
pub mod http;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use async_executor::Executor;
use futures_channel::oneshot;

/// The environment variable holding the worker-thread count.
pub const WORKERS_ENV: &str = "TASKLANE_BENCH_WORKERS";

/// The worker-thread count used when [`WORKERS_ENV`] is unset.
pub const DEFAULT_WORKERS: usize = 2;

/// Reads a value from the environment variable `name`, or `default` if it is
/// unset or empty.
///
/// # Panics
///
/// If the variable is set but does not parse as a `T`.
pub fn env_or<T>(name: &str, default: T) -> T
where
    T: std::str::FromStr,
    T::Err: fmt::Debug,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?} does not parse: {e:?}")),
        _ => default,
    }
}

/// The worker-thread count: `TASKLANE_BENCH_WORKERS`, default 2.
///
/// # Panics
///
/// If the variable is set but is not a positive integer.
pub fn workers() -> usize {
    let n = env_or(WORKERS_ENV, DEFAULT_WORKERS);
    assert!(n > 0, "{WORKERS_ENV} must be at least 1");
    n
}

/// A multi-threaded runtime under benchmark.
pub trait BenchRuntime: Sized {
    /// The benchmark function name: `tasklane`, `tokio` or `smol`.
    const NAME: &'static str;

    /// What tasks use to spawn more tasks and to yield.
    type Spawner: Spawner;

    /// A handle to a task spawned from outside; awaiting it waits for the
    /// task and panics if the task failed.
    type JoinHandle: Future<Output = ()> + Send + Unpin + 'static;

    /// Starts a runtime with `workers` worker threads.
    fn start(workers: usize) -> Self;

    /// A spawner usable from inside this runtime's tasks.
    fn spawner(&self) -> Self::Spawner;

    /// Spawns a task from outside the runtime, keeping its handle.
    fn spawn<F>(&self, future: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static;

    /// Spawns a task from outside the runtime and lets it run on its own.
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Drives `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

/// Spawning and yielding from inside a runtime's tasks.
pub trait Spawner: Clone + Send + Sync + 'static {
    /// Spawns a task that runs on its own (its handle is not kept).
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's own "yield to the scheduler" future.
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;

    /// The runtime's own timer future. It may be `!Unpin` (tokio's is):
    /// workloads pin it in place rather than boxing it, so no runtime pays
    /// an allocation per timer that its users would not.
    type Sleep: Future<Output = ()> + Send + 'static;

    /// A timer that completes once `d` has passed.
    fn sleep(d: Duration) -> Self::Sleep;
}

/// Adapts a join handle whose output is `Result<(), E>` to one whose output
/// is `()`, panicking on a failed task.
#[derive(Debug)]
pub struct Unwrap<H>(H);

impl<H, E> Future for Unwrap<H>
where
    H: Future<Output = Result<(), E>> + Unpin,
    E: fmt::Debug,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("benchmark task failed"))
    }
}

// ---------------------------------------------------------------- tasklane

/// A tasklane [`Runtime`](tasklane::Runtime).
#[derive(Debug)]
pub struct Tasklane {
    rt: tasklane::Runtime,
}

/// Spawns with [`tasklane::spawn`] on the current tasklane runtime.
#[derive(Debug, Clone, Copy)]
pub struct TasklaneSpawner;

/// A multi-thread tasklane runtime builder with `workers` workers and the
/// benches' overrides from the environment, whose effects
/// `docs/benchmarks.md` measures:
///
/// - `TASKLANE_SPIN_US`: how long an idle worker spins before it parks;
/// - `TASKLANE_SLOW_POLL=off`: no slow-poll watch;
/// - `TASKLANE_YIELD=off`: no yield before parking.
///
/// # Panics
///
/// If `TASKLANE_SPIN_US` is not a number.
pub fn tasklane_builder(workers: usize) -> tasklane::Builder {
    let mut builder = tasklane::Runtime::builder().worker_threads(workers);
    if let Ok(v) = std::env::var("TASKLANE_SPIN_US") {
        let us: u64 = v
            .trim()
            .parse()
            .expect("TASKLANE_SPIN_US is a number of microseconds");
        builder = builder.spin_before_park(std::time::Duration::from_micros(us));
    }
    if std::env::var("TASKLANE_SLOW_POLL").is_ok_and(|v| v == "off") {
        builder = builder.slow_poll_threshold(std::time::Duration::MAX);
    }
    if std::env::var("TASKLANE_YIELD").is_ok_and(|v| v == "off") {
        builder = builder.yield_before_park(false);
    }
    builder
}

impl BenchRuntime for Tasklane {
    const NAME: &'static str = "tasklane";
    type Spawner = TasklaneSpawner;
    type JoinHandle = Unwrap<tasklane::task::JoinHandle<()>>;

    fn start(workers: usize) -> Self {
        let rt = tasklane_builder(workers)
            .build()
            .expect("build tasklane runtime");
        Tasklane { rt }
    }

    fn spawner(&self) -> TasklaneSpawner {
        TasklaneSpawner
    }

    fn spawn<F>(&self, future: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Unwrap(self.rt.spawn(future))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping a tasklane JoinHandle cancels the task: detach instead.
        self.rt.spawn(future).detach();
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

impl Spawner for TasklaneSpawner {
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tasklane::spawn(future).detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tasklane::yield_now()
    }

    type Sleep = tasklane::time::Sleep;

    fn sleep(d: Duration) -> Self::Sleep {
        tasklane::time::sleep(d)
    }
}

// ------------------------------------------------------------------- tokio

/// A multi-threaded tokio runtime.
#[derive(Debug)]
pub struct Tokio {
    rt: tokio::runtime::Runtime,
}

/// Spawns with [`tokio::spawn`] on the current tokio runtime.
#[derive(Debug, Clone, Copy)]
pub struct TokioSpawner;

impl BenchRuntime for Tokio {
    const NAME: &'static str = "tokio";
    type Spawner = TokioSpawner;
    type JoinHandle = Unwrap<tokio::task::JoinHandle<()>>;

    fn start(workers: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build tokio runtime");
        Tokio { rt }
    }

    fn spawner(&self) -> TokioSpawner {
        TokioSpawner
    }

    fn spawn<F>(&self, future: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Unwrap(self.rt.spawn(future))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping a tokio JoinHandle detaches the task.
        drop(self.rt.spawn(future));
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

impl Spawner for TokioSpawner {
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }

    type Sleep = tokio::time::Sleep;

    fn sleep(d: Duration) -> Self::Sleep {
        tokio::time::sleep(d)
    }
}

// -------------------------------------------------------------------- smol

/// An [`async_executor::Executor`] driven by worker threads, each running
/// `async_io::block_on(ex.run(..))`, as smol does: the worker that finds no
/// work waits in async-io's reactor, which also fires its timers.
///
/// Dropping it stops and joins the threads.
#[derive(Debug)]
pub struct Smol {
    ex: Arc<Executor<'static>>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

/// Spawns onto a shared [`async_executor::Executor`].
#[derive(Debug, Clone)]
pub struct SmolSpawner(Arc<Executor<'static>>);

impl BenchRuntime for Smol {
    const NAME: &'static str = "smol";
    type Spawner = SmolSpawner;
    type JoinHandle = async_executor::Task<()>;

    fn start(workers: usize) -> Self {
        let ex = Arc::new(Executor::new());
        let mut stops = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let ex = ex.clone();
            let t = thread::Builder::new()
                .name(format!("smol-worker-{i}"))
                .spawn(move || {
                    // Ends when the sender is dropped (or sends).
                    async_io::block_on(ex.run(async move {
                        let _ = stop_rx.await;
                    }));
                })
                .expect("spawn smol worker thread");
            stops.push(stop_tx);
            threads.push(t);
        }
        Smol { ex, stops, threads }
    }

    fn spawner(&self) -> SmolSpawner {
        SmolSpawner(self.ex.clone())
    }

    fn spawn<F>(&self, future: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.ex.spawn(future)
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.ex.spawn(future).detach();
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        async_io::block_on(future)
    }
}

impl Smol {
    /// Spawns a task whose output is wanted, keeping its handle.
    pub fn spawn_with_output<F>(&self, future: F) -> async_executor::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.ex.spawn(future)
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        // Dropping the senders completes every worker's `run` future.
        self.stops.clear();
        for t in self.threads.drain(..) {
            if t.join().is_err() && !thread::panicking() {
                panic!("a smol worker thread panicked");
            }
        }
    }
}

impl Spawner for SmolSpawner {
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(future).detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        futures_lite::future::yield_now()
    }

    type Sleep = SmolSleep;

    fn sleep(d: Duration) -> Self::Sleep {
        SmolSleep(async_io::Timer::after(d))
    }
}

/// smol's timer (`async_io::Timer`, which yields an `Instant`) as a
/// `Future<Output = ()>`.
#[derive(Debug)]
pub struct SmolSleep(async_io::Timer);

impl Future for SmolSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

// ------------------------------------------------------------------ timers

/// Sleeps polled per task poll in [`churn`]: below every runtime's
/// cooperative budget (tokio's and tasklane's are 128 polls), so that each
/// poll really registers its timer rather than being turned away.
pub const POLLS_PER_YIELD: usize = 64;

/// A fixed pseudo-random sequence of `n` values in `1..=max` (xorshift):
/// the same for every runtime and every run.
pub fn spread(n: usize, max: u64) -> Vec<u64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % max
        })
        .collect()
}

/// The `timer_churn` task: makes a sleep for each of `ms` (milliseconds),
/// polls it once (which registers it with the runtime's timer), yielding
/// every [`POLLS_PER_YIELD`], then drops them all (which cancels them).
pub async fn churn<S: Spawner>(ms: Arc<Vec<u64>>) {
    use std::future::poll_fn;
    // Capacity for all: pushing never reallocates, so no element moves.
    let mut sleeps: Vec<S::Sleep> = Vec::with_capacity(ms.len());
    for chunk in ms.chunks(POLLS_PER_YIELD) {
        poll_fn(|cx| {
            for &m in chunk {
                sleeps.push(S::sleep(Duration::from_millis(m)));
                let s = sleeps.last_mut().expect("just pushed");
                // SAFETY: `sleeps` never reallocates (capacity reserved
                // above) and is not moved, so each element stays at its
                // address until it is dropped in place with the `Vec`.
                let s = unsafe { Pin::new_unchecked(s) };
                // Made just now, a 1..1000 ms sleep is pending: this poll
                // registers it.
                let _ = s.poll(cx);
            }
            Poll::Ready(())
        })
        .await;
        S::yield_now().await;
    }
    drop(sleeps);
}

/// The criterion configuration every bench uses: sample size, measurement
/// and warm-up times from `TASKLANE_BENCH_SAMPLE_SIZE` (default 30),
/// `TASKLANE_BENCH_MEASUREMENT_SECS` (5) and `TASKLANE_BENCH_WARMUP_SECS`
/// (1).
pub fn criterion_config() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(env_or("TASKLANE_BENCH_SAMPLE_SIZE", 30))
        .measurement_time(Duration::from_secs_f64(env_or(
            "TASKLANE_BENCH_MEASUREMENT_SECS",
            5.0,
        )))
        .warm_up_time(Duration::from_secs_f64(env_or(
            "TASKLANE_BENCH_WARMUP_SECS",
            1.0,
        )))
}

/// Runs `$workload::<R>(&mut group, workers)` for tasklane, tokio and smol,
/// in that order, in one criterion group named after the workload: every
/// comparison bench is written once, generic over [`BenchRuntime`].
#[macro_export]
macro_rules! compare {
    ($c:expr, $workload:ident) => {{
        let workers = $crate::workers();
        let mut group = $c.benchmark_group(stringify!($workload));
        $workload::<$crate::Tasklane>(&mut group, workers);
        $workload::<$crate::Tokio>(&mut group, workers);
        $workload::<$crate::Smol>(&mut group, workers);
        group.finish();
    }};
}
