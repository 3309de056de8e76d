//! asyncio's producer/consumer with `Queue.join`: producers put jobs into a
//! bounded `tasklane::sync::Queue`, three workers `get` them and mark each
//! done with `task_done`, and the main task awaits `join()` (every job put
//! has been processed) before cancelling the workers, which loop forever,
//! as the asyncio documentation's example does:
//!
//! ```python
//! queue = asyncio.Queue(maxsize=5)
//! workers = [asyncio.create_task(worker(f"worker-{i}", queue)) for i in range(3)]
//! await asyncio.gather(*(producer(queue, p) for p in range(2)))
//! await queue.join()
//! for w in workers:
//!     w.cancel()
//! ```
//!
//! The example checks that every job was processed exactly once, that the
//! queue never held more than its bound, and that each worker ended
//! cancelled. Run it with `cargo run --example job_queue`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::sync::{Mutex, Queue};
use tasklane::time::sleep;

const PRODUCERS: usize = 2;
const JOBS_EACH: usize = 20;
const WORKERS: usize = 3;
const MAXSIZE: usize = 5;

/// A job: which producer made it and its number there.
#[derive(Debug, Clone, Copy)]
struct Job {
    producer: usize,
    n: usize,
}

fn main() {
    let (processed, per_worker, max_len) = tasklane::run(async {
        let queue: Arc<Queue<Job>> = Arc::new(Queue::new(MAXSIZE));
        let processed = Arc::new(Mutex::new(Vec::new()));
        let max_len = Arc::new(AtomicUsize::new(0));
        let per_worker: Vec<Arc<AtomicUsize>> = (0..WORKERS)
            .map(|_| Arc::new(AtomicUsize::new(0)))
            .collect();

        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (queue, processed) = (queue.clone(), processed.clone());
                let (count, max_len) = (per_worker[w].clone(), max_len.clone());
                tasklane::task::Builder::new()
                    .name(format!("worker-{w}"))
                    .spawn(async move {
                        loop {
                            max_len.fetch_max(queue.len(), Ordering::SeqCst);
                            let job = queue.get().await;
                            // The job's work: a short wait.
                            sleep(Duration::from_micros(200 + 100 * (job.n % 3) as u64)).await;
                            processed.lock().await.push((job.producer, job.n));
                            count.fetch_add(1, Ordering::SeqCst);
                            queue.task_done().expect("one task_done per job got");
                        }
                    })
            })
            .collect();

        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let queue = queue.clone();
                tasklane::spawn(async move {
                    for n in 0..JOBS_EACH {
                        queue.put(Job { producer: p, n }).await; // waits while full
                    }
                })
            })
            .collect();
        for p in tasklane::gather(producers).await {
            p.expect("producer finished");
        }
        println!("producers: {} jobs put", PRODUCERS * JOBS_EACH);

        // asyncio's `await queue.join()`: every job put is marked done.
        queue.join().await;
        assert!(queue.is_empty());
        assert_eq!(queue.unfinished(), 0);
        println!("queue.join(): every job processed");

        for w in &workers {
            w.cancel();
        }
        for (i, w) in workers.into_iter().enumerate() {
            let err = w.await.expect_err("a worker loops until cancelled");
            assert!(err.is_cancelled(), "worker-{i} ended cancelled");
        }
        println!("{WORKERS} workers cancelled");
        let processed = std::mem::take(&mut *processed.lock().await);
        let per_worker: Vec<usize> = per_worker
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect();
        (processed, per_worker, max_len.load(Ordering::SeqCst))
    });

    for (w, n) in per_worker.iter().enumerate() {
        println!("worker-{w}: {n} jobs");
    }
    let mut jobs = processed.clone();
    jobs.sort_unstable();
    let expected: Vec<_> = (0..PRODUCERS)
        .flat_map(|p| (0..JOBS_EACH).map(move |n| (p, n)))
        .collect();
    assert_eq!(jobs, expected, "every job processed exactly once");
    assert_eq!(per_worker.iter().sum::<usize>(), PRODUCERS * JOBS_EACH);
    assert!(max_len <= MAXSIZE, "the queue held {max_len} > {MAXSIZE}");
    println!(
        "ok: {} jobs, each processed once; the queue never held more than {MAXSIZE}",
        jobs.len()
    );
}
