//! Several threads wake one task at once (by reference and by value, on
//! waker clones) while it may be running: at most one `Notified` exists at a
//! time, no wake-up is lost, and the task is freed exactly once.
#![cfg(tasklane_loom)]

use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, PollGuard, Queue};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Parks two clones of its waker in `wakers` on its first poll; ready once
/// it sees that both wakers have been used.
struct WaitForWakes {
    guard: PollGuard,
    polls: Counter,
    /// Incremented by each waking thread just before it wakes: a poll caused
    /// by a wake must see it (the state word orders it).
    wakes: Counter,
    wakers: Arc<Mutex<Vec<Waker>>>,
    output_drops: Counter,
    _future: DropCount,
}

impl Future for WaitForWakes {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        self.guard.enter();
        if self.polls.incr() == 1 {
            let mut wakers = self.wakers.lock().unwrap();
            wakers.push(cx.waker().clone());
            wakers.push(cx.waker().clone());
        }
        let ret = if self.wakes.get() == 2 {
            Poll::Ready(DropCount::new(&self.output_drops))
        } else {
            Poll::Pending
        };
        self.guard.exit();
        ret
    }
}

/// Three threads: one wakes by reference (then drops its clone), one wakes
/// by value, and the main thread runs the queue meanwhile and after both
/// have joined. Preemption bound 5 (unbounded, the model ran for more than
/// fourteen minutes before it was stopped).
#[test]
fn task_wake_many_threads() {
    mock::model(Some(5), || {
        let queue = Queue::new();
        let polls = Counter::new();
        let wakes = Counter::new();
        let future_drops = Counter::new();
        let output_drops = Counter::new();
        let wakers = Arc::new(Mutex::new(Vec::new()));
        let mut task = queue.spawn(WaitForWakes {
            guard: PollGuard::new(),
            polls: polls.clone(),
            wakes: wakes.clone(),
            wakers: wakers.clone(),
            output_drops: output_drops.clone(),
            _future: DropCount::new(&future_drops),
        });

        task.notified.run();
        let (by_ref, by_val) = {
            let mut w = wakers.lock().unwrap();
            let by_val = w.pop().unwrap();
            (w.pop().unwrap(), by_val)
        };
        let wakes1 = wakes.clone();
        let t1 = thread::spawn(move || {
            wakes1.incr();
            by_ref.wake_by_ref();
            drop(by_ref);
        });
        let wakes2 = wakes.clone();
        let t2 = thread::spawn(move || {
            wakes2.incr();
            by_val.wake();
        });
        queue.run_all();
        t1.join().unwrap();
        t2.join().unwrap();
        queue.run_all();

        assert!(task.handle.is_finished(), "a wake-up was lost");
        assert!(queue.max_len() <= 1, "two Notified queued at once");
        assert_eq!(polls.get(), queue.scheduled() + 1, "one poll per Notified");
        assert!((2..=3).contains(&polls.get()), "polls: {}", polls.get());
        assert_eq!(future_drops.get(), 1);
        assert_eq!(queue.registered(), 0);
        match mock::poll_join(&mut task.handle, Waker::noop()) {
            Poll::Ready(Ok(output)) => drop(output),
            other => panic!("not complete: {:?}", other.map(|r| r.map(|_| ()))),
        }
        assert_eq!(output_drops.get(), 1);
        assert_eq!(task.freed.get(), 0);
        drop(task.handle);
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}

/// The narrow case of the model above: a task already queued (`NOTIFIED`)
/// is woken by reference from another thread. The wake must happen before
/// the poll that follows it (the `Waker` contract: every wake happens-before
/// the start of the poll it causes, coalesced wakes included), so that poll
/// sees what the waker wrote before waking. Unbounded.
#[test]
fn wake_of_queued_task_happens_before_its_poll() {
    mock::model(None, || {
        let queue = Queue::new();
        let polls = Counter::new();
        let wakes = Counter::new();
        let future_drops = Counter::new();
        let output_drops = Counter::new();
        let wakers = Arc::new(Mutex::new(Vec::new()));
        let mut task = queue.spawn(WaitForWakes {
            guard: PollGuard::new(),
            polls: polls.clone(),
            wakes: wakes.clone(),
            wakers: wakers.clone(),
            output_drops: output_drops.clone(),
            _future: DropCount::new(&future_drops),
        });
        task.notified.run();
        let (first, second) = {
            let mut w = wakers.lock().unwrap();
            (w.pop().unwrap(), w.pop().unwrap())
        };
        // The first wake queues the task, on this thread.
        wakes.incr();
        first.wake();
        assert_eq!(queue.scheduled(), 1);
        let wakes2 = wakes.clone();
        let t = thread::spawn(move || {
            wakes2.incr();
            second.wake_by_ref();
            drop(second);
        });
        queue.run_all();
        t.join().unwrap();
        queue.run_all();

        assert!(task.handle.is_finished(), "a wake-up was lost");
        assert_eq!(polls.get(), queue.scheduled() + 1);
        match mock::poll_join(&mut task.handle, Waker::noop()) {
            Poll::Ready(Ok(output)) => drop(output),
            other => panic!("not complete: {:?}", other.map(|r| r.map(|_| ()))),
        }
        drop(task.handle);
        assert_eq!((future_drops.get(), output_drops.get()), (1, 1));
        assert_eq!(task.freed.get(), 1);
    });
}
