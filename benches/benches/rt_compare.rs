//! tasklane vs tokio vs smol (async-executor) on the scheduler workloads of
//! tokio's `benches/rt_multi_threaded.rs`.
//!
//! One criterion group per workload, one function per runtime (`tasklane`,
//! `tokio`, `smol`), so results land in
//! `target/criterion/<workload>/<runtime>/new/estimates.json`. These are
//! regression/comparison benchmarks of scheduler internals, not a measure of
//! real-world performance.
//!
//! Environment (command-line flags such as `--measurement-time` override):
//! - `TASKLANE_BENCH_WORKERS`: worker threads per runtime (default 2);
//! - `TASKLANE_BENCH_SAMPLE_SIZE`: samples per function (default 30);
//! - `TASKLANE_BENCH_MEASUREMENT_SECS`: measurement time (default 5);
//! - `TASKLANE_BENCH_WARMUP_SECS`: warm-up time (default 1);
//! - `TASKLANE_SPIN_US`: tasklane only, spin before parking in µs (default
//!   the runtime's own);
//! - `TASKLANE_YIELD=off`: tasklane only, no yield before parking
//!   (`tasklane_benches::tasklane_builder`).

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use futures_channel::oneshot;
use tasklane_benches::current_thread::{
    NUM_PINGS, NUM_SPAWN, NUM_YIELD, YIELD_TASKS, ct_ping_pong, ct_spawn_many_local, ct_yield_many,
};
use tasklane_benches::{
    BenchRuntime, Smol, Spawner, Tasklane, Tokio, compare, compare_current_thread,
};

const CHAIN_LEN: usize = 1_000;
const NUM_REQUESTS: usize = 1_000;
const THINK_REQUESTS: usize = 200;
const THINK_TIME: Duration = Duration::from_micros(50);
const MUTEX_TASKS: usize = 8;
const MUTEX_LOCKS: usize = 1_000;
const FANOUT_RECEIVERS: usize = 16;
const FANOUT_MESSAGES: usize = 256;

/// One task spawns `NUM_SPAWN` tasks from inside the runtime; the last to
/// finish signals the bench thread.
fn spawn_many_local<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));

    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            let sp = rt.spawner();
            let tx = tx.clone();
            let rem = rem.clone();
            rt.spawn_detached(async move {
                for _ in 0..NUM_SPAWN {
                    let tx = tx.clone();
                    let rem = rem.clone();
                    sp.spawn_detached(async move {
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

/// `NUM_SPAWN` empty tasks spawned from the bench thread, then all their
/// handles awaited in one `block_on`.
fn spawn_many_remote_idle<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let mut handles = Vec::with_capacity(NUM_SPAWN);

    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(rt.spawn(async {}));
            }
            rt.block_on(async {
                for h in handles.drain(..) {
                    h.await;
                }
            });
        });
    });
}

/// `YIELD_TASKS` tasks, spawned from the bench thread, each yielding
/// `NUM_YIELD` times.
fn yield_many<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let (tx, rx) = mpsc::sync_channel(YIELD_TASKS);

    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            for _ in 0..YIELD_TASKS {
                let tx = tx.clone();
                rt.spawn_detached(async move {
                    for _ in 0..NUM_YIELD {
                        <R::Spawner as Spawner>::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..YIELD_TASKS {
                rx.recv().unwrap();
            }
        });
    });
}

/// `NUM_PINGS` pairs of tasks exchanging a message each way over
/// `futures_channel::oneshot` (the same channel on every runtime).
fn ping_pong<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    let rt = R::start(workers);
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));

    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            rem.store(NUM_PINGS, Relaxed);
            let sp = rt.spawner();
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rt.spawn_detached(async move {
                for _ in 0..NUM_PINGS {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    let partner_sp = sp.clone();
                    sp.spawn_detached(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        partner_sp.spawn_detached(async move {
                            rx1.await.unwrap();
                            tx2.send(()).unwrap();
                        });
                        tx1.send(()).unwrap();
                        rx2.await.unwrap();
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).unwrap();
                        }
                    });
                }
            });
            done_rx.recv().unwrap();
        });
    });
}

