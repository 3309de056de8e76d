//! A task suspended in a catch point (`task::cancellable`) while one thread
//! cancels it and another completes the future the catch point holds (opens
//! the gate it waits on, which wakes the task), with the task run by
//! whichever thread finds it queued.
//!
//! What must hold, in every interleaving:
//!
//! * The task ends exactly once, in one final state; its future, its output
//!   and the catch point's inner future are each dropped exactly once, and
//!   the task is freed exactly once.
//! * Soft cancel (`cancel`): if the catch point receives the cancellation
//!   (`Err(Cancelled)`), its inner future (which holds no catch point) was
//!   not polled again by the delivering poll, produced nothing, and was
//!   dropped before the code after the catch point ran, with the task
//!   current. If a poll completed the inner future before the cancellation
//!   was taken, completion wins: the catch point returns `Ok`. Either way the
//!   request is consumed by that one delivery: the task, which swallows the
//!   cancellation and then awaits again (cleanup), ends `Completed`, never
//!   `Cancelled`.
//! * Re-raised (`Cancelled::reraise` after the cleanup): the task ends
//!   `Cancelled` exactly when the catch point received the cancellation.
//! * Hard cancel (`abort`): no catch point ever receives it; the task ends
//!   `Cancelled` with the inner future's output never produced, or
//!   `Completed` with it (completion wins).
#![cfg(tasklane_loom)]

use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, Gate, Queue, YieldOnce};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use tasklane_sched::task::{self, Origin, TaskState};

/// The future inside the catch point: pending until its gate opens, then
/// ready with a value that counts its drop.
struct Inner {
    gate: Gate,
    c: Counters,
}

impl Future for Inner {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        self.c.inner_polls.incr();
        match self.gate.poll_open(cx) {
            Poll::Ready(()) => {
                self.c.inner_outputs.incr();
                Poll::Ready(DropCount::new(&self.c.inner_output_drops))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.c.inner_drops.incr();
        // Dropped by the catch point or with the task's future, always
        // inside a poll of its task.
        if task::current().is_none() {
            self.c.dropped_outside_task.incr();
        }
    }
}

#[derive(Clone)]
struct Counters {
    inner_polls: Counter,
    inner_outputs: Counter,
    inner_output_drops: Counter,
    inner_drops: Counter,
    dropped_outside_task: Counter,
    caught: Counter,
    cleaned: Counter,
    future_drops: Counter,
    outputs: Counter,
    output_drops: Counter,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            inner_polls: Counter::new(),
            inner_outputs: Counter::new(),
            inner_output_drops: Counter::new(),
            inner_drops: Counter::new(),
            dropped_outside_task: Counter::new(),
            caught: Counter::new(),
            cleaned: Counter::new(),
            future_drops: Counter::new(),
            outputs: Counter::new(),
            output_drops: Counter::new(),
        }
    }
}

/// The task's output: which way the catch point went, and a drop counter.
struct Out {
    caught: bool,
    _inner: Option<DropCount>,
    _drop: DropCount,
}

/// What the code after the catch point does with a cancellation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OnCancel {
    /// Cleans up (one more await) and returns: the task swallows it.
    Swallow,
    /// Cleans up, then `reraise`s.
    Reraise,
}

/// The task: `cancellable(inner).await`, then cleanup on `Err`.
fn body(gate: Gate, c: Counters, on_cancel: OnCancel) -> impl Future<Output = Out> + Send {
    let guard = DropCount::new(&c.future_drops);
    async move {
        let _guard = guard;
        let inner = Inner { gate, c: c.clone() };
        // Pinned in a local, so it outlives its result: the catch point
        // must drop its inner future itself before returning `Err`.
        let mut catch = pin!(task::cancellable(inner));
        match catch.as_mut().await {
            Ok(value) => {
                c.outputs.incr();
                Out {
                    caught: false,
                    _inner: Some(value),
                    _drop: DropCount::new(&c.output_drops),
                }
            }
            Err(cancelled) => {
                c.caught.incr();
                assert_eq!(cancelled.origin(), Origin::Task);
                assert_eq!(
                    c.inner_drops.get(),
                    1,
                    "the catch point returned Err before dropping its future"
                );
                // Cleanup that suspends: a request consumed by the delivery
                // must not be delivered again here.
                YieldOnce::new().await;
                c.cleaned.incr();
                if on_cancel == OnCancel::Reraise {
                    return cancelled.reraise().await;
                }
                c.outputs.incr();
                Out {
                    caught: true,
                    _inner: None,
                    _drop: DropCount::new(&c.output_drops),
                }
            }
        }
    }
}

