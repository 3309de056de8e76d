//! The registry of live tasks: what `Handle::tasks()` lists and what
//! shutdown cancels.
//!
//! Sharded by task id so that spawns on different workers take different
//! locks: each shard is a slab of [`TaskRef`]s behind its own mutex, and a
//! task remembers its slab index in its header. Insert and remove are O(1)
//! and allocate only when a slab grows.
//!
//! # Draining and closing (shutdown)
//!
//! 1. `drain` marks every shard draining under its lock and returns the
//!    tasks registered, so the caller can cancel them. Inserts are still
//!    accepted (cleanup code may spawn during the grace period), and from
//!    then on each removal tallies the task's outcome.
//! 2. Every removal from a draining registry signals `emptied` under
//!    `wait_lock` (a shard cannot tell whether the whole registry is now
//!    empty), and wakes the removal waker if one is set; `wait_empty`
//!    counts the tasks under that lock before each wait, so it cannot miss
//!    the last removal (a waker's owner counts after setting it, and is
//!    woken by any removal after that).
//! 3. `close` (when the grace is over) marks every shard closed and returns
//!    the tasks still registered, with the tallies. From then on `insert`
//!    refuses new tasks (the spawner cancels such a task before its first
//!    poll) and removals are no longer tallied.

use super::{TaskRef, TaskState};
use crate::sync::{Condvar, Mutex};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::task::Waker;
use std::time::Instant;

/// Sharded set of live tasks.
pub struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    /// Guards the waits on `emptied`; holds the waker of a waiter that
    /// waits by running tasks rather than on the condition variable (the
    /// current-thread scheduler's shutdown), woken with it.
    wait_lock: Mutex<Option<Waker>>,
    emptied: Condvar,
}

#[derive(Default)]
struct Shard {
    slots: Vec<Option<TaskRef>>,
    free: Vec<u32>,
    len: usize,
    /// Draining and not yet closed: removals are tallied.
    tallying: bool,
    draining: bool,
    closed: bool,
    tally: Tally,
}

/// Outcomes of the tasks that ended while the registry was draining.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Ended with a value.
    pub completed: usize,
    /// Ended cancelled.
    pub cancelled: usize,
    /// Ended by panicking.
    pub panicked: usize,
}

impl Registry {
    /// A registry with at least `shards` shards (rounded up to a power of two).
    pub fn new(shards: usize) -> Registry {
        let n = shards.max(1).next_power_of_two();
        Registry {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
            wait_lock: Mutex::new(None),
            emptied: Condvar::new(),
        }
    }

    fn shard(&self, task: &TaskRef) -> &Mutex<Shard> {
        let i = task.id().as_u64() as usize & (self.shards.len() - 1);
        &self.shards[i]
    }

    /// Registers a task.
    ///
    /// # Errors
    ///
    /// Gives the reference back if the registry is closed (shutting down).
    pub fn insert(&self, task: TaskRef) -> Result<(), TaskRef> {
        let mut shard = self.shard(&task).lock();
        if shard.closed {
            return Err(task);
        }
        let slot = match shard.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(shard.slots.len())
                    .expect("over 4 billion live tasks in one shard");
                shard.slots.push(None);
                slot
            }
        };
        task.header().set_registry_slot(slot);
        shard.slots[slot as usize] = Some(task);
        shard.len += 1;
        Ok(())
    }

    /// Unregisters a task, returning the registry's reference if it held one.
    pub fn remove(&self, task: &TaskRef) -> Option<TaskRef> {
        let (removed, emptied) = {
            let mut shard = self.shard(task).lock();
            let slot = task.header().registry_slot();
            let held = shard
                .slots
                .get(slot as usize)
                .and_then(|s| s.as_ref())
                .is_some_and(|t| t.raw == task.raw);
            if !held {
                return None;
            }
            let removed = shard.slots[slot as usize].take();
            shard.free.push(slot);
            shard.len -= 1;
            if shard.tallying {
                match task.state() {
                    TaskState::Completed => shard.tally.completed += 1,
                    TaskState::Panicked => shard.tally.panicked += 1,
                    _ => shard.tally.cancelled += 1,
                }
            }
            (removed, shard.draining)
        };
        if emptied {
            let waker = self.wait_lock.lock();
            self.emptied.notify_all();
            if let Some(w) = &*waker {
                w.wake_by_ref();
            }
        }
        removed
    }

    /// References to every live task, shard by shard (not one atomic
    /// snapshot: tasks may come and go meanwhile).
    pub fn snapshot(&self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(shard.lock().slots.iter().flatten().cloned());
        }
        out
    }

    /// Number of live tasks (summed shard by shard).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    /// True if no task is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts tallying outcomes and returns the tasks registered now.
    pub fn drain(&self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.draining = true;
            shard.tallying = true;
            out.extend(shard.slots.iter().flatten().cloned());
        }
        out
    }

    /// Refuses further inserts; returns the tasks still registered and the
    /// outcomes tallied since `drain`.
    pub fn close(&self) -> (Vec<TaskRef>, Tally) {
        let mut out = Vec::new();
        let mut tally = Tally::default();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.draining = true;
            shard.tallying = false;
            shard.closed = true;
            out.extend(shard.slots.iter().flatten().cloned());
            tally.completed += shard.tally.completed;
            tally.cancelled += shard.tally.cancelled;
            tally.panicked += shard.tally.panicked;
        }
        (out, tally)
    }

    /// After `drain`: `waker` is woken at every removal, as `wait_empty` is
    /// (`None` stops it). For a waiter that cannot block on a condition
    /// variable because it runs the tasks itself.
    pub fn set_removal_waker(&self, waker: Option<Waker>) {
        *self.wait_lock.lock() = waker;
    }

    /// After `drain`: blocks until every task has left, or `deadline`.
    /// Returns true if the registry is empty.
    pub fn wait_empty(&self, deadline: Option<Instant>) -> bool {
        let mut guard = self.wait_lock.lock();
        loop {
            if self.is_empty() {
                return true;
            }
            match deadline {
                None => guard = self.emptied.wait(guard),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    guard = self.emptied.wait_timeout(guard, d - now);
                }
            }
        }
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish()
    }
}
