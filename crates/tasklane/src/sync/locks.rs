//! [`RwLock`], [`Semaphore`] and [`Barrier`]: smol-rs's `async-lock` types,
//! each wrapped so that its waits take part in the cooperative budget
//! (`budget.rs`). The guards are `async-lock`'s. (The mutex is tasklane's
//! own, `mutex.rs`.)
//!
//! Each wrapper is `#[repr(transparent)]` over the `async-lock` type, so an
//! `Arc` of the wrapper is an `Arc` of the wrapped lock with the same
//! allocation: the `*_arc` methods, whose guards own an `Arc` of the
//! `async-lock` type, hand that same allocation over (`inner_arc`).

use super::budget::Budgeted;
use async_lock::futures::{Acquire, AcquireArc, BarrierWait};
use async_lock::futures::{Read, UpgradableRead, Write};
use async_lock::{
    BarrierWaitResult, RwLockReadGuard, RwLockReadGuardArc, RwLockUpgradableReadGuard,
    RwLockUpgradableReadGuardArc, RwLockWriteGuard, RwLockWriteGuardArc, SemaphoreGuard,
    SemaphoreGuardArc,
};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// The `Arc` of the `async-lock` type inside an `Arc` of its wrapper.
macro_rules! inner_arc {
    ($wrapper:ty, $inner:ty) => {
        /// The same allocation, as an `Arc` of the wrapped `async-lock` type.
        fn inner_arc(this: &Arc<$wrapper>) -> Arc<$inner> {
            let raw = Arc::into_raw(Arc::clone(this)).cast::<$inner>();
            // SAFETY: the wrapper is `#[repr(transparent)]` over `$inner`
            // and has no destructor of its own, so both types have the same
            // size, alignment and drop: `Arc::from_raw` allows a pointer
            // from `Arc<U>::into_raw` when `U` has the size and alignment of
            // the target type, and the strong count taken by the clone is
            // handed over to the new `Arc`.
            unsafe { Arc::from_raw(raw) }
        }
    };
}

/// An async reader-writer lock: many readers or one writer; writers are
/// not starved. Cancel-safe: a wait dropped before it returns holds
/// nothing.
#[repr(transparent)]
#[derive(Default)]
pub struct RwLock<T: ?Sized>(async_lock::RwLock<T>);

impl<T> RwLock<T> {
    /// An unlocked lock around `value`.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock(async_lock::RwLock::new(value))
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }

    inner_arc!(RwLock<T>, async_lock::RwLock<T>);

    /// Waits for a read lock through an `Arc`.
    pub fn read_arc(self: &Arc<Self>) -> impl Future<Output = RwLockReadGuardArc<T>> + use<T> {
        let inner = Self::inner_arc(self);
        async move { Budgeted(inner.read_arc()).await }
    }

    /// A read lock through an `Arc`, if no writer holds or waits for it.
    pub fn try_read_arc(self: &Arc<Self>) -> Option<RwLockReadGuardArc<T>> {
        Self::inner_arc(self).try_read_arc()
    }

    /// Waits for the write lock through an `Arc`.
    pub fn write_arc(self: &Arc<Self>) -> impl Future<Output = RwLockWriteGuardArc<T>> + use<T> {
        let inner = Self::inner_arc(self);
        async move { Budgeted(inner.write_arc()).await }
    }

    /// The write lock through an `Arc`, if it is free.
    pub fn try_write_arc(self: &Arc<Self>) -> Option<RwLockWriteGuardArc<T>> {
        Self::inner_arc(self).try_write_arc()
    }

    /// Waits for an upgradable read lock through an `Arc`.
    pub fn upgradable_read_arc(
        self: &Arc<Self>,
    ) -> impl Future<Output = RwLockUpgradableReadGuardArc<T>> + use<T> {
        let inner = Self::inner_arc(self);
        async move { Budgeted(inner.upgradable_read_arc()).await }
    }

    /// An upgradable read lock through an `Arc`, if one can be had now.
    pub fn try_upgradable_read_arc(self: &Arc<Self>) -> Option<RwLockUpgradableReadGuardArc<T>> {
        Self::inner_arc(self).try_upgradable_read_arc()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for a read lock.
    pub fn read(&self) -> Budgeted<Read<'_, T>> {
        Budgeted(self.0.read())
    }

    /// A read lock, if no writer holds or waits for it.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.0.try_read()
    }

    /// Waits for the write lock.
    pub fn write(&self) -> Budgeted<Write<'_, T>> {
        Budgeted(self.0.write())
    }

    /// The write lock, if it is free.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.0.try_write()
    }

    /// Waits for an upgradable read lock (one at a time, alongside plain
    /// readers; `RwLockUpgradableReadGuard::upgrade` makes it the writer).
    pub fn upgradable_read(&self) -> Budgeted<UpgradableRead<'_, T>> {
        Budgeted(self.0.upgradable_read())
    }

    /// An upgradable read lock, if one can be had now.
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        self.0.try_upgradable_read()
    }

    /// Blocks the thread for a read lock: for code outside tasks.
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        self.0.read_blocking()
    }

    /// Blocks the thread for the write lock: for code outside tasks.
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write_blocking()
    }

    /// The value, through an exclusive reference (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: fmt::Debug + ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A counting semaphore (asyncio's `Semaphore`): `acquire().await` takes a
