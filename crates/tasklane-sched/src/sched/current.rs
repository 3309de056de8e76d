//! The current-thread scheduler: the one worker's loop runs on the thread
//! inside `block_on`, not on a thread of its own.
//!
//! It is the multi-thread scheduler with one worker and no worker thread:
//! the same task core, LIFO slot, local queue, injector, registry, driver
//! and shutdown steps. What differs is who runs the loop, and when.
//!
//! The deterministic scheduler (`sim.rs`) shares everything here but the
//! loop: its slot holds the cores of all its simulated workers, and a run
//! steps them in the order its generator draws instead of running
//! `worker::Context::run_loop`.
//!
//! # The core and the root
//!
//! The worker's queues and counters ([`Core`]) sit in [`CoreSlot`] between
//! runs. `block_on` takes the core, makes the calling thread the worker
//! (tasks it wakes and spawns go to its LIFO slot and queue, as on a worker
//! thread), and alternates: poll the *root* (the future `block_on` drives),
//! then run tasks until the root's waker fires; park when there is nothing
//! to run. When the root is ready it puts the core back. Between runs no
//! task runs: what is woken waits in the queues and the injector for the
//! next `block_on` (or shutdown), as in tokio's current-thread runtime.
//!
//! # Waking the root (no lost wake-up)
//!
//! The root's waker ([`RootWaker`]) is one more notifier of the protocol in
//! `idle.rs`: it sets `woken` (`SeqCst`), then calls `notify_parked`, which
//! fences and reads the idle counts. The worker, going to sleep, updates the
//! counts, fences and reads `woken` as it reads the queues. One of the two
//! sees the other: either the waker unparks the parker, or the worker does
//! not sleep. Between runs the worker is counted parked, so a wake (of the
//! root or of a task) leaves a token in its parker and the next run's first
//! park returns at once.
//!
//! # Two threads in `block_on`
//!
//! Only one thread holds the core. Another thread's `block_on` registers in
//! `waiting`, tries to take the core, and otherwise polls its own root when
//! its waker fires and sleeps in `thread::park` (its waker then unparks the
//! thread too: `waiting_without_core` and `woken` are a `SeqCst` pair).
//! Putting the core back unparks every waiting thread, which then tries
//! again: registering before trying means a core put back in between is
//! never missed.
//!
//! # Shutdown
//!
//! The same steps as the multi-thread scheduler's (`worker.rs`), with the
//! shutting-down thread as the worker: it cancels every task, runs the loop
//! with the registry's emptying as its root and the grace as its deadline,
//! closes the registry and aborts what is left, then drains its queues and
//! the injector.

use super::worker::{Context, Core, Exit, Root};
use super::{Shared, StdArc};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{Arc, Mutex, thread};
use std::task::{Poll, Wake, Waker};
use std::time::Instant;

/// Where the current-thread worker's core (or the deterministic
/// scheduler's simulated workers' cores, `sim.rs`) waits between runs.
pub(crate) struct CoreSlot {
    cores: Mutex<Option<Vec<Core>>>,
    /// Threads in `block_on` waiting for the core.
    waiting: Mutex<Vec<thread::Thread>>,
}

impl CoreSlot {
    pub(super) fn new(cores: Vec<Core>) -> CoreSlot {
        CoreSlot {
            cores: Mutex::new(Some(cores)),
            waiting: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Option<Vec<Core>> {
        self.cores.lock().take()
    }

    /// Puts the cores back and wakes every thread waiting for them.
    pub(super) fn put(&self, cores: Vec<Core>) {
        *self.cores.lock() = Some(cores);
        for t in std::mem::take(&mut *self.waiting.lock()) {
            t.unpark();
        }
    }
}

/// The waker of a current-thread `block_on`'s future.
pub(crate) struct RootWaker {
    pub(super) woken: AtomicBool,
    /// The `block_on` thread waits in `thread::park`, without the core; a
    /// wake must unpark it (and only then: the thread that holds the core
    /// sleeps in its parker, which `notify_parked` reaches).
    waiting_without_core: AtomicBool,
    /// The `block_on` thread.
    thread: thread::Thread,
    shared: Arc<Shared>,
}

impl RootWaker {
    fn new(shared: &Arc<Shared>) -> RootWaker {
        RootWaker {
            // The first poll needs no wake.
            woken: AtomicBool::new(true),
            waiting_without_core: AtomicBool::new(false),
            thread: thread::current(),
            shared: shared.clone(),
        }
    }
}

impl Wake for RootWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        // SeqCst: the notifier half of the pair in the module docs, and of
        // the pair with a thread waiting without the core (`block_on`).
        if !self.woken.swap(true, Ordering::SeqCst) {
            self.shared.notify_parked();
            if self.waiting_without_core.load(Ordering::SeqCst) {
                self.thread.unpark();
            }
        }
    }
}

