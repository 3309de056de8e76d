//! asyncio's `Queue`, `PriorityQueue` and `LifoQueue`: one implementation,
//! [`BaseQueue`], over a [`Store`] that decides the order.
//!
//! # Protocol
//!
//! The state (the store and the count of unfinished items) lives under one
//! `parking_lot::Mutex`; three `event-listener` events wake the waiters:
//! `not_empty` (a getter may proceed), `not_full` (a putter may proceed)
//! and `all_done` (a `join` may return).
//!
//! * A value moves in or out only inside the poll that returns `Ready`, under
//!   the lock. A `get` dropped at any point therefore never took a value, and
//!   a `put` dropped before it completed never stored its value.
//! * Every stored value wakes one more getter (`notify_additional(1)`), and
//!   every taken value one more putter. A waiter registers its listener and
//!   then looks at the state again before it sleeps, so a change between its
//!   first look and its registration is not missed.
//! * A listener that was notified and is dropped unpolled (its future was
//!   cancelled) passes the notification to the next listener (event-listener
//!   does this on drop), so a cancelled waiter never swallows a wake-up.
//! * A getter that takes a value and leaves more behind notifies one more
//!   getter (a plain `notify(1)`, a no-op when one is already notified), and a
//!   putter that leaves room does the same for putters: a wake-up consumed by
//!   a waiter that then found nothing can never leave others asleep beside
//!   ready work.

use event_listener::{Event, EventListener};
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tasklane_sched::coop;

/// The order a queue keeps: how a value goes in and which comes out next.
pub trait Store: Default {
    /// The values held.
    type Item;
    /// Adds a value.
    fn push(&mut self, value: Self::Item);
    /// Removes the next value, if any.
    fn pop(&mut self) -> Option<Self::Item>;
    /// The number of values held.
    fn len(&self) -> usize;
    /// Whether no value is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// First in, first out (asyncio.Queue).
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Store for Fifo<T> {
    type Item = T;
    fn push(&mut self, value: T) {
        self.0.push_back(value);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Last in, first out (asyncio.LifoQueue).
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T> Store for Lifo<T> {
    type Item = T;
    fn push(&mut self, value: T) {
        self.0.push(value);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Smallest first (asyncio.PriorityQueue).
#[derive(Debug)]
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T: Ord> Store for Priority<T> {
    type Item = T;
    fn push(&mut self, value: T) {
        self.0.push(Reverse(value));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(v)| v)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// asyncio.Queue: first in, first out.
pub type Queue<T> = BaseQueue<Fifo<T>>;
/// asyncio.LifoQueue: the last value put is the first got.
pub type LifoQueue<T> = BaseQueue<Lifo<T>>;
/// asyncio.PriorityQueue: the smallest value is got first.
pub type PriorityQueue<T> = BaseQueue<Priority<T>>;

/// `try_put` on a full queue; gives the value back.
#[derive(PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for Full<T> {}

/// `task_done` called more times than values were put (asyncio raises
/// `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyTaskDone;

impl fmt::Display for TooManyTaskDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than there were items put")
    }
}

impl std::error::Error for TooManyTaskDone {}

struct State<S> {
    store: S,
    /// Values put and not yet marked done with `task_done`.
    unfinished: usize,
}

/// A queue with asyncio's `Queue` methods, in the order its [`Store`] keeps.
/// Use it through [`Queue`], [`PriorityQueue`] or [`LifoQueue`]; share it by
/// reference (wrap it in an `Arc` to share it between tasks).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tasklane::sync::Queue;
///
/// tasklane::run(async {
///     let q = Arc::new(Queue::new(2));
///     let worker = {
///         let q = q.clone();
///         tasklane::spawn(async move {
///             loop {
///                 let job: u32 = q.get().await;
///                 assert!(job < 5);
///                 q.task_done().unwrap();
///             }
///         })
///     };
///     for job in 0..5 {
///         q.put(job).await; // waits while two are queued
///     }
///     q.join().await; // every job got and marked done
///     worker.cancel();
/// });
/// ```
pub struct BaseQueue<S: Store> {
    state: Mutex<State<S>>,
    maxsize: usize,
    not_empty: Event,
    not_full: Event,
    all_done: Event,
}

impl<S: Store> fmt::Debug for BaseQueue<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Queue")
            .field("len", &state.store.len())
            .field("maxsize", &self.maxsize)
            .field("unfinished", &state.unfinished)
            .finish()
    }
}

impl<S: Store> Default for BaseQueue<S> {
    /// An unbounded queue.
    fn default() -> Self {
        Self::new(0)
    }
}

impl<S: Store> BaseQueue<S> {
    /// A queue holding at most `maxsize` values; `0` means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue {
            state: Mutex::new(State {
                store: S::default(),
                unfinished: 0,
            }),
            maxsize,
            not_empty: Event::new(),
            not_full: Event::new(),
            all_done: Event::new(),
        }
    }

    /// The bound given to [`new`](Self::new); `0` means unbounded.
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// The number of values queued.
    pub fn len(&self) -> usize {
        self.state.lock().store.len()
    }