/// permit, given back when the guard drops. Fair. Cancel-safe: an
/// `acquire()` dropped at any point never leaks a permit.
#[repr(transparent)]
pub struct Semaphore(async_lock::Semaphore);

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore(async_lock::Semaphore::new(permits))
    }

    inner_arc!(Semaphore, async_lock::Semaphore);

    /// Waits for a permit.
    pub fn acquire(&self) -> Budgeted<Acquire<'_>> {
        Budgeted(self.0.acquire())
    }

    /// A permit, if one is free.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.0.try_acquire()
    }

    /// Waits for a permit through an `Arc`, for a guard that owns its
    /// reference.
    pub fn acquire_arc(self: &Arc<Self>) -> Budgeted<AcquireArc> {
        Budgeted(Self::inner_arc(self).acquire_arc())
    }

    /// A permit through an `Arc`, if one is free.
    pub fn try_acquire_arc(self: &Arc<Self>) -> Option<SemaphoreGuardArc> {
        Self::inner_arc(self).try_acquire_arc()
    }

    /// Blocks the thread for a permit: for code outside tasks.
    pub fn acquire_blocking(&self) -> SemaphoreGuard<'_> {
        self.0.acquire_blocking()
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        self.0.add_permits(n);
    }

    /// The permits free right now.
    pub fn available_permits(&self) -> usize {
        self.0.available_permits()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A barrier for `n` tasks (asyncio's `Barrier`, without its abort): the
/// `n`-th `wait()` releases them all, and one of them is told it is the
/// leader.
#[repr(transparent)]
pub struct Barrier(async_lock::Barrier);

impl Barrier {
    /// A barrier for `n` tasks.
    pub const fn new(n: usize) -> Barrier {
        Barrier(async_lock::Barrier::new(n))
    }

    /// Waits until `n` tasks wait here.
    pub fn wait(&self) -> Budgeted<BarrierWait<'_>> {
        Budgeted(self.0.wait())
    }

    /// Blocks the thread until `n` waiters: for code outside tasks.
    pub fn wait_blocking(&self) -> BarrierWaitResult {
        self.0.wait_blocking()
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Without a runtime (the budget always lets a poll proceed there), so that
/// CI runs them under miri: the `*_arc` methods cast an `Arc` of the
/// wrapper to one of the `async-lock` type (`inner_arc!`).
#[cfg(test)]
mod tests {
    use super::{RwLock, Semaphore};
    use futures_lite::future::block_on;
    use std::sync::Arc;

    /// A guard owns the same allocation as the wrapper's `Arc`: it outlives
    /// the last `Arc`, and whichever goes last frees it, once.
    #[test]
    fn rwlock_arc_guards_share_the_wrappers_allocation() {
        let lock = Arc::new(RwLock::new(vec![1, 2, 3]));
        let read = block_on(lock.read_arc());
        assert!(lock.try_write_arc().is_none(), "a reader holds it");
        drop(lock);
        assert_eq!(*read, [1, 2, 3]);
        drop(read);

        let lock = Arc::new(RwLock::new(String::from("a")));
        let mut write = block_on(lock.write_arc());
        write.push('b');
        assert_eq!(Arc::strong_count(&lock), 2, "the guard holds a count");
        drop(write);
        assert_eq!(Arc::strong_count(&lock), 1);
        let upgradable = block_on(lock.upgradable_read_arc());
        assert_eq!(*upgradable, "ab");
        drop(lock);
        drop(upgradable);
    }

    #[test]
    fn semaphore_arc_permits_share_the_wrappers_allocation() {
        let sem = Arc::new(Semaphore::new(1));
        let permit = block_on(sem.acquire_arc());
        assert!(sem.try_acquire_arc().is_none(), "one permit, taken");
        drop(sem);
        drop(permit);
    }
}
