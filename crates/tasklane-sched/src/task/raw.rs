//! The task cell (the one allocation) and the per-type operations that fill
//! its vtable: creating, polling, completing, reading and freeing.

use super::catch::{self, Request};
use super::cause::CancelCause;
use super::debug;
use super::error::JoinError;
use super::header::{Header, Vtable, flag};
use super::id::TaskId;
use super::locals;
use super::snapshot::{DoneCallback, TaskSnapshot, clock};
use super::state::{Outcome, ToIdle, ToRunning};
use super::trace;
use super::{Notified, Schedule, TaskRef, current, waker};
use crate::panic::{abort_on_unwind, swallow};
use crate::sync::UnsafeCell;
use std::borrow::Cow;
use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

/// The single heap allocation of a task. `#[repr(C)]` with the header first,
/// so a `NonNull<Header>` is also a pointer to the cell.
#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: S,
    /// Touched only by the holder of `RUNNING` until `COMPLETE`; after
    /// `COMPLETE`, only by the side the join protocol gives the output to:
    /// the `JoinHandle`, or the completer if the handle was already gone
    /// (see `JOIN_INTEREST` in `state.rs`).
    stage: UnsafeCell<Stage<F>>,
    /// The join-waker slot; ownership follows the `JOIN_WAKER` bit.
    join_waker: UnsafeCell<Option<Waker>>,
    /// The task-local context the task inherited at its spawn
    /// (`locals.rs`), if any: written at spawn, read-only after. Kept out
    /// of the header, which is built in one piece and would outgrow the
    /// size the compiler writes without a `memcpy`.
    locals: Option<locals::Context>,
}

/// The future, then its output, then nothing.
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The task type's vtable. A task that inherited a task-local context
/// gets [`poll_in_context`] as its poll; a timed task (poll timing on, or
/// instrumented for `tracing`) [`poll_timed`]; the others the plain
/// [`poll`], whose only timing code is one flag test where the poll ends.
fn vtable<F: Future + Send + 'static, S: Schedule>(timed: bool, in_context: bool) -> &'static Vtable
where
    F::Output: Send + 'static,
{
    // Three tables per task type that differ in `poll` only.
    macro_rules! table {
        ($poll:expr) => {
            &Vtable {
                poll: $poll,
                schedule: schedule::<F, S>,
                dealloc: dealloc::<F, S>,
                try_read_output: try_read_output::<F, S>,
                drop_output: drop_output::<F, S>,
                take_join_waker: take_join_waker::<F, S>,
                poll_complete: poll_complete::<F, S>,
                output_ref: output_ref::<F, S>,
            }
        };
    }
    if in_context {
        table!(poll_in_context::<F, S>)
    } else if timed {
        table!(poll_timed::<F, S>)
    } else {
        table!(poll::<F, S>)
    }
}

/// Allocates a task. The returned pointer carries the three initial
/// references of `State::new` (join handle, notified, registry).
pub(super) fn allocate<F, S>(
    future: F,
    scheduler: S,
    name: Option<Cow<'static, str>>,
    location: &'static Location<'static>,
    flags: u8,
) -> NonNull<Header>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // Built in place: each field is written straight into the allocation,
    // where `Box::new(Cell { .. })` would assemble the cell on the stack and
    // copy it.
    let mut cell = Box::<Cell<F, S>>::new_uninit();
    let p = cell.as_mut_ptr();
    // SAFETY: `p` points to the new, uninitialised allocation of a
    // `Cell<F, S>`. Each field is written exactly once, through raw field
    // pointers (no reference to uninitialised memory is made). Should
    // `Header::new` panic, the box is freed as uninitialised memory and
    // the future and scheduler, not yet moved, are dropped as usual.
    let mut cell = unsafe {
        (&raw mut (*p).header).write(Header::new(
            vtable::<F, S>(flags & flag::TIMED != 0, false),
            TaskId::next(),
            name,
            location,
            flags,
        ));
        (&raw mut (*p).scheduler).write(scheduler);
        (&raw mut (*p).stage).write(UnsafeCell::new(Stage::Running(future)));
        (&raw mut (*p).join_waker).write(UnsafeCell::new(None));
        (&raw mut (*p).locals).write(None);
        // SAFETY: every field is initialised.
        cell.assume_init()
    };
    if let Some(trace) = super::trace::at_spawn(&cell.header) {
        // An instrumented task is timed: its polls enter its span.
        cell.header.set_trace(trace);
        cell.header.vtable = vtable::<F, S>(true, false);
    }
    // One load of a process-wide flag until task-locals are first used.
    if locals::in_use() {
        inherit_locals(&mut cell);
    }
    // The pointer keeps the provenance of the whole box: every later access
    // to the cell is derived from it, never from a `&Header`.
    NonNull::from(Box::leak(cell)).cast::<Header>()
}

