//! The task header: the type-erased first part of every task allocation.
//!
//! # Fields and who may touch them
//!
//! * `state`: anyone holding a reference, through the transitions of
//!   `state.rs` only.
//! * `vtable`, `id`, `location`: written at spawn, read-only after.
//! * `name`: a `OnceLock`; set at spawn for named tasks, filled in lazily with
//!   `Task-{id}` on first read otherwise.
//! * `registry_slot`: written and read only under the lock of the registry
//!   shard the task lives in.
//! * `catch_points`, `polls`, `running`: written only by the holder of `RUNNING` (the
//!   poller; the catch points it polls or drops). Atomics so that other
//!   threads may read them racily (`Handle::tasks()`); Relaxed, as the state
//!   word's transitions order them between successive pollers.
//! * `cancel_for`, `scope_request`, `cause`: see [`request`] and
//!   `cause.rs`; ordered by the state
//!   word's transitions (written before the request bit is set, read after
//!   the poller took it), so Relaxed.
//! * `flags` ([`flag`]: shielded, timed, watched): written at spawn (before
//!   the task is shared), read-only after.
//! * `on_done`: behind its own lock; see `ON_DONE` in `state.rs`.
//! * `trace`: written at spawn (before the task is shared), taken by the
//!   holder of `RUNNING` when the task ends, else freed with the task.

use super::cause::{CancelCause, CauseSlot};
use super::error::JoinError;
use super::id::{TaskId, TaskState};
use super::snapshot::DoneCallback;
use super::state::{Outcome, State};
use super::trace::TaskTrace;
use crate::sync::Mutex;
use crate::sync::atomic::{AtomicU32, Ordering};
use std::borrow::Cow;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32 as PlainAtomicU32, AtomicU64};
use std::task::Waker;

/// The per-type operations of a task, reached from a type-erased header.
pub(crate) struct Vtable {
    /// Polls the task. Consumes the caller's `Notified` reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hands a `Notified` reference to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation. Called once, by whoever released the last reference.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: moves the output into `dst` (a
    /// `*mut Poll<Result<T, JoinError>>`) if the task is complete, or stores
    /// the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// Drops the output (the handle saw `COMPLETE` when it went away).
    pub(crate) drop_output: unsafe fn(NonNull<Header>),
    /// Empties the join-waker slot (the handle owns it when it goes away)
    /// and gives the waker to the caller to drop last.
    pub(crate) take_join_waker: unsafe fn(NonNull<Header>) -> Option<Waker>,
    /// `JoinHandle::poll_finished`: true once complete, else stores the
    /// waker (the join-waker protocol of `try_read_output`, without reading).
    pub(crate) poll_complete: unsafe fn(NonNull<Header>, &Waker) -> bool,
    /// `JoinHandle::result`: a pointer to the stored
    /// `Result<T, JoinError>`, or null if it is not (or no longer) there.
    pub(crate) output_ref: unsafe fn(NonNull<Header>) -> *const (),
}

/// The bits of [`Header::flags`]: one byte written at spawn, so that a new
/// task's header gets one store for all three, not three.
pub(crate) mod flag {
    /// Shutdown does not cancel the task (`TaskOptions::shielded`).
    pub(crate) const SHIELDED: u8 = 1 << 0;
    /// Every poll is timed, and entered in the task's span if it has one
    /// (`TaskOptions::poll_timing`, or instrumented for `tracing`).
    pub(crate) const TIMED: u8 = 1 << 1;
    /// The task runs on workers whose slow-poll watch charges its coarse
    /// running time.
    pub(crate) const WATCHED: u8 = 1 << 2;
    /// The task runs on a runtime in debug mode (`task/debug.rs`).
    pub(crate) const DEBUG: u8 = 1 << 3;

    // Four distinct bits.
    const _: () = assert!(
        SHIELDED & TIMED == 0
            && (SHIELDED | TIMED) & WATCHED == 0
            && (SHIELDED | TIMED | WATCHED) & DEBUG == 0
    );
}

/// What a soft cancellation request is for: the bits of
/// [`Header::cancel_for`].
///
/// The state word has one request bit (`CANCEL_REQUESTED`) for every soft
/// request; these say whose it is. A requester sets its bit here, then the
/// state word's; the poller that takes the state word's bit takes these
/// too (`catch::take_request`). A request that lands between the two finds
/// its bit here taken with the earlier one (one delivery for both, as the
/// state word coalesces them) and leaves a request bit that finds nothing
/// here: a plain poll.
pub(crate) mod request {
    /// The task's own cancellation (`cancel()`, a dropped handle, shutdown).
    pub(crate) const TASK: u8 = 1 << 0;
    /// A cancellation of a scope the task runs, from outside it (a task
    /// group whose child failed, cancelling its owner's body): delivered
    /// with the origin in `Header::scope_request` to the task's catch
    /// points, and never ending the task if none takes it.
    pub(crate) const SCOPE: u8 = 1 << 1;
    /// Not a request: in debug mode, the task took a delivery of its own
    /// cancellation and has not ended cancelled since (`task/debug.rs`).
    /// Kept when the request bits are taken.
    pub(crate) const SWALLOWED: u8 = 1 << 7;
}

