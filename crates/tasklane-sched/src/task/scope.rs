//! Scope owners: code that wraps a future and delivers a cancellation of
//! its own to the catch points inside it (`wait_for`, `time::timeout` and
//! `CancelScope::run` in the `tasklane` crate), and the signal such a scope
//! is cancelled through from any thread.
//!
//! # Driving a scope ([`ScopeDriver`])
//!
//! The owner polls its future through [`ScopeDriver::poll`], which tells it
//! whether the future completed, is pending, or was ended by the scope's
//! cancellation (the owner then drops it, in place, without polling it
//! again). One poll:
//!
//! 1. Once a catch point inside has taken the scope's cancellation
//!    (*delivered*), the future runs on until it ends: its value if it
//!    swallowed the cancellation, or the scope's end if it re-raised it
//!    (a re-raise of any other origin is passed on outwards).
//! 2. Otherwise the owner is asked whether its scope is cancelled now (a
//!    flag, a timer; the question registers the task's waker with them),
//!    and if not the future is polled as usual. At the first poll the
//!    future is polled first and the question asked only if it stays
//!    pending: it runs to its first suspension point, and one ready there
//!    wins even against a scope cancelled before. A re-raise of another
//!    origin found after a poll is passed on, and the owner waits: the
//!    handler further out drops this future.
//! 3. Cancelled, and the future holds no catch point ([`CatchCount`]): it
//!    ends at once, nothing of it running past the await where it waits
//!    (so a zero timeout expires at the first suspension point).
//! 4. Else the future is polled again inside [`deliver`], with this
//!    scope's origin (one per driver, made at its first delivery) in
//!    flight. Completion in that poll wins. A catch point that took it
//!    makes the scope *delivered* (step 1); one that re-raised it at once
//!    ends the scope; catch points new to that poll only make the driver
//!    deliver again at the next poll, which it asks for at once
//!    ([`Claim::Rearm`]); none at all ends the scope.
//!
//! Every poll goes through [`catch_reraised`], so a re-raise of this
//! scope's cancellation from code inside reaches this owner and never an
//! outer one, and a re-raise of another's passes through
//! ([`pass_reraised`]): nested scopes each catch their own.
//!
//! # Cancelling from another thread ([`ScopeSignal`])
//!
//! A signal holds a state word (the cancelled bit and a count of changes,
//! such as a moved deadline) and the wakers of the owners waiting on it,
//! one slot each, behind a mutex:
//!
//! 1. `cancel` sets the bit (once; later calls do nothing), then locks the
//!    wakers, clones them, unlocks and wakes each; `notify` does the same
//!    after counting a change.
//! 2. An owner whose future is pending stores its waker in its slot under
//!    the lock, *then* reads the state word.
//!
//! No wake-up is lost: if the owner's lock comes before the canceller's,
//! the canceller finds its waker; if after, the canceller's write is
//! ordered before the owner's read by the mutex, so the owner sees the bit.
//! Wakers are woken after the lock is released: a waker that runs code of
//! its own cannot deadlock on the signal.

use super::Cancelled;
use super::catch::{CatchCount, Claim, Origin, catch_reraised, deliver, pass_reraised};
use super::cause::CancelCause;
use crate::sync::Mutex;
use crate::sync::atomic::{AtomicUsize, Ordering};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// What one [`ScopeDriver::poll`] found.
#[derive(Debug)]
pub enum ScopePoll<T> {
    /// The future completed (before the scope was cancelled, or after a
    /// catch point inside swallowed its cancellation): the owner returns
    /// its value.
    Ready(T),
    /// The scope's cancellation ended the future (it held no catch point,
    /// none took the delivery, or the delivery was re-raised to this
    /// scope): the owner drops the future now, without polling it.
    Cancelled(Cancelled),
    /// The future is pending.
    Pending,
}

/// The owner's side of a cancellation scope around one future: the
/// delivery state machine of the module docs.
#[derive(Debug, Default)]
pub struct ScopeDriver {
    /// This scope's origin, made at its first delivery.
    origin: Option<Origin>,
    /// A catch point inside took the cancellation: the future runs on until
    /// it ends.
    delivered: bool,
    /// The last delivery found only catch points new to that poll: deliver
    /// again at the next poll.
    rearmed: bool,
    /// The future was polled once: it waits at a suspension point.
    started: bool,
    /// The catch points the future holds.
    inside: CatchCount,
    /// Why the scope was cancelled, as the owner said when it found it
    /// cancelled.
    cause: Option<CancelCause>,
}

