//! Parking a worker: on its own condition variable, or, for the one worker
//! that holds it, inside the [`Driver`] (timers and I/O wait there).
//!
//! # Parker states
//!
//! `EMPTY` → `PARKED_CONDVAR` / `PARKED_DRIVER` (set by the parking thread
//! itself) → back to `EMPTY` when it returns. `unpark` swaps in `NOTIFIED`
//! and wakes whichever way the thread sleeps; a park that finds `NOTIFIED`
//! consumes it and returns at once, so an unpark that comes before the park
//! is never lost.
//!
//! # Yielding first
//!
//! A park may offer the core once (`sched_yield`) before it sleeps, then
//! look for the token again. The worker is already counted parked
//! (`idle.rs`), so work that comes during the yield is announced as to
//! any sleeper; if the notifier picks this worker, its swap to `NOTIFIED`
//! finds the state `EMPTY` (no system call on either side) and the park
//! returns at once. During the yield the state is still `EMPTY`, so the
//! monitor sees the worker awake; a yield that outlasts a monitor tick
//! can make it look stuck, which costs at most a needless wake-up of a
//! sleeper (`monitor.rs`).
//!
//! A multi-thread worker asks for the yield when its previous park ended
//! on the driver's own account (readiness or a timer, not an unpark):
//! its work is coming from outside the process, from a peer that may be
//! waiting for this very core (a client on the same machine, where
//! threads outnumber cores). Yielding lets that peer run first, and the
//! next wait then finds its events without sleeping: the sleep and the
//! wake-up it saves cost a context switch each way and a cross-core
//! interrupt. Work handed over by this process's own threads is left
//! alone: a thread that gives the runtime work and blocks for each answer
//! was measured to lose from the yield, which kept the worker on that
//! thread's core. Where the core is free the yield returns at once, one
//! system call. The measurements are in `docs/benchmarks.md` ("Yielding
//! before parking").

use crate::panic::abort_on_unwind;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{Condvar, Mutex};
use std::fmt;
use std::time::{Duration, Instant};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// What an idle worker blocks in: the facade fills it with the timer wheel
/// and the I/O reactor. The scheduler knows nothing more of them.
///
/// Only one worker at a time is inside `park`; the others sleep on their own
/// condition variables.
///
/// No method may unwind: a panic escaping one aborts the process (it would
/// leave a worker counted as awake that is not, or the reverse).
pub trait Driver: Send + Sync + 'static {
    /// Waits for events (firing their wakers) for at most `timeout`, or until
    /// [`unpark`](Driver::unpark); `None` waits without limit and
    /// `Some(Duration::ZERO)` only collects what is ready. May return early,
    /// and must return once it has fired a waker: a task woken on the
    /// parked worker's own thread does not `unpark` it (that thread is
    /// awake), it only expects the park to end.
    fn park(&self, timeout: Option<Duration>);

    /// Makes a thread inside [`park`](Driver::park) return soon, or the next
    /// call to it return at once.
    fn unpark(&self);

    /// Whether the driver has work that only a thread parked in it will do
    /// in time: a registered timer, say. When the worker that held the
    /// driver leaves it to run tasks while this is true, it wakes a sleeping
    /// worker to take the driver over, so that a long poll on the first does
    /// not hold up every timer. May be a conservative `true`. The default
    /// is `false`.
    fn wants_holder(&self) -> bool {
        false
    }

    /// Called by every worker, on its own thread, whether or not it holds
    /// the driver: every few scheduler ticks, before it parks, and when it
    /// stops. For work the driver batches per thread and must not leave
    /// waiting while the thread is busy or asleep. The default does nothing.
    fn maintain(&self) {}

    /// Whether the driver wants an [`unpark`](Driver::unpark) whenever the
    /// scheduler may have become idle while another worker holds it: a
    /// paused clock, which advances only while every task is idle
    /// (`Handle::is_idle`), then asks the scheduler again. Read on every
    /// park that does not take the driver and at the end of every activity
    /// (a blocking job, or the facade's `block_on` poll), so it should be
    /// one relaxed load. The default is `false`.
    fn wants_idle_notice(&self) -> bool {
        false
    }
}

/// The runtime's single driver, and who is inside it.
pub(crate) struct DriverSlot {
    driver: Box<dyn Driver>,
    busy: AtomicBool,
}

impl DriverSlot {
    pub(crate) fn new(driver: Box<dyn Driver>) -> DriverSlot {
        DriverSlot {
            driver,
            busy: AtomicBool::new(false),
        }
    }

