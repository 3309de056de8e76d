//! Readiness while one worker is stuck in a long poll and the other is
//! idle. With no timer pending, the worker that leaves the driver to run a
//! task does not hand the driver over at once (doing so on every I/O
//! wake-up slows I/O-bound loads down, docs/benchmarks.md); the monitor
//! does, once the poll has lasted a tick (docs/semantics.md, "A worker
//! stuck in a poll"), so the readiness reaches the reader while the other
//! worker is still stuck.
//! (tokio waits for the stuck worker here.)

mod common;
mod netutil;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use netutil::{SignalOnPending, wait_pending};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tasklane::net::unix::UnixStream;

#[test]
fn a_read_completes_while_another_worker_is_stuck() {
    let rt = common::rt(2);
    let (mut a, mut b) = rt.block_on(async { UnixStream::pair().unwrap() });
    let (mut c, mut d) = rt.block_on(async { UnixStream::pair().unwrap() });

    // The reader: suspended on `b`, with no timer anywhere.
    let (tx, rx) = mpsc::channel();
    let (reader, reader_waiting) = SignalOnPending::new(async move {
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        tx.send(Instant::now()).unwrap();
    });
    let reader = rt.spawn(reader);
    wait_pending("reader", &reader_waiting);

    // A task woken by I/O (so it runs on the worker that held the driver)
    // that then blocks its thread until the gate opens; a watchdog opens it
    // after 5 s so that a failure does not hang the suite.
    let gate = common::Gate::new();
    let g = gate.clone();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (stuck, stuck_waiting) = SignalOnPending::new(async move {
        let mut buf = [0; 1];
        d.read_exact(&mut buf).await.unwrap();
        entered_tx.send(()).unwrap();
        g.wait();
    });
    let stuck = rt.spawn(stuck);
    wait_pending("stuck task", &stuck_waiting);
    // Let both workers go idle (one parks in the driver, the other on its
    // own parker): that is the situation under test. This pause cannot make
    // the test fail spuriously; if it were too short, a worker still awake
    // would collect the event itself and the test would pass without
    // exercising the hand-over. (Nothing public tells whether a worker is
    // parked right now.)
    std::thread::sleep(Duration::from_millis(50));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let g = gate.clone();
    let watchdog = std::thread::spawn(move || {
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
        g.open();
    });
    rt.block_on(async { c.write_all(b"x").await.unwrap() });
    entered_rx.recv().unwrap();

    // One worker is stuck now. Data for the reader must still arrive.
    let sent = Instant::now();
    rt.block_on(async { a.write_all(b"ping").await.unwrap() });
    let woke = rx.recv_timeout(Duration::from_secs(4));
    gate.open();
    drop(done_tx);
    watchdog.join().unwrap();
    rt.block_on(stuck).unwrap();
    rt.block_on(reader).unwrap();
    let woke = woke.expect("the reader did not wake while a worker was stuck");
    assert!(
        woke - sent < Duration::from_secs(2),
        "the reader waited {:?} for the stuck worker",
        woke - sent
    );
}
