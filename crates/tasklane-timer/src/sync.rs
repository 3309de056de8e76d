//! The sync shim: the only place in this crate that names `std::sync` or
//! `parking_lot`.
//!
//! Built with `RUSTFLAGS="--cfg tasklane_loom"`, the mutex and atomics switch
//! to loom's, so the models in `loom-tests/` check the very code that ships
//! (see `tasklane-sched`'s shim for why the cfg is namespaced).

/// Atomics: std's, or loom's under the loom cfg.
pub(crate) mod atomic {
    #[cfg(not(tasklane_loom))]
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[cfg(tasklane_loom)]
    pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
}

#[cfg(not(tasklane_loom))]
pub(crate) use parking_lot::MutexGuard;

#[cfg(tasklane_loom)]
pub(crate) use loom::sync::MutexGuard;

/// A mutex that never poisons: every critical section in this crate is
/// panic-free (wakers are cloned inside, but dropped and woken outside).
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(tasklane_loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(tasklane_loom)]
    inner: loom::sync::Mutex<T>,
}

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(not(tasklane_loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(tasklane_loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(tasklane_loom))]
        return self.inner.lock();
        #[cfg(tasklane_loom)]
        return self.inner.lock().unwrap_or_else(|e| e.into_inner());
    }
}
