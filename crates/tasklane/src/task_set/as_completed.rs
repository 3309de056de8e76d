//! [`as_completed`]: asyncio's `as_completed` as a `Stream`.

use super::TaskSet;
use crate::task::{JoinError, JoinHandle};
use futures_core::{FusedStream, Stream};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The results of `handles`' tasks in the order they finish: asyncio's
/// `as_completed`, as a [`Stream`] of `Result<T, JoinError>` (a panic or a
/// cancellation is an item too). The stream ends after the last task's
/// result.
///
/// Dropping the stream cancels the tasks whose results it has not yielded,
/// as dropping their handles would (asyncio's `as_completed` leaves them
/// running; here the handles were given to it, so it owns the tasks). It
/// is a [`TaskSet`] that spawns nothing.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use std::time::Duration;
/// use tasklane::time::sleep;
///
/// tasklane::run(async {
///     let handles = [30u64, 10, 20].map(|ms| {
///         tasklane::spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         })
///     });
///     let order: Vec<u64> = tasklane::as_completed(handles)
///         .map(|r| r.unwrap())
///         .collect()
///         .await;
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub fn as_completed<T, I>(handles: I) -> AsCompleted<T>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    let mut set = TaskSet::new();
    for h in handles {
        set.insert(h);
    }
    AsCompleted { set }
}

/// The stream of [`as_completed`].
#[must_use = "streams do nothing unless polled; dropping this one cancels its tasks"]
pub struct AsCompleted<T> {
    set: TaskSet<T>,
}

impl<T> AsCompleted<T> {
    /// Tasks whose results have not been yielded yet.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True once every result has been yielded.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

impl<T> Stream for AsCompleted<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().set.poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.len(), Some(self.set.len()))
    }
}

impl<T> FusedStream for AsCompleted<T> {
    fn is_terminated(&self) -> bool {
        self.set.is_empty()
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("pending", &self.set.len())
            .finish()
    }
}
