//! Helpers shared by the integration tests: futures that count their polls
//! and drops, gates that hold a worker in place, and waits on real signals.
//!
//! Each test file uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tasklane::Runtime;

/// A runtime with `workers` worker threads.
pub(crate) fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("runtime builds")
}

/// A runtime with `workers` worker threads on the paused clock: time jumps
/// to the next deadline when every task is idle, so the order in which
/// short and long timers fire does not depend on how loaded the machine is.
pub(crate) fn paused_rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .start_paused(true)
        .build()
        .expect("runtime builds")
}

/// Counts shared between a test and the futures or values it hands out.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Objects created (futures built, outputs produced).
    pub(crate) created: AtomicUsize,
    /// Polls of a tracked future.
    pub(crate) polls: AtomicUsize,
    /// Destructor runs.
    pub(crate) drops: AtomicUsize,
}

impl Counts {
    pub(crate) fn new() -> Arc<Counts> {
        Arc::new(Counts::default())
    }
    pub(crate) fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }
    pub(crate) fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
    pub(crate) fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

/// A value whose destructor bumps `counts.drops` (and whose construction
/// bumps `counts.created`).
#[derive(Debug)]
pub(crate) struct DropCounter(Arc<Counts>);

impl DropCounter {
    pub(crate) fn new(counts: &Arc<Counts>) -> DropCounter {
        counts.created.fetch_add(1, Ordering::SeqCst);
        DropCounter(counts.clone())
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Wraps a future, counting its polls and its drop.
pub(crate) struct Tracked<F> {
    inner: Pin<Box<F>>,
    counts: Arc<Counts>,
}

impl<F: Future> Tracked<F> {
    pub(crate) fn new(counts: &Arc<Counts>, inner: F) -> Tracked<F> {
        counts.created.fetch_add(1, Ordering::SeqCst);
        Tracked {
            inner: Box::pin(inner),
            counts: counts.clone(),
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.counts.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        self.counts.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A one-shot gate that blocks threads (not tasks) until opened.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    pub(crate) fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }
    pub(crate) fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
    pub(crate) fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }
}

/// Occupies a worker: spawns a task whose first poll blocks its worker thread
/// until the returned gate opens. Returns once the task is inside that poll,
/// so on a one-worker runtime everything spawned afterwards stays queued
/// until the gate opens.
pub(crate) fn occupy_worker(rt: &Runtime) -> (Arc<Gate>, tasklane::task::JoinHandle<()>) {
    let gate = Gate::new();
    let (started_tx, started_rx) = mpsc::channel();
    let g = gate.clone();
    let h = rt.spawn(async move {
        started_tx.send(()).unwrap();
        g.wait();
    });
    started_rx.recv().expect("the blocker task started");
    (gate, h)
}

/// Occupies a thread of `handle`'s blocking pool: a job that blocks until
/// the returned gate opens. Returns once the job runs, so on a pool of one
/// thread every blocking job started afterwards (a file operation, a name
/// lookup) stays queued until the gate opens.
pub(crate) fn occupy_blocking_thread(
    handle: &tasklane::Handle,
) -> (Arc<Gate>, tasklane::task::JoinHandle<()>) {
    let gate = Gate::new();
    let (started_tx, started_rx) = mpsc::channel();
    let g = gate.clone();
    let h = handle.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        g.wait();
    });
    started_rx.recv().expect("the blocking job started");
    (gate, h)
}

/// Spins (yielding the thread) until `cond` holds. The deadline only turns a
/// hang into a failure; nothing is asserted about speed.
pub(crate) fn spin_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::yield_now();
    }
}

/// Runs `f` on a thread of its own and returns its result; if it has not
/// returned within `limit`, fails the test instead of hanging it (for tests
/// whose failure is a hang). A panic in `f` is the test's panic. The limit
/// only turns a hang into a failure; nothing is asserted about speed.
pub(crate) fn watchdog<R: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(r) => {
            t.join().expect("sent its result");
            r
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: not done after {limit:?}, taken for a hang")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(t.join().expect_err("ended without a result"))
        }
    }
}

