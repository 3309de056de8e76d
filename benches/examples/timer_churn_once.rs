//! One `timer_churn` iteration (100 000 sleeps registered, then dropped) on
//! one runtime, for instruction counts under callgrind:
//!
//! `valgrind --tool=callgrind target/release/examples/timer_churn_once tasklane`
//!
//! The argument is `tasklane`, `tokio` or `smol`; `TASKLANE_CHURN_ROUNDS`
//! repeats the iteration (default 3: the first pays the slabs' growth).
//! `TASKLANE_CHURN_SCALE` multiplies the 1..1000 ms durations (default 1):
//! under valgrind, which runs some 50 times slower, a scale of 1000 keeps
//! every timer from firing, so only registering and cancelling is counted.
//! `TASKLANE_CHURN_WORKERS` sets the runtime's worker count (default 1; the
//! criterion bench uses 2).

use std::sync::Arc;

use tasklane_benches::{BenchRuntime, Smol, Tasklane, Tokio, churn, env_or, spread};

fn run<R: BenchRuntime>() {
    let rt = R::start(env_or("TASKLANE_CHURN_WORKERS", 1));
    let scale: u64 = env_or("TASKLANE_CHURN_SCALE", 1);
    let ms: Arc<Vec<u64>> = Arc::new(spread(100_000, 1000).iter().map(|m| m * scale).collect());
    for _ in 0..env_or("TASKLANE_CHURN_ROUNDS", 3) {
        rt.block_on(rt.spawn(churn::<R::Spawner>(ms.clone())));
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("tasklane") => run::<Tasklane>(),
        Some("tokio") => run::<Tokio>(),
        Some("smol") => run::<Smol>(),
        _ => {
            eprintln!("usage: timer_churn_once tasklane|tokio|smol");
            std::process::exit(2);
        }
    }
}
