//! Backpressure and CPU-bound work: asyncio's `Semaphore`, a bounded
//! `Queue`, and `run_in_executor`.
//!
//! Mirrors the asyncio original's "Backpressure & Executor Offloading"
//! (`cpu_bound_task` / `heavy_computation` under `async with semaphore`):
//!
//! 1. twelve jobs are spawned at once, but a `tasklane::sync::Semaphore`
//!    lets at most three hold a permit at a time; each runs its
//!    `heavy_computation` with `spawn_blocking`, on the blocking pool, so
//!    the workers never stall. The example counts how many jobs are inside
//!    the semaphore at once and asserts it never exceeds the limit;
//! 2. a producer and a slow consumer joined by a bounded queue
//!    (`tasklane::sync::bounded(2)`): the producer waits whenever the queue
//!    is full, so it never gets more than two items ahead; `try_send` on a
//!    full queue gives the value back.
//!
//! Run it with `cargo run --example backpressure`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::sync::{Semaphore, TrySendError, bounded};
use tasklane::time::{Instant, sleep};

/// At most this many jobs at once.
const LIMIT: usize = 3;
const JOBS: usize = 12;
const QUEUE: usize = 2;
const ITEMS: usize = 8;

/// The asyncio original's `heavy_computation`: simulated CPU work (an FNV-1a hash,
/// a few rounds over the payload).
fn heavy_computation(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..20 {
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    std::hint::black_box(h);
    format!("Processed {} bytes", data.len())
}

/// The asyncio original's `cpu_bound_task`: offloads the computation so that the
/// worker threads stay free. Returns the result and the thread it ran on.
async fn cpu_bound_task(data: Vec<u8>) -> (String, String) {
    tasklane::spawn_blocking(move || {
        let thread = std::thread::current().name().unwrap_or("?").to_owned();
        (heavy_computation(&data), thread)
    })
    .await
    .expect("the computation does not panic")
}

/// Tracks how many jobs are inside the semaphore, and the most seen.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

#[tasklane::main]
async fn main() {
    println!("1. {JOBS} jobs, a semaphore of {LIMIT}, CPU work on the blocking pool");
    let semaphore = Arc::new(Semaphore::new(LIMIT));
    let gauge = Arc::new(Gauge::default());
    let start = Instant::now();
    let jobs: Vec<_> = (0..JOBS)
        .map(|i| {
            let (semaphore, gauge) = (semaphore.clone(), gauge.clone());
            tasklane::spawn(async move {
                let _permit = semaphore.acquire().await; // async with semaphore:
                let inside = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                gauge.max.fetch_max(inside, Ordering::SeqCst);
                let payload = vec![i as u8; 16 * 1024 * (i + 1)];
                let (result, thread) = cpu_bound_task(payload).await;
                sleep(Duration::from_millis(20)).await; // then some I/O
                println!("    job {i:>2}: {result} on {thread} ({inside} inside)");
                gauge.now.fetch_sub(1, Ordering::SeqCst);
                (result, thread)
            })
        })
        .collect();
    let results = tasklane::gather(jobs).await;
    let max = gauge.max.load(Ordering::SeqCst);
    println!(
        "    all {} jobs done in {:?}; at most {max} inside the semaphore at once",
        results.len(),
        start.elapsed()
    );
    for (i, r) in results.iter().enumerate() {
        let (result, thread) = r.as_ref().expect("job completed");
        assert_eq!(*result, format!("Processed {} bytes", 16 * 1024 * (i + 1)));
        assert_eq!(thread, "tasklane-blocking", "ran on the blocking pool");
    }
    assert!(max <= LIMIT, "the semaphore let {max} in");
    assert_eq!(max, LIMIT, "twelve jobs fill every permit");
    assert_eq!(
        semaphore.try_acquire().map(drop),
        Some(()),
        "permits returned"
    );

    println!("\n2. producer -> bounded({QUEUE}) queue -> slow consumer");
    let (tx, rx) = bounded::<usize>(QUEUE);
    let received = Arc::new(AtomicUsize::new(0));
    let r = received.clone();
    let consumer = tasklane::spawn(async move {
        let mut got = Vec::new();
        while let Ok(item) = rx.recv().await {
            r.fetch_add(1, Ordering::SeqCst);
            sleep(Duration::from_millis(20)).await; // slow processing
            got.push(item);
        }
        got
    });
    let start = Instant::now();
    for item in 0..ITEMS {
        tx.send(item).await.expect("the consumer is there");
        let (queued, taken) = (tx.len(), received.load(Ordering::SeqCst));
        println!(
            "    produced {item} at {:>3}ms: {queued} queued, {taken} taken by the consumer",
            start.elapsed().as_millis()
        );
        assert!(queued <= QUEUE);
    }
    let produced_in = start.elapsed();
    drop(tx);
    let got = consumer.await.expect("consumer completes");
    println!(
        "    producer done after {produced_in:?}; consumed {got:?} in {:?}",
        start.elapsed()
    );
    assert_eq!(got, (0..ITEMS).collect::<Vec<_>>());
    // The last send waited for the consumer to take all but the
    // QUEUE + 1 last items, 20ms each: the producer was held back.
    let floor = Duration::from_millis(20 * (ITEMS - QUEUE - 1) as u64);
    assert!(
        produced_in >= floor,
        "producer throttled to the consumer's pace"
    );

    let (tx, _rx) = bounded::<&str>(1);
    tx.try_send("first").expect("room for one");
    match tx.try_send("second") {
        Err(TrySendError::Full(v)) => println!("    queue full: try_send gives {v:?} back"),
        other => panic!("expected Full, got {other:?}"),
    }
    println!("\nbackpressure: never more than {LIMIT} jobs, never more than {QUEUE} queued");
}
