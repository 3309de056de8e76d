//! Catch points: where a cancellation is delivered as a value instead of
//! dropping the task (asyncio's `except CancelledError:`).
//!
//! # Delivery
//!
//! A cancellation is delivered by polling: the owner of a cancellation
//! scope (the task itself, for `cancel()`; a `wait_for` whose deadline
//! passed, for its inner future) polls its future once inside [`deliver`]
//! (the task's own poll uses its two halves, `Delivering`), which marks this
//! thread's *delivery* as in flight with its [`Origin`].
//! Every [`Cancellable`] polled during that poll first polls its own future
//! (a nested catch point may take the delivery there), and if none inside
//! it did, it is an innermost catch point: it drops its future and returns
//! `Err(Cancelled)`. Two catch points side by side (joined in one future)
//! are both innermost and both receive it; an outer catch point whose
//! future holds one that received it does not.
//!
//! Only catch points that were already pending when the delivering poll
//! began receive it: one first polled during it (code that runs on after
//! an earlier catch point took the delivery, say) does not, just as in
//! asyncio the `CancelledError` lands at the await where the task was
//! suspended and not at the next one.
//!
//! After the poll the owner asks whether any catch point *claimed* the
//! delivery ([`Claim`]). If none did and the future is still pending, it is
//! dropped there (the task ends `Cancelled`; `wait_for` returns `Elapsed`),
//! unless catch points first polled during that poll are pending: then the
//! task has reached a catch point at the very suspension point where the
//! cancellation lands (a wake raced the cancel, and the catch point it was
//! in returned its value first), and the owner delivers again at once, to
//! them. If the future completed during the delivering poll, completion
//! wins.
//!
//! A task only pays for this when a cancellation arrives: the poller takes
//! the delivery path only on `ToRunning::Deliver`, and only if the task's
//! header counts a pending catch point (else it drops the future at once,
//! without running any of it).
//!
//! # Re-raising
//!
//! The code around a catch point that wants to end cancelled after its
//! cleanup awaits [`Cancelled::reraise`] (asyncio's bare `raise`). For a
//! task's cancellation that aborts the task, whose future is dropped at its
//! next poll; for a scope's, it marks this thread so that the scope owner,
//! which checks right after its poll, drops the future.

use super::current;
use super::header::Header;
use crate::sync::thread_local;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

/// Who a cancellation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// `cancel()` on the task (or shutdown, or a task group).
    Task,
    /// A cancellation scope inside the task (a `wait_for` whose deadline
    /// passed), by its id, unique in the process.
    Scope(u64),
}

impl Origin {
    /// A fresh scope id, unique in the process.
    pub(crate) fn new_scope() -> Origin {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Origin::Scope(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

#[derive(Clone, Copy)]
struct Delivery {
    origin: Option<Origin>,
    claimed: bool,
    /// Which delivering poll this is: unique in the process (a task may be
    /// delivered to on one worker, then again on another), never 0.
    serial: u64,
    /// Catch points first polled during this delivering poll and still
    /// pending: they do not receive it, but make it re-armed (see `Claim`).
    fresh: u32,
}

/// The delivering polls so far, process-wide.
static SERIAL: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static DELIVERY: Cell<Delivery> =
        const { Cell::new(Delivery { origin: None, claimed: false, serial: 0, fresh: 0 }) };
    static RERAISED: Cell<Option<Origin>> = const { Cell::new(None) };
}

/// What became of a delivery whose poll left the future pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A catch point took it.
    Taken,
    /// None took it, but catch points first polled during that poll are
    /// pending: the task reached a new catch point at the suspension point
    /// where the cancellation lands (a wake raced the cancel, and the
    /// catch point it was waiting in returned its value). The owner
    /// delivers again at its next poll, where they receive it.
    Rearm,
    /// No catch point could take it: the owner drops the future.
    Missed,
}

fn update(f: impl FnOnce(&mut Delivery)) {
    DELIVERY.with(|d| {
        let mut v = d.get();
        f(&mut v);
        d.set(v);
    });
}

/// Restores the outer delivery when a delivering poll ends (or unwinds).
struct Restore(Delivery);

impl Drop for Restore {
    fn drop(&mut self) {
        DELIVERY.with(|d| d.set(self.0));
    }
}

/// Runs `poll` (one poll of a future) with a cancellation from `origin` in
/// flight. Returns its result and what became of the cancellation (only
/// meaningful if the future is still pending).
pub fn deliver<R>(origin: Origin, poll: impl FnOnce() -> R) -> (R, Claim) {
    let delivering = Delivering::begin(origin);
    let r = poll();
    (r, delivering.end())
}

/// A cancellation from one origin in flight on this thread, from
/// [`begin`](Delivering::begin) to [`end`](Delivering::end): [`deliver`]
/// in two halves, for a caller that polls between them rather than in a
/// closure (the task's own poll, so that the future's poll is inlined
/// there once, not twice). Dropped without `end`, it still restores the
/// delivery it replaced.
pub(crate) struct Delivering {
    /// Restores, when dropped, the delivery this one replaced.
    _restore: Restore,
}

impl Delivering {
    /// Puts a cancellation from `origin` in flight.
    #[cold]
    #[inline(never)]
    pub(crate) fn begin(origin: Origin) -> Delivering {
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed) + 1;
        let outer = DELIVERY.with(|d| {
            d.replace(Delivery {
                origin: Some(origin),
                claimed: false,
                serial,
                fresh: 0,
            })
        });
        Delivering {
            _restore: Restore(outer),
        }
    }

