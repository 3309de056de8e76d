//! The runtime's driver: what the one worker that parks "in the driver"
//! blocks in (see `tasklane_sched::Driver`).
//!
//! It drives time and I/O in one wait: it fires due timers, then blocks in
//! the reactor ([`Reactor::poll`]: one `epoll_pwait2`) with the nearest
//! deadline as the timeout, dispatches the readiness it reports, and fires
//! timers again. `unpark` is a [`Reactor::notify`], a write to the
//! reactor's own eventfd, made only by the first unpark since the last
//! wait (`notified`). There is no reactor thread: the one worker parked in
//! the driver is it.
//!
//! Timers fire, and readiness is collected, in these places:
//!
//! * when a worker parks in the driver, before and after it blocks;
//! * every few scheduler ticks (`tasklane_sched::MAINTENANCE_INTERVAL`),
//!   and whenever the coarse clock of the slow-poll watch has ticked, from a
//!   busy worker (`park(Some(ZERO))`: one `epoll_pwait2` with a zero
//!   timeout, then the due timers), so a loaded runtime never starves its
//!   timers or its sockets;
//! * never from a timer thread: there is none.
//!
//! A registration of a deadline earlier than the one the driver blocks until
//! unparks it (the park protocol of `tasklane_timer::Timers`).
//!
//! # The clock
//!
//! Time is the runtime's [`Clock`] (`time/clock.rs`): real time, or
//! virtual time while paused. Timers registered while it is paused wait in
//! the clock's exact-deadline map instead of the wheel ([`Key::Paused`]);
//! every look fires both. While the clock is paused the driver never waits
//! for a deadline in real time. Its holder, parked, does this instead:
//!
//! 1. fire what is due at the clock's time; if anything fired, return;
//! 2. ask the scheduler whether it is idle (`tasklane_sched::Handle::is_idle`:
//!    every worker parked, no task queued, no blocking job or `block_on`
//!    poll in flight). If not, block without a timeout (I/O still wakes
//!    it) and return at the first wake: whoever makes the scheduler idle
//!    later unparks the driver, since [`SchedDriver`] asks for that notice
//!    while the clock is paused (`Driver::wants_idle_notice`);
//! 3. idle: look at I/O without blocking, and return if that (or an unpark)
//!    woke anything, as tokio does;
//! 4. otherwise move the clock to the earlier of the map's first deadline
//!    and the wheel's next tick, fire, and go back to 1. With no timer at
//!    all, block without a timeout as in 2.
//!
//! So a paused clock moves only while no task can run, and then straight to
//! the next deadline: no real-time wait, no polling loop.
//!
//! # Cancellations in batches
//!
//! Most timers are cancelled (a request's timeout that never fires). A
//! worker that cancels a timer of its own shard does not lock the shard for
//! it: the key joins the worker's batch ([`Deferred`], thread-local), applied
//! under one lock when it holds [`BATCH`] keys, and by [`SchedDriver`]'s
//! `maintain`, which every worker runs every few scheduler ticks, before it
//! parks and when it stops. Until then the entry stays on the wheel: if its
//! deadline passes first, it fires and wakes its task once, spuriously (a
//! future must allow that), and the batched cancel finds its key stale. The
//! batch is bounded, so is what it keeps alive (the wakers, and so the
//! tasks' allocations). [`RuntimeDriver::num_timers`] does not count the
//! batched timers: each worker publishes its batch's length.

use crate::time::clock::{Clock, VirtualKey};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};
use tasklane_io::Reactor;
use tasklane_timer::{Registration, Reset, TimerKey, Timers};

