//! The registry's shutdown protocol (`Registry::drain`, `wait_empty`,
//! `close`, as `Scheduler::shutdown` drives them) racing a spawn.
//!
//! The real `Scheduler` is too big for loom to explore with a spawn racing
//! its shutdown, so this models the registry and the task core as the
//! scheduler uses them. Tasks live in the real [`Registry`] (the mock
//! queue's `release` is `Registry::remove`). The spawning thread does what
//! `Handle::submit_new` does (insert and queue; if refused, abort the task
//! and run it, which drops its future unpolled), then runs the queue. The
//! main thread does what `Scheduler::shutdown` does: drain and cancel, wait
//! until empty, close, abort the late tasks; it runs the queue after
//! cancelling and after aborting. So the mock queue stands in for the
//! workers, and a task may end on either thread while the main thread
//! waits.
//!
//! Task P is registered and suspended before the threads start (it holds no
//! catch point: the cancel drops it). Task N is spawned during the shutdown;
//! its future waits on a gate the shutdown opens after draining (as a task
//! would finish on its own during the grace period).
//!
//! What must hold, in every interleaving:
//!
//! * Every task ends exactly once (future dropped once, task freed once);
//!   a task refused after `close` never runs its body.
//! * `wait_empty` returns only once every task the drain returned has ended.
//! * The tally `close` returns plus its list of late tasks account for every
//!   task registered at `drain` or inserted after it and before `close`:
//!   P, and N unless it was refused. A late task was not drained.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, Gate, Queue};
use std::future::Future;
use std::task::{Poll, Waker};
use tasklane_sched::task::{self, Registry, Tally, TaskId, TaskState};

/// A task's counters.
#[derive(Clone)]
struct Counters {
    polls: Counter,
    future_drops: Counter,
    caught: Counter,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            polls: Counter::new(),
            future_drops: Counter::new(),
            caught: Counter::new(),
        }
    }
}

/// Pending until `gate` opens.
fn wait(gate: Gate, c: Counters) -> impl Future<Output = ()> + Send {
    let guard = DropCount::new(&c.future_drops);
    std::future::poll_fn(move |cx| {
        let _ = &guard;
        c.polls.incr();
        gate.poll_open(cx)
    })
}

/// Waits for `gate` in a catch point; on a cancellation, cleans up: waits
/// for `cleanup`, then returns (swallows it).
fn catch_then_clean_up(gate: Gate, cleanup: Gate, c: Counters) -> impl Future<Output = ()> + Send {
    let guard = DropCount::new(&c.future_drops);
    async move {
        let _guard = guard;
        let inner = std::future::poll_fn(|cx| {
            c.polls.incr();
            gate.poll_open(cx)
        });
        match task::cancellable(inner).await {
            Ok(()) => panic!("P's gate never opens"),
            Err(_) => {
                c.caught.incr();
                std::future::poll_fn(|cx| cleanup.poll_open(cx)).await;
            }
        }
    }
}

/// What P, registered before the shutdown, does with its cancellation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum P {
    /// It holds no catch point: the delivery drops it (it ends `Cancelled`).
    Dropped,
    /// It catches it, and cleans up until the spawning thread, after its
    /// spawn, opens a gate (it ends `Completed`): the shutdown waits for it
    /// while N may end, so `wait_empty` is woken with a task still there.
    CleansUp,
}

fn is_final(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::Completed | TaskState::Cancelled | TaskState::Panicked
    )
}

fn tally_of(state: TaskState) -> Tally {
    let mut t = Tally::default();
    match state {
        TaskState::Completed => t.completed = 1,
        TaskState::Cancelled => t.cancelled = 1,
        TaskState::Panicked => t.panicked = 1,
        s => panic!("not final: {s:?}"),
    }
    t
}

fn sum(a: Tally, b: Tally) -> Tally {
    Tally {
        completed: a.completed + b.completed,
        cancelled: a.cancelled + b.cancelled,
        panicked: a.panicked + b.panicked,
    }
}

/// How an execution went for N, to check that the model reaches each case.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reached {
    /// Refused by `close`: aborted before its first poll.
    Refused,
    /// Registered when the drain ran: cancelled by it (or done first).
    Drained,
    /// Inserted after the drain and done before `close`: tallied.
    Tallied,
    /// Inserted after the drain, still registered at `close`: late.
    Late,
}

