//! `tasklane::sync::{watch, broadcast}`: tokio's semantics (latest value
//! and change notification; every receiver gets every value, a lagging one
//! is told how many it missed); cancelled at any point a wait loses
//! nothing; the waits take part in the cooperative budget.

mod common;

use common::{
    CountWake, HANG, HOG_LIMIT, XorShift, assert_ready_loop_yields, poll_once, poll_with, rt,
    spin_for, watchdog,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tasklane::sync::{broadcast, watch};
use tasklane::wait_for;

#[test]
fn watch_sees_the_latest_value_and_each_change_once() {
    let (tx, mut rx) = watch::channel(0);
    assert_eq!(*rx.borrow(), 0);
    assert!(!rx.has_changed());
    assert!(poll_once(&mut rx.changed()).is_pending());
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(rx.has_changed());
    assert_eq!(poll_once(&mut rx.changed()), std::task::Poll::Ready(Ok(())));
    assert_eq!(
        *rx.borrow(),
        2,
        "the latest; intermediate values are not kept"
    );
    assert!(poll_once(&mut rx.changed()).is_pending(), "seen");
}

#[test]
fn watch_wakes_waiters_clones_and_subscribers() {
    let (tx, mut rx) = watch::channel("a");
    let mut clone = rx.clone();
    let mut sub = tx.subscribe();
    let w = Arc::new(CountWake::default());
    let mut changed = rx.changed();
    assert!(poll_with(&mut changed, &w).is_pending());
    tx.send("b").unwrap();
    assert_eq!(w.0.load(Ordering::SeqCst), 1);
    assert!(poll_with(&mut changed, &w).is_ready());
    assert!(poll_once(&mut clone.changed()).is_ready());
    assert!(poll_once(&mut sub.changed()).is_ready());
    assert_eq!(*sub.borrow_and_update(), "b");
    assert_eq!(tx.receiver_count(), 3);
}

#[test]
fn watch_closes_when_every_sender_is_gone() {
    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    drop(tx);
    let w = Arc::new(CountWake::default());
    let mut changed = rx.changed();
    assert!(poll_with(&mut changed, &w).is_pending(), "one sender left");
    tx2.send(5).unwrap();
    drop(tx2);
    // The last value is still delivered, then the error.
    assert!(poll_with(&mut changed, &w).is_ready());
    drop(changed);
    assert_eq!(*rx.borrow(), 5);
    assert_eq!(
        poll_once(&mut rx.changed()),
        std::task::Poll::Ready(Err(watch::RecvError))
    );
}

#[test]
fn watch_closing_wakes_a_waiter() {
    let (tx, mut rx) = watch::channel(0);
    let w = Arc::new(CountWake::default());
    let mut changed = rx.changed();
    assert!(poll_with(&mut changed, &w).is_pending());
    drop(tx);
    assert_eq!(w.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        poll_with(&mut changed, &w),
        std::task::Poll::Ready(Err(watch::RecvError))
    );
}

#[test]
fn watch_send_without_receivers_gives_the_value_back() {
    let (tx, rx) = watch::channel(1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(watch::SendError(2)));
    assert_eq!(*tx.borrow(), 1);
    assert_eq!(tx.send_replace(3), 1);
    assert_eq!(*tx.subscribe().borrow(), 3);
}

/// Receivers wait for changes under random tiny timeouts while the sender
/// counts up: each sees a non-decreasing sequence, and, the `changed` it
/// lost to a timeout notwithstanding, ends on the last value.
#[test]
fn watch_changed_cancelled_at_random_still_ends_on_the_last_value() {
    watchdog("watch cancellation stress", HANG, || {
        let rt = rt(2);
        let (tx, rx) = watch::channel(0u64);
        let handles: Vec<_> = (0..16)
            .map(|r| {
                let mut rx = rx.clone();
                rt.spawn(async move {
                    let mut rng = XorShift::new(0x7A7C + r);
                    let mut last = 0;
                    loop {
                        let t = Duration::from_micros(rng.below(100));
                        match wait_for(rx.changed(), t).await {
                            Ok(Ok(())) => {
                                let v = *rx.borrow_and_update();
                                assert!(v >= last, "went back from {last} to {v}");
                                last = v;
                            }
                            Ok(Err(watch::RecvError)) => return *rx.borrow(),
                            Err(_) => {}
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let mut rng = XorShift::new(1);
        for v in 1..=2_000 {
            tx.send(v).unwrap();
            spin_for(rng.below(500));
        }
        drop(tx);
        for h in handles {
            assert_eq!(rt.block_on(h).unwrap(), 2_000);
        }
    });
}

#[test]
fn broadcast_every_receiver_gets_every_value() {
    let (tx, mut a) = broadcast::channel(8);
    let mut b = tx.subscribe();
    for v in 0..5 {
        assert_eq!(tx.send(v).unwrap(), 2);
    }
    let mut c = tx.subscribe(); // from now on only
    tx.send(5).unwrap();
    for rx in [&mut a, &mut b] {
        for v in 0..6 {
            assert_eq!(rx.try_recv(), Ok(v));
        }
        assert_eq!(rx.try_recv(), Err(broadcast::TryRecvError::Empty));
    }
    assert_eq!(c.try_recv(), Ok(5));
    let mut d = c.clone(); // where c stands
    tx.send(6).unwrap();
    assert_eq!(c.try_recv(), Ok(6));
    assert_eq!(d.try_recv(), Ok(6));
}

#[test]
fn broadcast_a_lagging_receiver_is_told_how_many_it_missed() {
    let (tx, mut slow) = broadcast::channel(3);
    let mut fast = tx.subscribe();
    for v in 0..10 {
        tx.send(v).unwrap();
        assert_eq!(fast.try_recv(), Ok(v));
    }
    assert_eq!(slow.try_recv(), Err(broadcast::TryRecvError::Lagged(7)));
    for v in 7..10 {
        assert_eq!(slow.try_recv(), Ok(v));
    }
    drop(tx);
    assert_eq!(slow.try_recv(), Err(broadcast::TryRecvError::Closed));
    assert_eq!(
        poll_once(&mut fast.recv()),
        std::task::Poll::Ready(Err(broadcast::RecvError::Closed))
    );
}

#[test]
fn broadcast_recv_waits_and_wakes_on_send_and_close() {
    let (tx, mut rx) = broadcast::channel(2);
    let w = Arc::new(CountWake::default());
    let mut recv = rx.recv();
    assert!(poll_with(&mut recv, &w).is_pending());
    tx.send(1).unwrap();
    assert_eq!(w.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_with(&mut recv, &w), std::task::Poll::Ready(Ok(1)));
    let mut recv = rx.recv();
    assert!(poll_with(&mut recv, &w).is_pending());
    drop(tx);
    assert_eq!(w.0.load(Ordering::SeqCst), 2);
    assert_eq!(
        poll_with(&mut recv, &w),
        std::task::Poll::Ready(Err(broadcast::RecvError::Closed))
    );
    let (tx, rx) = broadcast::channel::<u8>(1);
    drop(rx);
    assert_eq!(tx.send(1), Err(broadcast::SendError(1)));
}

/// Receivers whose `recv` is cut short by random tiny timeouts, with a ring
/// large enough for all values: each still gets every value exactly once,
/// in order.
#[test]
fn broadcast_recv_cancelled_at_random_loses_no_value() {
    const VALUES: u64 = 2_000;
    watchdog("broadcast cancellation stress", HANG, || {
        let rt = rt(2);
        let (tx, rx) = broadcast::channel(VALUES as usize);
        let handles: Vec<_> = (0..16)
            .map(|r| {
                let mut rx = rx.clone();
                rt.spawn(async move {
                    let mut rng = XorShift::new(0xB0B0 + r);
                    let mut got = Vec::new();
                    loop {
                        let t = Duration::from_micros(rng.below(100));
                        match wait_for(rx.recv(), t).await {
                            Ok(Ok(v)) => got.push(v),
                            Ok(Err(broadcast::RecvError::Closed)) => return got,
                            Ok(Err(e)) => panic!("{e}"),
                            Err(_) => {}
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let mut rng = XorShift::new(2);
        for v in 0..VALUES {
            tx.send(v).unwrap();
            spin_for(rng.below(300));
        }
        drop(tx);
        for h in handles {
            assert_eq!(rt.block_on(h).unwrap(), (0..VALUES).collect::<Vec<_>>());
        }
    });
}

#[test]
fn an_always_ready_changed_yields_its_worker() {
    assert_ready_loop_yields("watch::Receiver::changed", |flag| async move {
        let (tx, mut rx) = watch::channel(0);
        let mut i = 0;
        while !flag.load(Ordering::SeqCst) && i < HOG_LIMIT {
            tx.send(i).unwrap();
            rx.changed().await.unwrap();
            i += 1;
        }
        i
    });
}

#[test]
fn an_always_ready_broadcast_recv_yields_its_worker() {
    assert_ready_loop_yields("broadcast::Receiver::recv", |flag| async move {
        let (tx, mut rx) = broadcast::channel(4);
        let mut i = 0;
        while !flag.load(Ordering::SeqCst) && i < HOG_LIMIT {
            tx.send(i).unwrap();
            rx.recv().await.unwrap();
            i += 1;
        }
        i
    });
}

#[test]
fn broadcast_wakes_more_waiters_than_one_batch() {
    // A send wakes its waiting receivers in batches of 32: 100 waiting
    // tasks, then every one gets each of the values, then the close.
    let rt = rt(2);
    let (tx, rx) = broadcast::channel::<u32>(4);
    let mut hs = Vec::new();
    for _ in 0..100 {
        let mut rx = rx.clone();
        hs.push(rt.spawn(async move {
            let mut got = Vec::new();
            while let Ok(v) = rx.recv().await {
                got.push(v);
            }
            got
        }));
    }
    drop(rx);
    rt.block_on(async {
        // Every receiver is waiting before the first send.
        common::yield_until(|| {
            let tasks = tasklane::Handle::current().tasks();
            tasks.len() == 100
                && tasks
                    .iter()
                    .all(|t| t.state() == tasklane::task::TaskState::Suspended)
        })
        .await;
    });
    for v in 0..3 {
        tx.send(v).unwrap();
    }
    drop(tx);
    for h in hs {
        assert_eq!(rt.block_on(h).unwrap(), [0, 1, 2]);
    }
}
