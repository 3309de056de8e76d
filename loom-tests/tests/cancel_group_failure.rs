//! The `TaskGroup` failure protocol over the task core: three children on
//! the mock scheduler; child A fails (returns `Err`) and, during that poll,
//! cancels every child through the `TaskRef`s the group keeps (from
//! `JoinHandle::task_ref`), itself included, as `GroupShared::fail` does in
//! `crates/tasklane/src/group.rs`; then its thread runs what is queued.
//! Meanwhile the main thread runs child C's first poll and then joins: it
//! awaits the three `JoinHandle`s in turn, as `TaskGroup::join` does, in
//! `mock::block_on`, while A's thread delivers the cancellation to
//! child B, suspended in a catch point, which catches it at that await
//! (without polling the future it holds again), cleans up (one more await)
//! and finishes.
//!
//! What must hold, in every interleaving:
//!
//! * Each child ends exactly once (its future dropped once, its output
//!   dropped once, the task freed once); the join sees one final result per
//!   child and returns only after all three have ended.
//! * A's error is observed (A's cancellation of itself, made while it was
//!   running, is cleared by its completion).
//! * B ends `Completed` with what its catch point handler returned: it
//!   received the cancellation exactly once, and the request, consumed by
//!   that delivery, does not end it at its cleanup await.
//! * C ends `Completed` (polled before the cancel) or `Cancelled` (dropped
//!   unpolled: it holds no catch point), never both.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, Gate, Queue, YieldOnce};
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use tasklane_sched::task::{self, JoinError, TaskRef, TaskState};

/// What a child returns: `Ok` with a value that counts its drop, or A's
/// error.
type ChildResult = Result<DropCount, &'static str>;

/// Per-child counters.
#[derive(Clone)]
struct Child {
    polls: Counter,
    future_drops: Counter,
    outputs: Counter,
    output_drops: Counter,
    /// Set when the child's future is dropped or returns: its end.
    ended: Counter,
    /// A's cancel of this child returned `false` (it had finished).
    cancel_refused: Counter,
}

impl Child {
    fn new() -> Child {
        Child {
            polls: Counter::new(),
            future_drops: Counter::new(),
            outputs: Counter::new(),
            output_drops: Counter::new(),
            ended: Counter::new(),
            cancel_refused: Counter::new(),
        }
    }

    /// A value for the child's `Ok`.
    fn output(&self) -> DropCount {
        self.outputs.incr();
        DropCount::new(&self.output_drops)
    }
}

/// Marks the end of a child's future when dropped (with it, or when its
/// body returns).
struct EndGuard {
    ended: Counter,
    _drop: DropCount,
}

impl EndGuard {
    fn new(c: &Child) -> EndGuard {
        EndGuard {
            ended: c.ended.clone(),
            _drop: DropCount::new(&c.future_drops),
        }
    }
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.ended.incr();
    }
}

/// The group's shared list of children (`GroupShared::children`), filled
/// in before any child runs, each with the counter of its refused cancels.
type Children = Vec<(TaskRef, Counter)>;

/// Child A: fails at its first poll, and cancels every child first (the
/// group's `fail`, run from `Child::poll` when the future returns `Err`).
struct Fail {
    /// Filled in (before any thread starts) once every child exists.
    children: Arc<OnceLock<Children>>,
    c: Child,
    _end: EndGuard,
}

impl Future for Fail {
    type Output = ChildResult;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<ChildResult> {
        self.c.polls.incr();
        let children = self.children.get().expect("set up");
        for (t, refused) in children.iter() {
            // A's own cancel finds it running: it only marks it, and the
            // completion below clears the mark.
            if !t.cancel() {
                refused.incr();
            }
        }
        Poll::Ready(Err("boom"))
    }
}

/// Child B: suspended in a catch point on a gate that never opens; on a
/// cancellation it cleans up (one await) and finishes with a value.
fn catcher(gate: Gate, c: Child, caught: Counter) -> impl Future<Output = ChildResult> + Send {
    let end = EndGuard::new(&c);
    async move {
        let _end = end;
        let inner = std::future::poll_fn(|cx| {
            c.polls.incr();
            gate.poll_open(cx)
        });
        match task::cancellable(inner).await {
            Ok(()) => panic!("B's gate never opens"),
            Err(_) => {
                caught.incr();
                YieldOnce::new().await;
                Ok(c.output())
            }
        }
    }
}

/// Child C: done at its first poll.
fn ready(c: Child) -> impl Future<Output = ChildResult> + Send {
    let end = EndGuard::new(&c);
    async move {
        let _end = end;
        c.polls.incr();
        Ok(c.output())
    }
}

/// How the join saw one child.
#[derive(Debug)]
enum Seen {
    Ok,
    Err,
    Cancelled,
}

fn seen(r: &Result<ChildResult, JoinError>) -> Seen {
    match r {
        Ok(Ok(_)) => Seen::Ok,
        Ok(Err(_)) => Seen::Err,
        Err(e) => {
            assert!(e.is_cancelled(), "a child panicked: {e}");
            Seen::Cancelled
        }
    }
}

