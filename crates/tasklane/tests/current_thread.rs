//! The current-thread runtime: every task runs on the thread inside
//! `block_on`, with the same lifecycle, timers, I/O, blocking pool and
//! shutdown as the multi-thread runtime.

mod common;

use common::{HANG, watchdog};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use tasklane::task::{TaskState, cancellable};
use tasklane::time::sleep;
use tasklane::{Runtime, TaskGroup};

fn ct() -> Runtime {
    Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime builds")
}

#[test]
fn every_task_runs_on_the_block_on_thread() {
    let rt = ct();
    assert_eq!(rt.handle().num_workers(), 1);
    let me = thread::current().id();
    let from_outside = rt.spawn(async { thread::current().id() });
    let ids = rt.block_on(async {
        let mut hs = Vec::new();
        for i in 0..50u64 {
            hs.push(tasklane::spawn(async move {
                // Children of children too, and across timers.
                let inner = tasklane::spawn(async { thread::current().id() });
                sleep(Duration::from_millis(i % 5)).await;
                (thread::current().id(), inner.await.unwrap())
            }));
        }
        let mut ids = Vec::new();
        for h in hs {
            let (a, b) = h.await.unwrap();
            ids.push(a);
            ids.push(b);
        }
        ids
    });
    assert!(ids.iter().all(|id| *id == me));
    assert_eq!(rt.block_on(from_outside).unwrap(), me);
    // No worker thread was started: only the blocking pool may have any.
    assert_eq!(rt.handle().num_blocking_threads(), 0);
}

#[test]
fn no_task_runs_outside_block_on() {
    let rt = ct();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = rt.spawn(async move { r.store(true, Ordering::SeqCst) });
    // Given time, a worker would have run it; there is none.
    thread::sleep(Duration::from_millis(50));
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(h.state(), TaskState::Scheduled);
    rt.block_on(h).unwrap();
    assert!(ran.load(Ordering::SeqCst));
}

#[test]
fn a_wake_from_another_thread_reaches_the_parked_block_on() {
    let rt = ct();
    let (tx, rx) = tasklane::sync::oneshot::channel::<u32>();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        tx.send(7).unwrap();
    });
    let (tx2, rx2) = tasklane::sync::oneshot::channel::<u32>();
    let v = watchdog("root woken from another thread", HANG, move || {
        rt.block_on(async move {
            // One wake for the root itself, one for a task it awaits.
            let t = tasklane::spawn(async move { rx2.await.unwrap() });
            let a = rx.await.unwrap();
            thread::spawn(move || tx2.send(a + 1).unwrap());
            a + t.await.unwrap()
        })
    });
    sender.join().unwrap();
    assert_eq!(v, 15);
}

#[test]
fn timers_and_wait_for_work() {
    let rt = ct();
    rt.block_on(async {
        let start = Instant::now();
        sleep(Duration::from_millis(30)).await;
        assert!(start.elapsed() >= Duration::from_millis(30));
        let r = tasklane::wait_for(sleep(Duration::from_secs(60)), Duration::from_millis(10)).await;
        assert!(r.is_err(), "the deadline fires");
        let r = tasklane::wait_for(async { 3 }, Duration::from_secs(60)).await;
        assert_eq!(r.unwrap(), 3);
    });
}

#[test]
fn tcp_round_trip_on_one_thread() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    let rt = ct();
    watchdog("echo over loopback", HANG, move || {
        rt.block_on(async {
            let listener = tasklane::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tasklane::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            });
            let mut c = tasklane::net::TcpStream::connect(addr).await.unwrap();
            let data: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
            c.write_all(&data).await.unwrap();
            let mut back = vec![0u8; data.len()];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, data);
            server.await.unwrap();
        })
    });
}

