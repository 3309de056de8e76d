//! The entry store: a `Vec` of slots with a free list, and generation-checked
//! keys.
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
enum State<T> {
    Occupied(Entry<T>),
    Vacant { next_free: u32 },
}

#[derive(Debug)]
struct Slot<T> {
    generation: u64,
    state: State<T>,
}

/// A slab of entries. Insert, lookup and removal are O(1).
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free_head: u32,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Slab {
            slots: Vec::with_capacity(capacity),
            free_head: NIL,
            len: 0,
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
        if self.free_head != NIL {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            let State::Vacant { next_free } = slot.state else {
                unreachable!("free list points at an occupied slot");
            };
            self.free_head = next_free;
            slot.state = State::Occupied(entry);
            EntryKey {
                index,
                generation: slot.generation,
            }
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("tasklane-timer: too many live entries");
            self.slots.push(Slot {
                generation: 0,
                state: State::Occupied(entry),
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
        (slot.generation == key.generation && matches!(slot.state, State::Occupied(_)))
            .then_some(key.index)
    }

    /// The key currently naming the live entry at `index`.
    pub(crate) fn key_of(&self, index: u32) -> EntryKey {
        let slot = &self.slots[index as usize];
        debug_assert!(matches!(slot.state, State::Occupied(_)));
        EntryKey {
            index,
            generation: slot.generation,
        }
    }

    pub(crate) fn entry(&self, index: u32) -> &Entry<T> {
        match &self.slots[index as usize].state {
            State::Occupied(e) => e,
            State::Vacant { .. } => unreachable!("link to a vacant slot"),
        }
    }

    pub(crate) fn entry_mut(&mut self, index: u32) -> &mut Entry<T> {
        match &mut self.slots[index as usize].state {
            State::Occupied(e) => e,
            State::Vacant { .. } => unreachable!("link to a vacant slot"),
        }
    }

    /// Frees the slot at `index` (which must be occupied and already unlinked)
    /// and returns its entry. Bumps the generation so old keys go stale.
    pub(crate) fn take(&mut self, index: u32) -> Entry<T> {
        let slot = &mut self.slots[index as usize];
        let state = std::mem::replace(
            &mut slot.state,
            State::Vacant {
                next_free: self.free_head,
            },
        );
        let State::Occupied(entry) = state else {
            unreachable!("take of a vacant slot");
        };
        slot.generation += 1;
        self.free_head = index;
        self.len -= 1;
        entry
    }
}
