//! [`EnterGuard`]: a runtime current on this thread for a while.

use super::context::{self, HandleCell};
use std::fmt;

/// Makes a runtime current on this thread until dropped
/// (see [`Runtime::enter`](super::Runtime::enter)).
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<HandleCell>,
}

impl EnterGuard {
    pub(super) fn new(cell: HandleCell) -> EnterGuard {
        EnterGuard {
            prev: context::replace(Some(cell)),
        }
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        context::replace(self.prev.take());
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
