//! 100 000 tasks in one go, spawned from inside a task and from outside the
//! runtime: every one runs once, every future is dropped once.

mod common;

use common::{Counts, Tracked, rt, spin_until};
use futures_channel::oneshot;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const N: usize = 100_000;

#[test]
fn from_inside_a_task_joined() {
    let rt = rt(2);
    let counter = Arc::new(AtomicUsize::new(0));
    let futs = Counts::new();
    let (c, f) = (counter.clone(), futs.clone());
    let total = rt
        .block_on(rt.spawn(async move {
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let c = c.clone();
                    tasklane::spawn(Tracked::new(&f, async move {
                        c.fetch_add(1, Ordering::Relaxed);
                        i
                    }))
                })
                .collect();
            let mut total = 0usize;
            for (i, h) in handles.into_iter().enumerate() {
                let v = h.await.unwrap();
                assert_eq!(v, i);
                total += v;
            }
            total
        }))
        .unwrap();
    assert_eq!(total, N * (N - 1) / 2);
    assert_eq!(counter.load(Ordering::SeqCst), N);
    assert_eq!(futs.created(), N);
    assert_eq!(futs.drops(), N);
    assert_eq!(futs.polls(), N);
    spin_until("registry empty", || rt.handle().num_tasks() == 0);
}

#[test]
fn from_outside_detached() {
    let rt = rt(2);
    let counter = Arc::new(AtomicUsize::new(0));
    let futs = Counts::new();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let done_tx = Arc::new(Mutex::new(Some(done_tx)));
    for _ in 0..N {
        let (c, d) = (counter.clone(), done_tx.clone());
        rt.spawn(Tracked::new(&futs, async move {
            if c.fetch_add(1, Ordering::SeqCst) + 1 == N {
                d.lock().unwrap().take().unwrap().send(()).unwrap();
            }
        }))
        .detach();
    }
    rt.block_on(done_rx).unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), N);
    spin_until("every future dropped", || futs.drops() == N);
    assert_eq!(futs.polls(), N);
    spin_until("registry empty", || rt.handle().num_tasks() == 0);
}

/// Tasks that suspend and are woken by each other in a long chain, spawned
/// all at once: the wake-ups cross workers.
#[test]
fn from_outside_joined_with_suspensions() {
    let rt = rt(2);
    let counter = Arc::new(AtomicUsize::new(0));
    let mut prev: Option<oneshot::Receiver<()>> = None;
    let mut handles = Vec::with_capacity(N / 10);
    for _ in 0..N / 10 {
        let (tx, rx) = oneshot::channel::<()>();
        let wait = prev.replace(rx);
        let c = counter.clone();
        handles.push(rt.spawn(async move {
            if let Some(w) = wait {
                w.await.unwrap();
            }
            c.fetch_add(1, Ordering::SeqCst);
            tx.send(()).ok();
        }));
    }
    for h in handles {
        rt.block_on(h).unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), N / 10);
}
