//! The monitor: a thread that takes work back from a worker stuck in a
//! poll, and sleeps while the runtime is idle.
//!
//! A task that blocks its worker (a blocking call in async code, a long
//! computation without an await) would otherwise strand what that worker
//! had promised to do after the poll: the task in its LIFO slot, which no
//! other worker can steal, and the I/O readiness that only a worker parked
//! in the driver collects when the worker that left the driver to run the
//! task is the stuck one. (Its local queue is stealable, but not every push
//! there wakes a sleeper: a LIFO task sent on to the queue and a task woken
//! during maintenance do not. The monitor's wake of a sleeper for the queue
//! covers them.) Go's
//! runtime has such a monitor (`sysmon`, which retakes a processor stuck in
//! a system call); tokio has none.
//!
//! # What it does
//!
//! Every [`TICK`], the monitor looks at each worker's published poll and
//! park counts (`metrics.rs`: the poll count is published every
//! `MAINTENANCE_INTERVAL` ticks and at every park) and at whether it is
//! parked. A worker that was awake at the previous look, is awake now, and
//! has published nothing since is **stuck**: it has been inside one poll
//! (or a run of slow polls) for at least one tick. For each stuck worker
//! it:
//!
//! 1. steals the task in its LIFO slot (`lifo.rs`) and schedules it from
//!    outside the workers (the injector, then a wake of a sleeper);
//! 2. else, if its local queue holds tasks, wakes a sleeper, which steals
//!    them;
//! 3. and if nobody holds the driver, wakes a sleeper, which finds no work
//!    and parks in the driver, collecting timers and readiness.
//!
//! So work queued behind a stuck worker starts on a free worker within two
//! ticks of the start of the stuck poll, plus the time the system takes to
//! wake a thread. A false "stuck" (a worker running slow polls that have
//! not reached a publication) costs at most one task moved to another
//! worker and one wake-up per tick: never a wrong result.
//!
//! The monitor costs the workers nothing per poll: it reads counters they
//! publish anyway. A worker's extra work is a fence and a load of the
//! monitor's state each time it returns from parking, and the stealable
//! LIFO slot's one swap per task taken from it (`lifo.rs`).
//!
//! # Sleeping (no wake-ups of an idle runtime)
//!
//! After [`QUIET_LOOKS`] looks in a row with every worker parked and
//! nothing published, the monitor sleeps until a worker wakes up. `state`
//! is `AWAKE`, `SLEEPY` (deciding), `ASLEEP` or `STOPPED` (final):
//!
//! 1. the monitor moves `AWAKE` to `SLEEPY` (a CAS, which fails once
//!    stopped), then reads the idle counts (`idle.rs`); if a worker is
//!    unparked it goes back to `AWAKE` and keeps watching;
//! 2. otherwise, under its lock, it moves `SLEEPY` to `ASLEEP` (a CAS that
//!    fails if a worker woke it meanwhile) and waits on its condition
//!    variable while the state is `ASLEEP`.
//!
//! A worker returning from parking is counted unparked (a SeqCst
//! read-modify-write of the idle counts, by itself or by the notifier that
//! woke it, before it runs anything), then, after a SeqCst fence, reads
//! `state`; if it is `SLEEPY` or `ASLEEP`, it puts `AWAKE` back (a CAS)
//! and, if it replaced `ASLEEP`, notifies the condition variable under the
//! lock. The monitor's step 1 is a CAS from `AWAKE` to `SLEEPY`, then a
//! SeqCst fence, then its read of the counts: either that read sees the
//! worker awake, or the worker's read of `state` sees `SLEEPY` or `ASLEEP`
//! and wakes it (Dekker, as in `idle.rs`). The lock orders the
//! notification after the monitor's wait began. The loom model
//! `sched_monitor_sleep` checks that a worker never runs a task while the
//! monitor sleeps.
//!
//! # Shutdown
//!
//! `Scheduler::shutdown` sets the shutdown flag, then [`Monitor::stop`]:
//! the final state `STOPPED` (which the CASes above never replace), then a
//! notification under the lock. The monitor reads the state under the same
//! lock before each wait, so it cannot miss the stop, and ends; shutdown
//! joins it before it stops the workers.

use super::Shared;
use crate::sync::atomic::{AtomicUsize, Ordering, fence};
use crate::sync::{Condvar, Mutex};
use std::time::Duration;

/// How often an awake monitor looks at the workers. A worker stuck in a
/// poll is noticed within two ticks.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// Looks in a row that find the runtime idle before the monitor sleeps.
/// Above one, so that a runtime between two bursts of short work (a
/// request every few hundred microseconds) does not cost a monitor wake-up
/// per burst.
pub(crate) const QUIET_LOOKS: u32 = 3;

const AWAKE: usize = 0;
const SLEEPY: usize = 1;
const ASLEEP: usize = 2;
/// Final: set by [`Monitor::stop`], never left.
const STOPPED: usize = 3;

