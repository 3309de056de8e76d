//! Sequential HTTP/1.1 requests over one keep-alive connection to the bench
//! server (`tasklane_benches::http`), for per-request instruction counts
//! (callgrind) and system calls (strace): `TASKLANE_HTTP_N` requests
//! (default 20 000) from a plain blocking client on this thread.
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/http_rr_once tasklane
//! strace -f -c target/release/examples/http_rr_once tokio
//! ```
//!
//! Both runtimes get the same client, whose cost is in both totals.

use std::io::{Read, Write};
use tasklane_benches::{env_or, http};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn main() {
    let runtime = std::env::args().nth(1).unwrap_or_default();
    if runtime != "tasklane" && runtime != "tokio" {
        eprintln!("usage: http_rr_once tasklane|tokio");
        std::process::exit(2);
    }
    let n: usize = env_or("TASKLANE_HTTP_N", 20_000);
    let workers: usize = env_or("TASKLANE_BENCH_WORKERS", 2);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || http::serve(&runtime, listener, workers));

    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    let mut buf = vec![0u8; 4096];
    let start = std::time::Instant::now();
    for _ in 0..n {
        conn.write_all(REQUEST).expect("write");
        // One response: headers, then the 13-byte body.
        let mut have = 0;
        loop {
            have += conn.read(&mut buf[have..]).expect("read");
            if buf[..have].ends_with(http::BODY) {
                break;
            }
            assert!(have < buf.len(), "response too long");
        }
    }
    eprintln!(
        "{:.2} µs per request",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
