//! An axum `Router` served on tasklane.
//!
//! `axum::serve` is written for tokio's listener, so it does not apply
//! here. What does: axum's `Router` is a tower `Service`, hyper-util's
//! `TowerToHyperService` turns it into a hyper service, and each accepted
//! connection is served by hyper-util's auto builder (HTTP/1.1 and HTTP/2)
//! over `tasklane::hyper::Io`, with tasklane's executor and timer. Build
//! axum without its `tokio` feature (`default-features = false`).
//!
//! Two routes share state: `POST /visits` counts a visit and returns the
//! new count, `GET /visits` reads it as JSON.
//!
//! ```sh
//! cargo run --example axum_router               # http://127.0.0.1:3001, Ctrl-C stops it
//! cargo run --example axum_router -- --self-test
//! ```
//!
//! `--self-test` serves on a free port, sends the requests itself and
//! checks the answers.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use futures_lite::future;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tasklane::hyper::{Executor, Io, Timer};
use tasklane::net::{TcpListener, TcpStream};

/// The state both routes share.
#[derive(Default)]
struct AppState {
    visits: AtomicU64,
}

async fn count_visit(State(state): State<Arc<AppState>>) -> String {
    let n = state.visits.fetch_add(1, Ordering::SeqCst) + 1;
    format!("visit {n}")
}

async fn read_visits(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "visits": state.visits.load(Ordering::SeqCst) }))
}

fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/visits", get(read_visits).post(count_visit))
        .route("/", get(|| async { "Hello from axum on tasklane" }))
        .with_state(state)
}

/// The accept loop: one task per connection, serving `router` over `Io`.
async fn serve(listener: TcpListener, router: Router) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tasklane::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        tasklane::task::Builder::new()
            .name(format!("conn-{peer}"))
            .spawn(async move {
                let mut builder = auto::Builder::new(Executor);
                builder.http1().timer(Timer);
                if let Err(e) = builder.serve_connection(Io::new(stream), service).await {
                    eprintln!("connection error: {e}");
                }
            })
            .detach();
    }
}

/// Sends one request on a fresh connection; the status and the body.
async fn request(addr: SocketAddr, method: Method, path: &str) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
        .await
        .expect("handshake");
    let _driver = tasklane::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    let res = sender.send_request(req).await.expect("a response");
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tasklane::main]
async fn main() {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let addr = if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3001"
    };
    let listener = TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let state = Arc::new(AppState::default());
    println!("axum on tasklane: http://{addr}");
    let server = serve(listener, app(state.clone()));
    if !self_test {
        println!("press Ctrl-C to stop");
        future::or(server, async {
            tasklane::signal::ctrl_c().await.expect("signal handler");
        })
        .await;
        return;
    }

    let server = tasklane::spawn(server);
    let checks = [
        (Method::GET, "/", 200, "Hello from axum on tasklane"),
        (Method::POST, "/visits", 200, "visit 1"),
        (Method::POST, "/visits", 200, "visit 2"),
        (Method::GET, "/visits", 200, r#"{"visits":2}"#),
        (Method::GET, "/nowhere", 404, ""),
    ];
    for (method, path, status, body) in checks {
        let got = request(addr, method.clone(), path).await;
        println!("{method} {path} -> {} {:?}", got.0, got.1);
        assert_eq!(got, (status, body.to_string()));
    }
    assert_eq!(state.visits.load(Ordering::SeqCst), 2);
    server.cancel();
    println!("self-test passed");
}