/// Gives a task being spawned the task-local context in effect on this
/// thread, if there is one, and the vtable whose poll enters it.
#[cold]
#[inline(never)]
fn inherit_locals<F, S>(cell: &mut Cell<F, S>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    if let Some(cx) = locals::capture() {
        cell.locals = Some(cx);
        cell.header.vtable = vtable::<F, S>(cell.header.is_timed(), true);
    }
}

/// # Safety
/// `ptr` must come from `allocate::<F, S>` and the task must not be freed.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the caller guarantees `ptr` points at a live `Cell<F, S>`; the
    // header is its first field (`repr(C)`), and all fields that others may
    // mutate are atomics or `UnsafeCell`s, so a shared reference is sound.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// Polls the task once. Consumes the caller's `Notified` reference.
///
/// # Safety
/// `ptr` is a task of type `Cell<F, S>` and the caller hands over a
/// `Notified` reference (so `NOTIFIED` is set and nobody else polls).
#[inline(never)] // only ever called through the vtable, or by `poll_timed`
unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: our Notified reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let outcome = {
        // The task is "current" while its future runs or is dropped (so its
        // destructors, Rust's `finally`, see `task::current()`), but not
        // while the cell may be freed below.
        let _current = current::enter(ptr);
        let polled = match cell.header.state.transition_to_running() {
            ToRunning::Abort => Some(Err(cell.header.cancelled_error(CancelCause::Aborted))),
            // The task's own cancellation and no catch point: drop the
            // future without running any of it.
            ToRunning::Deliver if catch::take_request(&cell.header) == Request::Drop => {
                Some(Err(cell.header.cancelled_error(CancelCause::Requested)))
            }
            how => {
                // A plain poll and a delivery share this one call of the
                // future's poll: a second would make the poll function big
                // enough that the compiler no longer inlines the future's
                // poll and its destructors.
                let delivering = if how == ToRunning::Deliver {
                    catch::Delivering::begin_taken()
                } else {
                    None
                };
                // SAFETY: the transition gave us RUNNING.
                let polled = unsafe { poll_future(ptr, cell) };
                match delivering {
                    None => polled,
                    Some(delivering) => match polled {
                        Some(result) => {
                            if cell.header.is_debug() {
                                catch::end_completed(&cell.header, delivering);
                            }
                            Some(result)
                        }
                        // Pending: dropped here if no catch point took the
                        // task's own cancellation.
                        None => catch::end_request(&cell.header, delivering)
                            .map(|why| Err(JoinError::cancelled(cell.header.id, why))),
                    },
                }
            }
        };
        let Some(result) = polled else {
            // A timed poll ends here, before the task is seen idle (so a
            // snapshot taken once it is sees the poll's time).
            if cell.header.is_timed() {
                timing::stop(&cell.header);
            }
            match cell.header.state.transition_to_idle() {
                ToIdle::Idle => return,
                ToIdle::Notified => {
                    drop(_current);
                    // SAFETY: the transition took a reference for the new
                    // Notified; ours keeps the cell (and so `cell.scheduler`)
                    // alive through the call.
                    let again = unsafe { Notified::from_raw(ptr) };
                    abort_on_unwind(|| cell.scheduler.yield_now(again));
                    // SAFETY: `cell` is not used after this release.
                    if cell.header.state.ref_dec(1) {
                        // SAFETY: that was the last reference.
                        unsafe { dealloc::<F, S>(ptr) };
                    }
                    return;
                }
                ToIdle::Dealloc => {
                    drop(_current);
                    // SAFETY: that was the last reference.
                    unsafe { dealloc::<F, S>(ptr) };
                    return;
                }
            }
        };
        // SAFETY: we hold RUNNING (the future is still in the stage).
        unsafe { finish(cell, result) }
    };
    // SAFETY: we still hold RUNNING and the poller's reference.
    unsafe { complete::<F, S>(ptr, outcome) };
}

