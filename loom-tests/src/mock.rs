//! Test doubles shared by the models: a queue that plays the scheduler (with
//! its own list of live tasks, or the real [`Registry`]), event and drop
//! counters, a counting join waker, a [`Gate`] that a task awaits and another
//! thread opens, a [`YieldOnce`], an [`EventDriver`] (a scheduler `Driver`
//! that wakes tasks from inside its `park`), a [`PausedClockDriver`] (one
//! that plays a paused clock, for the idle notice), a [`Countdown`] of tasks
//! still to run on the real scheduler with [`spawn_leaf`], and the model
//! runner.
//!
//! # Orderings
//!
//! Every counter here is `Relaxed` on purpose. A stronger ordering in the
//! test double would add happens-before edges between the threads of a
//! model and could hide a missing `Acquire`/`Release` in the task core. The
//! models read the counters after joining every thread, and `join` orders
//! all their writes before that read, so the final values are exact; the
//! "in poll" flags are read-modify-writes, which see the latest value in
//! any ordering.

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use loom::sync::{Arc, Condvar, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tasklane_sched::task::{
    self, JoinError, JoinHandle, Notified, Registry, Schedule, TaskOptions, TaskRef,
};
use tasklane_sched::{Config, Driver};

/// Runs `f` under [`model`] and checks that its executions returned exactly
/// the outcomes in `expected`, each at least once: no branch of a model's
/// checks is vacuous, and none is reached that should not be.
pub fn model_outcomes<T, F>(preemptions: Option<usize>, expected: &[T], f: F)
where
    T: PartialEq + std::fmt::Debug + Send + 'static,
    F: Fn() -> T + Sync + Send + 'static,
{
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    model(preemptions, move || {
        let reached = f();
        let mut seen = s.lock().unwrap();
        if !seen.contains(&reached) {
            seen.push(reached);
        }
    });
    let seen = seen.lock().unwrap();
    for r in expected {
        assert!(
            seen.contains(r),
            "no execution reached {r:?} (saw {seen:?})"
        );
    }
    for r in seen.iter() {
        assert!(expected.contains(r), "an execution reached {r:?}");
    }
}

/// Runs `f` under loom in every interleaving, with at most `preemptions`
/// preemptions per execution unless `LOOM_MAX_PREEMPTIONS` says otherwise
/// (`None`: unbounded). The other `LOOM_*` variables apply as usual,
/// `LOOM_LOG` included (as in `loom::model`). Prints the number of
/// executions explored (seen with `--nocapture`).
pub fn model<F>(preemptions: Option<usize>, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering};

    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    // A std atomic: it counts executions from outside the model.
    let executions = std::sync::Arc::new(StdAtomicUsize::new(0));
    let count = executions.clone();
    // The log `loom::model` sets up: `LOOM_LOG` holds its filter.
    let subscriber = tracing_subscriber::fmt::Subscriber::builder()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("LOOM_LOG"))
        .with_test_writer()
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        builder.check(move || {
            count.fetch_add(1, Ordering::Relaxed);
            f();
        });
    });
    eprintln!(
        "{} executions explored (preemption bound {:?})",
        executions.load(Ordering::Relaxed),
        builder.preemption_bound
    );
}

/// A shared event counter.
#[derive(Clone, Debug)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// A counter at zero.
    pub fn new() -> Counter {
        Counter(Arc::new(AtomicUsize::new(0)))
    }

    /// Counts one event; returns the count including it.
    pub fn incr(&self) -> usize {
        self.0.fetch_add(1, Relaxed) + 1
    }

    /// The count now.
    pub fn get(&self) -> usize {
        self.0.load(Relaxed)
    }
}

impl Default for Counter {
    fn default() -> Counter {
        Counter::new()
    }
}

/// Counts its own drop: put one in a future, an output or a scheduler to
/// check that it is dropped exactly once.
#[derive(Debug)]
pub struct DropCount(Counter);

impl DropCount {
    /// A value whose drop increments `drops`.
    pub fn new(drops: &Counter) -> DropCount {
        DropCount(drops.clone())
    }
}

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.incr();
    }
}

/// A flag that fails the model if two polls of one future overlap.
#[derive(Clone, Debug)]
pub struct PollGuard(Arc<AtomicBool>);

impl PollGuard {
    /// A guard for one future.
    pub fn new() -> PollGuard {
        PollGuard(Arc::new(AtomicBool::new(false)))
    }

