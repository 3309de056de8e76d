//! `gather(futs)` (asyncio.gather): each future runs as its own task, in
//! parallel; results in input order; `JoinHandle`s give
//! `Result<T, JoinError>` (return_exceptions=True); a panicking child's
//! panic is resumed in the awaiter and the other children are cancelled;
//! dropping the `Gather` cancels the children.

mod common;

use common::{Counts, DropCounter, HANG, payload_str, rt, spin_until, watchdog};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::sync::{Sender, bounded};
use tasklane::task::{TaskState, cancellable};
use tasklane::time::sleep;
use tasklane::{gather, wait_for};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);

/// A child that holds `guard`, says it is ready, and waits forever at a
/// catch point; on cancellation it cleans up with an await (counted) and
/// re-raises.
async fn waiting_child(guard: DropCounter, ready: Sender<()>, cleaned: Arc<AtomicUsize>) -> u32 {
    let _guard = guard;
    ready.send(()).await.unwrap();
    match cancellable(sleep(LONG)).await {
        Ok(()) => 0,
        Err(c) => {
            sleep(MS).await;
            cleaned.fetch_add(1, Ordering::SeqCst);
            c.reraise().await
        }
    }
}

/// Results come back in input order, whatever order the children end in.
#[test]
fn results_in_input_order() {
    let rt = rt(2);
    let delays = [40u32, 10, 30, 0, 20, 5];
    let check = move || async move {
        gather(delays.iter().enumerate().map(|(i, &d)| async move {
            sleep(MS * d).await;
            (i, d)
        }))
        .await
    };
    let expected: Vec<(usize, u32)> = delays.iter().copied().enumerate().collect();
    assert_eq!(rt.block_on(check()), expected);
    assert_eq!(rt.block_on(rt.spawn(check())).unwrap(), expected);
    let empty: Vec<std::future::Ready<u8>> = Vec::new();
    assert_eq!(rt.block_on(async { gather(empty).await }), Vec::<u8>::new());
}

/// Children run concurrently: ten children each wait, suspended, until all
/// ten have started, which only happens if no child waits for another to
/// finish. A gather that ran them one after the other would hang (the
/// watchdog fails the test then).
#[test]
fn children_run_concurrently() {
    let out = watchdog("ten gathered children meeting", HANG, || {
        let rt = rt(2);
        let arrived = Arc::new(AtomicUsize::new(0));
        // (`gather` spawns at once: call it inside the runtime.)
        rt.block_on(async {
            gather((0..10u32).map(|i| {
                let arrived = arrived.clone();
                async move {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    while arrived.load(Ordering::SeqCst) < 10 {
                        sleep(MS).await;
                    }
                    i
                }
            }))
            .await
        })
    });
    assert_eq!(out, (0..10).collect::<Vec<_>>());
}

/// Children run in parallel: two children that each block their thread
/// until the other has started run on both workers at once (the gather is
/// driven from `block_on`, not a worker). On one thread the first would
/// wait for the second in vain and give up with a panic, which the gather
/// resumes here.
#[test]
fn children_run_in_parallel() {
    let rt = rt(2);
    let (tx0, rx0) = std::sync::mpsc::channel::<()>();
    let (tx1, rx1) = std::sync::mpsc::channel::<()>();
    let pairs = vec![(tx0, rx1), (tx1, rx0)];
    let threads = rt.block_on(async {
        gather(pairs.into_iter().map(|(tx, rx)| async move {
            tx.send(()).unwrap();
            rx.recv_timeout(HANG)
                .expect("the other child runs at the same time, on another thread");
            std::thread::current().id()
        }))
        .await
    });
    assert_ne!(threads[0], threads[1], "both workers were used");
}

/// Given `JoinHandle`s, each result is a `Result<T, JoinError>`: values,
/// panics and cancellations come back as values, in input order, and the
/// gather itself neither panics nor is cancelled.
#[test]
fn join_handles_give_results_including_failures() {
    let rt = rt(2);
    let results = rt
        .block_on(rt.spawn(async {
            let ok = tasklane::spawn(async {
                sleep(5 * MS).await;
                1
            });
            let panics = tasklane::spawn(async {
                sleep(MS).await;
                if true {
                    panic!("gathered boom");
                }
                2
            });
            let cancelled = tasklane::spawn(async {
                sleep(LONG).await;
                3
            });
            let aborted = tasklane::spawn(async {
                sleep(LONG).await;
                4
            });
            let late_ok = tasklane::spawn(async { 5 });
            cancelled.cancel();
            aborted.abort();
            let ids = [cancelled.id(), aborted.id()];
            (gather([ok, panics, cancelled, aborted, late_ok]).await, ids)
        }))
        .unwrap();
    let (mut results, ids) = results;
    assert_eq!(results.len(), 5);
    assert_eq!(*results[0].as_ref().unwrap(), 1);
    assert_eq!(*results[4].as_ref().unwrap(), 5);
    let aborted = results.remove(3).unwrap_err();
    let cancelled = results.remove(2).unwrap_err();
    let panicked = results.remove(1).unwrap_err();
    assert!(cancelled.is_cancelled() && cancelled.id() == ids[0]);
    assert!(aborted.is_cancelled() && aborted.id() == ids[1]);
    assert!(panicked.is_panic());
    assert_eq!(payload_str(&*panicked.into_panic()), Some("gathered boom"));
}