/// Polls the future once: `None` if it is pending, else its result (the
/// output, or the panic that polling raised).
///
/// # Safety
/// The caller holds RUNNING, and the poller's reference to `ptr`.
#[inline(always)]
unsafe fn poll_future<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    cell: &Cell<F, S>,
) -> Option<Result<F::Output, JoinError>> {
    // SAFETY: the poller's reference keeps the task alive for the lifetime
    // of this borrowed (uncounted) waker, which is never dropped.
    let waker = ManuallyDrop::new(unsafe { waker::borrowed(ptr) });
    let mut cx = Context::from_waker(&waker);
    let header = &cell.header;
    // Only the poller writes these: a load and a store, no read-modify-write.
    let polls = header.polls.load(Ordering::Relaxed);
    header.polls.store(polls + 1, Ordering::Relaxed);
    let polled = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING, which gives exclusive access to the stage.
            match unsafe { &mut *stage } {
                // SAFETY: the future lives in the heap cell and is only ever
                // dropped in place, never moved: it is pinned.
                Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
                _ => unreachable!("a task was polled after its future was gone"),
            }
        })
    }));
    if trace::watch::after_poll(header) {
        abort_on_unwind(|| cell.scheduler.clock_ticked_during_poll());
    }
    match polled {
        Ok(Poll::Pending) => None,
        Ok(Poll::Ready(output)) => Some(Ok(output)),
        Err(payload) => Some(Err(JoinError::panic(cell.header.id, payload))),
    }
}

/// The poll of a timed task: the clock is started, and the task's span
/// entered, before [`poll`]; `poll` stops both where the poll ends, before
/// the task is seen idle or ended (one flag test there, `timing::stop`).
/// Untimed tasks get the plain `poll` in their vtable and pay nothing for
/// the start.
///
/// # Safety
/// As [`poll`].
unsafe fn poll_timed<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's Notified reference keeps the task alive, and
    // nobody polls it meanwhile, so its trace is there to read.
    timing::start(unsafe { ptr.as_ref() });
    // SAFETY: the caller's guarantees, passed on.
    unsafe { poll::<F, S>(ptr) };
}

/// The poll of a task that inherited a task-local context: the context is
/// in effect for the whole poll, which covers the future's poll and, in the
/// poll that ends the task, its drop (`locals.rs`, step 4). Then as
/// [`poll_timed`] or [`poll`]. Tasks without a context get those in their
/// vtable directly and pay nothing for it.
///
/// # Safety
/// As [`poll`].
unsafe fn poll_in_context<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's Notified reference keeps the task alive until
    // the poll below, which may free it; the cell is not used after.
    let cell = unsafe { cell::<F, S>(ptr) };
    let timed = cell.header.is_timed();
    // A clone on this stack: the poll may free the task (and its reference)
    // while the context is still in effect.
    let cx = cell.locals.clone();
    // SAFETY: the guard is a local of this function, dropped at its end
    // after every guard entered inside the poll.
    let _entered = cx.as_ref().map(|cx| unsafe { cx.enter() });
    if timed {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { poll_timed::<F, S>(ptr) };
    } else {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { poll::<F, S>(ptr) };
    }
}

/// The clock of timed polls: started by `poll_timed`, stopped by `poll`.
mod timing {
    use super::{Header, clock};
    use crate::panic::swallow;
    use crate::sync::thread_local;
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::atomic::Ordering;

