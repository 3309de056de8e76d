//! The deterministic scheduler: `worker_threads` simulated workers, run one
//! step at a time by the thread inside `block_on`, every choice between
//! them drawn from a generator seeded by the runtime's seed.
//!
//! # What is simulated, and what is real
//!
//! Each simulated worker is a real [`Context`]: its LIFO slot, its local
//! queue, its tick count with the looks at the injector and the driver,
//! its steals (victims drawn from its own generator, seeded from the
//! seed). A step makes the chosen worker the thread's current worker
//! (`enter_step`), so a task it polls spawns and wakes into that worker's
//! queues, exactly as on a worker thread; then it takes the task that
//! worker would take next (its own, the injector's, or stolen) and polls
//! it once.
//!
//! # The choice at each step
//!
//! The candidates are the workers that could take a task now (one of
//! their own, or the injector's, or one they could steal: a task in
//! another worker's local queue; a task in another's LIFO slot is that
//! worker's alone) and, if it was woken, the root (the `block_on`
//! future), polled as one of the workers drawn at random. One candidate is
//! drawn uniformly with the scheduler's generator (SplitMix64). The chosen
//! worker takes the injector's first task one time in four when there is
//! one (else the task its own loop would take), and after the poll the task
//! its last wake put in the LIFO slot stays there or goes to the back of
//! the queue, at a draw. Which worker runs, which queue is
//! popped, who steals from whom and the order woken tasks run in follow
//! from the draws; a schedule is a function of the seed and the program's
//! own behaviour.
//!
//! # Idle
//!
//! With no candidate, the simulation sleeps as one worker, worker 0, with
//! the real parking protocol (`idle.rs`: the scheduler's idle counts know
//! one worker): in the driver, until a timer fires, I/O is ready, a thread
//! outside wakes a task or the root, or the deadline (shutdown's grace)
//! passes. Wakes from other threads (the blocking pool, sockets, threads
//! the program starts) arrive when they arrive: the schedule is then only
//! as deterministic as they are. Timers fire in deadline order at the
//! looks at the driver, which the steps make at fixed ticks; with the
//! clock paused, time moves only while the simulation is idle.
//!
//! # The digest
//!
//! Every poll (of a task or of the root, which counts as task 0) is folded
//! into a 64-bit hash, each task named by the order of its first poll: task
//! ids are process-wide, so two runs in one process number the same tasks
//! differently, while first-poll order is part of the schedule itself.

use super::Shared;
use super::current::CoreSlot;
use super::worker::{Context, Core, Root};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{Arc, Mutex};
// A statistic read by `Handle::schedule_digest`, no protocol: a plain std
// atomic, as the other counters (ARCHITECTURE.md).
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::AtomicU64;
use std::task::Poll;
use std::time::Instant;

/// The seed's generator and the schedule's digest.
pub(crate) struct Sim {
    seed: u64,
    /// What a run needs between runs (taken by the run, put back after).
    state: Mutex<Option<State>>,
    /// The digest as of the last step, for `Handle::schedule_digest`.
    digest: AtomicU64,
}

struct State {
    rng: SplitMix64,
    /// Task id to the order of its first poll (from 1; the root is 0).
    /// Entries of tasks that ended are swept out now and then (`sweep`).
    names: HashMap<u64, u64, BuildHasherDefault<IdHasher>>,
    /// The name the next task polled for the first time gets.
    next_name: u64,
    /// The size of `names` at which to sweep it next: twice what the last
    /// sweep left (at least 1024), so sweeping costs O(1) per poll.
    sweep_at: usize,
    digest: u64,
}

impl Sim {
    pub(super) fn new(seed: u64) -> Sim {
        Sim {
            seed,
            state: Mutex::new(Some(State {
                rng: SplitMix64(seed),
                names: HashMap::default(),
                next_name: 1,
                sweep_at: 1024,
                digest: DIGEST_START,
            })),
            digest: AtomicU64::new(DIGEST_START),
        }
    }

    pub(super) fn seed(&self) -> u64 {
        self.seed
    }

