//! The task core: one allocation per task, an atomic state word, a
//! type-erased vtable.
//!
//! This is the low-level interface a scheduler builds on, in the manner of
//! async-task: [`new`] turns a future into a [`Notified`] (the right to poll
//! it once), a [`JoinHandle`] (the right to its output) and a [`TaskRef`]
//! (the registry's reference, used to list and cancel live tasks). The
//! scheduler is any [`Schedule`]: the task calls it back when it is woken.
//!
//! State bits and the protocols around them are documented in `state.rs`.

pub(crate) mod cancel_within;
pub(crate) mod catch;
mod cause;
mod current;
mod debug;
mod error;
mod header;
mod id;
mod join;
pub(crate) mod locals;
mod raw;
mod registry;
pub(crate) mod scope;
mod snapshot;
mod state;
mod trace;
mod waker;

pub use cancel_within::CancelWithin;
pub use catch::{Cancellable, Cancelled, Origin, Reraise, cancellable};
pub use cause::CancelCause;
pub(crate) use cause::Why;
pub use snapshot::{TaskDump, TaskSnapshot};
pub(crate) use trace::watch;

/// Starts the clock that converts running time (see `TaskSnapshot`).
pub(crate) fn init_clock() {
    snapshot::clock::init();
}
pub use current::{TaskInfo, current};
pub use error::JoinError;
pub use id::{TaskId, TaskState};
pub use join::JoinHandle;
pub use registry::{Registry, Tally};

use header::{Header, flag};
use state::ToCancelled;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

/// What a task needs of its scheduler.
///
/// No method may unwind: the task has already been marked queued when
/// `schedule` or `yield_now` runs, so losing the `Notified` half-way would
/// strand it, and `release` runs half-way through the task's completion.
/// A panic escaping any of them aborts the process.
///
/// `release` must return only the reference the registry holds to the
/// task it is given (the task core checks, and drops any other).
pub trait Schedule: Send + Sync + 'static {
    /// The task was woken (or cancelled) while idle: queue it.
    fn schedule(&self, task: Notified);

    /// The task was woken during its own poll (for example by `yield_now`):
    /// queue it behind the others. Defaults to [`schedule`](Self::schedule).
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    /// The task completed: take it out of the registry, returning the
    /// registry's reference if it held one.
    fn release(&self, task: &TaskRef) -> Option<TaskRef>;

    /// A poll of one of this scheduler's tasks has just ended, on this
    /// thread, and the coarse clock of the slow-poll watch ticked during it
    /// (`task/trace.rs`; only where the watch is on, and at most once per
    /// tick of that clock). A scheduler that looks at timers and I/O every
    /// so many polls can look sooner: a long poll has held them back.
    /// Defaults to nothing.
    #[inline(always)]
    fn clock_ticked_during_poll(&self) {}
}

/// Options for a new task.
#[derive(Clone)]
pub struct TaskOptions {
    name: Option<Cow<'static, str>>,
    location: &'static Location<'static>,
    /// The header's `flag` bits, handed to it as they are.
    flags: u8,
}

impl std::fmt::Debug for TaskOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskOptions")
            .field("name", &self.name)
            .field("location", &self.location)
            .field("shielded", &(self.flags & flag::SHIELDED != 0))
            .field("poll_timing", &(self.flags & flag::TIMED != 0))
            .field("watched", &(self.flags & flag::WATCHED != 0))
            .finish()
    }
}