/// A plain-future child that panics: the awaiting task ends panicked with
/// that payload, and the other children are cancelled (their catch points
/// clean up, their futures are dropped once).
#[test]
fn a_panicking_child_is_resumed_and_the_others_cancelled() {
    let rt = rt(2);
    let counts = Counts::new();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let awaiter = rt.spawn({
        let (counts, cleaned) = (counts.clone(), cleaned.clone());
        async move {
            let (tx, rx) = bounded::<()>(2);
            let a = waiting_child(DropCounter::new(&counts), tx.clone(), cleaned.clone());
            let c = waiting_child(DropCounter::new(&counts), tx, cleaned.clone());
            let boom = async move {
                rx.recv().await.unwrap();
                rx.recv().await.unwrap();
                if true {
                    panic!("gather boom");
                }
                0
            };
            // The panicking child first: the gather is waiting on it.
            let futs: Vec<std::pin::Pin<Box<dyn Future<Output = u32> + Send>>> =
                vec![Box::pin(boom), Box::pin(a), Box::pin(c)];
            gather(futs).await
        }
    });
    let err = rt.block_on(awaiter).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(payload_str(&*err.into_panic()), Some("gather boom"));
    spin_until("the other children dropped", || counts.drops() == 2);
    assert_eq!(cleaned.load(Ordering::SeqCst), 2);
    spin_until("no task left", || rt.handle().num_tasks() == 0);
}

/// The same when the panicking child is not the first: the panic is not
/// held back until the children before it finish (asyncio.gather raises
/// the first exception as soon as it happens).
#[test]
fn a_panic_in_a_later_child_is_resumed_at_once() {
    let rt = rt(2);
    let counts = Counts::new();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let mut awaiter = rt.spawn({
        let (counts, cleaned) = (counts.clone(), cleaned.clone());
        async move {
            let (tx, rx) = bounded::<()>(1);
            let first = waiting_child(DropCounter::new(&counts), tx, cleaned.clone());
            let boom = async move {
                rx.recv().await.unwrap();
                if true {
                    panic!("later boom");
                }
                0
            };
            let futs: Vec<std::pin::Pin<Box<dyn Future<Output = u32> + Send>>> =
                vec![Box::pin(first), Box::pin(boom)];
            gather(futs).await
        }
    });
    let r = rt.block_on(wait_for(&mut awaiter, Duration::from_secs(3)));
    let err = r
        .expect("the awaiter did not end within 3 s of the panic")
        .unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    spin_until("the first child dropped", || counts.drops() == 1);
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
}

/// Dropping a `Gather` (unawaited, or with the task awaiting it cancelled)
/// cancels its children: catch points clean up, futures are dropped once.
#[test]
fn dropping_a_gather_cancels_the_children() {
    let rt = rt(2);
    // Dropped where it was made.
    let counts = Counts::new();
    let cleaned = Arc::new(AtomicUsize::new(0));
    rt.block_on({
        let (counts, cleaned) = (counts.clone(), cleaned.clone());
        async move {
            let (tx, rx) = bounded::<()>(3);
            let g =
                gather((0..3).map(|_| {
                    waiting_child(DropCounter::new(&counts), tx.clone(), cleaned.clone())
                }));
            for _ in 0..3 {
                rx.recv().await.unwrap();
            }
            drop(g);
        }
    });
    spin_until("children dropped", || counts.drops() == 3);
    assert_eq!(cleaned.load(Ordering::SeqCst), 3);

    // The task awaiting it is cancelled.
    let counts = Counts::new();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded::<()>(3);
    let awaiter = rt.spawn({
        let (counts, cleaned) = (counts.clone(), cleaned.clone());
        async move {
            gather(
                (0..3)
                    .map(|_| waiting_child(DropCounter::new(&counts), tx.clone(), cleaned.clone())),
            )
            .await
        }
    });
    rt.block_on(async {
        for _ in 0..3 {
            rx.recv().await.unwrap();
        }
    });
    spin_until("awaiter suspended", || {
        awaiter.state() == TaskState::Suspended
    });
    awaiter.cancel();
    assert!(rt.block_on(awaiter).unwrap_err().is_cancelled());
    spin_until("children dropped", || counts.drops() == 3);
    assert_eq!(cleaned.load(Ordering::SeqCst), 3);
    spin_until("no task left", || rt.handle().num_tasks() == 0);
}
