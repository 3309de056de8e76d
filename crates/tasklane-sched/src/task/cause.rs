//! Why a task, or a scope inside it, was cancelled: [`CancelCause`], and
//! the header's slot that carries a request's cause (and message) from the
//! thread that asks to the poller that delivers it.

use super::id::TaskId;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why a cancellation happened.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CancelCause {
    /// `cancel()` or `cancel_with(msg)` on the task's handle.
    Requested,
    /// The task's `JoinHandle` was dropped.
    HandleDropped,
    /// `abort()`: a hard cancel, which no catch point receives.
    Aborted,
    /// A deadline passed (`wait_for`, `timeout`, a scope's deadline).
    Timeout,
    /// A sibling in the task's group failed (its id), or, for the group's
    /// owner, a child did.
    GroupFailed(TaskId),
    /// The runtime (or a subtree) is shutting down.
    Shutdown,
    /// A `CancelScope` around the code was cancelled.
    Scope,
}

impl fmt::Display for CancelCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelCause::Requested => f.write_str("cancellation requested"),
            CancelCause::HandleDropped => f.write_str("its handle was dropped"),
            CancelCause::Aborted => f.write_str("aborted"),
            CancelCause::Timeout => f.write_str("a deadline passed"),
            CancelCause::GroupFailed(id) => write!(f, "task {id} of its group failed"),
            CancelCause::Shutdown => f.write_str("shutdown"),
            CancelCause::Scope => f.write_str("its cancel scope was cancelled"),
        }
    }
}

/// A cancellation's cause and the message given with it, as a catch point
/// or a `JoinError` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Why {
    pub(crate) cause: CancelCause,
    pub(crate) message: Option<Arc<str>>,
}

impl From<CancelCause> for Why {
    fn from(cause: CancelCause) -> Why {
        Why {
            cause,
            message: None,
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{m} ({})", self.cause),
            None => write!(f, "{}", self.cause),
        }
    }
}

/// The cause of a task's pending cancellation, in one word of its header.
///
/// `0` is empty; an odd word is a cause without payload or message,
/// encoded in place (`code << 1 | 1`); any other word is a `Box<Why>`
/// (aligned, so even). A requester stores before it sets the state word's
/// request bit, and the poller takes after it took the bit, so the state
/// word orders them; the swaps make each box owned by exactly one side
/// (whoever swaps it out frees it; one never taken is freed with the
/// task, by [`free`](CauseSlot::free)).
pub(crate) struct CauseSlot(AtomicUsize);

impl CauseSlot {
    pub(crate) const fn new() -> CauseSlot {
        CauseSlot(AtomicUsize::new(0))
    }

    fn encode(why: Why) -> usize {
        let code = match (why.cause, &why.message) {
            (_, Some(_)) | (CancelCause::GroupFailed(_), _) => None,
            (CancelCause::Requested, None) => Some(1),
            (CancelCause::HandleDropped, None) => Some(2),
            (CancelCause::Aborted, None) => Some(3),
            (CancelCause::Timeout, None) => Some(4),
            (CancelCause::Shutdown, None) => Some(5),
            (CancelCause::Scope, None) => Some(6),
        };
        match code {
            Some(c) => (c << 1) | 1,
            None => Box::into_raw(Box::new(why)) as usize,
        }
    }

    /// # Safety
    /// `word` was made by `encode` and is owned by the caller.
    unsafe fn decode(word: usize) -> Option<Why> {
        if word == 0 {
            return None;
        }
        if word & 1 == 0 {
            // SAFETY: an even non-zero word is a `Box<Why>` from `encode`,
            // owned by the caller.
            return Some(*unsafe { Box::from_raw(word as *mut Why) });
        }
        let cause = match word >> 1 {
            1 => CancelCause::Requested,
            2 => CancelCause::HandleDropped,
            3 => CancelCause::Aborted,
            4 => CancelCause::Timeout,
            5 => CancelCause::Shutdown,
            _ => CancelCause::Scope,
        };
        Some(cause.into())
    }

    /// Stores `why`, replacing (and freeing) a cause not yet taken: the
    /// latest request names the cause, as asyncio's latest `cancel(msg)`
    /// names the message.
    pub(crate) fn set(&self, why: Why) {
        let old = self.0.swap(Self::encode(why), Ordering::AcqRel);
        // SAFETY: swapped out, so ours.
        drop(unsafe { Self::decode(old) });
    }

    /// Stores `why` unless a cause is already there (a scope's request
    /// does not rename the task's own).
    pub(crate) fn set_if_empty(&self, why: Why) {
        let new = Self::encode(why);
        if self
            .0
            .compare_exchange(0, new, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: never published, so ours.
            drop(unsafe { Self::decode(new) });
        }
    }

    /// Takes the cause, if any.
    pub(crate) fn take(&self) -> Option<Why> {
        let old = self.0.swap(0, Ordering::AcqRel);
        // SAFETY: swapped out, so ours.
        unsafe { Self::decode(old) }
    }
}

impl CauseSlot {
    /// Frees a cause never taken, when the task is freed (no `Drop` of its
    /// own, which would give every header out-of-line drop glue: see
    /// `Header::free_boxes`).
    #[inline]
    pub(crate) fn free(&mut self) {
        #[cold]
        fn free_word(word: usize) {
            // SAFETY: taken out of the slot, so ours.
            drop(unsafe { CauseSlot::decode(word) });
        }
        let word = std::mem::replace(self.0.get_mut(), 0);
        if word != 0 {
            free_word(word);
        }
    }
}
