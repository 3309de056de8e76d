//! What `tracing` subscribers see of tasks, and the slow-poll watch.
//!
//! # Spans and events (target `tasklane::task`)
//!
//! * A task spawned while a subscriber is interested gets a `task` span
//!   (level TRACE, fields `id`, `name`, `spawned_at`), made at
//!   spawn, so its parent is the span current at the spawn (the spawning
//!   task's, if spawned from a task). Every poll of the task runs inside it,
//!   and it is closed when the task ends.
//! * Events, each with the span as parent: `spawned` (DEBUG) at spawn;
//!   `completed` or `cancelled` (DEBUG) and `panicked` (WARN, with the panic
//!   message) when the task ends, with its lifetime, its time spent running
//!   and its poll count.
//! * Whether a task is instrumented is decided once, at spawn: no span, no
//!   timing and no events for a task spawned while nobody listened (then the
//!   whole cost is two loads of `tracing`'s global level filter at spawn,
//!   and a null trace pointer checked when the task ends and is freed). An
//!   instrumented task is `timed`: it times its polls precisely (as
//!   `TaskOptions::poll_timing` does) and enters its span on the same
//!   out-of-line path: its vtable's poll starts both before the common
//!   poll, which stops both where the poll ends (`raw::timing`).
//!
//! # Slow polls (target `tasklane::slow_poll`)
//!
//! Each worker thread keeps a [`watch`]: the coarse monotonic clock's reading
//! at the end of the previous poll (or when it last woke from parking). After
//! every poll it reads the clock once more; the difference is the poll's
//! duration, give or take the scheduler's own work between two polls (a few
//! hundred nanoseconds, far below the clock's resolution). A difference of
//! at least the runtime's `slow_poll_threshold` is a WARN naming the task, its
//! id, the duration and the worker: once per slow poll, by the worker that
//! ran it, right after the poll returns. No thread samples the workers.
//!
//! The coarse clock (`CLOCK_MONOTONIC_COARSE` on Linux) is read from the vDSO
//! without the time-stamp counter, several times cheaper than
//! `CLOCK_MONOTONIC` (`docs/benchmarks.md`, observability), at a resolution
//! of one kernel tick (1 to 10 ms, after the kernel's `HZ`). After a poll
//! that crossed such a tick, the task core tells its scheduler
//! (`Schedule::clock_ticked_during_poll`), whose worker then looks at timers
//! and I/O before its next poll. The same differences add up to each task's running time (`TaskSnapshot::
//! running_time`): each is a multiple of the tick, but their sum is an
//! unbiased estimate, as a poll of length `d` crosses a tick with
//! probability `d / tick`.
//!
//! A threshold of `Duration::MAX` turns the watch off: no clock read at all
//! (and no coarse running time). Built with `--cfg tasklane_no_trace`,
//! spans and events are compiled out (the watch stays): that build is the
//! baseline `docs/benchmarks.md` compares their cost against. Under loom
//! both are compiled out.

use super::header::Header;
use super::state::Outcome;
use std::time::Duration;

/// What an instrumented task carries: its span and when it was spawned.
pub(crate) struct TaskTrace {
    #[cfg(not(any(tasklane_no_trace, tasklane_loom)))]
    span: tracing::Span,
    #[cfg(not(any(tasklane_no_trace, tasklane_loom)))]
    spawned: std::time::Instant,
}

#[cfg(not(any(tasklane_no_trace, tasklane_loom)))]
mod on {
    use super::*;

    /// The guard of an entered task span.
    use std::time::Instant;
    use tracing::Level;

    /// The span and spawn event of a task being spawned, if a subscriber
    /// listens at spawn (`None` is the whole cost otherwise).
    #[inline]
    pub(crate) fn at_spawn(header: &Header) -> Option<Box<TaskTrace>> {
        use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
        // The span is TRACE and the events DEBUG or above: a global maximum
        // below DEBUG (OFF when no subscriber is installed) rules out both.
        if Level::DEBUG <= STATIC_MAX_LEVEL && Level::DEBUG <= LevelFilter::current() {
            instrument(header)
        } else {
            None
        }
    }

