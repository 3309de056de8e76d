//! The task's atomic state word.
//!
//! # Layout
//!
//! One `usize`. The low bits are flags, bits 7–8 hold the final outcome, and
//! everything from [`REF_SHIFT`] up is the reference count.
//!
//! | bit | name | meaning |
//! |---|---|---|
//! | 0 | `RUNNING` | a thread is polling the future. Set only by the holder of a `Notified` (the poller); cleared when the poll returns. Excludes a second poller. |
//! | 1 | `NOTIFIED` | the task must be polled again. If `RUNNING` is clear, a `Notified` reference exists (in a queue, or in someone's hand on its way there); if `RUNNING` is set, the poller creates one when the poll returns `Pending`. Never set once `COMPLETE`. |
//! | 2 | `COMPLETE` | the future is gone: its output, or the reason it has none, is stored. Final: never cleared. Set only by the poller, together with clearing `RUNNING`. |
//! | 3 | `JOIN_INTEREST` | a `JoinHandle` exists. Cleared once, when it is dropped or detached; whoever then finds `COMPLETE` drops the output. |
//! | 4 | `JOIN_WAKER` | the join-waker slot holds a waker and belongs to the completing side (see below). |
//! | 5 | `CANCEL_REQUESTED` | `cancel()` was called (or the `JoinHandle` dropped, or a scope's delivery asked for: `header::request` says whose) and the request is not yet delivered. Consumed by the next `transition_to_running` unless `ABORTED` is set too (edge-triggered: one delivery per request, coalescing requests made before it): that poll delivers it to the task's catch points, or drops the future if it holds none (`catch.rs`). |
//! | 6 | `ABORTED` | hard cancel: drop the future at the next poll, whatever it holds. Implies a pending delivery like `CANCEL_REQUESTED`; never consumed before `COMPLETE`. |
//! | 7–8 | outcome | `0` while not `COMPLETE`, then `Completed`, `Panicked` or `Cancelled`; written once, with `COMPLETE`. |
//! | 9 | `ON_DONE` | done callbacks are stored in the header (`on_done`). Set under the callbacks' lock, with a CAS that fails once `COMPLETE`; the completer that sees it in its `COMPLETE` transition takes and runs them. |
//!
//! # The join-waker slot
//!
//! * `JOIN_WAKER` clear and not `COMPLETE`: only the `JoinHandle` may touch the
//!   slot. It writes a waker, then sets the bit with a CAS that fails if the
//!   task completed meanwhile.
//! * `JOIN_WAKER` set: only the completing poller may read the slot (to wake
//!   it). To replace its waker, the handle first clears the bit (a CAS that
//!   fails if `COMPLETE`).
//! * After `COMPLETE`: the poller wakes the waker if the bit is set, then
//!   clears the bit; if the handle is gone by then, the poller drops the
//!   waker, else the slot is the handle's again.
//!
//! # References
//!
//! The allocation is freed when the count drops to zero. References are held
//! by: the `JoinHandle`, each `Waker`, a `Notified` (queued task), the
//! registry of live tasks while the task is not complete, and the poller for
//! the duration of a poll (it inherits the `Notified`'s reference).
//!
//! Whoever hands a new `Notified` to the scheduler keeps its own reference
//! until the scheduler call has returned: the scheduler handle lives inside
//! the task, and once queued the task may be run, completed and freed by
//! another worker before the call returns. So each transition that yields a
//! `Notified` adds a reference for it, and a caller that gives up its own
//! reference (a by-value wake, a dropped handle, the poller) releases it
//! only after the submit (one extra decrement, as in tokio).
//!
//! Every transition is one atomic read-modify-write (a CAS loop, which
//! writes nothing when there is nothing to change, or a `fetch_*`) whose
//! result tells the caller what it now owns: a `#[must_use]` outcome, or
//! the word after the change.

use crate::sync::atomic::{AtomicUsize, Ordering};
use std::fmt;

const RUNNING: usize = 1 << 0;
const NOTIFIED: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const JOIN_INTEREST: usize = 1 << 3;
const JOIN_WAKER: usize = 1 << 4;
const CANCEL_REQUESTED: usize = 1 << 5;
const ABORTED: usize = 1 << 6;
const OUTCOME_SHIFT: usize = 7;
const OUTCOME_MASK: usize = 0b11 << OUTCOME_SHIFT;
const ON_DONE: usize = 1 << 9;

