//! How `block_on` drives a future on the calling thread: poll it, and
//! between polls park the thread until the future's waker unparks it.
//!
//! The future is not a task, so it has no state word to carry a
//! cancellation; a scope of it can still be cancelled from elsewhere (a
//! task group created in it whose child failed cancels its owner's code):
//! [`BlockOnScope`] carries that request, and the next poll delivers it to
//! the future's catch points, as a task's poller does.

use parking_lot::Mutex;
use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use tasklane_sched::facade::{CatchCount, Claim, catch_reraised, deliver};
use tasklane_sched::task::{CancelCause, Origin};

thread_local! {
    /// The `block_on` running on this thread, if any.
    static CURRENT: RefCell<Option<Arc<BlockOnScope>>> = const { RefCell::new(None) };
}

/// Cancellation requests for scopes of the future a `block_on` drives.
pub(crate) struct BlockOnScope {
    /// The `Origin::Scope` id to deliver at the next poll; 0: none.
    request: AtomicU64,
    /// Its cause, written before `request`.
    cause: Mutex<CancelCause>,
    /// The root's waker, set at its first poll (a request can only come
    /// from a scope made during a poll).
    waker: OnceLock<Waker>,
}

impl BlockOnScope {
    /// The `block_on` whose future is being polled on this thread.
    pub(crate) fn current() -> Option<Arc<BlockOnScope>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Delivers a cancellation of the scope `origin` to the future's catch
    /// points at its next poll (none taking it, the future runs on).
    pub(crate) fn cancel_scope(&self, origin: Origin, cause: CancelCause) {
        if let Origin::Scope(id) = origin {
            *self.cause.lock() = cause;
            self.request.store(id, Ordering::Release);
            self.wake();
        }
    }

    /// Withdraws a request of `origin` not yet delivered.
    pub(crate) fn retract_scope(&self, origin: Origin) {
        if let Origin::Scope(id) = origin {
            let _ = self
                .request
                .compare_exchange(id, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w.wake_by_ref();
        }
    }
}

/// Makes a `BlockOnScope` current for the length of a `block_on`.
struct Current(Option<Arc<BlockOnScope>>);

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = self.0.take());
    }
}

/// The future a `block_on` drives, with the delivery of its scopes'
/// cancellations; current on this thread while it lives.
struct Root<F> {
    future: F,
    scope: Arc<BlockOnScope>,
    inside: CatchCount,
    _current: Current,
}

impl<F: Future> Root<Pin<&mut F>> {
    fn new(future: Pin<&mut F>) -> Root<Pin<&mut F>> {
        let scope = Arc::new(BlockOnScope {
            request: AtomicU64::new(0),
            cause: Mutex::new(CancelCause::Scope),
            waker: OnceLock::new(),
        });
        let current = Current(CURRENT.with(|c| c.borrow_mut().replace(scope.clone())));
        Root {
            future,
            scope,
            inside: CatchCount::default(),
            _current: current,
        }
    }

    /// One poll: delivers a pending scope cancellation to the future's catch
    /// points, as a task's poller does.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        let scope = &self.scope;
        if scope.waker.get().is_none() {
            let _ = scope.waker.set(cx.waker().clone());
        }
        let future = &mut self.future;
        let inside = &mut self.inside;
        let request = scope.request.swap(0, Ordering::Acquire);
        let (polled, raised) = if request != 0 && inside.any() {
            let origin = Origin::Scope(request);
            let cause = *scope.cause.lock();
            let ((polled, claim), raised) = catch_reraised(|| {
                inside.track(|| deliver(origin, cause, || future.as_mut().poll(cx)))
            });
            if polled.is_pending() && claim == Claim::Rearm {
                // Reached a catch point new to that poll: deliver there.
                let _ =
                    scope
                        .request
                        .compare_exchange(0, request, Ordering::AcqRel, Ordering::Relaxed);
                scope.wake();
            }
            (polled, raised)
        } else {
            catch_reraised(|| inside.track(|| future.as_mut().poll(cx)))
        };
        if polled.is_pending()
            && let Some(cancelled) = raised
        {
            // Nothing can end a future that is not a task: it would wait
            // forever in its `Reraise`.
            panic!(
                "a cancellation ({cancelled:?}) was re-raised with no catch point around it \
                 in a future driven by block_on; only a task can end cancelled"
            );
        }
        polled
    }
}

