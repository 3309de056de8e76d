//! Level and slot arithmetic, and one level's slot heads plus occupancy bitmap.
//!
//! # Level/slot math
//!
//! Level `l` (0 ≤ l < [`NUM_LEVELS`]) has [`SLOTS`] = 64 slots, and each slot
//! covers `64^l` ticks ([`slot_range`]); the whole level covers
//! `64^(l+1)` ticks ([`level_range`]). A deadline `when` lives at level `l` in slot
//! `(when >> 6l) % 64` ([`slot_for`]).
//!
//! The level is chosen by [`level_for`] from the highest bit in which `when`
//! differs from the wheel's current time `elapsed`: if they agree on every bit
//! from bit `6(l+1)` up but differ in the six bits `[6l, 6l+6)`, the entry
//! belongs on level `l` (on level 0 also when they agree on every bit; for
//! a deadline across a `64^7` boundary, see the ring below). Consequences,
//! used throughout:
//!
//! 1. An entry on level `l > 0` has a slot index strictly greater than the
//!    current time's index on that level (within the same level block), so the
//!    slot's start time `t` satisfies `elapsed < t <= when`.
//! 2. On level 0 the slot start *is* the deadline (`t == when`), possibly equal
//!    to `elapsed` for an entry that is due now.
//! 3. Every occupied slot on a lower level starts before every occupied slot on
//!    a higher level, so the earliest expiration is on the lowest non-empty
//!    level.
//! 4. When a slot on level `l` expires at its start `t`, the entries in it that
//!    are not due agree with `t` on every bit from `6l` up, so they re-insert
//!    ("cascade") onto a level strictly below `l`.
//!
//! The top level is a ring: a deadline up to [`MAX_DELAY`] ahead may cross a
//! `64^7` boundary, in which case its top-level index is *smaller* than the
//! current one and the slot's start is one level range later (see
//! [`Level::next_expiration`]). [`MAX_DELAY`] is one top-level slot short of a
//! full rotation, so such a slot can never alias the current one.

/// Number of bits of the time consumed by one level.
pub(crate) const LEVEL_BITS: u32 = 6;

/// Slots per level (`2^LEVEL_BITS`).
pub(crate) const SLOTS: usize = 1 << LEVEL_BITS;

/// Number of levels in the hierarchy: tokio's 6 at 1 ms, plus one, because
/// ticks here are ~65.5 µs (see `Clock`) and the range should still span
/// years.
pub(crate) const NUM_LEVELS: usize = 7;

/// The span of the whole wheel, `64^7` ticks.
pub(crate) const WHEEL_RANGE: u64 = 1 << (LEVEL_BITS as usize * NUM_LEVELS);

/// The largest delay, in ticks past the wheel's current time, that a
/// deadline may have; later deadlines are clamped to it.
///
/// It is `63 · 64^6 − 1` ticks (about 9.0 years of `Clock` ticks): one
/// top-level slot short of the wheel's full range `64^7`, so that a clamped entry's top-level slot can
/// never coincide with the slot the current time is in.
pub const MAX_DELAY: u64 = (WHEEL_RANGE - slot_range(NUM_LEVELS - 1)) - 1;

/// Sentinel "no index" for slab links.
pub(crate) const NIL: u32 = u32::MAX;

/// Ticks covered by one slot of `level`: `64^level`.
pub(crate) const fn slot_range(level: usize) -> u64 {
    1 << (LEVEL_BITS as usize * level)
}

/// Ticks covered by all of `level`: `64^(level+1)`.
pub(crate) const fn level_range(level: usize) -> u64 {
    slot_range(level + 1)
}

/// The level on which a deadline `when` is stored when the wheel's time is
/// `elapsed` (see the module docs). Requires `when >= elapsed`.
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    debug_assert!(when >= elapsed, "level_for: {when} < {elapsed}");
    // OR in the slot mask so that `when == elapsed` lands on level 0.
    let mut masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    // A deadline crossing a 64^7 boundary goes on the top level (ring).
    if masked >= WHEEL_RANGE {
        masked = WHEEL_RANGE - 1;
    }
    let significant = 63 - masked.leading_zeros() as usize;
    let level = significant / LEVEL_BITS as usize;
    debug_assert!(level < NUM_LEVELS);
    level
}

