//! The runtime this thread belongs to.
//!
//! Runtime threads (workers and blocking threads) set it when they start and
//! clear it when they end; other threads have it only while an
//! [`EnterGuard`](super::EnterGuard) lives (`Runtime::enter`, `block_on`).
//! It holds the runtime's handle cell rather than a handle, because the
//! runtime's threads start (and set it) before the handle exists; no task can
//! run before the cell is filled, since tasks are spawned through a handle.

use super::Handle;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// The cell a runtime fills with its [`Handle`] once built.
pub(super) type HandleCell = Arc<OnceLock<Handle>>;

thread_local! {
    static CONTEXT: RefCell<Option<HandleCell>> = const { RefCell::new(None) };
}

/// Makes `cell` this thread's runtime; returns the one it replaces.
pub(super) fn replace(cell: Option<HandleCell>) -> Option<HandleCell> {
    CONTEXT.with(|c| std::mem::replace(&mut *c.borrow_mut(), cell))
}

/// Runs `f` with this thread's runtime handle, if there is one.
pub(super) fn with_handle<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    CONTEXT.with(|c| f(c.borrow().as_ref().and_then(|h| h.get())))
}
