//! A cancel scope cancelled from another thread racing its own completion:
//! a task on the mock scheduler runs a future inside a scope, as
//! `CancelScope::run` does in the `tasklane` crate (a `ScopeDriver` asking
//! a `ScopeSignal`, the real code of `tasklane-sched/src/task/scope.rs`;
//! only the deadline timer is left out), while the main thread cancels the
//! scope through the signal and a spawned thread opens the gate the
//! future waits on (its completion); one of them, or the main thread after
//! joining, runs the task.
//!
//! What must hold, in every interleaving:
//!
//! * The run ends exactly once, with one outcome: the future's value
//!   (completion won: a poll found the gate open before the scope was seen
//!   cancelled), or the scope's cancellation (`Cancelled` with a scope
//!   origin). The task itself always ends `Completed`: a scope's
//!   cancellation never cancels the task.
//! * No wake-up is lost: whichever of the cancel and the gate comes last,
//!   the task is woken and finishes; and a cancel racing the run's first
//!   waker registration, with no gate to wake the task, is seen by that
//!   poll or wakes it (the model fails with a task left suspended).
//! * The future is dropped exactly once, before the run returns, inside its
//!   task. Cancelled with no catch point inside, it is not polled again
//!   after its first poll (the run delivers before polling it); with a
//!   catch point, the catch point receives the cancellation at the await
//!   where it waited, cleans up (one more await) and re-raises to the
//!   scope, whose run returns the cancellation.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::mock::{self, Counter, Gate, Queue, YieldOnce};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tasklane_sched::facade::{ScopeDriver, ScopePoll, ScopeSignal, WaiterSlot};
use tasklane_sched::task::{self, CancelCause, Cancelled, Origin, TaskState};

/// A scope's run, as `CancelScope::run` composes it (without a deadline).
struct Run<F> {
    future: Option<Pin<Box<F>>>,
    driver: ScopeDriver,
    signal: Arc<ScopeSignal>,
    slot: WaiterSlot,
}

impl<F: Future> Future for Run<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let fut = this.future.as_mut().expect("polled after it completed");
        let (signal, slot) = (&this.signal, &mut this.slot);
        let out = match this.driver.poll(fut.as_mut(), cx, |cx| {
            signal
                .poll_state(slot, cx.waker())
                .is_cancelled()
                .then_some(CancelCause::Scope)
        }) {
            ScopePoll::Pending => return Poll::Pending,
            ScopePoll::Ready(v) => Ok(v),
            ScopePoll::Cancelled(c) => Err(c),
        };
        this.future = None;
        this.signal.leave(&mut this.slot);
        Poll::Ready(out)
    }
}

impl<F> Drop for Run<F> {
    fn drop(&mut self) {
        self.signal.leave(&mut self.slot);
    }
}

#[derive(Clone)]
struct Counters {
    polls: Counter,
    drops: Counter,
    dropped_outside_task: Counter,
    caught: Counter,
    cleaned: Counter,
}

/// The scope's future: waits on the gate (in a catch point or not), and
/// counts its polls and its drop.
struct Inner {
    gate: Gate,
    c: Counters,
}

impl Future for Inner {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.c.polls.incr();
        self.gate.poll_open(cx).map(|()| 7)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.c.drops.incr();
        if task::current().is_none() {
            self.c.dropped_outside_task.incr();
        }
    }
}

/// Whether the scope's future holds a catch point.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Body {
    /// Waits on the gate directly.
    Plain,
    /// Waits in a catch point; on a cancellation cleans up (one await) and
    /// re-raises.
    CatchReraise,
}

/// Which thread runs the queue after its step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Runner {
    Opener,
    Canceller,
    /// Nobody opens the gate: a spawned thread makes the task's first poll
    /// (the run's first waker registration) while the main thread cancels.
    /// Only the scope's wake can finish the task.
    FirstPoll,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reached {
    /// The future completed: its value.
    CompletionWon,
    /// The scope's cancellation ended the run.
    ScopeCancelled,
}

