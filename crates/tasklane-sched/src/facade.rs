//! Plumbing for the `tasklane` crate only: not a public API, exempt from
//! semantic versioning, hidden from the docs.
//!
//! These are the pieces of the task core's cancellation delivery (module
//! docs of `task/catch.rs`) that the facade needs to be a cancellation
//! scope of its own (`wait_for`, `time::timeout` and `CancelScope::run`
//! deliver their cancellation to the catch points of the future they wrap,
//! through a `ScopeDriver`; a `CancelScope` is cancelled from any thread
//! through a `ScopeSignal`) and to pass a child's cancellation on to the task
//! awaiting it (`shield`, `gather`). A scheduler built on this crate needs
//! none of them.

use crate::task::Origin;

pub use crate::task::cancel_within::{GraceSleep, GraceTimer, set_grace_timer};
pub use crate::task::catch::{
    CatchCount, Claim, abort_current, catch_reraised, deliver, pass_reraised,
};
/// Task-local contexts, under the facade's `task_local!` (module docs of
/// `task/locals.rs`).
pub mod locals {
    pub use crate::task::locals::{
        Context, Entered, KeyId, Value, capture, is_current, with_value,
    };
}
pub use crate::task::scope::{ScopeDriver, ScopePoll, ScopeSignal, SignalState, WaiterSlot};

/// A fresh [`Origin::Scope`], unique in the process: the origin of one
/// scope's deliveries (one `wait_for`'s timeout).
pub fn new_scope() -> Origin {
    Origin::new_scope()
}

/// A fresh scope that can be cancelled from outside its task
/// (`TaskRef::cancel_scope`): a task group's owner's body.
pub fn new_owner_scope() -> Origin {
    Origin::new_owner_scope()
}
