//! hyper on tasklane (`tasklane::hyper`): keep-alive under concurrency,
//! cancellation of a request whose client went away, hyper's header-read
//! timeout through `Timer`, HTTP/2 multiplexing through `Executor`, and a
//! graceful shutdown with requests in flight.
//!
//! Every wait that could hang is under a `wait_for` watchdog, so a broken
//! server fails the test instead of stalling it.

use async_lock::Barrier;
use futures_lite::future;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::hyper::{Executor, Io, TaskPerRequest, Timer};
use tasklane::net::{TcpListener, TcpStream};
use tasklane::task::{self, JoinHandle};
use tasklane::time::{Instant, sleep};
use tasklane::wait_for;

/// Fails a test that would otherwise hang.
const WATCHDOG: Duration = Duration::from_secs(20);

type Body = Full<Bytes>;

fn ok(body: impl Into<Bytes>) -> Response<Body> {
    Response::new(Full::new(body.into()))
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap()
}

async fn body_text(res: Response<Incoming>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// An HTTP/1.1 client connection: its sender and its driver task.
async fn h1_client(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    JoinHandle<Result<(), hyper::Error>>,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
        .await
        .unwrap();
    (sender, tasklane::spawn(conn))
}

#[tasklane::test]
async fn concurrent_keep_alive_requests_are_each_answered_once() {
    const CONNS: usize = 8;
    const PER_CONN: usize = 50;
    let (listener, addr) = bind().await;
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let accepted = Arc::new(AtomicUsize::new(0));

    let (s, a) = (seen.clone(), accepted.clone());
    let server = tasklane::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            tasklane::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let id = req.uri().path().trim_start_matches('/').to_string();
                    *s.lock().unwrap().entry(id.clone()).or_default() += 1;
                    async move { Ok::<_, Infallible>(ok(id)) }
                });
                hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .serve_connection(Io::new(stream), service)
                    .await
                    .unwrap();
            })
            .detach();
        }
    });

    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            tasklane::spawn(async move {
                let (mut sender, conn) = h1_client(addr).await;
                for r in 0..PER_CONN {
                    let id = format!("c{c}-r{r}");
                    sender.ready().await.unwrap();
                    let res = sender.send_request(get(&format!("/{id}"))).await.unwrap();
                    assert_eq!(res.status(), 200);
                    assert_eq!(body_text(res).await, id, "each answer is its own request's");
                }
                drop(sender);
                conn.await.unwrap().unwrap();
            })
        })
        .collect();
    let results = wait_for(tasklane::gather(clients), WATCHDOG).await.unwrap();
    assert!(results.iter().all(Result::is_ok));

    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        CONNS * PER_CONN,
        "every request reached the server"
    );
    assert!(
        seen.values().all(|&n| n == 1),
        "no request was served twice"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        CONNS,
        "keep-alive: one connection per client"
    );
    server.cancel();
}

#[tasklane::test]
async fn a_client_disconnecting_mid_request_cancels_the_request_task() {
    let (listener, addr) = bind().await;
    let (started_tx, started_rx) = async_channel::bounded::<()>(1);
    let (cleaned_tx, cleaned_rx) = async_channel::bounded::<String>(1);
    let server = tasklane::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
            let (started, cleaned) = (started_tx.clone(), cleaned_tx.clone());
            async move {
                started.send(()).await.unwrap();
                // Work that never ends by itself: only a cancellation stops it.
                let Err(cancelled) = task::cancellable(std::future::pending::<Infallible>()).await;
                // Cleanup that awaits, as an `except CancelledError:` would.
                sleep(Duration::from_millis(5)).await;
                cleaned.send("rolled back".to_string()).await.unwrap();
                cancelled
                    .reraise::<Result<Response<Body>, Infallible>>()
                    .await
            }
        });
        let served = hyper::server::conn::http1::Builder::new()
            .serve_connection(Io::new(stream), TaskPerRequest::new(service))
            .await;
        assert!(served.is_err(), "the connection ended mid-message");
    });

    let (mut sender, conn) = h1_client(addr).await;
    let request =
        tasklane::spawn(async move { sender.send_request(get("/work")).await.map(|_| ()) });
    wait_for(started_rx.recv(), WATCHDOG)
        .await
        .unwrap()
        .unwrap();
    // The client gives up: its connection closes with the request in flight.
    request.abort();
    conn.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    let cleanup = wait_for(cleaned_rx.recv(), WATCHDOG).await;
    assert_eq!(
        cleanup.unwrap().unwrap(),
        "rolled back",
        "the handler's catch point saw it"
    );
    wait_for(server, WATCHDOG).await.unwrap().unwrap();
}