/// A chain of `CHAIN_LEN` spawns: each task spawns the next.
fn chained_spawn<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    fn link<S: Spawner>(sp: S, done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            let next = sp.clone();
            next.spawn_detached(async move { link(sp, done_tx, n - 1) });
        }
    }

    let rt = R::start(workers);
    let (done_tx, done_rx) = mpsc::sync_channel(1);

    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let sp = rt.spawner();
            let done_tx = done_tx.clone();
            rt.spawn_detached(async move { link(sp, done_tx, CHAIN_LEN) });
            done_rx.recv().unwrap();
        });
    });
}

/// `NUM_REQUESTS` sequential request/reply round trips between the bench
/// thread and one task: after each reply the workers run dry, so this
/// measures how fast an idle runtime picks up new work (the cost of parking
/// versus spinning before it parks).
fn request_reply<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    request_reply_with_gap::<R>(g, workers, NUM_REQUESTS, Duration::ZERO);
}

/// As `request_reply`, but the bench thread "thinks" for `THINK_TIME`
/// (busy, as a client doing work would) before each request, so the
/// workers are idle long enough to park: `THINK_REQUESTS` × `THINK_TIME`
/// of each iteration is the client's own time, the rest is wake-up latency.
fn request_reply_think<R: BenchRuntime>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    request_reply_with_gap::<R>(g, workers, THINK_REQUESTS, THINK_TIME);
}

fn request_reply_with_gap<R: BenchRuntime>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    workers: usize,
    requests: usize,
    gap: Duration,
) {
    use futures_channel::mpsc as amsc;
    use futures_lite::StreamExt;

    let rt = R::start(workers);
    let (req_tx, mut req_rx) = amsc::unbounded::<usize>();
    let (reply_tx, reply_rx) = mpsc::sync_channel::<usize>(1);
    rt.spawn_detached(async move {
        while let Some(n) = req_rx.next().await {
            reply_tx.send(n + 1).unwrap();
        }
    });

    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            for i in 0..requests {
                if !gap.is_zero() {
                    let start = std::time::Instant::now();
                    while start.elapsed() < gap {
                        std::hint::spin_loop();
                    }
                }
                req_tx.unbounded_send(i).unwrap();
                assert_eq!(reply_rx.recv().unwrap(), i + 1);
            }
        });
    });
    // Dropping the sender ends the server task before the runtime goes.
    drop(req_tx);
}

// ------------------------------------------------------------------ sync

/// An async mutex around a counter: each runtime's own.
trait BenchMutex: Send + Sync + 'static {
    fn new() -> Self;
    fn add(&self) -> impl Future<Output = ()> + Send + '_;
}

impl BenchMutex for tasklane::sync::Mutex<u64> {
    fn new() -> Self {
        tasklane::sync::Mutex::new(0)
    }
    async fn add(&self) {
        *self.lock().await += 1;
    }
}

impl BenchMutex for tokio::sync::Mutex<u64> {
    fn new() -> Self {
        tokio::sync::Mutex::new(0)
    }
    async fn add(&self) {
        *self.lock().await += 1;
    }
}

/// `MUTEX_TASKS` tasks, spawned from the bench thread, each taking one
/// mutex `MUTEX_LOCKS` times to add one to the counter it guards.
fn mutex_contended<R: BenchRuntime, M: BenchMutex>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    workers: usize,
) {
    let rt = R::start(workers);
    let (tx, rx) = mpsc::sync_channel(MUTEX_TASKS);
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let m = Arc::new(M::new());
            for _ in 0..MUTEX_TASKS {
                let m = m.clone();
                let tx = tx.clone();
                rt.spawn_detached(async move {
                    for _ in 0..MUTEX_LOCKS {
                        m.add().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..MUTEX_TASKS {
                rx.recv().unwrap();
            }
        });
    });
}

