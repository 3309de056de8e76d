//! tasklane vs tokio vs smol (async-io) on timers: registering and
//! cancelling them, and firing many.
//!
//! One criterion group per workload, one function per runtime, as in
//! `rt_compare` (same environment variables). Lateness of 1 ms sleeps is a
//! distribution, not a time per iteration: see the `timer_lateness` bench.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, mpsc};
use std::task::Poll;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use tasklane_benches::{BenchRuntime, Smol, Spawner, Tasklane, Tokio, env_or, workers};

const CHURN_TIMERS: usize = 100_000;
const FIRE_TASKS: usize = 10_000;
/// Sleeps polled per task poll in `timer_churn`: below every runtime's
/// cooperative budget (tokio's and tasklane's are 128 polls), so that each
/// poll really registers its timer rather than being turned away.
const POLLS_PER_YIELD: usize = 64;

macro_rules! compare {
    ($c:expr, $workload:ident) => {{
        let workers = workers();
        let mut group = $c.benchmark_group(stringify!($workload));
        $workload::<Tasklane>(&mut group, workers);
        $workload::<Tokio>(&mut group, workers);
        $workload::<Smol>(&mut group, workers);
        group.finish();
    }};
}

/// A fixed pseudo-random sequence in `1..=max`: the same for every runtime.
fn spread(n: usize, max: u64) -> Vec<u64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % max
        })
        .collect()
}

/// `CHURN_TIMERS` sleeps of 1..=1000 ms made in one task, each polled once
/// (which registers it with the runtime's timer), then all dropped (which
/// cancels them): the life of a request timeout that never fires.
fn timer_churn<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    async fn churn<S: Spawner>(ms: Arc<Vec<u64>>) {
        // Capacity for all: pushing never reallocates, so no element moves.
        let mut sleeps: Vec<S::Sleep> = Vec::with_capacity(ms.len());
        for chunk in ms.chunks(POLLS_PER_YIELD) {
            poll_fn(|cx| {
                for &m in chunk {
                    sleeps.push(S::sleep(Duration::from_millis(m)));
                    let s = sleeps.last_mut().expect("just pushed");
                    // SAFETY: `sleeps` never reallocates (capacity reserved
                    // above) and is not moved, so each element stays at its
                    // address until it is dropped in place with the `Vec`.
                    let s = unsafe { Pin::new_unchecked(s) };
                    // Made just now, a 1..1000 ms sleep is pending: this
                    // poll registers it.
                    let _ = s.poll(cx);
                }
                Poll::Ready(())
            })
            .await;
            S::yield_now().await;
        }
        drop(sleeps);
    }

    let rt = R::start(workers);
    let ms = Arc::new(spread(CHURN_TIMERS, 1000));
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let ms = ms.clone();
            rt.block_on(rt.spawn(churn::<R::Spawner>(ms)));
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
    compare!(c, timers_10k);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(env_or("TASKLANE_BENCH_SAMPLE_SIZE", 30))
        .measurement_time(Duration::from_secs_f64(env_or(
            "TASKLANE_BENCH_MEASUREMENT_SECS",
            5.0,
        )))
        .warm_up_time(Duration::from_secs_f64(env_or(
            "TASKLANE_BENCH_WARMUP_SECS",
            1.0,
        )))
}

criterion_group! {
    name = benches;
    config = config();
    targets = timers
}
criterion_main!(benches);
