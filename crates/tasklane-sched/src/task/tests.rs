//! Unit tests of the task core, small enough to run under miri
//! (`cargo +nightly miri test -p tasklane-sched`): every path that touches
//! the cell through raw pointers.

use super::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A scheduler that queues woken tasks and keeps the registry's references.
#[derive(Clone, Default)]
struct TestSched {
    queue: Arc<Mutex<Vec<Notified>>>,
    registry: Arc<Mutex<Vec<TaskRef>>>,
}

impl Schedule for TestSched {
    fn schedule(&self, task: Notified) {
        self.queue.lock().unwrap().push(task);
    }
    fn release(&self, task: &TaskRef) -> Option<TaskRef> {
        let mut reg = self.registry.lock().unwrap();
        let pos = reg.iter().position(|t| t.id() == task.id())?;
        Some(reg.swap_remove(pos))
    }
}

impl TestSched {
    fn spawn<F>(&self, f: F) -> (Notified, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (n, j, r) = new(f, self.clone(), TaskOptions::new());
        self.registry.lock().unwrap().push(r);
        (n, j)
    }
    fn run_all(&self) -> usize {
        let mut ran = 0;
        loop {
            let next = self.queue.lock().unwrap().pop();
            match next {
                Some(t) => {
                    t.run();
                    ran += 1;
                }
                None => return ran,
            }
        }
    }
}

/// Counts its drops; shared by futures and outputs.
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Pending until `open` is set; stores its waker in `slot`.
struct Gate {
    open: Arc<AtomicUsize>,
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
    _drop: Tracked,
}
impl Future for Gate {
    type Output = Tracked;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Tracked> {
        self.polls.fetch_add(1, SeqCst);
        if self.open.load(SeqCst) == 1 {
            Poll::Ready(Tracked(self._drop.0.clone()))
        } else {
            *self.slot.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

struct Parts {
    open: Arc<AtomicUsize>,
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}
fn gate() -> (Gate, Parts) {
    let p = Parts {
        open: Arc::default(),
        slot: Arc::default(),
        polls: Arc::default(),
        drops: Arc::default(),
    };
    let g = Gate {
        open: p.open.clone(),
        slot: p.slot.clone(),
        polls: p.polls.clone(),
        _drop: Tracked(p.drops.clone()),
    };
    (g, p)
}

/// A waker that counts wakes.
#[derive(Default)]
struct CountWaker(AtomicUsize);
impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn poll_join<T>(j: &mut JoinHandle<T>, w: &Arc<CountWaker>) -> Poll<Result<T, JoinError>> {
    let waker = Waker::from(w.clone());
    Pin::new(j).poll(&mut Context::from_waker(&waker))
}

#[test]
fn runs_to_completion_and_joins() {
    let s = TestSched::default();
    let (n, mut j) = s.spawn(async { 7 });
    assert_eq!(j.state(), TaskState::Scheduled);
    n.run();
    assert!(j.is_finished());
    assert_eq!(j.state(), TaskState::Completed);
    let w = Arc::new(CountWaker::default());
    assert!(matches!(poll_join(&mut j, &w), Poll::Ready(Ok(7))));
    assert!(s.registry.lock().unwrap().is_empty());
}

#[test]
fn join_waker_is_woken_on_completion() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, mut j) = s.spawn(g);
    n.run();
    assert_eq!(j.state(), TaskState::Suspended);
    let w = Arc::new(CountWaker::default());
    assert!(poll_join(&mut j, &w).is_pending());
    // Re-polling with the same waker keeps it; a different one replaces it.
    assert!(poll_join(&mut j, &w).is_pending());
    let w2 = Arc::new(CountWaker::default());
    assert!(poll_join(&mut j, &w2).is_pending());
    p.open.store(1, SeqCst);
    p.slot.lock().unwrap().take().unwrap().wake();
    assert_eq!(s.run_all(), 1);
    assert_eq!(w.0.load(SeqCst), 0);
    assert_eq!(w2.0.load(SeqCst), 1);
    let out = poll_join(&mut j, &w2);
    assert!(matches!(out, Poll::Ready(Ok(_))));
    drop(out);
    // The future and the output each dropped once.
    assert_eq!(p.drops.load(SeqCst), 2);
}

#[test]
fn wake_while_running_repolls_once() {
    struct WakeSelf(usize);
    impl Future for WakeSelf {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.0 += 1;
            if self.0 == 3 {
                return Poll::Ready(self.0);
            }
            cx.waker().wake_by_ref();
            cx.waker().wake_by_ref();
            #[allow(clippy::waker_clone_wake)] // a by-value wake is the point
            cx.waker().clone().wake();
            Poll::Pending
        }
    }
    let s = TestSched::default();
    let (n, mut j) = s.spawn(WakeSelf(0));
    n.run();
    assert_eq!(s.queue.lock().unwrap().len(), 1);
    assert_eq!(s.run_all(), 2);
    let w = Arc::new(CountWaker::default());
    assert!(matches!(poll_join(&mut j, &w), Poll::Ready(Ok(3))));
}