/// Done callbacks, behind their own lock.
pub(crate) type DoneList = Mutex<Vec<DoneCallback>>;

/// Holds the `Box<DoneList>` made by the first `on_done`, if any. It has no
/// `Drop` of its own (which made the header's drop glue an out-of-line call
/// on every task): `raw::dealloc` frees it through `free_boxes`.
struct DoneSlot(AtomicPtr<DoneList>);

/// The first field of every task cell (`#[repr(C)]`, so a pointer to the
/// cell is a pointer to its header).
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    pub(crate) id: TaskId,
    pub(crate) location: &'static Location<'static>,
    name: OnceLock<Cow<'static, str>>,
    registry_slot: AtomicU32,
    /// Catch points of this task that are pending right now (a hint: a
    /// catch point moved to another task before it finished leaves it one
    /// too high, which costs a delivery poll, never a lost cancellation).
    pub(crate) catch_points: PlainAtomicU32,
    /// [`request`] bits of the pending soft cancellation request.
    pub(crate) cancel_for: AtomicU8,
    /// The scope of a [`request::SCOPE`] request (an owner scope's id in
    /// its slot form, `Origin::owner_slot`), 0 once its owner retracted it.
    pub(crate) scope_request: PlainAtomicU32,
    /// The cause (and message) of the pending cancellation, or of the
    /// abort that ends the task.
    pub(crate) cause: CauseSlot,
    /// Polls so far.
    pub(crate) polls: AtomicU64,
    /// Time spent in polls: in `snapshot::clock` ticks for a timed task,
    /// in nanoseconds of the slow-poll watch's coarse clock for an untimed
    /// one (`TaskSnapshot::running_of` converts either).
    pub(crate) running: AtomicU64,
    /// Callbacks to run once the task is done (`JoinHandle::on_done`): a
    /// `Box<DoneList>` made by the first `on_done` and freed with the
    /// header, so a task without callbacks pays one word and a null check.
    /// (Next to the other fields that start at zero: one wide store.)
    on_done: DoneSlot,
    /// The task's `tracing` span and spawn time, if a subscriber listened
    /// at spawn (`trace.rs`): a `Box<TaskTrace>` or null. No `Drop` of its
    /// own, as `on_done`.
    trace: AtomicPtr<TaskTrace>,
    /// [`flag`] bits. A shielded task is not cancelled by shutdown (which
    /// still waits for it); a timed one has its polls timed into `running`
    /// (`TaskOptions::poll_timing`); a watched one runs on workers with a
    /// slow-poll watch, which measures `running` coarsely when it is not
    /// timed (`trace.rs`).
    flags: u8,
}

