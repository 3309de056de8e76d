//! `wait(handles, ReturnWhen, timeout)` (asyncio.wait): returns `(done,
//! pending)`, each in input order, when the condition is met or the timeout
//! passes; `FirstException` counts a panic, a cancellation and a returned
//! `Err`; and `wait` never cancels anything: pending tasks run on to their
//! values afterwards, no cancellation reaching their catch points.

mod common;

use futures_channel::oneshot;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;
use tasklane::task::{JoinHandle, TaskId, TaskRef, TaskState, cancellable};
use tasklane::time::{Instant, sleep};
use tasklane::{ReturnWhen, wait};

const MS: Duration = Duration::from_millis(1);

type Out = Result<u32, &'static str>;

/// Counts cancellations that reached a catch point of a waited-on task
/// (there must be none).
#[derive(Clone, Default)]
struct Reached(Arc<AtomicUsize>);

impl Reached {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A task that waits at a catch point for its gate, then returns what the
/// gate sent (a value or an error); a cancellation reaching the catch point
/// is counted.
fn gated(reached: &Reached) -> (oneshot::Sender<Out>, JoinHandle<Out>) {
    let (tx, rx) = oneshot::channel::<Out>();
    let reached = reached.clone();
    let h = tasklane::spawn(async move {
        match cancellable(rx).await {
            Ok(v) => v.expect("gate dropped"),
            Err(_) => {
                reached.0.fetch_add(1, Ordering::SeqCst);
                Ok(999)
            }
        }
    });
    (tx, h)
}

fn ids<T>(hs: &[JoinHandle<T>]) -> Vec<TaskId> {
    hs.iter().map(JoinHandle::id).collect()
}

/// Polls `fut` once from the current `block_on` / task, with its waker.
async fn poll_here<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

async fn until_finished(t: &TaskRef) {
    common::yield_until(|| {
        matches!(
            t.state(),
            TaskState::Completed | TaskState::Panicked | TaskState::Cancelled
        )
    })
    .await;
}

/// `FirstCompleted`: returns with the one that finished; the others are
/// pending, untouched, and finish later with their values.
#[tasklane::test]
async fn first_completed() {
    let reached = Reached::default();
    let (g0, slow0) = gated(&reached);
    let fast = tasklane::spawn(async {
        sleep(5 * MS).await;
        Ok(1)
    });
    let (g2, slow2) = gated(&reached);
    let expect_done = vec![fast.id()];
    let expect_pending = vec![slow0.id(), slow2.id()];
    let (done, pending) = wait(vec![slow0, fast, slow2], ReturnWhen::FirstCompleted, None).await;
    assert_eq!(ids(&done), expect_done);
    assert_eq!(ids(&pending), expect_pending);
    assert!(matches!(done[0].result(), Some(Ok(Ok(1)))));
    assert!(pending.iter().all(|h| !h.is_finished()));
    // Never cancelled: they finish with their own values.
    g0.send(Ok(10)).unwrap();
    g2.send(Ok(12)).unwrap();
    let mut values = Vec::new();
    for h in pending {
        values.push(h.await.unwrap().unwrap());
    }
    assert_eq!(values, [10, 12]);
    assert_eq!(reached.get(), 0);
    // The done handle still gives its value.
    let mut done = done;
    assert_eq!(done.pop().unwrap().await.unwrap(), Ok(1));
}

#[derive(Clone, Copy, Debug)]
enum Failure {
    Panic,
    Cancel,
    ReturnErr,
}

/// `FirstException`: a task finishing with a value does not end the wait; a
/// failing one (panicked, cancelled, or returned `Err`) does, and `done`
/// holds both, `pending` the rest, which later complete normally.
#[test]
fn first_exception_for_each_kind_of_failure() {
    let rt = common::rt(2);
    for kind in [Failure::Panic, Failure::Cancel, Failure::ReturnErr] {
        rt.block_on(async move {
            let reached = Reached::default();
            let ok = tasklane::spawn(async { Ok(1) });
            let (fail_tx, fail_rx) = oneshot::channel::<()>();
            let failing = tasklane::spawn(async move {
                // No catch point: a cancel ends it.
                fail_rx.await.unwrap();
                match kind {
                    Failure::Panic => panic!("first exception"),
                    Failure::ReturnErr => Err("returned error"),
                    Failure::Cancel => unreachable!("cancelled before its gate"),
                }
            });
            let (g, slow) = gated(&reached);
            let (ok_ref, failing_ref) = (ok.task_ref(), failing.task_ref());
            let (expect_done, expect_pending) = (vec![ok.id(), failing.id()], vec![slow.id()]);

            let mut w = Box::pin(wait(
                vec![ok, failing, slow],
                ReturnWhen::FirstException,
                None,
            ));
            until_finished(&ok_ref).await;
            assert!(
                poll_here(&mut w).await.is_pending(),
                "{kind:?}: a value is no exception"
            );
            match kind {
                Failure::Cancel => assert!(failing_ref.cancel()),
                _ => fail_tx.send(()).unwrap(),
            }
            let (done, pending) = w.await;
            assert_eq!(ids(&done), expect_done, "{kind:?}");
            assert_eq!(ids(&pending), expect_pending, "{kind:?}");
            match (kind, done[1].result()) {
                (Failure::Panic, Some(Err(e))) => assert!(e.is_panic()),
                (Failure::Cancel, Some(Err(e))) => assert!(e.is_cancelled()),
                (Failure::ReturnErr, Some(Ok(Err("returned error")))) => {}
                (kind, r) => panic!("{kind:?}: {r:?}"),
            }
            g.send(Ok(3)).unwrap();
            for h in pending {
                assert_eq!(h.await.unwrap(), Ok(3));
            }
            assert_eq!(reached.get(), 0, "{kind:?}");
        });
    }
}

/// `FirstException` with no failure at all waits for every task.
#[tasklane::test]
async fn first_exception_without_failures_waits_for_all() {
    let hs: Vec<JoinHandle<Out>> = (0..4u32)
        .map(|i| {
            tasklane::spawn(async move {
                sleep(MS * (4 - i) * 3).await;
                Ok(i)
            })
        })
        .collect();
    let expect = ids(&hs);
    let (done, pending) = wait(hs, ReturnWhen::FirstException, None).await;
    assert_eq!(ids(&done), expect);
    assert!(pending.is_empty());
}

/// `AllCompleted`: not before the last one, whatever the others did
/// (finished, panicked, were cancelled); `done` in input order.
#[tasklane::test]
async fn all_completed() {
    let reached = Reached::default();
    let a = tasklane::spawn(async {
        sleep(10 * MS).await;
        Ok(1)
    });
    let b = tasklane::spawn(async {
        if true {
            panic!("all_completed boom");
        }
        Ok(2)
    });
    let c = tasklane::spawn(async {
        sleep(Duration::from_secs(60)).await;
        Ok(3)
    });
    c.cancel();
    let d = tasklane::spawn(async { Err("four") });
    let (g, e) = gated(&reached);
    let refs: Vec<TaskRef> = [&a, &b, &c, &d].iter().map(|h| h.task_ref()).collect();
    let expect = vec![a.id(), b.id(), c.id(), d.id(), e.id()];
    let mut w = Box::pin(wait(vec![a, b, c, d, e], ReturnWhen::AllCompleted, None));
    // All but the gated one are done: the wait goes on.
    for r in &refs {
        until_finished(r).await;
    }
    assert!(poll_here(&mut w).await.is_pending());
    g.send(Ok(5)).unwrap();
    let (done, pending) = w.await;
    assert_eq!(ids(&done), expect);
    assert!(pending.is_empty());
    assert!(matches!(done[0].result(), Some(Ok(Ok(1)))));
    assert!(matches!(done[1].result(), Some(Err(e)) if e.is_panic()));
    assert!(matches!(done[2].result(), Some(Err(e)) if e.is_cancelled()));
    assert!(matches!(done[3].result(), Some(Ok(Err("four")))));
    assert!(matches!(done[4].result(), Some(Ok(Ok(5)))));
    assert_eq!(reached.get(), 0);

    // Nothing to wait for: returns at once.
    let (done, pending) = wait(
        Vec::<JoinHandle<Out>>::new(),
        ReturnWhen::AllCompleted,
        None,
    )
    .await;
    assert!(done.is_empty() && pending.is_empty());
}

/// A timeout returns early, with the right split, and cancels nothing.
#[tasklane::test]
async fn a_timeout_returns_early_with_the_split() {
    let reached = Reached::default();
    // FirstCompleted, nothing finishes: all pending after the timeout.
    let (g0, h0) = gated(&reached);
    let (g1, h1) = gated(&reached);
    let all = vec![h0, h1];
    let expect: Vec<TaskId> = all.iter().map(JoinHandle::id).collect();
    let start = Instant::now();
    let (done, pending) = wait(all, ReturnWhen::FirstCompleted, Some(20 * MS)).await;
    let took = start.elapsed();
    assert!(took >= 20 * MS, "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(done.is_empty());
    assert_eq!(ids(&pending), expect);

    // AllCompleted, one of three finishes: done has it, pending the others.
    let (g2, h2) = gated(&reached);
    let quick = tasklane::spawn(async { Ok(5) });
    let (g3, h3) = gated(&reached);
    let quick_id = quick.id();
    let expect_pending = vec![h2.id(), h3.id()];
    let quick_ref = quick.task_ref();
    until_finished(&quick_ref).await;
    let (done2, pending2) =
        wait(vec![h2, quick, h3], ReturnWhen::AllCompleted, Some(10 * MS)).await;
    assert_eq!(ids(&done2), [quick_id]);
    assert_eq!(ids(&pending2), expect_pending);

    // Nothing was cancelled: every pending task completes with its value.
    for (g, v) in [(g0, 10), (g1, 11), (g2, 12), (g3, 13)] {
        g.send(Ok(v)).unwrap();
    }
    let mut values = Vec::new();
    for h in pending.into_iter().chain(pending2) {
        values.push(h.await.unwrap().unwrap());
    }
    assert_eq!(values, [10, 11, 12, 13]);
    assert_eq!(reached.get(), 0);
}