/// Polls `future` on this thread until it is ready, parking in between
/// (the multi-thread runtime: its workers run the tasks).
///
/// The thread counts as an activity of the scheduler
/// (`tasklane_sched::Handle::activity_begin`) while it polls and from a
/// wake of its future to the next poll, so that a paused clock stands still
/// meanwhile ([`Unparker`] has the protocol).
pub(super) fn block_on<F: Future>(sched: &tasklane_sched::Handle, future: F) -> F::Output {
    sched.activity_begin();
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        state: AtomicU8::new(POLLING),
        sched: sched.clone(),
    });
    // Ends the activity however this returns, unwinding out of a poll
    // included.
    let _done = Done(&unparker);
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    let future = pin!(future);
    let mut root = Root::new(future);
    loop {
        if let Poll::Ready(v) = root.poll(&mut cx) {
            return v;
        }
        // SeqCst: the uncounting below is one side of the idle pair
        // (`Handle::is_idle`); Acquire on failure: see what the waker that
        // set NOTIFIED published.
        if unparker
            .state
            .compare_exchange(POLLING, PARKED, Ordering::SeqCst, Ordering::Acquire)
            .is_ok()
        {
            sched.activity_end();
            // Acquire: pairs with the waker's Release store of NOTIFIED,
            // made after it counted this thread again.
            while unparker.state.load(Ordering::Acquire) != NOTIFIED {
                thread::park();
            }
        }
        // Counted (never uncounted, or counted again by the waker).
        unparker.state.store(POLLING, Ordering::Relaxed);
    }
}

/// Ends a multi-thread `block_on`'s activity when it returns or unwinds.
struct Done<'a>(&'a Unparker);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        // The thread is polling (POLLING, or NOTIFIED by a wake meanwhile):
        // it is counted.
        let prev = self.0.state.swap(DONE, Ordering::SeqCst);
        debug_assert!(prev == POLLING || prev == NOTIFIED);
        self.0.sched.activity_end();
    }
}

/// Drives `future` on a current-thread runtime: the scheduler polls it on
/// this thread and runs the tasks between its polls.
pub(super) fn block_on_current_thread<F: Future>(
    sched: &tasklane_sched::Scheduler,
    future: F,
) -> F::Output {
    let future = pin!(future);
    let mut root = Root::new(future);
    sched.block_on(|cx| root.poll(cx))
}

/// `Unparker::state`: the `block_on` thread polls (counted as an activity).
const POLLING: u8 = 0;
/// It sleeps in `thread::park`, not counted.
const PARKED: u8 = 1;
/// A waker is counting it again, to set `NOTIFIED`.
const WAKING: u8 = 2;
/// Woken: it will poll (counted).
const NOTIFIED: u8 = 3;
/// `block_on` returned; wakes do nothing.
const DONE: u8 = 4;

/// The waker of a future driven by [`block_on`].
///
/// # Protocol
///
/// The thread is counted as an activity of the scheduler in every state but
/// `PARKED` (and `DONE`):
///
/// 1. after a `Pending` poll the thread moves `POLLING` → `PARKED` and only
///    then ends its activity, and sleeps until it reads `NOTIFIED`; if a
///    wake came during the poll (`NOTIFIED` already), it polls again, still
///    counted;
/// 2. a wake of a `PARKED` thread moves it to `WAKING`, begins an activity
///    for it, then stores `NOTIFIED` and unparks it, so the thread is
///    counted again before it can run, and before the waker (a worker's
///    task, a blocking job) stops being counted itself;
/// 3. a wake during a poll moves `POLLING` → `NOTIFIED`; any other wake
///    (`WAKING`, `NOTIFIED`, `DONE`) does nothing.
pub(crate) struct Unparker {
    thread: Thread,
    state: AtomicU8,
    sched: tasklane_sched::Handle,
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = match s {
                PARKED => WAKING,
                POLLING => NOTIFIED,
                _ => return,
            };
            // Release: what the waker published before waking is seen by
            // the next poll (with the thread's Acquire loads).
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(PARKED) => {
                    self.sched.activity_begin();
                    self.state.store(NOTIFIED, Ordering::Release);
                    self.thread.unpark();
                    return;
                }
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
    }
}