    /// Ends the delivery: what became of the cancellation (only meaningful
    /// if the future is still pending).
    #[cold]
    #[inline(never)]
    pub(crate) fn end(self) -> Claim {
        let d = DELIVERY.with(Cell::get);
        drop(self);
        if d.claimed {
            Claim::Taken
        } else if d.fresh > 0 {
            Claim::Rearm
        } else {
            Claim::Missed
        }
    }
}

/// True (once) if a catch point's `Cancelled` from `origin` was re-raised
/// on this thread since the last call: the scope owner must drop its future.
pub fn take_reraised(origin: Origin) -> bool {
    RERAISED.with(|r| {
        if r.get() == Some(origin) {
            r.set(None);
            true
        } else {
            false
        }
    })
}

/// Aborts the task being polled on this thread (it ends `Cancelled` at its
/// next poll, whatever catch points it holds): how a cancellation that
/// reached an awaiter through a child (a cancelled `shield` or `gather`
/// child) propagates. False if no task is being polled here.
pub fn abort_current() -> bool {
    current::with_header(|h| {
        h.map(|h| {
            let _ = h.state.transition_to_cancelled(true);
        })
    })
    .is_some()
}

/// A cancellation received by a catch point: asyncio's `CancelledError`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cancelled {
    origin: Origin,
}

