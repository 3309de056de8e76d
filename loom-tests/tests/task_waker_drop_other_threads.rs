//! Waker clones are dropped (or consumed by a wake) on other threads while
//! the task completes and its handle is dropped: whichever reference goes
//! last frees the task, exactly once, with the future and output each
//! dropped exactly once.
#![cfg(tasklane_loom)]

use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_tests::mock::{self, Counter, DropCount, PollGuard, Queue};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// First poll: parks two clones of its waker in `parked`, wakes itself and
/// returns `Pending`. Second poll: ready.
struct CloneWakers {
    guard: PollGuard,
    polls: Counter,
    outputs: Counter,
    output_drops: Counter,
    parked: Arc<Mutex<Vec<Waker>>>,
    _future: DropCount,
}

impl Future for CloneWakers {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        self.guard.enter();
        let ret = if self.polls.incr() == 1 {
            let mut parked = self.parked.lock().unwrap();
            parked.push(cx.waker().clone());
            parked.push(cx.waker().clone());
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            self.outputs.incr();
            Poll::Ready(DropCount::new(&self.output_drops))
        };
        self.guard.exit();
        ret
    }
}

/// After the first poll: one thread drops a waker clone and then the join
/// handle, another wakes the task by value with the other clone, and the
/// main thread runs the task's second, completing poll. Preemption bound 5
/// (unbounded, the model runs for more than ten minutes).
#[test]
fn task_waker_drop_other_threads() {
    mock::model(Some(5), || {
        let queue = Queue::new();
        let (polls, outputs, output_drops, future_drops) = (
            Counter::new(),
            Counter::new(),
            Counter::new(),
            Counter::new(),
        );
        let parked = Arc::new(Mutex::new(Vec::new()));
        let task = queue.spawn(CloneWakers {
            guard: PollGuard::new(),
            polls: polls.clone(),
            outputs: outputs.clone(),
            output_drops: output_drops.clone(),
            parked: parked.clone(),
            _future: DropCount::new(&future_drops),
        });
        task.notified.run();
        assert_eq!(queue.scheduled(), 1, "the self-wake re-queued the task");
        let (w1, w2) = {
            let mut p = parked.lock().unwrap();
            (p.pop().unwrap(), p.pop().unwrap())
        };
        let handle = task.handle;
        let dropper = thread::spawn(move || {
            drop(w1);
            drop(handle);
        });
        let waker = thread::spawn(move || w2.wake());
        queue.run_all();
        dropper.join().unwrap();
        waker.join().unwrap();

        // Neither the wake (the task was queued, running or complete) nor the
        // handle's cancel (likewise) queued it again.
        assert_eq!(queue.run_all(), 0);
        assert_eq!(queue.scheduled(), 1);
        assert_eq!(queue.registered(), 0);
        assert_eq!(future_drops.get(), 1, "future dropped once");
        assert!((1..=2).contains(&polls.get()));
        assert_eq!(
            output_drops.get(),
            outputs.get(),
            "output leaked or dropped twice"
        );
        assert_eq!(task.freed.get(), 1, "freed exactly once");
    });
}