    pub(super) fn digest(&self) -> u64 {
        self.digest.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The seed of simulated worker `index`'s steal-victim generator.
pub(super) fn worker_seed(seed: u64, index: usize) -> u32 {
    let mut g = SplitMix64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    g.next() as u32
}

/// The digest of an empty schedule (FNV-1a's offset basis).
const DIGEST_START: u64 = 0xCBF2_9CE4_8422_2325;

impl State {
    /// Folds a poll of the task first polled `name`-th into the digest.
    fn record(&mut self, name: u64) {
        // FNV-1a over the name's bytes, eight at a time.
        self.digest = (self.digest ^ name).wrapping_mul(0x0000_0100_0000_01B3);
    }

    fn name_of(&mut self, id: u64) -> u64 {
        let next = self.next_name;
        let name = *self.names.entry(id).or_insert(next);
        if name == next {
            self.next_name += 1;
        }
        name
    }

    /// Forgets the names of tasks that ended, once the map has doubled
    /// since the last sweep: an ended task is never polled again, so its name is never
    /// looked up again, and the names of live tasks stay as they are
    /// (when this runs does not change the digest).
    fn sweep(&mut self, shared: &Shared) {
        if self.names.len() < self.sweep_at {
            return;
        }
        let live: std::collections::HashSet<u64, BuildHasherDefault<IdHasher>> = shared
            .registry
            .snapshot()
            .iter()
            .map(|t| t.id().as_u64())
            .collect();
        self.names.retain(|id, _| live.contains(id));
        self.sweep_at = (2 * self.names.len()).max(1024);
    }
}

/// SplitMix64: small, fast, and every seed gives a different stream.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the bias of a 64-bit modulus by a small
    /// `n` is negligible).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Task ids are already well spread: the hasher passes them through.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The candidate that is the root, among worker indices.
const ROOT: usize = usize::MAX;

/// Runs the simulation on this thread with `cores` until `poll_root` is
/// ready (`Some`) or `deadline` passes (`None`); the root is polled when
/// `woken` is set and it is drawn. The cores, the generator and the digest
/// go back however this ends, unwinding included.
pub(super) fn run<T>(
    shared: &Arc<Shared>,
    slot: &CoreSlot,
    cores: Vec<Core>,
    woken: &AtomicBool,
    deadline: Option<Instant>,
    poll_root: &mut dyn FnMut() -> Poll<T>,
) -> Option<T> {
    let sim = shared.sim.as_ref().expect("a deterministic scheduler");
    /// Gives the cores and the state back when the run ends or unwinds.
    struct Return<'a> {
        cxs: Vec<Context>,
        state: Option<State>,
        sim: &'a Sim,
        slot: &'a CoreSlot,
    }
    impl Drop for Return<'_> {
        fn drop(&mut self) {
            if let Some(cx) = self.cxs.first() {
                cx.park_between_runs();
            }
            *self.sim.state.lock() = self.state.take();
            self.slot
                .put(self.cxs.drain(..).map(Context::into_core).collect());
        }
    }
    let state = sim
        .state
        .lock()
        .take()
        .expect("one run at a time: the cores are taken with the state");
    let mut ret = Return {
        cxs: cores
            .into_iter()
            .enumerate()
            .map(|(i, core)| Context::new(shared.clone(), i, core))
            .collect(),
        state: Some(state),
        sim,
        slot,
    };
    ret.cxs[0].unpark_for_run();
    let root = Root { woken, deadline };
    let mut candidates = Vec::with_capacity(ret.cxs.len() + 1);
    let out = loop {
        candidates.clear();
        let injector = !shared.injector.is_empty();
        let queued = ret.cxs.iter().filter(|cx| cx.has_queued_work()).count();
        for (i, cx) in ret.cxs.iter().enumerate() {
            let stealable = queued - usize::from(cx.has_queued_work());
            if cx.has_local_work() || injector || stealable > 0 {
                candidates.push(i);
            }
        }
        if woken.load(Ordering::Relaxed) {
            candidates.push(ROOT);
        }
        let state = ret.state.as_mut().expect("held by the run");
        if candidates.is_empty() {
            // Idle: sleep as worker 0 until a wake, an event or the
            // deadline (the module docs).
            let cx = &ret.cxs[0];
            let current = cx.enter_step();
            cx.park(Some(&root));
            drop(current);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break None;
            }
            continue;
        }
        let pick = candidates[state.rng.below(candidates.len())];
        if pick == ROOT {
            // Acquire: what the waker published before its wake is seen by
            // the poll (only this thread clears the flag: it is still set).
            woken.swap(false, Ordering::Acquire);
            let w = state.rng.below(ret.cxs.len());
            state.record(0);
            sim.digest
                .store(state.digest, std::sync::atomic::Ordering::Relaxed);
            let cx = &ret.cxs[w];
            let current = cx.enter_step();
            let polled = cx.poll_root(&mut *poll_root);
            drop(current);
            if let Poll::Ready(v) = polled {
                break Some(v);
            }
        } else {
            let cx = &ret.cxs[pick];
            let current = cx.enter_step();
            // Which queue is popped: now and then the injector first, as a
            // worker thread does at its maintenance ticks and after a yield.
            let first = if injector && state.rng.below(4) == 0 {
                cx.steal_from_injector()
            } else {
                None
            };
            if let Some(task) = first.or_else(|| cx.next_or_steal()) {
                let name = state.name_of(task.id().as_u64());
                state.sweep(shared);
                state.record(name);
                sim.digest
                    .store(state.digest, std::sync::atomic::Ordering::Relaxed);
                cx.run_simulated(task);
            }
            // Where the last wake of that poll goes: the LIFO slot, or (half
            // the time) the back of the queue. Drawn here, after the poll,
            // so that the workers' own wake path pays nothing for it.
            if state.rng.below(2) == 0 {
                cx.demote_lifo();
            }
            drop(current);
        }
    };
    for cx in &ret.cxs {
        let current = cx.enter_step();
        cx.leave();
        drop(current);
    }
    drop(ret);
    out
}