    thread_local! {
        /// The timed poll running on this thread: when it started, and
        /// whether it entered the task's span.
        static POLL: Cell<Option<(u64, bool)>> = const { Cell::new(None) };
    }

    /// Enters the task's span, if it has one, and starts the clock. The
    /// caller holds a Notified reference.
    #[cold]
    #[inline(never)]
    pub(super) fn start(header: &Header) {
        // Entering runs the subscriber's code, which must not unwind into
        // the worker: a panic there costs the poll its span, nothing more.
        let entered = header
            .trace()
            .is_some_and(|t| panic::catch_unwind(AssertUnwindSafe(|| t.enter())).unwrap_or(false));
        POLL.with(|p| p.set(Some((clock::now(), entered))));
    }

    /// Adds the poll's time to the running time and leaves the span. The
    /// caller holds RUNNING (the only writer of `running`) and the task
    /// still has its trace.
    #[cold]
    #[inline(never)]
    pub(super) fn stop(header: &Header) {
        let Some((started, entered)) = POLL.with(|p| p.take()) else {
            return;
        };
        let spent = clock::now().wrapping_sub(started);
        let running = header.running.load(Ordering::Relaxed);
        header
            .running
            .store(running.wrapping_add(spent), Ordering::Relaxed);
        if entered && let Some(t) = header.trace() {
            // Leaving the span runs the subscriber's code too.
            swallow(panic::catch_unwind(AssertUnwindSafe(|| t.exit())));
        }
    }
}

/// Drops the future in place, stores `result` for the join handle and
/// returns the task's outcome. A panic from the future's destructor
/// replaces a value or a cancellation; after a panic in `poll` the first
/// payload is the one reported and the second is swallowed.
///
/// # Safety
/// The caller holds RUNNING and the stage still holds the future.
unsafe fn finish<F: Future, S>(cell: &Cell<F, S>, result: Result<F::Output, JoinError>) -> Outcome {
    // SAFETY: RUNNING gives exclusive access to the stage.
    let dropped = unsafe { clear_stage(cell) };
    let result = match (dropped, result) {
        (Ok(()), result) => result,
        (Err(second), result @ Err(_)) if result.as_ref().is_err_and(JoinError::is_panic) => {
            swallow(Err(second));
            result
        }
        (Err(payload), result) => {
            // The value (if any) is dropped here; its own panic is swallowed.
            swallow(panic::catch_unwind(AssertUnwindSafe(move || drop(result))));
            Err(JoinError::panic(cell.header.id, payload))
        }
    };
    let outcome = match &result {
        Ok(_) => Outcome::Completed,
        Err(e) if e.is_panic() => Outcome::Panicked,
        Err(_) => Outcome::Cancelled,
    };
    // A timed task's last poll ends here, before its end is reported.
    if cell.header.is_timed() {
        timing::stop(&cell.header);
    }
    if let Some(t) = cell.header.take_trace() {
        let panic = match &result {
            Err(e) => e.panic_message(),
            Ok(_) => None,
        };
        let running = TaskSnapshot::running_of(&cell.header);
        // Subscriber code, on a worker: its panic is swallowed.
        swallow(panic::catch_unwind(AssertUnwindSafe(|| {
            trace::ended(&cell.header, t, outcome, panic.as_deref(), running);
        })));
    }
    // SAFETY: we hold RUNNING and the stage is `Consumed`, so this write
    // drops nothing and races nothing.
    cell.stage
        .with_mut(|stage| unsafe { stage.write(Stage::Finished(result)) });
    outcome
}

/// Empties the stage (drops the future or the output in place), catching a
/// panic from the destructor.
///
/// # Safety
/// The caller has exclusive access to the stage: it holds RUNNING, or the
/// task is COMPLETE and the caller is the one side the join protocol gives
/// the output to (the completer without join interest, or the handle).
unsafe fn clear_stage<F: Future, S>(cell: &Cell<F, S>) -> std::thread::Result<()> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: exclusive access, guaranteed by the caller.
        cell.stage
            .with_mut(|stage| unsafe { *stage = Stage::Consumed });
    }))
}

