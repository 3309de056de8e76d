//! The runtime's driver: what the one worker that parks "in the driver"
//! blocks in (see `tasklane_sched::Driver`).
//!
//! Today it drives time: it fires due timers, then blocks on a condition
//! variable until the nearest deadline or an unpark. (The I/O reactor will
//! take the condition variable's place, so that timers and readiness are
//! waited for in one call.)
//!
//! Timers fire in three places:
//!
//! * when a worker parks in the driver, before and after it blocks;
//! * every `EVENT_INTERVAL` scheduler ticks, from a busy worker
//!   (`park(Some(ZERO))`), so a loaded runtime never starves its timers;
//! * never from a timer thread: there is none.
//!
//! A registration of a deadline earlier than the one the driver blocks until
//! unparks it (the park protocol of `tasklane_timer::Timers`).

use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};
use tasklane_timer::{Clock, Registration, Reset, TimerKey, Timers};

/// Timers and the blocking wait, shared by the runtime's handle, every
/// registered sleep and the scheduler (through [`SchedDriver`]).
pub(crate) struct TimeDriver {
    clock: Clock,
    timers: Timers,
    /// Set by `unpark`, consumed by the parked driver.
    notified: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
    /// Wakers collected under shard locks, woken after; kept to reuse the
    /// allocation. Only the driver's holder (one thread at a time) takes it.
    fired: Mutex<Vec<Waker>>,
}

impl fmt::Debug for TimeDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeDriver")
            .field("timers", &self.timers)
            .finish_non_exhaustive()
    }
}

impl TimeDriver {
    /// A driver with one timer shard per worker plus one for other threads.
    pub(crate) fn new(workers: usize) -> TimeDriver {
        TimeDriver {
            clock: Clock::new(),
            timers: Timers::new(workers + 1),
            notified: AtomicBool::new(false),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
            fired: Mutex::new(Vec::new()),
        }
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
    pub(crate) fn register(
        &self,
        deadline: Instant,
        waker: &Waker,
        sched: &tasklane_sched::Handle,
    ) -> Option<TimerKey> {
        let tick = self.clock.deadline_ticks(deadline);
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
    pub(crate) fn poll(&self, key: TimerKey, waker: &Waker) -> bool {
        self.timers.poll(key, waker)
    }

    /// Moves `key` to `deadline`; `false` if it had fired already.
    pub(crate) fn reset(&self, key: TimerKey, deadline: Instant) -> bool {
        match self.timers.reset(key, self.clock.deadline_ticks(deadline)) {
            Reset::Fired => false,
            Reset::Moved { unpark } => {
                if unpark {
                    self.unpark();
                }
                true
            }
        }
    }

    /// Removes `key` without waking it.
    pub(crate) fn cancel(&self, key: TimerKey) {
        self.timers.cancel(key);
    }

    /// Number of registered timers (for tests and introspection).
    pub(crate) fn num_timers(&self) -> usize {
        self.timers.len()
    }

    /// Fires every due timer; returns how many.
    fn fire_due(&self) -> usize {
        let mut fired = std::mem::take(&mut *self.fired.lock());
        self.timers.process(self.clock.now_ticks(), &mut fired);
        let n = fired.len();
        for waker in fired.drain(..) {
            waker.wake();
        }
        *self.fired.lock() = fired;
        n
    }

    /// Blocks until `until` (or without limit), or until unparked; returns
    /// whether an unpark was consumed.
    fn wait(&self, until: Option<Instant>) -> bool {
        let mut guard = self.lock.lock();
        // Acquire: whatever the unparker published before unparking (a new
        // task, a timer) is visible once we see its token.
        while !self.notified.swap(false, Ordering::Acquire) {
            match until {
                None => self.cvar.wait(&mut guard),
                Some(t) => {
                    if self.cvar.wait_until(&mut guard, t).timed_out() {
                        return self.notified.swap(false, Ordering::Acquire);
                    }
                }
            }
        }
        true
    }

    /// Blocks for at most `timeout` (`None`: no limit) until a timer fires or
    /// an unpark; `Some(ZERO)` only fires what is due.
    fn park(&self, timeout: Option<Duration>) {
        if self.fire_due() > 0 || timeout == Some(Duration::ZERO) {
            return;
        }
        let limit = timeout.map(|t| Instant::now() + t);
        loop {
            let deadline = self
                .timers
                .park_deadline()
                .map(|ms| self.clock.instant_at(ms));
            let until = match (deadline, limit) {
                (Some(d), Some(l)) => Some(d.min(l)),
                (d, l) => d.or(l),
            };
            let unparked = self.wait(until);
            self.timers.unparked();
            // After a wake-up for a deadline, the wheel may only have
            // cascaded (a far timer moved to a finer level) or the earliest
            // timer may have been cancelled: then block again.
            if self.fire_due() > 0 || unparked || limit.is_some_and(|l| Instant::now() >= l) {
                return;
            }
        }
    }

    fn unpark(&self) {
        // Release: see `wait`. Only the first unpark since the last wait
        // takes the lock and signals.
        if !self.notified.swap(true, Ordering::Release) {
            drop(self.lock.lock());
            self.cvar.notify_one();
        }
    }
}

/// The scheduler's view of the driver.
pub(crate) struct SchedDriver(pub(crate) Arc<TimeDriver>);

impl tasklane_sched::Driver for SchedDriver {
    fn park(&self, timeout: Option<Duration>) {
        self.0.park(timeout);
    }

    fn unpark(&self) {
        self.0.unpark();
    }

    fn wants_holder(&self) -> bool {
        self.0.timers.may_have_pending()
    }
}
