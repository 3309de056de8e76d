//! Dropping a `JoinHandle` cancels its task (structured by default);
//! `detach()` lets it run to the end, unowned.

mod common;

use common::{Counts, DropCounter, Tracked, occupy_worker, rt, spin_until};
use futures_channel::oneshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use tasklane::task::TaskState;

#[test]
fn dropping_the_handle_before_the_first_poll_cancels() {
    let rt = rt(1);
    let (gate, blocker) = occupy_worker(&rt);
    let counts = Counts::new();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    drop(rt.spawn(Tracked::new(&counts, async move {
        r.store(true, Ordering::SeqCst);
    })));
    gate.open();
    rt.block_on(blocker).unwrap();
    // The worker reaches the cancelled task once the blocker is done.
    spin_until("future dropped", || counts.drops() == 1);
    assert_eq!(counts.polls(), 0);
    assert!(!ran.load(Ordering::SeqCst), "the body never ran");
}

#[test]
fn dropping_the_handle_of_a_suspended_task_drops_its_future() {
    let rt = rt(2);
    let counts = Counts::new();
    let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
    let after = Arc::new(AtomicBool::new(false));
    let a = after.clone();

    /// Sends on its channel when dropped.
    struct SignalOnDrop(mpsc::Sender<()>);
    impl Drop for SignalOnDrop {
        fn drop(&mut self) {
            self.0.send(()).unwrap();
        }
    }

    let guard = SignalOnDrop(dropped_tx);
    let (_keep_tx, rx) = oneshot::channel::<()>();
    let h = rt.spawn(Tracked::new(&counts, async move {
        let _guard = guard;
        let _ = rx.await;
        a.store(true, Ordering::SeqCst);
    }));
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    drop(h);
    dropped_rx.recv().expect("the future's destructor ran");
    spin_until("future dropped", || counts.drops() == 1);
    assert_eq!(counts.polls(), 1);
    assert!(
        !after.load(Ordering::SeqCst),
        "the body stopped at its wait"
    );
}

/// The handle is dropped while the task is inside a poll: that poll ends,
/// and the task stops at its next suspension point.
#[test]
fn dropping_the_handle_of_a_running_task_stops_it_at_the_next_suspension() {
    let rt = rt(2);
    let counts = Counts::new();
    let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let reached = Arc::new(AtomicBool::new(false));
    let past = Arc::new(AtomicBool::new(false));
    let (r, p) = (reached.clone(), past.clone());
    let h = rt.spawn(Tracked::new(&counts, async move {
        in_poll_tx.send(()).unwrap();
        resume_rx.recv().unwrap(); // holds this worker inside the poll
        r.store(true, Ordering::SeqCst);
        tasklane::yield_now().await;
        p.store(true, Ordering::SeqCst);
    }));
    in_poll_rx.recv().unwrap();
    assert_eq!(h.state(), TaskState::Running);
    drop(h);
    resume_tx.send(()).unwrap();
    spin_until("future dropped", || counts.drops() == 1);
    assert!(
        reached.load(Ordering::SeqCst),
        "the running poll was finished"
    );
    assert!(
        !past.load(Ordering::SeqCst),
        "stopped at the suspension point"
    );
    assert_eq!(counts.polls(), 1);
}

#[test]
fn detach_lets_the_task_finish() {
    let rt = rt(2);
    let (futs, outs) = (Counts::new(), Counts::new());
    let (go_tx, go_rx) = oneshot::channel::<u32>();
    let (done_tx, done_rx) = oneshot::channel::<u32>();
    let o = outs.clone();
    let h = rt.spawn(Tracked::new(&futs, async move {
        let v = go_rx.await.unwrap();
        tasklane::yield_now().await;
        done_tx.send(v * 2).unwrap();
        DropCounter::new(&o)
    }));
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    h.detach();
    go_tx.send(21).unwrap();
    assert_eq!(rt.block_on(done_rx).unwrap(), 42);
    spin_until("output dropped", || outs.drops() == 1);
    spin_until("future dropped", || futs.drops() == 1);
    assert_eq!(outs.created(), 1);
}

#[test]
fn detach_before_the_first_poll_still_runs() {
    let rt = rt(1);
    let (gate, blocker) = occupy_worker(&rt);
    let (done_tx, done_rx) = oneshot::channel::<()>();
    rt.spawn(async move { done_tx.send(()).unwrap() }).detach();
    gate.open();
    rt.block_on(done_rx).unwrap();
    rt.block_on(blocker).unwrap();
}

/// Many detached tasks, each signalling its end.
#[test]
fn many_detached_tasks_all_finish() {
    let rt = rt(2);
    let futs = Counts::new();
    let (tx, rx) = mpsc::channel::<usize>();
    for i in 0..1_000 {
        let tx = tx.clone();
        rt.spawn(Tracked::new(&futs, async move {
            tasklane::yield_now().await;
            tx.send(i).unwrap();
        }))
        .detach();
    }
    drop(tx);
    let mut seen: Vec<usize> = rx.iter().collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..1_000).collect::<Vec<_>>());
    spin_until("every future dropped", || futs.drops() == 1_000);
}

/// Dropping the handle after the task completed drops the output, once, and
/// cancels nothing.
#[test]
fn dropping_the_handle_after_completion_drops_the_output() {
    let rt = rt(2);
    let outs = Counts::new();
    let o = outs.clone();
    let h = rt.spawn(async move { DropCounter::new(&o) });
    spin_until("task finished", || h.is_finished());
    assert_eq!(h.state(), TaskState::Completed);
    assert_eq!(outs.drops(), 0, "the output waits for its owner");
    drop(h);
    assert_eq!(outs.drops(), 1, "dropped by the handle's drop, at once");
}

/// A task owns its children's handles: cancelling it drops them, which
/// cancels the children (structured concurrency).
#[test]
fn cancelling_a_parent_cancels_the_children_it_owns() {
    let rt = rt(2);
    let children = Counts::new();
    let (ready_tx, ready_rx) = oneshot::channel::<Vec<tasklane::task::TaskId>>();
    let c = children.clone();
    let mut parent = rt.spawn(async move {
        let kids: Vec<_> = (0..10)
            .map(|_| tasklane::spawn(Tracked::new(&c, std::future::pending::<()>())))
            .collect();
        common::yield_until(|| kids.iter().all(|k| k.state() == TaskState::Suspended)).await;
        ready_tx
            .send(kids.iter().map(|k| k.id()).collect())
            .unwrap();
        std::future::pending::<()>().await;
        drop(kids);
    });
    let ids = rt.block_on(ready_rx).unwrap();
    assert_eq!(ids.len(), 10);
    assert!(parent.cancel());
    assert!(rt.block_on(&mut parent).unwrap_err().is_cancelled());
    spin_until("children dropped", || children.drops() == 10);
    assert_eq!(
        children.polls(),
        10,
        "each child was polled once, then cancelled"
    );
}