/// Publishes the outcome, leaves the registry, wakes the joiner (or drops
/// the output nobody will read), runs the done callbacks and releases the
/// poller's reference.
///
/// # Safety
/// The caller holds RUNNING and the poller's reference of a `Cell<F, S>`,
/// and has stored the output.
unsafe fn complete<F: Future, S: Schedule>(ptr: NonNull<Header>, outcome: Outcome) {
    // SAFETY: the poller's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let snapshot = cell.header.state.transition_to_complete(outcome);
    // Leave the registry before waking the joiner, so that a joiner resumed
    // by this wake no longer finds the task listed by `Handle::tasks()` (nor
    // counted by a shutdown it then starts). A join polled for another
    // reason may already return once `COMPLETE` is set above, while the
    // task is still listed. The registry's reference is released together
    // with the poller's in one subtraction.
    // SAFETY: a borrowed view; ManuallyDrop keeps the count unchanged.
    let this = ManuallyDrop::new(unsafe { TaskRef::from_raw(ptr) });
    // The registry's reference is released with the poller's below, so it
    // must be this task's: a `Schedule` that returned another task's would
    // otherwise free this one early. Any other is dropped as it is.
    let released = abort_on_unwind(|| cell.scheduler.release(&this)).map_or(0, |r| {
        if r.raw == ptr {
            mem::forget(r);
            1
        } else {
            drop(r);
            0
        }
    });
    if !snapshot.is_join_interested() {
        // Nobody will read the output; dropping it may panic, which must
        // not reach the worker.
        // SAFETY: COMPLETE without join interest: the stage is ours alone.
        swallow(unsafe { clear_stage(cell) });
    } else if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER is set, so the slot is ours to read and the
        // handle does not write it until we clear the bit.
        cell.join_waker.with(|w| {
            // SAFETY: see above; shared access only.
            if let Some(w) = unsafe { &*w } {
                swallow(panic::catch_unwind(AssertUnwindSafe(|| w.wake_by_ref())));
            }
        });
        let after = cell.header.state.unset_join_waker_after_complete();
        if !after.is_join_interested() {
            // The handle went away meanwhile and left the waker to us; its
            // destructor is user code and must not unwind into the worker.
            swallow(panic::catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: with the bit cleared and no handle, nobody else
                // touches the slot.
                cell.join_waker.with_mut(|w| unsafe { *w = None });
            })));
        }
    }
    if cell.header.is_debug() {
        let swallowed =
            cell.header.cancel_for.load(Ordering::Relaxed) & super::header::request::SWALLOWED != 0;
        debug::ended(
            &cell.header,
            outcome,
            swallowed,
            !snapshot.is_join_interested(),
        );
    }
    if snapshot.has_done_callbacks() {
        run_done_callbacks(&cell.header);
    }
    if cell.header.state.ref_dec(1 + released) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

/// Runs the task's `on_done` callbacks, outside the callbacks' lock.
pub(crate) fn run_done_callbacks(header: &Header) {
    let Some(callbacks) = header.done_list() else {
        return;
    };
    let callbacks = mem::take(&mut *callbacks.lock());
    if callbacks.is_empty() {
        return;
    }
    let snapshot = TaskSnapshot::of(header);
    for f in callbacks {
        run_done_callback(&snapshot, f);
    }
}

/// Runs one done callback with its panic caught: it may run on a worker.
pub(crate) fn run_done_callback(snapshot: &TaskSnapshot, f: DoneCallback) {
    swallow(panic::catch_unwind(AssertUnwindSafe(|| f(snapshot))));
}

/// # Safety
/// The caller hands over a `Notified` reference of a `Cell<F, S>` **and**
/// holds another reference until this returns: once queued, the task may be
/// run, completed and freed by another thread while `S::schedule` (whose
/// `&self` lives in the cell) is still running.
unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's own reference keeps the task alive for this call.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: ownership of the Notified reference passes to the queue.
    let task = unsafe { Notified::from_raw(ptr) };
    abort_on_unwind(|| cell.scheduler.schedule(task));
}

