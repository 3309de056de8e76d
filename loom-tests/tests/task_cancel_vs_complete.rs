//! `JoinHandle::cancel` races the task's completing poll: the task ends in
//! exactly one final state, the future and the output are each dropped
//! exactly once, and a cancel that returns `false` means completion won.
#![cfg(tasklane_loom)]

use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, PollGuard, Queue};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tasklane_sched::task::TaskState;

/// Ready at its first poll, with an output that counts its drop.
struct Finish {
    guard: PollGuard,
    polls: Counter,
    outputs: Counter,
    output_drops: Counter,
    _future: DropCount,
}

impl Future for Finish {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<DropCount> {
        self.guard.enter();
        self.polls.incr();
        self.outputs.incr();
        let out = DropCount::new(&self.output_drops);
        self.guard.exit();
        Poll::Ready(out)
    }
}

struct Counters {
    polls: Counter,
    outputs: Counter,
    output_drops: Counter,
    future_drops: Counter,
}

fn finish() -> (Finish, Counters) {
    let c = Counters {
        polls: Counter::new(),
        outputs: Counter::new(),
        output_drops: Counter::new(),
        future_drops: Counter::new(),
    };
    let f = Finish {
        guard: PollGuard::new(),
        polls: c.polls.clone(),
        outputs: c.outputs.clone(),
        output_drops: c.output_drops.clone(),
        _future: DropCount::new(&c.future_drops),
    };
    (f, c)
}

/// One thread runs the task's first (and completing) poll while the main
/// thread cancels it. Unbounded.
#[test]
fn task_cancel_vs_complete() {
    mock::model(None, || {
        let queue = Queue::new();
        let (future, c) = finish();
        let mut task = queue.spawn(future);
        let notified = task.notified;
        let runner = thread::spawn(move || notified.run());
        let cancel_returned = task.handle.cancel();
        runner.join().unwrap();
        // The cancel found the task queued, running or complete: it never
        // needs to queue it again.
        assert_eq!(queue.run_all(), 0);
        assert_eq!(queue.registered(), 0);

        let state = task.handle.state();
        match mock::poll_join(&mut task.handle, Waker::noop()) {
            Poll::Ready(Ok(output)) => {
                assert_eq!(state, TaskState::Completed);
                assert_eq!(c.polls.get(), 1);
                drop(output);
                assert_eq!(c.output_drops.get(), 1, "output dropped once");
            }
            Poll::Ready(Err(e)) => {
                assert!(e.is_cancelled(), "{e}");
                assert_eq!(state, TaskState::Cancelled);
                assert!(
                    cancel_returned,
                    "cancel returned false but the task was cancelled"
                );
                assert_eq!(c.polls.get(), 0, "cancelled before its poll");
                assert_eq!(c.outputs.get(), 0);
            }
            Poll::Pending => panic!("the task did not finish"),
        }
        assert_eq!(c.future_drops.get(), 1, "future dropped once");
        assert_eq!(c.output_drops.get(), c.outputs.get());
        drop(task.handle);
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}

/// Returns `Pending` at its first poll after parking its waker; ready at
/// the next.
struct SleepOnce {
    inner: Finish,
    parked: loom::sync::Arc<loom::sync::Mutex<Option<Waker>>>,
}

impl Future for SleepOnce {
    type Output = DropCount;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        let mut parked = self.parked.lock().unwrap();
        if parked.is_none() && self.inner.polls.get() == 0 {
            *parked = Some(cx.waker().clone());
            drop(parked);
            // Counted as a poll, so the second poll completes.
            self.inner.guard.enter();
            self.inner.polls.incr();
            self.inner.guard.exit();
            return Poll::Pending;
        }
        drop(parked);
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// The task sleeps (polled once, `Pending`); one thread wakes it and runs
/// the queue while the main thread cancels it. Exactly one `Notified` is
/// queued between the wake and the cancel, and the task ends either
/// completed (its second poll came first; then `cancel` may return `false`)
/// or cancelled. Unbounded.
#[test]
fn task_cancel_vs_wake() {
    mock::model(None, || {
        let queue = Queue::new();
        let (inner, c) = finish();
        let parked = loom::sync::Arc::new(loom::sync::Mutex::new(None));
        let mut task = queue.spawn(SleepOnce {
            inner,
            parked: parked.clone(),
        });
        task.notified.run();
        let waker = parked.lock().unwrap().take().expect("parked its waker");
        let q = queue.clone();
        let waker_thread = thread::spawn(move || {
            waker.wake();
            q.run_all();
        });
        let cancel_returned = task.handle.cancel();
        waker_thread.join().unwrap();
        queue.run_all();

        assert!(queue.max_len() <= 1, "two Notified queued at once");
        assert_eq!(
            queue.scheduled(),
            1,
            "the wake and the cancel queued the task once"
        );
        assert_eq!(queue.registered(), 0);
        match mock::poll_join(&mut task.handle, Waker::noop()) {
            Poll::Ready(Ok(output)) => {
                assert_eq!(c.polls.get(), 2);
                drop(output);
            }
            Poll::Ready(Err(e)) => {
                assert!(e.is_cancelled(), "{e}");
                assert!(cancel_returned);
                assert_eq!(c.polls.get(), 1);
            }
            Poll::Pending => panic!("the task did not finish"),
        }
        assert_eq!(c.future_drops.get(), 1, "future dropped once");
        assert_eq!(c.output_drops.get(), c.outputs.get());
        drop(task.handle);
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}