#[test]
fn cancel_before_first_poll_never_polls() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, mut j) = s.spawn(g);
    assert!(j.cancel());
    n.run();
    assert_eq!(p.polls.load(SeqCst), 0);
    assert_eq!(p.drops.load(SeqCst), 1);
    assert!(j.is_cancelled());
    assert!(!j.cancel());
    let w = Arc::new(CountWaker::default());
    match poll_join(&mut j, &w) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled() && !e.is_panic()),
        _ => panic!("expected a cancellation"),
    }
}

#[test]
fn cancel_idle_task_schedules_and_drops_it() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, j) = s.spawn(g);
    n.run();
    assert!(s.queue.lock().unwrap().is_empty());
    j.abort();
    assert_eq!(s.run_all(), 1);
    assert_eq!(p.drops.load(SeqCst), 1);
    assert_eq!(j.state(), TaskState::Cancelled);
    // The stored waker still points at the (finished) task; waking it is a no-op.
    p.slot.lock().unwrap().take().unwrap().wake();
    assert_eq!(s.run_all(), 0);
}

#[test]
fn dropping_the_handle_cancels_and_detach_does_not() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, j) = s.spawn(g);
    n.run();
    drop(j);
    assert_eq!(s.run_all(), 1);
    assert_eq!(p.drops.load(SeqCst), 1);

    let (g, p) = gate();
    let (n, j) = s.spawn(g);
    n.run();
    j.detach();
    assert!(s.queue.lock().unwrap().is_empty());
    p.open.store(1, SeqCst);
    p.slot.lock().unwrap().take().unwrap().wake();
    assert_eq!(s.run_all(), 1);
    // Future dropped, and the unread output dropped by the completer.
    assert_eq!(p.drops.load(SeqCst), 2);
}

#[test]
fn dropping_the_handle_after_completion_drops_the_output() {
    let s = TestSched::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let (n, j) = s.spawn(async move { Tracked(d) });
    n.run();
    assert_eq!(drops.load(SeqCst), 0);
    drop(j);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn panics_reach_the_handle() {
    let s = TestSched::default();
    let (n, mut j) = s.spawn(async {
        if true {
            panic!("boom");
        }
    });
    n.run();
    assert_eq!(j.state(), TaskState::Panicked);
    let w = Arc::new(CountWaker::default());
    match poll_join(&mut j, &w) {
        Poll::Ready(Err(e)) => {
            assert!(e.is_panic());
            assert!(e.to_string().contains("boom"), "{e}");
            let payload = e.into_panic();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        }
        _ => panic!("expected a panic"),
    }
}

#[test]
fn unpolled_notified_dropped_frees_nothing_twice() {
    let s = TestSched::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let t = Tracked(drops.clone());
    let (n, j) = s.spawn(async move {
        let _t = t;
    });
    drop(j); // cancels: the task is already notified, so nothing is queued
    assert!(s.queue.lock().unwrap().is_empty());
    drop(n); // the queue lets go of the task without polling it
    assert_eq!(drops.load(SeqCst), 0);
    // The registry still holds it; dropping that last reference frees it.
    s.registry.lock().unwrap().clear();
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn wakers_outlive_the_task() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, j) = s.spawn(g);
    n.run();
    let w1 = p.slot.lock().unwrap().clone().unwrap();
    let w2 = w1.clone();
    p.open.store(1, SeqCst);
    w1.wake_by_ref();
    assert_eq!(s.run_all(), 1);
    drop(j);
    // The task is complete and unowned; the wakers are its last references.
    let t = std::thread::spawn(move || {
        w2.wake();
    });
    t.join().unwrap();
    w1.wake();
    drop(p.slot.lock().unwrap().take());
    assert_eq!(p.drops.load(SeqCst), 2);
}

