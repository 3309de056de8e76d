//! [`Mutex`]: an async mutex with first-come, first-served hand-off.
//!
//! # Protocol
//!
//! The `state` word's `HELD` bit says the mutex is held. Taking a free
//! mutex is one CAS on it. Everything else happens under the `waiters`
//! lock (a `parking_lot` mutex, held for a few instructions, never across
//! a wake):
//!
//! - A `lock()` that finds it held takes a slot in the slab with its waker,
//!   joins the back of the FIFO queue and sets `QUEUED` in `state`, after a
//!   second look at `HELD` under the lock (so an unlock that saw no waiter
//!   has freed it, and the second look takes it).
//! - Unlocking with nobody queued is one CAS of the word from `HELD` to
//!   free. With the `QUEUED` bit set, the unlock takes the lock, pops the
//!   front waiter, marks its slot `granted` and wakes it after the lock is
//!   released: the mutex passes to it without ever being free (no barging:
//!   a task that unlocks and locks again queues behind the waiters), and
//!   the bit is cleared when the queue empties.
//! - A waiter polled again finds `granted` (it holds the mutex) or
//!   refreshes its waker.
//! - A `lock()` dropped while queued leaves the queue; one dropped after it
//!   was granted the mutex unlocks it, which passes it to the next waiter.
//!   So a cancelled wait never keeps the mutex, nor loses a hand-off.

use super::budget::Budgeted;
use parking_lot::Mutex as SpinLock;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

/// The mutex is held (by a guard, or granted to a waiter not yet polled).
const HELD: usize = 1;
/// The queue of waiters is not empty: an unlock must hand the mutex over.
const QUEUED: usize = 2;

/// An async mutex (asyncio's `Lock`, tokio's `Mutex`): `lock().await`
/// gives a guard that unlocks on drop. Fair: waiters get the mutex in the
/// order they asked, handed over on unlock. Cancel-safe: a `lock()` dropped
/// before it returns holds nothing.
pub struct Mutex<T: ?Sized> {
    state: AtomicUsize,
    waiters: SpinLock<Waiters>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and one guard at a time
// exists (the `HELD` bit, taken by CAS or handed over under `waiters`), so
// sharing the mutex shares `T` between threads one at a time: `T: Send`.
// (`Send` comes from the fields: `UnsafeCell<T>` is `Send` when `T` is.)
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

#[derive(Default)]
struct Waiters {
    /// Slab of waiters; a slot is `None` when free.
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Slots in the order they asked.
    queue: VecDeque<usize>,
}

struct Slot {
    waker: Waker,
    /// The mutex was handed to this waiter.
    granted: bool,
}

impl Waiters {
    fn insert(&mut self, waker: Waker) -> usize {
        let slot = Some(Slot {
            waker,
            granted: false,
        });
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.queue.push_back(i);
        i
    }

    fn release(&mut self, i: usize) {
        self.slots[i] = None;
        self.free.push(i);
    }
}

impl<T> Mutex<T> {
    /// An unlocked mutex around `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            state: AtomicUsize::new(0),
            waiters: SpinLock::new(Waiters::default()),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Locks through an `Arc`, for a guard that owns its reference.
    pub fn lock_arc(self: &Arc<Self>) -> Budgeted<LockArc<T>> {
        Budgeted(LockArc {
            mutex: Some(self.clone()),
            slot: None,
        })
    }

    /// Locks through an `Arc` if the mutex is free.
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<MutexGuardArc<T>> {
        self.try_take().then(|| MutexGuardArc(self.clone()))
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the mutex.
    pub fn lock(&self) -> Budgeted<Lock<'_, T>> {
        Budgeted(Lock {
            mutex: self,
            slot: None,
        })
    }

    /// The mutex, if it is free (and nobody waits for it).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.try_take().then_some(MutexGuard(self))
    }

