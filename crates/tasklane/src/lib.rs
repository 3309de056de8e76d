//! tasklane: a multi-threaded, work-stealing async runtime with Python
//! asyncio's task lifecycle.
//!
//! Spawn tasks with [`spawn`] and get a [`JoinHandle`](task::JoinHandle)
//! that can be awaited, cancelled, aborted and inspected; tasks run in
//! parallel on one worker per core; blocking work goes to a bounded pool
//! through [`spawn_blocking`]. Dropping a `JoinHandle` cancels its task, so
//! concurrency is structured by default; [`detach`](task::JoinHandle::detach)
//! opts out.
//!
//! Tests can run on a paused clock ([`Builder::start_paused`],
//! `#[tasklane::test(start_paused = true)]`, [`time::pause`]), on any
//! runtime flavour: time stands still while a task can run and jumps to the
//! next timer's deadline once every task is idle.
//!
//! The promised behaviour (the task lifecycle, cancellation and its catch
//! points, shields and timeouts, groups, shutdown, timers and test time,
//! I/O, child processes, files and observability) is written down in full
//! in `docs/semantics.md`; the crate's layout is in `ARCHITECTURE.md`.
//!
//! [`testing`] has tools for testing code that runs on tasklane, such as
//! [`testing::cancel_sweep`], which cancels a future at each of its awaits in
//! turn; `docs/testing.md` is the chapter on testing.
//!
//! # Examples
//!
//! ```
//! let answer = tasklane::run(async {
//!     let task = tasklane::task::Builder::new().name("answer").spawn(async { 6 * 7 });
//!     assert_eq!(task.name(), "answer");
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```

mod driver;
pub mod fs;
mod group;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
mod local_task;
pub mod metrics;
pub mod net;
pub mod process;
mod runtime;
mod scope;
mod shield;
pub mod signal;
pub mod sync;
pub mod task;
mod task_local;
mod task_set;
pub mod testing;
pub mod time;
mod two_phase;

pub use group::{Gather, GroupError, ReturnWhen, TaskGroup, gather, wait};
pub use runtime::{Builder, DEFAULT_GRACE, EnterGuard, Handle, Runtime, ShutdownReport, run};
pub use scope::{CancelScope, ScopeRun};
pub use shield::{Shield, shield};
pub use task::{spawn, spawn_blocking, yield_now};
pub use task_set::{AsCompleted, TaskSet, as_completed};
pub use time::{Elapsed, wait_for};

/// `#[tasklane::main]` and `#[tasklane::test]`: run an `async fn` as the
/// program's entry point or as a test on its own runtime.
pub use tasklane_macros::{main, test};

/// Support for the code `#[tasklane::main]` and `#[tasklane::test]`
/// generate; not a public API.
#[doc(hidden)]
pub mod __private {
    use crate::Builder;
    use std::future::Future;

    /// Builds a runtime from `builder`, drives `future` to completion on it,
    /// then shuts it down gracefully: [`run`](crate::run) with options.
    ///
    /// # Panics
    ///
    /// If the runtime cannot be built, or if called from inside a runtime.
    pub fn block_on_and_shutdown<F: Future>(builder: Builder, future: F) -> F::Output {
        crate::runtime::run_with(builder, "#[tasklane::main] / #[tasklane::test]", future)
    }

    pub use crate::runtime::{SeedOutcome, Seeds, run_seeds};
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The testing chapter's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/testing.md")]
pub struct TestingDoctests;