fn shutdown_vs_spawn(shards: usize, p_kind: P) -> Reached {
    let registry = Arc::new(Registry::new(shards));
    let queue = Queue::with_registry(registry.clone());

    // P: registered and suspended before the shutdown.
    let (pc, gate_p, cleanup) = (Counters::new(), Gate::new(), Gate::new());
    let (p, p_ref) = match p_kind {
        P::Dropped => queue.spawn_unregistered(wait(gate_p.clone(), pc.clone())),
        P::CleansUp => queue.spawn_unregistered(catch_then_clean_up(
            gate_p.clone(),
            cleanup.clone(),
            pc.clone(),
        )),
    };
    let p_id = p.handle.id();
    registry.insert(p_ref).expect("open");
    p.notified.run();
    assert_eq!(p.handle.state(), TaskState::Suspended);

    // N: spawned on another thread while the registry shuts down.
    let (nc, gate_n) = (Counters::new(), Gate::new());
    let (n, n_ref) = queue.spawn_unregistered(wait(gate_n.clone(), nc.clone()));
    let n_id = n.handle.id();
    let (reg, q, n_notified) = (registry.clone(), queue.clone(), n.notified);
    let cleaned = cleanup.clone();
    let spawner = thread::spawn(move || {
        // `Handle::submit_new`.
        let accepted = match reg.insert(n_ref) {
            Ok(()) => {
                q.push(n_notified);
                true
            }
            Err(refused) => {
                refused.abort();
                drop(refused);
                n_notified.run();
                false
            }
        };
        if p_kind == P::CleansUp {
            cleaned.open();
        }
        q.run_all();
        accepted
    });

    // `Scheduler::shutdown`: 1. drain and cancel.
    let drained = registry.drain();
    for t in &drained {
        t.cancel();
    }
    gate_n.open();
    queue.run_all();
    // 2. Wait for every task to leave.
    assert!(registry.wait_empty(None));
    for t in &drained {
        let state = t.state();
        assert!(
            is_final(state),
            "wait_empty returned before drained task {} ended: {state:?}",
            t.id()
        );
    }
    // 3. Close; abort the late tasks.
    let (late, tally) = registry.close();
    for t in &late {
        t.abort();
    }
    queue.run_all();
    let accepted = spawner.join().unwrap();
    queue.run_all();

    let ids =
        |ts: &[tasklane_sched::task::TaskRef]| ts.iter().map(|t| t.id()).collect::<Vec<TaskId>>();
    let (drained_ids, late_ids) = (ids(&drained), ids(&late));
    assert!(queue.is_empty());
    assert!(registry.is_empty(), "a task stayed registered");
    assert!(drained_ids.contains(&p_id), "the drain missed P");
    assert!(!late_ids.contains(&p_id), "P outlived wait_empty");

    // P: cancelled by the drain; dropped at once, or after catching it and
    // cleaning up.
    let p_state = p.handle.state();
    match p_kind {
        P::Dropped => {
            assert_eq!(p_state, TaskState::Cancelled);
            assert_eq!(pc.polls.get(), 1, "P polled after its cancellation");
        }
        P::CleansUp => {
            assert_eq!(p_state, TaskState::Completed, "P's cleanup did not finish");
            assert_eq!(pc.caught.get(), 1, "P caught the cancellation once");
            assert_eq!(
                pc.polls.get(),
                1,
                "the delivery ran P's inner future (which holds no catch point) on"
            );
        }
    }

    let n_state = n.handle.state();
    assert!(is_final(n_state), "N did not end: {n_state:?}");
    let reached = if !accepted {
        assert_eq!(n_state, TaskState::Cancelled, "a refused task ran");
        assert_eq!(nc.polls.get(), 0, "a refused task ran its body");
        assert!(!drained_ids.contains(&n_id) && !late_ids.contains(&n_id));
        assert_eq!(tally, tally_of(p_state), "only P is accounted for");
        assert!(late.is_empty());
        Reached::Refused
    } else if late_ids.contains(&n_id) {
        assert!(!drained_ids.contains(&n_id), "a drained task was late");
        assert_eq!(late.len(), 1);
        assert_eq!(tally, tally_of(p_state), "P is tallied, N is late");
        Reached::Late
    } else {
        assert!(late.is_empty());
        assert_eq!(
            tally,
            sum(tally_of(p_state), tally_of(n_state)),
            "P and N are tallied"
        );
        if drained_ids.contains(&n_id) {
            Reached::Drained
        } else {
            assert_eq!(n_state, TaskState::Completed, "cancelled, yet not drained");
            Reached::Tallied
        }
    };

    // Each task ended once.
    assert_eq!(pc.future_drops.get(), 1, "P's future dropped once");
    assert_eq!(nc.future_drops.get(), 1, "N's future dropped once");
    for (mut handle, name) in [(p.handle, "P"), (n.handle, "N")] {
        let polled = mock::poll_join(&mut handle, Waker::noop());
        assert!(matches!(polled, Poll::Ready(_)), "{name} did not finish");
    }
    drop((drained, late));
    gate_p.clear();
    gate_n.clear();
    cleanup.clear();
    assert_eq!(p.freed.get(), 1, "P freed exactly once");
    assert_eq!(n.freed.get(), 1, "N freed exactly once");
    reached
}

/// Runs the model with at most 5 preemptions (bound 6 explores 109 000 to
/// 223 000 executions a test, 50 s for the three) and checks that the
/// executions reached exactly the cases for N in `expected`.
fn model(shards: usize, p_kind: P, expected: &[Reached]) {
    mock::model_outcomes(Some(5), expected, move || shutdown_vs_spawn(shards, p_kind));
}

const EVERY_CASE: &[Reached] = &[
    Reached::Refused,
    Reached::Drained,
    Reached::Tallied,
    Reached::Late,
];

/// One shard: P and N share its lock.
#[test]
fn shutdown_vs_spawn_one_shard() {
    model(1, P::Dropped, EVERY_CASE);
}

/// Two shards: P and N in different ones, so the drain and the close reach
/// them one after the other and N's insert can fall in between.
#[test]
fn shutdown_vs_spawn_two_shards() {
    model(2, P::Dropped, EVERY_CASE);
}

/// One shard, P catching the cancellation and cleaning up until the
/// spawning thread lets it finish, after its insert: the shutdown waits for
/// P, so N is never refused nor late.
#[test]
fn shutdown_vs_spawn_cleanup() {
    model(1, P::CleansUp, &[Reached::Drained, Reached::Tallied]);
}