/// Timers, the reactor and the blocking wait, shared by the runtime's
/// handle, every registered timer and I/O source, and the scheduler (through
/// [`SchedDriver`]).
pub(crate) struct RuntimeDriver {
    /// The runtime's time (module docs, "The clock").
    clock: Clock,
    /// Instants to the wheel's ticks.
    ticks: tasklane_timer::Clock,
    timers: Timers,
    io: Reactor,
    /// Set by `unpark` (which then notifies the poller), consumed by the
    /// parked driver: a notification that arrives while nobody waits is
    /// kept for the next wait.
    notified: AtomicBool,
    /// Wakers collected under shard locks, woken after; kept to reuse the
    /// allocation. Only the driver's holder (one thread at a time) takes it.
    fired: Mutex<Vec<Waker>>,
}

/// A registered timer: on the wheel, or in the paused clock's map.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key {
    /// Registered while the clock ran.
    Wheel(TimerKey),
    /// Registered while the clock was paused (module docs).
    Paused(VirtualKey),
}

/// Keys per batch of cancellations.
const BATCH: usize = 64;

/// A worker thread's batch of timer cancellations, for the runtime the
/// thread belongs to (`owner`, set when the thread starts) and its worker
/// index there (looked up on first use; `NOT_A_WORKER` on the runtime's
/// blocking threads).
struct Deferred {
    owner: *const RuntimeDriver,
    worker: usize,
    keys: Vec<TimerKey>,
}

/// `Deferred::worker` not looked up yet.
const UNKNOWN: usize = usize::MAX;
/// `Deferred::worker` of a thread that is not a worker.
const NOT_A_WORKER: usize = usize::MAX - 1;

thread_local! {
    static DEFERRED: RefCell<Deferred> = const {
        RefCell::new(Deferred {
            owner: std::ptr::null(),
            worker: UNKNOWN,
            keys: Vec::new(),
        })
    };
}

impl fmt::Debug for RuntimeDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeDriver")
            .field("timers", &self.timers)
            .finish_non_exhaustive()
    }
}

impl RuntimeDriver {
    /// A driver with one timer shard per worker plus one for other
    /// threads, and a reactor.
    pub(crate) fn new(workers: usize, start_paused: bool) -> std::io::Result<RuntimeDriver> {
        Ok(RuntimeDriver {
            clock: Clock::new(start_paused),
            ticks: tasklane_timer::Clock::new(),
            timers: Timers::new(workers + 1),
            io: Reactor::new()?,
            notified: AtomicBool::new(false),
            fired: Mutex::new(Vec::new()),
        })
    }

    /// The runtime's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The reactor, for registering I/O sources.
    pub(crate) fn io(&self) -> &Reactor {
        &self.io
    }

    /// Registers `waker` for `deadline`; `None` if the deadline has passed.
    ///
    /// The shard is the registering worker's, or the last one for threads
    /// that are not workers. A registration from such a thread (`block_on`,
    /// the blocking pool), made while nobody is parked in the driver, also
    /// wakes an idle worker: the workers may all be asleep on their own
    /// parkers while the one that last held the driver runs a long poll, and
    /// then no one would fire this timer. (Workers need not: a worker
    /// registering a timer is running, and it parks in the driver or fires
    /// timers every few ticks itself.)
    ///
    /// While the clock is paused the timer goes into the clock's map
    /// instead, and nobody need be woken: a paused clock's timers fire only
    /// once the scheduler is idle, and whoever makes it idle tells the
    /// driver (module docs).
    pub(crate) fn register(
        &self,
        deadline: Instant,
        waker: &Waker,
        sched: &tasklane_sched::Handle,
    ) -> Option<Key> {
        if self.clock.is_paused() {
            return self.clock.register(deadline, waker).map(Key::Paused);
        }
        self.register_wheel(deadline, waker, sched).map(Key::Wheel)
    }

    fn register_wheel(
        &self,
        deadline: Instant,
        waker: &Waker,
        sched: &tasklane_sched::Handle,
    ) -> Option<TimerKey> {
        let tick = self.ticks.deadline_ticks(deadline);
        let worker = tasklane_sched::Handle::current_worker_index();
        let shard = worker.unwrap_or(self.timers.num_shards() - 1);
        match self.timers.register(shard, tick, waker) {
            Registration::Expired => None,
            Registration::Pending { key, unpark } => {
                if unpark {
                    self.unpark();
                } else if worker.is_none() && !self.timers.is_driver_blocked() {
                    sched.wake_idle_worker();
                }
                Some(key)
            }
        }
    }

