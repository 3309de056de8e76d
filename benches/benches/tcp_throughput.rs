//! Throughput of one loopback TCP connection streaming 1 GiB, on tasklane,
//! tokio and smol (async-io), in one run: a plain harness (each transfer
//! is one long measurement). The client writes 64 KiB chunks, the server
//! reads them into a 64 KiB buffer and drops them; the clock stops when the
//! server has read every byte. `TASKLANE_THROUGHPUT_MIB` sets the size
//! (default 1024; 64 under `cargo test --benches`) and
//! `TASKLANE_THROUGHPUT_RUNS` the repetitions (default 3, interleaved
//! between runtimes); the median is reported.
//!
//! `cargo bench -p tasklane-benches --bench tcp_throughput`

use std::time::{Duration, Instant};

use tasklane_benches::{BenchRuntime, Tasklane, env_or, workers};

const CHUNK: usize = 64 * 1024;

fn tasklane_once(rt: &Tasklane, bytes: u64) -> Duration {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use tasklane::net::{TcpListener, TcpStream};
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tasklane::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0u64;
            while total < bytes {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "early end of stream");
                total += n as u64;
            }
            Instant::now()
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        let chunk = vec![1u8; CHUNK];
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < bytes {
            c.write_all(&chunk).await.unwrap();
            sent += CHUNK as u64;
        }
        let end = server.await.unwrap();
        end - start
    })
}

fn tokio_once(rt: &tokio::runtime::Runtime, bytes: u64) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0u64;
            while total < bytes {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "early end of stream");
                total += n as u64;
            }
            Instant::now()
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        let chunk = vec![1u8; CHUNK];
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < bytes {
            c.write_all(&chunk).await.unwrap();
            sent += CHUNK as u64;
        }
        let end = server.await.unwrap();
        end - start
    })
}

fn smol_once(ex: &tasklane_benches::Smol, bytes: u64) -> Duration {
    use async_io::Async;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let server = ex.spawn_with_output(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        while total < bytes {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "early end of stream");
            total += n as u64;
        }
        Instant::now()
    });
    ex.block_on(async move {
        let mut c = Async::<TcpStream>::connect(addr).await.unwrap();
        let chunk = vec![1u8; CHUNK];
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < bytes {
            c.write_all(&chunk).await.unwrap();
            sent += CHUNK as u64;
        }
        let end = server.await;
        end - start
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let mib: u64 = env_or("TASKLANE_THROUGHPUT_MIB", if bench { 1024 } else { 64 });
    let runs: usize = env_or("TASKLANE_THROUGHPUT_RUNS", if bench { 3 } else { 1 });
    let bytes = mib * 1024 * 1024;
    let workers = workers();
    let tl = Tasklane::start(workers);
    let tk = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let sm = tasklane_benches::Smol::start(workers);
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(tasklane_once(&tl, bytes));
        b.push(tokio_once(&tk, bytes));
        c.push(smol_once(&sm, bytes));
    }
    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / (1024.0 * 1024.0 * 1024.0);
    println!("one loopback connection streaming {mib} MiB, {workers} workers, median of {runs}\n");
    println!("| runtime | time | GiB/s | runs |");
    println!("| --- | ---: | ---: | --- |");
    for (name, v) in [("tasklane", a), ("tokio", b), ("smol", c)] {
        let runs_s: Vec<String> = v.iter().map(|d| format!("{:.2}", rate(*d))).collect();
        let m = median(v);
        println!(
            "| {name} | {:.0} ms | {:.2} | {} |",
            m.as_secs_f64() * 1e3,
            rate(m),
            runs_s.join(" / ")
        );
    }
}