#[tasklane::test]
async fn a_handler_that_panics_fails_its_connection_not_the_worker() {
    let (listener, addr) = bind().await;
    let server = tasklane::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
            if true {
                panic!("handler bug");
            }
            Ok::<_, Infallible>(ok("unreachable"))
        });
        hyper::server::conn::http1::Builder::new()
            .serve_connection(Io::new(stream), TaskPerRequest::new(service))
            .await
    });
    let (mut sender, _conn) = h1_client(addr).await;
    let res = wait_for(sender.send_request(get("/")), WATCHDOG)
        .await
        .unwrap();
    assert!(
        res.is_err(),
        "no answer to the request whose handler panicked"
    );
    let served = wait_for(server, WATCHDOG).await.unwrap().unwrap();
    assert!(served.is_err());
    // The workers still run tasks.
    assert_eq!(tasklane::spawn(async { 7 }).await.unwrap(), 7);
}

#[tasklane::test]
async fn a_slow_client_hits_the_header_read_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let (listener, addr) = bind().await;
    let server = tasklane::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let start = Instant::now();
        let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(ok("too late"))
        });
        let served = hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .header_read_timeout(TIMEOUT)
            .serve_connection(Io::new(stream), service)
            .await;
        (served, start.elapsed())
    });

    // Half a request line, then nothing: a slowloris client.
    let mut client = TcpStream::connect(addr).await.unwrap();
    future::poll_fn(|cx| futures_io::AsyncWrite::poll_write(pin!(&mut client), cx, b"GET / HT"))
        .await
        .unwrap();
    let (served, waited) = wait_for(server, WATCHDOG).await.unwrap().unwrap();
    let err = served.expect_err("the server gave up on the client");
    assert!(err.is_timeout(), "a timeout, not {err:?}");
    assert!(waited >= TIMEOUT, "not before the timeout: {waited:?}");
    // The server closed the connection: the client reads end of stream.
    let mut buf = [0u8; 64];
    let n = wait_for(
        future::poll_fn(|cx| futures_io::AsyncRead::poll_read(pin!(&mut client), cx, &mut buf)),
        WATCHDOG,
    )
    .await
    .unwrap();
    assert!(matches!(n, Ok(0)) || n.is_err(), "closed, got {n:?}");
}

