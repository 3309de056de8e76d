//! The cost of a catch point, for callgrind: `TASKLANE_CATCH_N` (default
//! 100 000) rounds of `cancellable(yield_now()).await` in one task on a
//! one-worker runtime (each round polls the catch point twice and
//! registers it once). tasklane only: no other runtime has catch points.
//!
//! `TASKLANE_SLOW_POLL=off valgrind --tool=callgrind target/release/examples/catch_once`

use tasklane::task::cancellable;
use tasklane_benches::env_or;

fn main() {
    let n: usize = env_or("TASKLANE_CATCH_N", 100_000);
    let rt = tasklane_benches::tasklane_builder(1).build().unwrap();
    rt.block_on(async move {
        tasklane::spawn(async move {
            for _ in 0..n {
                let _ = cancellable(tasklane::yield_now()).await;
            }
        })
        .await
        .unwrap();
    });
}
