//! A task woken by another thread while its poll is in progress is polled
//! again exactly once, and never while the first poll still runs.
#![cfg(tasklane_loom)]

use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, PollGuard, Queue};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// On its first poll, hands a clone of its waker to a new thread that wakes
/// it (by value) and then runs whatever the queue holds; ready on the second
/// poll.
struct WakeFromThread {
    guard: PollGuard,
    polls: Counter,
    queue: Queue,
    waker_thread: Arc<Mutex<Option<thread::JoinHandle<()>>>>,
    output_drops: Counter,
    _future: DropCount,
}

impl Future for WakeFromThread {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        self.guard.enter();
        let ret = if self.polls.incr() == 1 {
            let waker = cx.waker().clone();
            let queue = self.queue.clone();
            let t = thread::spawn(move || {
                waker.wake();
                // A second runner: if the wake had queued the task while it
                // was running, this would poll it concurrently.
                queue.run_all();
            });
            *self.waker_thread.lock().unwrap() = Some(t);
            Poll::Pending
        } else {
            Poll::Ready(DropCount::new(&self.output_drops))
        };
        self.guard.exit();
        ret
    }
}

/// Unbounded: two threads (main, the waker), explored exhaustively.
#[test]
fn task_wake_while_running() {
    mock::model(None, || {
        let queue = Queue::new();
        let polls = Counter::new();
        let future_drops = Counter::new();
        let output_drops = Counter::new();
        let waker_thread = Arc::new(Mutex::new(None));
        let mut task = queue.spawn(WakeFromThread {
            guard: PollGuard::new(),
            polls: polls.clone(),
            queue: queue.clone(),
            waker_thread: waker_thread.clone(),
            output_drops: output_drops.clone(),
            _future: DropCount::new(&future_drops),
        });

        task.notified.run();
        queue.run_all();
        let t = waker_thread.lock().unwrap().take().expect("first poll ran");
        t.join().unwrap();
        queue.run_all();

        assert_eq!(polls.get(), 2, "polled again exactly once");
        assert_eq!(queue.scheduled(), 1, "one Notified for the wake");
        assert_eq!(future_drops.get(), 1);
        assert_eq!(queue.registered(), 0, "left the registry");
        match mock::poll_join(&mut task.handle, Waker::noop()) {
            Poll::Ready(Ok(output)) => drop(output),
            other => panic!("not complete: {:?}", other.map(|r| r.map(|_| ()))),
        }
        assert_eq!(output_drops.get(), 1);
        assert_eq!(task.freed.get(), 0, "the handle still holds a reference");
        drop(task.handle);
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}
