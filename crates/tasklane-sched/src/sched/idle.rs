//! Which workers are asleep, how many are searching for work, and whether
//! the whole scheduler is idle.
//!
//! # Protocol (no lost wake-up, no thundering herd)
//!
//! `state` packs three counts: workers *searching* (awake, without a task,
//! looking for one), workers *unparked* (not on the sleeper list), and
//! *activities*: other things in flight that can make a task runnable (a
//! blocking-pool job, a multi-thread `block_on` polling its future; see
//! "Idleness" below).
//!
//! Making work visible (push to a queue or the injector), then calling
//! `worker_to_notify`:
//!
//! 1. push the task;
//! 2. `fence(SeqCst)`, then read `state`;
//! 3. if a worker is searching, or none is asleep, return: that worker will
//!    see the task (rule below). Otherwise, under the sleeper lock, count one
//!    more searching and unparked worker and pop one sleeper to unpark.
//!
//! Going to sleep (`transition_worker_to_parked`, then the caller's check):
//!
//! 1. under the sleeper lock, push self and subtract self from the counts
//!    (from `searching` too if it was searching);
//! 2. `fence(SeqCst)`, then look at every queue; if any holds a task, notify
//!    (possibly waking itself, which makes its own park return at once);
//! 3. park.
//!
//! The two fences order "push, then read counts" against "update counts,
//! then read queues" (Dekker): at least one side sees the other's write, so
//! either the notifier wakes a sleeper or the sleeper sees the task. At most
//! one worker is woken per notification, and none while one is searching.
//!
//! A worker that was woken counts as searching; a searcher that finds a task
//! and was the last searcher wakes another if more work is visible in the
//! queues (its `SeqCst` decrement, then the queue check, pair with the
//! notifier's push, fence, read as above).
//!
//! # Idleness
//!
//! A paused clock advances only while nothing can make a task runnable
//! (`Handle::is_idle`). Everything that can, and that the scheduler knows
//! of, is counted in the one word: an awake worker in *unparked*, a
//! blocking job from its submission to the end of its run and a
//! multi-thread `block_on` from its waker's wake to its next park in
//! *activities*. The word is read with one load, so "nobody unparked, no
//! activity" is a true snapshot, never a mix of two moments. It stays true
//! only if every hand-over of the right to run counts the receiver before
//! the giver stops counting:
//!
//! 1. a thing that makes a task runnable (push, then `worker_to_notify`)
//!    counts a woken worker as unparked before it returns, and the thing
//!    itself is still counted then (a worker runs the waking poll while
//!    unparked; a blocking job wakes its joiner inside its run; a
//!    `block_on` future wakes tasks inside its poll);
//! 2. an activity begins (`activity_begin`) before it is handed its work
//!    and ends (`activity_end`) after the wakes it makes;
//! 3. only then does the giver leave: a worker by
//!    `transition_worker_to_parked`, an activity by `activity_end`.
//!
//! So the count is never zero while a task is runnable, except for a task
//! woken by a thread the scheduler does not know (a plain thread sending
//! on a channel): the answer errs only that way, and the queues are read
//! too, to catch such a task once it is pushed.

use crate::sync::Mutex;
use crate::sync::atomic::{AtomicUsize, Ordering, fence};

const SEARCH_MASK: usize = 0xFFFF;
const UNPARK_SHIFT: usize = 16;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const UNPARK_MASK: usize = 0xFFFF;
/// Activities (blocking jobs, `block_on`s) count from bit 32 up.
const ACTIVITY_SHIFT: usize = 32;
const ACTIVITY_ONE: usize = 1 << ACTIVITY_SHIFT;

// Three counts in one word: the activities need the high half.
const _: () = assert!(usize::BITS >= 64);
const _: () = assert!(UNPARK_SHIFT + 16 <= ACTIVITY_SHIFT);

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

fn searching(s: usize) -> usize {
    s & SEARCH_MASK
}

