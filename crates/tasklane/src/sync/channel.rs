//! [`bounded`] and [`unbounded`]: smol-rs's `async-channel`, wrapped so
//! that `send`, `recv` and the receiver's `Stream` take part in the
//! cooperative budget (`budget.rs`). Multi-producer, multi-consumer; each
//! value goes to one receiver.

use super::budget::{Budgeted, poll_next_budgeted};
use async_channel::{RecvError, SendError, TryRecvError, TrySendError};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What both ends of the channel tell of it, forwarded to `async-channel`.
macro_rules! channel_state {
    () => {
        /// Closes the channel; returns `true` if this call closed it.
        pub fn close(&self) -> bool {
            self.0.close()
        }

        /// Whether the channel is closed.
        pub fn is_closed(&self) -> bool {
            self.0.is_closed()
        }

        /// Whether no value is queued.
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// Whether a bounded channel is full.
        pub fn is_full(&self) -> bool {
            self.0.is_full()
        }

        /// Values queued.
        pub fn len(&self) -> usize {
            self.0.len()
        }

        /// The bound, if any.
        pub fn capacity(&self) -> Option<usize> {
            self.0.capacity()
        }

        /// Receivers alive.
        pub fn receiver_count(&self) -> usize {
            self.0.receiver_count()
        }

        /// Senders alive.
        pub fn sender_count(&self) -> usize {
            self.0.sender_count()
        }
    };
}

/// A channel holding at most `capacity` values: `send` waits while it is
/// full.
///
/// # Panics
///
/// If `capacity` is 0.
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = async_channel::bounded(capacity);
    (Sender(tx), Receiver(rx))
}

/// A channel without a bound: `send` never waits.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = async_channel::unbounded();
    (Sender(tx), Receiver(rx))
}

/// The sending side; cloning gives another. The channel closes when the
/// last sender or the last receiver is dropped (or on [`close`](Self::close)).
pub struct Sender<T>(async_channel::Sender<T>);

impl<T> Sender<T> {
    /// Waits for room, then sends. Cancel-safe: dropped before it returns,
    /// it sent nothing (the value is dropped with it).
    pub fn send(&self, value: T) -> Budgeted<async_channel::Send<'_, T>> {
        Budgeted(self.0.send(value))
    }

    /// Sends if there is room; gives the value back otherwise.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(value)
    }

    /// Blocks the thread until there is room: for code outside tasks.
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        self.0.send_blocking(value)
    }

    channel_state!();
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The receiving side; cloning gives another (each value goes to one of
/// them). Also a [`Stream`] of the values, ending when the channel is
/// closed and empty.
pub struct Receiver<T>(async_channel::Receiver<T>);

impl<T> Receiver<T> {
    /// Waits for a value; `Err` once the channel is closed and empty.
    /// Cancel-safe: dropped at any point, it took nothing.
    pub fn recv(&self) -> Budgeted<async_channel::Recv<'_, T>> {
        Budgeted(self.0.recv())
    }

    /// A value, if one is queued.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }

    /// Blocks the thread for a value: for code outside tasks.
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        self.0.recv_blocking()
    }

    channel_state!();
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver(self.0.clone())
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // SAFETY: structural pinning of the only field, never moved out.
        poll_next_budgeted(unsafe { self.map_unchecked_mut(|s| &mut s.0) }, cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.0.is_terminated()
    }
}