    /// Whether `key` has fired; refreshes its waker if not.
    pub(crate) fn poll(&self, key: Key, waker: &Waker) -> bool {
        match key {
            Key::Wheel(key) => self.timers.poll(key, waker),
            Key::Paused(key) => self.clock.poll(key, waker),
        }
    }

    /// Moves `key` to `deadline` (updating `key`); `false` if it had fired
    /// already.
    pub(crate) fn reset(&self, key: &mut Key, deadline: Instant) -> bool {
        match key {
            Key::Wheel(k) => match self.timers.reset(*k, self.ticks.deadline_ticks(deadline)) {
                Reset::Fired => false,
                Reset::Moved { unpark } => {
                    if unpark {
                        self.unpark();
                    }
                    true
                }
            },
            Key::Paused(k) => match self.clock.reset(*k, deadline) {
                None => false,
                Some(new) => {
                    *k = new;
                    // A driver that blocks for a deadline (the clock was
                    // resumed since) must see the new one.
                    if !self.clock.is_paused() {
                        self.unpark();
                    }
                    true
                }
            },
        }
    }

    /// Removes `key` without waking it: at once, or, on a worker of this
    /// runtime cancelling a timer of its own shard, in that worker's next
    /// batch (module docs).
    pub(crate) fn cancel(&self, key: Key) {
        match key {
            Key::Wheel(key) => self.cancel_wheel(key),
            Key::Paused(key) => self.clock.cancel(key),
        }
    }

    fn cancel_wheel(&self, key: TimerKey) {
        let batched = DEFERRED.try_with(|d| {
            let mut d = d.borrow_mut();
            if !std::ptr::eq(d.owner, self) {
                return None;
            }
            if d.worker == UNKNOWN {
                d.worker = tasklane_sched::Handle::current_worker_index().unwrap_or(NOT_A_WORKER);
            }
            let w = d.worker;
            if w != key.shard() {
                return None;
            }
            d.keys.push(key);
            let n = d.keys.len();
            self.timers.note_batched(w, n);
            Some((w, n >= BATCH))
        });
        match batched {
            Ok(Some((w, full))) => {
                if full {
                    self.apply_deferred_of(w);
                }
            }
            _ => {
                self.timers.cancel(key);
            }
        }
    }

    /// Marks the calling thread as one of this runtime's: its workers
    /// batch their cancellations here (module docs).
    pub(crate) fn adopt_thread(self: &Arc<Self>) {
        DEFERRED.with(|d| {
            let mut d = d.borrow_mut();
            d.owner = Arc::as_ptr(self);
            d.worker = UNKNOWN;
        });
    }

    /// The calling thread, one of this runtime's, is ending: applies its
    /// batch (cancellations made after its worker loop's last `maintain`,
    /// by tasks dropped at shutdown) and stops batching.
    pub(crate) fn release_thread(&self) {
        self.apply_deferred();
        let _ = DEFERRED.try_with(|d| d.borrow_mut().owner = std::ptr::null());
    }

    /// Applies the calling worker's batch of cancellations, if it has one.
    fn apply_deferred(&self) {
        let worker = DEFERRED
            .try_with(|d| {
                let d = d.borrow();
                std::ptr::eq(d.owner, self).then_some(d.worker)
            })
            .ok()
            .flatten();
        if let Some(w) = worker.filter(|&w| w < self.timers.num_shards() - 1) {
            self.apply_deferred_of(w);
        }
    }

