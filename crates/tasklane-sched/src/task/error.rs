//! `JoinError`: why a task has no value.

use super::cause::{CancelCause, Why};
use super::id::TaskId;
use parking_lot::Mutex;
use std::any::Any;
use std::fmt;

/// Why awaiting a `JoinHandle` gave no value: the task was cancelled, or it
/// panicked.
pub struct JoinError {
    id: TaskId,
    repr: Repr,
}

enum Repr {
    Cancelled(Why),
    /// The mutex makes the error `Sync` (the payload is only `Send`); it is
    /// only locked to read a panic message or to take the payload.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: TaskId, why: Why) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled(why),
        }
    }

    pub(crate) fn panic(id: TaskId, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// The task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled(_))
    }

    /// Why the task was cancelled; `None` if it panicked.
    pub fn cancel_cause(&self) -> Option<CancelCause> {
        match &self.repr {
            Repr::Cancelled(why) => Some(why.cause),
            Repr::Panic(_) => None,
        }
    }

    /// The message given with the cancellation (`cancel_with`), if any.
    pub fn cancel_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Cancelled(why) => why.message.as_deref(),
            Repr::Panic(_) => None,
        }
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task this error is about.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic payload, to resume the panic with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// If the task did not panic; check [`is_panic`](Self::is_panic) or use
    /// [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancellation")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// # Errors
    ///
    /// Returns `self` when the task was cancelled rather than panicking.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner()),
            Repr::Cancelled(_) => Err(self),
        }
    }

    pub(crate) fn panic_message(&self) -> Option<String> {
        let Repr::Panic(p) = &self.repr else {
            return None;
        };
        let p = p.lock();
        p.downcast_ref::<&'static str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(why) => write!(f, "task {} was cancelled: {why}", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(why) => write!(
                f,
                "JoinError::Cancelled({:?}, {:?}, {:?})",
                self.id, why.cause, why.message
            ),
            Repr::Panic(_) => {
                write!(
                    f,
                    "JoinError::Panic({:?}, {:?})",
                    self.id,
                    self.panic_message()
                )
            }
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
