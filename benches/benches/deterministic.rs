//! The deterministic runtime against tasklane's multi-threaded runtime with
//! one worker, on the current-thread workloads (`rt_compare`'s `ct_*`):
//! the deterministic runtime is for tests, but must not make them slow.
//!
//! Groups `det_spawn_many_local` and `det_yield_many`, functions
//! `deterministic` (the simulated workers: `TASKLANE_BENCH_WORKERS`,
//! default 2) and `multi_thread_1`.

use criterion::{Criterion, criterion_group, criterion_main};
use tasklane_benches::current_thread::{
    TasklaneDeterministic, TasklaneOneWorker, ct_spawn_many_local, ct_yield_many,
};

fn deterministic(c: &mut Criterion) {
    let mut g = c.benchmark_group("det_spawn_many_local");
    ct_spawn_many_local::<TasklaneDeterministic>(&mut g);
    ct_spawn_many_local::<TasklaneOneWorker>(&mut g);
    g.finish();
    let mut g = c.benchmark_group("det_yield_many");
    ct_yield_many::<TasklaneDeterministic>(&mut g);
    ct_yield_many::<TasklaneOneWorker>(&mut g);
    g.finish();
}

criterion_group! {
    name = benches;
    config = tasklane_benches::criterion_config();
    targets = deterministic
}
criterion_main!(benches);