/// Which request the racing thread makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Request {
    Cancel,
    Abort,
}

/// Which of the two racing threads runs the queue after its step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Runner {
    /// The thread that opens the gate runs the queue after it.
    Opener,
    /// The thread that cancels runs the queue after it.
    Canceller,
}

/// How an execution ended, to check that the model reaches each outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reached {
    /// The catch point received the cancellation.
    Caught,
    /// The inner future completed and the task with it.
    CompletionWon,
    /// The abort dropped the future.
    Aborted,
}

/// The task is polled once (suspended in the catch point, its catch point
/// counted). Then the main thread makes `request` while a spawned thread
/// opens the gate; `runner` runs the queue after its step. The main thread
/// joins and runs whatever is left, then checks.
fn race(request: Request, on_cancel: OnCancel, runner: Runner) -> Reached {
    let queue = Queue::new();
    let gate = Gate::new();
    let c = Counters::new();
    let mut spawned = queue.spawn(body(gate.clone(), c.clone(), on_cancel));
    spawned.notified.run();
    assert_eq!(c.inner_polls.get(), 1);
    assert_eq!(spawned.handle.state(), TaskState::Suspended);

    let (g, q) = (gate.clone(), queue.clone());
    let opener = thread::spawn(move || {
        g.open();
        if runner == Runner::Opener {
            q.run_all();
        }
    });
    let requested = match request {
        Request::Cancel => spawned.handle.cancel(),
        Request::Abort => {
            spawned.handle.abort();
            true
        }
    };
    if runner == Runner::Canceller {
        queue.run_all();
    }
    opener.join().unwrap();
    queue.run_all();

    assert!(queue.is_empty());
    assert_eq!(queue.registered(), 0, "the task left the registry once");
    assert!(queue.max_len() <= 1, "two Notified queued at once");
    let state = spawned.handle.state();
    let polled = mock::poll_join(&mut spawned.handle, Waker::noop());
    let Poll::Ready(result) = polled else {
        panic!("the task did not finish: {state:?}");
    };
    let caught = c.caught.get();
    assert!(caught <= 1, "the cancellation was delivered twice");
    match request {
        Request::Abort => {
            assert_eq!(caught, 0, "an abort reached a catch point");
            match &result {
                Ok(out) => {
                    assert_eq!(state, TaskState::Completed);
                    assert!(!out.caught);
                    assert_eq!(c.inner_outputs.get(), 1);
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "{e}");
                    assert_eq!(state, TaskState::Cancelled);
                    assert_eq!(c.inner_polls.get(), 1, "polled after the abort");
                    assert_eq!(c.inner_outputs.get(), 0);
                }
            }
        }
        Request::Cancel if caught == 1 => {
            assert!(requested, "cancel returned false, yet was delivered");
            assert_eq!(
                c.inner_polls.get(),
                1,
                "the delivering poll ran the inner future on past its await"
            );
            assert_eq!(c.inner_outputs.get(), 0, "caught, yet the inner completed");
            assert_eq!(
                c.cleaned.get(),
                1,
                "the task ended in the cleanup after its catch point"
            );
            match (&result, on_cancel) {
                (Ok(out), OnCancel::Swallow) => {
                    assert_eq!(
                        state,
                        TaskState::Completed,
                        "a swallowed cancellation ended the task"
                    );
                    assert!(out.caught);
                }
                (Err(e), OnCancel::Reraise) => {
                    assert!(e.is_cancelled(), "{e}");
                    assert_eq!(state, TaskState::Cancelled);
                }
                (Ok(_), OnCancel::Reraise) => panic!("a re-raised cancellation was lost"),
                (Err(e), OnCancel::Swallow) => {
                    panic!("a swallowed cancellation ended the task: {e} ({state:?})")
                }
            }
        }
        Request::Cancel => {
            // Completion won: a poll after the gate opened, before the
            // cancellation was taken, completed the inner future.
            let Ok(out) = &result else {
                panic!("the task ended {state:?} though no catch point took the cancellation");
            };
            assert_eq!(state, TaskState::Completed);
            assert!(!out.caught);
            assert_eq!(c.inner_outputs.get(), 1);
            assert_eq!(c.cleaned.get(), 0);
        }
    }
    assert_eq!(c.inner_drops.get(), 1, "inner future dropped once");
    assert_eq!(c.dropped_outside_task.get(), 0, "dropped outside its task");
    assert_eq!(c.future_drops.get(), 1, "future dropped once");
    drop(result);
    assert_eq!(c.output_drops.get(), c.outputs.get(), "output dropped once");
    assert_eq!(c.inner_output_drops.get(), c.inner_outputs.get());
    // The gate may still hold a waker of the task.
    gate.clear();
    drop(gate);
    drop(spawned.handle);
    assert_eq!(spawned.freed.get(), 1, "freed exactly once");
    match (caught, c.inner_outputs.get()) {
        (1, _) => Reached::Caught,
        (_, 1) => Reached::CompletionWon,
        _ => Reached::Aborted,
    }
}