fn unparked(s: usize) -> usize {
    (s >> UNPARK_SHIFT) & UNPARK_MASK
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    /// Step 2–3 of notifying: which sleeper to unpark, if one is needed.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        // SeqCst fence: orders the caller's queue push before reading the
        // counts (the notifier half of the Dekker pair in the module docs).
        fence(Ordering::SeqCst);
        if !self.should_wake(self.state.load(Ordering::SeqCst)) {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        // Re-check under the lock: another notifier may have woken someone.
        if !self.should_wake(self.state.load(Ordering::SeqCst)) {
            return None;
        }
        let index = sleepers.pop()?;
        // SeqCst: part of the counts' single total order (see the docs).
        self.state.fetch_add(UNPARK_ONE | 1, Ordering::SeqCst);
        Some(index)
    }

    fn should_wake(&self, s: usize) -> bool {
        searching(s) == 0 && unparked(s) < self.num_workers
    }

    /// A worker out of local work wants to search. At most half the workers
    /// (rounded up) search at once, so a burst of steals does not contend.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(Ordering::SeqCst);
        if 2 * searching(s) >= self.num_workers {
            return false;
        }
        // SeqCst: the searching count takes part in the Dekker pair.
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searcher found a task. Returns true if it was the last searcher, in
    /// which case the caller wakes another worker.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        // SeqCst: the searching count takes part in the Dekker pair.
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(searching(prev) > 0);
        searching(prev) == 1
    }

    /// Whether every worker is on the sleeper list (counted parked). SeqCst:
    /// the monitor's read in its sleep protocol (`monitor.rs`).
    pub(crate) fn all_parked(&self) -> bool {
        unparked(self.state.load(Ordering::SeqCst)) == 0
    }

    /// Whether no worker is unparked and no activity is in flight, in one
    /// load (module docs, "Idleness"). SeqCst: one side of the pair with
    /// `transition_worker_to_parked` and `activity_end` of the thread that
    /// makes the scheduler idle, which then reads this too.
    pub(crate) fn is_quiet(&self) -> bool {
        self.state.load(Ordering::SeqCst) >> UNPARK_SHIFT == 0
    }

    /// An activity that can make tasks runnable begins (module docs).
    /// SeqCst: part of the counts' single total order.
    pub(crate) fn activity_begin(&self) {
        let prev = self.state.fetch_add(ACTIVITY_ONE, Ordering::SeqCst);
        debug_assert!(prev >> ACTIVITY_SHIFT < usize::MAX >> (ACTIVITY_SHIFT + 1));
    }

    /// An activity ends, after the wakes it made. SeqCst: as
    /// `activity_begin`.
    pub(crate) fn activity_end(&self) {
        let prev = self.state.fetch_sub(ACTIVITY_ONE, Ordering::SeqCst);
        debug_assert!(prev >> ACTIVITY_SHIFT > 0, "activity_end without a begin");
    }

    /// Step 1 of going to sleep. The caller must then fence and re-check the
    /// queues (`Shared::has_work`) before parking.
    pub(crate) fn transition_worker_to_parked(&self, index: usize, was_searching: bool) {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARK_ONE + usize::from(was_searching);
        // SeqCst: the counts take part in the Dekker pair.
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        debug_assert!(unparked(prev) > 0 && (!was_searching || searching(prev) > 0));
        sleepers.push(index);
    }

    /// After its park returned: a worker still on the sleeper list (woken by
    /// a timeout, a driver event or shutdown rather than by a notifier)
    /// takes itself off and counts itself as unparked and searching, as a
    /// notifier would have done.
    pub(crate) fn transition_worker_from_parked(&self, index: usize) {
        let mut sleepers = self.sleepers.lock();
        if let Some(pos) = sleepers.iter().position(|&i| i == index) {
            sleepers.swap_remove(pos);
            // SeqCst: the counts take part in the Dekker pair.
            self.state.fetch_add(UNPARK_ONE | 1, Ordering::SeqCst);
        }
    }
}
