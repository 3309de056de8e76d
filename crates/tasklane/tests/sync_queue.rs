//! `tasklane::sync::{Queue, PriorityQueue, LifoQueue}`: asyncio's order,
//! bounds, `task_done` and `join`; cancelled at any point a `get` or `put`
//! loses no value and leaves no waiter hanging; an always-ready `get` takes
//! part in the cooperative budget.

mod common;

use common::{
    CountWake, HANG, HOG_LIMIT, XorShift, assert_ready_loop_yields, poll_once, poll_with, rt,
    spin_for, watchdog,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tasklane::sync::{Full, LifoQueue, PriorityQueue, Queue, TooManyTaskDone};
use tasklane::task::JoinHandle;
use tasklane::wait_for;

#[test]
fn the_three_orders() {
    tasklane::run(async {
        let fifo = Queue::new(0);
        let lifo = LifoQueue::new(0);
        let prio = PriorityQueue::new(0);
        for v in [3, 1, 2] {
            fifo.put(v).await;
            lifo.put(v).await;
            prio.put(v).await;
        }
        let mut got = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..3 {
            got.0.push(fifo.get().await);
            got.1.push(lifo.get().await);
            got.2.push(prio.get().await);
        }
        assert_eq!(got, (vec![3, 1, 2], vec![2, 1, 3], vec![1, 2, 3]));
    });
}

#[test]
fn bounds_try_methods_and_sizes() {
    let q: Queue<u32> = Queue::new(2);
    assert_eq!(q.maxsize(), 2);
    assert!(q.is_empty());
    assert_eq!(q.try_get(), None);
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert!(q.is_full());
    assert_eq!(q.try_put(3), Err(Full(3)));
    assert_eq!(q.len(), 2);
    assert_eq!(q.try_get(), Some(1));
    assert_eq!(q.len(), 1);
    let unbounded: Queue<u32> = Queue::new(0);
    for v in 0..10_000 {
        unbounded.try_put(v).unwrap();
    }
    assert!(!unbounded.is_full());
    assert_eq!(unbounded.len(), 10_000);
}

#[test]
fn task_done_counts_and_join() {
    let q: Queue<u32> = Queue::new(0);
    // Nothing put: join is ready, task_done is an error, not a panic.
    assert!(poll_once(&mut q.join()).is_ready());
    assert_eq!(q.task_done(), Err(TooManyTaskDone));
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let mut join = q.join();
    assert!(poll_once(&mut join).is_pending());
    // Getting is not finishing: join waits for task_done.
    q.try_get().unwrap();
    q.try_get().unwrap();
    assert!(poll_once(&mut join).is_pending());
    q.task_done().unwrap();
    assert_eq!(q.unfinished(), 1);
    assert!(poll_once(&mut join).is_pending());
    q.task_done().unwrap();
    assert!(poll_once(&mut join).is_ready());
    assert_eq!(q.task_done(), Err(TooManyTaskDone));
}

#[test]
fn put_waits_while_full() {
    let q: Queue<u32> = Queue::new(1);
    q.try_put(1).unwrap();
    let wake = Arc::new(CountWake::default());
    let mut put = q.put(2);
    assert!(poll_with(&mut put, &wake).is_pending());
    assert_eq!(q.try_get(), Some(1));
    assert_eq!(
        wake.0.load(Ordering::SeqCst),
        1,
        "taking a value wakes a putter"
    );
    assert!(poll_with(&mut put, &wake).is_ready());
    assert_eq!(q.try_get(), Some(2));
}

/// A getter woken for a value and dropped before it ran passes the wake-up
/// to the next getter; the value stays in the queue.
#[test]
fn a_cancelled_woken_getter_passes_its_wake_up_on() {
    let q: Queue<u32> = Queue::new(0);
    let (w1, w2) = (
        Arc::new(CountWake::default()),
        Arc::new(CountWake::default()),
    );
    let mut g1 = q.get();
    let mut g2 = q.get();
    assert!(poll_with(&mut g1, &w1).is_pending());
    assert!(poll_with(&mut g2, &w2).is_pending());
    q.try_put(7).unwrap();
    assert_eq!(w1.0.load(Ordering::SeqCst), 1);
    assert_eq!(w2.0.load(Ordering::SeqCst), 0);
    drop(g1);
    assert_eq!(w2.0.load(Ordering::SeqCst), 1, "the wake-up was passed on");
    assert_eq!(poll_with(&mut g2, &w2), Poll::Ready(7));
}

/// The same for putters on a full queue: the room goes to the next putter.
#[test]
fn a_cancelled_woken_putter_passes_the_room_on() {
    let q: Queue<u32> = Queue::new(1);
    q.try_put(0).unwrap();
    let (w1, w2) = (
        Arc::new(CountWake::default()),
        Arc::new(CountWake::default()),
    );
    let mut p1 = q.put(1);
    let mut p2 = q.put(2);
    assert!(poll_with(&mut p1, &w1).is_pending());
    assert!(poll_with(&mut p2, &w2).is_pending());
    assert_eq!(q.try_get(), Some(0));
    drop(p1);
    assert_eq!(w2.0.load(Ordering::SeqCst), 1, "the room was passed on");
    assert!(poll_with(&mut p2, &w2).is_ready());
    assert_eq!(q.try_get(), Some(2));
    assert_eq!(q.try_get(), None);
}

/// Producers and consumers on a small bounded queue, every `put` and `get`
/// under `wait_for` with random tiny timeouts, and a third of the tasks
/// cancelled or aborted from outside at random moments: every value whose
/// `put` completed is got exactly once (or is still queued), no other value
/// appears, `join` completes once all are marked done, and fresh getters
/// and putters afterwards are not left hanging.
#[test]
fn cancelled_at_random_loses_no_value() {
    const PRODUCERS: u64 = 32;
    const CONSUMERS: u64 = 32;
    const PER_PRODUCER: u64 = 200;
    watchdog("queue cancellation stress", HANG, || {
        let rt = rt(2);
        let q: Arc<Queue<u64>> = Arc::new(Queue::new(4));
        let put_ok = Arc::new(Mutex::new(Vec::new()));
        let got = Arc::new(Mutex::new(Vec::new()));
        let cut_short = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let mut handles: Vec<JoinHandle<()>> = Vec::new();
        for p in 0..PRODUCERS {
            let (q, put_ok, cut_short) = (q.clone(), put_ok.clone(), cut_short.clone());
            handles.push(rt.spawn(async move {
                let mut rng = XorShift::new(0xABC0 + p);
                for i in 0..PER_PRODUCER {
                    let v = p * PER_PRODUCER + i;
                    let t = Duration::from_micros(rng.below(200));
                    if wait_for(q.put(v), t).await.is_ok() {
                        put_ok.lock().unwrap().push(v);
                    } else {
                        cut_short[0].fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for c in 0..CONSUMERS {
            let (q, got, cut_short) = (q.clone(), got.clone(), cut_short.clone());
            handles.push(rt.spawn(async move {
                let mut rng = XorShift::new(0xDEF0 + c);
                loop {
                    let t = Duration::from_micros(rng.below(300));
                    match wait_for(q.get(), t).await {
                        Ok(v) => {
                            got.lock().unwrap().push(v);
                            q.task_done().unwrap();
                        }
                        Err(_) => {
                            cut_short[1].fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        let mut rng = XorShift::new(0x5EED);
        for h in &handles {
            if rng.chance(33) {
                spin_for(rng.below(20_000));
                if rng.chance(50) {
                    h.cancel();
                } else {
                    h.abort();
                }
            }
        }
        // The producers finish (or were cancelled); then the consumers go.
        let consumers = handles.split_off(PRODUCERS as usize);
        let mut cancelled = 0;
        for h in handles {
            if rt.block_on(h).is_err() {
                cancelled += 1;
            }
        }
        for h in &consumers {
            h.cancel();
        }
        for h in consumers {
            if let Err(e) = rt.block_on(h) {
                assert!(e.is_cancelled());
            }
        }
        let mut received = std::mem::take(&mut *got.lock().unwrap());
        while let Some(v) = q.try_get() {
            received.push(v);
            q.task_done().unwrap();
        }
        let mut put = std::mem::take(&mut *put_ok.lock().unwrap());
        assert!(!put.is_empty());
        assert!(cancelled > 0, "no producer was cancelled");
        assert!(
            cut_short[0].load(Ordering::SeqCst) > 0,
            "no put was cut short"
        );
        assert!(
            cut_short[1].load(Ordering::SeqCst) > 0,
            "no get was cut short"
        );
        received.sort_unstable();
        put.sort_unstable();
        let distinct: HashSet<_> = received.iter().collect();
        assert_eq!(distinct.len(), received.len(), "a value was got twice");
        assert_eq!(received, put, "a value was lost or made up");
        // Every value was marked done: join completes.
        rt.block_on(q.join());
        // No stale waiter state: putters blocked on a full queue and
        // getters on an empty one all get through.
        let mut fresh = Vec::new();
        for _ in 0..8 {
            let q2 = q.clone();
            fresh.push(rt.spawn(async move {
                let v = q2.get().await;
                q2.task_done().unwrap();
                assert!(v >= 1_000_000);
            }));
        }
        for v in 0..16 {
            let q2 = q.clone();
            fresh.push(rt.spawn(async move { q2.put(1_000_000 + v).await }));
        }
        for _ in 0..8 {
            let q2 = q.clone();
            fresh.push(rt.spawn(async move {
                q2.get().await;
                q2.task_done().unwrap();
            }));
        }
        for h in fresh {
            rt.block_on(h).unwrap();
        }
        rt.block_on(q.join());
        assert!(q.is_empty());
    });
}

#[test]
fn an_always_ready_get_yields_its_worker() {
    assert_ready_loop_yields("Queue::get", |flag| async move {
        let q = Queue::new(0);
        let mut n = 0;
        while !flag.load(Ordering::SeqCst) && n < HOG_LIMIT {
            q.try_put(n).unwrap();
            q.get().await;
            n += 1;
        }
        n
    });
}

#[test]
fn an_always_ready_put_yields_its_worker() {
    assert_ready_loop_yields("Queue::put", |flag| async move {
        let q = LifoQueue::new(0);
        let mut n = 0;
        while !flag.load(Ordering::SeqCst) && n < HOG_LIMIT {
            q.put(n).await;
            q.try_get();
            n += 1;
        }
        n
    });
}
