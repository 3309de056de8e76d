//! A single value many tasks watch (tokio's `watch`): senders replace it,
//! receivers see the latest one and wait for the next change.
//!
//! # Protocol
//!
//! The value sits under a `parking_lot::RwLock` with a version counter that
//! each send bumps under the write lock. A receiver remembers the version it
//! last saw; [`Receiver::changed`] returns when the version moved, having
//! registered its listener before its last look, so no send is missed. It
//! consumes nothing shared, so it is cancel-safe: dropped at any point, the
//! next `changed` sees the same change.
//!
//! # Examples
//!
//! ```
//! use tasklane::sync::watch;
//!
//! tasklane::run(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let task = tasklane::spawn(async move {
//!         rx.changed().await.unwrap();
//!         *rx.borrow_and_update()
//!     });
//!     tx.send("ready").unwrap();
//!     assert_eq!(task.await.unwrap(), "ready");
//! });
//! ```

use event_listener::{Event, EventListener};
use parking_lot::{RwLock, RwLockReadGuard};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use tasklane_sched::coop;

struct Shared<T> {
    value: RwLock<(T, u64)>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    changed: Event,
}

/// A channel holding `init`: its [`Sender`] and a first [`Receiver`].
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new((init, 0)),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        changed: Event::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, seen: 0 },
    )
}

/// [`Sender::send`] with no receiver left; gives the value back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every watch receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// [`Receiver::changed`] when every sender is gone and the receiver has
/// seen the last value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every watch sender is gone")
    }
}

impl std::error::Error for RecvError {}

/// A read guard on the value; hold it briefly (sends wait for it).
pub struct Ref<'a, T>(RwLockReadGuard<'a, (T, u64)>);

impl<T> std::ops::Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.0
    }
}

/// Replaces the watched value. Cloning gives another sender; the channel
/// closes for receivers when the last one is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch::Sender")
    }
}

impl<T> Sender<T> {
    /// Replaces the value and wakes the receivers. An error, giving the
    /// value back and leaving the old one, when no receiver is left (as
    /// tokio does; [`send_replace`](Self::send_replace) stores regardless).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::Acquire) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value, whether or not a receiver is left, and returns
    /// the old one.
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut guard = self.shared.value.write();
            guard.1 = guard.1.wrapping_add(1);
            std::mem::replace(&mut guard.0, value)
        };
        self.shared.changed.notify(usize::MAX);
        old
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref(self.shared.value.read())
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::AcqRel);
        Receiver {
            seen: self.shared.value.read().1,
            shared: self.shared.clone(),
        }
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::Acquire)
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Taken under the lock so that a receiver between its look and
            // its registration is ordered with this close.
            drop(self.shared.value.write());
            self.shared.changed.notify(usize::MAX);
        }
    }
}

/// Sees the watched value. A clone has seen what this one has seen.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref(self.shared.value.read())
    }

    /// The current value, marked seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        self.seen = guard.1;
        Ref(guard)
    }

    /// Whether a value was sent since this receiver last marked one seen.
    pub fn has_changed(&self) -> bool {
        self.shared.value.read().1 != self.seen
    }

    /// Waits for a value this receiver has not seen, and marks it seen.
    /// `Err(RecvError)` once every sender is gone and nothing new is left.
    /// Cancel-safe.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            receiver: self,
            listener: None,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::AcqRel);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receivers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The future of [`Receiver::changed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    receiver: &'a mut Receiver<T>,
    listener: Option<EventListener>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let shared = &this.receiver.shared;
            let version = shared.value.read().1;
            if version != this.receiver.seen {
                this.receiver.seen = version;
                coop.made_progress();
                this.listener = None;
                return Poll::Ready(Ok(()));
            }
            if shared.senders.load(Ordering::Acquire) == 0 {
                this.listener = None;
                return Poll::Ready(Err(RecvError));
            }
            match &mut this.listener {
                None => this.listener = Some(shared.changed.listen()),
                Some(l) => {
                    ready!(Pin::new(l).poll(cx));
                    this.listener = None;
                }
            }
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0.0, f)
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Changed { .. }")
    }
}