    /// Applies the batch of worker `w`, the calling thread.
    fn apply_deferred_of(&self, w: usize) {
        // The keys leave the cell before the shard is touched: dropping a
        // removed waker may free a task whose output holds a timer, whose
        // cancellation then comes back here.
        let Ok(Some(mut keys)) = DEFERRED.try_with(|d| {
            let mut d = d.borrow_mut();
            (!d.keys.is_empty()).then(|| std::mem::take(&mut d.keys))
        }) else {
            return;
        };
        self.timers.cancel_batch(w, &mut keys);
        // Keep the allocation, unless cancellations made meanwhile started
        // a new batch.
        let _ = DEFERRED.try_with(|d| {
            let mut d = d.borrow_mut();
            if d.keys.is_empty() {
                d.keys = keys;
            }
        });
    }

    /// Number of registered timers, not counting those cancelled in a
    /// worker's batch not yet applied (for tests and introspection; exact
    /// when no thread registers or cancels meanwhile). A worker asking
    /// applies its own batch first.
    pub(crate) fn num_timers(&self) -> usize {
        self.apply_deferred();
        self.timers.len() + self.clock.num_timers()
    }

    /// Fires every due timer, those of the paused clock's map first (in
    /// deadline order); returns how many. With no timer registered it reads
    /// no clock and takes no lock: a registration that races this look is
    /// caught by the park protocol (`Timers::park_deadline`) or by the next
    /// look.
    fn fire_due(&self) -> usize {
        let wheel = self.timers.may_have_pending();
        let map = self.clock.has_timers();
        if !wheel && !map {
            return 0;
        }
        let now = self.clock.now();
        let mut fired = std::mem::take(&mut *self.fired.lock());
        if map {
            self.clock.take_due(now, &mut fired);
        }
        if wheel {
            self.timers.process(self.ticks.floor_ticks(now), &mut fired);
        }
        let n = fired.len();
        for waker in fired.drain(..) {
            waker.wake();
        }
        *self.fired.lock() = fired;
        n
    }

    /// Blocks in the reactor for at most `timeout` (or without limit), until
    /// an I/O event or an unpark, dispatching the events; returns whether
    /// anything happened (events or an unpark).
    fn wait(&self, timeout: Option<Duration>) -> bool {
        // Acquire: whatever the unparker published before unparking (a new
        // task, a timer) is visible once we see its token.
        if self.notified.swap(false, Ordering::Acquire) {
            return true;
        }
        let events = self.poll_io(timeout);
        self.notified.swap(false, Ordering::Acquire) || events > 0
    }

    /// The earliest deadline of any timer, as an instant of the clock: the
    /// map's first, or the wheel's next tick (published by the park
    /// protocol: pair with `Timers::unparked`).
    fn park_deadline(&self) -> Option<Instant> {
        let wheel = self
            .timers
            .park_deadline()
            .map(|tick| self.ticks.instant_at(tick));
        let map = if self.clock.has_timers() {
            self.clock.next_deadline()
        } else {
            None
        };
        match (wheel, map) {
            (Some(w), Some(m)) => Some(w.min(m)),
            (w, m) => w.or(m),
        }
    }

