//! A multi-producer, multi-consumer channel where every receiver gets every
//! value (tokio's `broadcast`).
//!
//! # Protocol
//!
//! The last `capacity` values sent sit in a ring under a
//! `parking_lot::Mutex`, each with its sequence number. A receiver keeps the
//! sequence number of the next value it wants. A send into a full ring drops
//! the oldest value; a receiver that wanted a dropped value is told how many
//! it missed ([`RecvError::Lagged`]) and moves on to the oldest value still
//! held. A receive reads under the lock inside the poll that returns, so a
//! `recv` dropped at any point moved nothing: the receiver gets the same
//! value next time. Each send wakes every listener; a receiver registers its
//! listener before its last look, so no send is missed.
//!
//! # Examples
//!
//! ```
//! use tasklane::sync::broadcast::{self, RecvError};
//!
//! tasklane::run(async {
//!     let (tx, mut rx1) = broadcast::channel(2);
//!     let mut rx2 = tx.subscribe();
//!     for v in 1..=3 {
//!         tx.send(v).unwrap();
//!     }
//!     drop(tx);
//!     // The ring holds two: each receiver missed the first value.
//!     for rx in [&mut rx1, &mut rx2] {
//!         assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
//!         assert_eq!(rx.recv().await, Ok(2));
//!         assert_eq!(rx.recv().await, Ok(3));
//!         assert_eq!(rx.recv().await, Err(RecvError::Closed));
//!     }
//! });
//! ```

use event_listener::{Event, EventListener};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tasklane_sched::coop;

struct Ring<T> {
    /// The held values, oldest first; the oldest has sequence `head`.
    values: VecDeque<T>,
    head: u64,
    senders: usize,
    receivers: usize,
}

impl<T> Ring<T> {
    /// The sequence number the next value sent will get.
    fn tail(&self) -> u64 {
        self.head + self.values.len() as u64
    }
}

struct Shared<T> {
    ring: Mutex<Ring<T>>,
    capacity: usize,
    sent: Event,
}

/// A channel holding the last `capacity` values for its receivers.
///
/// # Panics
///
/// If `capacity` is 0.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "broadcast::channel: capacity must be at least 1"
    );
    let shared = Arc::new(Shared {
        ring: Mutex::new(Ring {
            values: VecDeque::with_capacity(capacity),
            head: 0,
            senders: 1,
            receivers: 1,
        }),
        capacity,
        sent: Event::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, next: 0 },
    )
}

/// [`Sender::send`] with no receiver; gives the value back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no broadcast receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Receiver::recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and this receiver has had every value.
    Closed,
    /// This receiver fell behind: this many values were dropped before it
    /// got them. The next `recv` returns the oldest value still held.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("every broadcast sender is gone"),
            RecvError::Lagged(n) => write!(f, "the receiver lagged: {n} values missed"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet.
    Empty,
    /// As [`RecvError::Closed`].
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no broadcast value yet"),
            TryRecvError::Closed => RecvError::Closed.fmt(f),
            TryRecvError::Lagged(n) => RecvError::Lagged(*n).fmt(f),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Sends to every receiver. Cloning gives another sender; receivers see
/// [`RecvError::Closed`] once the last is dropped and they have had every
/// value.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Sender")
    }
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver and returns how many there
    /// are. Never waits: a full ring drops its oldest value. An error,
    /// giving the value back, when there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let receivers = {
            let mut ring = self.shared.ring.lock();
            if ring.receivers == 0 {
                return Err(SendError(value));
            }
            if ring.values.len() == self.shared.capacity {
                ring.values.pop_front();
                ring.head += 1;
            }
            ring.values.push_back(value);
            ring.receivers
        };
        self.shared.sent.notify(usize::MAX);
        Ok(receivers)
    }

    /// A new receiver that gets the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut ring = self.shared.ring.lock();
        ring.receivers += 1;
        Receiver {
            next: ring.tail(),
            shared: self.shared.clone(),
        }
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.ring.lock().receivers
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.ring.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut ring = self.shared.ring.lock();
            ring.senders -= 1;
            ring.senders == 0
        };
        if last {
            self.shared.sent.notify(usize::MAX);
        }
    }
}

/// Gets every value sent after it was made. A clone starts where this one
/// stands.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The sequence number of the next value this receiver wants.
    next: u64,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

impl<T: Clone> Receiver<T> {
    /// The next value, if one is there.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let ring = self.shared.ring.lock();
        if self.next < ring.head {
            let missed = ring.head - self.next;
            self.next = ring.head;
            return Err(TryRecvError::Lagged(missed));
        }
        if self.next < ring.tail() {
            let value = ring.values[(self.next - ring.head) as usize].clone();
            self.next += 1;
            return Ok(value);
        }
        if ring.senders == 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Waits for the next value. Cancel-safe: dropped at any point, it
    /// consumed nothing.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            listener: None,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.ring.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: self.next,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.ring.lock().receivers -= 1;
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    listener: Option<EventListener>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let result = match this.receiver.try_recv() {
                Ok(v) => Ok(v),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Empty) => {
                    match &mut this.listener {
                        None => this.listener = Some(this.receiver.shared.sent.listen()),
                        Some(l) => {
                            ready!(Pin::new(l).poll(cx));
                            this.listener = None;
                        }
                    }
                    continue;
                }
            };
            coop.made_progress();
            this.listener = None;
            return Poll::Ready(result);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recv { .. }")
    }
}
