//! Runtime metrics: per-worker counters, queue depths, blocking threads.
//!
//! Each worker owns its counters and is their only writer (but `rescues`,
//! whose only writer is the monitor thread): a bump is a relaxed load and a
//! relaxed store (no read-modify-write, no lock), on a cache line of its
//! own so that readers and stealers do not bounce it. The monitor reads the
//! published poll and park counts to tell a stuck worker (`monitor.rs`):
//! a heuristic, for which these racy reads are enough.
//! Polls, the one counter on the hot path, are counted in a plain cell of
//! the worker and published every
//! [`MAINTENANCE_INTERVAL`](crate::MAINTENANCE_INTERVAL) ticks and before
//! it parks, so a reading may lag a busy worker by up to that many polls.
//! [`Handle::metrics`](super::Handle::metrics) reads them racily: every
//! figure is one that was true at some instant during the read, not all at
//! the same instant. Plain std atomics even under loom: no protocol
//! depends on them.

use crossbeam_utils::CachePadded;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters a worker owns.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    inner: CachePadded<Counters>,
}

#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    steals: AtomicU64,
    parks: AtomicU64,
    /// Written by the monitor thread, its only writer (`monitor.rs`).
    rescues: AtomicU64,
}

/// Only the owning worker calls this (it is the counter's only writer).
#[inline(always)]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

impl WorkerCounters {
    /// The worker's own running count (it keeps it in a plain cell).
    #[inline]
    pub(crate) fn set_polls(&self, polls: u64) {
        self.inner.polls.store(polls, Ordering::Relaxed);
    }
    #[inline(always)]
    pub(crate) fn steal(&self) {
        bump(&self.inner.steals);
    }
    #[inline(always)]
    pub(crate) fn park(&self) {
        bump(&self.inner.parks);
    }
    /// A task taken from this worker's LIFO slot by the monitor. Only the
    /// monitor thread calls this.
    pub(crate) fn rescue(&self) {
        bump(&self.inner.rescues);
    }
    /// The published poll count and the park count, for the monitor's look
    /// (`monitor.rs`): a heuristic, so relaxed loads do.
    #[inline]
    pub(crate) fn published(&self) -> (u64, u64) {
        (
            self.inner.polls.load(Ordering::Relaxed),
            self.inner.parks.load(Ordering::Relaxed),
        )
    }
    pub(crate) fn read(&self, index: usize, local_queue_depth: usize) -> WorkerMetrics {
        WorkerMetrics {
            index,
            polls: self.inner.polls.load(Ordering::Relaxed),
            steals: self.inner.steals.load(Ordering::Relaxed),
            parks: self.inner.parks.load(Ordering::Relaxed),
            rescues: self.inner.rescues.load(Ordering::Relaxed),
            local_queue_depth,
        }
    }
}

/// One worker's figures, read by [`RuntimeMetrics`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetrics {
    pub(crate) index: usize,
    pub(crate) polls: u64,
    pub(crate) steals: u64,
    pub(crate) parks: u64,
    pub(crate) rescues: u64,
    pub(crate) local_queue_depth: usize,
}

impl WorkerMetrics {
    /// The worker's index (`0..num_workers`, as in its thread name).
    pub fn index(&self) -> usize {
        self.index
    }
    /// Tasks polled by this worker so far (cancellation deliveries
    /// included); published every
    /// [`MAINTENANCE_INTERVAL`](crate::MAINTENANCE_INTERVAL) scheduler ticks
    /// and whenever the worker parks, so it may lag a busy worker by up to
    /// that many polls.
    pub fn polls(&self) -> u64 {
        self.polls
    }
    /// Successful steals from other workers' queues (each moves a batch:
    /// one task to run and up to half the victim's queue).
    pub fn steals(&self) -> u64 {
        self.steals
    }
    /// Times this worker went to sleep for want of work.
    pub fn parks(&self) -> u64 {
        self.parks
    }
    /// Tasks the runtime's monitor took from this worker's LIFO slot to run
    /// elsewhere, because the worker was stuck in a poll
    /// (`docs/semantics.md`, "A worker stuck in a poll").
    pub fn rescues(&self) -> u64 {
        self.rescues
    }
    /// Tasks in its local queue (the LIFO slot, one task at most, is not
    /// counted).
    pub fn local_queue_depth(&self) -> usize {
        self.local_queue_depth
    }
}

/// The runtime's figures, read when [`Handle::metrics`](super::Handle::metrics)
/// was called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeMetrics {
    pub(crate) workers: Vec<WorkerMetrics>,
    pub(crate) injector_depth: usize,
    pub(crate) blocking_threads: usize,
    pub(crate) live_tasks: usize,
}

impl RuntimeMetrics {
    /// One entry per worker, by index.
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }
    /// Tasks waiting in the global injector queue (scheduled from outside
    /// the workers).
    pub fn injector_depth(&self) -> usize {
        self.injector_depth
    }
    /// Blocking-pool threads alive.
    pub fn blocking_threads(&self) -> usize {
        self.blocking_threads
    }
    /// Live tasks (blocking jobs included), as `Handle::tasks()` would list.
    pub fn live_tasks(&self) -> usize {
        self.live_tasks
    }
    /// Sum of the workers' polls.
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }
    /// Sum of the workers' steals.
    pub fn total_steals(&self) -> u64 {
        self.workers.iter().map(|w| w.steals).sum()
    }
}

/// A small table: one line per worker, then the runtime-wide figures.
impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "worker      polls     steals      parks  queue")?;
        for w in &self.workers {
            writeln!(
                f,
                "{:>6} {:>10} {:>10} {:>10} {:>6}",
                w.index, w.polls, w.steals, w.parks, w.local_queue_depth
            )?;
        }
        write!(
            f,
            "injector queue {}, blocking threads {}, live tasks {}",
            self.injector_depth, self.blocking_threads, self.live_tasks
        )
    }
}
