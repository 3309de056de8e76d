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

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tasklane_benches::{BenchRuntime, Smol, Spawner, Tasklane, Tokio, env_or};

async fn churn<S: Spawner>(n: usize, scale: u64) {
    let mut sleeps: Vec<S::Sleep> = Vec::with_capacity(n);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..n / 64 {
        poll_fn(|cx| {
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                sleeps.push(S::sleep(Duration::from_millis((1 + x % 1000) * scale)));
                let s = sleeps.last_mut().expect("just pushed");
                // SAFETY: `sleeps` never reallocates (capacity reserved
                // above) and is not moved; elements are dropped in place.
                let _ = unsafe { Pin::new_unchecked(s) }.poll(cx);
            }
            Poll::Ready(())
        })
        .await;
        S::yield_now().await;
    }
}

fn run<R: BenchRuntime>() {
    let rt = R::start(1);
    let scale = env_or("TASKLANE_CHURN_SCALE", 1);
    for _ in 0..env_or("TASKLANE_CHURN_ROUNDS", 3) {
        rt.block_on(rt.spawn(churn::<R::Spawner>(100_032, scale)));
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