    /// Marks a poll as started.
    ///
    /// # Panics
    ///
    /// If another poll of the same future has not ended.
    pub fn enter(&self) {
        assert!(
            !self.0.swap(true, Relaxed),
            "a task was polled concurrently"
        );
    }

    /// Marks the poll as ended.
    pub fn exit(&self) {
        assert!(self.0.swap(false, Relaxed), "poll exit without enter");
    }
}

impl Default for PollGuard {
    fn default() -> PollGuard {
        PollGuard::new()
    }
}

/// The scheduler double: woken tasks wait in a FIFO until the model runs
/// them; the registry's references wait in a list until the task completes,
/// or, for a queue made by [`Queue::with_registry`], in the real
/// [`Registry`].
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    run: Mutex<RunQueue>,
    registry: Mutex<Vec<TaskRef>>,
    /// The real registry `release` removes tasks from, if any (the model
    /// inserts them itself).
    real: Option<Arc<Registry>>,
}

#[derive(Default)]
struct RunQueue {
    tasks: VecDeque<Notified>,
    scheduled: usize,
    max_len: usize,
}

/// What [`Queue::spawn`] hands back.
pub struct Spawned<T> {
    /// The first `Notified`: run it to poll the task the first time.
    pub notified: Notified,
    /// The task's join handle.
    pub handle: JoinHandle<T>,
    /// Counts frees of the task: the task's scheduler lives in the task cell
    /// and is dropped exactly when the cell is.
    pub freed: Counter,
}

impl<T> fmt::Debug for Spawned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawned")
            .field("notified", &self.notified)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

/// The `Schedule` stored in each task cell, so it is dropped when, and
/// only when, the task is freed.
struct TaskSchedule {
    queue: Queue,
    /// Read at the end of every callback, written by the drop: loom reports
    /// a causality violation if the task is freed by one thread while a
    /// callback another thread made into it is not ordered before the free
    /// (a task freed under a running `schedule` or `release`, or a last
    /// reference released with too weak an ordering).
    in_use: UseTracker,
    _freed: DropCount,
}

/// A loom cell that holds nothing: its tracked accesses are the point.
struct UseTracker(UnsafeCell<()>);

// SAFETY: the cell holds `()` and is only touched through loom's `with` and
// `with_mut`, which never dereference the pointer they hand out here; loom
// checks that the accesses themselves are ordered.
unsafe impl Sync for UseTracker {}

impl Schedule for TaskSchedule {
    fn schedule(&self, task: Notified) {
        {
            let mut run = self.queue.inner.run.lock().unwrap();
            run.tasks.push_back(task);
            run.scheduled += 1;
            run.max_len = run.max_len.max(run.tasks.len());
        }
        // Once queued, the task may run and complete on another thread
        // before this call returns; the task must still be alive here.
        self.in_use.0.with(|_| ());
    }

    fn release(&self, task: &TaskRef) -> Option<TaskRef> {
        if let Some(registry) = &self.queue.inner.real {
            let released = registry.remove(task);
            self.in_use.0.with(|_| ());
            return released;
        }
        let released = {
            let mut registry = self.queue.inner.registry.lock().unwrap();
            let pos = registry.iter().position(|t| t.id() == task.id())?;
            registry.swap_remove(pos)
        };
        self.in_use.0.with(|_| ());
        Some(released)
    }
}

impl Drop for TaskSchedule {
    fn drop(&mut self) {
        // The task core frees tasks under `catch_unwind`, which would swallow
        // loom's report: make a violation fatal instead.
        let freed = catch_unwind(AssertUnwindSafe(|| self.in_use.0.with_mut(|_| ())));
        if let Err(payload) = freed {
            let why = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            // Straight to stderr: the test harness would capture `eprintln!`
            // and lose it in the abort.
            let _ = writeln!(
                std::io::stderr(),
                "loom-tests: a task was freed while another thread still used it: {why}"
            );
            std::process::abort();
        }
    }
}

impl Queue {
    /// An empty queue and registry.
    pub fn new() -> Queue {
        Queue::make(None)
    }

    /// An empty queue whose tasks leave `registry` when they complete
    /// (`Schedule::release` is `Registry::remove`, as in the scheduler).
    /// Create its tasks with [`spawn_unregistered`](Self::spawn_unregistered)
    /// and insert them into `registry` yourself.
    pub fn with_registry(registry: Arc<Registry>) -> Queue {
        Queue::make(Some(registry))
    }