    #[cold]
    #[inline(never)]
    fn instrument(header: &Header) -> Option<Box<TaskTrace>> {
        let span = tracing::trace_span!(
            target: "tasklane::task",
            "task",
            id = header.id.as_u64(),
            name = header.name(),
            spawned_at = %header.location,
        );
        let events = tracing::enabled!(target: "tasklane::task", Level::DEBUG);
        if span.is_disabled() && !events {
            return None;
        }
        tracing::debug!(
            target: "tasklane::task",
            parent: &span,
            id = header.id.as_u64(),
            name = header.name(),
            spawned_at = %header.location,
            "spawned",
        );
        Some(Box::new(TaskTrace {
            span,
            spawned: Instant::now(),
        }))
    }

    impl TaskTrace {
        /// Enters the task's span for a poll, to be left with [`exit`]
        /// on the same thread (no guard: the poll's start and end are in
        /// different functions, `raw::timing`). True if entered.
        ///
        /// [`exit`]: TaskTrace::exit
        #[inline]
        pub(crate) fn enter(&self) -> bool {
            self.span
                .with_subscriber(|(id, dispatch)| dispatch.enter(id))
                .is_some()
        }

        /// Leaves the span entered by [`enter`](TaskTrace::enter).
        #[inline]
        pub(crate) fn exit(&self) {
            self.span
                .with_subscriber(|(id, dispatch)| dispatch.exit(id));
        }
    }

    /// The task ended: its last event, then its span closes (when `trace`
    /// is dropped).
    #[cold]
    #[inline(never)]
    pub(crate) fn ended(
        header: &Header,
        trace: Box<TaskTrace>,
        outcome: Outcome,
        panic: Option<&str>,
        running: Duration,
    ) {
        let lifetime = trace.spawned.elapsed();
        let polls = header.polls.load(std::sync::atomic::Ordering::Relaxed);
        let (id, name) = (header.id.as_u64(), header.name());
        match outcome {
            Outcome::Completed => tracing::debug!(
                target: "tasklane::task", parent: &trace.span,
                id = id, name = name, ?lifetime, ?running, polls,
                "completed",
            ),
            Outcome::Cancelled => tracing::debug!(
                target: "tasklane::task", parent: &trace.span,
                id = id, name = name, ?lifetime, ?running, polls,
                "cancelled",
            ),
            Outcome::Panicked => tracing::warn!(
                target: "tasklane::task", parent: &trace.span,
                id = id, name = name, ?lifetime, ?running, polls,
                panic = panic.unwrap_or("(not a string)"),
                "panicked",
            ),
        }
    }
}

#[cfg(any(tasklane_no_trace, tasklane_loom))]
mod on {
    use super::*;

    #[inline(always)]
    pub(crate) fn at_spawn(_: &Header) -> Option<Box<TaskTrace>> {
        None
    }

    impl TaskTrace {
        #[inline(always)]
        pub(crate) fn enter(&self) -> bool {
            false
        }

        #[inline(always)]
        pub(crate) fn exit(&self) {}
    }

    #[inline(always)]
    pub(crate) fn ended(_: &Header, _: Box<TaskTrace>, _: Outcome, _: Option<&str>, _: Duration) {}
}

pub(crate) use on::{at_spawn, ended};

/// The per-worker slow-poll watch (see the module docs).
pub(crate) mod watch {
    use super::*;

    #[cfg(not(tasklane_loom))]
    struct Watch {
        /// Coarse clock at the end of the last poll (nanoseconds).
        last: std::cell::Cell<u64>,
        /// The threshold in nanoseconds; `u64::MAX` off this thread's
        /// workers (nothing is read or reported there).
        threshold: std::cell::Cell<u64>,
        worker: std::cell::Cell<usize>,
    }

    #[cfg(not(tasklane_loom))]
    std::thread_local! {
        static WATCH: Watch = const {
            Watch {
                last: std::cell::Cell::new(0),
                threshold: std::cell::Cell::new(u64::MAX),
                worker: std::cell::Cell::new(0),
            }
        };
    }