/// Drives `poll_root` to completion on the calling thread, running the
/// scheduler's tasks meanwhile (module docs).
pub(super) fn block_on<T>(
    shared: &Arc<Shared>,
    mut poll_root: impl FnMut(&mut std::task::Context<'_>) -> Poll<T>,
) -> T {
    let slot = shared.core.as_ref().expect("a current-thread scheduler");
    let root = StdArc::new(RootWaker::new(shared));
    let waker = Waker::from(root.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    let me = thread::current();
    loop {
        {
            let mut waiting = slot.waiting.lock();
            if !waiting.iter().any(|t| t.id() == me.id()) {
                waiting.push(me.clone());
            }
        }
        if let Some(cores) = slot.take() {
            return run_with_core(shared, slot, cores, &root.woken, None, &mut || {
                poll_root(&mut cx)
            })
            .expect("no deadline");
        }
        if root.woken.swap(false, Ordering::Acquire)
            && let Poll::Ready(v) = poll_root(&mut cx)
        {
            return v;
        }
        // SeqCst pair with the waker: it sets `woken`, then reads this flag;
        // we set this flag, then read `woken`. One sees the other.
        root.waiting_without_core.store(true, Ordering::SeqCst);
        if !root.woken.load(Ordering::SeqCst) {
            thread::park();
        }
        root.waiting_without_core.store(false, Ordering::SeqCst);
    }
}

/// Runs the worker loop on this thread with `core`, polling the root each
/// time it is woken, until it is ready (`Some`) or `deadline` passes
/// (`None`). The core goes back to `slot` however this ends, unwinding
/// out of the root's poll included.
fn run_with_core<T>(
    shared: &Arc<Shared>,
    slot: &CoreSlot,
    cores: Vec<Core>,
    woken: &AtomicBool,
    deadline: Option<Instant>,
    poll_root: &mut dyn FnMut() -> Poll<T>,
) -> Option<T> {
    if shared.sim.is_some() {
        return super::sim::run(shared, slot, cores, woken, deadline, poll_root);
    }
    let core = cores.into_iter().next().expect("one worker");
    /// Gives the core back when the run ends or unwinds.
    struct Return<'a> {
        cx: Option<Context>,
        slot: &'a CoreSlot,
    }
    impl Drop for Return<'_> {
        fn drop(&mut self) {
            if let Some(cx) = self.cx.take() {
                cx.park_between_runs();
                self.slot.put(vec![cx.into_core()]);
            }
        }
    }
    let ret = Return {
        cx: Some(Context::new(shared.clone(), 0, core)),
        slot,
    };
    let cx = ret.cx.as_ref().expect("set above");
    let current = cx.make_current();
    cx.unpark_for_run();
    let root = Root { woken, deadline };
    let out = loop {
        if woken.swap(false, Ordering::Acquire)
            && let Poll::Ready(v) = cx.poll_root(&mut *poll_root)
        {
            break Some(v);
        }
        match cx.run_loop(Some(&root)) {
            Exit::Woken => {
                // `run_loop` consumed the wake: poll the root.
                woken.store(true, Ordering::Relaxed);
            }
            Exit::Deadline => break None,
            Exit::Shutdown => unreachable!("shutdown needs the core, which this run holds"),
        }
    };
    cx.leave();
    drop(current);
    drop(ret);
    out
}

/// The current-thread half of `Scheduler::shutdown`, steps 2 and 5–6 (the
/// multi-thread ones are in `worker.rs`): waits, running the tasks on this
/// thread, until the registry is empty or `deadline`.
pub(super) fn wait_empty(shared: &Arc<Shared>, deadline: Option<Instant>) {
    let slot = shared.core.as_ref().expect("a current-thread scheduler");
    let cores = slot
        .take()
        .expect("shutdown runs when no block_on holds the core");
    let root = StdArc::new(RootWaker::new(shared));
    shared
        .registry
        .set_removal_waker(Some(Waker::from(root.clone())));
    let _ = run_with_core(shared, slot, cores, &root.woken, deadline, &mut || {
        if shared.registry.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    });
    shared.registry.set_removal_waker(None);
}

/// After the shutdown flag is set: aborts every task still queued, on this
/// thread.
pub(super) fn abort_queued(shared: &Arc<Shared>) {
    let slot = shared.core.as_ref().expect("a current-thread scheduler");
    let Some(cores) = slot.take() else { return };
    let mut back = Vec::with_capacity(cores.len());
    for (index, core) in cores.into_iter().enumerate() {
        let cx = Context::new(shared.clone(), index, core);
        let current = cx.make_current();
        cx.leave();
        drop(current);
        cx.abort_queued();
        back.push(cx.into_core());
    }
    shared.drain_injector();
    slot.put(back);
}
