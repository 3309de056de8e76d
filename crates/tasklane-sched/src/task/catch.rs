//! Catch points: where a cancellation is delivered as a value instead of
//! dropping the task (asyncio's `except CancelledError:`).
//!
//! # Delivery
//!
//! A cancellation is delivered by polling: the owner of a cancellation
//! scope (the task itself, for `cancel()` or a scope's request from
//! outside it; a scope owner such as `wait_for`, for its inner future)
//! polls its future once inside [`deliver`] (the task's own poll uses its
//! parts: [`take_request`], [`Delivering::begin_taken`], [`end_request`]),
//! which marks this thread's *delivery* as in flight with its [`Origin`]
//! and cause.
//! Every [`Cancellable`] polled during that poll that holds catch points
//! of its own first polls its future (a nested catch point may take the
//! delivery there); if none inside it did, or it holds none, it is an
//! innermost catch point: it drops its future (without polling it, if it
//! holds no catch point) and returns `Err(Cancelled)`. Two catch points
//! side by side (joined in one future) are both innermost and both receive
//! it; an outer catch point whose future holds one that received it does
//! not. Who holds catch points is counted per future ([`CatchCount`]), so
//! that code between a suspension point and the next never runs on once a
//! cancellation has landed there, whatever wakes raced it.
//!
//! Only catch points that were already pending when the delivering poll
//! began receive it: one first polled during it (code that runs on after
//! an earlier catch point took the delivery, say) does not, just as in
//! asyncio the `CancelledError` lands at the await where the task was
//! suspended and not at the next one.
//!
//! After the poll the owner asks whether any catch point *claimed* the
//! delivery ([`Claim`]). If none did and the future is still pending, it is
//! dropped there (the task ends `Cancelled`; `wait_for` returns `Elapsed`;
//! a scope's request to a task from outside it, which may only reach catch
//! points, ends nothing), unless catch points first polled during that poll
//! are pending: then a branch that was not waiting in a catch point (woken
//! at the same time as the cancellation arrived) ran on into one, and the
//! owner delivers again at once, to them. If the future completed during
//! the delivering poll, completion wins.
//!
//! A task only pays for this when a cancellation arrives: the poller takes
//! the delivery path only on `ToRunning::Deliver`. For the task's own
//! cancellation with no pending catch point in the header's count it drops
//! the future at once, without running any of it; for a scope's request
//! with none it polls plainly.
//!
//! # Re-raising
//!
//! The code around a catch point that wants to pass the cancellation on
//! after its cleanup awaits [`Cancelled::reraise`] (asyncio's bare
//! `raise`). Its first poll marks this thread with the origin and returns
//! `Pending`; every handler checks for the mark right after polling the
//! future it wraps ([`catch_reraised`]), so the nearest one around the
//! re-raising code takes it: a catch point, which returns `Err(Cancelled)`
//! with that origin, or the owner of the scope the cancellation came from
//! (a scope owner passes on any other origin with [`pass_reraised`]). A
//! `Reraise` polled a second time found no handler around it: the task is
//! aborted (it ends `Cancelled` at its next poll), at once if the task
//! holds no catch point at all.

use super::cause::{CancelCause, Why};
use super::current;
use super::debug;
use super::header::Header;
use super::id::TaskId;
use crate::sync::thread_local;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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

/// The bit that marks the scope ids of [`Origin::new_owner_scope`].
const OWNER_SCOPE: u64 = 1 << 63;

impl Origin {
    /// A fresh scope id, unique in the process.
    pub(crate) fn new_scope() -> Origin {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Origin::Scope(NEXT.fetch_add(1, Ordering::Relaxed) & !OWNER_SCOPE)
    }

