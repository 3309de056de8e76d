//! A worker thread: its run loop, its local queue and LIFO slot, searching
//! and parking.
//!
//! The loop also runs on the thread inside a current-thread scheduler's
//! `block_on` (`current.rs`), with a root: it then also returns when the
//! root's waker fires (after the tasks ready before it, up to
//! [`MAINTENANCE_INTERVAL`] of them) and counts the root's flag among the
//! queues it checks before parking.
//!
//! # Finding the next task
//!
//! 0. Every [`MAINTENANCE_INTERVAL`] ticks, and at the next tick whenever
//!    the coarse clock of the slow-poll watch moved during a poll: the
//!    driver's `maintain` hook, then a look at the driver without blocking
//!    (due timers fire, ready I/O wakes), if no parked worker holds it;
//!    what that wakes queues behind the tasks already waiting.
//! 1. At those same ticks, and right after a task yielded, the injector
//!    first, so tasks there never starve behind a busy local queue and a
//!    yield lets them run.
//! 2. The LIFO slot (the task most recently woken or spawned here), at most
//!    [`MAX_LIFO_POLLS`] times in a row; then it goes to the back of the
//!    local queue, so two tasks waking each other cannot hog the worker.
//!    (The monitor may have taken it meanwhile, if it saw this worker
//!    stuck: awake at two of its looks with nothing published between,
//!    one to two ticks; `lifo.rs`, `monitor.rs`.)
//! 3. The local queue, then a batch from the injector.
//! 4. Searching (if fewer than half the workers already are): steal a batch
//!    from the other workers and the injector, spinning for up to the
//!    configured spin time before parking (which first yields the core
//!    once if the last park ended on an I/O or timer event: `park.rs`).
//!
//! # Shutdown
//!
//! 1. `Scheduler::shutdown` cancels every live task but the shielded ones;
//!    the registry stays open, so cleanup code may still spawn.
//! 2. It waits, up to the grace, for the registry to empty (shielded tasks
//!    and tasks spawned meanwhile included); the workers keep running.
//! 3. It closes the registry (later spawns are cancelled before their first
//!    poll) and aborts every task still in it.
//! 4. It sets `Shared::shutdown`, stops and joins the monitor (so nothing
//!    steals from a LIFO slot from then on), and unparks every worker.
//! 5. Each worker leaves its loop, runs the driver's `maintain` hook, and
//!    delivers an abort to whatever is left in its LIFO slot and local
//!    queue, so every task still ends exactly once.
//! 6. Shutdown joins the workers and does the same for the injector (a task
//!    pushed to the injector after that sees the flag and does it itself),
//!    then stops the blocking pool.

use super::lifo::LifoSlot;
use super::{MAINTENANCE_INTERVAL, Shared};
use crate::coop;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::deque::{Steal, Worker as LocalQueue};
use crate::sync::{Arc, thread_local};
use crate::task::Notified;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::time::Instant;

/// Consecutive polls from the LIFO slot before it yields to the queue.
const MAX_LIFO_POLLS: u32 = 3;

thread_local! {
    static WORKER: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

/// Per-worker state, owned by its thread; other threads reach only its
/// stealer and parker through `Shared::remotes`.
pub(crate) struct Context {
    pub(super) shared: Arc<Shared>,
    pub(super) index: usize,
    local: LocalQueue<Notified>,
    /// Shared with the monitor, which may steal from it (`lifo.rs`).
    lifo: Arc<CachePadded<LifoSlot>>,
    lifo_polls: Cell<u32>,
    tick: Cell<u32>,
    searching: Cell<bool>,
    /// The last task polled yielded (was re-queued by its own wake).
    yielded: Cell<bool>,
    rng: Cell<u32>,
    /// Polls so far, published to this worker's metrics every
    /// [`MAINTENANCE_INTERVAL`] ticks and before parking (a plain cell: the poll
    /// path pays one increment).
    polls: Cell<u64>,
    /// Whether this worker's last park ended on the driver's own account
    /// (readiness or a timer, not an unpark): its next park then yields
    /// the core first, if the runtime allows (`park.rs`, "Yielding first").
    woke_by_driver: Cell<bool>,
}

/// The coarse clock ticked during a poll on this thread (the task core
/// calls `Schedule::clock_ticked_during_poll`): if it is a worker, it looks
/// at timers and I/O before its next poll. (Called only on such a tick: a
/// few hundred times a second at most. The watch is compiled out under
/// loom.)
#[cfg(not(tasklane_loom))]
#[cold]
pub(super) fn clock_ticked() {
    with_current(|cx| {
        if let Some(cx) = cx {
            // The next tick is a multiple of MAINTENANCE_INTERVAL: the
            // driver and the injector both get a look. Wrapping, as
            // `next_task` counts ticks.
            let t = cx.tick.get();
            cx.tick
                .set(t.wrapping_add(MAINTENANCE_INTERVAL - 1 - t % MAINTENANCE_INTERVAL));
        }
    });
}

/// Runs `f` with the worker context of this thread, if it is a worker.
pub(super) fn with_current<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    WORKER.with(|w| {
        let p = w.get();
        // SAFETY: the pointer is set only by `make_current` or `enter_step`
        // on this very thread, whose `Current` guard borrows the context and
        // resets the pointer when dropped, before that borrow ends.
        f(unsafe { p.as_ref() })
    })
}

