//! Synchronisation between tasks: asyncio's `Lock`, `Semaphore`, `Event`,
//! `Queue`, `PriorityQueue` and `LifoQueue`; tokio's `Notify`, `watch` and
//! `broadcast`; a bounded channel and a oneshot channel.
//!
//! [`RwLock`], [`Barrier`], [`Semaphore`] and the channel are well-kept
//! runtime-agnostic crates (smol-rs's `async-lock` and `async-channel`),
//! each wait wrapped in [`Budgeted`] so that it takes part in tasklane's
//! cooperative budget; their guards and errors are those crates' own.
//! [`Mutex`] is written here: first come, first served, handed over on
//! unlock, so a task that unlocks cannot take it straight back while
//! others wait (`async-lock`'s can; `docs/benchmarks.md` compares them
//! under contention). The oneshot is `futures-channel`'s, re-exported (one value:
//! it cannot keep a task busy). [`Notify`], [`Event`], [`watch`],
//! [`broadcast`] and the queues ([`Queue`], [`PriorityQueue`],
//! [`LifoQueue`], with asyncio's `task_done` and `join`) are written here;
//! their waits take part in the budget too. So a task that always finds
//! its lock, channel or queue ready still yields its worker.
//! They are correct under tasklane's cancellation, which drops the pending
//! future at a suspension point (tested in `tests/sync_cancel.rs`):
//!
//! * [`Semaphore::acquire`] cancelled at any point never leaks a permit: a
//!   permit is handed out only by the poll that returns the guard, and a
//!   waiter that was notified but dropped passes the notification on.
//! * A bounded queue's [`Sender::send`] cancelled before it completes never
//!   put its value in the queue; the value is dropped with the future. A
//!   completed send's value is received exactly once. [`Receiver::recv`]
//!   cancelled at any point never takes a value out of the queue. To keep a
//!   value when the queue is full, try [`Sender::try_send`] first: it gives
//!   the value back.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use tasklane::sync::{Semaphore, bounded};
//!
//! tasklane::run(async {
//!     let limit = Arc::new(Semaphore::new(2));
//!     let (tx, rx) = bounded::<u32>(4);
//!     let mut producers = Vec::new();
//!     for i in 0..8 {
//!         let (limit, tx) = (limit.clone(), tx.clone());
//!         producers.push(tasklane::spawn(async move {
//!             let _permit = limit.acquire().await; // at most 2 at a time
//!             tx.send(i).await.unwrap();
//!         }));
//!     }
//!     drop(tx);
//!     let mut got = Vec::new();
//!     while let Ok(v) = rx.recv().await {
//!         got.push(v);
//!     }
//!     got.sort();
//!     assert_eq!(got, (0..8).collect::<Vec<_>>());
//! });
//! ```

pub use async_channel::{RecvError, SendError, TryRecvError, TrySendError};
pub use async_lock::{
    BarrierWaitResult, RwLockReadGuard, RwLockReadGuardArc, RwLockUpgradableReadGuard,
    RwLockUpgradableReadGuardArc, RwLockWriteGuard, RwLockWriteGuardArc, SemaphoreGuard,
    SemaphoreGuardArc,
};
pub use budget::Budgeted;
pub use channel::{Receiver, Sender, bounded, unbounded};
pub use locks::{Barrier, RwLock, Semaphore};
pub use mutex::{Lock, LockArc, Mutex, MutexGuard, MutexGuardArc};

pub mod broadcast;
mod budget;
mod channel;
mod locks;
mod mutex;
mod notify;
mod queue;
pub mod watch;

pub use notify::{Event, EventWait, Notified, Notify};
pub use queue::{
    BaseQueue, Fifo, Full, Get, Join, Lifo, LifoQueue, Priority, PriorityQueue, Put, Queue, Store,
    TooManyTaskDone,
};

/// A channel for one value: `oneshot::channel()` gives a `Sender` (whose
/// `send` is synchronous) and a `Receiver` future resolving to
/// `Ok(value)`, or `Err(Canceled)` if the sender was dropped without
/// sending. Re-exported from `futures-channel`.
pub mod oneshot {
    pub use futures_channel::oneshot::{Canceled, Receiver, Sender, channel};
}
