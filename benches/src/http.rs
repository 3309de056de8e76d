//! The "Hello, World!" hyper HTTP/1.1 server used by `benches/http.sh` and
//! `examples/http_rr_once.rs`: the same server on tasklane (through
//! `tasklane::hyper::Io`) and on tokio (through hyper-util's `TokioIo`), one
//! task per connection, the accept loop itself a task on the workers.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;

/// The response body.
pub const BODY: &[u8] = b"Hello, World!";

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// Serves on `listener` with a tasklane runtime of `workers` workers,
/// forever.
///
/// # Panics
///
/// If the runtime cannot be built or the listener registered.
pub fn serve_tasklane(listener: std::net::TcpListener, workers: usize) {
    use tasklane::hyper::Io;
    let rt = crate::tasklane_builder(workers).build().expect("runtime");
    rt.block_on(rt.spawn(async move {
        let listener = tasklane::net::TcpListener::from_std(listener).expect("listener");
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

/// Serves on `listener` with a tokio multi-thread runtime of `workers`
/// workers, forever.
///
/// # Panics
///
/// If the runtime cannot be built or the listener registered.
pub fn serve_tokio(listener: std::net::TcpListener, workers: usize) {
    use hyper_util::rt::TokioIo;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(rt.spawn(async move {
        listener.set_nonblocking(true).expect("non-blocking");
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
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

/// Serves on `listener` with `runtime` ("tasklane" or "tokio"), forever;
/// `false` for another name.
pub fn serve(runtime: &str, listener: std::net::TcpListener, workers: usize) -> bool {
    match runtime {
        "tasklane" => serve_tasklane(listener, workers),
        "tokio" => serve_tokio(listener, workers),
        _ => return false,
    }
    true
}
