//! A hyper HTTP server on tasklane, HTTP/1.1 and HTTP/2 on one port
//! (hyper-util's auto builder), with a graceful shutdown on Ctrl-C:
//!
//! 1. stop accepting (the listener is dropped);
//! 2. every connection finishes the request it is serving and closes
//!    (hyper's `graceful_shutdown`);
//! 3. connections still busy after [`GRACE`] are left to the runtime's
//!    shutdown, which cancels them: the handler's catch point sees the
//!    cancellation, rolls its work back, and re-raises;
//! 4. the shutdown report says what happened.
//!
//! Routes: `/` answers "Hello, World!"; `/work?ms=N` works for N ms (a
//! sleep inside a catch point) and answers "worked N ms".
//!
//! ```sh
//! cargo run --example http_server               # http://127.0.0.1:3000, Ctrl-C stops it
//! cargo run --example http_server -- --self-test
//! ```
//!
//! `--self-test` serves on a free port and runs a client on a thread of its
//! own (its own runtime, as another program would): 20 keep-alive HTTP/1.1
//! requests, 10 HTTP/2 requests multiplexed on one connection, then two
//! `/work` requests in flight, a short one that finishes within the grace
//! and a long one that the shutdown cancels, and a SIGINT to itself. It
//! checks every answer and the report.

use futures_lite::future;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::hyper::{Executor, Io, Timer};
use tasklane::net::{TcpListener, TcpStream};
use tasklane::task::{self, JoinHandle};
use tasklane::time::sleep;
use tasklane::{ReturnWhen, wait};

/// How long requests in flight may take to finish once shutdown begins.
const GRACE: Duration = Duration::from_secs(2);

/// `/work` requests that started, and that were cancelled and rolled back.
static WORK_STARTED: AtomicUsize = AtomicUsize::new(0);
static WORK_ROLLED_BACK: AtomicUsize = AtomicUsize::new(0);

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    match req.uri().path() {
        "/" => Ok(text(StatusCode::OK, "Hello, World!".into())),
        "/work" => {
            let ms: u64 = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("ms="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(100);
            WORK_STARTED.fetch_add(1, Ordering::SeqCst);
            match task::cancellable(sleep(Duration::from_millis(ms))).await {
                Ok(()) => Ok(text(StatusCode::OK, format!("worked {ms} ms"))),
                Err(cancelled) => {
                    // asyncio's `except CancelledError:` cleanup, with an await.
                    println!("server: /work?ms={ms} cancelled, rolling back");
                    sleep(Duration::from_millis(10)).await;
                    WORK_ROLLED_BACK.fetch_add(1, Ordering::SeqCst);
                    cancelled.reraise().await
                }
            }
        }
        _ => Ok(text(StatusCode::NOT_FOUND, "not found".into())),
    }
}

/// Serves one connection until it ends, or, once `closing` fires, until
/// the request in flight is answered.
async fn serve_connection(stream: TcpStream, closing: async_channel::Receiver<()>) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(Executor);
    builder.http1().timer(Timer);
    builder.http2().timer(Timer);
    let mut conn =
        pin!(builder.serve_connection(Io::new(stream), hyper::service::service_fn(handle)));
    // The channel never carries a message: it closes when the server stops.
    let mut closing = pin!(closing.recv());
    let mut shutting_down = false;
    let served = std::future::poll_fn(|cx| {
        if !shutting_down && closing.as_mut().poll(cx).is_ready() {
            conn.as_mut().graceful_shutdown();
            shutting_down = true;
        }
        conn.as_mut().poll(cx)
    })
    .await;
    if let Err(e) = served {
        eprintln!("server: connection error: {e:?}");
    }
}

