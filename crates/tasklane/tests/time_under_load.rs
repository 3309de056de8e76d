//! A timer fires on time while every worker is busy with long polls: busy
//! workers look at the timers whenever the coarse clock has ticked, not
//! only every 61 polls (61 polls of 3 ms would make a sleep 180 ms late).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
        .map(|_| tasklane::spawn(crunch(Duration::from_millis(3), stop.clone())))
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
    late.iter()
        .for_each(|l| assert!(*l < Duration::from_secs(5)));
    let mut sorted = late.clone();
    sorted.sort();
    // A coarse tick (4 ms here) plus the poll under way (3 ms) plus the
    // sleeper's own turn in a queue of 3 ms polls; 61 polls would be 180 ms.
    assert!(
        sorted[2] < Duration::from_millis(40),
        "median lateness {:?} (all: {late:?})",
        sorted[2]
    );
}
