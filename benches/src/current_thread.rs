//! Single-threaded runtimes under benchmark: tasklane's and tokio's
//! current-thread runtimes, and smol's executor driven by one thread.
//!
//! Every task runs on the thread inside `block_on`, so a workload is one
//! `block_on` that spawns its tasks and waits for them; tasks spawn through
//! the same [`Spawner`]s as on the multi-threaded runtimes.

use std::future::Future;
use std::sync::Arc;

use async_executor::Executor;

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
