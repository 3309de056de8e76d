//! `tasklane::sync::{Notify, Event}`: tokio's `Notify` (one stored permit,
//! `notify_waiters` for the waiters of the moment) and asyncio's `Event`;
//! cancelled at any point they lose no notification; their waits take part
//! in the cooperative budget.

mod common;

use common::{
    CountWake, HANG, HOG_LIMIT, XorShift, assert_ready_loop_yields, poll_once, poll_with, rt,
    spin_for, spin_until, watchdog,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tasklane::sync::{Event, Notify};
use tasklane::task::JoinHandle;

#[test]
fn notify_one_without_waiter_stores_one_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one();
    assert!(poll_once(&mut n.notified()).is_ready(), "the permit");
    assert!(poll_once(&mut n.notified()).is_pending(), "only one permit");
}

#[test]
fn notify_one_wakes_one_waiter_in_order() {
    let n = Notify::new();
    let (w1, w2) = (
        Arc::new(CountWake::default()),
        Arc::new(CountWake::default()),
    );
    let mut a = n.notified();
    let mut b = n.notified();
    assert!(poll_with(&mut a, &w1).is_pending());
    assert!(poll_with(&mut b, &w2).is_pending());
    n.notify_one();
    assert_eq!(w1.0.load(Ordering::SeqCst), 1);
    assert_eq!(w2.0.load(Ordering::SeqCst), 0);
    assert!(poll_with(&mut a, &w1).is_ready());
    assert!(poll_with(&mut b, &w2).is_pending());
    // A waiter was there: no permit is stored.
    assert!(poll_once(&mut n.notified()).is_pending());
}

#[test]
fn notify_waiters_wakes_those_created_before_and_stores_nothing() {
    let n = Notify::new();
    let mut polled = n.notified();
    let mut unpolled = n.notified();
    assert!(poll_once(&mut polled).is_pending());
    n.notify_waiters();
    let mut after = n.notified();
    assert!(poll_once(&mut polled).is_ready());
    assert!(
        poll_once(&mut unpolled).is_ready(),
        "created before the call"
    );
    assert!(
        poll_once(&mut after).is_pending(),
        "created after: no permit"
    );
}

/// A waiter chosen by `notify_one` and dropped before it ran hands the
/// notification to the next waiter, or back to the permit.
#[test]
fn a_cancelled_notified_waiter_passes_the_notification_on() {
    let n = Notify::new();
    let (w1, w2) = (
        Arc::new(CountWake::default()),
        Arc::new(CountWake::default()),
    );
    let mut a = n.notified();
    let mut b = n.notified();
    assert!(poll_with(&mut a, &w1).is_pending());
    assert!(poll_with(&mut b, &w2).is_pending());
    n.notify_one();
    drop(a);
    assert_eq!(w2.0.load(Ordering::SeqCst), 1, "passed to the next waiter");
    assert!(poll_with(&mut b, &w2).is_ready());

    let mut c = n.notified();
    assert!(poll_once(&mut c).is_pending());
    n.notify_one();
    drop(c);
    assert!(
        poll_once(&mut n.notified()).is_ready(),
        "back to the permit"
    );
}