impl TaskOptions {
    /// Options with no name, recording the caller as the spawn location.
    #[track_caller]
    pub fn new() -> TaskOptions {
        TaskOptions {
            name: None,
            location: Location::caller(),
            flags: 0,
        }
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> TaskOptions {
        self.name = Some(name.into());
        self
    }

    /// Marks the task shielded: shutdown does not cancel it (it still waits
    /// for it, up to the grace). `shield()` spawns its future this way.
    pub fn shielded(self, shielded: bool) -> TaskOptions {
        self.set(flag::SHIELDED, shielded)
    }

    /// Measures the task's time spent running (`TaskSnapshot::running_time`):
    /// two reads of the CPU's time-stamp counter per poll. For a task made
    /// with [`new`] directly: `Handle::spawn` and `Handle::spawn_blocking`
    /// replace it with the runtime's own setting (`Config::poll_timing`).
    pub fn poll_timing(self, on: bool) -> TaskOptions {
        self.set(flag::TIMED, on)
    }

    /// Replaces the flags the runtime decides (timed, watched) with
    /// `flags`, made by [`runtime_flag_bits`]; the task's own (shielded)
    /// stay.
    pub(crate) fn with_runtime_flags(mut self, flags: u8) -> TaskOptions {
        self.flags = (self.flags & flag::SHIELDED) | flags;
        self
    }

    fn set(mut self, bit: u8, on: bool) -> TaskOptions {
        if on {
            self.flags |= bit;
        } else {
            self.flags &= !bit;
        }
        self
    }

    /// Sets the spawn location shown in task listings.
    pub fn location(mut self, location: &'static Location<'static>) -> TaskOptions {
        self.location = location;
        self
    }
}

/// The header flags a runtime gives its tasks: timed if it times every
/// poll, watched if its workers run the slow-poll watch.
pub(crate) fn runtime_flag_bits(poll_timing: bool, watched: bool, debug: bool) -> u8 {
    (if poll_timing { flag::TIMED } else { 0 })
        | (if watched { flag::WATCHED } else { 0 })
        | (if debug { flag::DEBUG } else { 0 })
}

/// Sets how long a cancellation may stay undelivered before debug mode
/// warns (process-wide: the latest debug runtime's setting).
pub(crate) fn set_cancel_warn_after(d: std::time::Duration) {
    debug::set_warn_after(d);
}

impl Default for TaskOptions {
    #[track_caller]
    fn default() -> TaskOptions {
        TaskOptions::new()
    }
}

/// Creates a task from `future`, to be scheduled on `scheduler`.
///
/// Returns the first [`Notified`] (submit it to run the task), the
/// [`JoinHandle`] and the registry's [`TaskRef`] (keep it until
/// [`Schedule::release`] gives it back, or drop it if there is no registry).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tasklane_sched::task::{self, Notified, Schedule, TaskOptions, TaskRef};
///
/// #[derive(Clone, Default)]
/// struct Queue(Arc<Mutex<Vec<Notified>>>);
/// impl Schedule for Queue {
///     fn schedule(&self, task: Notified) { self.0.lock().unwrap().push(task) }
///     fn release(&self, _: &TaskRef) -> Option<TaskRef> { None }
/// }
///
/// let q = Queue::default();
/// let (notified, handle, registry_ref) = task::new(async { 6 * 7 }, q.clone(), TaskOptions::new());
/// drop(registry_ref);
/// notified.run();
/// assert!(handle.is_finished());
/// ```
pub fn new<F, S>(
    future: F,
    scheduler: S,
    options: TaskOptions,
) -> (Notified, JoinHandle<F::Output>, TaskRef)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let ptr = raw::allocate(
        future,
        scheduler,
        options.name,
        options.location,
        options.flags,
    );
    // SAFETY: `allocate` returns three references, handed out here once each.
    unsafe {
        (
            Notified::from_raw(ptr),
            JoinHandle::from_raw(ptr),
            TaskRef::from_raw(ptr),
        )
    }
}

/// The right to poll a task once: a queued task.
pub struct Notified {
    raw: NonNull<Header>,
}

// SAFETY: tasks are only created from `Send` futures with `Send` outputs and
// `Send + Sync` schedulers, so the task may be polled on any thread.
unsafe impl Send for Notified {}

impl Notified {
    /// # Safety
    /// The caller hands over one reference, taken for a Notified.
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> Notified {
        Notified { raw }
    }

