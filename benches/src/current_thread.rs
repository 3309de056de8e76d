//! Single-threaded runtimes under benchmark: tasklane's and tokio's
//! current-thread runtimes, and smol's executor driven by one thread.
//!
//! Every task runs on the thread inside `block_on`, so a workload is one
//! `block_on` that spawns its tasks and waits for them; tasks spawn through
//! the same [`Spawner`]s as on the multi-threaded runtimes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use async_executor::Executor;
use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use futures_channel::oneshot;

use crate::{SmolSpawner, Spawner, TasklaneSpawner, TokioSpawner};

/// A current-thread runtime under benchmark.
pub trait CurrentThreadRuntime: Sized {
    /// The benchmark function name: `tasklane`, `tokio` or `smol`.
    const NAME: &'static str;

    /// What tasks use to spawn more tasks and to yield.
    type Spawner: Spawner;

    /// Builds the runtime.
    fn start() -> Self;

    /// A spawner usable from inside `block_on` and its tasks.
    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` and every task it spawns on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

/// `tasklane::Builder::current_thread()`.
#[derive(Debug)]
pub struct TasklaneCurrentThread(tasklane::Runtime);

impl CurrentThreadRuntime for TasklaneCurrentThread {
    const NAME: &'static str = "tasklane";
    type Spawner = TasklaneSpawner;

    fn start() -> Self {
        TasklaneCurrentThread(
            tasklane::Runtime::builder()
                .current_thread()
                .build()
                .expect("build tasklane current-thread runtime"),
        )
    }

    fn spawner(&self) -> TasklaneSpawner {
        TasklaneSpawner
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// `tokio::runtime::Builder::new_current_thread()`, I/O and timers on.
#[derive(Debug)]
pub struct TokioCurrentThread(tokio::runtime::Runtime);

impl CurrentThreadRuntime for TokioCurrentThread {
    const NAME: &'static str = "tokio";
    type Spawner = TokioSpawner;

    fn start() -> Self {
        TokioCurrentThread(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build tokio current-thread runtime"),
        )
    }

    fn spawner(&self) -> TokioSpawner {
        TokioSpawner
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// An [`async_executor::Executor`] run by the calling thread alone
/// (`async_io::block_on(ex.run(..))`), as a single-threaded smol program.
#[derive(Debug)]
pub struct SmolCurrentThread(Arc<Executor<'static>>);

impl CurrentThreadRuntime for SmolCurrentThread {
    const NAME: &'static str = "smol";
    type Spawner = SmolSpawner;

    fn start() -> Self {
        SmolCurrentThread(Arc::new(Executor::new()))
    }

    fn spawner(&self) -> SmolSpawner {
        SmolSpawner(self.0.clone())
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        async_io::block_on(self.0.run(future))
    }
}

/// Tasks spawned by [`ct_spawn_many_local`].
pub const NUM_SPAWN: usize = 10_000;
/// Tasks in [`ct_yield_many`].
pub const YIELD_TASKS: usize = 200;
/// Yields per task in [`ct_yield_many`].
pub const NUM_YIELD: usize = 1_000;
/// Task pairs in [`ct_ping_pong`].
pub const NUM_PINGS: usize = 1_000;

/// `NUM_SPAWN` tasks spawned from inside `block_on` on a current-thread
/// runtime; the last to finish completes the `block_on`.
pub fn ct_spawn_many_local<R: CurrentThreadRuntime>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = R::start();
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let sp = rt.spawner();
            rt.block_on(async move {
                let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
                let (tx, rx) = oneshot::channel::<()>();
                let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
                for _ in 0..NUM_SPAWN {
                    let rem = rem.clone();
                    let tx = tx.clone();
                    sp.spawn_detached(async move {
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            let _ = tx.lock().unwrap().take().unwrap().send(());
                        }
                    });
                }
                rx.await.unwrap();
            });
        });
    });
}

/// `YIELD_TASKS` tasks spawned from inside `block_on`, each yielding
/// `NUM_YIELD` times, on a current-thread runtime.
pub fn ct_yield_many<R: CurrentThreadRuntime>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = R::start();
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let sp = rt.spawner();
            rt.block_on(async move {
                let rem = Arc::new(AtomicUsize::new(YIELD_TASKS));
                let (tx, rx) = oneshot::channel::<()>();
                let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
                for _ in 0..YIELD_TASKS {
                    let rem = rem.clone();
                    let tx = tx.clone();
                    sp.spawn_detached(async move {
                        for _ in 0..NUM_YIELD {
                            <R::Spawner as Spawner>::yield_now().await;
                        }
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            let _ = tx.lock().unwrap().take().unwrap().send(());
                        }
                    });
                }
                rx.await.unwrap();
            });
        });
    });
}

/// `NUM_PINGS` pairs of tasks exchanging a message each way over
/// `futures_channel::oneshot`, on a current-thread runtime.
pub fn ct_ping_pong<R: CurrentThreadRuntime>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = R::start();
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let sp = rt.spawner();
            rt.block_on(async move {
                let rem = Arc::new(AtomicUsize::new(NUM_PINGS));
                let (done_tx, done_rx) = oneshot::channel::<()>();
                let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
                for _ in 0..NUM_PINGS {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    let partner_sp = sp.clone();
                    sp.spawn_detached(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        partner_sp.spawn_detached(async move {
                            rx1.await.unwrap();
                            tx2.send(()).unwrap();
                        });
                        tx1.send(()).unwrap();
                        rx2.await.unwrap();
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            let _ = done_tx.lock().unwrap().take().unwrap().send(());
                        }
                    });
                }
                done_rx.await.unwrap();
            });
        });
    });
}

/// `tasklane::Builder::deterministic(seed)`: the simulated workers
/// (`TASKLANE_BENCH_WORKERS`, default 2) on the calling thread.
#[derive(Debug)]
pub struct TasklaneDeterministic(tasklane::Runtime);

impl CurrentThreadRuntime for TasklaneDeterministic {
    const NAME: &'static str = "deterministic";
    type Spawner = TasklaneSpawner;

    fn start() -> Self {
        TasklaneDeterministic(
            tasklane::Runtime::builder()
                .deterministic(1)
                .worker_threads(crate::workers())
                .build()
                .expect("build tasklane deterministic runtime"),
        )
    }

    fn spawner(&self) -> TasklaneSpawner {
        TasklaneSpawner
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// tasklane's multi-threaded runtime with one worker thread, driven by
/// `block_on` from the calling thread: what the deterministic runtime is
/// measured against.
#[derive(Debug)]
pub struct TasklaneOneWorker(tasklane::Runtime);

impl CurrentThreadRuntime for TasklaneOneWorker {
    const NAME: &'static str = "multi_thread_1";
    type Spawner = TasklaneSpawner;

    fn start() -> Self {
        TasklaneOneWorker(
            tasklane::Runtime::builder()
                .worker_threads(1)
                .build()
                .expect("build tasklane runtime"),
        )
    }

    fn spawner(&self) -> TasklaneSpawner {
        TasklaneSpawner
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// Runs `$workload::<R>(&mut group)` in one criterion group for each
/// current-thread runtime: tasklane, tokio, smol.
#[macro_export]
macro_rules! compare_current_thread {
    ($c:expr, $workload:ident) => {{
        let mut group = $c.benchmark_group(stringify!($workload));
        $workload::<$crate::current_thread::TasklaneCurrentThread>(&mut group);
        $workload::<$crate::current_thread::TokioCurrentThread>(&mut group);
        $workload::<$crate::current_thread::SmolCurrentThread>(&mut group);
        group.finish();
    }};
}
