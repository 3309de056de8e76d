//! Name resolution: `lookup_host` of `localhost` and of a name that does
//! not exist; host names accepted by `connect`, `bind` and `send_to`; bad
//! address strings; and a lookup stuck in the blocking pool while the
//! workers go on serving, with literal addresses never touching the pool.

mod common;
mod netutil;

use common::occupy_blocking_thread;
use futures_lite::future::poll_once;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use netutil::{SignalOnPending, wait_pending, within};
use std::io::ErrorKind;
use std::net::SocketAddr;
use tasklane::Runtime;
use tasklane::net::{TcpListener, TcpStream, UdpSocket, lookup_host};

fn rt(workers: usize, blocking: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .max_blocking_threads(blocking)
        .build()
        .unwrap()
}

/// `localhost` resolves to loopback addresses with the given port, as a
/// string and as a pair; a literal address comes back as it is.
#[test]
fn localhost_resolves_to_loopback() {
    rt(2, 4).block_on(within("lookup localhost", async {
        for addrs in [
            lookup_host("localhost:8080")
                .await
                .unwrap()
                .collect::<Vec<_>>(),
            lookup_host(("localhost", 8080)).await.unwrap().collect(),
            lookup_host(String::from("localhost:8080"))
                .await
                .unwrap()
                .collect(),
        ] {
            assert!(!addrs.is_empty());
            for a in &addrs {
                assert!(a.ip().is_loopback() && a.port() == 8080, "{a}");
            }
        }
        let literal: SocketAddr = "[::1]:7".parse().unwrap();
        let back: Vec<_> = lookup_host("[::1]:7").await.unwrap().collect();
        assert_eq!(back, [literal]);
    }));
}

/// A name that does not exist (the `.invalid` top-level domain is reserved
/// never to exist) is an error that names it, not a panic or an empty
/// list; so is connecting to it.
#[test]
fn a_name_that_does_not_exist_is_a_clear_error() {
    rt(2, 4).block_on(within("lookup of a missing name", async {
        let host = "no-such-host.tasklane.invalid";
        let e = lookup_host((host, 80))
            .await
            .expect_err("resolved a name that does not exist");
        assert!(e.to_string().contains(host), "{e}");
        let e = TcpStream::connect(format!("{host}:80")).await.unwrap_err();
        assert!(e.to_string().contains(host), "{e}");
    }));
}

/// Malformed address strings are `InvalidInput` errors saying what is
/// wrong, from every API that takes an address.
#[test]
fn bad_address_strings_are_clear_errors() {
    rt(2, 4).block_on(within("bad addresses", async {
        for bad in [
            "localhost",
            "127.0.0.1",
            "localhost:http",
            "localhost:70000",
            ":80",
            "",
        ] {
            let e = lookup_host(bad).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}: {e}");
            assert!(
                e.to_string().contains("invalid socket address"),
                "{bad:?}: {e}"
            );
            let e = TcpStream::connect(bad).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "connect {bad:?}: {e}");
            let e = TcpListener::bind(bad).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "bind {bad:?}: {e}");
            let e = UdpSocket::bind(bad).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "udp bind {bad:?}: {e}");
        }
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let e = udp.send_to(b"x", "nowhere").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let empty: &[SocketAddr] = &[];
        let e = TcpStream::connect(empty).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }));
}

/// `bind`, `connect`, `send_to` and UDP `connect` take host names.
#[test]
fn sockets_take_host_names() {
    rt(2, 4).block_on(within("names in socket calls", async {
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tasklane::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            s.read_exact(&mut buf).await.unwrap();
            buf
        });
        let mut c = TcpStream::connect(("localhost", port)).await.unwrap();
        c.write_all(b"name").await.unwrap();
        assert_eq!(&server.await.unwrap(), b"name");

        let a = UdpSocket::bind(("localhost", 0)).await.unwrap();
        // Both on `localhost`'s first address, so that they share a family
        // even where it resolves to `::1` first.
        let b = UdpSocket::bind("localhost:0").await.unwrap();
        let b_port = b.local_addr().unwrap().port();
        a.send_to(b"to a name", format!("localhost:{b_port}"))
            .await
            .unwrap();
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"to a name"[..], a.local_addr().unwrap())
        );
        a.connect(("localhost", b_port)).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    }));
}

/// The blocking pool has one thread, and a job stands in for a resolver
/// stuck on an unreachable DNS server by holding it. A lookup then waits in
/// the pool (it would complete if it ran on a worker), and so does a
/// `connect` to a name; meanwhile the workers go on serving: tasks run, and
/// a TCP echo by literal address completes (so literal addresses never go
/// to the pool). Once the pool frees up, both finish.
#[test]
fn a_stuck_resolver_holds_no_worker() {
    let rt = rt(2, 1);
    let (gate, hog) = occupy_blocking_thread(&rt.handle());

    let (lookup, lookup_waiting) = SignalOnPending::new(async {
        lookup_host("localhost:9")
            .await
            .map(|a| a.collect::<Vec<_>>())
    });
    let lookup = rt.spawn(lookup);
    wait_pending("lookup", &lookup_waiting);

    rt.block_on(within("serving while the resolver is stuck", async {
        // A connect to a name waits for the pool too.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut by_name = Box::pin(TcpStream::connect(("localhost", addr.port())));
        assert!(poll_once(by_name.as_mut()).await.is_none());

        // Tasks on the workers run.
        let sums: Vec<_> = (0..64u64)
            .map(|i| tasklane::spawn(async move { i * 2 }))
            .collect();
        let mut total = 0;
        for s in sums {
            total += s.await.unwrap();
        }
        assert_eq!(total, 64 * 63);

        // I/O by literal address is served.
        let echo = tasklane::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut buf = [0; 5];
            (&s).read_exact(&mut buf).await.unwrap();
            (&s).write_all(&buf).await.unwrap();
            listener
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"alive").await.unwrap();
        let mut buf = [0; 5];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"alive");
        let listener = echo.await.unwrap();

        assert!(
            !lookup.is_finished(),
            "the lookup did not wait for the pool"
        );
        assert!(poll_once(by_name.as_mut()).await.is_none());

        gate.open();
        let addrs = lookup.await.unwrap().unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        let accept = tasklane::spawn(async move { listener.accept().await.map(drop) });
        by_name.await.unwrap();
        accept.await.unwrap().unwrap();
    }));
    hog.detach();
}

/// The futures of the address-taking calls are `Send` for every kind of
/// address, so they can run in spawned tasks.
#[test]
fn address_futures_are_send() {
    fn send<T: Send>(_: T) {}
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let name = String::from("localhost:1");
    send(lookup_host(name.clone()));
    send(lookup_host(("localhost", 1)));
    send(lookup_host(&name));
    send(TcpStream::connect(addr));
    send(TcpStream::connect(("localhost".to_owned(), 1)));
    send(TcpListener::bind("localhost:0"));
    send(UdpSocket::bind(&[addr][..]));
    send(
        tasklane::net::TcpSocket::new_v4()
            .unwrap()
            .connect("localhost:1"),
    );
}
