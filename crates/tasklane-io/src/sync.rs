//! The sync shim: the only place in this crate that names `std::sync` or
//! `parking_lot` for the readiness protocol. Under
//! `RUSTFLAGS="--cfg tasklane_loom"` the readiness word and the waiter lock
//! switch to loom's, so the models in `loom-tests/` check the code that
//! ships. The reactor's own state (its `closed` flag, the `epoll_pwait2`
//! probe) is std's: the models drive `ScheduledIo`, not the reactor.

/// Atomics: std's, or loom's under the loom cfg.
pub(crate) mod atomic {
    #[cfg(not(tasklane_loom))]
    pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};

    #[cfg(tasklane_loom)]
    pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
}

#[cfg(not(tasklane_loom))]
pub(crate) use parking_lot::MutexGuard;

#[cfg(tasklane_loom)]
pub(crate) use loom::sync::MutexGuard;

/// A mutex that never poisons: no critical section in this crate panics
/// (wakers are taken under the lock and woken after it).
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

    /// The lock if it is free right now.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        #[cfg(not(tasklane_loom))]
        return self.inner.try_lock();
        #[cfg(tasklane_loom)]
        return self.inner.try_lock().ok();
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(tasklane_loom))]
        return self.inner.lock();
        #[cfg(tasklane_loom)]
        return self.inner.lock().unwrap_or_else(|e| e.into_inner());
    }
}
