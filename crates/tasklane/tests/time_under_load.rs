//! A timer fires on time while every worker is busy with long polls: busy
//! workers look at the timers whenever the coarse clock has ticked, not
//! only every `MAINTENANCE_INTERVAL` polls (that many polls of 3 ms would
//! make a sleep late by about 180 ms).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tasklane::metrics::MAINTENANCE_INTERVAL;

/// How long each cruncher's polls last.
const SLICE: Duration = Duration::from_millis(3);

/// Busy work that yields every `slice`, until `stop`.
async fn crunch(slice: Duration, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        while t.elapsed() < slice {
            std::hint::spin_loop();
        }
        tasklane::yield_now().await;
    }
}

#[tasklane::test(worker_threads = 2)]
async fn a_sleep_ends_on_time_while_every_worker_runs_long_polls() {
    let stop = Arc::new(AtomicBool::new(false));
    // Four crunchers keep both workers busy with 3 ms polls.
    let crunchers: Vec<_> = (0..4)
        .map(|_| tasklane::spawn(crunch(SLICE, stop.clone())))
        .collect();
    let sleeper = tasklane::spawn(async {
        let mut late = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            tasklane::time::sleep(Duration::from_millis(20)).await;
            late.push(start.elapsed().saturating_sub(Duration::from_millis(20)));
        }
        late
    });
    let late = sleeper.await.unwrap();
    println!("lateness of 20 ms sleeps under load: {late:?}");
    stop.store(true, Ordering::Relaxed);
    for c in crunchers {
        c.await.unwrap();
    }
    let mut sorted = late.clone();
    sorted.sort();
    // Looking at the timers only every MAINTENANCE_INTERVAL polls, a sleep
    // would be late by up to that many polls of SLICE. Looking whenever the
    // coarse clock ticked, it is late by about a tick (a few ms) plus the
    // poll under way plus the sleeper's own turn in a queue of such polls:
    // a small fraction of that. The median keeps one slow round on a loaded
    // machine from failing the test.
    let interval_rule = SLICE * MAINTENANCE_INTERVAL;
    assert!(
        sorted[2] < interval_rule / 4,
        "median lateness {:?} not well below {interval_rule:?} (all: {late:?})",
        sorted[2]
    );
}
