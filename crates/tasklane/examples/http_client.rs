//! hyper's HTTP/1.1 client on tasklane: requests over one keep-alive
//! `Io<TcpStream>` connection, each under its own `wait_for` deadline.
//!
//! ```sh
//! cargo run --example http_client                          # against a server of its own
//! cargo run --example http_server &                        # or against the server example:
//! cargo run --example http_client -- 127.0.0.1:3000
//! ```
//!
//! With no address it starts a small server of its own on a free port
//! (`/` answers at once, `/slow` after 5 s), fetches `/` five times, then
//! `/slow` with a 200 ms deadline: `wait_for` delivers the timeout as a
//! cancellation to the request, which gives up, and the client opens a new
//! connection for the next request (the old one was mid-request). It checks
//! what it prints.

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tasklane::hyper::{Io, Timer};
use tasklane::net::{TcpListener, TcpStream};
use tasklane::time::{Instant, sleep};
use tasklane::wait_for;

/// Each request's deadline.
const DEADLINE: Duration = Duration::from_millis(200);

/// A keep-alive connection: the sender and the task driving it.
struct Connection {
    sender: SendRequest<Empty<Bytes>>,
    _driver: tasklane::task::JoinHandle<Result<(), hyper::Error>>,
}

async fn connect(addr: SocketAddr) -> Result<Connection, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream)).await?;
    Ok(Connection {
        sender,
        _driver: tasklane::spawn(conn),
    })
}

/// GET `path` on `conn`; the status and the body as text.
async fn get(conn: &mut Connection, path: &str) -> Result<(u16, String), hyper::Error> {
    let req = Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .expect("a valid request");
    // A keep-alive connection takes the next request once the last one is done.
    conn.sender.ready().await?;
    let res = conn.sender.send_request(req).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The server used when no address is given.
async fn own_server() -> SocketAddr {
    async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        if req.uri().path() == "/slow" {
            sleep(Duration::from_secs(5)).await;
        }
        Ok(Response::new(Full::new(Bytes::from_static(
            b"Hello, World!",
        ))))
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    tasklane::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tasklane::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .serve_connection(Io::new(stream), hyper::service::service_fn(handle))
                    .await;
            })
            .detach();
        }
    })
    .detach();
    addr
}

#[tasklane::main]
async fn main() {
    let given: Option<SocketAddr> = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("an address such as 127.0.0.1:3000"));
    let addr = match given {
        Some(a) => a,
        None => own_server().await,
    };
    println!("fetching from http://{addr}");

    let mut conn = connect(addr).await.expect("connect");
    for i in 1..=5 {
        let start = Instant::now();
        let (status, body) = wait_for(get(&mut conn, "/"), DEADLINE)
            .await
            .expect("within the deadline")
            .expect("a response");
        println!("GET / #{i}: {status} {body:?} in {:?}", start.elapsed());
        assert_eq!(status, 200);
        assert_eq!(body, "Hello, World!");
    }
    if given.is_some() {
        return;
    }

    let start = Instant::now();
    let slow = wait_for(get(&mut conn, "/slow"), DEADLINE).await;
    let waited = start.elapsed();
    let outcome = match &slow {
        Ok(_) => "answered".to_string(),
        Err(e) => e.to_string(),
    };
    println!("GET /slow: {outcome} after {waited:?} (deadline {DEADLINE:?})");
    assert!(slow.is_err(), "the deadline passed first");
    assert!(waited >= DEADLINE && waited < Duration::from_secs(5));

    // The old connection was abandoned mid-request; a new one serves on.
    drop(conn);
    let mut conn = connect(addr).await.expect("reconnect");
    let (status, body) = wait_for(get(&mut conn, "/"), DEADLINE)
        .await
        .expect("within the deadline")
        .expect("a response");
    println!("GET / on a new connection: {status} {body:?}");
    assert_eq!((status, body.as_str()), (200, "Hello, World!"));
    println!("all requests checked");
}
