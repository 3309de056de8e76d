//! [`run`]: asyncio's `run`, a future driven on a runtime built for the call.

use super::{Builder, DEFAULT_GRACE};
use std::future::Future;

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