    /// Gives up this reference as a type-erased pointer (for the stealable
    /// LIFO slot, which stores it in an atomic); [`Notified::from_ptr`]
    /// takes it back.
    pub(crate) fn into_ptr(self) -> NonNull<()> {
        ManuallyDrop::new(self).raw.cast()
    }

    /// # Safety
    /// `ptr` came from [`Notified::into_ptr`], and the reference it carries
    /// is taken back exactly once.
    pub(crate) unsafe fn from_ptr(ptr: NonNull<()>) -> Notified {
        Notified { raw: ptr.cast() }
    }

    /// Polls the task once (or delivers its pending cancellation).
    pub fn run(self) {
        let raw = ManuallyDrop::new(self).raw;
        // SAFETY: we hand our Notified reference to the poll.
        unsafe { (raw.as_ref().vtable.poll)(raw) };
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        // SAFETY: our reference keeps the task alive.
        unsafe { self.raw.as_ref() }.id
    }

    /// Aborts the task and delivers the abort now, on this thread: its
    /// future is dropped without a poll and it ends `Cancelled`. For a queue
    /// that will never run again (shutdown), so the task still ends exactly
    /// once instead of staying queued forever.
    pub fn cancel_and_run(self) {
        // SAFETY: our reference keeps the task alive.
        let h = unsafe { self.raw.as_ref() };
        h.cause.set(CancelCause::Shutdown.into());
        // NOTIFIED is set (we are the Notified), so this only marks the task.
        let marked = h.state.transition_to_cancelled(true);
        debug_assert_eq!(marked, ToCancelled::Marked);
        self.run();
    }
}

impl Drop for Notified {
    /// Dropping a queued task releases its reference without polling it.
    fn drop(&mut self) {
        // SAFETY: our reference keeps the task alive until released here.
        let h = unsafe { self.raw.as_ref() };
        if h.state.ref_dec(1) {
            // SAFETY: that was the last reference.
            unsafe { (h.vtable.dealloc)(self.raw) };
        }
    }
}

impl fmt::Debug for Notified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("id", &self.id()).finish()
    }
}

/// A counted reference to a task that gives no access to its output: what
/// the registry of live tasks holds.
pub struct TaskRef {
    raw: NonNull<Header>,
}

