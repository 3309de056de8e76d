//! The entry store: a `Vec` of slots with a stack of free slots, and
//! generation-checked keys.
//!
//! The free stack is a separate `Vec` of (index, generation) pairs rather
//! than a list threaded through the vacant slots: taking a slot then reads
//! the top of a compact stack instead of the slot itself, so an insert into a
//! slot that has gone cold is a store (absorbed by the store buffer), not a
//! load the next insert depends on (`docs/benchmarks.md`, timers).
//!
//! Each slot has a generation that is bumped every time the slot is freed; an
//! [`EntryKey`] carries the generation it was issued with, so a key to an entry
//! that has fired or been removed never reaches a newer entry reusing the slot.
//! Generations are `u64`, so they cannot wrap in practice.

use crate::level::NIL;

/// A handle to an entry in a [`Wheel`](crate::Wheel).
///
/// Returned by [`Wheel::insert`](crate::Wheel::insert) and passed to the fire
/// callback of [`Wheel::advance`](crate::Wheel::advance). Once its entry has
/// fired or been removed the key is *stale*: every operation on it is a no-op
/// returning `None`/`false`, even if the slot has been reused.
///
/// # Examples
///
/// ```
/// use tasklane_timer::Wheel;
///
/// let mut wheel = Wheel::new();
/// let key = wheel.insert(5, "a");
/// assert_eq!(wheel.remove(key), Some("a"));
/// assert_eq!(wheel.remove(key), None); // stale
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey {
    pub(crate) index: u32,
    pub(crate) generation: u64,
}

/// An entry stored in the wheel.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) value: T,
    /// The (clamped) deadline; `>=` the wheel time when it was set.
    pub(crate) when: u64,
    /// Level and slot the entry is linked into.
    pub(crate) level: u8,
    pub(crate) slot: u8,
    /// Doubly linked slot list, through slab indices (`NIL` ends).
    pub(crate) prev: u32,
    pub(crate) next: u32,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u64,
    /// `None` while the slot is on the free stack.
    entry: Option<Entry<T>>,
}

/// A slab of entries. Insert, lookup and removal are O(1).
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Vacant slots, with the generation each will be issued with; the most
    /// recently freed (the warmest in cache) on top.
    free: Vec<(u32, u64)>,
    len: usize,
    /// Frees since the free stack was last put in address order
    /// ([`reorder_free`](Slab::reorder_free)).
    frees_since_reorder: usize,
}

impl<T> Slab<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Slab {
            slots: Vec::with_capacity(capacity),
            free: Vec::new(),
            len: 0,
            frees_since_reorder: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `entry` and returns its key.
    ///
    /// # Panics
    ///
    /// If more than `u32::MAX - 1` entries are live at once.
    pub(crate) fn insert(&mut self, entry: Entry<T>) -> EntryKey {
        self.len += 1;
        if let Some((index, generation)) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            debug_assert!(slot.entry.is_none(), "free stack holds an occupied slot");
            // A store only: a plain assignment would first read the old
            // `entry` to drop it, a cache miss on a cold slot.
            // SAFETY: `slot` is a valid, aligned `Slot<T>` borrowed
            // exclusively. Only `take` pushes onto the free stack, after
            // setting the slot's `entry` to `None` (and `reorder_free`
            // rebuilds it only when every slot is vacant), and nothing
            // refills a slot but this pop; so the value overwritten here
            // owns nothing and skipping its destructor leaks nothing.
            unsafe {
                std::ptr::write(
                    slot,
                    Slot {
                        generation,
                        entry: Some(entry),
                    },
                );
            }
            // The insert after next takes the slot two below the top: start
            // fetching it now, so that its store does not wait on memory
            // while the shard's lock is held (two ahead is the distance
            // chosen on `timer_churn`, docs/benchmarks.md, timers).
            if let Some(&(next, _)) = self
                .free
                .len()
                .checked_sub(2)
                .and_then(|i| self.free.get(i))
            {
                prefetch_for_write(&self.slots[next as usize]);
            }
            EntryKey { index, generation }
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("tasklane-timer: too many live entries");
            self.slots.push(Slot {
                generation: 0,
                entry: Some(entry),
            });
            EntryKey {
                index,
                generation: 0,
            }
        }
    }

    /// The index of `key`'s entry, if the key is not stale.
    pub(crate) fn resolve(&self, key: EntryKey) -> Option<u32> {
        let slot = self.slots.get(key.index as usize)?;
        (slot.generation == key.generation && slot.entry.is_some()).then_some(key.index)
    }

    /// The key currently naming the live entry at `index`.
    pub(crate) fn key_of(&self, index: u32) -> EntryKey {
        let slot = &self.slots[index as usize];
        debug_assert!(slot.entry.is_some());
        EntryKey {
            index,
            generation: slot.generation,
        }
    }

    pub(crate) fn entry(&self, index: u32) -> &Entry<T> {
        match &self.slots[index as usize].entry {
            Some(e) => e,
            None => unreachable!("link to a vacant slot"),
        }
    }

    pub(crate) fn entry_mut(&mut self, index: u32) -> &mut Entry<T> {
        match &mut self.slots[index as usize].entry {
            Some(e) => e,
            None => unreachable!("link to a vacant slot"),
        }
    }

    /// Frees the slot at `index` (which must be occupied and already unlinked)
    /// and returns its entry. Bumps the generation so old keys go stale.
    pub(crate) fn take(&mut self, index: u32) -> Entry<T> {
        let slot = &mut self.slots[index as usize];
        let entry = slot.entry.take().expect("take of a vacant slot");
        // The slot keeps its old generation until reused, so stale keys
        // already fail `resolve` (the entry is `None`); the next one is
        // issued from the free stack.
        self.free.push((index, slot.generation + 1));
        self.len -= 1;
        self.frees_since_reorder += 1;
        if self.len == 0 && self.frees_since_reorder >= self.slots.len() {
            self.reorder_free();
        }
        entry
    }

    /// Puts the free stack in address order, lowest index on top, so that
    /// the next inserts walk the slots upwards, as the hardware prefetcher
    /// likes. Called when the slab has just emptied, at most once per
    /// `slots.len()` frees (so O(1) amortised per free).
    ///
    /// Without it, the order of the free stack drifts with every timer that
    /// fires, as its slot is pushed amid the cancellations, and a long-lived
    /// slab reuses its slots in a scattered order, which the prefetcher
    /// cannot follow (`docs/benchmarks.md`, timers).
    #[cold]
    fn reorder_free(&mut self) {
        debug_assert!(
            self.len == 0 && self.slots.iter().all(|s| s.entry.is_none()),
            "the free stack is rebuilt only when every slot is vacant"
        );
        self.frees_since_reorder = 0;
        self.free.clear();
        // Every slot is vacant; each issues the generation after the one it
        // had (as `take` pushed it).
        self.free.extend(
            self.slots
                .iter()
                .enumerate()
                .rev()
                .map(|(i, slot)| (i as u32, slot.generation + 1)),
        );
    }
}

/// A hint to bring `value`'s cache line in for writing. No effect on
/// targets without a prefetch instruction wrapper here.
#[inline(always)]
fn prefetch_for_write<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_ET0, _mm_prefetch};
        // SAFETY: a prefetch never faults and has no effect on program
        // state, whatever the address; this one is a valid reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_ET0>((value as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
