//! How soon the work queued behind a stuck worker starts, on tasklane and
//! tokio side by side: a task spawns 8 children from inside a worker, then
//! blocks that worker (a sleep, or a busy spin with `spin`) for
//! `TASKLANE_STUCK_MS` (default 20). Prints, per runtime, the start delay of
//! the 7th child (the last one in the worker's queue) and of the 8th (the
//! one in its LIFO slot), min / median / 90th percentile / max over
//! `TASKLANE_STUCK_ROUNDS` rounds (default 60).
//!
//! `cargo run --release -p tasklane-benches --example stuck_wake [sleep|spin]`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tasklane_benches::{BenchRuntime, Spawner, Tasklane, Tokio, env_or, workers};

fn run<R: BenchRuntime>(spin: bool, stuck: Duration, rounds: usize) {
    let rt = R::start(workers());
    let mut queued = Vec::with_capacity(rounds);
    let mut lifo = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // Let the workers park between rounds.
        std::thread::sleep(Duration::from_millis(5));
        let starts: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let s = starts.clone();
        let sp = rt.spawner();
        let parent = rt.spawn(async move {
            let t0 = Instant::now();
            for _ in 0..8 {
                let s = s.clone();
                sp.spawn_detached(async move { s.lock().unwrap().push(t0.elapsed()) });
            }
            if spin {
                while t0.elapsed() < stuck {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::sleep(stuck);
            }
        });
        rt.block_on(parent);
        let deadline = Instant::now() + Duration::from_secs(5);
        while starts.lock().unwrap().len() < 8 {
            assert!(Instant::now() < deadline, "children did not all start");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut v = starts.lock().unwrap().clone();
        v.sort();
        queued.push(v[6]);
        lifo.push(v[7]);
    }
    let show = |name: &str, v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:>8} {name:>6}: min {:.3} ms, median {:.3} ms, p90 {:.3} ms, max {:.3} ms",
            R::NAME,
            ms(v[0]),
            ms(v[v.len() / 2]),
            ms(v[v.len() * 9 / 10]),
            ms(v[v.len() - 1]),
        );
    };
    show("queued", &mut queued);
    show("lifo", &mut lifo);
}

fn main() {
    let spin = std::env::args().nth(1).is_some_and(|a| a == "spin");
    let stuck = Duration::from_millis(env_or("TASKLANE_STUCK_MS", 20));
    let rounds = env_or("TASKLANE_STUCK_ROUNDS", 60usize).max(1);
    run::<Tasklane>(spin, stuck, rounds);
    run::<Tokio>(spin, stuck, rounds);
}