/// # Safety
/// The last reference to a `Cell<F, S>` was released.
unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: `ptr` came from `Box::leak` in `allocate` with this exact type,
    // and no reference remains, so nothing else can touch the cell.
    let cell = ptr.cast::<Cell<F, S>>().as_ptr();
    // SAFETY: as above; the header is the cell's own, reached exclusively.
    // (Freeing its boxes before the `Box` is made lets the compiler inline
    // the cell's drop below.)
    unsafe { (*cell).header.free_boxes() };
    // SAFETY: as above.
    let cell = unsafe { Box::from_raw(cell) };
    // A leftover output or waker may panic in its drop; never in a worker.
    swallow(panic::catch_unwind(AssertUnwindSafe(move || drop(cell))));
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`, the caller is its `JoinHandle<F::Output>`,
/// and `dst` points to a `Poll<Result<F::Output, JoinError>>`.
unsafe fn try_read_output<F: Future, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: the join handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, &cell.join_waker, waker) {
        return;
    }
    // SAFETY: COMPLETE and we are the join handle: the stage is ours.
    let stage = cell
        .stage
        .with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Consumed) });
    let Stage::Finished(result) = stage else {
        panic!("JoinHandle polled after it returned the task's result");
    };
    // SAFETY: the caller guarantees the type behind `dst`.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(result) };
}

/// True when the output may be read. Otherwise registers `waker` so the
/// completer wakes it, following the join-waker protocol of `state.rs`.
fn can_read_output(header: &Header, slot: &UnsafeCell<Option<Waker>>, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    if snapshot.is_join_waker_set() {
        // SAFETY: with the bit set, the slot holds a waker and is only ever
        // read (by us and by the completer), never written.
        let same = slot.with(|w| unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker)));
        if same {
            return false;
        }
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    // The bit is clear: the slot is ours to write.
    // SAFETY: JOIN_WAKER clear and not COMPLETE: only the handle touches the slot.
    slot.with_mut(|w| unsafe { *w = Some(waker.clone()) });
    match header.state.set_join_waker() {
        Ok(_) => false,
        Err(_) => {
            // Completed before we handed the slot over: it is still ours.
            // SAFETY: as above; the completer saw no JOIN_WAKER and left it.
            slot.with_mut(|w| unsafe { *w = None });
            true
        }
    }
}

/// # Safety
/// The caller is the departing join handle of a complete `Cell<F, S>`.
unsafe fn drop_output<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: COMPLETE and the handle held interest: the stage is ours.
    swallow(unsafe { clear_stage(cell) });
}

/// # Safety
/// The caller is the departing join handle and the slot is its own
/// (`JoinDropped::drop_waker`).
unsafe fn take_join_waker<F: Future, S>(ptr: NonNull<Header>) -> Option<Waker> {
    // SAFETY: the handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the caller owns the slot (see `state.rs`, the join-waker slot).
    cell.join_waker.with_mut(|w| unsafe { (*w).take() })
}

/// # Safety
/// `ptr` is a live `Cell<F, S>` and the caller is its `JoinHandle`.
unsafe fn poll_complete<F: Future, S>(ptr: NonNull<Header>, waker: &Waker) -> bool {
    // SAFETY: the join handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    can_read_output(&cell.header, &cell.join_waker, waker)
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`, the caller is its `JoinHandle` and holds
/// it borrowed for as long as it uses the pointer.
unsafe fn output_ref<F: Future, S>(ptr: NonNull<Header>) -> *const () {
    // SAFETY: the join handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !cell.header.state.load().is_complete() {
        return std::ptr::null();
    }
    // SAFETY: COMPLETE and we are the join handle: the stage is ours, and
    // only the handle's `&mut` methods change it.
    cell.stage.with(|stage| match unsafe { &*stage } {
        Stage::Finished(result) => (result as *const Result<F::Output, JoinError>).cast(),
        _ => std::ptr::null(),
    })
}
