//! Helpers for the models of `tasklane-io`'s [`ScheduledIo`]: polling it as
//! a task does, unwrapping what a poll returned, checking for leaked waker
//! clones, a [`Source`] whose dispatch publishes data, to check that
//! readiness is handed over with release/acquire, and [`race`], which runs
//! two sides of a model either way round.
//!
//! The wakers the models store are [`CountingWaker`]s, as in the timer
//! models: their count says how often a waker was woken and
//! `std::sync::Arc::strong_count` whether `ScheduledIo` still holds a clone.
//!
//! [`CountingWaker`]: crate::mock::CountingWaker

use crate::mock::CountingWaker;
use loom::cell::UnsafeCell;
use loom::thread;
use std::task::{Context, Poll, Waker};
use tasklane_io::{Interest, Ready, ReadyEvent, ScheduledIo, Shutdown};

/// What [`ScheduledIo::poll_ready`] returns.
pub type PollReady = Poll<Result<ReadyEvent, Shutdown>>;

/// Polls `io` once in the `interest` direction, as a task whose waker is
/// `waker` does.
pub fn poll(io: &ScheduledIo, waker: &Waker, interest: Interest) -> PollReady {
    io.poll_ready(&mut Context::from_waker(waker), interest)
}

/// The event of a poll that must have found its direction ready.
///
/// # Panics
///
/// If the poll returned anything else.
#[track_caller]
pub fn ready(polled: PollReady) -> ReadyEvent {
    match polled {
        Poll::Ready(Ok(event)) => event,
        other => panic!("the direction was ready, yet the poll returned {other:?}"),
    }
}

/// Which side of a [`race`] runs on a spawned thread; the other runs on the
/// model's main thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spawn {
    /// The first closure is spawned.
    First,
    /// The second closure is spawned.
    Second,
}

impl Spawn {
    /// Both ways round.
    pub const BOTH: [Spawn; 2] = [Spawn::First, Spawn::Second];
}

/// Runs `first` and `second` concurrently, one on a new thread (`spawn`
/// says which) and the other on the calling thread, then joins; returns
/// both results.
///
/// Why both ways: loom 0.7 does not reach the same interleavings of a
/// model both ways round. With the task on the main thread and the
/// dispatch on a spawned one, a `Relaxed` load on `poll_ready`'s fast path
/// (the task sees the readiness without synchronizing with the dispatch)
/// went unnoticed; with the sides swapped, loom reports the causality
/// violation. The two-thread models therefore run each way round (two loom
/// runs per test).
pub fn race<A, B, RA, RB>(spawn: Spawn, first: A, second: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send + 'static,
    B: FnOnce() -> RB + Send + 'static,
    RA: Send + 'static,
    RB: Send + 'static,
{
    match spawn {
        Spawn::First => {
            let handle = thread::spawn(first);
            let b = second();
            (handle.join().unwrap(), b)
        }
        Spawn::Second => {
            let handle = thread::spawn(second);
            let a = first();
            (a, handle.join().unwrap())
        }
    }
}

/// Checks, after every thread has joined, that a task which polled once
/// with the waker counted by `count` lost no wake-up: a poll that returned
/// ready stored no waker (it is never woken), a pending one was woken
/// exactly once.
///
/// # Panics
///
/// If the poll returned `Err(Shutdown)` (the models calling this never shut
/// down), or the wake count does not match.
#[track_caller]
pub fn assert_ready_or_woken(polled: &PollReady, count: &CountingWaker) {
    let wakes = count.wakes();
    match polled {
        Poll::Ready(Ok(_)) => assert_eq!(wakes, 0, "the poll was ready, yet its waker was woken"),
        Poll::Pending => assert_eq!(
            wakes, 1,
            "the poll was pending and its waker woken {wakes} times"
        ),
        Poll::Ready(Err(Shutdown)) => panic!("the source was not shut down"),
    }
}

/// Polls both directions of a shut-down `io` with a fresh waker: each must
/// return `Err(Shutdown)` at once and keep no clone of the waker.
///
/// # Panics
///
/// If a poll returned anything else, or a clone of the waker was kept.
#[track_caller]
pub fn assert_shut_down(io: &ScheduledIo) {
    let (count, waker) = CountingWaker::new();
    for interest in [Interest::READ, Interest::WRITE] {
        let polled = poll(io, &waker, interest);
        assert!(
            matches!(polled, Poll::Ready(Err(Shutdown))),
            "a poll after shutdown returned {polled:?}"
        );
    }
    assert!(io.is_shutdown());
    assert_no_clone(count, waker);
}

/// Drops `waker` and checks that it was the last one: nothing (in
/// particular no `ScheduledIo`) kept a clone of it.
///
/// # Panics
///
/// If a clone is left.
#[track_caller]
pub fn assert_no_clone(count: std::sync::Arc<CountingWaker>, waker: Waker) {
    drop(waker);
    assert_eq!(
        std::sync::Arc::strong_count(&count),
        1,
        "a waker clone leaked"
    );
}

/// A [`ScheduledIo`] with data behind its readiness: the peer writes the
/// data, then the reactor dispatches (both in [`deliver`](Self::deliver)),
/// and a task reads the data once a poll reported ready
/// ([`data`](Self::data)). The data is a loom cell, so loom reports a
/// causality violation if the dispatch's write is not ordered before the
/// task's read: the readiness word must carry the dispatch to the poll with
/// release/acquire (the module docs of `scheduled_io.rs`: "the readiness
/// (and the I/O state behind it) is published before any waker is taken").
///
/// For a model with one [`deliver`](Self::deliver): a second would write
/// while tasks that saw the first may read.
pub struct Source {
    /// The readiness and wakers under test.
    pub io: ScheduledIo,
    /// How many deliveries were made: stands for the bytes in a socket's
    /// buffer (or the room in it, for a writer).
    data: UnsafeCell<usize>,
}

// SAFETY: the cell holds a plain `usize` and is only accessed through
// loom's `with` and `with_mut`, which check that every access is ordered
// with the conflicting ones (and panic otherwise) before the pointer is
// dereferenced.
unsafe impl Sync for Source {}

impl Source {
    /// Nothing delivered, nothing ready, nobody waiting.
    pub fn new() -> Source {
        Source {
            io: ScheduledIo::new(),
            data: UnsafeCell::new(0),
        }
    }

    /// The peer's write, then the reactor's dispatch of `ready` (the
    /// reactor thread's part). Returns what `dispatch` returned.
    pub fn deliver(&self, ready: Ready) -> Ready {
        // SAFETY: loom checks the access (see the `Sync` impl).
        self.data.with_mut(|d| unsafe { *d += 1 });
        self.io.dispatch(ready)
    }

    /// The data, as a task reads it after a poll that reported ready: how
    /// many deliveries it sees.
    pub fn data(&self) -> usize {
        // SAFETY: loom checks the access (see the `Sync` impl).
        self.data.with(|d| unsafe { *d })
    }
}

impl Default for Source {
    fn default() -> Source {
        Source::new()
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}
