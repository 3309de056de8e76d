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

use super::id::{TaskId, TaskState};
use super::state::{Outcome, State};
use crate::sync::atomic::{AtomicU32, Ordering};
use std::borrow::Cow;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::OnceLock;
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
}

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
}

impl Header {
    pub(crate) fn new(
        vtable: &'static Vtable,
        id: TaskId,
        name: Option<Cow<'static, str>>,
        location: &'static Location<'static>,
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
        }
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

    /// Relaxed: only touched under the registry shard's lock, which orders it.
    pub(crate) fn registry_slot(&self) -> u32 {
        self.registry_slot.load(Ordering::Relaxed)
    }

    /// Relaxed: only touched under the registry shard's lock, which orders it.
    pub(crate) fn set_registry_slot(&self, slot: u32) {
        self.registry_slot.store(slot, Ordering::Relaxed);
    }
}