impl Header {
    pub(crate) fn new(
        vtable: &'static Vtable,
        id: TaskId,
        name: Option<Cow<'static, str>>,
        location: &'static Location<'static>,
        flags: u8,
    ) -> Header {
        Header {
            state: State::new(),
            vtable,
            id,
            location,
            name: match name {
                Some(n) => OnceLock::from(n),
                None => OnceLock::new(),
            },
            registry_slot: AtomicU32::new(u32::MAX),
            catch_points: PlainAtomicU32::new(0),
            cancel_for: AtomicU8::new(0),
            scope_request: PlainAtomicU32::new(0),
            cause: CauseSlot::new(),
            polls: AtomicU64::new(0),
            running: AtomicU64::new(0),
            flags,
            on_done: DoneSlot(AtomicPtr::new(std::ptr::null_mut())),
            trace: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The error of a task that ends cancelled now: the cause of its
    /// pending cancellation (or abort), else `default`.
    #[cold]
    pub(crate) fn cancelled_error(&self, default: CancelCause) -> JoinError {
        let why = self.cause.take().unwrap_or_else(|| default.into());
        JoinError::cancelled(self.id, why)
    }

    /// Installs the trace made at spawn. Only before the task is shared.
    pub(crate) fn set_trace(&mut self, trace: Box<TaskTrace>) {
        *self.trace.get_mut() = Box::into_raw(trace);
        self.flags |= flag::TIMED;
    }

    /// Shutdown does not cancel the task ([`flag::SHIELDED`]).
    #[inline]
    pub(crate) fn is_shielded(&self) -> bool {
        self.flags & flag::SHIELDED != 0
    }

    /// Every poll is timed ([`flag::TIMED`]).
    #[inline]
    pub(crate) fn is_timed(&self) -> bool {
        self.flags & flag::TIMED != 0
    }

    /// The task runs on a runtime in debug mode ([`flag::DEBUG`]).
    #[inline]
    pub(crate) fn is_debug(&self) -> bool {
        self.flags & flag::DEBUG != 0
    }

    /// The slow-poll watch charges the task's running time ([`flag::WATCHED`]).
    #[inline]
    pub(crate) fn is_watched(&self) -> bool {
        self.flags & flag::WATCHED != 0
    }

    /// The task's trace, for the holder of `RUNNING` during a poll, or of
    /// the `Notified` about to poll (which alone can become that holder).
    #[inline]
    pub(crate) fn trace(&self) -> Option<&TaskTrace> {
        // SAFETY: non-null pointers come from `set_trace`, and the trace is
        // freed only by `take_trace` (the holder of RUNNING, which is the
        // caller or, before the poll, the caller's `Notified` once it has
        // run) or with the header.
        unsafe { self.trace.load(Ordering::Relaxed).as_ref() }
    }

    /// Takes the trace when the task ends. Only the holder of `RUNNING`.
    #[inline]
    pub(crate) fn take_trace(&self) -> Option<Box<TaskTrace>> {
        let p = self.trace.load(Ordering::Relaxed);
        if p.is_null() {
            return None;
        }
        self.trace.store(std::ptr::null_mut(), Ordering::Relaxed);
        // SAFETY: made by `Box::into_raw` in `set_trace`; the null stored
        // above means nobody else frees it.
        Some(unsafe { Box::from_raw(p) })
    }

    /// The task's name: the one it was given, else `Task-{id}` as in asyncio.
    pub(crate) fn name(&self) -> &str {
        self.name
            .get_or_init(|| Cow::Owned(format!("Task-{}", self.id)))
    }

    /// The public state, read from one snapshot of the word.
    pub(crate) fn task_state(&self) -> TaskState {
        let s = self.state.load();
        match s.outcome() {
            Some(Outcome::Completed) => TaskState::Completed,
            Some(Outcome::Panicked) => TaskState::Panicked,
            Some(Outcome::Cancelled) => TaskState::Cancelled,
            None if s.is_running() => TaskState::Running,
            None if s.is_notified() => TaskState::Scheduled,
            None => TaskState::Suspended,
        }
    }

    /// The done-callback list, if `on_done` was ever called.
    pub(crate) fn done_list(&self) -> Option<&DoneList> {
        // SAFETY: a non-null pointer came from `Box::into_raw` below and is
        // freed only when the task is freed (`free_boxes`).
        unsafe { self.on_done.0.load(Ordering::Acquire).as_ref() }
    }

    /// The done-callback list, made on first use.
    pub(crate) fn done_list_or_init(&self) -> &DoneList {
        if let Some(list) = self.done_list() {
            return list;
        }
        let new = Box::into_raw(Box::new(DoneList::new(Vec::new())));
        match self.on_done.0.compare_exchange(
            std::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: installed; freed only when the task is freed.
            Ok(_) => unsafe { &*new },
            Err(current) => {
                // SAFETY: ours was never shared; `current` is the installed
                // list, alive until the task is freed.
                unsafe {
                    drop(Box::from_raw(new));
                    &*current
                }
            }
        }
    }

    /// Frees the done-callback list and the trace, if the task has them,
    /// and nulls both pointers, so a second call frees nothing. Called when
    /// the task is freed (`&mut self`: nobody else can reach the header).
    #[inline]
    pub(crate) fn free_boxes(&mut self) {
        self.cause.free();
        /// # Safety
        ///
        /// `list` came from `Box::into_raw` and is freed nowhere else.
        #[cold]
        unsafe fn free_list(list: *mut DoneList) {
            // SAFETY: the caller's contract.
            drop(unsafe { Box::from_raw(list) });
        }
        #[cold]
        fn free_trace(t: Box<TaskTrace>) {
            drop(t);
        }
        let list = std::mem::replace(self.on_done.0.get_mut(), std::ptr::null_mut());
        if !list.is_null() {
            // SAFETY: a non-null `on_done` was installed from
            // `Box::into_raw` by `done_list_or_init`; the null left in its
            // place means no later call frees it again.
            unsafe { free_list(list) };
        }
        // A task freed without ending (never polled): its span closes here.
        let trace = std::mem::replace(self.trace.get_mut(), std::ptr::null_mut());
        if !trace.is_null() {
            // SAFETY: made by `Box::into_raw` in `set_trace` and not taken
            // (`take_trace` leaves null); the null left in its place means no
            // later call frees it again.
            free_trace(unsafe { Box::from_raw(trace) });
        }
    }

    /// Relaxed: only touched under the registry shard's lock, which orders it.
    pub(crate) fn registry_slot(&self) -> u32 {
        self.registry_slot.load(Ordering::Relaxed)
    }

    /// Relaxed: only touched under the registry shard's lock, which orders it.
    pub(crate) fn set_registry_slot(&self, slot: u32) {
        self.registry_slot.store(slot, Ordering::Relaxed);
    }
}
