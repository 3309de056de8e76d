//! The deterministic runtime (`Builder::deterministic`) and the seeds of
//! `#[tasklane::test]`: the same seed gives the same schedule, different
//! seeds reach different ones, and a sweep finds an order-dependent bug
//! whose seed then replays it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tasklane::Runtime;

fn det(seed: u64, workers: usize) -> Runtime {
    Runtime::builder()
        .deterministic(seed)
        .worker_threads(workers)
        .build()
        .expect("runtime builds")
}

/// A racy program: tasks that spawn, yield, talk over a channel and
/// append to a shared log; returns the log (the order things happened in).
async fn racy() -> Vec<u32> {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, rx) = tasklane::sync::unbounded::<u32>();
    let mut hs = Vec::new();
    for i in 0..6u32 {
        let log = log.clone();
        let tx = tx.clone();
        hs.push(tasklane::spawn(async move {
            for step in 0..3 {
                log.lock().unwrap().push(i * 10 + step);
                if step == 1 {
                    let inner = tasklane::spawn(async move { i * 100 });
                    tx.send(inner.await.unwrap()).await.unwrap();
                }
                tasklane::yield_now().await;
            }
        }));
    }
    drop(tx);
    let consumer = tasklane::spawn(async move {
        let mut n = 0;
        while rx.recv().await.is_ok() {
            n += 1;
        }
        n
    });
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(consumer.await.unwrap(), 6);
    log.lock().unwrap().clone()
}

fn run_racy(seed: u64, workers: usize) -> (Vec<u32>, u64) {
    let rt = det(seed, workers);
    let log = rt.block_on(racy());
    (log, rt.handle().schedule_digest())
}

#[test]
fn the_same_seed_gives_the_same_schedule_twenty_times() {
    for seed in [0, 7, 123_456_789] {
        let first = run_racy(seed, 2);
        assert_ne!(first.1, 0, "a deterministic runtime has a digest");
        for _ in 0..19 {
            assert_eq!(run_racy(seed, 2), first, "seed {seed} replays");
        }
    }
}

#[test]
fn different_seeds_reach_different_schedules() {
    let mut digests = HashSet::new();
    let mut orders = HashSet::new();
    for seed in 0..50 {
        let (log, digest) = run_racy(seed, 2);
        digests.insert(digest);
        orders.insert(log);
    }
    assert!(digests.len() >= 10, "{} distinct digests", digests.len());
    // The digests differ because the program ran in different orders.
    assert!(orders.len() >= 10, "{} distinct orders", orders.len());
}

#[test]
fn more_simulated_workers_work_too() {
    for workers in [1, 3, 4] {
        let a = run_racy(5, workers);
        assert_eq!(run_racy(5, workers), a);
    }
    assert_eq!(det(1, 3).handle().num_workers(), 3);
    assert_eq!(det(1, 3).handle().seed(), Some(1));
    // Elsewhere: no seed, and a digest of 0.
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    assert_eq!(rt.handle().seed(), None);
    assert_eq!(rt.handle().schedule_digest(), 0);
}

/// Two tasks update a counter; one reads, awaits, then writes what it
/// read plus one: an update is lost when the other runs in between.
async fn planted_race() -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let c1 = counter.clone();
    let slow = tasklane::spawn(async move {
        let v = c1.load(Ordering::SeqCst);
        tasklane::yield_now().await;
        c1.store(v + 1, Ordering::SeqCst);
    });
    let c2 = counter.clone();
    let fast = tasklane::spawn(async move {
        let v = c2.load(Ordering::SeqCst);
        c2.store(v + 1, Ordering::SeqCst);
    });
    slow.await.unwrap();
    fast.await.unwrap();
    counter.load(Ordering::SeqCst)
}

#[test]
fn a_sweep_finds_the_planted_bug_and_its_seed_replays() {
    let failing = (0..500u64)
        .find(|&seed| det(seed, 2).block_on(planted_race()) != 2)
        .expect("some seed in 0..500 loses an update");
    let rt = det(failing, 2);
    assert_eq!(rt.block_on(planted_race()), 1);
    let digest = rt.handle().schedule_digest();
    for _ in 0..20 {
        let rt = det(failing, 2);
        assert_eq!(rt.block_on(planted_race()), 1, "seed {failing} replays");
        assert_eq!(rt.handle().schedule_digest(), digest);
    }
    // And some seed does not lose it: the schedule really depends on it.
    assert!((0..500u64).any(|seed| det(seed, 2).block_on(planted_race()) == 2));
}