/// The slot index of `when` on `level`: bits `[6·level, 6·level + 6)`.
pub(crate) fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (LEVEL_BITS as usize * level)) % SLOTS as u64) as usize
}

/// An occupied slot found by [`Level::next_expiration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiration {
    /// The level the slot is on.
    pub(crate) level: usize,
    /// The slot's index on that level.
    pub(crate) slot: usize,
    /// The slot's start time: no entry in it is due earlier.
    pub(crate) deadline: u64,
}

/// One level: the head of each slot's doubly linked list (slab indices) and a
/// bitmap with bit `s` set exactly when slot `s` is non-empty.
#[derive(Debug, Clone)]
pub(crate) struct Level {
    level: usize,
    /// Bit `s` is set iff `heads[s] != NIL`.
    occupied: u64,
    heads: [u32; SLOTS],
}

impl Level {
    pub(crate) fn new(level: usize) -> Self {
        Level {
            level,
            occupied: 0,
            heads: [NIL; SLOTS],
        }
    }

    pub(crate) fn head(&self, slot: usize) -> u32 {
        self.heads[slot]
    }

    /// Sets the head of `slot`, keeping the occupancy bit in step.
    pub(crate) fn set_head(&mut self, slot: usize, index: u32) {
        self.heads[slot] = index;
        if index == NIL {
            self.occupied &= !(1 << slot);
        } else {
            self.occupied |= 1 << slot;
        }
        debug_assert_eq!((self.occupied >> slot) & 1 == 1, self.heads[slot] != NIL);
    }

    /// The first occupied slot at or after `now`'s slot (in ring order), with
    /// its start time. O(1): one rotate and one `trailing_zeros`.
    pub(crate) fn next_expiration(&self, now: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let now_slot = slot_for(now, self.level);
        let rotated = self.occupied.rotate_right(now_slot as u32);
        let slot = (rotated.trailing_zeros() as usize + now_slot) % SLOTS;
        let level_start = now & !(level_range(self.level) - 1);
        let mut deadline = level_start + slot as u64 * slot_range(self.level);
        if deadline < now {
            // Only the top level wraps: its slot is in the next rotation
            // (module docs, "The top level is a ring").
            debug_assert_eq!(self.level, NUM_LEVELS - 1, "lower level slot in the past");
            deadline = deadline.saturating_add(level_range(self.level));
        }
        Some(Expiration {
            level: self.level,
            slot,
            deadline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_boundaries() {
        assert_eq!(level_for(0, 0), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, (1 << 18) - 1), 2);
        assert_eq!(level_for(0, 1 << 18), 3);
        assert_eq!(level_for(0, 1 << 24), 4);
        assert_eq!(level_for(0, 1 << 30), 5);
        assert_eq!(level_for(0, 1 << 36), 6);
        assert_eq!(level_for(0, MAX_DELAY), 6);
        // Crossing a 64-boundary by one tick moves up a level.
        assert_eq!(level_for(63, 64), 1);
        // Crossing the top boundary goes on the top level.
        assert_eq!(level_for(WHEEL_RANGE - 1, WHEEL_RANGE), NUM_LEVELS - 1);
    }

    #[test]
    fn slot_math() {
        assert_eq!(slot_for(65, 0), 1);
        assert_eq!(slot_for(65, 1), 1);
        assert_eq!(slot_for(4096 * 3 + 5, 2), 3);
        assert_eq!(slot_range(0), 1);
        assert_eq!(level_range(0), 64);
        assert_eq!(level_range(NUM_LEVELS - 1), WHEEL_RANGE);
    }

    #[test]
    fn top_level_wraps() {
        let mut level = Level::new(NUM_LEVELS - 1);
        let now = WHEEL_RANGE - 1; // top-level slot 63
        level.set_head(0, 7);
        let exp = level.next_expiration(now).unwrap();
        assert_eq!(exp.slot, 0);
        assert_eq!(exp.deadline, WHEEL_RANGE);
    }
}