    fn make(real: Option<Arc<Registry>>) -> Queue {
        Queue {
            inner: Arc::new(Inner {
                run: Mutex::new(RunQueue::default()),
                registry: Mutex::new(Vec::new()),
                real,
            }),
        }
    }

    /// Creates a task scheduled on this queue, with its registry reference
    /// registered here. The first `Notified` is returned, not queued.
    pub fn spawn<F>(&self, future: F) -> Spawned<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (spawned, registered) = self.spawn_unregistered(future);
        self.inner.registry.lock().unwrap().push(registered);
        spawned
    }

    /// Creates a task scheduled on this queue and hands back its registry
    /// reference instead of registering it (for [`Queue::with_registry`]:
    /// the model inserts it into the real registry, or drops it).
    pub fn spawn_unregistered<F>(&self, future: F) -> (Spawned<F::Output>, TaskRef)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let freed = Counter::new();
        let sched = TaskSchedule {
            queue: self.clone(),
            in_use: UseTracker(UnsafeCell::new(())),
            _freed: DropCount::new(&freed),
        };
        let (notified, handle, registered) = task::new(future, sched, TaskOptions::new());
        let spawned = Spawned {
            notified,
            handle,
            freed,
        };
        (spawned, registered)
    }

    /// Queues a task the model hands over (a new task's first `Notified`,
    /// as a spawn submits it). Not counted in [`scheduled`](Self::scheduled),
    /// which counts the task core's own calls.
    pub fn push(&self, task: Notified) {
        let mut run = self.inner.run.lock().unwrap();
        run.tasks.push_back(task);
        run.max_len = run.max_len.max(run.tasks.len());
    }

    /// Takes the oldest queued task.
    pub fn pop(&self) -> Option<Notified> {
        self.inner.run.lock().unwrap().tasks.pop_front()
    }

    /// Runs queued tasks until the queue is empty; returns how many ran.
    pub fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(task) = self.pop() {
            task.run();
            n += 1;
        }
        n
    }

    /// How many times a task was queued.
    pub fn scheduled(&self) -> usize {
        self.inner.run.lock().unwrap().scheduled
    }

    /// The most tasks ever queued at once.
    pub fn max_len(&self) -> usize {
        self.inner.run.lock().unwrap().max_len
    }

    /// True if no task is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.run.lock().unwrap().tasks.is_empty()
    }

    /// How many tasks are registered (not yet complete).
    pub fn registered(&self) -> usize {
        self.inner.registry.lock().unwrap().len()
    }
}

impl Default for Queue {
    fn default() -> Queue {
        Queue::new()
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

/// A waker that counts its wakes (`std::task::Wake` needs std's `Arc`): the
/// join waker of the task models, the timers' waker in the timer models.
#[derive(Debug)]
pub struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    /// A fresh waker, and the handle to read its count.
    pub fn new() -> (std::sync::Arc<CountingWaker>, Waker) {
        let w = std::sync::Arc::new(CountingWaker {
            wakes: AtomicUsize::new(0),
        });
        (w.clone(), Waker::from(w))
    }

    /// How many times it was woken.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Relaxed)
    }
}

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, Relaxed);
    }
}

/// A one-shot event a task awaits and another thread opens: the state a
/// real resource (a socket, a timer) would keep, a flag and the waker of the
/// task waiting for it, behind a loom mutex.
///
/// The mutex orders the flag and the waker between [`Gate::open`] and the
/// waiting poll, as a resource's own lock would; it adds no ordering to the
/// task core beyond that hand-off (the wake itself goes through the task's
/// state word as usual).
#[derive(Clone, Debug)]
pub struct Gate(Arc<Mutex<GateState>>);