#[test]
fn wake_from_other_threads_runs_once() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, mut j) = s.spawn(g);
    n.run();
    let w = p.slot.lock().unwrap().clone().unwrap();
    p.open.store(1, SeqCst);
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let w = w.clone();
            std::thread::spawn(move || w.wake())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.run_all(), 1);
    assert_eq!(p.polls.load(SeqCst), 2);
    let cw = Arc::new(CountWaker::default());
    assert!(matches!(poll_join(&mut j, &cw), Poll::Ready(Ok(_))));
}

#[test]
fn complete_on_another_thread_while_joining() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, mut j) = s.spawn(g);
    n.run();
    let cw = Arc::new(CountWaker::default());
    assert!(poll_join(&mut j, &cw).is_pending());
    let s2 = s.clone();
    let w = p.slot.lock().unwrap().take().unwrap();
    p.open.store(1, SeqCst);
    let t = std::thread::spawn(move || {
        w.wake();
        s2.run_all();
    });
    let mut out = poll_join(&mut j, &cw);
    t.join().unwrap();
    if out.is_pending() {
        assert_eq!(cw.0.load(SeqCst), 1);
        out = poll_join(&mut j, &cw);
    }
    assert!(matches!(out, Poll::Ready(Ok(_))));
}

#[test]
fn registry_insert_remove_close() {
    let s = TestSched::default();
    let reg = Registry::new(4);
    let mut handles = Vec::new();
    for _ in 0..10 {
        let (n, j, r) = new(async {}, s.clone(), TaskOptions::new().name("x"));
        reg.insert(r).unwrap();
        handles.push((n, j));
    }
    assert_eq!(reg.len(), 10);
    let snap = reg.snapshot();
    assert_eq!(snap.len(), 10);
    assert!(snap.iter().all(|t| t.name() == "x"));
    let first = snap[0].clone();
    drop(snap);
    let removed = reg.remove(&first).expect("registered");
    assert!(reg.remove(&first).is_none());
    drop(removed);
    let drained = reg.drain();
    assert_eq!(drained.len(), 9);
    drop(drained);
    // Draining still admits new tasks.
    let (_n, _j, r) = new(async {}, s.clone(), TaskOptions::new());
    let extra = r.clone();
    reg.insert(r).unwrap();
    assert!(reg.remove(&extra).is_some());
    let (rest, tally) = reg.close();
    assert_eq!(rest.len(), 9);
    // The extra task was removed while draining (not finished: tallied as
    // not completed).
    assert_eq!(tally.completed + tally.cancelled + tally.panicked, 1);
    let (_n, _j, r) = new(async {}, s.clone(), TaskOptions::new());
    assert!(reg.insert(r).is_err());
    for t in &rest {
        assert!(reg.remove(t).is_some());
    }
    assert!(reg.wait_empty(None));
}

#[test]
fn names_and_ids() {
    let s = TestSched::default();
    let (_n1, j1) = s.spawn(async {});
    let (n2, j2, _r) = new(
        async {},
        s.clone(),
        TaskOptions::new().name(String::from("fetch")),
    );
    assert_eq!(j1.name(), format!("Task-{}", j1.id()));
    assert_eq!(j2.name(), "fetch");
    assert_ne!(j1.id(), j2.id());
    assert_eq!(n2.id(), j2.id());
    // The tasks never ran, so the test registry still holds them, and they
    // hold the scheduler: break that cycle as a runtime's shutdown would.
    s.registry.lock().unwrap().clear();
}