/// Runs `race` under loom (with at most `bound` preemptions) and checks
/// that the executions reached exactly the outcomes in `expected`, so that
/// no branch of the checks above is vacuous and none is reached that should
/// not be.
fn model(
    bound: Option<usize>,
    request: Request,
    on_cancel: OnCancel,
    runner: Runner,
    expected: &[Reached],
) {
    mock::model_outcomes(bound, expected, move || race(request, on_cancel, runner));
}

/// `cancel` racing the inner future's completion, the thread that opens
/// the gate running the task after opening it (the main thread runs what is
/// left after joining it): completion wins if a poll took the task before
/// the cancel request; otherwise the catch point receives it at the await
/// where it waited, its inner future (ready or not by then) not run on.
#[test]
fn cancel_catch_point_vs_complete() {
    model(
        None,
        Request::Cancel,
        OnCancel::Swallow,
        Runner::Opener,
        &[Reached::Caught, Reached::CompletionWon],
    );
}

/// The cancelling thread runs the task, after the cancel: whether the gate
/// opened meanwhile or not, the catch point receives the cancellation (a
/// wake that raced it does not let the task's code run past the await).
#[test]
fn cancel_catch_point_lands_at_the_await() {
    model(
        None,
        Request::Cancel,
        OnCancel::Swallow,
        Runner::Canceller,
        &[Reached::Caught],
    );
}

/// The code after the catch point re-raises: the task ends `Cancelled`
/// exactly when the catch point received the cancellation. Bound 5
/// (unbounded it explores about a million executions in two minutes).
#[test]
fn cancel_catch_point_reraise_vs_complete() {
    model(
        Some(5),
        Request::Cancel,
        OnCancel::Reraise,
        Runner::Opener,
        &[Reached::Caught, Reached::CompletionWon],
    );
}

/// `abort` racing completion, the thread that opens the gate running the
/// task: the catch point never receives the abort; the task ends aborted or
/// completed.
#[test]
fn abort_catch_point_vs_complete() {
    model(
        None,
        Request::Abort,
        OnCancel::Swallow,
        Runner::Opener,
        &[Reached::Aborted, Reached::CompletionWon],
    );
}

/// `abort` of the suspended task, the aborting thread running it before the
/// gate opens: the future is dropped without a poll, the catch point it
/// holds notwithstanding.
#[test]
fn abort_catch_point_suspended() {
    model(
        None,
        Request::Abort,
        OnCancel::Swallow,
        Runner::Canceller,
        &[Reached::Aborted],
    );
}
