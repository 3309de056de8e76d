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
//! value next time.
//!
//! Waiting: each receiver owns a waker slot in the ring (given at
//! `subscribe` or `clone`, freed at drop). A receive that finds nothing
//! stores its waker in its slot under the same lock hold in which it
//! looked, so a send (which pushes and then takes the stored wakers under
//! the lock) either came before the look or finds the waker: no send is
//! missed. A send wakes outside the lock, in batches, and only the
//! receivers that wait. A `recv` dropped while it waits leaves its waker in
//! the slot (`Recv` has no destructor, so it borrows its receiver only
//! while it is used): the next send wakes that task once for nothing, and
//! the receiver's next `recv` or its drop replaces or clears it.
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

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use tasklane_sched::coop;

struct Ring<T> {
    /// The held values, oldest first; the oldest has sequence `head`.
    values: VecDeque<T>,
    head: u64,
    senders: usize,
    receivers: usize,
    /// One slot per receiver: the waker of its `recv` while it waits.
    wakers: Vec<Option<Waker>>,
    /// Slots of dropped receivers, for the next ones.
    free: Vec<usize>,
    /// How many slots hold a waker: a send with none to wake scans nothing.
    waiting: usize,
}

impl<T> Ring<T> {
    /// The sequence number the next value sent will get.
    fn tail(&self) -> u64 {
        self.head + self.values.len() as u64
    }

    /// A waker slot for a new receiver.
    fn add_receiver(&mut self) -> usize {
        self.receivers += 1;
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.wakers.push(None);
                self.wakers.len() - 1
            }
        }
    }

    fn remove_receiver(&mut self, slot: usize) {
        self.receivers -= 1;
        self.clear(slot);
        self.free.push(slot);
    }

    fn clear(&mut self, slot: usize) {
        if self.wakers[slot].take().is_some() {
            self.waiting -= 1;
        }
    }

    fn register(&mut self, slot: usize, waker: &Waker) {
        match &mut self.wakers[slot] {
            Some(w) => w.clone_from(waker),
            empty => {
                *empty = Some(waker.clone());
                self.waiting += 1;
            }
        }
    }
}

/// Wakers taken under the lock per batch, woken once it is released.
const WAKE_BATCH: usize = 32;

struct Shared<T> {
    ring: Mutex<Ring<T>>,
    capacity: usize,
}

impl<T> Shared<T> {
    /// Wakes every waiting receiver, in batches taken under the lock and
    /// woken outside it. `ring` is the guard of the push (or close) that
    /// calls for it.
    fn wake_all<'a>(&'a self, mut ring: parking_lot::MutexGuard<'a, Ring<T>>) {
        let mut at = 0;
        loop {
            if ring.waiting == 0 {
                return;
            }
            let mut batch: [Option<Waker>; WAKE_BATCH] = Default::default();
            let mut n = 0;
            while n < WAKE_BATCH && at < ring.wakers.len() {
                if let Some(w) = ring.wakers[at].take() {
                    batch[n] = Some(w);
                    n += 1;
                }
                at += 1;
            }
            ring.waiting -= n;
            let more = at < ring.wakers.len();
            drop(ring);
            for w in batch.iter_mut().take(n).filter_map(Option::take) {
                w.wake();
            }
            if !more {
                return;
            }
            ring = self.ring.lock();
        }
    }
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
            wakers: vec![None],
            free: Vec::new(),
            waiting: 0,
        }),
        capacity,
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            slot: 0,
        },
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
        let mut ring = self.shared.ring.lock();
        if ring.receivers == 0 {
            return Err(SendError(value));
        }
        if ring.values.len() == self.shared.capacity {
            // The value leaves the ring; it is dropped after the lock.
            let oldest = ring.values.pop_front();
            ring.head += 1;
            ring.values.push_back(value);
            let receivers = ring.receivers;
            self.shared.wake_all(ring);
            drop(oldest);
            return Ok(receivers);
        }
        ring.values.push_back(value);
        let receivers = ring.receivers;
        self.shared.wake_all(ring);
        Ok(receivers)
    }

    /// A new receiver that gets the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut ring = self.shared.ring.lock();
        let slot = ring.add_receiver();
        Receiver {
            next: ring.tail(),
            shared: self.shared.clone(),
            slot,
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
        let mut ring = self.shared.ring.lock();
        ring.senders -= 1;
        if ring.senders == 0 {
            // Waiting receivers are told the channel is closed.
            self.shared.wake_all(ring);
        }
    }
}

/// Gets every value sent after it was made. A clone starts where this one
/// stands.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The sequence number of the next value this receiver wants.
    next: u64,
    /// Its waker slot in the ring.
    slot: usize,
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
        take(&mut self.next, &ring)
    }

    /// Waits for the next value. Cancel-safe: dropped at any point, it
    /// consumed nothing.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            waiting: false,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let slot = self.shared.ring.lock().add_receiver();
        Receiver {
            shared: self.shared.clone(),
            next: self.next,
            slot,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.ring.lock().remove_receiver(self.slot);
    }
}

/// One look under the lock, for the receiver whose next wanted sequence
/// number is `next`.
fn take<T: Clone>(next: &mut u64, ring: &Ring<T>) -> Result<T, TryRecvError> {
    if *next < ring.head {
        let missed = ring.head - *next;
        *next = ring.head;
        return Err(TryRecvError::Lagged(missed));
    }
    if *next < ring.tail() {
        let value = ring.values[(*next - ring.head) as usize].clone();
        *next += 1;
        return Ok(value);
    }
    if ring.senders == 0 {
        Err(TryRecvError::Closed)
    } else {
        Err(TryRecvError::Empty)
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    /// Its waker may be in the receiver's slot (cleared when it returns).
    waiting: bool,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let receiver = &mut *this.receiver;
        let mut ring = receiver.shared.ring.lock();
        let result = match take(&mut receiver.next, &ring) {
            Ok(v) => Ok(v),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                // Stored under the lock of the look: a later send finds it.
                ring.register(receiver.slot, cx.waker());
                this.waiting = true;
                return Poll::Pending;
            }
        };
        if this.waiting {
            ring.clear(receiver.slot);
            this.waiting = false;
        }
        drop(ring);
        coop.made_progress();
        Poll::Ready(result)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recv { .. }")
    }
}