#[test]
fn run_seeds_names_the_failing_seed() {
    use tasklane::__private::{Seeds, run_seeds};
    let r = std::panic::catch_unwind(|| {
        run_seeds(tasklane::Builder::new(), Seeds::Sweep(500), || async {
            assert_eq!(planted_race().await, 2, "lost update");
        })
    });
    assert!(r.is_err(), "the sweep fails on the planted bug");
    // A returned `Err` fails a seed as a panic does.
    let out = run_seeds(tasklane::Builder::new(), Seeds::Sweep(500), || async {
        if planted_race().await == 2 {
            Ok(())
        } else {
            Err("lost update")
        }
    });
    assert_eq!(out, Err("lost update"));
    // One seed: that one only.
    let seed = run_seeds(tasklane::Builder::new(), Seeds::One(3), || async {
        tasklane::yield_now().await;
        tasklane::Handle::current().seed().ok_or("no seed")
    });
    assert_eq!(seed, Ok(3));
}

#[tasklane::test(seeds = 500)]
#[should_panic(expected = "lost update")]
async fn the_test_macro_sweep_finds_the_planted_bug() {
    assert_eq!(planted_race().await, 2, "lost update");
}

#[tasklane::test(seed = 42)]
async fn the_test_macro_runs_one_seed() {
    assert_eq!(tasklane::Handle::current().seed(), Some(42));
    assert_eq!(racy().await.len(), 18);
}

#[tasklane::test(seeds = 20, worker_threads = 3)]
async fn a_sweep_that_passes() {
    assert_eq!(tasklane::Handle::current().num_workers(), 3);
    assert_eq!(racy().await.len(), 18);
}

#[test]
fn local_tasks_timers_and_shutdown_on_the_deterministic_runtime() {
    use std::rc::Rc;
    use std::time::Duration;
    let rt = det(9, 2);
    let n = rt.block_on(async {
        let rc = Rc::new(5);
        let h = tasklane::task::spawn_local(async move {
            tasklane::time::sleep(Duration::from_millis(1)).await;
            *rc
        });
        h.await.unwrap()
    });
    assert_eq!(n, 5);
    rt.block_on(async {
        tasklane::spawn(tasklane::time::sleep(Duration::from_secs(3600))).detach();
        tasklane::yield_now().await;
    });
    let report = rt.shutdown(Duration::from_secs(5));
    assert_eq!(report.cancelled(), 1);
}

#[test]
fn the_deterministic_clock_is_paused_and_timers_replay() {
    use std::time::Duration;
    use tasklane::time::{Instant, sleep};
    let run = |seed| {
        let rt = det(seed, 2);
        let wall = std::time::Instant::now();
        let order = rt.block_on(async {
            let start = Instant::now();
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut hs = Vec::new();
            for i in 0..5u64 {
                let log = log.clone();
                hs.push(tasklane::spawn(async move {
                    // An hour of sleeps, in steps that tie now and then.
                    for step in 0..4 {
                        sleep(Duration::from_secs(900 * ((i + step) % 3))).await;
                        log.lock().unwrap().push((i, start.elapsed()));
                    }
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
            log.lock().unwrap().clone()
        });
        assert!(wall.elapsed() < Duration::from_secs(30), "virtual hours");
        (order, rt.handle().schedule_digest())
    };
    let a = run(3);
    assert!(a.0.iter().any(|(_, t)| *t >= Duration::from_secs(3600)));
    for _ in 0..5 {
        assert_eq!(run(3), a, "timers fire at the same points every run");
    }
}

#[test]
fn real_sockets_work_on_the_deterministic_runtime() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    // The schedule around socket readiness depends on the kernel, not on
    // the seed; the program still runs, and gets its bytes back.
    let rt = det(11, 2);
    let echoed = rt.block_on(async {
        let listener = tasklane::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tasklane::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut c = tasklane::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).await.unwrap();
        server.await.unwrap();
        back
    });
    assert_eq!(&echoed, b"hello");
}