impl ScopeDriver {
    /// A driver for a scope not cancelled yet.
    pub fn new() -> ScopeDriver {
        ScopeDriver::default()
    }

    /// True once a catch point inside the future took the scope's
    /// cancellation (the future is cleaning up).
    pub fn is_delivered(&self) -> bool {
        self.delivered
    }

    fn origin(&mut self) -> Origin {
        *self.origin.get_or_insert_with(Origin::new_scope)
    }

    fn cause(&self) -> CancelCause {
        self.cause.unwrap_or(CancelCause::Scope)
    }

    /// The scope's end: the cancellation `run`-style owners return.
    fn ended(&mut self) -> ScopePoll<std::convert::Infallible> {
        let origin = self.origin();
        ScopePoll::Cancelled(Cancelled::new(origin, self.cause().into()))
    }

    /// Polls `future` once as the owner of its scope (module docs).
    /// `cancelled` is asked, while no delivery is under way, whether the
    /// scope is cancelled now, and why (before the future is polled, except
    /// at the first poll, after it); it registers `cx`'s waker with
    /// whatever would cancel it later.
    pub fn poll<F: Future>(
        &mut self,
        mut future: Pin<&mut F>,
        cx: &mut Context<'_>,
        mut cancelled: impl FnMut(&mut Context<'_>) -> Option<CancelCause>,
    ) -> ScopePoll<F::Output> {
        let mut cancelled = |cx: &mut Context<'_>, cause: &mut Option<CancelCause>| {
            let c = cancelled(cx);
            if c.is_some() && cause.is_none() {
                *cause = c;
            }
            c.is_some()
        };
        if self.delivered {
            // Step 1: cleaning up after the delivery.
            let origin = self.origin();
            let inside = &mut self.inside;
            let (polled, raised) = catch_reraised(|| inside.track(|| future.as_mut().poll(cx)));
            match raised {
                Some(c) if c.origin() == origin => return cast(self.ended()),
                Some(c) => pass_reraised(c),
                None => {}
            }
            return match polled {
                Poll::Ready(v) => ScopePoll::Ready(v),
                Poll::Pending => ScopePoll::Pending,
            };
        }
        if !self.rearmed {
            // Step 2. A scope cancelled while its future waited delivers
            // without a plain poll first: nothing of the future runs past
            // the await where it waits, whatever else woke it. Only the
            // first poll runs the future before asking (it reaches its
            // first suspension point, and a future ready there wins).
            let cancel_now = self.started && cancelled(cx, &mut self.cause);
            if !cancel_now {
                let inside = &mut self.inside;
                let (polled, raised) = catch_reraised(|| inside.track(|| future.as_mut().poll(cx)));
                let passed = raised.is_some();
                if let Some(c) = raised {
                    // Not this scope's (it delivered nothing yet): for a
                    // handler further out, which drops this future.
                    pass_reraised(c);
                }
                if let Poll::Ready(v) = polled {
                    return ScopePoll::Ready(v);
                }
                if passed || self.started {
                    // (Asked before the poll: a cancel since wakes it.)
                    return ScopePoll::Pending;
                }
                self.started = true;
                if !cancelled(cx, &mut self.cause) {
                    return ScopePoll::Pending;
                }
            }
        }
        // Step 3.
        if !self.inside.any() {
            return cast(self.ended());
        }
        // Step 4.
        let origin = self.origin();
        let cause = self.cause();
        self.rearmed = false;
        let inside = &mut self.inside;
        let ((polled, claim), raised) =
            catch_reraised(|| inside.track(|| deliver(origin, cause, || future.as_mut().poll(cx))));
        if raised.as_ref().is_some_and(|c| c.origin() == origin) {
            // Re-raised at once: the future is dropped here.
            return cast(self.ended());
        }
        if let Some(c) = raised {
            pass_reraised(c);
        }
        if let Poll::Ready(v) = polled {
            return ScopePoll::Ready(v);
        }
        match claim {
            Claim::Taken => {
                self.delivered = true;
                ScopePoll::Pending
            }
            Claim::Rearm => {
                // The future reached a catch point new to that poll: it
                // receives the cancellation at the next poll, right away.
                self.rearmed = true;
                cx.waker().wake_by_ref();
                ScopePoll::Pending
            }
            // No catch point took it: the owner drops the future.
            Claim::Missed => cast(self.ended()),
        }
    }
}