#[derive(Debug, Default)]
struct GateState {
    open: bool,
    waker: Option<Waker>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate(Arc::new(Mutex::new(GateState::default())))
    }

    /// Opens the gate and wakes the task waiting for it, if any (outside the
    /// lock).
    pub fn open(&self) {
        let waker = {
            let mut g = self.0.lock().unwrap();
            g.open = true;
            g.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `Ready` once open; otherwise stores `cx`'s waker (replacing any
    /// earlier one) and returns `Pending`.
    pub fn poll_open(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.0.lock().unwrap();
        if g.open {
            Poll::Ready(())
        } else {
            g.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    /// Drops the stored waker, if any (the task's reference it holds).
    pub fn clear(&self) {
        let waker = self.0.lock().unwrap().waker.take();
        drop(waker);
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

/// A scheduler [`Driver`] with one event, which the model fires and the
/// driver dispatches from inside [`park`](Driver::park), as the runtime's
/// I/O driver dispatches readiness: the waiting tasks are woken on the
/// thread of the worker parked in the driver, and the park then returns
/// (the `Driver::park` contract).
///
/// A clone is the same driver: the scheduler owns one (boxed), the model
/// keeps another to fire the event, the tasks a third to wait for it
/// ([`wait`](Self::wait)). The state sits behind a loom mutex and the
/// blocking park on a loom condition variable, what a kernel's wait queue
/// does for an eventfd or an epoll descriptor.
///
/// The event is one-shot and edge-like: [`fire`](Self::fire) leaves it
/// pending; the next `park` (blocking or not) dispatches it, marking it
/// ready and waking every waiter (outside the lock). A park with a timeout
/// never blocks (time does not pass under loom; the scheduler only passes
/// `Some(ZERO)`). [`unpark`](Driver::unpark) leaves a token that ends the
/// current park, or the next.
#[derive(Clone)]
pub struct EventDriver(Arc<EventShared>);

struct EventShared {
    state: Mutex<EventState>,
    cvar: Condvar,
}

#[derive(Default)]
struct EventState {
    /// Fired, not yet dispatched by a park.
    pending: bool,
    /// Dispatched: a wait is ready.
    ready: bool,
    /// Wakers of the tasks waiting for the event.
    waiters: Vec<Waker>,
    /// An unpark no park has consumed yet.
    unparked: bool,
    /// Wakers fired from inside a park.
    fired: usize,
}

impl EventDriver {
    /// A driver whose event has not fired.
    pub fn new() -> EventDriver {
        EventDriver(Arc::new(EventShared {
            state: Mutex::new(EventState::default()),
            cvar: Condvar::new(),
        }))
    }

    /// Fires the event (an fd turning ready): a park in progress wakes up
    /// and dispatches it, or the next park does.
    pub fn fire(&self) {
        let mut s = self.0.state.lock().unwrap();
        s.pending = true;
        drop(s);
        self.0.cvar.notify_one();
    }

    /// Waits for the event to have been dispatched: `Ready` once it was,
    /// else the task's waker is stored (once per task) and `Pending`.
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.state.lock().unwrap();
        if s.ready {
            return Poll::Ready(());
        }
        if !s.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// [`poll_ready`](Self::poll_ready) as a future.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await;
    }

    /// How many wakers parks have fired so far.
    pub fn fired(&self) -> usize {
        self.0.state.lock().unwrap().fired
    }

    /// How many wakers are stored (tasks still waiting).
    pub fn waiters(&self) -> usize {
        self.0.state.lock().unwrap().waiters.len()
    }
}

impl Default for EventDriver {
    fn default() -> EventDriver {
        EventDriver::new()
    }
}

impl fmt::Debug for EventDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventDriver").finish_non_exhaustive()
    }
}

impl Driver for EventDriver {
    fn park(&self, timeout: Option<Duration>) {
        let mut s = self.0.state.lock().unwrap();
        loop {
            if s.pending {
                // Dispatch: an unpark that came meanwhile is served too (a
                // real reactor reads its eventfd in the same wait).
                s.pending = false;
                s.ready = true;
                s.unparked = false;
                let waiters = std::mem::take(&mut s.waiters);
                s.fired += waiters.len();
                drop(s);
                // Woken on this worker's thread, inside its park: the
                // scheduler queues them locally and may pick this very
                // worker as the sleeper to notify (`notify_own`).
                for w in waiters {
                    w.wake();
                }
                // The contract: return once a waker has fired.
                return;
            }
            if s.unparked {
                s.unparked = false;
                return;
            }
            if timeout.is_some() {
                return;
            }
            s = self.0.cvar.wait(s).unwrap();
        }
    }

    fn unpark(&self) {
        let mut s = self.0.state.lock().unwrap();
        s.unparked = true;
        drop(s);
        self.0.cvar.notify_one();
    }
}

/// A scheduler [`Driver`] that plays a paused clock (`tasklane`'s runtime
/// driver while the clock is paused, `crates/tasklane/src/driver.rs`, "The
/// clock"): one virtual timer, on a clock that moves only while the
/// scheduler is idle.
///
/// A task registers the timer by awaiting [`sleep`](Self::sleep) (its waker
/// goes into the one slot; a later poll replaces it) and completes once the
/// timer fired. A blocking [`park`](Driver::park), made only by the worker
/// that holds the driver, asks the scheduler `Handle::is_idle` (through
/// `Handle::current_worker`, as the real driver does): idle with the timer
/// registered, the clock jumps to its deadline, the timer fires (its waker
/// is woken on this worker's thread) and the park returns; otherwise the
/// park blocks until an [`unpark`](Driver::unpark), as the real one blocks
/// without a timeout, and returns at that first wake without firing (the
/// worker then parks again, and the driver asks again). The timer thus
/// fires only if whoever makes the scheduler idle while this park blocks
/// gives the idle notice ([`wants_idle_notice`](Driver::wants_idle_notice)
/// is `true`): a lost notice leaves the holder asleep and the timer
/// unfired.
///
/// `unpark` leaves a token that ends the current blocking park or the next;
/// every blocking park that returns consumes it (the worker looks at its
/// queues again after any park, so a token is never needed twice). A park
/// with a timeout never blocks and fires nothing: the scheduler passes only
/// `Some(ZERO)` (a busy worker's look), and nothing is due at the clock's
/// current time, which moves only in a blocking park.
/// [`wants_holder`](Driver::wants_holder) keeps its default `false`: the
/// hand-over of the driver by a busy worker is not what this double is for,
/// and every worker that runs out of tasks parks, taking the driver if it is
/// free.
///
/// `is_idle` is asked before the driver's lock is taken, as the real driver
/// asks it before it looks at its token: the notice must work through the
/// scheduler's `SeqCst` word, and a lock held across both would add an
/// ordering the real driver does not have. The state sits behind a loom
/// mutex and the blocking park on a loom condition variable (what the
/// reactor's eventfd and wait queue do). A clone is the same driver: the
/// scheduler owns one (boxed), the tasks and the model keep others.
#[derive(Clone)]
pub struct PausedClockDriver(Arc<PausedShared>);

struct PausedShared {
    state: Mutex<PausedState>,
    cvar: Condvar,
}

#[derive(Default)]
struct PausedState {
    /// The waker of the task waiting for the timer, until it fires.
    timer: Option<Waker>,
    /// The timer fired: a wait is ready.
    fired: bool,
    /// An unpark no blocking park has consumed yet.
    unparked: bool,
    /// Timers fired by a park (0 or 1).
    fires: usize,
    /// Blocking parks that found the scheduler busy: each waits for a
    /// notice (or another unpark) before the clock may move.
    busy_waits: usize,
}

impl PausedClockDriver {
    /// A paused clock with no timer.
    pub fn new() -> PausedClockDriver {
        PausedClockDriver(Arc::new(PausedShared {
            state: Mutex::new(PausedState::default()),
            cvar: Condvar::new(),
        }))
    }

    /// `Ready` once the timer fired; otherwise stores the task's waker in the
    /// timer's slot (replacing any earlier one) and returns `Pending`.
    pub fn poll_elapsed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.state.lock().unwrap();
        if s.fired {
            return Poll::Ready(());
        }
        s.timer = Some(cx.waker().clone());
        Poll::Pending
    }

    /// [`poll_elapsed`](Self::poll_elapsed) as a future: a sleep on the
    /// paused clock, which only an idle scheduler lets end.
    pub async fn sleep(&self) {
        std::future::poll_fn(|cx| self.poll_elapsed(cx)).await;
    }

    /// How many times a park fired the timer.
    pub fn fires(&self) -> usize {
        self.0.state.lock().unwrap().fires
    }

    /// How many blocking parks found the scheduler busy and waited.
    pub fn busy_waits(&self) -> usize {
        self.0.state.lock().unwrap().busy_waits
    }

    /// Whether the timer's slot holds a waker (a task still waiting).
    pub fn has_waiter(&self) -> bool {
        self.0.state.lock().unwrap().timer.is_some()
    }
}

impl Default for PausedClockDriver {
    fn default() -> PausedClockDriver {
        PausedClockDriver::new()
    }
}

impl fmt::Debug for PausedClockDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PausedClockDriver").finish_non_exhaustive()
    }
}

