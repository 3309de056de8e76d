//! A TCP echo server: a task per connection, kept in a `TaskSet` that the
//! accept loop reaps as it goes, and a graceful shutdown on Ctrl-C.
//!
//! Run it with `cargo run --example echo_server [port]` (default 7878), talk
//! to it with `nc 127.0.0.1 7878`, and stop it with Ctrl-C (or `kill`): it
//! stops accepting, shuts the connections still open down (cancelled, then
//! aborted after a grace) and prints what happened to them.
//!
//! The set holds the live connections and those finished since the last
//! accept, never the whole history: a server that runs for months keeps
//! the memory of the connections it has now.
//!
//! `cargo run --example echo_server -- --self-test` checks itself: it
//! listens on a free port, runs waves of clients that each check their
//! echo, keeps two connections idle, sends itself SIGINT, and checks the
//! counts, the set's size along the way and the shutdown report (exiting
//! non-zero on a wrong result).

use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use std::net::SocketAddr;
use std::time::Duration;
use tasklane::TaskSet;
use tasklane::net::{TcpListener, TcpStream};

/// Self-test: waves of clients, each wave connected at once.
const WAVES: usize = 10;
/// Self-test: clients per wave.
const CLIENTS: usize = 20;
/// Self-test: connections left open until the shutdown.
const IDLE: usize = 2;

/// Echoes until the client closes; returns the number of bytes echoed.
async fn echo(mut stream: TcpStream) -> std::io::Result<u64> {
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// What the accept loop saw.
#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    /// Connections reaped with their byte count.
    closed: u64,
    bytes: u64,
    /// The most connections the set held after reaping.
    max_held: usize,
}

fn main() {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let port: u16 = match std::env::args().nth(1) {
        _ if self_test => 0,
        Some(p) => p.parse().expect("usage: echo_server [port | --self-test]"),
        None => 7878,
    };
    let rt = tasklane::Runtime::new().expect("runtime");
    let (tally, report) = rt.block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        println!("listening on {addr}");
        if self_test {
            tasklane::spawn(clients(addr)).detach();
        }
        // One ctrl_c future for the whole loop: a signal is seen by the
        // futures alive when it arrives.
        let mut shutdown = std::pin::pin!(tasklane::signal::ctrl_c());
        let mut conns: TaskSet<std::io::Result<u64>> = TaskSet::new();
        let mut tally = Tally::default();
        loop {
            // Reap the connections that ended, so that the set holds only
            // the live ones.
            while let Some(r) = conns.try_join_next() {
                match r {
                    Ok(Ok(n)) => {
                        tally.closed += 1;
                        tally.bytes += n;
                    }
                    Ok(Err(e)) => println!("connection error: {e}"),
                    Err(e) => println!("connection task failed: {e}"),
                }
            }
            tally.max_held = tally.max_held.max(conns.len());
            // The signal first, so a stream of connections cannot starve it.
            let next = future::or(
                async {
                    shutdown.as_mut().await.expect("signal handler");
                    None
                },
                async { Some(listener.accept().await) },
            );
            let (stream, peer): (TcpStream, SocketAddr) = match next.await {
                None => break,
                Some(Ok(conn)) => conn,
                Some(Err(e)) => {
                    // Out of descriptors, say: back off rather than spin.
                    eprintln!("accept failed: {e}");
                    tasklane::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            tally.accepted += 1;
            if !self_test {
                println!("connection {} from {peer}", tally.accepted);
            }
            conns.spawn_named(format!("conn-{peer}"), echo(stream));
        }
        println!(
            "stopped accepting after {} connections; {} still open",
            tally.accepted,
            conns.len()
        );
        // The open connections: cancelled, given a second, then aborted.
        let report = conns.shutdown(Duration::from_secs(1)).await;
        (tally, report)
    });
    println!(
        "{} connections closed by their clients ({} bytes echoed), at most {} held at once",
        tally.closed, tally.bytes, tally.max_held
    );
    println!("connections at shutdown: {report}");
    let runtime_report = rt.shutdown(Duration::from_secs(1));
    println!("runtime shutdown: {runtime_report}");
    if self_test {
        check(&tally, &report);
        println!("self-test passed");
    }
}

/// Self-test: the message client `i` of wave `w` sends.
fn message(w: usize, i: usize) -> Vec<u8> {
    format!("wave {w} client {i} ")
        .bytes()
        .cycle()
        .take(1000 + i)
        .collect()
}

/// Self-test: the clients, then SIGINT to this process.
async fn clients(addr: SocketAddr) {
    for w in 0..WAVES {
        let mut wave = TaskSet::new();
        for i in 0..CLIENTS {
            wave.spawn(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                let sent = message(w, i);
                s.write_all(&sent).await.expect("write");
                let mut got = vec![0; sent.len()];
                s.read_exact(&mut got).await.expect("read the echo");
                assert_eq!(got, sent, "the echo of wave {w} client {i}");
            });
        }
        while let Some(r) = wave.join_next().await {
            r.expect("a client failed");
        }
    }
    // Left open: the shutdown cancels their connections.
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"ping").await.expect("write");
        let mut got = [0; 4];
        s.read_exact(&mut got).await.expect("read the echo");
        idle.push(s);
    }
    println!("(--self-test: sending SIGINT to myself)");
    // SAFETY: kill(2) on our own pid with a valid signal number.
    unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    // Holds the idle connections until the runtime's shutdown drops it.
    std::future::pending::<()>().await;
    drop(idle);
}

/// Self-test: the figures the run must show.
fn check(tally: &Tally, report: &tasklane::ShutdownReport) {
    let clients = (WAVES * CLIENTS) as u64;
    let bytes: u64 = (0..WAVES)
        .flat_map(|w| (0..CLIENTS).map(move |i| message(w, i).len() as u64))
        .sum();
    assert_eq!(tally.accepted, clients + IDLE as u64, "{tally:?}");
    // A connection whose client closed just before the signal may be
    // reaped by the shutdown (counted as completed there) instead.
    assert_eq!(
        tally.closed + report.completed() as u64,
        clients,
        "{tally:?} {report}"
    );
    if report.completed() == 0 {
        assert_eq!(tally.bytes, bytes, "{tally:?}");
    }
    assert_eq!(report.cancelled(), IDLE, "the idle connections: {report}");
    assert_eq!(report.panicked(), 0, "{report}");
    assert!(report.dropped_names().is_empty(), "{report}");
    // Reaped as it goes: far fewer than every connection ever accepted.
    assert!(
        tally.max_held < (WAVES * CLIENTS) / 2,
        "the set held {} connections",
        tally.max_held
    );
}
