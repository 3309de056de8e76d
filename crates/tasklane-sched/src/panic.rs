//! Keeping panics where they belong: user code's panics are caught at the
//! task boundary; the scheduler's own callbacks must not unwind at all.

use std::mem;
use std::panic::{self, AssertUnwindSafe};

/// Runs a callback that must not unwind (a `Schedule` method, a `Driver`
/// method): unwinding out of it half-way would strand a queued task or a
/// sleeping worker, so it aborts the process with a message instead.
pub(crate) fn abort_on_unwind<R>(f: impl FnOnce() -> R) -> R {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            eprintln!("tasklane: a scheduler or driver callback panicked; aborting");
            std::process::abort();
        }
    }
    let guard = Guard;
    let r = f();
    mem::forget(guard);
    r
}

/// Discards the result of a `catch_unwind`, including a panic payload whose
/// own destructor panics (that one is leaked rather than unwound).
pub(crate) fn swallow(result: std::thread::Result<()>) {
    if let Err(payload) = result
        && let Err(second) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)))
    {
        mem::forget(second);
    }
}