#[test]
fn cancel_and_run_ends_a_queued_task() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, mut j) = s.spawn(g);
    n.run();
    p.slot.lock().unwrap().take().unwrap().wake();
    let queued = s.queue.lock().unwrap().pop().expect("woken");
    queued.cancel_and_run();
    assert_eq!(p.drops.load(SeqCst), 1);
    assert_eq!(j.state(), TaskState::Cancelled);
    let w = Arc::new(CountWaker::default());
    assert!(matches!(poll_join(&mut j, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
    assert!(s.registry.lock().unwrap().is_empty());
}

#[test]
fn a_panicking_join_waker_drop_does_not_escape() {
    struct Bomb;
    impl Wake for Bomb {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("waker destructor");
        }
    }
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, mut j) = s.spawn(g);
    n.run();
    let bomb = Waker::from(Arc::new(Bomb));
    assert!(
        Pin::new(&mut j)
            .poll(&mut Context::from_waker(&bomb))
            .is_pending()
    );
    drop(bomb);
    // Dropping the handle of a suspended task takes the waker out and drops
    // it last, after the cancellation is queued: the panic reaches this
    // thread, but the task is still cancelled and freed exactly once.
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(j)));
    assert!(dropped.is_err());
    assert_eq!(s.run_all(), 1);
    assert_eq!(p.drops.load(SeqCst), 1);
}