/// The monitor's sleep state, shared with the workers that wake it.
#[derive(Debug)]
pub(crate) struct Monitor {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Monitor {
    pub(crate) fn new() -> Monitor {
        Monitor {
            state: AtomicUsize::new(AWAKE),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// A worker returned from parking (and is counted unparked): wakes the
    /// monitor if it sleeps or is about to. A fence and a load when it is
    /// awake.
    #[inline]
    pub(crate) fn worker_awake(&self) {
        // The worker half of the Dekker pair (module docs): the count
        // update that made us unparked, then this load.
        fence(Ordering::SeqCst);
        let s = self.state.load(Ordering::SeqCst);
        if s == SLEEPY || s == ASLEEP {
            self.wake(s);
        }
    }

    #[cold]
    fn wake(&self, mut s: usize) {
        // CAS, not a swap: `STOPPED` is never overwritten.
        while s == SLEEPY || s == ASLEEP {
            // SeqCst: see `worker_awake`.
            match self
                .state
                .compare_exchange(s, AWAKE, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    if s == ASLEEP {
                        // Taking the lock orders the notification after the
                        // monitor's wait began (it holds the lock from its
                        // CAS to its wait).
                        drop(self.lock.lock());
                        self.cvar.notify_all();
                    }
                    return;
                }
                Err(actual) => s = actual,
            }
        }
    }

    /// Sleeping, steps 1 and 2: sleeps until a worker wakes up, if every
    /// worker is parked. Returns whether it slept.
    pub(crate) fn sleep_if_idle(&self, shared: &Shared) -> bool {
        // SeqCst: the monitor half of the Dekker pair (module docs). Fails
        // once stopped.
        if self
            .state
            .compare_exchange(AWAKE, SLEEPY, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        fence(Ordering::SeqCst);
        if !shared.idle.all_parked() {
            // A failed CAS means a worker (or `stop`) changed it already.
            let _ = self
                .state
                .compare_exchange(SLEEPY, AWAKE, Ordering::SeqCst, Ordering::SeqCst);
            return false;
        }
        let mut guard = self.lock.lock();
        // SeqCst: as above. Fails if a worker (or `stop`) woke us already.
        if self
            .state
            .compare_exchange(SLEEPY, ASLEEP, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        while self.state.load(Ordering::SeqCst) == ASLEEP {
            guard = self.cvar.wait(guard);
        }
        true
    }

    /// Whether the monitor is asleep right now (for the loom model).
    pub(crate) fn is_asleep(&self) -> bool {
        self.state.load(Ordering::SeqCst) == ASLEEP
    }

    /// Waits one tick, or until [`stop`](Self::stop). Returns false once
    /// stopped.
    fn wait_tick(&self) -> bool {
        let guard = self.lock.lock();
        // Under the lock: `stop` changes the state before it takes the
        // lock to notify, so a stop is seen here or wakes the wait below.
        if self.state.load(Ordering::SeqCst) == STOPPED {
            return false;
        }
        drop(self.cvar.wait_timeout(guard, TICK));
        self.state.load(Ordering::SeqCst) != STOPPED
    }

    /// Ends the monitor: its current and later waits return.
    pub(crate) fn stop(&self) {
        // SeqCst: as in `wake`.
        self.state.swap(STOPPED, Ordering::SeqCst);
        drop(self.lock.lock());
        self.cvar.notify_all();
    }
}

/// What the monitor saw of one worker at its last look.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Seen {
    polls: u64,
    parks: u64,
    awake: bool,
}

/// The monitor thread's body.
pub(crate) fn run(shared: &Shared) {
    let Some(monitor) = &shared.monitor else {
        return;
    };
    let mut seen: Vec<Option<Seen>> = vec![None; shared.remotes.len()];
    let mut quiet = 0;
    while monitor.wait_tick() {
        if look(shared, &mut seen) {
            quiet = 0;
            continue;
        }
        quiet += 1;
        if quiet >= QUIET_LOOKS && monitor.sleep_if_idle(shared) {
            // Whatever was seen before the sleep says nothing about now.
            seen.fill(None);
            quiet = 0;
        }
    }
}

/// One look at every worker (module docs, "What it does"); returns whether
/// any worker was awake or had published anything since the last look.
fn look(shared: &Shared, seen: &mut [Option<Seen>]) -> bool {
    let mut active = false;
    let mut any_stuck = false;
    for (remote, last) in shared.remotes.iter().zip(seen.iter_mut()) {
        let (polls, parks) = remote.counters.published();
        let now = Seen {
            polls,
            parks,
            awake: !remote.parker.is_parked(),
        };
        let prev = last.replace(now);
        active |= now.awake || prev.is_some_and(|p| (p.polls, p.parks) != (polls, parks));
        let stuck = now.awake && prev == Some(now);
        if stuck {
            any_stuck = true;
            rescue(shared, remote);
        }
    }
    if any_stuck && shared.driver.as_ref().is_some_and(|d| d.is_vacant()) {
        // 3. Somebody must wait in the driver: wake a sleeper, which finds
        //    no work and parks there.
        shared.notify_parked();
    }
    active
}

/// Steps 1 and 2 for one stuck worker.
pub(super) fn rescue(shared: &Shared, remote: &super::Remote) {
    if let Some(task) = remote.lifo.steal() {
        remote.counters.rescue();
        // From this thread, which is no worker: the injector, then a wake.
        shared.schedule(task, false);
    } else if !remote.stealer.is_empty() {
        shared.notify_parked();
    }
}
