//! One mutex and condition-variable interface over `parking_lot` (normal
//! builds) and loom (model builds).

use std::time::Duration;

#[cfg(not(tasklane_loom))]
pub(crate) use parking_lot::MutexGuard;

#[cfg(tasklane_loom)]
pub(crate) use loom::sync::MutexGuard;

/// A mutex that never poisons: a panic while it is held is a bug in this
/// crate, and every critical section here is panic-free.
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

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
pub(crate) struct Condvar {
    #[cfg(not(tasklane_loom))]
    inner: parking_lot::Condvar,
    #[cfg(tasklane_loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Blocks until notified (or spuriously); the caller re-checks its condition.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(not(tasklane_loom))]
        {
            let mut guard = guard;
            self.inner.wait(&mut guard);
            guard
        }
        #[cfg(tasklane_loom)]
        {
            self.inner.wait(guard).unwrap_or_else(|e| e.into_inner())
        }
    }

    /// Blocks until notified or `timeout` has passed; the caller re-checks.
    /// Under loom, time does not pass: this is a plain wait.
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T> {
        #[cfg(not(tasklane_loom))]
        {
            let mut guard = guard;
            let _timed_out = self.inner.wait_for(&mut guard, timeout);
            guard
        }
        #[cfg(tasklane_loom)]
        {
            let _ = timeout;
            self.wait(guard)
        }
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}
