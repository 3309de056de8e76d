//! Running a file-system call on the blocking pool.

use crate::runtime::Handle;
use crate::task::{Builder, JoinError, JoinHandle};
use std::io;

/// The current runtime, whose blocking pool file-system calls run on.
///
/// # Errors
///
/// `Other` outside a tasklane runtime.
pub(super) fn handle() -> io::Result<Handle> {
    Handle::try_current().ok_or_else(|| {
        io::Error::other("tasklane::fs: no tasklane runtime here; use files inside a runtime")
    })
}

/// Starts `f` on `handle`'s blocking pool.
pub(super) fn start<F, R>(handle: &Handle, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Builder::new()
        .name("tasklane-fs")
        .spawn_blocking_on(f, handle)
}

/// Runs `f` on the blocking pool and waits for its result.
///
/// # Cancellation
///
/// Dropping the future before `f` starts means it never runs; once it has
/// started, it runs to its end (the blocking pool's rule).
pub(super) async fn run<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    start(&handle()?, f).await.map_err(join_error)?
}

/// The error for a pool job that did not give its result: it panicked, or
/// it was cancelled before it started (the runtime shut down).
pub(super) fn join_error(e: JoinError) -> io::Error {
    if e.is_panic() {
        io::Error::other("tasklane::fs: a file-system call panicked on the blocking pool")
    } else {
        io::Error::other(
            "tasklane::fs: the file-system call was cancelled before it ran (runtime shutting down)",
        )
    }
}
