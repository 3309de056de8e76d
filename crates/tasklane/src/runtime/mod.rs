//! Runtimes: building one, entering it, driving a future on it, shutting it
//! down.
//!
//! * `run.rs`: [`run`], asyncio's `run`, on a runtime built for the call.
//! * `builder.rs`: [`Builder`], the options, and the thread hooks that make
//!   each runtime thread belong to its runtime.
//! * `runtime.rs`: [`Runtime`], which owns the scheduler; `block_on`,
//!   `enter`, `shutdown`.
//! * `handle.rs`: [`Handle`], the cloneable reference used to spawn and to
//!   inspect the runtime from anywhere.
//! * `context.rs`: the thread-local "runtime this thread belongs to", and
//!   [`EnterGuard`] in `enter.rs`, which sets it for a while.
//! * `park.rs`: how `block_on` sleeps the calling thread between polls.
//! * `subscriber.rs`: the `tracing` subscriber handed from the thread that
//!   builds a runtime to the runtime's threads.
//! * `shutdown_report.rs`: [`ShutdownReport`].
//! * `seeds.rs`: the seeds of `#[tasklane::test(seed/seeds)]` on the
//!   deterministic runtime, and `TASKLANE_SEED`.

mod builder;
mod context;
mod enter;
mod handle;
mod park;
pub(crate) use park::BlockOnScope;
mod run;
#[allow(
    clippy::module_inception,
    reason = "named after the type it holds, as the other files here"
)]
mod runtime;
mod seeds;
mod shutdown_report;
mod subscriber;

pub use builder::Builder;
pub use enter::EnterGuard;
pub use handle::Handle;
pub use run::run;
pub(crate) use run::run_with;
pub use runtime::{DEFAULT_GRACE, Runtime};
pub use seeds::{SeedOutcome, Seeds, run_seeds};
pub use shutdown_report::ShutdownReport;