impl Cancelled {
    /// Where the cancellation came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Ends the enclosing cancellation (asyncio's bare `raise` in an
    /// `except CancelledError:` block): for a task's cancellation, the task
    /// ends `Cancelled` at this await; for a `wait_for` timeout, the
    /// `wait_for` drops its future here and returns `Elapsed`. The future
    /// never resolves, so it fits wherever a value of any type is expected.
    pub fn reraise<T>(self) -> Reraise<T> {
        Reraise {
            origin: self.origin,
            _p: PhantomData,
        }
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("origin", &self.origin)
            .finish()
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Future of [`Cancelled::reraise`]: never resolves.
#[must_use = "re-raising happens when the future is awaited"]
pub struct Reraise<T> {
    origin: Origin,
    _p: PhantomData<fn() -> T>,
}

impl<T> Unpin for Reraise<T> {}

impl<T> Future for Reraise<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        match self.origin {
            Origin::Task => {
                // While RUNNING this only marks the task; the poller queues
                // it again and the next poll drops the future.
                assert!(
                    abort_current(),
                    "a task's Cancelled was re-raised outside of any task"
                );
            }
            Origin::Scope(_) => RERAISED.with(|r| r.set(Some(self.origin))),
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for Reraise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reraise")
            .field("origin", &self.origin)
            .finish()
    }
}

/// A catch point: runs `future` and receives a cancellation delivered while
/// it is pending. asyncio's `try: await fut` / `except CancelledError:`.
///
/// Resolves to `Ok(output)`, or to `Err(Cancelled)` once a cancellation has
/// reached it, after dropping `future`. The code around it may then clean
/// up with awaits, and either return (the task swallowed the cancellation)
/// or [`reraise`](Cancelled::reraise) it. See the module docs for which
/// catch points receive a delivery.
pub fn cancellable<F: Future>(future: F) -> Cancellable<F> {
    Cancellable {
        future: Some(future),
        registered: None,
        born: 0,
        polled: false,
    }
}

/// Future of [`cancellable`].
#[must_use = "futures do nothing unless awaited"]
pub struct Cancellable<F> {
    future: Option<F>,
    /// The task whose catch-point count this one is in.
    registered: Option<NonNull<Header>>,
    /// The serial of the delivering poll that first polled it (0: none); it
    /// does not receive that delivery.
    born: u64,
    polled: bool,
}

// SAFETY: `registered` is only compared with, or dereferenced as, the task
// being polled on the current thread (see `unregister`); the future is the
// only other field.
unsafe impl<F: Send> Send for Cancellable<F> {}
// SAFETY: the only `&self` method, `Debug`, reads whether the future is
// gone; sharing a `&Cancellable` gives no access to the future itself.
unsafe impl<F: Sync> Sync for Cancellable<F> {}

impl<F> Cancellable<F> {
    /// Leaves the count of the task it registered with, if that task is the
    /// one being polled here (a catch point moved to another task leaves
    /// its first task's count one too high; see `Header::catch_points`).
    fn unregister(&mut self) {
        if let Some(task) = self.registered.take() {
            current::with_header(|h| {
                if let Some(h) = h
                    && std::ptr::eq(h, task.as_ptr())
                {
                    h.catch_points.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
    }

    /// A catch point first polled during a delivery that ends (returns or
    /// is dropped) within that same delivering poll no longer counts as
    /// fresh.
    fn leave_fresh(&self) {
        if self.born != 0 {
            update(|d| {
                if d.serial == self.born {
                    d.fresh -= 1;
                }
            });
        }
    }

    fn register(&mut self) {
        let me = current::with_header(|h| {
            h.map(|h| {
                h.catch_points.fetch_add(1, Ordering::Relaxed);
                NonNull::from(h)
            })
        });
        self.registered = me;
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is never moved out while it is `Some` (it is only
        // dropped in place, by assigning `None`), and the other fields are
        // not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(
            this.future.is_some(),
            "`cancellable` polled after it returned"
        );
        let delivery = DELIVERY.with(|d| d.get());
        if !this.polled {
            this.polled = true;
            if delivery.origin.is_some() {
                this.born = delivery.serial;
                update(|d| d.fresh += 1);
            }
        }
        if this.registered.is_none() {
            // Outside any task (`block_on`) this stays `None`: only a
            // `wait_for` can deliver there, and it does not need the count.
            this.register();
        } else if current::with_header(|h| h.map(NonNull::from)) != this.registered {
            // Moved to another task: count it there instead.
            this.registered = None;
            this.register();
        }
        let fut = this.future.as_mut().expect("checked above");
        // SAFETY: see above: the future stays where it is until dropped.
        let fut = unsafe { Pin::new_unchecked(fut) };
        let origin = match delivery.origin {
            Some(origin) if delivery.serial != this.born => Some(origin),
            _ => None,
        };
        let Some(origin) = origin else {
            let out = std::task::ready!(fut.poll(cx));
            this.future = None;
            this.unregister();
            this.leave_fresh();
            return Poll::Ready(Ok(out));
        };
        // A cancellation is in flight: nested catch points get it first.
        update(|d| d.claimed = false);
        let polled = fut.poll(cx);
        let mut nested = false;
        update(|d| {
            nested = d.claimed;
            d.claimed = delivery.claimed || nested || polled.is_pending();
        });
        match polled {
            Poll::Ready(out) => {
                // Completion wins over the cancellation.
                this.future = None;
                this.unregister();
                Poll::Ready(Ok(out))
            }
            Poll::Pending if nested => Poll::Pending,
            Poll::Pending => {
                // Innermost: take it. The future is dropped here, while its
                // task is current, so its destructors see `task::current()`.
                this.future = None;
                this.unregister();
                Poll::Ready(Err(Cancelled { origin }))
            }
        }
    }
}

impl<F> Drop for Cancellable<F> {
    fn drop(&mut self) {
        self.unregister();
        if self.future.is_some() {
            self.leave_fresh();
        }
    }
}

impl<F> fmt::Debug for Cancellable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellable")
            .field("done", &self.future.is_none())
            .finish()
    }
}