/// First bit of the reference count.
pub(crate) const REF_SHIFT: usize = 10;
const REF_ONE: usize = 1 << REF_SHIFT;
const REF_MASK: usize = !(REF_ONE - 1);

// The flags, the outcome and the reference count do not overlap.
const _: () = assert!(ABORTED < 1 << OUTCOME_SHIFT && ON_DONE > OUTCOME_MASK);
const _: () = assert!(ON_DONE < REF_ONE);

/// Count at spawn: the `JoinHandle`, the first `Notified` and the registry.
const INITIAL: usize = (3 * REF_ONE) | JOIN_INTEREST | NOTIFIED;

/// How a task ended, stored in the outcome bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The future returned its output.
    Completed = 1,
    /// Polling (or dropping) the future panicked.
    Panicked = 2,
    /// A cancellation was delivered and the future dropped.
    Cancelled = 3,
}

/// The state word.
pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word read at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    /// A cancellation (soft or hard) waits to be delivered.
    pub(crate) fn is_cancel_pending(self) -> bool {
        self.0 & (CANCEL_REQUESTED | ABORTED) != 0
    }
    pub(crate) fn is_aborted(self) -> bool {
        self.0 & ABORTED != 0
    }
    pub(crate) fn has_done_callbacks(self) -> bool {
        self.0 & ON_DONE != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        (self.0 & REF_MASK) >> REF_SHIFT
    }
    /// The final outcome, once `COMPLETE`.
    pub(crate) fn outcome(self) -> Option<Outcome> {
        match (self.0 & OUTCOME_MASK) >> OUTCOME_SHIFT {
            1 => Some(Outcome::Completed),
            2 => Some(Outcome::Panicked),
            3 => Some(Outcome::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("notified", &self.is_notified())
            .field("complete", &self.is_complete())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("cancel_pending", &self.is_cancel_pending())
            .field("aborted", &self.is_aborted())
            .field("on_done", &self.has_done_callbacks())
            .field("outcome", &self.outcome())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What `transition_to_running` gave the poller.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// A `cancel()` request was taken (and cleared): deliver it to the
    /// task's catch points, or drop the future if it holds none.
    Deliver,
    /// The task was aborted: drop the future without polling it.
    Abort,
}

/// What `transition_to_idle` asks of the poller after a `Pending` poll.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// The task sleeps; the poller's reference was released.
    Idle,
    /// The task was woken (or cancelled) during the poll: the caller owns a
    /// new `Notified` to queue, and must then release its own reference.
    Notified,
    /// The poller's reference was the last: free the task.
    Dealloc,
}

/// What a wake or a cancel asks of its caller.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Nothing to do: already queued, running (the poller will re-queue), or
    /// complete.
    DoNothing,
    /// The caller now owns a new `Notified` reference and must submit it
    /// (by-value wakes: and then release the waker's own reference).
    Submit,
    /// (By-value wakes only.) The caller's reference was the last: free it.
    Dealloc,
}

/// What `cancel` found.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToCancelled {
    /// The task had finished: nothing changed.
    AlreadyComplete,
    /// Marked; the task is queued or running and will see the mark.
    Marked,
    /// Marked, and the caller owns a new `Notified` it must submit.
    Submit,
}

/// What dropping (or detaching) the `JoinHandle` leaves to its caller.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JoinDropped {
    /// The task had completed: the handle must drop the stored output.
    pub(crate) drop_output: bool,
    /// The join-waker slot is the handle's: it must clear it.
    pub(crate) drop_waker: bool,
    /// A new `Notified` reference was taken that the handle must submit (a
    /// drop that cancels an idle task). Either way the handle then releases
    /// its own reference.
    pub(crate) submit: bool,
}

