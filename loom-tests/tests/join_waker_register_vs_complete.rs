//! A `JoinHandle` is polled (registering, then replacing, its waker) while
//! the task completes on another thread: each poll either reads the output
//! at once or leaves a waker that the completion wakes. A join wake-up is
//! never lost, and no waker clone is leaked.
#![cfg(tasklane_loom)]

use loom::thread;
use loom_tests::mock::{self, Counter, CountingWaker, DropCount, Queue};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Ready at its first poll with an output that counts its drop.
struct Finish {
    output_drops: Counter,
}

impl Future for Finish {
    type Output = DropCount;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<DropCount> {
        Poll::Ready(DropCount::new(&self.output_drops))
    }
}

/// One thread runs the task's completing poll; the main thread polls the
/// handle with a first waker and, if still pending, again with a second
/// (so the slot is taken back and rewritten). Unbounded.
#[test]
fn join_waker_register_vs_complete() {
    mock::model(None, || {
        let queue = Queue::new();
        let output_drops = Counter::new();
        let mut task = queue.spawn(Finish {
            output_drops: output_drops.clone(),
        });
        let notified = task.notified;
        let runner = thread::spawn(move || notified.run());

        let (c1, w1) = CountingWaker::new();
        let (c2, w2) = CountingWaker::new();
        let mut output = None;
        // The waker the last pending poll left, if any.
        let mut registered = None;
        for (count, waker) in [(&c1, &w1), (&c2, &w2)] {
            match mock::poll_join(&mut task.handle, waker) {
                Poll::Ready(r) => {
                    output = Some(r.expect("the task completed"));
                    break;
                }
                Poll::Pending => registered = Some(count),
            }
        }
        runner.join().unwrap();

        match output {
            Some(_) => {}
            None => {
                let count = registered.expect("polled at least once");
                assert_eq!(count.wakes(), 1, "the join wake-up was lost");
                match mock::poll_join(&mut task.handle, &w1) {
                    Poll::Ready(r) => output = Some(r.expect("the task completed")),
                    Poll::Pending => panic!("woken, yet the output is not there"),
                }
            }
        }
        // A waker that was replaced is woken at most once, and only if the
        // task completed before it was replaced.
        assert!(c1.wakes() <= 1 && c2.wakes() <= 1);
        drop(output);
        assert_eq!(output_drops.get(), 1);
        drop(task.handle);
        assert_eq!(task.freed.get(), 1, "freed exactly once");
        drop((w1, w2));
        // Every clone the task made of either waker was dropped.
        assert_eq!(std::sync::Arc::strong_count(&c1), 1, "join waker leaked");
        assert_eq!(std::sync::Arc::strong_count(&c2), 1, "join waker leaked");
    });
}