/// A future that is pending forever and counts its drops.
struct Forever(#[allow(dead_code)] Tracked);
impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

#[test]
fn catch_point_receives_cancel_and_reraise_ends_cancelled() {
    let s = TestSched::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let caught = Arc::new(AtomicUsize::new(0));
    let (n, j) = s.spawn({
        let (drops, caught) = (drops.clone(), caught.clone());
        async move {
            match cancellable(Forever(Tracked(drops))).await {
                Ok(()) => 1,
                Err(c) => {
                    caught.fetch_add(1, SeqCst);
                    c.reraise::<u32>().await
                }
            }
        }
    });
    n.run();
    assert!(j.cancel());
    s.run_all();
    assert_eq!(caught.load(SeqCst), 1);
    assert_eq!(drops.load(SeqCst), 1, "the caught future is dropped once");
    assert_eq!(j.state(), TaskState::Cancelled);
}

#[test]
fn swallowed_cancel_completes_and_on_done_sees_it() {
    let s = TestSched::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (n, j) = s.spawn(async {
        match cancellable(Forever(Tracked(Arc::new(AtomicUsize::new(0))))).await {
            Ok(()) => 1,
            Err(_) => 2,
        }
    });
    let seen2 = seen.clone();
    j.on_done(move |snap| seen2.lock().unwrap().push((snap.state(), snap.polls())));
    n.run();
    j.cancel();
    s.run_all();
    assert_eq!(*seen.lock().unwrap(), [(TaskState::Completed, 2)]);
    assert_eq!(j.result().map(|r| *r.as_ref().unwrap()), Some(2));
    // After completion the callback runs at once, on this thread.
    let seen3 = seen.clone();
    j.on_done(move |snap| seen3.lock().unwrap().push((snap.state(), 0)));
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn nested_catch_points_innermost_only_and_no_catch_point_drops() {
    let s = TestSched::default();
    let (n, j) = s.spawn(async {
        let outer = cancellable(async {
            cancellable(Forever(Tracked(Arc::new(AtomicUsize::new(0)))))
                .await
                .is_err()
        })
        .await;
        (outer.is_ok(), outer.unwrap_or(false))
    });
    n.run();
    j.cancel();
    s.run_all();
    let mut j = j;
    let out = futures_poll_once(&mut j);
    assert_eq!(out.unwrap().unwrap(), (true, true));

    // Without a catch point the future is dropped at the suspension point.
    let drops = Arc::new(AtomicUsize::new(0));
    let (n, j) = s.spawn(Forever(Tracked(drops.clone())));
    n.run();
    j.cancel();
    s.run_all();
    assert_eq!(drops.load(SeqCst), 1);
    assert_eq!(j.state(), TaskState::Cancelled);
}

#[test]
fn abort_bypasses_a_catch_point() {
    let s = TestSched::default();
    let caught = Arc::new(AtomicUsize::new(0));
    let (n, j) = s.spawn({
        let caught = caught.clone();
        async move {
            if cancellable(Forever(Tracked(Arc::new(AtomicUsize::new(0)))))
                .await
                .is_err()
            {
                caught.fetch_add(1, SeqCst);
            }
        }
    });
    n.run();
    j.abort();
    s.run_all();
    assert_eq!(caught.load(SeqCst), 0);
    assert_eq!(j.state(), TaskState::Cancelled);
}

/// Polls a join handle once with a no-op waker.
fn futures_poll_once<T>(j: &mut JoinHandle<T>) -> Option<Result<T, JoinError>> {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    match Pin::new(j).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(r) => Some(r),
        Poll::Pending => None,
    }
}

/// Pending once (waking itself), then ready.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A task spawned where a task-local context is in effect runs each poll in
/// it, after the spawner has left it; one spawned where none is runs in
/// none; the context's values are freed once, with the task, and a value's
/// destructor that reads the context finds it gone (never freed memory).
#[test]
fn a_task_inherits_the_context_in_effect_at_its_spawn() {
    use super::locals::{Context, Value, with_value};
    const KEY: usize = 1;
    fn read() -> Option<u32> {
        with_value(KEY, |v| v.and_then(|v| v.downcast_ref::<u32>()).copied())
    }
    /// Counts its drops, and those that saw a value of `KEY`.
    struct ReadsOnDrop(Arc<AtomicUsize>, Arc<AtomicUsize>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
            if with_value(KEY, |v| v.is_some()) {
                self.1.fetch_add(1, SeqCst);
            }
        }
    }
    let (drops, drops_in_context) = (Arc::default(), Arc::default());
    let s = TestSched::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (n, mut j) = {
        let value: Value = Arc::new(7u32);
        let cx = Context::set(None, KEY, value);
        let cx = Context::set(
            Some(&cx),
            2,
            Arc::new(ReadsOnDrop(
                Arc::clone(&drops),
                Arc::clone(&drops_in_context),
            )),
        );
        // SAFETY: a local guard, dropped in order at the end of the block.
        let _entered = unsafe { cx.enter() };
        assert_eq!(read(), Some(7));
        let seen = seen.clone();
        s.spawn(async move {
            seen.lock().unwrap().push(read());
            YieldOnce(false).await;
            seen.lock().unwrap().push(read());
        })
    };
    assert_eq!(read(), None, "the spawner left its context");
    let (n2, mut j2) = s.spawn(async { read() });
    n.run();
    n2.run();
    s.run_all();
    assert_eq!(futures_poll_once(&mut j).map(|r| r.is_ok()), Some(true));
    assert_eq!(futures_poll_once(&mut j2).map(|r| r.ok()), Some(Some(None)));
    assert_eq!(*seen.lock().unwrap(), vec![Some(7), Some(7)]);
    drop(j);
    assert_eq!(drops.load(SeqCst), 1, "the values are freed with the task");
    assert_eq!(drops_in_context.load(SeqCst), 0);

    // A detached task is freed by the poll that ends it, inside its
    // context: the values outlive the poll and are freed after it.
    let saw = Arc::new(AtomicUsize::new(0));
    let n = {
        let cx = Context::set(
            None,
            KEY,
            Arc::new(ReadsOnDrop(
                Arc::clone(&drops),
                Arc::clone(&drops_in_context),
            )),
        );
        // SAFETY: a local guard, dropped in order at the end of the block.
        let _entered = unsafe { cx.enter() };
        let saw = saw.clone();
        let (n, j) = s.spawn(async move {
            if with_value(KEY, |v| v.is_some()) {
                saw.fetch_add(1, SeqCst);
            }
        });
        j.detach();
        n
    };
    n.run();
    assert_eq!(saw.load(SeqCst), 1, "the detached task ran in its context");
    assert_eq!(drops.load(SeqCst), 2);
    assert_eq!(drops_in_context.load(SeqCst), 0);
    assert_eq!(read(), None);
}

