//! The real current-thread `Scheduler`: the thread inside `block_on` runs
//! the worker loop and parks in it; a wake of the root future, or a task
//! queued from another thread, must end that park (the root's waker is one
//! more notifier of the idle protocol, `sched/current.rs`). A lost wake-up
//! leaves `block_on` parked forever: loom reports a deadlock.
#![cfg(tasklane_loom)]

use loom::future::AtomicWaker;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::thread;
use loom_tests::mock;
use std::task::Poll;
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Config, Scheduler};

fn current_thread() -> Scheduler {
    Scheduler::new(Config {
        current_thread: true,
        spin_before_park: Duration::ZERO,
        ..Config::default()
    })
    .unwrap()
}

/// A flag with a waker: set from anywhere, awaited by the root.
#[derive(Default)]
struct Signal {
    set: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    fn set(&self) {
        self.set.store(true, SeqCst);
        self.waker.wake();
    }

    fn poll(&self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.waker.register(cx.waker().clone());
        if self.set.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Another thread wakes the root while `block_on` looks for tasks and
/// parks. Unbounded preemptions (about 2 000 executions).
#[test]
fn ct_root_woken_from_another_thread() {
    mock::model(None, || {
        let mut sched = current_thread();
        let signal = Arc::new(Signal::default());
        let s = signal.clone();
        let t = thread::spawn(move || s.set());
        sched.block_on(|cx| signal.poll(cx));
        t.join().unwrap();
        let stats = sched.shutdown(Duration::from_secs(1));
        assert!(stats.dropped.is_empty(), "{stats:?}");
    });
}

/// Another thread spawns a task (through the injector) while `block_on`
/// parks; the task, run by `block_on`'s thread, wakes the root. Unbounded
/// preemptions (about 170 000 executions).
#[test]
fn ct_task_queued_from_another_thread() {
    mock::model(None, || {
        let mut sched = current_thread();
        let signal = Arc::new(Signal::default());
        let s = signal.clone();
        let handle = sched.handle().clone();
        let t = thread::spawn(move || {
            handle
                .spawn(async move { s.set() }, TaskOptions::new())
                .detach();
        });
        sched.block_on(|cx| signal.poll(cx));
        t.join().unwrap();
        let stats = sched.shutdown(Duration::from_secs(1));
        assert!(stats.dropped.is_empty(), "{stats:?}");
        assert_eq!(sched.handle().num_tasks(), 0);
    });
}