/// Waiters on a runtime, cancelled at random while `notify_one` is called
/// as many times as there are waiters that finish: every waiter not
/// cancelled gets through, so no notification was swallowed by a
/// cancelled one.
#[test]
fn notify_with_waiters_cancelled_at_random_loses_nothing() {
    const WAITERS: usize = 64;
    watchdog("notify cancellation stress", HANG, || {
        let rt = rt(2);
        let n = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<JoinHandle<()>> = (0..WAITERS)
            .map(|_| {
                let (n, woken, started) = (n.clone(), woken.clone(), started.clone());
                rt.spawn(async move {
                    // Counted in the poll that registers the waiter, so once
                    // all are counted all are registered (permits do not
                    // add up, so notifying earlier could release fewer).
                    started.fetch_add(1, Ordering::SeqCst);
                    n.notified().await;
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        spin_until("every waiter registered", || {
            started.load(Ordering::SeqCst) == WAITERS
        });
        let mut rng = XorShift::new(0x0D0E);
        let mut cancelled = Vec::new();
        for (i, h) in handles.iter().enumerate() {
            if rng.chance(40) {
                h.cancel();
                cancelled.push(i);
            }
            n.notify_one();
            spin_for(rng.below(2_000));
        }
        let mut finished = 0;
        for h in handles {
            if rt.block_on(h).is_ok() {
                finished += 1;
            }
        }
        // Each notify_one reached a waiter that finished or was passed on:
        // with as many notifications as waiters, every survivor finished.
        assert_eq!(finished, woken.load(Ordering::SeqCst));
        assert!(finished >= WAITERS - cancelled.len());
        assert!(!cancelled.is_empty());
    });
}

#[test]
fn event_set_clear_wait() {
    let e = Event::new();
    assert!(!e.is_set());
    let mut w = e.wait();
    assert!(poll_once(&mut w).is_pending());
    e.set();
    assert!(e.is_set());
    assert!(poll_once(&mut w).is_ready());
    assert!(
        poll_once(&mut e.wait()).is_ready(),
        "set: waits return at once"
    );
    e.clear();
    assert!(!e.is_set());
    assert!(poll_once(&mut e.wait()).is_pending());
}

/// As in asyncio, a task waiting when `set` is called returns even if
/// `clear` follows before it runs.
#[test]
fn event_set_then_clear_still_releases_the_waiters_of_that_moment() {
    let e = Event::new();
    let wake = Arc::new(CountWake::default());
    let mut w = e.wait();
    assert!(poll_with(&mut w, &wake).is_pending());
    e.set();
    e.clear();
    assert_eq!(wake.0.load(Ordering::SeqCst), 1);
    assert!(poll_with(&mut w, &wake).is_ready());
}

#[test]
fn event_wakes_every_waiter_on_a_runtime_with_some_cancelled() {
    watchdog("event waiters", HANG, || {
        let rt = rt(2);
        let e = Arc::new(Event::new());
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<JoinHandle<()>> = (0..64)
            .map(|_| {
                let (e, started) = (e.clone(), started.clone());
                rt.spawn(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    e.wait().await
                })
            })
            .collect();
        spin_until("every waiter registered", || {
            started.load(Ordering::SeqCst) == 64
        });
        for h in handles.iter().step_by(3) {
            h.cancel();
        }
        e.set();
        let (mut done, mut cancelled) = (0, 0);
        for h in handles {
            match rt.block_on(h) {
                Ok(()) => done += 1,
                Err(_) => cancelled += 1,
            }
        }
        assert_eq!(done + cancelled, 64);
        assert!(done >= 64 - 22);
    });
}

#[test]
fn an_always_ready_notified_yields_its_worker() {
    assert_ready_loop_yields("Notify::notified", |flag| async move {
        let n = Notify::new();
        let mut i = 0;
        while !flag.load(Ordering::SeqCst) && i < HOG_LIMIT {
            n.notify_one();
            n.notified().await;
            i += 1;
        }
        i
    });
}

#[test]
fn an_always_ready_event_wait_yields_its_worker() {
    assert_ready_loop_yields("Event::wait", |flag| async move {
        let e = Event::new();
        e.set();
        let mut i = 0;
        while !flag.load(Ordering::SeqCst) && i < HOG_LIMIT {
            e.wait().await;
            i += 1;
        }
        i
    });
}

/// A `notify_one` that chose a waiter is not lost when a `notify_waiters`
/// reaches the same waiter too and the waiter is then dropped: it goes on
/// to the next waiter (here, as the permit).
#[test]
fn a_notify_one_outlives_a_notify_waiters_and_its_dropped_waiter() {
    common::rt(1).block_on(async {
        let n = Notify::new();
        let mut first = Box::pin(n.notified());
        assert!(
            futures_lite::future::poll_once(first.as_mut())
                .await
                .is_none()
        );
        n.notify_one();
        n.notify_waiters();
        drop(first);
        assert!(
            futures_lite::future::poll_once(n.notified())
                .await
                .is_some()
        );
    });
}