/// A `TaskRef::current()` taken inside a poll outlives it: cancelling the
/// idle task through it reaches the scheduler through the cell, and
/// dropping it last frees the cell. Under miri this checks that the
/// reference carries the whole cell's provenance, not just the header's.
#[test]
fn a_current_task_ref_cancels_and_frees_its_task() {
    let s = TestSched::default();
    let slot = Arc::new(Mutex::new(None));
    let (g, p) = gate();
    let sl = slot.clone();
    let (n, j) = s.spawn(async move {
        *sl.lock().unwrap() = TaskRef::current();
        g.await
    });
    n.run();
    let me = slot
        .lock()
        .unwrap()
        .take()
        .expect("a task is current in its poll");
    assert_eq!(me.id(), j.id());
    assert!(me.cancel());
    assert_eq!(s.run_all(), 1);
    assert_eq!(j.state(), TaskState::Cancelled);
    assert_eq!(p.drops.load(SeqCst), 1);
    drop(j);
    drop(p);
    // The last reference: frees the cell.
    drop(me);
}

/// A scheduler whose `release` hands back another task's reference.
#[derive(Clone)]
struct WrongRelease(Arc<Mutex<Option<TaskRef>>>);

impl Schedule for WrongRelease {
    fn schedule(&self, _task: Notified) {}
    fn release(&self, _task: &TaskRef) -> Option<TaskRef> {
        self.0.lock().unwrap().take()
    }
}

/// The task core releases the registry's reference together with the
/// poller's only if `release` returned this task's own: a wrong one is
/// dropped as it is, and the task stays alive for its handle (under miri,
/// a use after free otherwise).
#[test]
fn a_release_that_returns_another_task_frees_nothing_early() {
    let other = TestSched::default();
    let (other_n, other_j) = other.spawn(async { 2 });
    let other_ref = other.registry.lock().unwrap()[0].clone();
    let wrong = WrongRelease(Arc::new(Mutex::new(Some(other_ref))));
    let (n, j, r) = new(async { 1 }, wrong.clone(), TaskOptions::new());
    drop(r);
    n.run();
    assert!(j.is_finished());
    assert!(wrong.0.lock().unwrap().is_none(), "release was asked");
    let w = Arc::new(CountWaker::default());
    let mut j = j;
    assert!(matches!(poll_join(&mut j, &w), Poll::Ready(Ok(1))));
    other_n.run();
    let mut other_j = other_j;
    assert!(matches!(poll_join(&mut other_j, &w), Poll::Ready(Ok(2))));
}

/// A timed task (`TaskOptions::poll_timing`) takes its own poll path
/// (`poll_timed`, the trace and its clock), through a pending poll and the
/// poll that completes it, and frees its trace with the task.
#[test]
fn a_timed_task_runs_and_reports_its_running_time() {
    let s = TestSched::default();
    let (g, p) = gate();
    let (n, j, r) = new(g, s.clone(), TaskOptions::new().poll_timing(true));
    s.registry.lock().unwrap().push(r);
    n.run();
    assert_eq!(p.polls.load(SeqCst), 1);
    assert!(
        j.snapshot().running_time().is_some(),
        "timed: a running time"
    );
    p.open.store(1, SeqCst);
    p.slot.lock().unwrap().take().unwrap().wake();
    assert_eq!(s.run_all(), 1);
    assert!(j.is_finished());
    let w = Arc::new(CountWaker::default());
    let mut j = j;
    assert!(matches!(poll_join(&mut j, &w), Poll::Ready(Ok(_))));
}