/// The worker thread's body.
pub(super) fn run(
    shared: Arc<Shared>,
    index: usize,
    local: LocalQueue<Notified>,
    lifo: Arc<CachePadded<LifoSlot>>,
) {
    let cx = Context::new(shared, index, Core::with_queues(index, local, lifo));
    let current = cx.make_current();
    let exit = cx.run_loop(None);
    debug_assert!(matches!(exit, Exit::Shutdown));
    cx.leave();
    drop(current);
    // Tasks still queued here outlived the grace: deliver an abort to each
    // (their futures are dropped on this thread, before it ends). Wakes they
    // cause now go to the injector, which shutdown drains the same way.
    cx.abort_queued();
}

/// The queues and counters of the one worker of a current-thread
/// scheduler, kept between the runs of its loop on the threads that call
/// `block_on` (`sched/current.rs`). A multi-thread worker makes one for its
/// whole life.
pub(super) struct Core {
    local: LocalQueue<Notified>,
    lifo: Arc<CachePadded<LifoSlot>>,
    tick: u32,
    rng: u32,
    polls: u64,
}

impl Core {
    /// The same core with its steal-victim generator seeded from `seed`
    /// (the deterministic scheduler's).
    pub(super) fn with_seed(mut self, seed: u32) -> Core {
        self.rng = seed | 1;
        self
    }

    pub(super) fn with_queues(
        index: usize,
        local: LocalQueue<Notified>,
        lifo: Arc<CachePadded<LifoSlot>>,
    ) -> Core {
        Core {
            local,
            lifo,
            tick: 0,
            rng: 0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1,
            polls: 0,
        }
    }
}

/// Why [`Context::run_loop`] returned.
pub(super) enum Exit {
    /// The scheduler is shutting down.
    Shutdown,
    /// The root future's waker fired (current-thread only).
    Woken,
    /// The root's deadline passed (current-thread only).
    Deadline,
}

/// The root of a current-thread scheduler's run: the `block_on` future's
/// wake flag, and an optional deadline.
pub(super) struct Root<'a> {
    pub(super) woken: &'a AtomicBool,
    pub(super) deadline: Option<Instant>,
}

impl Root<'_> {
    /// Consumes a wake of the root. Acquire: pairs with the waker's
    /// `SeqCst` swap, so what it published is seen by the root's poll.
    fn take(&self) -> bool {
        self.woken.load(Ordering::Relaxed) && self.woken.swap(false, Ordering::Acquire)
    }
}

/// While it lives, the thread is this context's worker (`with_current`).
/// It borrows the context, so the context cannot move or drop first.
pub(super) struct Current<'a>(PhantomData<&'a Context>);

impl Drop for Current<'_> {
    fn drop(&mut self) {
        WORKER.with(|w| w.set(ptr::null()));
    }
}

impl Context {
    pub(super) fn new(shared: Arc<Shared>, index: usize, core: Core) -> Context {
        Context {
            shared,
            index,
            local: core.local,
            lifo: core.lifo,
            lifo_polls: Cell::new(0),
            tick: Cell::new(core.tick),
            searching: Cell::new(false),
            yielded: Cell::new(false),
            rng: Cell::new(core.rng),
            polls: Cell::new(core.polls),
            woke_by_driver: Cell::new(false),
        }
    }

