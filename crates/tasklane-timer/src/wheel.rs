//! The hierarchical timing wheel.

use std::fmt;

use crate::level::{Expiration, Level, MAX_DELAY, NIL, NUM_LEVELS, level_for, slot_for};
use crate::slab::{Entry, EntryKey, Slab};

/// A hierarchical timing wheel of 7 levels × 64 slots.
///
/// Time is a `u64` count of ticks since the wheel's start; the wheel
/// never reads a clock. See the [crate docs](crate) for the design.
///
/// # Examples
///
/// ```
/// use tasklane_timer::Wheel;
///
/// let mut wheel = Wheel::new();
/// let a = wheel.insert(10, 'a');
/// wheel.insert(100, 'b');
///
/// let mut fired = Vec::new();
/// wheel.advance(50, |key, v| fired.push((key, v)));
/// assert_eq!(fired, [(a, 'a')]);
/// assert_eq!(wheel.len(), 1);
/// ```
pub struct Wheel<T> {
    /// The wheel's current time: every entry has `when >= elapsed`, and every
    /// slot that expires at or before `elapsed` has been processed, except a
    /// level-0 slot at exactly `elapsed` holding entries inserted "now".
    elapsed: u64,
    levels: [Level; NUM_LEVELS],
    slab: Slab<T>,
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.slab.len())
            .field("next_expiration", &self.next_expiration())
            .finish()
    }
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel at time 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let wheel = tasklane_timer::Wheel::<()>::new();
    /// assert!(wheel.is_empty());
    /// assert_eq!(wheel.elapsed(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty wheel at time 0 with room for `capacity` entries before the
    /// slab reallocates.
    ///
    /// # Examples
    ///
    /// ```
    /// let wheel = tasklane_timer::Wheel::<u32>::with_capacity(1024);
    /// assert_eq!(wheel.len(), 0);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(Level::new),
            slab: Slab::with_capacity(capacity),
        }
    }

    /// The wheel's current time: the largest `now` passed to
    /// [`advance`](Self::advance) so far (0 initially).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::<()>::new();
    /// wheel.advance(42, |_, _| {});
    /// assert_eq!(wheel.elapsed(), 42);
    /// ```
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// The number of entries that have neither fired nor been removed.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// wheel.insert(1, ());
    /// assert_eq!(wheel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether the wheel holds no entries.
    ///
    /// # Examples
    ///
    /// ```
    /// let wheel = tasklane_timer::Wheel::<()>::new();
    /// assert!(wheel.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// The deadline the wheel will use for a requested `deadline`: at least
    /// the current time (a past deadline fires on the next advance) and at
    /// most [`MAX_DELAY`] past it.
    fn clamp(&self, deadline: u64) -> u64 {
        deadline.clamp(self.elapsed, self.elapsed.saturating_add(MAX_DELAY))
    }

    /// Adds an entry that fires once the wheel's time reaches `deadline`.
    /// O(1).
    ///
    /// A deadline at or before [`elapsed`](Self::elapsed) fires on the next
    /// [`advance`](Self::advance). A deadline more than [`MAX_DELAY`] ahead is
    /// clamped to `elapsed() + MAX_DELAY`; it never panics.
    ///
    /// # Panics
    ///
    /// If about 4 billion entries are live at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use tasklane_timer::{MAX_DELAY, Wheel};
    ///
    /// let mut wheel = Wheel::new();
    /// let key = wheel.insert(u64::MAX, ());
    /// assert_eq!(wheel.deadline(key), Some(MAX_DELAY));
    /// ```
    pub fn insert(&mut self, deadline: u64, value: T) -> EntryKey {
        let when = self.clamp(deadline);
        let key = self.slab.insert(Entry {
            value,
            when,
            level: 0,
            slot: 0,
            prev: NIL,
            next: NIL,
        });
        self.link(key.index);
        key
    }

    /// Removes (cancels) the entry for `key` and returns its value, or `None`
    /// if the key is stale (the entry fired or was removed). O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// let key = wheel.insert(10, "x");
    /// assert_eq!(wheel.remove(key), Some("x"));
    /// assert!(wheel.is_empty());
    /// ```
    pub fn remove(&mut self, key: EntryKey) -> Option<T> {
        let index = self.slab.resolve(key)?;
        self.unlink(index);
        Some(self.slab.take(index).value)
    }

    /// Moves the entry for `key` to fire at `new_deadline` (clamped as in
    /// [`insert`](Self::insert)), earlier or later. Returns `false`, changing
    /// nothing, if the key is stale. O(1); the key stays valid.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// let key = wheel.insert(10, ());
    /// assert!(wheel.reset(key, 500));
    /// let mut n = 0;
    /// wheel.advance(499, |_, _| n += 1);
    /// assert_eq!(n, 0);
    /// wheel.advance(500, |_, _| n += 1);
    /// assert_eq!(n, 1);
    /// assert!(!wheel.reset(key, 600)); // fired: stale
    /// ```
    pub fn reset(&mut self, key: EntryKey, new_deadline: u64) -> bool {
        let Some(index) = self.slab.resolve(key) else {
            return false;
        };
        self.unlink(index);
        let when = self.clamp(new_deadline);
        self.slab.entry_mut(index).when = when;
        self.link(index);
        true
    }

    /// The value of `key`'s entry, or `None` if the key is stale.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// let key = wheel.insert(10, 1);
    /// *wheel.get_mut(key).unwrap() += 1;
    /// assert_eq!(wheel.remove(key), Some(2));
    /// assert_eq!(wheel.get_mut(key), None);
    /// ```
    pub fn get_mut(&mut self, key: EntryKey) -> Option<&mut T> {
        let index = self.slab.resolve(key)?;
        Some(&mut self.slab.entry_mut(index).value)
    }

    /// The (clamped) deadline of `key`'s entry, or `None` if the key is stale.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// wheel.advance(100, |_, _| {});
    /// let key = wheel.insert(3, ()); // in the past
    /// assert_eq!(wheel.deadline(key), Some(100));
    /// ```
    pub fn deadline(&self, key: EntryKey) -> Option<u64> {
        let index = self.slab.resolve(key)?;
        Some(self.slab.entry(index).when)
    }

    /// The time at which the wheel next has work: a lower bound on the
    /// earliest deadline, or `None` if the wheel is empty. O(levels).
    ///
    /// It is the start of the earliest occupied slot. On level 0 (deadlines
    /// within the current 64-tick block) that is the deadline exactly; on higher
    /// levels a slot spans `64^level` ticks, so the result may be earlier than
    /// any deadline in it. Then advancing to it fires nothing but cascades the
    /// slot's entries to lower levels, after which this returns a later,
    /// tighter bound. It is never later than the earliest deadline, and
    /// advancing to any time before it fires nothing. A driver sleeps until
    /// this time and calls [`advance`](Self::advance), in a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// assert_eq!(wheel.next_expiration(), None);
    /// wheel.insert(7, ());
    /// assert_eq!(wheel.next_expiration(), Some(7)); // level 0: exact
    /// wheel.insert(5000, ());
    /// wheel.advance(7, |_, _| {});
    /// // 5000 is on level 2, whose slot 1 starts at 4096.
    /// assert_eq!(wheel.next_expiration(), Some(4096));
    /// ```
    pub fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|e| e.deadline)
    }

    /// The earliest occupied slot: the first level with one (module docs of
    /// `level`, consequence 3).
    fn next_slot(&self) -> Option<Expiration> {
        let found = self
            .levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed));
        #[cfg(debug_assertions)]
        if let Some(exp) = found {
            debug_assert!(exp.deadline >= self.elapsed);
            for higher in &self.levels[exp.level + 1..] {
                if let Some(later) = higher.next_expiration(self.elapsed) {
                    debug_assert!(later.deadline > exp.deadline, "{later:?} <= {exp:?}");
                }
            }
        }
        found
    }

    /// Advances the wheel's time to `now` and calls `fire` once for every
    /// entry whose deadline is `<= now`, in deadline order (entries with
    /// equal deadlines in unspecified order). Fired entries are removed, so
    /// their keys go stale. Entries on higher levels cascade down as the
    /// slots they are in expire.
    ///
    /// Time never goes backwards: a `now` below [`elapsed`](Self::elapsed)
    /// is treated as `elapsed()` (it still fires entries inserted with a past
    /// deadline). Only occupied slots are visited and each entry moves at
    /// most once per level, so the cost is O(entries fired or cascaded),
    /// independent of how far time jumps.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = tasklane_timer::Wheel::new();
    /// for d in [3, 1, 2] {
    ///     wheel.insert(d, d);
    /// }
    /// let mut fired = Vec::new();
    /// wheel.advance(2, |_, v| fired.push(v));
    /// assert_eq!(fired, [1, 2]);
    /// ```
    pub fn advance(&mut self, now: u64, mut fire: impl FnMut(EntryKey, T)) {
        let now = now.max(self.elapsed);
        while let Some(exp) = self.next_slot() {
            if exp.deadline > now {
                break;
            }
            debug_assert!(exp.deadline >= self.elapsed);
            self.elapsed = exp.deadline;
            self.process(exp, &mut fire);
        }
        self.elapsed = now;
    }

    /// Empties the expired slot `exp`: fires its due entries and cascades the
    /// others to lower levels. Requires `self.elapsed == exp.deadline`.
    fn process(&mut self, exp: Expiration, fire: &mut impl FnMut(EntryKey, T)) {
        let level = &mut self.levels[exp.level];
        let mut index = level.head(exp.slot);
        level.set_head(exp.slot, NIL);
        while index != NIL {
            let entry = self.slab.entry_mut(index);
            let next = entry.next;
            entry.prev = NIL;
            entry.next = NIL;
            // Consequences 1 and 2 of the level math: nothing is early.
            debug_assert!(entry.when >= exp.deadline);
            if entry.when == exp.deadline {
                let key = self.slab.key_of(index);
                fire(key, self.slab.take(index).value);
            } else {
                debug_assert!(exp.level > 0, "level-0 entry not at its slot start");
                let old_level = exp.level;
                self.link(index);
                // Consequence 4: cascading always moves down.
                debug_assert!((self.slab.entry(index).level as usize) < old_level);
            }
            index = next;
        }
    }

    /// Pushes the entry at `index` onto the front of its slot's list, choosing
    /// level and slot from its `when` and the current time.
    fn link(&mut self, index: u32) {
        let elapsed = self.elapsed;
        let entry = self.slab.entry_mut(index);
        debug_assert!(entry.when >= elapsed);
        let level = level_for(elapsed, entry.when);
        let slot = slot_for(entry.when, level);
        entry.level = level as u8;
        entry.slot = slot as u8;
        entry.prev = NIL;
        let head = self.levels[level].head(slot);
        entry.next = head;
        if head != NIL {
            debug_assert_eq!(self.slab.entry(head).prev, NIL);
            self.slab.entry_mut(head).prev = index;
        }
        self.levels[level].set_head(slot, index);
    }

    /// Removes the entry at `index` from its slot's list. O(1).
    fn unlink(&mut self, index: u32) {
        let entry = self.slab.entry(index);
        let (level, slot, prev, next) = (
            entry.level as usize,
            entry.slot as usize,
            entry.prev,
            entry.next,
        );
        if prev == NIL {
            debug_assert_eq!(self.levels[level].head(slot), index);
            self.levels[level].set_head(slot, next);
        } else {
            self.slab.entry_mut(prev).next = next;
        }
        if next != NIL {
            self.slab.entry_mut(next).prev = prev;
        }
        let entry = self.slab.entry_mut(index);
        entry.prev = NIL;
        entry.next = NIL;
    }
}