impl Driver for PausedClockDriver {
    fn park(&self, timeout: Option<Duration>) {
        if timeout.is_some() {
            return;
        }
        // Only a worker parks in the driver (the real one asks the same way).
        let idle = tasklane_sched::Handle::current_worker().is_some_and(|h| h.is_idle());
        let mut s = self.0.state.lock().unwrap();
        if idle && let Some(waker) = s.timer.take() {
            // The clock jumps to the deadline: fire, on this worker's thread,
            // and return (the `Driver::park` contract). The token, if any,
            // is served by this return too.
            s.fired = true;
            s.fires += 1;
            s.unparked = false;
            drop(s);
            waker.wake();
            return;
        }
        if !idle {
            s.busy_waits += 1;
        }
        // Busy (the notice will come), or idle with no timer (only a task,
        // and so a wake of some worker, can register one).
        while !s.unparked {
            s = self.0.cvar.wait(s).unwrap();
        }
        s.unparked = false;
    }

    fn unpark(&self) {
        let mut s = self.0.state.lock().unwrap();
        s.unparked = true;
        drop(s);
        self.0.cvar.notify_one();
    }

    fn wants_idle_notice(&self) -> bool {
        true
    }
}

/// `Pending` at its first poll, after waking its task (a `yield_now`);
/// `Ready` at the next.
#[derive(Debug, Default)]
pub struct YieldOnce(bool);