    /// The value, through an exclusive reference (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Takes the mutex if it is free with nobody queued. Acquire: pairs
    /// with the Release of the unlock that freed it.
    fn try_take(&self) -> bool {
        self.state
            .compare_exchange(0, HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// One poll of a `lock()` whose slot is `slot` (protocol in the module
    /// docs); on `Ready` the caller holds the mutex.
    fn poll_lock(&self, slot: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        match *slot {
            None => {
                if self.try_take() {
                    return Poll::Ready(());
                }
                let mut w = self.waiters.lock();
                // Under the lock: an unlock that found nobody queued has
                // freed it by now, or sees our `QUEUED` bit.
                let prev = self.state.fetch_or(HELD | QUEUED, Ordering::Acquire);
                if prev & HELD == 0 && w.queue.is_empty() {
                    // It was free: ours. Keep `QUEUED` only if others wait.
                    self.state.fetch_and(!QUEUED, Ordering::Relaxed);
                    return Poll::Ready(());
                }
                *slot = Some(w.insert(cx.waker().clone()));
                Poll::Pending
            }
            Some(i) => {
                let mut w = self.waiters.lock();
                let s = w.slots[i].as_mut().expect("our slot");
                if s.granted {
                    w.release(i);
                    *slot = None;
                    return Poll::Ready(());
                }
                s.waker.clone_from(cx.waker());
                Poll::Pending
            }
        }
    }

    /// A `lock()` with slot `slot` is dropped before it returned.
    fn cancel_lock(&self, slot: usize) {
        let granted = {
            let mut w = self.waiters.lock();
            let granted = w.slots[slot].as_ref().expect("our slot").granted;
            if !granted {
                w.queue.retain(|&i| i != slot);
                if w.queue.is_empty() {
                    self.state.fetch_and(!QUEUED, Ordering::Relaxed);
                }
            }
            w.release(slot);
            granted
        };
        if granted {
            // It was handed to us: pass it on.
            self.unlock();
        }
    }

    /// Unlocks: frees the mutex, or hands it to the first waiter.
    fn unlock(&self) {
        // Release: what the guard's holder wrote is seen by the next one.
        if self
            .state
            .compare_exchange(HELD, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        let waker = {
            let mut w = self.waiters.lock();
            match w.queue.pop_front() {
                Some(i) => {
                    if w.queue.is_empty() {
                        self.state.fetch_and(!QUEUED, Ordering::Relaxed);
                    }
                    let s = w.slots[i].as_mut().expect("a queued slot");
                    s.granted = true;
                    // Release (the lock's): the next holder's poll takes
                    // the slot under the same lock.
                    Some(s.waker.clone())
                }
                None => {
                    self.state.store(0, Ordering::Release);
                    None
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: fmt::Debug + ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("value", &&*g).finish(),
            None => f.write_str("Mutex { <locked> }"),
        }
    }
}

/// The future of [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    slot: Option<usize>,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        let mutex = this.mutex;
        mutex
            .poll_lock(&mut this.slot, cx)
            .map(|()| MutexGuard(mutex))
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.mutex.cancel_lock(slot);
        }
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lock { .. }")
    }
}

/// The future of [`Mutex::lock_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct LockArc<T> {
    /// `None` once it returned its guard.
    mutex: Option<Arc<Mutex<T>>>,
    slot: Option<usize>,
}

impl<T> Future for LockArc<T> {
    type Output = MutexGuardArc<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuardArc<T>> {
        let this = self.get_mut();
        let mutex = this.mutex.as_ref().expect("polled after it returned");
        match mutex.poll_lock(&mut this.slot, cx) {
            Poll::Ready(()) => Poll::Ready(MutexGuardArc(this.mutex.take().expect("checked"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for LockArc<T> {
    fn drop(&mut self) {
        if let (Some(m), Some(slot)) = (&self.mutex, self.slot) {
            m.cancel_lock(slot);
        }
    }
}

impl<T> fmt::Debug for LockArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockArc { .. }")
    }
}

/// The mutex, held until dropped.
#[must_use = "the mutex is unlocked when the guard drops"]
pub struct MutexGuard<'a, T: ?Sized>(&'a Mutex<T>);

// SAFETY: `&MutexGuard` gives `&T`: sharing it shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex: no other reference to the
        // value exists while it lives.
        unsafe { &*self.0.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`, and `&mut self` makes this one exclusive.
        unsafe { &mut *self.0.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl<T: fmt::Debug + ?Sized> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The mutex, held through an `Arc` until dropped.
#[must_use = "the mutex is unlocked when the guard drops"]
pub struct MutexGuardArc<T>(Arc<Mutex<T>>);

// SAFETY: as `MutexGuard`.
unsafe impl<T: Sync> Sync for MutexGuardArc<T> {}

impl<T> Deref for MutexGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: as `MutexGuard::deref`.
        unsafe { &*self.0.value.get() }
    }
}

impl<T> DerefMut for MutexGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `MutexGuard::deref_mut`.
        unsafe { &mut *self.0.value.get() }
    }
}

impl<T> Drop for MutexGuardArc<T> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// Outside any runtime, so that miri can run them (CI's miri step): the
// unsafe code above is the guards' access to the value and the hand-off.
#[cfg(test)]
mod tests {
    use super::Mutex;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    #[test]
    fn contended_increments_from_threads_are_all_kept() {
        let (threads, per_thread) = if cfg!(miri) { (3, 20) } else { (4, 2_000) };
        let m = Arc::new(Mutex::new(0u64));
        let joins: Vec<_> = (0..threads)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        futures_lite::future::block_on(async { *m.lock().await += 1 });
                    }
                })
            })
            .collect();
        for j in joins {
            j.join().unwrap();
        }
        assert_eq!(
            *m.try_lock().expect("free at the end"),
            threads * per_thread
        );
    }

    #[test]
    fn an_arc_guard_moves_to_another_thread_and_unlocks_there() {
        let m = Arc::new(Mutex::new(vec![1]));
        let guard = m.try_lock_arc().expect("free");
        assert!(m.try_lock().is_none(), "locked while the guard lives");
        std::thread::spawn(move || {
            let mut guard = guard;
            guard.push(2);
        })
        .join()
        .unwrap();
        assert_eq!(*m.try_lock().expect("unlocked by the drop"), vec![1, 2]);
    }

    #[test]
    fn a_waiter_dropped_before_the_hand_off_does_not_keep_the_lock() {
        let m = Mutex::new(5);
        let held = m.try_lock().expect("free");
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut waiting = pin!(m.lock());
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
            // Dropped while queued: its place must not receive the lock.
        }
        drop(held);
        assert_eq!(*m.try_lock().expect("nobody left to hand to"), 5);
    }

    #[test]
    fn a_waiter_dropped_after_the_hand_off_passes_the_lock_on() {
        let m = Mutex::new(0);
        let held = m.try_lock().expect("free");
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = Box::pin(m.lock());
        let mut second = Box::pin(m.lock());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        // The unlock hands the lock to `first`, which is dropped before it
        // polls again: the lock must go on to `second`.
        drop(held);
        drop(first);
        match second.as_mut().poll(&mut cx) {
            Poll::Ready(mut g) => *g += 1,
            Poll::Pending => panic!("the hand-off was lost with the dropped waiter"),
        }
        drop(second);
        assert_eq!(*m.try_lock().expect("free again"), 1);
    }
}
