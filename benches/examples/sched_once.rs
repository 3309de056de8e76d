//! One iteration of `yield_many` or `spawn_many_local` (the `rt_compare`
//! workloads) on one tasklane worker, for instruction counts under
//! callgrind, which are stable where wall time on this machine is not:
//!
//! `valgrind --tool=callgrind target/release/examples/sched_once yield_many`
//!
//! One worker keeps the count deterministic (no stealing, no parking races).
//! `TASKLANE_SCHED_ROUNDS` repeats the workload (default 3).

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use tasklane_benches::{BenchRuntime, Spawner, Tasklane, TasklaneSpawner, env_or};

const NUM_SPAWN: usize = 10_000;
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;

fn yield_many(rt: &Tasklane) {
    let handles: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            rt.spawn(async {
                for _ in 0..NUM_YIELD {
                    TasklaneSpawner::yield_now().await;
                }
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await;
        }
    });
}

fn spawn_many_local(rt: &Tasklane) {
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let sp = rt.spawner();
    rt.spawn_detached(async move {
        for _ in 0..NUM_SPAWN {
            let rem = rem.clone();
            let tx = tx.clone();
            sp.spawn_detached(async move {
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            });
        }
    });
    rx.recv().unwrap();
}

fn main() {
    let work: fn(&Tasklane) = match std::env::args().nth(1).as_deref() {
        Some("yield_many") => yield_many,
        Some("spawn_many_local") => spawn_many_local,
        _ => {
            eprintln!("usage: sched_once yield_many|spawn_many_local");
            std::process::exit(2);
        }
    };
    let rt = Tasklane::start(1);
    for _ in 0..env_or("TASKLANE_SCHED_ROUNDS", 3) {
        work(&rt);
    }
}