impl YieldOnce {
    /// Not yielded yet.
    pub fn new() -> YieldOnce {
        YieldOnce(false)
    }
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Drives `future` to completion on the calling loom thread, parking it
/// (`loom::thread::park`) while the future is pending; its waker unparks
/// the thread.
///
/// Unlike `loom::future::block_on`, whose waker is a loom `Arc` around a
/// loom `Notify` that may wake spuriously (every waker clone, drop and wait
/// a loom event), this waker is a std `Arc` around the thread handle and a
/// park has no spurious return: the same waits and wakes, with far fewer
/// executions to explore (about 6 times fewer in `cancel_group_failure`).
/// A future that is never woken leaves the thread parked, which loom
/// reports as a deadlock.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(std::sync::Arc::new(Unparker(loom::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        loom::thread::park();
    }
}

/// Joins a task of the real scheduler on the model's thread with
/// [`block_on`]: a lost wake-up leaves the workers asleep and this blocked,
/// which loom reports as a deadlock.
pub fn join<T>(handle: JoinHandle<T>) -> T {
    block_on(handle).expect("the task completed")
}

/// The real scheduler's config for a model with a mock driver: `workers`
/// workers that park at once (no spin, which would only add schedule
/// points).
pub fn driver_config(workers: usize, driver: impl Driver + 'static) -> Config {
    Config {
        worker_threads: workers,
        spin_before_park: Duration::ZERO,
        driver: Some(Box::new(driver)),
        ..Config::default()
    }
}

/// The waker of [`block_on`].
struct Unparker(loom::thread::Thread);

impl Wake for Unparker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls a join handle once with `waker`.
pub fn poll_join<T>(handle: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// Counts down the tasks still to run on the real scheduler; the last one
/// wakes the main thread (a countdown, not join handles: joins make a
/// model several times larger, and are modelled on their own). Unlike the
/// counters above, its orderings are part of what it does (see `count`).
#[derive(Clone)]
pub struct Countdown {
    left: Arc<AtomicUsize>,
    done: Arc<loom::sync::Notify>,
}

impl fmt::Debug for Countdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Countdown").finish_non_exhaustive()
    }
}

impl Countdown {
    /// A countdown of `n` tasks.
    pub fn new(n: usize) -> Countdown {
        Countdown {
            left: Arc::new(AtomicUsize::new(n)),
            done: Arc::new(loom::sync::Notify::new()),
        }
    }

    /// AcqRel: the last task's decrement carries every run before it to
    /// the waiter (as a join would).
    pub fn count(&self) {
        if self.left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
            self.done.notify();
        }
    }

    /// Waits until every task has counted.
    pub fn wait(&self) {
        // Acquire: see `count`. loom's `Notify` may wake spuriously.
        while self.left.load(std::sync::atomic::Ordering::Acquire) != 0 {
            self.done.wait();
        }
    }
}

/// Spawns on `handle` a detached task that counts its run in `runs`, then
/// in `countdown`.
pub fn spawn_leaf(handle: &tasklane_sched::Handle, runs: &Counter, countdown: &Countdown) {
    let (runs, countdown) = (runs.clone(), countdown.clone());
    handle
        .spawn(
            async move {
                runs.incr();
                countdown.count();
            },
            TaskOptions::new(),
        )
        .detach();
}