    /// Makes this thread a watched worker (for the rest of its life).
    pub(crate) fn install(_threshold: Duration, _worker: usize) {
        #[cfg(not(tasklane_loom))]
        WATCH.with(|w| {
            // `Duration::MAX` turns the watch off (no clock reads at all).
            let ns = if _threshold == Duration::MAX {
                u64::MAX
            } else {
                u64::try_from(_threshold.as_nanos()).map_or(u64::MAX - 1, |ns| ns.min(u64::MAX - 1))
            };
            w.threshold.set(ns);
            w.worker.set(_worker);
            w.last.set(coarse::now());
        });
    }

    /// The worker woke from parking: its idle time is nobody's poll.
    #[inline]
    pub(crate) fn restart() {
        #[cfg(not(tasklane_loom))]
        WATCH.with(|w| {
            if w.threshold.get() != u64::MAX {
                w.last.set(coarse::now());
            }
        });
    }

    /// A poll of `header`'s task just returned: charge its running time and
    /// report it if it was slow. True if the coarse clock ticked during the
    /// poll (the caller tells the scheduler). Costs one clock read.
    #[cfg(not(tasklane_loom))]
    #[inline(always)]
    #[must_use]
    pub(crate) fn after_poll(header: &Header) -> bool {
        WATCH.with(|w| {
            let threshold = w.threshold.get();
            if threshold == u64::MAX {
                return false;
            }
            let now = coarse::now();
            let took = now.wrapping_sub(w.last.get());
            w.last.set(now);
            // Zero unless the poll crossed a tick of the coarse clock.
            if took == 0 {
                return false;
            }
            charge(header, took, threshold, w.worker.get());
            true
        })
    }

    /// Under loom the watch is compiled out: no clock, never a tick.
    #[cfg(tasklane_loom)]
    #[inline(always)]
    #[must_use]
    pub(crate) fn after_poll(_header: &Header) -> bool {
        false
    }

    #[cfg(not(tasklane_loom))]
    #[cold]
    #[inline(never)]
    fn charge(header: &Header, took: u64, threshold: u64, worker: usize) {
        use std::sync::atomic::Ordering;
        if !header.is_timed() {
            // Coarse running time, in nanoseconds (only the poller writes it).
            let r = header.running.load(Ordering::Relaxed);
            header
                .running
                .store(r.wrapping_add(took), Ordering::Relaxed);
        }
        if took >= threshold {
            // Subscriber code, on a worker: its panic is swallowed.
            crate::panic::swallow(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                || {
                    slow_poll(
                        header,
                        Duration::from_nanos(took),
                        Duration::from_nanos(threshold),
                        worker,
                    )
                },
            )));
        }
    }

    #[cfg(not(tasklane_loom))]
    /// The slow-poll report.
    #[cold]
    #[inline(never)]
    fn slow_poll(header: &Header, took: Duration, threshold: Duration, worker: usize) {
        tracing::warn!(
            target: "tasklane::slow_poll",
            id = header.id.as_u64(),
            name = header.name(),
            spawned_at = %header.location,
            duration = ?took,
            duration_ms = took.as_millis() as u64,
            ?threshold,
            worker,
            "slow poll: task '{}' (id {}) ran for {:?} without yielding on worker {} (threshold {:?})",
            header.name(), header.id, took, worker, threshold,
        );
    }
}

/// The coarse monotonic clock, in nanoseconds.
#[cfg(not(tasklane_loom))]
pub(crate) mod coarse {
    /// `CLOCK_MONOTONIC_COARSE`: read from the vDSO, no time-stamp counter.
    #[cfg(all(target_os = "linux", not(miri)))]
    #[inline]
    pub(crate) fn now() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id exists on
        // every Linux since 2.6.32. On failure `ts` stays zero, which only
        // makes the watch see no time pass.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        (ts.tv_sec as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec as u64)
    }

    /// Elsewhere (and under miri): `Instant`, since the first use.
    #[cfg(not(all(target_os = "linux", not(miri))))]
    pub(crate) fn now() -> u64 {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}