    /// A fresh id for a scope that may be cancelled from outside its task
    /// ([`TaskRef::cancel_scope`](super::TaskRef::cancel_scope)): its low
    /// 32 bits, never 0, fit the task header's request slot. Unique among
    /// the scopes live at once (it wraps after 2³² of them).
    pub(crate) fn new_owner_scope() -> Origin {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let mut n = NEXT.fetch_add(1, Ordering::Relaxed);
        if n == 0 {
            n = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        Origin::Scope(OWNER_SCOPE | u64::from(n))
    }

    /// The header slot's form of an owner scope's id (0 for any other).
    pub(crate) fn owner_slot(self) -> u32 {
        match self {
            Origin::Scope(id) if id & OWNER_SCOPE != 0 => id as u32,
            _ => 0,
        }
    }

    /// The owner scope whose slot form is `slot` (not 0).
    pub(crate) fn from_owner_slot(slot: u32) -> Origin {
        Origin::Scope(OWNER_SCOPE | u64::from(slot))
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
    static RERAISED: RefCell<Option<Cancelled>> = const { RefCell::new(None) };
    /// The cause of the delivery in flight (beside `DELIVERY`, which is
    /// `Copy`; set and restored with it).
    static DELIVERY_WHY: RefCell<Option<Why>> = const { RefCell::new(None) };
    /// Catch points first polled on this thread minus those that ended on
    /// it (wrapping): its change across one poll of a future is how many
    /// catch points that future holds that became live or ended during the
    /// poll (see [`CatchCount`]).
    static LIVE: Cell<usize> = const { Cell::new(0) };
}

/// How many catch points a future holds, kept by whoever polls it (a catch
/// point for its own future, a scope owner such as `wait_for` for the one
/// it wraps): the sum of the changes of this thread's count of live catch
/// points across each of its polls. A catch point counts where it was first
/// polled; the future's catch points always are (a pinned future cannot
/// leave its owner) unless it is a reference to a future first polled
/// elsewhere.
///
/// A delivery to a future that holds none drops the future without polling
/// it: the cancellation lands at the suspension point where the future
/// waits, as it does for a task with no catch point, and no code of it runs
/// on past that point.
#[derive(Clone, Copy, Debug, Default)]
pub struct CatchCount(usize);

impl CatchCount {
    /// Polls through `poll` (one poll of the future), adding the catch
    /// points that became live in it, minus those that ended.
    #[inline]
    pub fn track<R>(&mut self, poll: impl FnOnce() -> R) -> R {
        let before = LIVE.with(Cell::get);
        let r = poll();
        let after = LIVE.with(Cell::get);
        self.0 = self.0.wrapping_add(after.wrapping_sub(before));
        r
    }

    /// True if the future holds a live catch point.
    #[inline]
    pub fn any(self) -> bool {
        // A count below zero (a catch point first polled elsewhere ended
        // in here) still means none is left.
        (self.0 as isize) > 0
    }
}

fn live_add(n: isize) {
    LIVE.with(|l| l.set(l.get().wrapping_add_signed(n)));
}

/// Runs `poll` (one poll of a future) and says whether a cancellation was
/// re-raised inside it and not caught there: its origin, taken off this
/// thread, or `None`. The caller is the next enclosing handler: a catch
/// point (which takes any origin) or a scope owner (which takes only its
/// own, and puts any other back with [`pass_reraised`]).
pub fn catch_reraised<R>(poll: impl FnOnce() -> R) -> (R, Option<Cancelled>) {
    let outer = RERAISED.with(RefCell::take);
    let r = poll();
    let raised = RERAISED.with(|c| c.replace(outer));
    (r, raised)
}

/// Passes a re-raised cancellation that [`catch_reraised`] took, and that
/// is not for the caller, on to the next enclosing handler.
pub fn pass_reraised(cancelled: Cancelled) {
    RERAISED.with(|c| *c.borrow_mut() = Some(cancelled));
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
struct Restore(Delivery, Option<Why>);

impl Drop for Restore {
    fn drop(&mut self) {
        DELIVERY.with(|d| d.set(self.0));
        let outer = self.1.take();
        DELIVERY_WHY.with(|w| *w.borrow_mut() = outer);
    }
}

/// The cause of the delivery in flight on this thread.
fn delivery_why() -> Why {
    DELIVERY_WHY
        .with(|w| w.borrow().clone())
        .unwrap_or_else(|| CancelCause::Requested.into())
}

/// Runs `poll` (one poll of a future) with a cancellation from `origin` in
/// flight. Returns its result and what became of the cancellation (only
/// meaningful if the future is still pending).
pub fn deliver<R>(origin: Origin, cause: CancelCause, poll: impl FnOnce() -> R) -> (R, Claim) {
    let delivering = Delivering::begin(origin, cause.into());
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
    pub(crate) fn begin(origin: Origin, why: Why) -> Delivering {
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed) + 1;
        let outer = DELIVERY.with(|d| {
            d.replace(Delivery {
                origin: Some(origin),
                claimed: false,
                serial,
                fresh: 0,
            })
        });
        let outer_why = DELIVERY_WHY.with(|w| w.replace(Some(why)));
        Delivering {
            _restore: Restore(outer, outer_why),
        }
    }

    /// Puts in flight the delivery [`take_request`] chose on this thread,
    /// if it chose one.
    #[cold]
    #[inline(never)]
    pub(crate) fn begin_taken() -> Option<Delivering> {
        TAKEN
            .with(RefCell::take)
            .map(|(origin, why)| Delivering::begin(origin, why))
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

/// What the poller does with a soft cancellation request it took
/// (`ToRunning::Deliver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// Nothing to deliver (retracted, or delivered with an earlier
    /// request): a plain poll.
    Nothing,
    /// The task's own cancellation, and it holds no catch point: drop the
    /// future without running any of it.
    Drop,
    /// Deliver from this origin to the task's catch points: the poller
    /// polls inside [`Delivering::begin_taken`].
    Deliver(Origin),
}

thread_local! {
    /// The origin [`take_request`] chose to deliver, for the poller's
    /// [`Delivering::begin_taken`] right after it.
    static TAKEN: RefCell<Option<(Origin, Why)>> = const { RefCell::new(None) };
}

/// Takes the [`request`](super::header::request) bits of the request the
/// poller just took from the state word and says what to do with it; a
/// delivery's origin waits on this thread for [`Delivering::begin_taken`].
#[cold]
#[inline(never)]
pub(crate) fn take_request(h: &Header) -> Request {
    use super::header::request::{SCOPE, SWALLOWED, TASK};
    let kinds = h.cancel_for.fetch_and(SWALLOWED, Ordering::Relaxed);
    let catch_points = h.catch_points.load(Ordering::Relaxed);
    let scope = h.scope_request.load(Ordering::Relaxed);
    if kinds & TASK != 0 && h.is_debug() {
        debug::settled(h);
    }
    let request = if kinds & TASK != 0 {
        if catch_points == 0 {
            // The cause stays in the header for the `JoinError`.
            return Request::Drop;
        }
        Request::Deliver(Origin::Task)
    } else if kinds & SCOPE != 0 && scope != 0 && catch_points != 0 {
        Request::Deliver(Origin::from_owner_slot(scope))
    } else {
        Request::Nothing
    };
    if let Request::Deliver(origin) = request {
        let default = match origin {
            Origin::Task => CancelCause::Requested,
            Origin::Scope(_) => CancelCause::Scope,
        };
        let why = h.cause.take().unwrap_or_else(|| default.into());
        TAKEN.with(|t| *t.borrow_mut() = Some((origin, why)));
    }
    request
}

/// Ends a delivery whose poll left the task pending: the cause to end the
/// task with if the future must be dropped (no catch point took the task's
/// own cancellation). A
/// scope's cancellation that none took ends nothing; one that reached only
/// catch points new to that poll is delivered again at the next poll.
#[cold]
#[inline(never)]
pub(crate) fn end_request(h: &Header, delivering: Delivering) -> Option<Why> {
    use super::header::request::{SCOPE, SWALLOWED, TASK};
    let origin = DELIVERY.with(Cell::get).origin.unwrap_or(Origin::Task);
    let why = delivery_why();
    match delivering.end() {
        Claim::Taken => {
            if origin == Origin::Task && h.is_debug() {
                h.cancel_for.fetch_or(SWALLOWED, Ordering::Relaxed);
            }
            None
        }
        Claim::Rearm => {
            // While RUNNING this only sets the request bit; the poller
            // queues the task again at once.
            let kind = if origin == Origin::Task { TASK } else { SCOPE };
            h.cause.set_if_empty(why);
            h.cancel_for.fetch_or(kind, Ordering::Relaxed);
            let _ = h.state.transition_to_cancelled(false);
            None
        }
        Claim::Missed => {
            if origin == Origin::Task && h.is_debug() {
                debug::missed(h, h.catch_points.load(Ordering::Relaxed));
            }
            (origin == Origin::Task).then_some(why)
        }
    }
}

/// Ends a delivery whose poll completed the task, in debug mode: notes
/// whether a catch point took the task's own cancellation (the task then
/// swallowed it, `task/debug.rs`).
#[cold]
#[inline(never)]
pub(crate) fn end_completed(h: &Header, delivering: Delivering) {
    let origin = DELIVERY.with(Cell::get).origin;
    if delivering.end() == Claim::Taken && origin == Some(Origin::Task) {
        h.cancel_for
            .fetch_or(super::header::request::SWALLOWED, Ordering::Relaxed);
    }
}

/// Aborts the task being polled on this thread (it ends `Cancelled` at its
/// next poll, whatever catch points it holds), for `cause`: how a
/// cancellation that reached an awaiter through a child (a cancelled
/// `shield` or `gather` child) propagates. False if no task is being polled
/// here.
pub fn abort_current(cause: CancelCause) -> bool {
    abort_current_why(cause.into())
}

fn abort_current_why(why: Why) -> bool {
    current::with_header(|h| {
        h.map(|h| {
            h.cause.set(why);
            let _ = h.state.transition_to_cancelled(true);
        })
    })
    .is_some()
}

/// A cancellation received by a catch point: asyncio's `CancelledError`.
#[derive(Clone, PartialEq, Eq)]
pub struct Cancelled {
    origin: Origin,
    why: Why,
}

impl Cancelled {
    pub(crate) fn new(origin: Origin, why: Why) -> Cancelled {
        Cancelled { origin, why }
    }

    /// Where the cancellation came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Why it happened.
    pub fn cause(&self) -> CancelCause {
        self.why.cause
    }

    /// The message given with it (`cancel_with`), if any: asyncio's
    /// `CancelledError.args[0]`.
    pub fn message(&self) -> Option<&str> {
        self.why.message.as_deref()
    }

    /// Passes the cancellation on to the next enclosing handler (asyncio's
    /// bare `raise` in an `except CancelledError:` block): the nearest catch
    /// point around this code receives it as its own `Err(Cancelled)`, with
    /// this origin and cause; with none left, a task's cancellation ends the
    /// task `Cancelled` at this await (its `JoinError` keeps the cause), and
    /// a `wait_for` timeout makes the `wait_for` drop its future and return
    /// `Elapsed`. The future never resolves, so it fits wherever a value of
    /// any type is expected.
    pub fn reraise<T>(self) -> Reraise<T> {
        Reraise {
            cancelled: self,
            raised: false,
            _p: PhantomData,
        }
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("origin", &self.origin)
            .field("cause", &self.why.cause)
            .field("message", &self.why.message)
            .finish()
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the operation was cancelled: {}", self.why)
    }
}

impl std::error::Error for Cancelled {}

/// Future of [`Cancelled::reraise`]: never resolves.
#[must_use = "re-raising happens when the future is awaited"]
pub struct Reraise<T> {
    cancelled: Cancelled,
    /// Polled once: the cancellation is on its way to the next handler.
    raised: bool,
    _p: PhantomData<fn() -> T>,
}

impl<T> Unpin for Reraise<T> {}

impl<T> Future for Reraise<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if !self.raised {
            self.raised = true;
            let none_left = self.cancelled.origin == Origin::Task
                && current::with_header(|h| {
                    h.is_some_and(|h| h.catch_points.load(Ordering::Relaxed) == 0)
                });
            if !none_left {
                // Marked for the next enclosing handler, which checks
                // right after the poll of the future holding this one and,
                // taking it, drops this future. A second poll means none
                // did (the catch points left were not around this code).
                let raised = self.cancelled.clone();
                RERAISED.with(|r| *r.borrow_mut() = Some(raised));
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        // No handler left: the task ends cancelled, for the same cause.
        // While RUNNING this only marks it; the poller queues it again and
        // the next poll drops the future.
        abort_current_why(self.cancelled.why.clone());
        Poll::Pending
    }
}

impl<T> Drop for Reraise<T> {
    fn drop(&mut self) {
        // Dropped before any handler saw it (a `select!` that another
        // branch won in the same poll): the re-raise did not happen.
        if self.raised {
            RERAISED.with(|r| {
                let mut r = r.borrow_mut();
                if r.as_ref()
                    .is_some_and(|c| c.origin == self.cancelled.origin)
                {
                    *r = None;
                }
            });
        }
    }
}

impl<T> fmt::Debug for Reraise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reraise")
            .field("cancelled", &self.cancelled)
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
        live: false,
        inside: CatchCount::default(),
    }
}

/// Future of [`cancellable`].
#[must_use = "futures do nothing unless awaited"]
pub struct Cancellable<F> {
    future: Option<F>,
    /// The task whose catch-point count this one is in. By id, not by
    /// address: a task freed and another allocated in its place is not the
    /// same task.
    registered: Option<TaskId>,
    /// The serial of the delivering poll that first polled it (0: none); it
    /// does not receive that delivery.
    born: u64,
    polled: bool,
    /// Counted in this thread's live catch points (`LIVE`) since its first
    /// poll, until it ends.
    live: bool,
    /// The catch points its future holds.
    inside: CatchCount,
}

impl<F> Cancellable<F> {
    /// Leaves the count of the task it registered with, if that task is the
    /// one being polled here (a catch point moved to another task leaves
    /// its first task's count one too high; see `Header::catch_points`).
    fn unregister(&mut self) {
        if let Some(task) = self.registered.take() {
            current::with_header(|h| {
                if let Some(h) = h
                    && h.id == task
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
                h.id
            })
        });
        self.registered = me;
    }