    /// Waits in the reactor and dispatches; an error of the poller (which
    /// only a broken epoll descriptor could cause) counts as no events.
    fn poll_io(&self, timeout: Option<Duration>) -> usize {
        match self.io.poll(timeout) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "tasklane: the I/O poller failed");
                0
            }
        }
    }

    /// Blocks for at most `timeout` (`None`: no limit) until a timer fires,
    /// an I/O event or an unpark; `Some(ZERO)` only collects what is ready.
    fn park(&self, timeout: Option<Duration>) {
        if timeout == Some(Duration::ZERO) {
            self.poll_io(Some(Duration::ZERO));
            self.fire_due();
            return;
        }
        if self.fire_due() > 0 {
            return;
        }
        // `limit` is real time (the caller's own deadline); timer deadlines
        // are the clock's.
        let limit = timeout.map(|t| Instant::now() + t);
        let left = |l: Instant| l.saturating_duration_since(Instant::now());
        loop {
            if self.clock.is_paused() {
                if self.park_paused(limit) {
                    return;
                }
                continue;
            }
            let now = self.clock.now();
            let timeout = match (self.park_deadline(), limit) {
                (Some(d), Some(l)) => Some(d.saturating_duration_since(now).min(left(l))),
                (Some(d), None) => Some(d.saturating_duration_since(now)),
                (None, l) => l.map(left),
            };
            let woken = self.wait(timeout);
            self.timers.unparked();
            // After a wake-up for a deadline, the wheel may only have
            // cascaded (a far timer moved to a finer level) or the earliest
            // timer may have been cancelled: then block again.
            if self.fire_due() > 0 || woken || limit.is_some_and(|l| Instant::now() >= l) {
                return;
            }
        }
    }

    /// Steps 2–4 of the paused clock's park (module docs), after step 1;
    /// returns whether the park should end (`false`: fire and ask again).
    fn park_paused(&self, limit: Option<Instant>) -> bool {
        let left = |l: Instant| l.saturating_duration_since(Instant::now());
        // Only a worker parks in the driver; the clock advances only when
        // its scheduler says it is idle.
        let idle = tasklane_sched::Handle::current_worker().is_some_and(|h| h.is_idle());
        if !idle {
            // Woken by the idle notice, a task, I/O or the clock's resume.
            self.wait(limit.map(left));
            return true;
        }
        if self.notified.swap(false, Ordering::Acquire) || self.poll_io(Some(Duration::ZERO)) > 0 {
            return true;
        }
        let Some(next) = self.park_deadline() else {
            // No timer: only I/O, or a thread outside the scheduler, can
            // wake anything.
            self.wait(limit.map(left));
            self.timers.unparked();
            return true;
        };
        self.timers.unparked();
        self.clock.advance_to(next);
        if self.fire_due() > 0 || limit.is_some_and(|l| Instant::now() >= l) {
            return true;
        }
        // The deadline was a cascade of the wheel or a cancelled timer's:
        // ask again.
        false
    }

    /// `time::advance`: moves the paused clock forward by exactly `d`,
    /// wakes the map's timers due by then in deadline order, and unparks the
    /// driver so that it fires the wheel's (timers registered before the
    /// pause) at the new time.
    pub(crate) fn advance(&self, d: Duration) -> Result<(), crate::time::clock::NotPaused> {
        let mut fired = Vec::new();
        self.clock.advance(d, &mut fired)?;
        for waker in fired {
            waker.wake();
        }
        self.unpark();
        Ok(())
    }

    /// Pauses the clock; the driver, if it blocks for a deadline, is
    /// unparked to take the paused path.
    pub(crate) fn pause(&self) {
        if self.clock.pause() {
            self.unpark();
        }
    }

    /// Resumes the clock; the driver, if it blocks without a timeout as a
    /// paused one does, is unparked to wait for its deadlines in real time.
    pub(crate) fn resume(&self) {
        if self.clock.resume() {
            self.unpark();
        }
    }

    fn unpark(&self) {
        // Release: see `wait`. Only the first unpark since the last wait
        // notifies the poller (a system call).
        if !self.notified.swap(true, Ordering::Release) {
            self.io.notify();
        }
    }
}

/// The scheduler's view of the driver.
pub(crate) struct SchedDriver(pub(crate) Arc<RuntimeDriver>);

impl tasklane_sched::Driver for SchedDriver {
    fn park(&self, timeout: Option<Duration>) {
        self.0.park(timeout);
    }

    fn unpark(&self) {
        self.0.unpark();
    }

    fn maintain(&self) {
        self.0.apply_deferred();
    }

    fn wants_holder(&self) -> bool {
        // Pending timers: someone must wait in the driver while this worker
        // runs tasks. Registered sockets do not count: handing the driver
        // over on every I/O wake-up slows I/O-bound loads down
        // (docs/benchmarks.md, I/O), so readiness waits for a busy worker's
        // next look, as it does in tokio (docs/semantics.md).
        self.0.timers.may_have_pending() || self.0.clock.has_timers()
    }

    fn wants_idle_notice(&self) -> bool {
        self.0.clock.is_paused()
    }
}