/// A `Cancelled` outcome, as the outcome of a future of any output.
fn cast<T>(p: ScopePoll<std::convert::Infallible>) -> ScopePoll<T> {
    match p {
        ScopePoll::Cancelled(c) => ScopePoll::Cancelled(c),
        ScopePoll::Ready(never) => match never {},
        ScopePoll::Pending => ScopePoll::Pending,
    }
}

/// The cancelled bit of [`ScopeSignal`]'s state word; the rest counts
/// changes, in units of [`CHANGE`].
const CANCELLED: usize = 1;
/// One change (`notify`) in the state word.
const CHANGE: usize = 2;

/// How a scope is cancelled from any thread: a flag, a count of other
/// changes its owners must look at (a moved deadline), and the wakers of
/// the owners waiting on it (module docs for the protocol).
pub struct ScopeSignal {
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

/// One owner's place among a [`ScopeSignal`]'s waiters; give it back with
/// [`ScopeSignal::leave`] when the owner ends.
#[derive(Debug, Default)]
pub struct WaiterSlot(Option<usize>);

/// A read of a [`ScopeSignal`]'s state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalState(usize);

impl SignalState {
    /// The scope was cancelled.
    pub fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }

    /// How many changes were signalled: an owner that saw a different
    /// count looks at what may have changed.
    pub fn changes(self) -> usize {
        self.0 / CHANGE
    }
}

impl ScopeSignal {
    /// A signal not cancelled, with no waiter.
    pub fn new() -> ScopeSignal {
        ScopeSignal {
            state: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Cancels the scope and wakes every waiting owner; false if it was
    /// already cancelled.
    pub fn cancel(&self) -> bool {
        // AcqRel: the swap orders the canceller's writes before an owner's
        // read of the bit (the mutex does it for owners that wait).
        let prev = self.state.fetch_or(CANCELLED, Ordering::AcqRel);
        if prev & CANCELLED != 0 {
            return false;
        }
        self.wake_all();
        true
    }

    /// Counts a change the owners must look at, and wakes them.
    pub fn notify(&self) {
        // Release: what changed (written before) is seen by an owner that
        // reads the new count.
        self.state.fetch_add(CHANGE, Ordering::Release);
        self.wake_all();
    }

    /// The state now, with no waker stored.
    pub fn state(&self) -> SignalState {
        // Acquire: pairs with the canceller's and notifier's writes.
        SignalState(self.state.load(Ordering::Acquire))
    }

    /// Stores `waker` in the owner's slot (taking one at the first call),
    /// then reads the state: a cancel or change after this read wakes it.
    pub fn poll_state(&self, slot: &mut WaiterSlot, waker: &Waker) -> SignalState {
        {
            let mut w = self.waiters.lock();
            match slot.0 {
                Some(i) => {
                    let s = &mut w.slots[i];
                    if !s.as_ref().is_some_and(|old| old.will_wake(waker)) {
                        *s = Some(waker.clone());
                    }
                }
                None => {
                    let i = match w.free.pop() {
                        Some(i) => {
                            w.slots[i] = Some(waker.clone());
                            i
                        }
                        None => {
                            w.slots.push(Some(waker.clone()));
                            w.slots.len() - 1
                        }
                    };
                    slot.0 = Some(i);
                }
            }
        }
        // Acquire, after the lock: see the module docs.
        SignalState(self.state.load(Ordering::Acquire))
    }

    /// Gives the owner's slot back (its waker is dropped).
    pub fn leave(&self, slot: &mut WaiterSlot) {
        if let Some(i) = slot.0.take() {
            let waker = {
                let mut w = self.waiters.lock();
                w.free.push(i);
                w.slots[i].take()
            };
            drop(waker);
        }
    }

    fn wake_all(&self) {
        let wakers: Vec<Waker> = self
            .waiters
            .lock()
            .slots
            .iter()
            .flatten()
            .cloned()
            .collect();
        for w in wakers {
            w.wake();
        }
    }
}

impl Default for ScopeSignal {
    fn default() -> ScopeSignal {
        ScopeSignal::new()
    }
}

impl fmt::Debug for ScopeSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state();
        f.debug_struct("ScopeSignal")
            .field("cancelled", &s.is_cancelled())
            .field("changes", &s.changes())
            .finish()
    }
}
