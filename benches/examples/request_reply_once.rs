//! `request_reply` outside criterion, for `strace -c -f` and callgrind:
//! `TASKLANE_RR_N` (default 20 000) sequential round trips between this
//! thread and one task on a 2-worker runtime.
//!
//! `strace -f -c target/release/examples/request_reply_once tasklane`

use futures_channel::mpsc as amsc;
use futures_lite::StreamExt;
use std::sync::mpsc;
use tasklane_benches::{BenchRuntime, Smol, Tasklane, Tokio, env_or};

fn run<R: BenchRuntime>() {
    let n: usize = env_or("TASKLANE_RR_N", 20_000);
    let rt = R::start(2);
    let (req_tx, mut req_rx) = amsc::unbounded::<usize>();
    let (reply_tx, reply_rx) = mpsc::sync_channel::<usize>(1);
    rt.spawn_detached(async move {
        while let Some(i) = req_rx.next().await {
            reply_tx.send(i + 1).unwrap();
        }
    });
    let start = std::time::Instant::now();
    for i in 0..n {
        req_tx.unbounded_send(i).unwrap();
        assert_eq!(reply_rx.recv().unwrap(), i + 1);
    }
    eprintln!(
        "{}: {:.2} µs per round trip",
        R::NAME,
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    drop(req_tx);
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("tasklane") => run::<Tasklane>(),
        Some("tokio") => run::<Tokio>(),
        Some("smol") => run::<Smol>(),
        _ => {
            eprintln!("usage: request_reply_once tasklane|tokio|smol");
            std::process::exit(2);
        }
    }
}