fn race(body: Body, runner: Runner) -> Reached {
    let queue = Queue::new();
    let gate = Gate::new();
    let signal = Arc::new(ScopeSignal::new());
    let c = Counters {
        polls: Counter::new(),
        drops: Counter::new(),
        dropped_outside_task: Counter::new(),
        caught: Counter::new(),
        cleaned: Counter::new(),
    };
    let future = {
        let (gate, c) = (gate.clone(), c.clone());
        async move {
            let inner = Inner { gate, c: c.clone() };
            match body {
                Body::Plain => inner.await,
                Body::CatchReraise => match task::cancellable(inner).await {
                    Ok(v) => v,
                    Err(cancelled) => {
                        c.caught.incr();
                        assert_eq!(c.drops.get(), 1, "dropped before Err was seen");
                        YieldOnce::new().await;
                        c.cleaned.incr();
                        cancelled.reraise().await
                    }
                },
            }
        }
    };
    let run = Run {
        future: Some(Box::pin(future)),
        driver: ScopeDriver::new(),
        signal: signal.clone(),
        slot: WaiterSlot::default(),
    };
    let run_ended = Counter::new();
    let ended = run_ended.clone();
    let mut spawned = queue.spawn(async move {
        let r = run.await;
        ended.incr();
        r
    });
    let first = if runner == Runner::FirstPoll {
        Some(spawned.notified)
    } else {
        spawned.notified.run();
        assert_eq!(c.polls.get(), 1);
        assert_eq!(spawned.handle.state(), TaskState::Suspended);
        None
    };

    let (g, q) = (gate.clone(), queue.clone());
    let opener = thread::spawn(move || match first {
        Some(notified) => notified.run(),
        None => {
            g.open();
            if runner == Runner::Opener {
                q.run_all();
            }
        }
    });
    assert!(signal.cancel());
    if runner == Runner::Canceller {
        queue.run_all();
    }
    opener.join().unwrap();
    queue.run_all();

    assert!(queue.is_empty());
    let state = spawned.handle.state();
    let Poll::Ready(result) = mock::poll_join(&mut spawned.handle, Waker::noop()) else {
        panic!("the task did not finish (a lost wake-up?): {state:?}");
    };
    assert_eq!(state, TaskState::Completed, "the scope cancelled the task");
    let out = result.expect("the task completed");
    assert_eq!(run_ended.get(), 1);
    assert_eq!(c.drops.get(), 1, "the future was dropped once");
    assert_eq!(c.dropped_outside_task.get(), 0, "dropped outside its task");
    let reached = match out {
        Ok(v) => {
            assert_eq!(v, 7);
            assert_eq!(c.caught.get(), 0);
            Reached::CompletionWon
        }
        Err(cancelled) => {
            assert!(matches!(cancelled.origin(), Origin::Scope(_)));
            assert_eq!(c.polls.get(), 1, "polled past the await where it waited");
            if body == Body::CatchReraise {
                assert_eq!((c.caught.get(), c.cleaned.get()), (1, 1));
            }
            Reached::ScopeCancelled
        }
    };
    gate.clear();
    drop(gate);
    drop(spawned.handle);
    assert_eq!(spawned.freed.get(), 1, "freed exactly once");
    reached
}

fn model(bound: Option<usize>, body: Body, runner: Runner, expected: &[Reached]) {
    mock::model_outcomes(bound, expected, move || race(body, runner));
}

/// No catch point inside; the thread that opens the gate runs the task:
/// completion wins if that poll came before the cancel; otherwise the
/// future is dropped where it waited.
#[test]
fn scope_cancel_vs_complete_plain() {
    model(
        None,
        Body::Plain,
        Runner::Opener,
        &[Reached::CompletionWon, Reached::ScopeCancelled],
    );
}

/// No catch point inside; the cancelling thread runs the task, after its
/// cancel: the scope's cancellation always wins, even when the gate
/// opened (and woke the task) first: the run asks its scope before it
/// polls the future again.
#[test]
fn scope_cancel_vs_complete_plain_canceller_runs() {
    model(
        None,
        Body::Plain,
        Runner::Canceller,
        &[Reached::ScopeCancelled],
    );
}

/// The scope cancelled while its run makes its first poll and registers
/// its waker, with nothing else to wake the task: the cancel is seen by
/// that poll or wakes the task, never lost.
#[test]
fn scope_cancel_vs_first_poll() {
    model(
        None,
        Body::Plain,
        Runner::FirstPoll,
        &[Reached::ScopeCancelled],
    );
}

/// A catch point inside, which cleans up and re-raises to the scope
/// (bounded: 5 preemptions; unbounded it explores about 3 million
/// executions).
#[test]
fn scope_cancel_vs_complete_catch_reraise() {
    model(
        Some(5),
        Body::CatchReraise,
        Runner::Opener,
        &[Reached::CompletionWon, Reached::ScopeCancelled],
    );
}
