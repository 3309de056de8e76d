//! Parallel requests with `gather`: asyncio's
//! `await asyncio.gather(cpu_task, mem_task)`.
//!
//! Mirrors the asyncio originals' dashboard backend (`fetch_cpu` / `fetch_memory`)
//! and `fetch_data("API", 2), fetch_data("Database", 3), fetch_data("Cache",
//! 1)`, with seconds scaled down to hundreds of milliseconds:
//!
//! 1. two `JoinHandle`s from `create_task` (`tasklane::spawn`) gathered:
//!    the results come back in input order, and the whole takes about as
//!    long as the slowest request, not the sum of them;
//! 2. plain futures gathered (each runs as its own task): results in input
//!    order even though they finish in another order;
//! 3. `return_exceptions=True`: gathering `JoinHandle`s gives
//!    `Result<T, JoinError>` per task, so one task panicking is a value in
//!    its slot while the others' results are kept.
//!
//! Run it with `cargo run --example gather`.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::time::{Instant, sleep};

async fn fetch_cpu() -> String {
    sleep(Duration::from_millis(300)).await;
    "CPU usage: 55%".to_owned()
}

async fn fetch_memory() -> String {
    sleep(Duration::from_millis(150)).await;
    "Memory usage: 70%".to_owned()
}

/// `fetch_data(source, delay)`, noting the order in which sources finish.
async fn fetch_data(
    source: &'static str,
    delay_ms: u64,
    finished: Arc<Mutex<Vec<String>>>,
) -> String {
    println!("    Fetching from {source}...");
    sleep(Duration::from_millis(delay_ms)).await;
    finished.lock().unwrap().push(source.to_owned());
    format!("some data from {source}")
}

/// The asyncio original's `worker(2)`: fails after its delay.
async fn failing_worker(delay_ms: u64) -> String {
    sleep(Duration::from_millis(delay_ms)).await;
    panic!("Something went wrong in worker 2");
}

#[tasklane::main]
async fn main() {
    // One line per panic instead of the default report.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload_as_str().unwrap_or("(non-string payload)");
        println!("    [panic hook] a task panicked: {msg}");
    }));

    println!("1. gather(cpu_task, mem_task)");
    let start = Instant::now();
    let cpu_task = tasklane::spawn(fetch_cpu());
    let mem_task = tasklane::spawn(fetch_memory());
    let results: Vec<String> = tasklane::gather([cpu_task, mem_task])
        .await
        .into_iter()
        .map(|r| r.expect("request succeeds"))
        .collect();
    let took = start.elapsed();
    println!("    {results:?}");
    println!("    took {took:?} (slowest 300ms, sum 450ms)");
    assert_eq!(results, ["CPU usage: 55%", "Memory usage: 70%"]);
    assert!(
        took >= Duration::from_millis(300),
        "cannot beat the slowest"
    );
    assert!(
        took < Duration::from_millis(450),
        "ran in parallel, not one after the other"
    );

    println!(
        "\n2. gather(fetch_data(API, 200), fetch_data(Database, 300), fetch_data(Cache, 100))"
    );
    let finished = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let results = tasklane::gather([
        fetch_data("API", 200, finished.clone()),
        fetch_data("Database", 300, finished.clone()),
        fetch_data("Cache", 100, finished.clone()),
    ])
    .await;
    let took = start.elapsed();
    let finished = finished.lock().unwrap().clone();
    println!("    finished in order {finished:?}");
    println!("    results (input order): {results:?}");
    println!("    took {took:?} (slowest 300ms, sum 600ms)");
    assert_eq!(finished, ["Cache", "API", "Database"]);
    assert_eq!(
        results,
        [
            "some data from API",
            "some data from Database",
            "some data from Cache"
        ]
    );
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(600));

    println!("\n3. gather(API, worker(2), Cache, return_exceptions=True)");
    let noted = Arc::new(Mutex::new(Vec::new()));
    let results = tasklane::gather([
        tasklane::spawn(fetch_data("API", 200, noted.clone())),
        tasklane::spawn(failing_worker(100)),
        tasklane::spawn(fetch_data("Cache", 100, noted.clone())),
    ])
    .await;
    for (source, r) in ["API", "worker(2)", "Cache"].iter().zip(&results) {
        match r {
            Ok(v) => println!("    {source}: Ok({v:?})"),
            Err(e) => println!("    {source}: Err({e}); is_panic() = {}", e.is_panic()),
        }
    }
    assert_eq!(results[0].as_deref().ok(), Some("some data from API"));
    assert!(results[1].as_ref().is_err_and(|e| e.is_panic()));
    assert_eq!(results[2].as_deref().ok(), Some("some data from Cache"));
    println!("\ngather: results in input order, in parallel, failures as values");
}