/// Accepts until `stop` resolves; returns the connections still open.
async fn accept_loop(listener: TcpListener, stop: impl Future<Output = ()>) -> Vec<JoinHandle<()>> {
    let (closing_tx, closing_rx) = async_channel::bounded::<()>(1);
    let mut stop = pin!(stop);
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            stop.as_mut().await;
            None
        })
        .await;
        match accepted {
            None => break,
            Some(Ok((stream, peer))) => {
                let _ = stream.set_nodelay(true);
                conns.retain(|c| !c.is_finished());
                let closing = closing_rx.clone();
                conns.push(
                    task::Builder::new()
                        .name(format!("conn-{peer}"))
                        .spawn(serve_connection(stream, closing)),
                );
            }
            // Out of descriptors, say: back off rather than spin.
            Some(Err(e)) => {
                eprintln!("server: accept failed: {e}");
                sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    drop(closing_tx);
    conns.retain(|c| !c.is_finished());
    conns
}

fn main() {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let rt = tasklane::Runtime::new().expect("runtime");
    let client = rt.block_on(async {
        let addr = if self_test { "127.0.0.1:0" } else { "127.0.0.1:3000" };
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        // Install the handler before anything can send the signal.
        let mut ctrl_c = pin!(tasklane::signal::ctrl_c());
        assert!(future::poll_once(ctrl_c.as_mut()).await.is_none());
        println!("server: listening on http://{addr} (HTTP/1.1 and HTTP/2)");
        let client = if self_test {
            Some(std::thread::spawn(move || client::run(addr)))
        } else {
            println!("server: press Ctrl-C to stop");
            None
        };

        let open = accept_loop(listener, async {
            ctrl_c.await.expect("signal handler");
        })
        .await;
        println!(
            "server: SIGINT: stopped accepting; {} connections finishing their requests (grace {GRACE:?})",
            open.len()
        );
        let (closed, busy) = wait(open, ReturnWhen::AllCompleted, Some(GRACE)).await;
        println!(
            "server: {} connections closed within the grace, {} still busy",
            closed.len(),
            busy.len()
        );
        // Left to the runtime's shutdown, which cancels them.
        busy.into_iter().for_each(JoinHandle::detach);
        client
    });
    let report = rt.shutdown(Duration::from_secs(1));
    println!("server: shutdown report: {report}");

    if let Some(client) = client {
        let outcome = client.join().expect("the client thread");
        assert_eq!(outcome.http1_ok, 20);
        assert_eq!(outcome.http2_ok, 10);
        assert_eq!(outcome.short_work.as_deref(), Ok("worked 300 ms"));
        assert!(outcome.long_work.is_err(), "the long request was cancelled");
        assert_eq!(WORK_STARTED.load(Ordering::SeqCst), 2);
        assert_eq!(WORK_ROLLED_BACK.load(Ordering::SeqCst), 1);
        assert!(report.cancelled() >= 1, "the busy connection was cancelled");
        assert_eq!(report.dropped(), 0, "every task ended within the grace");
        println!("self-test passed");
    }
}

/// The `--self-test` client: another runtime on another thread.
mod client {
    use super::*;

    pub(super) struct Outcome {
        pub(super) http1_ok: usize,
        pub(super) http2_ok: usize,
        pub(super) short_work: Result<String, String>,
        pub(super) long_work: Result<String, String>,
    }

    fn get(path: &str) -> Request<Empty<Bytes>> {
        Request::get(path)
            .header("host", "localhost")
            .body(Empty::new())
            .expect("request")
    }

    /// One request on a fresh HTTP/1.1 connection; the body as text.
    async fn fetch_once(addr: std::net::SocketAddr, path: &str) -> Result<String, String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        let _conn = tasklane::spawn(conn);
        let res = sender
            .send_request(get(path))
            .await
            .map_err(|e| e.to_string())?;
        let body = res.into_body().collect().await.map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
    }

    pub(super) fn run(addr: std::net::SocketAddr) -> Outcome {
        tasklane::run(async move {
            // HTTP/1.1: 20 requests over one keep-alive connection.
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
                .await
                .expect("HTTP/1.1 handshake");
            let conn = tasklane::spawn(conn);
            let mut http1_ok = 0;
            for _ in 0..20 {
                sender
                    .ready()
                    .await
                    .expect("the connection takes the next request");
                let res = sender
                    .send_request(get("/"))
                    .await
                    .expect("HTTP/1.1 request");
                let body = res.into_body().collect().await.expect("body").to_bytes();
                assert_eq!(&body[..], b"Hello, World!");
                http1_ok += 1;
            }
            drop(sender);
            conn.await
                .expect("connection task")
                .expect("HTTP/1.1 connection");
            println!("client: {http1_ok} HTTP/1.1 requests on one keep-alive connection");

            // HTTP/2: 10 requests multiplexed on one connection.
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (sender, conn) = hyper::client::conn::http2::handshake(Executor, Io::new(stream))
                .await
                .expect("HTTP/2 handshake");
            let conn = tasklane::spawn(conn);
            let requests: Vec<_> = (0..10)
                .map(|_| {
                    let mut sender = sender.clone();
                    tasklane::spawn(async move {
                        let res = sender.send_request(get("/")).await.expect("HTTP/2 request");
                        assert_eq!(res.version(), hyper::Version::HTTP_2);
                        res.into_body().collect().await.expect("body").to_bytes()
                    })
                })
                .collect();
            let bodies = tasklane::gather(requests).await;
            let http2_ok = bodies
                .iter()
                .filter(|b| b.as_ref().is_ok_and(|b| &b[..] == b"Hello, World!"))
                .count();
            drop(sender);
            conn.await
                .expect("connection task")
                .expect("HTTP/2 connection");
            println!("client: {http2_ok} HTTP/2 requests multiplexed on one connection");

            // Two requests in flight when the server is told to stop.
            let short = tasklane::spawn(fetch_once(addr, "/work?ms=300"));
            let long = tasklane::spawn(fetch_once(addr, "/work?ms=60000"));
            tasklane::wait_for(
                async {
                    while WORK_STARTED.load(Ordering::SeqCst) < 2 {
                        sleep(Duration::from_millis(1)).await;
                    }
                },
                Duration::from_secs(20),
            )
            .await
            .expect("both /work requests reached the server");
            println!("client: both /work requests are in flight; sending SIGINT to the server");
            // SAFETY: kill(2) on our own pid with a valid signal number.
            let rc = unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
            assert_eq!(rc, 0, "kill failed");
            let short_work = short.await.expect("short request task");
            let long_work = long.await.expect("long request task");
            println!("client: /work?ms=300 -> {short_work:?}");
            println!("client: /work?ms=60000 -> {long_work:?}");
            Outcome {
                http1_ok,
                http2_ok,
                short_work,
                long_work,
            }
        })
    }
}