fn group() {
    let queue = Queue::new();
    let (a, b, c) = (Child::new(), Child::new(), Child::new());
    let b_caught = Counter::new();
    let gate = Gate::new();
    let children = Arc::new(OnceLock::new());

    let ta = queue.spawn(Fail {
        children: children.clone(),
        c: a.clone(),
        _end: EndGuard::new(&a),
    });
    let tb = queue.spawn(catcher(gate.clone(), b.clone(), b_caught.clone()));
    let tc = queue.spawn(ready(c.clone()));
    let refs = vec![
        (ta.handle.task_ref(), a.cancel_refused.clone()),
        (tb.handle.task_ref(), b.cancel_refused.clone()),
        (tc.handle.task_ref(), c.cancel_refused.clone()),
    ];
    assert!(children.set(refs).is_ok());
    // B runs first and suspends in its catch point.
    tb.notified.run();
    assert_eq!(b.polls.get(), 1);
    assert_eq!(tb.handle.state(), TaskState::Suspended);

    // A fails and cancels the group, then its thread runs what is queued
    // (B's delivery, B's cleanup).
    let (na, q) = (ta.notified, queue.clone());
    let failing = thread::spawn(move || {
        na.run();
        q.run_all();
    });
    // C's first poll races A's cancel.
    tc.notified.run();

    // The join: each handle awaited in turn, as `TaskGroup::join` does.
    let (ends, results, handles) = mock::block_on(async {
        let (mut ha, mut hb, mut hc) = (ta.handle, tb.handle, tc.handle);
        let ra = (&mut ha).await;
        let rb = (&mut hb).await;
        let rc = (&mut hc).await;
        let ends = [a.ended.get(), b.ended.get(), c.ended.get()];
        (ends, [ra, rb, rc], [ha, hb, hc])
    });
    failing.join().unwrap();
    assert_eq!(queue.run_all(), 0, "a child was left queued");
    assert_eq!(queue.registered(), 0, "each child left the registry once");

    // Joined only after every child had ended, each once.
    assert_eq!(
        ends,
        [1, 1, 1],
        "the join returned before every child ended"
    );
    let [ra, rb, rc] = &results;
    let states: Vec<TaskState> = handles.iter().map(|h| h.state()).collect();

    // A: its error, whatever its own cancel did.
    assert!(
        matches!(seen(ra), Seen::Err),
        "A's error was not observed: {:?}",
        seen(ra)
    );
    assert_eq!(states[0], TaskState::Completed);
    assert_eq!(a.polls.get(), 1);
    assert_eq!(
        a.cancel_refused.get(),
        0,
        "A was running when it cancelled itself"
    );

    // B: caught once, cleaned up, finished.
    assert!(matches!(seen(rb), Seen::Ok), "B ended {:?}", seen(rb));
    assert_eq!(states[1], TaskState::Completed);
    assert_eq!(
        b_caught.get(),
        1,
        "B's catch point received the cancellation once"
    );
    assert_eq!(
        b.polls.get(),
        1,
        "the delivering poll ran B's inner future (which holds no catch point) on"
    );
    assert_eq!(b.cancel_refused.get(), 0);

    // C: completed at its first poll, or cancelled before it.
    match seen(rc) {
        Seen::Ok => {
            assert_eq!(states[2], TaskState::Completed);
            assert_eq!(c.polls.get(), 1);
        }
        Seen::Cancelled => {
            assert_eq!(states[2], TaskState::Cancelled);
            assert_eq!(c.polls.get(), 0, "cancelled, yet polled");
            assert_eq!(
                c.cancel_refused.get(),
                0,
                "cancel returned false, yet C was cancelled"
            );
        }
        Seen::Err => panic!("C returned A's error"),
    }
    let c_cancelled = matches!(seen(rc), Seen::Cancelled);

    for (name, child) in [("A", &a), ("B", &b), ("C", &c)] {
        assert_eq!(child.future_drops.get(), 1, "{name}'s future dropped once");
    }
    drop(results);
    for (name, child) in [("A", &a), ("B", &b), ("C", &c)] {
        assert_eq!(
            child.output_drops.get(),
            child.outputs.get(),
            "{name}'s output dropped once"
        );
    }
    gate.clear();
    drop(gate);
    drop(children);
    drop(handles);
    for (name, freed) in [("A", &ta.freed), ("B", &tb.freed), ("C", &tc.freed)] {
        assert_eq!(freed.get(), 1, "{name} freed exactly once");
    }
    if c_cancelled {
        C_CANCELLED.fetch_add(1, Relaxed);
    } else {
        C_COMPLETED.fetch_add(1, Relaxed);
    }
}

// Outside the model (std atomics): how often each outcome of C was reached.
static C_CANCELLED: StdAtomicUsize = StdAtomicUsize::new(0);
static C_COMPLETED: StdAtomicUsize = StdAtomicUsize::new(0);

/// Two threads: A's (its failing poll, then B's delivery and cleanup) and
/// the main one (C's first poll, then the join). Bound 2 (bound 3 explores
/// about 680 000 executions in over a minute).
#[test]
fn cancel_group_failure() {
    mock::model(Some(2), group);
    assert!(C_CANCELLED.load(Relaxed) > 0, "no execution cancelled C");
    assert!(C_COMPLETED.load(Relaxed) > 0, "no execution completed C");
}