// SAFETY: as for `Notified`; a TaskRef only reads immutable header fields
// and performs atomic transitions.
unsafe impl Send for TaskRef {}
// SAFETY: see `Send`: every `&self` method is a read or an atomic transition.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// # Safety
    /// The caller hands over one reference (or wraps the result in
    /// `ManuallyDrop` to borrow one it holds).
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> TaskRef {
        TaskRef { raw }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive.
        unsafe { self.raw.as_ref() }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        self.header().name()
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.header().location
    }

    /// The task's lifecycle state now.
    pub fn state(&self) -> TaskState {
        self.header().task_state()
    }

    /// Requests cancellation, as `JoinHandle::cancel` does. Returns `false`
    /// if the task had already finished.
    pub fn cancel(&self) -> bool {
        self.cancel_because(CancelCause::Requested)
    }

    /// Requests cancellation for `cause` (a task group's failure, the
    /// runtime's shutdown), as [`cancel`](Self::cancel) does.
    pub fn cancel_because(&self, cause: CancelCause) -> bool {
        // SAFETY: our reference keeps the task alive.
        unsafe { cancel_raw(self.raw, false, cause.into()) }
    }

    /// Delivers a cancellation of the scope `origin` to the task's catch
    /// points at its next suspension point: a scope of the task's own code
    /// cancelled from outside it (a task group's owner, whose child
    /// failed). Unlike [`cancel`](Self::cancel), a task with no catch point
    /// to take it runs on. The latest such request replaces an earlier one
    /// not yet delivered. False if the task had already finished.
    pub fn cancel_scope(&self, origin: Origin, cause: CancelCause) -> bool {
        let slot = origin.owner_slot();
        assert!(slot != 0, "cancel_scope takes an owner scope ({origin:?})");
        let h = self.header();
        h.cause.set_if_empty(cause.into());
        h.scope_request.store(slot, Ordering::Relaxed);
        h.cancel_for
            .fetch_or(header::request::SCOPE, Ordering::Relaxed);
        // SAFETY: our reference keeps the task alive.
        unsafe { request_raw(self.raw, false) }
    }

    /// Withdraws a [`cancel_scope`](Self::cancel_scope) request of `origin`
    /// not yet delivered (the scope ended first).
    pub fn retract_scope(&self, origin: Origin) {
        let slot = origin.owner_slot();
        if slot != 0 {
            let _ = self.header().scope_request.compare_exchange(
                slot,
                0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// The task being polled on this thread, if any.
    pub fn current() -> Option<TaskRef> {
        current::ptr().map(|ptr| {
            // SAFETY: the pointer is set only while the task is polled (or
            // its future dropped), and the poller holds a reference.
            unsafe { ptr.as_ref() }.state.ref_inc();
            // SAFETY: the reference was just added for it, and `ptr` is the
            // one the task was entered with (the whole cell's provenance,
            // which `cell` and `dealloc` need), not one made from a
            // `&Header`.
            unsafe { TaskRef::from_raw(ptr) }
        })
    }

    /// Hard cancel, as `JoinHandle::abort` does.
    pub fn abort(&self) {
        self.abort_because(CancelCause::Aborted);
    }

    /// Hard cancel for `cause` (the runtime's shutdown).
    pub fn abort_because(&self, cause: CancelCause) {
        // SAFETY: our reference keeps the task alive.
        let _ = unsafe { cancel_raw(self.raw, true, cause.into()) };
    }

    /// True if the task was spawned shielded (shutdown does not cancel it).
    pub fn is_shielded(&self) -> bool {
        self.header().is_shielded()
    }

    /// The task as it is now: state, polls, running time.
    pub fn snapshot(&self) -> TaskSnapshot {
        TaskSnapshot::of(self.header())
    }
}

/// Requests cancellation of the task at `raw`; false if it had finished.
///
/// # Safety
/// The caller holds a reference to the task.
unsafe fn cancel_raw(raw: NonNull<Header>, hard: bool, why: Why) -> bool {
    // SAFETY: the caller's reference keeps the task alive.
    let h = unsafe { raw.as_ref() };
    h.cause.set(why);
    if !hard {
        h.cancel_for
            .fetch_or(header::request::TASK, Ordering::Relaxed);
        if h.is_debug() {
            debug::requested(h);
        }
    }
    // SAFETY: as above.
    unsafe { request_raw(raw, hard) }
}

/// Sets the state word's request bit (soft) or aborts (hard), queueing the
/// task if it was idle; false if it had finished. A soft request's
/// [`header::request`] bit is set first, by the caller.
///
/// # Safety
/// The caller holds a reference to the task.
unsafe fn request_raw(raw: NonNull<Header>, hard: bool) -> bool {
    // SAFETY: the caller's reference keeps the task alive.
    let h = unsafe { raw.as_ref() };
    match h.state.transition_to_cancelled(hard) {
        ToCancelled::AlreadyComplete => false,
        ToCancelled::Marked => true,
        ToCancelled::Submit => {
            // SAFETY: the transition added the Notified's reference.
            unsafe { (h.vtable.schedule)(raw) };
            true
        }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        self.header().state.ref_inc();
        TaskRef { raw: self.raw }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        let h = self.header();
        if h.state.ref_dec(1) {
            // SAFETY: that was the last reference.
            unsafe { (h.vtable.dealloc)(self.raw) };
        }
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

#[cfg(all(test, not(tasklane_loom)))]
mod tests;
