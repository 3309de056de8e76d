//! `tasklane::sync::{Mutex, RwLock, Barrier}` (async-lock's) under
//! tasklane's cancellation: waits cut short or cancelled at random never
//! leave a lock held, and a barrier releases its generation with one leader.

mod common;

use common::{HANG, XorShift, rt, spin_for, watchdog};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::sync::{Barrier, Mutex, RwLock};
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