    /// The queues and counters back, for the next run (current-thread).
    pub(super) fn into_core(self) -> Core {
        Core {
            local: self.local,
            lifo: self.lifo,
            tick: self.tick.get(),
            rng: self.rng.get(),
            polls: self.polls.get(),
        }
    }

    /// Makes this thread the context's worker until the guard drops (the
    /// guard borrows the context, which therefore outlives it).
    pub(super) fn make_current(&self) -> Current<'_> {
        WORKER.with(|w| {
            debug_assert!(w.get().is_null(), "a thread runs one worker at a time");
            w.set(self);
        });
        crate::task::watch::install(self.shared.config.slow_poll_threshold, self.index);
        Current(PhantomData)
    }

    /// Publishes the poll count and applies the driver's batched work, as
    /// the worker stops running tasks.
    pub(super) fn leave(&self) {
        self.publish_polls();
        if let Some(d) = &self.shared.driver {
            d.maintain();
        }
    }

    /// Makes this thread this context's worker for one step of the
    /// deterministic scheduler (`sim.rs`), which switches between its
    /// simulated workers' contexts; no slow-poll watch.
    pub(super) fn enter_step(&self) -> Current<'_> {
        WORKER.with(|w| w.set(self));
        Current(PhantomData)
    }

    /// Whether this worker has a task of its own queued (LIFO slot or local
    /// queue).
    pub(super) fn has_local_work(&self) -> bool {
        self.lifo.is_occupied() || !self.local.is_empty()
    }

    /// Whether this worker's local queue (what others may steal) holds a
    /// task.
    pub(super) fn has_queued_work(&self) -> bool {
        !self.local.is_empty()
    }

    /// The deterministic scheduler's step: the task this worker would run
    /// next, its own or stolen, as a worker thread finds it.
    pub(super) fn next_or_steal(&self) -> Option<Notified> {
        self.next_task().or_else(|| self.steal_once())
    }

    /// Moves the task in the LIFO slot, if any, to the back of the local
    /// queue (the deterministic scheduler's draw of where a wake goes).
    pub(super) fn demote_lifo(&self) {
        if let Some(t) = self.lifo.take() {
            self.local.push(t);
        }
    }

    /// The injector's next task, if it has one (the deterministic
    /// scheduler's draw of which queue is popped).
    pub(super) fn steal_from_injector(&self) -> Option<Notified> {
        steal_retry(|| self.shared.injector.steal())
    }

    /// Polls `task` as `run_task` does, without the searching bookkeeping
    /// (the simulated workers are never counted searching).
    pub(super) fn run_simulated(&self, task: Notified) {
        self.polls.set(self.polls.get().wrapping_add(1));
        coop::with_budget(|| task.run());
    }

    /// Delivers an abort to every task still queued here (shutdown).
    pub(super) fn abort_queued(&self) {
        while let Some(t) = self.lifo.take().or_else(|| self.local.pop()) {
            t.cancel_and_run();
        }
    }

    /// Runs tasks until shutdown or, on a current-thread scheduler, until
    /// the root is woken or its deadline passes. A woken root waits for
    /// the tasks ready before it, up to [`MAINTENANCE_INTERVAL`] of them (so
    /// a root that yields lets the ready tasks run first, as a task's yield
    /// does, and an always-busy queue cannot starve the root).
    ///
    /// Inlined into its two callers, so that a worker thread's loop (no
    /// root) carries none of the root's checks.
    #[inline(always)]
    pub(super) fn run_loop(&self, root: Option<&Root<'_>>) -> Exit {
        let mut ran = 0u32;
        loop {
            if self.shared.is_shutdown() {
                return Exit::Shutdown;
            }
            if let Some(root) = root
                && ran >= MAINTENANCE_INTERVAL
                && root.take()
            {
                return Exit::Woken;
            }
            if let Some(task) = self.next_task() {
                self.run_task(task);
                ran = ran.wrapping_add(1);
                continue;
            }
            if let Some(root) = root
                && root.take()
            {
                return Exit::Woken;
            }
            if let Some(task) = self.search() {
                self.run_task(task);
                continue;
            }
            self.park(root);
            if let Some(d) = root.and_then(|r| r.deadline)
                && Instant::now() >= d
            {
                return Exit::Deadline;
            }
        }
    }

    /// Polls the root future of a current-thread scheduler (its `block_on`)
    /// on this worker, with a budget as a task has.
    pub(super) fn poll_root<T>(&self, poll: impl FnOnce() -> T) -> T {
        coop::with_budget(poll)
    }

    /// After a run on a current-thread scheduler: counted parked, so that
    /// work queued until the next run notifies the parker, whose token
    /// then makes that run's first park return at once.
    pub(super) fn park_between_runs(&self) {
        self.shared
            .idle
            .transition_worker_to_parked(self.index, self.searching.replace(false));
    }

    /// Before a run on a current-thread scheduler: off the sleeper list
    /// (unless a notifier took it off already) and counted searching.
    pub(super) fn unpark_for_run(&self) {
        self.shared.idle.transition_worker_from_parked(self.index);
        self.searching.set(true);
    }

    // `run_loop` and the two steps it takes for every poll are inlined into
    // both of its callers; left to the compiler, the two copies call them
    // (`docs/benchmarks.md`, current-thread runtime).
    #[inline(always)]
    fn run_task(&self, task: Notified) {
        if self.searching.replace(false) && self.shared.idle.transition_worker_from_searching() && {
            // Orders our decrement before the queue reads, against the
            // notifier's push, fence, read (the Dekker pair of idle.rs).
            crate::sync::atomic::fence(crate::sync::atomic::Ordering::SeqCst);
            self.shared.has_work() || self.shared.driver_is_vacant_with_work()
        } {
            // We were the last searcher and more work is waiting, or the
            // driver has timers and nobody parked in it (we may just have
            // left it, and this poll may be long): wake someone to take it.
            // Waking one unconditionally, as tokio does, would cost a futex
            // wake per round trip on a lightly loaded runtime, and the woken
            // worker would then search for nothing (request_reply in
            // docs/benchmarks.md). Work pushed after this check sees no
            // searcher and wakes a worker itself (idle.rs).
            self.shared.notify_parked();
        }
        self.polls.set(self.polls.get().wrapping_add(1));
        coop::with_budget(|| task.run());
    }

    #[inline(always)]
    fn next_task(&self) -> Option<Notified> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        // Timers and I/O are looked at every MAINTENANCE_INTERVAL ticks,
        // and whenever the coarse clock has ticked since the last look: with
        // long polls, MAINTENANCE_INTERVAL polls could be far too long for a
        // due timer to wait. The slow-poll watch, which reads the clock after
        // every poll anyway, tells the scheduler when it ticks
        // (`Schedule::clock_ticked_during_poll`), and `clock_ticked` moves
        // `tick` forward to the next interval, so this test costs nothing
        // more.
        if tick.is_multiple_of(MAINTENANCE_INTERVAL) {
            self.publish_polls();
            if let Some(d) = &self.shared.driver {
                // What the timers and I/O wake here queues behind the tasks
                // already waiting, not in the LIFO slot, which is for a task
                // woken by the one being polled: else `sleep(ZERO)`, one
                // tick on the wheel, could resume before a task spawned just
                // before it (asyncio's `sleep(0)` lets that task run first).
                let waiting = self.lifo.take();
                d.maintain();
                d.poll_events();
                if let Some(woken) = self.lifo.take() {
                    self.local.push(woken);
                }
                if let Some(waiting) = waiting {
                    // The slot is empty: nothing comes back.
                    let displaced = self.lifo.put(waiting);
                    debug_assert!(displaced.is_none());
                }
            }
        }
        // After a yield, the injector goes first too: `yield_now` promises
        // that every other ready task runs before the yielder runs again.
        // (An empty injector is passed over without a steal, which would
        // cost a `SeqCst` fence; a push racing this look waits for the next.)
        let yielded = self.yielded.replace(false);
        if (yielded || tick.is_multiple_of(MAINTENANCE_INTERVAL))
            && !self.shared.injector.is_empty()
            && let Some(t) = steal_retry(|| self.shared.injector.steal())
        {
            return Some(t);
        }
        if let Some(t) = self.lifo.take() {
            let n = self.lifo_polls.get();
            if n < MAX_LIFO_POLLS {
                self.lifo_polls.set(n + 1);
                return Some(t);
            }
            self.local.push(t);
        }
        self.lifo_polls.set(0);
        if let Some(t) = self.local.pop() {
            return Some(t);
        }
        steal_retry(|| self.shared.injector.steal_batch_and_pop(&self.local))
    }

    /// Steals from other workers and the injector, spinning for up to the
    /// configured time. Leaves the worker searching (counted in `Idle`).
    fn search(&self) -> Option<Notified> {
        if !self.searching.get() {
            if !self.shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let spin = self.shared.config.spin_before_park;
        let mut started: Option<Instant> = None;
        loop {
            if let Some(t) = self.steal_once() {
                return Some(t);
            }
            // No spin configured (the default), or under loom: one pass.
            if spin.is_zero() || self.shared.is_shutdown() || cfg!(tasklane_loom) {
                return None;
            }
            let start = *started.get_or_insert_with(Instant::now);
            if start.elapsed() >= spin {
                return None;
            }
            for _ in 0..32 {
                crate::sync::spin_hint();
            }
        }
    }

    fn steal_once(&self) -> Option<Notified> {
        let remotes = &self.shared.remotes;
        let n = remotes.len();
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            // An empty queue is passed over without a steal, which pins
            // crossbeam's epoch before it looks. A push racing this look is
            // found by the check after the fence in `park`, as one racing a
            // steal would be.
            if victim == self.index || remotes[victim].stealer.is_empty() {
                continue;
            }
            if let Some(t) =
                steal_retry(|| remotes[victim].stealer.steal_batch_and_pop(&self.local))
            {
                remotes[self.index].counters.steal();
                return Some(t);
            }
        }
        steal_retry(|| self.shared.injector.steal_batch_and_pop(&self.local))
    }

    pub(super) fn park(&self, root: Option<&Root<'_>>) {
        let shared = &*self.shared;
        shared
            .idle
            .transition_worker_to_parked(self.index, self.searching.replace(false));
        // The sleeper half of the Dekker pair (see `idle.rs`): our count
        // update above is ordered before the queue checks below. A root's
        // waker is a notifier too (`current.rs`): it sets its flag, fences
        // and reads the counts.
        crate::sync::atomic::fence(crate::sync::atomic::Ordering::SeqCst);
        if shared.has_work() || root.is_some_and(|r| r.woken.load(Ordering::SeqCst)) {
            shared.notify_parked();
        }
        if !shared.is_shutdown() {
            let me = &shared.remotes[self.index];
            self.publish_polls();
            if let Some(d) = &shared.driver {
                d.maintain();
            }
            me.counters.park();
            // Another worker holds the driver: if this park makes the
            // scheduler idle, a paused clock there must hear of it
            // (`Handle::is_idle`).
            let by_driver = me.parker.park(
                shared.driver.as_ref(),
                root.and_then(|r| r.deadline),
                shared.config.yield_before_park && self.woke_by_driver.get(),
                |d| d.notice_idle(|| shared.is_idle()),
            );
            self.woke_by_driver.set(by_driver);
            crate::task::watch::restart();
        }
        shared.idle.transition_worker_from_parked(self.index);
        // Counted unparked now (by us or by our notifier): a monitor asleep
        // for want of awake workers must watch again (`monitor.rs`).
        if let Some(m) = &shared.monitor {
            m.worker_awake();
        }
        // Whoever woke us counted us as searching.
        self.searching.set(true);
    }

    /// Queues a task woken or spawned on this worker.
    pub(super) fn schedule_local(&self, task: Notified, is_yield: bool) {
        let notify = if is_yield {
            // A lone yielder needs no help: this worker polls it again as
            // soon as the current poll returns. Waking a sleeper for it
            // (only to find nothing, or to steal it and move its state to
            // another core) would cost a futex wake per yield.
            let others_waiting = !self.local.is_empty();
            self.local.push(task);
            self.yielded.set(true);
            others_waiting
        } else {
            match self.lifo.put(task) {
                Some(prev) => {
                    self.local.push(prev);
                    true
                }
                None => false,
            }
        };
        // With one worker (a current-thread scheduler, say) there is nobody
        // to wake: this worker, awake, runs the task.
        if notify && self.shared.remotes.len() > 1 {
            self.shared.notify_parked();
        }
    }

    fn publish_polls(&self) {
        self.shared.remotes[self.index]
            .counters
            .set_polls(self.polls.get());
    }

    fn next_rand(&self) -> u32 {
        // xorshift32: enough to spread steal victims.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }
}

pub(super) fn steal_retry(mut f: impl FnMut() -> Steal<Notified>) -> Option<Notified> {
    loop {
        match f() {
            Steal::Success(t) => return Some(t),
            Steal::Empty => return None,
            Steal::Retry => crate::sync::spin_hint(),
        }
    }
}