impl State {
    /// The state of a newly spawned task: scheduled, joinable, three references.
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    /// Reads the word. Acquire: the reader may go on to read the output that
    /// a `COMPLETE` store published.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Ordering::Acquire))
    }

    /// CAS loop. AcqRel on success: each transition both publishes the
    /// caller's writes (output, waker slot) and acquires the previous owner's.
    fn fetch_update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.val.load(Ordering::Acquire);
        loop {
            let (ret, next) = f(Snapshot(curr));
            let Some(next) = next else { return ret };
            match self
                .val
                .compare_exchange_weak(curr, next.0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return ret,
                Err(actual) => curr = actual,
            }
        }
    }

    /// The holder of a `Notified` starts a poll.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.fetch_update(|s| {
            debug_assert!(s.is_notified(), "polled without NOTIFIED: {s:?}");
            debug_assert!(!s.is_running() && !s.is_complete(), "bad poll: {s:?}");
            let next = (s.0 & !NOTIFIED) | RUNNING;
            if !s.is_cancel_pending() {
                (ToRunning::Poll, Some(Snapshot(next)))
            } else if s.is_aborted() {
                (ToRunning::Abort, Some(Snapshot(next)))
            } else {
                // Taking the request is what makes delivery edge-triggered:
                // a `cancel()` during this poll sets the bit again, and
                // `transition_to_idle` then queues one more delivery.
                (ToRunning::Deliver, Some(Snapshot(next & !CANCEL_REQUESTED)))
            }
        })
    }

    /// The poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.fetch_update(|s| {
            debug_assert!(s.is_running() && !s.is_complete(), "idle from {s:?}");
            if s.is_notified() || s.is_cancel_pending() {
                // A new reference for the Notified; the poller keeps its own
                // until `yield_now` has returned (see "References").
                let next = Snapshot(((s.0 & !RUNNING) | NOTIFIED) + REF_ONE);
                (ToIdle::Notified, Some(next))
            } else {
                debug_assert!(s.ref_count() >= 1);
                let next = Snapshot((s.0 & !RUNNING) - REF_ONE);
                let action = if next.ref_count() == 0 {
                    ToIdle::Dealloc
                } else {
                    ToIdle::Idle
                };
                (action, Some(next))
            }
        })
    }

    /// The poller stored the final output. Returns the word after the change.
    pub(crate) fn transition_to_complete(&self, outcome: Outcome) -> Snapshot {
        self.fetch_update(|s| {
            debug_assert!(s.is_running() && !s.is_complete(), "complete from {s:?}");
            let next = (s.0 & !(RUNNING | NOTIFIED | CANCEL_REQUESTED | ABORTED))
                | COMPLETE
                | ((outcome as usize) << OUTCOME_SHIFT);
            (Snapshot(next), Some(Snapshot(next)))
        })
    }

    /// Wake by reference: the caller's own reference is untouched.
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.fetch_update(|s| {
            if s.is_complete() {
                (ToNotified::DoNothing, None)
            } else if s.is_notified() {
                // Already due for a poll: nothing to submit, but the word is
                // written back unchanged, so that this wake is a release the
                // next poll's `transition_to_running` acquires. The `Waker`
                // contract: a wake happens-before the poll it causes, even
                // one coalesced with an earlier wake (as in async-task). With
                // a plain load here that poll could miss what the waker wrote
                // (loom test `wake_of_queued_task_happens_before_its_poll`).
                (ToNotified::DoNothing, Some(s))
            } else if s.is_running() {
                (ToNotified::DoNothing, Some(Snapshot(s.0 | NOTIFIED)))
            } else {
                (
                    ToNotified::Submit,
                    Some(Snapshot((s.0 | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// Wake by value: the caller's reference is consumed, either released or
    /// handed to the new `Notified`.
    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotified {
        self.fetch_update(|s| {
            debug_assert!(s.ref_count() >= 1);
            if s.is_running() && !s.is_notified() {
                // The poller holds a reference too, so this is not the last.
                (
                    ToNotified::DoNothing,
                    Some(Snapshot((s.0 | NOTIFIED) - REF_ONE)),
                )
            } else if s.is_complete() || s.is_notified() || s.is_running() {
                let next = Snapshot(s.0 - REF_ONE);
                let action = if next.ref_count() == 0 {
                    ToNotified::Dealloc
                } else {
                    ToNotified::DoNothing
                };
                (action, Some(next))
            } else {
                // A new reference for the Notified; the caller releases its
                // own after submitting (see "References").
                (
                    ToNotified::Submit,
                    Some(Snapshot((s.0 | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// Requests cancellation; `hard` also sets `ABORTED`.
    pub(crate) fn transition_to_cancelled(&self, hard: bool) -> ToCancelled {
        let flag = if hard {
            ABORTED | CANCEL_REQUESTED
        } else {
            CANCEL_REQUESTED
        };
        self.fetch_update(|s| {
            if s.is_complete() {
                (ToCancelled::AlreadyComplete, None)
            } else if s.is_running() || s.is_notified() {
                // The poller re-queues on return (transition_to_idle sees the
                // flag); a queued task sees it in transition_to_running.
                (ToCancelled::Marked, Some(Snapshot(s.0 | flag)))
            } else {
                (
                    ToCancelled::Submit,
                    Some(Snapshot((s.0 | flag | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// `on_done` stored a callback (under the callbacks' lock): the completer
    /// must run it. `Err` if the task completed first, in which case the
    /// caller runs its callbacks itself.
    pub(crate) fn set_on_done(&self) -> Result<(), ()> {
        self.fetch_update(|s| {
            if s.is_complete() {
                (Err(()), None)
            } else if s.has_done_callbacks() {
                (Ok(()), None)
            } else {
                (Ok(()), Some(Snapshot(s.0 | ON_DONE)))
            }
        })
    }

    /// The handle stores a waker and hands the slot to the completer.
    /// `Err` with the current word if the task completed first.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                (Err(s), None)
            } else {
                let next = Snapshot(s.0 | JOIN_WAKER);
                (Ok(next), Some(next))
            }
        })
    }

    /// The handle takes the slot back to replace its waker.
    /// `Err` with the current word if the task completed first.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            // The bit may already be clear if the task completed since the
            // handle saw it set: the completer woke the old waker and gave
            // the slot back (loom test `join_waker_register_vs_complete`,
            // with debug assertions on).
            debug_assert!(
                s.is_join_interested() && (s.is_join_waker_set() || s.is_complete()),
                "unset_join_waker from {s:?}"
            );
            if s.is_complete() {
                (Err(s), None)
            } else {
                let next = Snapshot(s.0 & !JOIN_WAKER);
                (Ok(next), Some(next))
            }
        })
    }

    /// The completer has woken the join waker and gives the slot back.
    pub(crate) fn unset_join_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, Ordering::AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// The `JoinHandle` goes away. With `cancel`, an unfinished task is also
    /// asked to cancel (dropping a handle cancels; `detach` does not):
    /// `before_request` runs first, from the same read of the word that
    /// decides it (so it costs no extra atomic step), to record whose
    /// request it is (`header::request`).
    pub(crate) fn transition_join_dropped(
        &self,
        cancel: bool,
        mut before_request: impl FnMut(),
    ) -> JoinDropped {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested());
            let mut next = s.0 & !JOIN_INTEREST;
            let mut submit = false;
            if !s.is_complete() {
                // The slot is the handle's again, whatever the bit said.
                next &= !JOIN_WAKER;
                if cancel {
                    // Whose request it is goes in before the bit (it may
                    // run again if the update is retried).
                    before_request();
                    next |= CANCEL_REQUESTED;
                    if !s.is_running() && !s.is_notified() {
                        // A new reference for the Notified; the handle
                        // releases its own after submitting.
                        next = (next | NOTIFIED) + REF_ONE;
                        submit = true;
                    }
                }
            }
            let out = JoinDropped {
                drop_output: s.is_complete(),
                drop_waker: next & JOIN_WAKER == 0,
                submit,
            };
            (out, Some(Snapshot(next)))
        })
    }

    /// Adds a reference (a waker clone). Relaxed: a new reference can only be
    /// made from an existing one, which already keeps the task alive.
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Ordering::Relaxed);
        if prev > isize::MAX as usize {
            // Same guard as `Arc`: a count this large means leaked wakers.
            std::process::abort();
        }
    }

    /// Releases `n` references; true if they were the last. AcqRel: the
    /// releaser's accesses happen before the free by whoever releases last.
    #[must_use]
    pub(crate) fn ref_dec(&self, n: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.ref_count() >= n, "ref count underflow: {prev:?} - {n}");
        prev.ref_count() == n
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

#[cfg(all(test, not(tasklane_loom)))]
mod tests {
    use super::*;

    #[test]
    fn initial_state() {
        let s = State::new().load();
        assert!(s.is_notified() && s.is_join_interested());
        assert!(!s.is_running() && !s.is_complete() && !s.is_cancel_pending());
        assert_eq!(s.ref_count(), 3);
        assert_eq!(s.outcome(), None);
    }

    #[test]
    fn wake_while_running_sets_notified_once() {
        let st = State::new();
        assert_eq!(st.transition_to_running(), ToRunning::Poll);
        assert_eq!(st.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert!(st.load().is_notified());
        assert_eq!(st.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(st.transition_to_idle(), ToIdle::Notified);
        // One more for the new Notified; the poller then releases its own.
        assert_eq!(st.load().ref_count(), 4);
    }

    #[test]
    fn idle_then_wake_submits_once() {
        let st = State::new();
        let _ = st.transition_to_running();
        assert_eq!(st.transition_to_idle(), ToIdle::Idle);
        assert_eq!(st.load().ref_count(), 2);
        assert_eq!(st.transition_to_notified_by_ref(), ToNotified::Submit);
        assert_eq!(st.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(st.load().ref_count(), 3);
    }

    #[test]
    fn cancel_before_first_poll_is_seen_by_the_poller() {
        let st = State::new();
        assert_eq!(st.transition_to_cancelled(false), ToCancelled::Marked);
        assert_eq!(st.transition_to_running(), ToRunning::Deliver);
        let done = st.transition_to_complete(Outcome::Cancelled);
        assert_eq!(done.outcome(), Some(Outcome::Cancelled));
        assert_eq!(
            st.transition_to_cancelled(true),
            ToCancelled::AlreadyComplete
        );
    }

    #[test]
    fn soft_cancel_is_taken_once_and_abort_is_kept() {
        let st = State::new();
        assert_eq!(st.transition_to_cancelled(false), ToCancelled::Marked);
        assert_eq!(st.transition_to_running(), ToRunning::Deliver);
        assert!(!st.load().is_cancel_pending());
        // A second request during the delivering poll queues one more.
        assert_eq!(st.transition_to_cancelled(false), ToCancelled::Marked);
        assert_eq!(st.transition_to_idle(), ToIdle::Notified);
        assert_eq!(st.transition_to_running(), ToRunning::Deliver);
        assert_eq!(st.transition_to_idle(), ToIdle::Idle);
        assert_eq!(st.transition_to_cancelled(true), ToCancelled::Submit);
        assert_eq!(st.transition_to_running(), ToRunning::Abort);
        assert!(st.load().is_aborted());
    }

    #[test]
    fn on_done_is_refused_once_complete() {
        let st = State::new();
        assert_eq!(st.set_on_done(), Ok(()));
        assert!(st.load().has_done_callbacks());
        let _ = st.transition_to_running();
        let done = st.transition_to_complete(Outcome::Completed);
        assert!(done.has_done_callbacks());
        assert_eq!(st.set_on_done(), Err(()));
    }

    #[test]
    fn complete_keeps_outcome_and_clears_flags() {
        let st = State::new();
        let _ = st.transition_to_running();
        let _ = st.transition_to_notified_by_ref();
        let done = st.transition_to_complete(Outcome::Panicked);
        assert!(done.is_complete() && !done.is_running() && !done.is_notified());
        assert_eq!(done.outcome(), Some(Outcome::Panicked));
    }

    #[test]
    fn join_drop_on_idle_task_hands_its_reference_to_the_queue() {
        let st = State::new();
        let _ = st.transition_to_running();
        assert_eq!(st.transition_to_idle(), ToIdle::Idle);
        let d = st.transition_join_dropped(true, || {});
        assert!(d.submit && !d.drop_output && d.drop_waker);
        let s = st.load();
        assert!(s.is_notified() && s.is_cancel_pending() && !s.is_join_interested());
        // The handle's own reference is still counted until it releases it.
        assert_eq!(s.ref_count(), 3);
    }
}