    /// Whether no value is queued.
    pub fn is_empty(&self) -> bool {
        self.state.lock().store.is_empty()
    }

    /// Whether the queue holds `maxsize` values (never, when unbounded).
    pub fn is_full(&self) -> bool {
        self.maxsize > 0 && self.state.lock().store.len() >= self.maxsize
    }

    /// Puts `value` if there is room; otherwise gives it back.
    pub fn try_put(&self, value: S::Item) -> Result<(), Full<S::Item>> {
        let mut state = self.state.lock();
        if self.maxsize > 0 && state.store.len() >= self.maxsize {
            return Err(Full(value));
        }
        state.store.push(value);
        state.unfinished += 1;
        let room_left = self.maxsize == 0 || state.store.len() < self.maxsize;
        drop(state);
        self.not_empty.notify_additional(1);
        if room_left && self.maxsize > 0 {
            self.not_full.notify(1);
        }
        Ok(())
    }

    /// Takes the next value if one is queued.
    pub fn try_get(&self) -> Option<S::Item> {
        let mut state = self.state.lock();
        let value = state.store.pop()?;
        let more = !state.store.is_empty();
        drop(state);
        if self.maxsize > 0 {
            self.not_full.notify_additional(1);
        }
        if more {
            self.not_empty.notify(1);
        }
        Some(value)
    }

    /// Puts `value`, waiting while the queue is full. Cancel-safe: a `put`
    /// dropped before it completed never stored its value (the value is
    /// dropped with the future; use [`try_put`](Self::try_put) to keep it).
    pub fn put(&self, value: S::Item) -> Put<'_, S> {
        Put {
            queue: self,
            value: Some(value),
            listener: None,
        }
    }

    /// Takes the next value, waiting while the queue is empty. Cancel-safe:
    /// a `get` dropped at any point took no value.
    pub fn get(&self) -> Get<'_, S> {
        Get {
            queue: self,
            listener: None,
        }
    }

    /// Marks one got value as processed (asyncio `task_done`). An error if
    /// called more times than values were put.
    pub fn task_done(&self) -> Result<(), TooManyTaskDone> {
        let mut state = self.state.lock();
        if state.unfinished == 0 {
            return Err(TooManyTaskDone);
        }
        state.unfinished -= 1;
        let done = state.unfinished == 0;
        drop(state);
        if done {
            self.all_done.notify(usize::MAX);
        }
        Ok(())
    }

    /// The number of values put and not yet marked done.
    pub fn unfinished(&self) -> usize {
        self.state.lock().unfinished
    }

    /// Waits until every value put has been marked done with
    /// [`task_done`](Self::task_done) (asyncio `join`). Returns at once when
    /// none is unfinished.
    pub fn join(&self) -> Join<'_, S> {
        Join {
            queue: self,
            listener: None,
        }
    }
}

/// The future of [`BaseQueue::put`].
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, S: Store> {
    queue: &'a BaseQueue<S>,
    value: Option<S::Item>,
    listener: Option<EventListener>,
}

impl<S: Store> Unpin for Put<'_, S> {}

impl<S: Store> Future for Put<'_, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let value = this.value.take().expect("Put polled after completion");
            match this.queue.try_put(value) {
                Ok(()) => {
                    coop.made_progress();
                    this.listener = None;
                    return Poll::Ready(());
                }
                Err(Full(value)) => this.value = Some(value),
            }
            match &mut this.listener {
                None => this.listener = Some(this.queue.not_full.listen()),
                Some(l) => {
                    ready!(Pin::new(l).poll(cx));
                    this.listener = None;
                }
            }
        }
    }
}

/// The future of [`BaseQueue::get`].
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, S: Store> {
    queue: &'a BaseQueue<S>,
    listener: Option<EventListener>,
}

impl<S: Store> Future for Get<'_, S> {
    type Output = S::Item;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<S::Item> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            if let Some(value) = this.queue.try_get() {
                coop.made_progress();
                this.listener = None;
                return Poll::Ready(value);
            }
            match &mut this.listener {
                None => this.listener = Some(this.queue.not_empty.listen()),
                Some(l) => {
                    ready!(Pin::new(l).poll(cx));
                    this.listener = None;
                }
            }
        }
    }
}

/// The future of [`BaseQueue::join`].
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, S: Store> {
    queue: &'a BaseQueue<S>,
    listener: Option<EventListener>,
}

impl<S: Store> Future for Join<'_, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            if this.queue.state.lock().unfinished == 0 {
                coop.made_progress();
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => this.listener = Some(this.queue.all_done.listen()),
                Some(l) => {
                    ready!(Pin::new(l).poll(cx));
                    this.listener = None;
                }
            }
        }
    }
}

impl<S: Store> fmt::Debug for Put<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Put { .. }")
    }
}

impl<S: Store> fmt::Debug for Get<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Get { .. }")
    }
}

impl<S: Store> fmt::Debug for Join<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Join { .. }")
    }
}
