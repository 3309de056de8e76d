//! tasklane vs tokio vs smol (async-io) on timers: registering and
//! cancelling them, and firing many.
//!
//! One criterion group per workload, one function per runtime, as in
//! `rt_compare` (same environment variables). Lateness of 1 ms sleeps is a
//! distribution, not a time per iteration: see the `timer_lateness` bench.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use tasklane_benches::{BenchRuntime, Spawner, compare, spread};

const CHURN_TIMERS: usize = 100_000;
const FIRE_TASKS: usize = 10_000;

/// `CHURN_TIMERS` sleeps of 1..=1000 ms made in one task, each polled once
/// (which registers it with the runtime's timer), then all dropped (which
/// cancels them): the life of a request timeout that never fires.
fn timer_churn<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let ms = Arc::new(spread(CHURN_TIMERS, 1000));
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let ms = ms.clone();
            rt.block_on(rt.spawn(tasklane_benches::churn::<R::Spawner>(ms)));
        });
    });
}

/// `timer_churn` split across one task per worker, all churning at once:
/// `CHURN_TIMERS / workers` sleeps each. This is where a single timer lock
/// would be contended; tasklane's per-worker shards are not.
fn timer_churn_parallel<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let per_task = CHURN_TIMERS / workers;
    let parts: Vec<Arc<Vec<u64>>> = spread(per_task * workers, 1000)
        .chunks(per_task)
        .map(|c| Arc::new(c.to_vec()))
        .collect();
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let handles: Vec<_> = parts
                .iter()
                .map(|ms| rt.spawn(tasklane_benches::churn::<R::Spawner>(ms.clone())))
                .collect();
            rt.block_on(async {
                for h in handles {
                    h.await;
                }
            });
        });
    });
}

/// `FIRE_TASKS` tasks each sleeping 1..=10 ms, spawned from one task; the
/// last to wake signals the bench thread.
fn timers_10k<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let ms = Arc::new(spread(FIRE_TASKS, 10));
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            rem.store(FIRE_TASKS, Relaxed);
            let sp = rt.spawner();
            let (tx, rem, ms) = (tx.clone(), rem.clone(), ms.clone());
            rt.spawn_detached(async move {
                for &m in ms.iter() {
                    let (tx, rem) = (tx.clone(), rem.clone());
                    sp.spawn_detached(async move {
                        <R::Spawner as Spawner>::sleep(Duration::from_millis(m)).await;
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            tx.send(()).unwrap();
                        }
                    });
                }
            });
            rx.recv().unwrap();
        });
    });
}

fn timers(c: &mut Criterion) {
    compare!(c, timer_churn);
    compare!(c, timer_churn_parallel);
    compare!(c, timers_10k);
}

criterion_group! {
    name = benches;
    config = tasklane_benches::criterion_config();
    targets = timers
}
criterion_main!(benches);
