//! Debug mode: warnings about the cancellation mistakes that lose cleanup
//! or hide failures, for tasks spawned on a runtime in debug mode (the
//! header's `flag::DEBUG`). Each is a `tracing` WARN with target
//! `tasklane::debug`, naming the task and where it was spawned:
//!
//! * a task swallowed a delivered cancellation of its own (not a scope's:
//!   a `wait_for` timeout or a group's) and later completed;
//! * a delivery found catch points registered but none of them polled
//!   during it (one held by a `select!` arm or a `FuturesUnordered`), so
//!   the task was dropped with its cleanup skipped;
//! * a task panicked and nobody retrieved the panic (it was detached, or
//!   its handle was dropped without awaiting it);
//! * a cancellation stayed undelivered longer than
//!   [`Config::cancel_warn_after`](crate::Config) (a task stuck in one
//!   poll, or never woken).
//!
//! Every check sits on a path that already runs only when a cancellation
//! is requested or delivered, or once when a task ends: a task of a
//! runtime not in debug mode pays one flag test when it ends, and nothing
//! per poll.
//!
//! The pending-cancellation watch keeps the time of each request in a
//! table and one thread, started with the first request it sees, that
//! sleeps until the earliest request would be overdue (and without a
//! timeout while none is pending).

use super::header::Header;
use super::state::Outcome;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a cancellation may wait for its delivery before the watch
/// warns, in nanoseconds: the latest debug-mode runtime's setting (one
/// watch serves the process).
static WARN_AFTER_NS: AtomicU64 = AtomicU64::new(1_000_000_000);

/// Sets the pending-cancellation threshold (`Config::cancel_warn_after`).
pub(crate) fn set_warn_after(d: Duration) {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    WARN_AFTER_NS.store(ns, Ordering::Relaxed);
}

fn warn_after() -> Duration {
    Duration::from_nanos(WARN_AFTER_NS.load(Ordering::Relaxed))
}

/// A cancellation requested and not yet delivered.
struct Pending {
    since: Instant,
    name: String,
    location: &'static Location<'static>,
    warned: bool,
    /// The subscriber of the thread that asked: the watch thread reports
    /// to it.
    dispatch: tracing::Dispatch,
}

#[derive(Default)]
struct Watch {
    pending: Mutex<HashMap<u64, Pending>>,
    changed: Condvar,
}

fn watch() -> &'static Watch {
    static WATCH: OnceLock<&'static Watch> = OnceLock::new();
    WATCH.get_or_init(|| {
        let w: &'static Watch = Box::leak(Box::default());
        let spawned = std::thread::Builder::new()
            .name("tasklane-debug-watch".into())
            .spawn(move || run_watch(w));
        if let Err(e) = spawned {
            tracing::warn!(target: "tasklane::debug", "the pending-cancellation watch did not start: {e}");
        }
        w
    })
}

fn run_watch(w: &'static Watch) {
    let mut pending = w.pending.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let limit = warn_after();
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for (id, p) in pending.iter_mut() {
            if p.warned {
                continue;
            }
            let due = p.since + limit;
            if due <= now {
                p.warned = true;
                let _default = tracing::dispatcher::set_default(&p.dispatch);
                tracing::warn!(
                    target: "tasklane::debug",
                    id = id,
                    name = %p.name,
                    spawned_at = %p.location,
                    waited_ms = now.duration_since(p.since).as_millis() as u64,
                    "a cancellation has not been delivered after {limit:?}: the task is stuck in a poll, or nothing wakes it",
                );
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        pending = match next {
            None => w.changed.wait(pending).unwrap_or_else(|e| e.into_inner()),
            Some(due) => {
                let wait = due.saturating_duration_since(Instant::now());
                w.changed
                    .wait_timeout(pending, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

/// A soft cancellation of `h` was requested.
#[cold]
pub(crate) fn requested(h: &Header) {
    let _ = WATCH_STARTED.set(());
    let w = watch();
    let mut pending = w.pending.lock().unwrap_or_else(|e| e.into_inner());
    let first = pending.is_empty();
    pending.entry(h.id.as_u64()).or_insert_with(|| Pending {
        since: Instant::now(),
        name: h.name().to_owned(),
        location: h.location,
        warned: false,
        dispatch: tracing::dispatcher::get_default(Clone::clone),
    });
    drop(pending);
    if first {
        w.changed.notify_one();
    }
}

/// `h`'s pending cancellation was delivered, or the task ended.
#[cold]
pub(crate) fn settled(h: &Header) {
    if WATCH_STARTED.get().is_some() {
        watch()
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&h.id.as_u64());
    }
}

/// Set once a request was seen, so that settling a task never starts the
/// watch.
static WATCH_STARTED: OnceLock<()> = OnceLock::new();

/// How long the pending cancellation of the task `id` has waited (debug
/// mode only; `None` without one).
pub(crate) fn pending_for(id: u64) -> Option<Duration> {
    WATCH_STARTED.get()?;
    watch()
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .map(|p| p.since.elapsed())
}

/// A delivery of the task's own cancellation found `catch_points`
/// registered and none took it: the future is dropped, its cleanup skipped.
#[cold]
pub(crate) fn missed(h: &Header, catch_points: u32) {
    tracing::warn!(
        target: "tasklane::debug",
        id = h.id.as_u64(),
        name = %h.name(),
        spawned_at = %h.location,
        catch_points,
        "a cancellation found catch points registered but none polled during its delivery \
         (held by a select! arm or a FuturesUnordered?): the task is dropped and their cleanup skipped",
    );
}

/// The task ended with `outcome`; `swallowed`: it took a delivery of its
/// own cancellation and did not re-raise it; `unread`: nobody will read its
/// output.
#[cold]
pub(crate) fn ended(h: &Header, outcome: Outcome, swallowed: bool, unread: bool) {
    settled(h);
    if swallowed && outcome == Outcome::Completed {
        tracing::warn!(
            target: "tasklane::debug",
            id = h.id.as_u64(),
            name = %h.name(),
            spawned_at = %h.location,
            "the task swallowed a cancellation and completed: its canceller may expect it to end cancelled \
             (re-raise with `Cancelled::reraise` after cleaning up)",
        );
    }
    if unread && outcome == Outcome::Panicked {
        unretrieved_panic(h);
    }
}

/// A panic nobody retrieved: the task was detached, or its handle dropped
/// without reading it.
#[cold]
pub(crate) fn unretrieved_panic(h: &Header) {
    tracing::warn!(
        target: "tasklane::debug",
        id = h.id.as_u64(),
        name = %h.name(),
        spawned_at = %h.location,
        "the task panicked and nobody retrieved the panic (detached, or its handle dropped unread)",
    );
}
