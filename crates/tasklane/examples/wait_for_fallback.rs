//! Timeouts with `wait_for`: asyncio's
//! `try: await asyncio.wait_for(fetch(), timeout=5) except TimeoutError:`.
//!
//! Mirrors the asyncio original's API timeout handling (seconds scaled down to
//! tens and hundreds of milliseconds):
//!
//! 1. `fetch_from_microservice` answers too late: `wait_for` gives
//!    `Err(Elapsed)` after the timeout, and the caller falls back to the
//!    cache ("Fallback: using cache or default"); a fast answer is returned
//!    as is;
//! 2. retry with a growing timeout, the asyncio original's "wrap it in retry logic";
//! 3. the timeout is delivered to the inner future as a cancellation: a
//!    catch point inside it (`task::cancellable`) cleans up asynchronously
//!    (closes its connection) and re-raises, and `wait_for` returns
//!    `Err(Elapsed)` only once that cleanup has finished;
//! 4. an inner future that swallows the timeout and returns a value: that
//!    value is what `wait_for` returns, as in asyncio.
//!
//! The client code runs in a task (as asyncio's `main` does), named
//! "client".
//!
//! Run it with `cargo run --example wait_for_fallback`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::task;
use tasklane::time::{Instant, sleep};

/// The asyncio original's `fetch_from_microservice`: answers after `latency`.
async fn fetch_from_microservice(latency: Duration, calls: Arc<AtomicUsize>) -> String {
    calls.fetch_add(1, Ordering::SeqCst);
    sleep(latency).await;
    "response".to_owned()
}

/// A request that, when its timeout is delivered, closes its connection
/// (asynchronously) before giving up.
async fn request_with_cleanup(closed_at: Arc<Mutex<Option<Instant>>>) -> String {
    match task::cancellable(sleep(Duration::from_secs(10))).await {
        Ok(()) => "response".to_owned(),
        Err(cancelled) => {
            println!("    [request] timed out: sending goodbye, closing the connection...");
            sleep(Duration::from_millis(50)).await;
            *closed_at.lock().unwrap() = Some(Instant::now());
            println!("    [request] connection closed");
            cancelled.reraise().await
        }
    }
}

async fn client() {
    println!("1. wait_for(fetch_from_microservice(), timeout) with a fallback");
    let calls = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let resp = match tasklane::wait_for(
        fetch_from_microservice(Duration::from_millis(300), calls.clone()),
        Duration::from_millis(100),
    )
    .await
    {
        Ok(resp) => resp,
        Err(_elapsed) => "Fallback: using cache or default".to_owned(),
    };
    let took = start.elapsed();
    println!("    {resp} (after {took:?})");
    assert_eq!(resp, "Fallback: using cache or default");
    assert!(took >= Duration::from_millis(100), "not before the timeout");
    assert!(
        took < Duration::from_millis(300),
        "not after the slow answer"
    );

    let resp = tasklane::wait_for(
        fetch_from_microservice(Duration::from_millis(10), calls.clone()),
        Duration::from_millis(100),
    )
    .await;
    println!("    fast service: {resp:?}");
    assert_eq!(resp.as_deref(), Ok("response"));

    println!("\n2. retry with a growing timeout");
    let mut timeout = Duration::from_millis(20);
    let mut attempts = 0;
    let resp = loop {
        attempts += 1;
        let latency = Duration::from_millis(40);
        match tasklane::wait_for(fetch_from_microservice(latency, calls.clone()), timeout).await {
            Ok(resp) => break resp,
            Err(e) => {
                println!("    attempt {attempts}: {e} after {timeout:?}; retrying");
                timeout *= 5;
            }
        }
    };
    println!("    attempt {attempts}: {resp:?} within {timeout:?}");
    assert_eq!((attempts, resp.as_str()), (2, "response"));

    println!("\n3. the timeout reaches a catch point, which cleans up before wait_for returns");
    let closed_at = Arc::new(Mutex::new(None));
    let start = Instant::now();
    let r = tasklane::wait_for(
        request_with_cleanup(closed_at.clone()),
        Duration::from_millis(100),
    )
    .await;
    let returned_at = Instant::now();
    println!("    wait_for -> {r:?} after {:?}", start.elapsed());
    assert!(r.is_err(), "re-raised: Elapsed");
    let closed_at = closed_at
        .lock()
        .unwrap()
        .expect("the cleanup ran before wait_for returned");
    assert!(closed_at <= returned_at);
    assert!(
        returned_at - start >= Duration::from_millis(150),
        "timeout + cleanup"
    );

    println!("\n4. the inner future swallows the timeout and returns a value");
    let saw_timeout = Arc::new(AtomicBool::new(false));
    let s = saw_timeout.clone();
    let r = tasklane::wait_for(
        async move {
            match task::cancellable(sleep(Duration::from_secs(10))).await {
                Ok(()) => "full result",
                Err(_) => {
                    s.store(true, Ordering::SeqCst);
                    "partial result"
                }
            }
        },
        Duration::from_millis(50),
    )
    .await;
    println!("    wait_for -> {r:?}");
    assert!(saw_timeout.load(Ordering::SeqCst));
    assert_eq!(r, Ok("partial result"));
}

#[tasklane::main]
async fn main() {
    task::Builder::new()
        .name("client")
        .spawn(client())
        .await
        .expect("client ran to the end");
    println!("\nwait_for_fallback: every timeout was handled");
}
