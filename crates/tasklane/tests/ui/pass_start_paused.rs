//! `start_paused = true`: the clock starts paused, on either flavour, and
//! a sleep of an hour returns at once, an hour later.

use std::time::Duration;
use tasklane::time::{Instant, sleep};

fn main() {
    paused();
    paused_on_current_thread();
    not_paused();
}

#[tasklane::main(start_paused = true)]
async fn paused() {
    let start = Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

#[tasklane::main(flavor = "current_thread", start_paused = true)]
async fn paused_on_current_thread() {
    let start = Instant::now();
    sleep(Duration::from_secs(60)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tasklane::main(worker_threads = 1, start_paused = false)]
async fn not_paused() {
    let start = Instant::now();
    sleep(Duration::from_millis(1)).await;
    assert!(start.elapsed() >= Duration::from_millis(1));
}
