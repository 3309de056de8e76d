//! `tasklane::sync::{Mutex, RwLock, Barrier, Semaphore}` (the mutex
//! tasklane's own, the others async-lock's, wrapped) under tasklane's
//! cancellation: waits cut short or cancelled at random never leave a lock
//! held, the mutex is handed to its waiters in order, and a barrier
//! releases its generation with one leader. Their waits take part in the
//! cooperative budget, and the `*_arc` guards work.

mod common;

use common::{
    CountWake, HANG, HOG_LIMIT, XorShift, assert_ready_loop_yields, poll_once, poll_with, rt,
    spin_for, watchdog,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;
use tasklane::sync::{Barrier, Mutex, RwLock, Semaphore};
use tasklane::task::JoinHandle;
use tasklane::wait_for;

/// Cancels or aborts about a third of `handles` at random moments.
fn cancel_some(handles: &[JoinHandle<()>], seed: u64) {
    let mut rng = XorShift::new(seed);
    for h in handles {
        if rng.chance(33) {
            spin_for(rng.below(20_000));
            if rng.chance(50) {
                h.cancel();
            } else {
                h.abort();
            }
        }
    }
}

#[test]
fn mutex_cancelled_at_random_is_never_left_locked() {
    watchdog("mutex cancellation stress", HANG, || {
        let rt = rt(2);
        let m = Arc::new(Mutex::new(0u64));
        let locked = Arc::new(AtomicUsize::new(0));
        let handles: Vec<JoinHandle<()>> = (0..64)
            .map(|t| {
                let (m, locked) = (m.clone(), locked.clone());
                rt.spawn(async move {
                    let mut rng = XorShift::new(0x1111 + t);
                    for _ in 0..100 {
                        let d = Duration::from_micros(rng.below(200));
                        if let Ok(mut guard) = wait_for(m.lock(), d).await {
                            locked.fetch_add(1, Ordering::SeqCst);
                            *guard += 1;
                            if rng.chance(30) {
                                tasklane::yield_now().await;
                            }
                        }
                    }
                })
            })
            .collect();
        cancel_some(&handles, 0x2222);
        for h in handles {
            let _ = rt.block_on(h);
        }
        let guard = m.try_lock().expect("no guard left behind");
        assert_eq!(*guard, locked.load(Ordering::SeqCst) as u64);
        assert!(*guard > 0);
    });
}

#[test]
fn rwlock_cancelled_at_random_is_never_left_locked() {
    watchdog("rwlock cancellation stress", HANG, || {
        let rt = rt(2);
        let l = Arc::new(RwLock::new(0u64));
        let writes = Arc::new(AtomicUsize::new(0));
        let handles: Vec<JoinHandle<()>> = (0..64)
            .map(|t| {
                let (l, writes) = (l.clone(), writes.clone());
                rt.spawn(async move {
                    let mut rng = XorShift::new(0x3333 + t);
                    for _ in 0..100 {
                        let d = Duration::from_micros(rng.below(200));
                        if rng.chance(30) {
                            if let Ok(mut w) = wait_for(l.write(), d).await {
                                writes.fetch_add(1, Ordering::SeqCst);
                                *w += 1;
                                tasklane::yield_now().await;
                            }
                        } else if let Ok(r) = wait_for(l.read(), d).await {
                            let before = *r;
                            tasklane::yield_now().await;
                            assert_eq!(*r, before, "written under a read guard");
                        }
                    }
                })
            })
            .collect();
        cancel_some(&handles, 0x4444);
        for h in handles {
            let _ = rt.block_on(h);
        }
        let w = l.try_write().expect("no guard left behind");
        assert_eq!(*w, writes.load(Ordering::SeqCst) as u64);
    });
}

#[test]
fn barrier_releases_each_generation_with_one_leader() {
    const N: usize = 8;
    watchdog("barrier", HANG, || {
        let rt = rt(2);
        let b = Arc::new(Barrier::new(N));
        let leaders = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..N)
            .map(|_| {
                let (b, leaders) = (b.clone(), leaders.clone());
                rt.spawn(async move {
                    for _ in 0..50 {
                        if b.wait().await.is_leader() {
                            leaders.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            rt.block_on(h).unwrap();
        }
        assert_eq!(leaders.load(Ordering::SeqCst), 50);
    });
}

#[test]
fn an_always_free_mutex_yields_its_worker() {
    assert_ready_loop_yields("Mutex::lock", |flag| async move {
        let m = Mutex::new(0u64);
        while !flag.load(Ordering::SeqCst) && *m.lock().await < HOG_LIMIT {
            *m.lock().await += 1;
        }
        m.into_inner()
    });
}

#[test]
fn an_always_free_rwlock_yields_its_worker() {
    assert_ready_loop_yields("RwLock::read/write", |flag| async move {
        let l = RwLock::new(0u64);
        while !flag.load(Ordering::SeqCst) && *l.read().await < HOG_LIMIT {
            *l.write().await += 1;
        }
        l.into_inner()
    });
}

#[test]
fn an_always_free_semaphore_yields_its_worker() {
    assert_ready_loop_yields("Semaphore::acquire", |flag| async move {
        let s = Semaphore::new(1);
        let mut n = 0;
        while !flag.load(Ordering::SeqCst) && n < HOG_LIMIT {
            drop(s.acquire().await);
            n += 1;
        }
        n
    });
}

#[test]
fn a_barrier_of_one_yields_its_worker() {
    assert_ready_loop_yields("Barrier::wait", |flag| async move {
        let b = Barrier::new(1);
        let mut n = 0;
        while !flag.load(Ordering::SeqCst) && n < HOG_LIMIT {
            assert!(b.wait().await.is_leader());
            n += 1;
        }
        n
    });
}

#[test]
fn arc_guards_through_the_wrappers() {
    let rt = rt(2);
    rt.block_on(async {
        let m = Arc::new(Mutex::new(1));
        let g = m.lock_arc().await;
        assert!(m.try_lock_arc().is_none());
        // The guard owns its reference: it outlives this `Arc`.
        let m2 = m.clone();
        drop(m);
        let waiter = tasklane::spawn(async move { *m2.lock_arc().await });
        drop(g);
        assert_eq!(waiter.await.unwrap(), 1);

        let l = Arc::new(RwLock::new(String::from("a")));
        let r1 = l.read_arc().await;
        let r2 = l.try_read_arc().expect("readers share");
        assert!(l.try_write_arc().is_none());
        drop((r1, r2));
        l.write_arc().await.push('b');
        let up = l.upgradable_read_arc().await;
        assert_eq!(&*up, "ab");
        drop(up);

        let s = Arc::new(Semaphore::new(1));
        let p = s.acquire_arc().await;
        assert!(s.try_acquire_arc().is_none());
        assert_eq!(s.available_permits(), 0);
        drop(p);
        assert_eq!(s.available_permits(), 1);
    });
}

#[test]
fn the_mutex_is_handed_to_waiters_in_the_order_they_asked() {
    let m = Mutex::new(Vec::new());
    let first = m.try_lock().expect("free");
    let wakes: Vec<Arc<CountWake>> = (0..3).map(|_| Arc::new(CountWake::default())).collect();
    let mut waiters: Vec<_> = (0..3).map(|_| m.lock()).collect();
    for (w, wake) in waiters.iter_mut().zip(&wakes) {
        assert!(poll_with(w, wake).is_pending());
    }
    drop(first);
    // Handed to the first waiter, not freed: nobody can barge in.
    assert_eq!(wakes[0].0.load(Ordering::SeqCst), 1);
    assert!(m.try_lock().is_none());
    for (i, w) in waiters.iter_mut().enumerate() {
        let Poll::Ready(mut g) = poll_with(w, &wakes[i]) else {
            panic!("waiter {i} was handed the mutex");
        };
        g.push(i);
        drop(g);
    }
    assert_eq!(*m.try_lock().expect("free again"), [0, 1, 2]);
}

#[test]
fn a_cancelled_waiter_never_keeps_the_mutex() {
    let m = Mutex::new(0);
    let held = m.try_lock().unwrap();
    // Queued, then cancelled: it leaves the queue.
    let mut gone = m.lock();
    assert!(poll_once(&mut gone).is_pending());
    drop(gone);
    // Queued, handed the mutex, then cancelled before it saw it: the mutex
    // passes on to the next waiter.
    let mut granted = m.lock();
    assert!(poll_once(&mut granted).is_pending());
    let wake = Arc::new(CountWake::default());
    let mut next = m.lock();
    assert!(poll_with(&mut next, &wake).is_pending());
    drop(held);
    drop(granted);
    assert_eq!(wake.0.load(Ordering::SeqCst), 1);
    let Poll::Ready(g) = poll_with(&mut next, &wake) else {
        panic!("the mutex was passed on");
    };
    drop(g);
    drop(next);
    assert!(m.try_lock().is_some(), "free once the last guard dropped");
}
