//! The registry of live tasks: what `Handle::tasks()` lists and what
//! shutdown cancels.
//!
//! Sharded by task id so that spawns on different workers take different
//! locks: each shard is a slab of [`TaskRef`]s behind its own mutex, and a
//! task remembers its slab index in its header. Insert and remove are O(1)
//! and allocate only when a slab grows.
//!
//! # Closing
//!
//! 1. `close` marks every shard closed under its lock and returns the tasks
//!    still registered, so the caller can cancel them.
//! 2. From then on `insert` refuses new tasks; the spawner cancels such a
//!    task before its first poll.
//! 3. A removal that leaves a closed shard empty signals `emptied`, under
//!    `wait_lock`, so `wait_empty` cannot miss it.

use super::TaskRef;
use crate::sync::{Condvar, Mutex};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::Instant;

/// Sharded set of live tasks.
pub struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    wait_lock: Mutex<()>,
    emptied: Condvar,
}

#[derive(Default)]
struct Shard {
    slots: Vec<Option<TaskRef>>,
    free: Vec<u32>,
    len: usize,
    closed: bool,
}

impl Registry {
    /// A registry with at least `shards` shards (rounded up to a power of two).
    pub fn new(shards: usize) -> Registry {
        let n = shards.max(1).next_power_of_two();
        Registry {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
            wait_lock: Mutex::new(()),
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
            (removed, shard.closed && shard.len == 0)
        };
        if emptied {
            let _g = self.wait_lock.lock();
            self.emptied.notify_all();
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

    /// Refuses further inserts and returns the tasks still registered.
    pub fn close(&self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.closed = true;
            out.extend(shard.slots.iter().flatten().cloned());
        }
        out
    }

    /// After `close`: blocks until every task has left, or `deadline`.
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
