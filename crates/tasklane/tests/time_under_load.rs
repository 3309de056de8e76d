//! A timer fires on time while every worker is busy with long polls: busy
//! workers look at the timers whenever the coarse clock has ticked, not
//! only every `MAINTENANCE_INTERVAL` polls (that many polls of 3 ms would
//! make a sleep late by about 180 ms).
//!
//! Lateness is counted in the busy tasks' polls that end after the
//! sleeper's deadline and before it runs, not in wall time: a thread the
//! machine's other load holds off the core makes polls longer but not
//! more numerous, so the count depends on the runtime alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tasklane::metrics::MAINTENANCE_INTERVAL;

/// How long each cruncher's polls last.
const SLICE: Duration = Duration::from_millis(3);
/// How long the sleeper sleeps each round.
const NAP: Duration = Duration::from_millis(20);
/// Rounds of the sleeper; the median is judged.
const ROUNDS: usize = 9;

/// What the crunchers and the sleeper share.
struct Watch {
    /// Where time is counted from.
    base: Instant,
    /// The sleeper's deadline in ns since `base`; zero while it is not
    /// sleeping.
    deadline_ns: AtomicU64,
    /// Cruncher polls that ended past the deadline in this round.
    late_polls: AtomicU64,
    stop: AtomicBool,
}

impl Watch {
    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
}

/// Busy work that yields every `SLICE`, counting the polls that end while
/// the sleeper is overdue, until `stop`.
async fn crunch(w: Arc<Watch>) {
    while !w.stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        while t.elapsed() < SLICE {
            std::hint::spin_loop();
        }
        let d = w.deadline_ns.load(Ordering::SeqCst);
        if d != 0 && w.now_ns() > d {
            w.late_polls.fetch_add(1, Ordering::SeqCst);
        }
        tasklane::yield_now().await;
    }
}

#[tasklane::test(worker_threads = 2)]
async fn a_sleep_ends_on_time_while_every_worker_runs_long_polls() {
    let w = Arc::new(Watch {
        base: Instant::now(),
        deadline_ns: AtomicU64::new(0),
        late_polls: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    // Four crunchers keep both workers busy with 3 ms polls.
    let crunchers: Vec<_> = (0..4).map(|_| tasklane::spawn(crunch(w.clone()))).collect();
    let sleeper = tasklane::spawn({
        let w = w.clone();
        async move {
            let mut late = Vec::new();
            for _ in 0..ROUNDS {
                w.late_polls.store(0, Ordering::SeqCst);
                let sleep = tasklane::time::sleep(NAP);
                w.deadline_ns
                    .store(w.now_ns() + NAP.as_nanos() as u64, Ordering::SeqCst);
                sleep.await;
                w.deadline_ns.store(0, Ordering::SeqCst);
                late.push(w.late_polls.load(Ordering::SeqCst));
            }
            late
        }
    });
    let late = sleeper.await.unwrap();
    println!("busy polls past the deadline of {NAP:?} sleeps: {late:?}");
    w.stop.store(true, Ordering::Relaxed);
    for c in crunchers {
        c.await.unwrap();
    }
    let mut sorted = late.clone();
    sorted.sort();
    // Looking at the timers only every MAINTENANCE_INTERVAL polls, the
    // first of the two workers to look would do so after about a third of
    // that many polls, while the other ran as many again: a median count of
    // tens. Looking whenever the coarse clock ticked (every poll of SLICE
    // crosses a tick), a worker fires the timer after the poll under way
    // and the sleeper waits behind at most the polls queued before it.
    let bound = u64::from(MAINTENANCE_INTERVAL) / 4;
    assert!(
        sorted[ROUNDS / 2] < bound,
        "median {} busy polls past the deadline, not under {bound} (all: {late:?})",
        sorted[ROUNDS / 2]
    );
}