    /// Takes the driver if no other worker has it. Acquire: pairs with the
    /// Release in `release`, so the driver's state is handed over whole.
    fn try_acquire(&self) -> bool {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Release: see `try_acquire`.
    fn release(&self) {
        self.busy.store(false, Ordering::Release);
    }

    /// Whether nobody holds the driver (racy: a hint for the monitor).
    pub(crate) fn is_vacant(&self) -> bool {
        !self.busy.load(Ordering::Relaxed)
    }

    /// Whether nobody holds the driver while it has pending work
    /// ([`Driver::wants_holder`]). A racy hint: the caller wakes a worker.
    pub(crate) fn is_vacant_with_work(&self) -> bool {
        !self.busy.load(Ordering::Relaxed) && abort_on_unwind(|| self.driver.wants_holder())
    }

    /// The calling worker's [`Driver::maintain`].
    pub(crate) fn maintain(&self) {
        abort_on_unwind(|| self.driver.maintain());
    }

    /// Unparks the driver's holder if the driver asks to hear of idleness
    /// ([`Driver::wants_idle_notice`]) and `is_idle` says the scheduler is
    /// idle. Called by whoever may just have made it idle, after the count
    /// update that did (the protocol is `Handle::is_idle`'s).
    pub(crate) fn notice_idle(&self, is_idle: impl FnOnce() -> bool) {
        if abort_on_unwind(|| self.driver.wants_idle_notice()) && is_idle() {
            abort_on_unwind(|| self.driver.unpark());
        }
    }

    /// A busy worker collects ready events without blocking
    /// (`Driver::park(Some(ZERO))`), if no other worker holds the driver.
    pub(crate) fn poll_events(&self) {
        if self.try_acquire() {
            abort_on_unwind(|| self.driver.park(Some(Duration::ZERO)));
            self.release();
        }
    }
}

/// One worker's parking spot.
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Blocks until `unpark` (or, inside the driver, until an event: the
    /// driver computes its own timeout from its nearest deadline), or until
    /// `deadline` if one is given (the current-thread scheduler's shutdown
    /// waits out its grace this way; workers pass `None`). `on_condvar` runs
    /// when the thread is about to sleep on its condition variable because
    /// another holds the driver (for the idle notice, `DriverSlot::notice_idle`).
    /// With `yield_first`, the thread yields its core once before it
    /// sleeps (module docs). Returns whether the park ended on the
    /// driver's own account (an event or its timeout) rather than by an
    /// unpark.
    pub(crate) fn park(
        &self,
        driver: Option<&DriverSlot>,
        deadline: Option<Instant>,
        yield_first: bool,
        on_condvar: impl FnOnce(&DriverSlot),
    ) -> bool {
        if self.take_token() {
            return false;
        }
        if yield_first {
            crate::sync::yield_thread();
            if self.take_token() {
                return false;
            }
        }
        match driver {
            Some(d) if d.try_acquire() => {
                let by_driver = self.park_driver(d, deadline);
                d.release();
                by_driver
            }
            Some(d) => {
                on_condvar(d);
                self.park_condvar(deadline);
                false
            }
            None => {
                self.park_condvar(deadline);
                false
            }
        }
    }

    /// Consumes an unpark that came before the sleep, if there is one.
    fn take_token(&self) -> bool {
        // SeqCst on every transition of this word: it is tiny, off the hot
        // path, and the unparker must see PARKED_* after our last queue check.
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Sleeps in the driver; returns whether it woke without an unpark.
    fn park_driver(&self, d: &DriverSlot, deadline: Option<Instant>) -> bool {
        if let Err(actual) =
            self.state
                .compare_exchange(EMPTY, PARKED_DRIVER, Ordering::SeqCst, Ordering::SeqCst)
        {
            debug_assert_eq!(actual, NOTIFIED);
            self.state.store(EMPTY, Ordering::SeqCst);
            return false;
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        abort_on_unwind(|| d.driver.park(timeout));
        // Whether we were unparked or the driver returned for an event, the
        // token (if any) is consumed here.
        self.state.swap(EMPTY, Ordering::SeqCst) == PARKED_DRIVER
    }

    fn park_condvar(&self, deadline: Option<Instant>) {
        let mut guard = self.lock.lock();
        if let Err(actual) =
            self.state
                .compare_exchange(EMPTY, PARKED_CONDVAR, Ordering::SeqCst, Ordering::SeqCst)
        {
            debug_assert_eq!(actual, NOTIFIED);
            self.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        loop {
            guard = match deadline {
                None => self.cvar.wait(guard),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        // Timed out: take back our PARKED_CONDVAR (or the
                        // token an unpark put there meanwhile).
                        self.state.store(EMPTY, Ordering::SeqCst);
                        return;
                    }
                    self.cvar.wait_timeout(guard, d - now)
                }
            };
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
            // A spurious wake-up: wait again.
        }
    }

    /// Whether the thread is asleep here (racy: a hint for the monitor).
    pub(crate) fn is_parked(&self) -> bool {
        matches!(
            self.state.load(Ordering::Relaxed),
            PARKED_CONDVAR | PARKED_DRIVER
        )
    }

    /// [`unpark`](Self::unpark) called by the parker's own thread: from
    /// inside its driver's `park` (a wake made while dispatching), or just
    /// before it parks. Leaves the token, which the end of that park (or
    /// the next park) consumes, and wakes nothing: the thread is awake.
    pub(crate) fn notify_own(&self) {
        let prev = self.state.swap(NOTIFIED, Ordering::SeqCst);
        debug_assert_ne!(prev, PARKED_CONDVAR, "a thread asleep cannot notify itself");
    }

    /// Wakes the parked thread, or makes its next park return at once.
    pub(crate) fn unpark(&self, driver: Option<&DriverSlot>) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders us after the parker's wait began,
                // so the notification cannot fall between its check and wait.
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            PARKED_DRIVER => {
                if let Some(d) = driver {
                    abort_on_unwind(|| d.driver.unpark());
                }
            }
            other => unreachable!("parker state {other}"),
        }
    }
}

impl fmt::Debug for Parker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parker")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish()
    }
}