/// A broadcast channel: each runtime's own.
trait BenchBroadcast: 'static {
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx);
    fn subscribe(tx: &Self::Tx) -> Self::Rx;
    fn send(tx: &Self::Tx, v: usize);
    /// The next value; `None` once the sender is gone and all are read.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_;
}

struct TasklaneBroadcast;
impl BenchBroadcast for TasklaneBroadcast {
    type Tx = tasklane::sync::broadcast::Sender<usize>;
    type Rx = tasklane::sync::broadcast::Receiver<usize>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        tasklane::sync::broadcast::channel(capacity)
    }
    fn subscribe(tx: &Self::Tx) -> Self::Rx {
        tx.subscribe()
    }
    fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).expect("receivers are alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
}

struct TokioBroadcast;
impl BenchBroadcast for TokioBroadcast {
    type Tx = tokio::sync::broadcast::Sender<usize>;
    type Rx = tokio::sync::broadcast::Receiver<usize>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::broadcast::channel(capacity)
    }
    fn subscribe(tx: &Self::Tx) -> Self::Rx {
        tx.subscribe()
    }
    fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).expect("receivers are alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
}

/// One task sends `FANOUT_MESSAGES` values into a broadcast channel with
/// room for all of them; `FANOUT_RECEIVERS` tasks each receive every one.
fn broadcast_fan_out<R: BenchRuntime, B: BenchBroadcast>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    workers: usize,
) {
    let rt = R::start(workers);
    let (done_tx, done_rx) = mpsc::sync_channel(FANOUT_RECEIVERS);
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let (tx, first) = B::channel(2 * FANOUT_MESSAGES);
            let mut rxs = vec![first];
            rxs.extend((1..FANOUT_RECEIVERS).map(|_| B::subscribe(&tx)));
            for mut rx in rxs {
                let done_tx = done_tx.clone();
                rt.spawn_detached(async move {
                    let mut n = 0;
                    while B::recv(&mut rx).await.is_some() {
                        n += 1;
                    }
                    assert_eq!(n, FANOUT_MESSAGES, "every receiver gets every value");
                    done_tx.send(()).unwrap();
                });
            }
            rt.spawn_detached(async move {
                for i in 0..FANOUT_MESSAGES {
                    B::send(&tx, i);
                    <R::Spawner as Spawner>::yield_now().await;
                }
            });
            for _ in 0..FANOUT_RECEIVERS {
                done_rx.recv().unwrap();
            }
        });
    });
}

fn rt_compare(c: &mut Criterion) {
    compare!(c, spawn_many_local);
    compare!(c, spawn_many_remote_idle);
    compare!(c, yield_many);
    compare!(c, ping_pong);
    compare!(c, chained_spawn);
    compare!(c, request_reply);
    compare!(c, request_reply_think);
    compare_current_thread!(c, ct_spawn_many_local);
    compare_current_thread!(c, ct_yield_many);
    compare_current_thread!(c, ct_ping_pong);
    let workers = tasklane_benches::workers();
    // smol's column runs the same async-lock mutex that tasklane re-exports;
    // smol has no broadcast channel of its own.
    let mut g = c.benchmark_group("mutex_contended");
    mutex_contended::<Tasklane, tasklane::sync::Mutex<u64>>(&mut g, workers);
    mutex_contended::<Tokio, tokio::sync::Mutex<u64>>(&mut g, workers);
    mutex_contended::<Smol, tasklane::sync::Mutex<u64>>(&mut g, workers);
    g.finish();
    let mut g = c.benchmark_group("broadcast_fan_out");
    broadcast_fan_out::<Tasklane, TasklaneBroadcast>(&mut g, workers);
    broadcast_fan_out::<Tokio, TokioBroadcast>(&mut g, workers);
    g.finish();
}

criterion_group! {
    name = benches;
    config = tasklane_benches::criterion_config();
    targets = rt_compare
}
criterion_main!(benches);
