//! `tasklane::sync` under tasklane's cancellation (a pending future dropped
//! at a suspension point): a `Semaphore::acquire` cancelled anywhere never
//! leaks a permit; a bounded queue's values, with senders and receivers
//! cancelled at random, are each received exactly once or dropped with
//! their unfinished send; the oneshot channel behaves. The channel's waits
//! and its stream take part in the cooperative budget.

mod common;

use common::{HOG_LIMIT, XorShift, assert_ready_loop_yields, rt, spin_for, spin_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::sync::{Semaphore, bounded, oneshot};
use tasklane::task::{JoinHandle, TaskState};
use tasklane::time::sleep;
use tasklane::wait_for;

fn micros(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Waits for every handle; each ends with its value or cancelled.
fn finish_all(rt: &tasklane::Runtime, handles: Vec<JoinHandle<()>>) -> (usize, usize) {
    let (mut completed, mut cancelled) = (0, 0);
    for h in handles {
        match rt.block_on(h) {
            Ok(()) => completed += 1,
            Err(e) if e.is_cancelled() => cancelled += 1,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    (completed, cancelled)
}

/// Every permit is back: `try_acquire` succeeds exactly `n` times.
fn assert_all_permits_back(sem: &Semaphore, n: usize) {
    let guards: Vec<_> = (0..n).map(|_| sem.try_acquire()).collect();
    assert!(guards.iter().all(Option::is_some), "a permit leaked");
    assert!(sem.try_acquire().is_none(), "more permits than given");
}

/// Counts a permit holder while alive.
struct Holding {
    holders: Arc<AtomicUsize>,
    now: usize,
}

impl Holding {
    fn new(holders: &Arc<AtomicUsize>) -> Holding {
        let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
        Holding {
            holders: holders.clone(),
            now,
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.holders.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Many tasks acquire under `wait_for` with random tiny timeouts, hold the
/// permit across suspension points, and some are cancelled or aborted at
/// random moments from outside: never more than N holders at once, and
/// every permit is back at the end.
#[test]
fn semaphore_acquire_cancelled_at_random_never_leaks() {
    const PERMITS: usize = 3;
    const TASKS: u64 = 128;
    const ROUNDS: u64 = 100;
    let rt = rt(2);
    let sem = Arc::new(Semaphore::new(PERMITS));
    let holders = Arc::new(AtomicUsize::new(0));
    let max_holders = Arc::new(AtomicUsize::new(0));
    let acquired = Arc::new(AtomicUsize::new(0));
    let timed_out = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<()>> = (0..TASKS)
        .map(|t| {
            let (sem, holders, max_holders) = (sem.clone(), holders.clone(), max_holders.clone());
            let (acquired, timed_out) = (acquired.clone(), timed_out.clone());
            rt.spawn(async move {
                let mut rng = XorShift::new(0x5EED_0000 + t);
                for _ in 0..ROUNDS {
                    match wait_for(sem.acquire(), micros(rng.below(300))).await {
                        Ok(permit) => {
                            acquired.fetch_add(1, Ordering::SeqCst);
                            // Dropped before the permit, also when the task
                            // is cancelled while holding it.
                            let holding = Holding::new(&holders);
                            max_holders.fetch_max(holding.now, Ordering::SeqCst);
                            match rng.below(3) {
                                0 => tasklane::yield_now().await,
                                1 => sleep(micros(rng.below(200))).await,
                                _ => {}
                            }
                            drop(holding);
                            drop(permit);
                        }
                        Err(_) => {
                            timed_out.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    // Cancel or abort a third of them at random moments, from outside.
    let mut rng = XorShift::new(0xC0FFEE);
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
    let (completed, cancelled) = finish_all(&rt, handles);
    assert_eq!(completed + cancelled, TASKS as usize);
    assert!(cancelled > 0, "no task was cancelled mid-way");
    assert!(max_holders.load(Ordering::SeqCst) <= PERMITS);
    assert!(acquired.load(Ordering::SeqCst) > 0);
    assert!(
        timed_out.load(Ordering::SeqCst) > 0,
        "no acquire was ever cut short"
    );
    assert_eq!(holders.load(Ordering::SeqCst), 0);
    assert_all_permits_back(&sem, PERMITS);
}

/// Tasks blocked in `acquire` are cancelled (some right after a permit was
/// released, so possibly after being notified): the permits reach the
/// waiters that remain, every one of which gets through, and all permits
/// are back at the end.
#[test]
fn cancelled_waiters_pass_their_permits_on() {
    const PERMITS: usize = 2;
    const WAITERS: usize = 40;
    let rt = rt(2);
    let sem = Arc::new(Semaphore::new(PERMITS));
    let held: Vec<_> = (0..PERMITS)
        .map(|_| sem.try_acquire_arc().unwrap())
        .collect();
    let through = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<()>> = (0..WAITERS)
        .map(|_| {
            let (sem, through) = (sem.clone(), through.clone());
            rt.spawn(async move {
                let _g = sem.acquire().await;
                tasklane::yield_now().await;
                through.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    spin_until("every waiter blocked", || {
        handles.iter().all(|h| h.state() == TaskState::Suspended)
    });
    let mut rng = XorShift::new(7);
    let mut held = held;
    let mut cancelled = [false; WAITERS];
    for (i, h) in handles.iter().enumerate() {
        if rng.chance(50) {
            // Release a permit now and then, racing the cancellation.
            if let Some(g) = held.pop() {
                drop(g);
            }
            spin_for(rng.below(5_000));
            if rng.chance(50) {
                h.cancel();
            } else {
                h.abort();
            }
            cancelled[i] = true;
        }
    }
    drop(held);
    let mut got_through = 0;
    for (i, h) in handles.into_iter().enumerate() {
        match rt.block_on(h) {
            Ok(()) => got_through += 1,
            Err(e) => assert!(e.is_cancelled() && cancelled[i], "waiter {i}: {e}"),
        }
    }
    assert_eq!(got_through, through.load(Ordering::SeqCst));
    assert!(got_through >= cancelled.iter().filter(|c| !**c).count());
    assert_all_permits_back(&sem, PERMITS);
}

/// Per-value bookkeeping for the queue test.
struct Ledger {
    created: AtomicUsize,
    sent: Vec<AtomicU8>,
    received: Vec<AtomicU8>,
    dropped_unsent: Vec<AtomicU8>,
}

impl Ledger {
    fn new(n: usize) -> Arc<Ledger> {
        let zeros = || (0..n).map(|_| AtomicU8::new(0)).collect();
        Arc::new(Ledger {
            created: AtomicUsize::new(0),
            sent: zeros(),
            received: zeros(),
            dropped_unsent: zeros(),
        })
    }
}

/// A queued value: dropped unreceived, it records that in the ledger.
struct Item {
    id: usize,
    received: bool,
    ledger: Arc<Ledger>,
}

impl Item {
    fn new(id: usize, ledger: &Arc<Ledger>) -> Item {
        ledger.created.fetch_add(1, Ordering::SeqCst);
        Item {
            id,
            received: false,
            ledger: ledger.clone(),
        }
    }

    fn receive(mut self) {
        self.received = true;
        self.ledger.received[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        if !self.received {
            self.ledger.dropped_unsent[self.id].fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Producers send under random `wait_for` timeouts, consumers receive under
/// random timeouts, and a third of each are cancelled or aborted at random
/// moments. Every value made is either received exactly once (exactly the
/// values whose send completed) or dropped with its unfinished send.
#[test]
fn bounded_queue_values_are_received_once_or_dropped_unsent() {
    const PRODUCERS: usize = 8;
    const PER_PRODUCER: usize = 1000;
    const CONSUMERS: usize = 4;
    const N: usize = PRODUCERS * PER_PRODUCER;
    let rt = rt(2);
    let ledger = Ledger::new(N);
    let (tx, rx) = bounded::<Item>(4);
    let drain = rx.clone();
    let mut rng = XorShift::new(0xB0B);

    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let (tx, ledger) = (tx.clone(), ledger.clone());
        producers.push(rt.spawn(async move {
            let mut rng = XorShift::new(1000 + p as u64);
            for k in 0..PER_PRODUCER {
                let id = p * PER_PRODUCER + k;
                let item = Item::new(id, &ledger);
                match wait_for(tx.send(item), micros(rng.below(400))).await {
                    Ok(Ok(())) => {
                        ledger.sent[id].store(1, Ordering::SeqCst);
                    }
                    Ok(Err(e)) => panic!("the queue closed under a producer: {e}"),
                    Err(_) => {} // dropped with the send future
                }
                if rng.chance(10) {
                    tasklane::yield_now().await;
                }
            }
        }));
    }
    drop(tx);
    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let rx = rx.clone();
        consumers.push(rt.spawn(async move {
            let mut rng = XorShift::new(2000 + c as u64);
            loop {
                match wait_for(rx.recv(), micros(rng.below(400))).await {
                    Ok(Ok(item)) => item.receive(),
                    Ok(Err(_closed)) => break,
                    Err(_) => {}
                }
                if rng.chance(10) {
                    sleep(micros(rng.below(100))).await;
                }
            }
        }));
    }
    drop(rx);
    // Chaos from outside: cancel or abort some of each, at random moments.
    let mut victims: Vec<&JoinHandle<()>> = producers.iter().chain(consumers.iter()).collect();
    // Keep at least one consumer alive, so the queue keeps moving.
    victims.pop();
    for h in victims {
        if rng.chance(33) {
            spin_for(rng.below(200_000));
            if rng.chance(50) {
                h.cancel();
            } else {
                h.abort();
            }
        }
    }
    let (p_done, p_cancelled) = finish_all(&rt, producers);
    assert_eq!(p_done + p_cancelled, PRODUCERS);
    // The producers are gone, so the queue is closed: consumers end.
    let (_, c_cancelled) = finish_all(&rt, consumers);
    assert!(
        p_cancelled + c_cancelled > 0,
        "no task was cancelled mid-way"
    );
    // What is left in the queue is received here.
    while let Ok(item) = drain.try_recv() {
        item.receive();
    }
    drop(drain);

    let created = ledger.created.load(Ordering::SeqCst);
    let (mut received, mut dropped, mut sent) = (0, 0, 0);
    for id in 0..N {
        let r = ledger.received[id].load(Ordering::SeqCst) as usize;
        let d = ledger.dropped_unsent[id].load(Ordering::SeqCst) as usize;
        let s = ledger.sent[id].load(Ordering::SeqCst) as usize;
        assert!(r <= 1, "value {id} received {r} times");
        assert_eq!(r, s, "value {id}: sent {s}, received {r}");
        received += r;
        dropped += d;
        sent += s;
        assert!(r + d <= 1, "value {id}: received {r}, dropped unsent {d}");
    }
    assert_eq!(
        received + dropped,
        created,
        "every value made is accounted for"
    );
    assert_eq!(received, sent);
    assert!(
        received > 0 && dropped > 0,
        "received {received}, dropped {dropped}"
    );
}

/// The oneshot channel: a value crosses tasks; a dropped sender is
/// `Canceled`; a dropped (or cancelled) receiver gives the value back to
/// `send` and fires the sender's `cancellation()`.
#[test]
fn oneshot_basics() {
    let rt = rt(2);
    // A value from one task to another.
    let (tx, rx) = oneshot::channel::<String>();
    let receiver = rt.spawn(rx);
    rt.spawn(async move {
        sleep(Duration::from_millis(2)).await;
        tx.send("hello".to_owned()).unwrap();
    })
    .detach();
    assert_eq!(rt.block_on(receiver).unwrap().unwrap(), "hello");

    // The sender dropped unsent.
    let (tx, rx) = oneshot::channel::<u32>();
    let receiver = rt.spawn(rx);
    drop(tx);
    assert_eq!(rt.block_on(receiver).unwrap(), Err(oneshot::Canceled));

    // The receiver dropped: the value comes back.
    let (tx, rx) = oneshot::channel::<u32>();
    drop(rx);
    assert!(tx.is_canceled());
    assert_eq!(tx.send(5), Err(5));

    // The task receiving is cancelled: the sender learns it.
    let (mut tx, rx) = oneshot::channel::<u32>();
    let receiver = rt.spawn(rx);
    spin_until("receiver waiting", || {
        receiver.state() == TaskState::Suspended
    });
    let noticed = Arc::new(AtomicBool::new(false));
    let watcher = rt.spawn({
        let noticed = noticed.clone();
        async move {
            tx.cancellation().await;
            noticed.store(true, Ordering::SeqCst);
            tx
        }
    });
    receiver.cancel();
    assert!(rt.block_on(receiver).unwrap_err().is_cancelled());
    let tx = rt.block_on(watcher).unwrap();
    assert!(noticed.load(Ordering::SeqCst));
    assert_eq!(tx.send(6), Err(6));
}

#[test]
fn an_always_ready_channel_yields_its_worker() {
    assert_ready_loop_yields("channel send/recv", |flag| async move {
        let (tx, rx) = bounded::<u64>(1);
        let mut n = 0;
        while !flag.load(Ordering::SeqCst) && n < HOG_LIMIT {
            tx.send(n).await.unwrap();
            assert_eq!(rx.recv().await.unwrap(), n);
            n += 1;
        }
        n
    });
}

#[test]
fn an_always_ready_channel_stream_yields_its_worker() {
    use std::future::poll_fn;
    assert_ready_loop_yields("channel Stream", |flag| async move {
        let (tx, rx) = tasklane::sync::unbounded::<u64>();
        let mut rx = std::pin::pin!(rx);
        let mut n = 0;
        while !flag.load(Ordering::SeqCst) && n < HOG_LIMIT {
            tx.try_send(n).unwrap();
            let got = poll_fn(|cx| futures_core::Stream::poll_next(rx.as_mut(), cx)).await;
            assert_eq!(got, Some(n));
            n += 1;
        }
        n
    });
}
