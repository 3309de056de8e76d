//! The "Hello, World!" hyper HTTP/1.1 server that `benches/http.sh` loads
//! with `wrk`: the same server on tasklane (through `tasklane::hyper::Io`)
//! and on tokio (through hyper-util's `TokioIo`), one task per connection,
//! the accept loop itself a task on the workers.
//!
//! `target/release/examples/http_hello tasklane|tokio [PORT] [WORKERS]`
//! (defaults: port 8080, 2 workers). It prints `listening on ADDR` once
//! it accepts, and serves until killed.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

fn listening(addr: SocketAddr) {
    println!("listening on {addr}");
}

fn tasklane_server(addr: SocketAddr, workers: usize) {
    use tasklane::hyper::Io;
    let rt = tasklane::Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("runtime");
    rt.block_on(rt.spawn(async move {
        let listener = tasklane::net::TcpListener::bind(addr).await.expect("bind");
        listening(listener.local_addr().expect("address"));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tasklane::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(Io::new(stream), hyper::service::service_fn(hello))
                    .await;
            })
            .detach();
        }
    }))
    .expect("the accept loop");
}

fn tokio_server(addr: SocketAddr, workers: usize) {
    use hyper_util::rt::TokioIo;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(rt.spawn(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        listening(listener.local_addr().expect("address"));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
                    .await;
            });
        }
    }))
    .expect("the accept loop");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runtime = args.next().unwrap_or_default();
    let port: u16 = args
        .next()
        .map_or(8080, |p| p.parse().expect("a port number"));
    let workers: usize = args
        .next()
        .map_or(2, |w| w.parse().expect("a worker count"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match runtime.as_str() {
        "tasklane" => tasklane_server(addr, workers),
        "tokio" => tokio_server(addr, workers),
        _ => {
            eprintln!("usage: http_hello tasklane|tokio [PORT] [WORKERS]");
            std::process::exit(2);
        }
    }
}
