//! The `JoinHandle` is dropped while the task completes on another thread:
//! whoever is last to hold the output drops it, exactly once, and the task
//! is freed exactly once. (Dropping a handle cancels its task, so the task
//! may also end cancelled, its future dropped unpolled.)
#![cfg(tasklane_loom)]

use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, PollGuard, Queue};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Ready at its first poll with an output that counts its drop; parks a
/// clone of its waker in `parked` when it has one.
struct Finish {
    guard: PollGuard,
    polls: Counter,
    outputs: Counter,
    output_drops: Counter,
    parked: Option<loom::sync::Arc<loom::sync::Mutex<Option<Waker>>>>,
    _future: DropCount,
}

impl Future for Finish {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        self.guard.enter();
        let first = self.polls.incr() == 1;
        let ret = match &self.parked {
            Some(parked) if first => {
                *parked.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => {
                self.outputs.incr();
                Poll::Ready(DropCount::new(&self.output_drops))
            }
        };
        self.guard.exit();
        ret
    }
}

/// One thread runs the task's only poll while the main thread drops the
/// handle. Unbounded.
#[test]
fn task_join_drop_vs_complete() {
    mock::model(None, || {
        let queue = Queue::new();
        let (polls, outputs, output_drops, future_drops) = (
            Counter::new(),
            Counter::new(),
            Counter::new(),
            Counter::new(),
        );
        let task = queue.spawn(Finish {
            guard: PollGuard::new(),
            polls: polls.clone(),
            outputs: outputs.clone(),
            output_drops: output_drops.clone(),
            parked: None,
            _future: DropCount::new(&future_drops),
        });
        let notified = task.notified;
        let runner = thread::spawn(move || notified.run());
        drop(task.handle);
        runner.join().unwrap();
        // The handle went away while the task was queued, running or
        // complete: nothing is queued again.
        assert_eq!(queue.run_all(), 0);

        assert_eq!(queue.registered(), 0);
        assert_eq!(future_drops.get(), 1, "future dropped once");
        assert!(outputs.get() <= 1 && polls.get() == outputs.get());
        assert_eq!(
            output_drops.get(),
            outputs.get(),
            "output leaked or dropped twice"
        );
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}

/// The task sleeps with its waker on another thread; that thread wakes it
/// and runs the queue while the main thread drops the handle (which then
/// cancels the task, queueing it itself if it found it idle). Unbounded.
#[test]
fn task_join_drop_vs_wake() {
    mock::model(None, || {
        let queue = Queue::new();
        let (polls, outputs, output_drops, future_drops) = (
            Counter::new(),
            Counter::new(),
            Counter::new(),
            Counter::new(),
        );
        let parked = loom::sync::Arc::new(loom::sync::Mutex::new(None));
        let task = queue.spawn(Finish {
            guard: PollGuard::new(),
            polls: polls.clone(),
            outputs: outputs.clone(),
            output_drops: output_drops.clone(),
            parked: Some(parked.clone()),
            _future: DropCount::new(&future_drops),
        });
        task.notified.run();
        let waker = parked.lock().unwrap().take().expect("parked its waker");
        let q = queue.clone();
        let waker_thread = thread::spawn(move || {
            waker.wake();
            q.run_all();
        });
        drop(task.handle);
        waker_thread.join().unwrap();
        queue.run_all();

        assert!(queue.max_len() <= 1, "two Notified queued at once");
        assert_eq!(
            queue.scheduled(),
            1,
            "the wake and the cancel queued the task once"
        );
        assert_eq!(queue.registered(), 0);
        assert_eq!(future_drops.get(), 1, "future dropped once");
        assert_eq!(
            output_drops.get(),
            outputs.get(),
            "output leaked or dropped twice"
        );
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}