    /// Leaves every count it is in.
    fn leave(&mut self) {
        self.unregister();
        if self.live {
            self.live = false;
            live_add(-1);
        }
    }

    /// Returns: the future is dropped here, while its task is current, so
    /// its destructors see `task::current()`.
    fn end<T>(&mut self, out: T) -> Poll<T> {
        self.future = None;
        self.leave();
        self.leave_fresh();
        Poll::Ready(out)
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
            this.live = true;
            live_add(1);
            if delivery.origin.is_some() {
                this.born = delivery.serial;
                update(|d| d.fresh += 1);
            }
        }
        if this.registered.is_none() {
            // Outside any task (`block_on`) this stays `None`: only a
            // `wait_for` can deliver there, and it does not need the count.
            this.register();
        } else if current::with_header(|h| h.map(|h| h.id)) != this.registered {
            // Moved to another task: count it there instead.
            this.registered = None;
            this.register();
        }
        let fut = this.future.as_mut().expect("checked above");
        // SAFETY: see above: the future stays where it is until dropped.
        let fut = unsafe { Pin::new_unchecked(fut) };
        let inside = &mut this.inside;
        let origin = match delivery.origin {
            Some(origin) if delivery.serial != this.born => Some(origin),
            _ => None,
        };
        let Some(origin) = origin else {
            let (polled, raised) = catch_reraised(|| inside.track(|| fut.poll(cx)));
            if let Some(cancelled) = raised {
                // A cancellation re-raised inside: this is the next handler.
                return this.end(Err(cancelled));
            }
            let out = std::task::ready!(polled);
            return this.end(Ok(out));
        };
        if !inside.any() {
            // Innermost, as no catch point is inside: take it without
            // running any more of the future.
            update(|d| d.claimed = true);
            return this.end(Err(Cancelled::new(origin, delivery_why())));
        }
        // Catch points inside get it first.
        update(|d| d.claimed = false);
        let (polled, raised) = catch_reraised(|| inside.track(|| fut.poll(cx)));
        let mut nested = false;
        update(|d| {
            nested = d.claimed;
            d.claimed = delivery.claimed || nested || polled.is_pending();
        });
        if let Some(cancelled) = raised {
            // One inside took it and re-raised at once.
            return this.end(Err(cancelled));
        }
        match polled {
            // Completion wins over the cancellation.
            Poll::Ready(out) => this.end(Ok(out)),
            Poll::Pending if nested => Poll::Pending,
            // None inside was waiting where it could take it: innermost.
            Poll::Pending => this.end(Err(Cancelled::new(origin, delivery_why()))),
        }
    }
}

impl<F> Drop for Cancellable<F> {
    fn drop(&mut self) {
        self.leave();
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