#[test]
fn spawn_blocking_wakes_the_root() {
    let rt = ct();
    let me = thread::current().id();
    let (v, on) = rt.block_on(async {
        tasklane::spawn_blocking(|| {
            thread::sleep(Duration::from_millis(10));
            (6 * 7, thread::current().id())
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 42);
    assert_ne!(on, me, "blocking work runs on the pool");
}

#[test]
fn cancellation_and_catch_points() {
    let rt = ct();
    rt.block_on(async {
        let cleaned = Arc::new(AtomicBool::new(false));
        let c = cleaned.clone();
        let h = tasklane::spawn(async move {
            if let Err(e) = cancellable(sleep(Duration::from_secs(60))).await {
                sleep(Duration::from_millis(1)).await;
                c.store(true, Ordering::SeqCst);
                e.reraise().await
            }
        });
        tasklane::yield_now().await;
        assert!(h.cancel());
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(cleaned.load(Ordering::SeqCst));
    });
}

#[test]
fn a_failing_group_child_cancels_the_block_on_future() {
    let rt = ct();
    let out = rt.block_on(async {
        let mut group = TaskGroup::new();
        group.spawn(async {
            sleep(Duration::from_millis(5)).await;
            Err::<(), _>("boom")
        });
        group.spawn(async {
            sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        // The owner's own await is a catch point: the failure reaches it.
        let seen = cancellable(sleep(Duration::from_secs(60))).await.is_err();
        let joined = group.join().await;
        (seen, joined.is_err())
    });
    assert_eq!(out, (true, true));
}

#[test]
fn tasks_lists_and_names() {
    let rt = ct();
    rt.block_on(async {
        let h = tasklane::task::Builder::new()
            .name("ct-sleeper")
            .spawn(sleep(Duration::from_secs(60)));
        tasklane::yield_now().await;
        let tasks = tasklane::Handle::current().tasks();
        let me = tasks
            .iter()
            .find(|t| t.name() == "ct-sleeper")
            .expect("listed");
        assert_eq!(me.state(), TaskState::Suspended);
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn shutdown_runs_cleanup_and_reports() {
    let rt = ct();
    let cleaned = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        for _ in 0..3 {
            let c = cleaned.clone();
            tasklane::spawn(async move {
                if let Err(e) = cancellable(sleep(Duration::from_secs(60))).await {
                    // Cleanup that itself waits: shutdown must run it.
                    sleep(Duration::from_millis(5)).await;
                    c.fetch_add(1, Ordering::SeqCst);
                    e.reraise().await
                }
            })
            .detach();
        }
        tasklane::task::Builder::new()
            .name("stubborn")
            .spawn(async {
                loop {
                    let _ = cancellable(sleep(Duration::from_secs(60))).await;
                }
            })
            .detach();
        tasklane::yield_now().await;
    });
    let start = Instant::now();
    let report = rt.shutdown(Duration::from_millis(200));
    assert_eq!(cleaned.load(Ordering::SeqCst), 3);
    assert_eq!(report.cancelled(), 3);
    assert_eq!(report.dropped_names(), ["stubborn"]);
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn shutdown_waits_for_blocking_tasks_within_the_grace() {
    let rt = ct();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let h = rt.handle().spawn_blocking(move || {
        s.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(30));
    });
    h.detach();
    // Once it runs it runs to the end (not yet started, shutdown would
    // cancel it).
    common::spin_until("the blocking job starts", || started.load(Ordering::SeqCst));
    let report = rt.shutdown(Duration::from_secs(10));
    assert_eq!(report.completed(), 1);
    assert_eq!(report.dropped(), 0);
}

#[test]
fn two_threads_in_block_on() {
    let rt = Arc::new(ct());
    let (tx, rx) = tasklane::sync::oneshot::channel::<()>();
    let rt2 = rt.clone();
    // The first holds the core while it waits; the second's task can only
    // run on the first's thread, or on its own once the core comes free.
    let first = thread::spawn(move || {
        rt2.block_on(async move {
            rx.await.unwrap();
        })
    });
    let second = watchdog("second block_on", HANG, {
        let rt = rt.clone();
        move || {
            rt.block_on(async move {
                let v = tasklane::spawn(async { 5 }).await.unwrap();
                tx.send(()).unwrap();
                v
            })
        }
    });
    first.join().unwrap();
    assert_eq!(second, 5);
}

#[test]
fn a_panicking_root_leaves_the_runtime_usable() {
    let rt = ct();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            tasklane::yield_now().await;
            panic!("root fails");
        })
    }));
    assert!(r.is_err());
    assert_eq!(
        rt.block_on(async { tasklane::spawn(async { 1 }).await.unwrap() }),
        1
    );
}

#[test]
fn block_on_inside_block_on_panics() {
    let rt = Arc::new(ct());
    let inner = rt.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async move { inner.block_on(async {}) })
    }));
    let msg = common::payload_str(&*r.unwrap_err())
        .unwrap_or("")
        .to_owned();
    assert!(msg.contains("inside a runtime"), "{msg}");
}

#[test]
fn an_always_ready_loop_lets_the_root_run() {
    // The root (not a task) sets the flag: it must get polled although a
    // task is always ready.
    let rt = ct();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let hog = rt.spawn(async move {
        let q = tasklane::sync::Queue::new(0);
        let mut n = 0u64;
        while !s.load(Ordering::SeqCst) && n < common::HOG_LIMIT {
            q.try_put(n).unwrap();
            q.get().await;
            n += 1;
        }
        n
    });
    let n = rt.block_on(async move {
        tasklane::yield_now().await;
        stop.store(true, Ordering::SeqCst);
        hog.await.unwrap()
    });
    assert!(
        n < common::HOG_LIMIT,
        "the loop ran {n} times without yielding"
    );
}

#[tasklane::test(flavor = "current_thread")]
async fn the_test_macro_runs_on_this_thread() {
    let me = thread::current().id();
    assert_eq!(
        tasklane::spawn(async { thread::current().id() })
            .await
            .unwrap(),
        me
    );
}