/// The limit `watchdog` is given when a test would otherwise hang.
pub(crate) const HANG: Duration = Duration::from_secs(60);

/// Yields the task until `cond` holds.
pub(crate) async fn yield_until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tasklane::yield_now().await;
    }
}

/// Polls `fut` once with a waker that does nothing.
pub(crate) fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(fut).poll(&mut cx)
}

/// A future that is never ready, and sets its flag if it is ever polled
/// while `watch` is set.
pub(crate) struct PendingWatch {
    pub(crate) watch: Arc<AtomicBool>,
    pub(crate) polled_while_set: Arc<AtomicUsize>,
}

impl Future for PendingWatch {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.watch.load(Ordering::SeqCst) {
            self.polled_while_set.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Pending
    }
}

/// The text of a panic payload, if it is a string.
pub(crate) fn payload_str(p: &(dyn std::any::Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

/// A small deterministic PRNG (xorshift64*), seeded from a constant so that
/// a failure reproduces with the same choices.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        // Never zero: xorshift would stay at zero forever.
        XorShift((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform enough in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Busy-waits for about `iterations` spin-loop hints (a random point in
/// time without a syscall).
pub(crate) fn spin_for(iterations: u64) {
    for _ in 0..iterations {
        std::hint::spin_loop();
    }
}

/// The index of the runtime worker running this thread, from its name
/// (`tasklane-worker-{i}`), if it is one.
pub(crate) fn worker_index() -> Option<usize> {
    std::thread::current()
        .name()?
        .strip_prefix("tasklane-worker-")?
        .parse()
        .ok()
}

/// How many iterations a task looping on an always-ready wait may run
/// before [`assert_ready_loop_yields`] calls it a hog.
pub(crate) const HOG_LIMIT: u64 = 1_000_000;

/// The cooperative budget check, as tokio's budget tests do it: on a
/// one-worker runtime, `body` loops on a wait that is always ready until
/// the flag it is given is set or it reaches [`HOG_LIMIT`], returning its
/// iteration count; a second task, queued behind it, sets the flag. Only
/// a loop that yields its worker lets the second task run.
pub(crate) fn assert_ready_loop_yields<F>(what: &str, body: impl FnOnce(Arc<AtomicBool>) -> F)
where
    F: Future<Output = u64> + Send + 'static,
{
    let rt = rt(1);
    let flag = Arc::new(AtomicBool::new(false));
    let looping = rt.spawn(body(flag.clone()));
    let setter = rt.spawn(async move { flag.store(true, Ordering::SeqCst) });
    let iterations = rt.block_on(looping).expect("the loop finishes");
    rt.block_on(setter).expect("the setter finishes");
    assert!(
        iterations < HOG_LIMIT,
        "{what}: an always-ready loop ran {iterations} iterations without letting another task run"
    );
}

/// A waker counting its wakes.
#[derive(Default)]
pub(crate) struct CountWake(pub(crate) AtomicUsize);

impl std::task::Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `fut` once with `waker`.
pub(crate) fn poll_with<F: Future + Unpin>(fut: &mut F, waker: &Arc<CountWake>) -> Poll<F::Output> {
    let waker = Waker::from(waker.clone());
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

/// An ordered log of what a test's tasks did, shared with them.
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// An empty [`Log`].
pub(crate) fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

/// Appends `entry` to `log`.
pub(crate) fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

/// What `log` holds so far.
pub(crate) fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Runs `fut` as a task on `rt` and returns its output; a panic in it (a
/// failed assert) is resumed here.
pub(crate) fn in_task_on<F>(rt: &Runtime, fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match rt.block_on(rt.spawn(fut)) {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the test task ended without a value: {e}"),
    }
}

/// [`in_task_on`] a fresh two-worker runtime.
pub(crate) fn in_task<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    in_task_on(&rt(2), fut)
}

/// [`in_task`] under the [`HANG`] watchdog: a hang fails the test.
pub(crate) fn in_task_watched<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    watchdog("the test task", HANG, move || in_task(fut))
}
