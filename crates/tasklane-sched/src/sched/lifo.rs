//! A worker's LIFO slot: one task, put and taken by its worker, and stolen
//! by the monitor when the worker is stuck in a poll (`monitor.rs`).
//!
//! The slot holds the task most recently woken or spawned by the task a
//! worker is polling, to be polled right after it. A plain cell would do
//! for its owner alone, but a task that then blocks its worker (a
//! blocking call in async code) would strand the task in the slot for as
//! long as the poll lasts, where no other worker can reach it (tokio's
//! LIFO slot has that weakness). Here the slot is one atomic pointer that
//! the monitor can empty. Go's scheduler makes its `runnext` slot
//! stealable the same way, with a compare-and-swap on both sides
//! (`runqput`, `runqget`, `runqgrab` in `runtime/proc.go`).
//!
//! # Protocol
//!
//! Only the owner puts; the owner and the monitor take.
//!
//! 1. **Put** (owner): load the slot. If it is empty, store the new task
//!    (Release: the task's `Notified` is published to a stealer's Acquire
//!    swap). No read-modify-write is needed: nobody else puts, so an empty
//!    slot stays empty until this store, and a steal racing it either finds
//!    it empty or takes the new task whole. If it holds a task, swap the
//!    new one in (Release) and hand the previous one (if a steal did not get
//!    it first) back to the caller, which queues it.
//! 2. **Take** (owner): load the slot; if empty, nothing (no
//!    read-modify-write, so a worker that never uses its slot, as on a
//!    yield-heavy load, pays one plain load). Otherwise swap in null: the
//!    one read-modify-write per use of the slot, which a steal racing it
//!    can never also win.
//! 3. **Steal** (monitor): load; if not empty, swap in null (Acquire,
//!    pairing with the Release of the put) and own what it returns.
//!
//! Every removal is a swap, so each task put is removed exactly once; the
//! loom model `sched_lifo_steal` checks it with the real worker.

use crate::sync::atomic::{AtomicPtr, Ordering};
use crate::task::Notified;
use std::fmt;
use std::ptr::{self, NonNull};

/// One task slot; see the module docs.
pub(crate) struct LifoSlot {
    task: AtomicPtr<()>,
}

impl LifoSlot {
    pub(crate) fn new() -> LifoSlot {
        LifoSlot {
            task: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Step 1: puts `task`; returns the task it displaced, if any. Called
    /// by the owner only.
    #[inline]
    pub(crate) fn put(&self, task: Notified) -> Option<Notified> {
        let new = task.into_ptr().as_ptr();
        // Relaxed: only the owner puts, so an empty slot read here stays
        // empty until our store; a non-empty one is re-read by the swap.
        if self.task.load(Ordering::Relaxed).is_null() {
            // Release: publishes the task to a stealer's Acquire swap.
            self.task.store(new, Ordering::Release);
            None
        } else {
            // Release: publishes the new task, as above. The previous one
            // needs no Acquire: this thread put it.
            let prev = self.task.swap(new, Ordering::Release);
            // SAFETY: a non-null pointer in the slot came from `into_ptr`
            // in a put, and the swap removed it: ours, once.
            NonNull::new(prev).map(|p| unsafe { Notified::from_ptr(p) })
        }
    }

    /// Step 2: takes the task, if any. Called by the owner only.
    #[inline]
    pub(crate) fn take(&self) -> Option<Notified> {
        // Relaxed: the owner put whatever is there itself, so it needs no
        // ordering to read the task; an empty slot stays empty (only the
        // owner puts).
        if self.task.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Relaxed: as above; the swap only has to be atomic against a steal.
        let p = self.task.swap(ptr::null_mut(), Ordering::Relaxed);
        // SAFETY: as in `put`: the swap removed it, so it is ours, once.
        NonNull::new(p).map(|p| unsafe { Notified::from_ptr(p) })
    }

    /// Step 3: takes the task from another thread.
    pub(crate) fn steal(&self) -> Option<Notified> {
        // Relaxed: a hint; the swap decides.
        if self.task.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the put's Release, so the task is seen whole.
        let p = self.task.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: as in `put`: the swap removed it, so it is ours, once.
        NonNull::new(p).map(|p| unsafe { Notified::from_ptr(p) })
    }

    /// Whether the slot holds a task (racy: a hint for the monitor).
    pub(crate) fn is_occupied(&self) -> bool {
        !self.task.load(Ordering::Relaxed).is_null()
    }
}

impl Drop for LifoSlot {
    fn drop(&mut self) {
        // A task left here (a worker thread that failed to start) is
        // released like any queued task.
        drop(self.take());
    }
}

impl fmt::Debug for LifoSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifoSlot")
            .field("occupied", &self.is_occupied())
            .finish()
    }
}
