//! The hyper server `benches/http.sh` loads with `wrk`
//! (`tasklane_benches::http`).
//!
//! `target/release/examples/http_hello tasklane|tokio [PORT] [WORKERS]`
//! (defaults: port 8080, 2 workers). It prints `listening on ADDR` once
//! it accepts, and serves until killed.

fn main() {
    let mut args = std::env::args().skip(1);
    let runtime = args.next().unwrap_or_default();
    let port: u16 = args
        .next()
        .map_or(8080, |p| p.parse().expect("a port number"));
    let workers: usize = args
        .next()
        .map_or(2, |w| w.parse().expect("a worker count"));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    println!("listening on {}", listener.local_addr().expect("address"));
    if !tasklane_benches::http::serve(&runtime, listener, workers) {
        eprintln!("usage: http_hello tasklane|tokio [PORT] [WORKERS]");
        std::process::exit(2);
    }
}