#[tasklane::test]
async fn http2_multiplexes_concurrent_requests_on_one_connection() {
    const STREAMS: usize = 20;
    let (listener, addr) = bind().await;
    // Every handler waits for all the others: the requests can only finish
    // if all of them are in flight on the connection at once.
    let barrier = Arc::new(Barrier::new(STREAMS));
    let accepted = Arc::new(AtomicUsize::new(0));
    let (b, a) = (barrier.clone(), accepted.clone());
    let server = tasklane::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            let b = b.clone();
            tasklane::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let b = b.clone();
                    async move {
                        b.wait().await;
                        Ok::<_, Infallible>(ok(req.uri().path().to_string()))
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(Executor)
                    .timer(Timer)
                    .serve_connection(Io::new(stream), service)
                    .await;
            })
            .detach();
        }
    });

    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(Executor, Io::new(stream))
        .await
        .unwrap();
    let conn = tasklane::spawn(conn);
    let requests: Vec<_> = (0..STREAMS)
        .map(|i| {
            let mut sender = sender.clone();
            tasklane::spawn(async move {
                let res = sender.send_request(get(&format!("/{i}"))).await.unwrap();
                assert_eq!(res.version(), hyper::Version::HTTP_2);
                body_text(res).await
            })
        })
        .collect();
    let bodies = wait_for(tasklane::gather(requests), WATCHDOG)
        .await
        .expect("all streams in flight at once on one connection");
    for (i, body) in bodies.into_iter().enumerate() {
        assert_eq!(body.unwrap(), format!("/{i}"));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection");
    drop(sender);
    wait_for(conn, WATCHDOG).await.unwrap().unwrap().unwrap();
    server.cancel();
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight_and_cancels_the_rest() {
    let rt = tasklane::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    // The clients run on a runtime of their own, as another program would:
    // the server's shutdown must not close their side first.
    let client_rt = tasklane::Runtime::builder()
        .worker_threads(1)
        .build()
        .unwrap();
    let clients = client_rt.handle();
    let started = Arc::new(AtomicUsize::new(0));
    let rolled_back = Arc::new(AtomicUsize::new(0));
    let (st, rb) = (started.clone(), rolled_back.clone());
    let (short, long, refused) = rt.block_on(async move {
        let (listener, addr) = bind().await;
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (closing_tx, closing_rx) = async_channel::bounded::<()>(1);
        let handler = move |req: Request<Incoming>| {
            let (st, rb) = (st.clone(), rb.clone());
            async move {
                let ms: u64 = req.uri().path()[1..].parse().unwrap();
                st.fetch_add(1, Ordering::SeqCst);
                match task::cancellable(sleep(Duration::from_millis(ms))).await {
                    Ok(()) => Ok::<_, Infallible>(ok(format!("{ms}"))),
                    Err(cancelled) => {
                        rb.fetch_add(1, Ordering::SeqCst);
                        cancelled.reraise().await
                    }
                }
            }
        };
        // The accept loop: on `stop`, it stops accepting and tells every
        // connection to close after its request in flight.
        let server = tasklane::spawn(async move {
            let mut conns = Vec::new();
            loop {
                let accepted =
                    future::or(async { Some(listener.accept().await.unwrap()) }, async {
                        let _ = stop_rx.recv().await;
                        None
                    })
                    .await;
                let Some((stream, _)) = accepted else { break };
                let (closing, handler) = (closing_rx.clone(), handler.clone());
                conns.push(tasklane::spawn(async move {
                    let mut conn = pin!(
                        hyper::server::conn::http1::Builder::new()
                            .timer(Timer)
                            .serve_connection(Io::new(stream), hyper::service::service_fn(handler))
                    );
                    let mut closing = pin!(closing.recv());
                    let mut told = false;
                    future::poll_fn(|cx| {
                        if !told && closing.as_mut().poll(cx).is_ready() {
                            conn.as_mut().graceful_shutdown();
                            told = true;
                        }
                        conn.as_mut().poll(cx)
                    })
                    .await
                }));
            }
            drop(listener);
            drop(closing_tx);
            conns
        });

        let fetch = |path: &'static str| {
            clients.spawn(async move {
                let (mut sender, _conn) = h1_client(addr).await;
                let res = sender
                    .send_request(get(path))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(body_text(res).await)
            })
        };
        let short = fetch("/300");
        let long = fetch("/60000");
        // Both handlers have started (a wait on a condition, bounded).
        wait_for(
            async {
                while started.load(Ordering::SeqCst) < 2 {
                    sleep(Duration::from_millis(1)).await;
                }
            },
            WATCHDOG,
        )
        .await
        .expect("both requests reached their handlers");
        stop_tx.close();
        let conns = wait_for(server, WATCHDOG).await.unwrap().unwrap();
        assert_eq!(conns.len(), 2);
        // The grace: the short request finishes, the long one does not.
        let (done, pending) = tasklane::wait(
            conns,
            tasklane::ReturnWhen::AllCompleted,
            Some(Duration::from_secs(2)),
        )
        .await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        pending.into_iter().for_each(JoinHandle::detach);
        let short = wait_for(short, WATCHDOG).await.unwrap().unwrap();
        let refused = TcpStream::connect(addr).await.is_err();
        (short, long, refused)
    });
    // The runtime's shutdown cancels the connection still busy; its
    // handler's catch point sees it.
    let report = rt.shutdown(Duration::from_secs(5));
    assert_eq!(short.as_deref(), Ok("300"), "answered within the grace");
    assert!(refused, "the listener was closed");
    assert_eq!(rolled_back.load(Ordering::SeqCst), 1);
    assert_eq!(report.dropped(), 0);
    assert_eq!(report.cancelled(), 1, "the busy connection: {report}");
    // Its client sees the connection close without an answer.
    let long = client_rt.block_on(async { wait_for(long, WATCHDOG).await });
    assert!(long.unwrap().unwrap().is_err());
}
