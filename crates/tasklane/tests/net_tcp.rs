//! TCP on loopback: many concurrent echo connections, a refused connect,
//! addresses and `TCP_NODELAY`, half-close, split halves in two tasks, a
//! peer reset, a stream dropped with data still arriving, and a stream that
//! outlives its runtime.

mod common;
mod netutil;

use common::rt;
use futures_lite::future::zip;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use netutil::{SignalOnPending, echo, pattern, wait_pending, within};
use socket2::SockRef;
use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};
use tasklane::net::{TcpListener, TcpStream};

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Whether `e` is what a peer's reset looks like on the next call.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

/// 64 clients connect at once; a server task per connection echoes. Each
/// client writes its own 100 kB pattern in chunks while it reads, then shuts
/// its write side down, and must get back exactly its bytes, then end of
/// stream.
#[test]
fn sixty_four_concurrent_connections_each_echo_100_kb() {
    const CONNS: u64 = 64;
    const LEN: usize = 100_000;
    const CHUNK: usize = 7_000; // not a divisor of LEN: the last chunk is short
    let rt = rt(2);
    let started = Instant::now();
    rt.block_on(within("64 echo connections", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tasklane::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CONNS {
                let (s, _) = listener.accept().await.unwrap();
                conns.push(tasklane::spawn(echo(s)));
            }
            let mut echoed = 0;
            for c in conns {
                echoed += c.await.unwrap().unwrap();
            }
            echoed
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                tasklane::spawn(async move {
                    let s = TcpStream::connect(addr).await.unwrap();
                    let data = pattern(i, LEN);
                    let write = async {
                        let mut w = &s;
                        for chunk in data.chunks(CHUNK) {
                            w.write_all(chunk).await.unwrap();
                        }
                        w.close().await.unwrap();
                    };
                    let read = async {
                        let mut r = &s;
                        let mut back = vec![0; LEN];
                        r.read_exact(&mut back).await.unwrap();
                        let mut more = [0; 1];
                        let eof = r.read(&mut more).await.unwrap();
                        (back, eof)
                    };
                    let ((), (back, eof)) = zip(write, read).await;
                    assert!(back == data, "connection {i}: echoed bytes differ");
                    assert_eq!(eof, 0, "connection {i}: more than was sent came back");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), CONNS as usize * LEN);
    }));
    eprintln!("64 x 100 kB echoed in {:?}", started.elapsed());
}

/// A closed port is `ConnectionRefused` at once, from a task and from
/// `block_on`, and for several connects at the same time.
#[test]
fn connecting_to_a_closed_port_is_refused_promptly() {
    let rt = rt(2);
    let addr = closed_port();
    let check = move || async move {
        let start = Instant::now();
        let err = TcpStream::connect(addr)
            .await
            .expect_err("connected to a closed port");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        let took = start.elapsed();
        assert!(took < Duration::from_secs(5), "refusal took {took:?}");
    };
    rt.block_on(within("connect from block_on", check()));
    rt.block_on(within("connect from a task", rt.spawn(check())))
        .unwrap();
    let many: Vec<_> = (0..8).map(|_| rt.spawn(check())).collect();
    for h in many {
        rt.block_on(within("concurrent connects", h)).unwrap();
    }
}

/// Both ends agree on each other's addresses, and `TCP_NODELAY` reads back
/// what was set.
#[test]
fn addresses_and_nodelay() {
    let rt = rt(2);
    rt.block_on(within("addresses", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let laddr = listener.local_addr().unwrap();
        assert!(laddr.ip().is_loopback());
        assert_ne!(laddr.port(), 0, "the listener reports its bound port");
        let (client, accepted) = zip(TcpStream::connect(laddr), listener.accept()).await;
        let client = client.unwrap();
        let (server, from) = accepted.unwrap();

        assert_eq!(client.peer_addr().unwrap(), laddr);
        assert_eq!(server.local_addr().unwrap(), laddr);
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        assert_eq!(from, client.local_addr().unwrap());

        for s in [&client, &server] {
            s.set_nodelay(true).unwrap();
            assert!(s.nodelay().unwrap());
            s.set_nodelay(false).unwrap();
            assert!(!s.nodelay().unwrap());
        }
        // Binding by name works too (localhost resolves without DNS).
        let named = TcpListener::bind("localhost:0").await.unwrap();
        assert!(named.local_addr().unwrap().ip().is_loopback());
    }));
}

/// The client sends a request and shuts its write side down; the server
/// reads to end of stream, then still writes a reply (larger than the
/// socket buffers, so the server waits for the client to read), which the
/// client reads in full. The client can no longer write.
#[test]
fn half_close_the_peer_reads_eof_and_still_replies() {
    const REPLY: usize = 2 * 1024 * 1024;
    let rt = rt(2);
    rt.block_on(within("half-close", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tasklane::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            s.read_to_end(&mut request).await.unwrap();
            s.write_all(&pattern(7, REPLY)).await.unwrap();
            request
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"the whole request").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(server.await.unwrap(), b"the whole request");
        assert!(reply == pattern(7, REPLY), "the reply differs");

        let err = client
            .write_all(b"more")
            .await
            .expect_err("wrote after shutting the write side down");
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    }));
}

/// `into_split`: the read half in one task and the write half in another,
/// each waiting on its own direction, move 1 MB through an echo server at
/// the same time. Closing the write half ends the echo, so the read half
/// sees end of stream.
#[test]
fn owned_halves_read_and_write_from_two_tasks() {
    const LEN: usize = 1024 * 1024;
    let rt = rt(2);
    rt.block_on(within("split halves", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tasklane::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            echo(s).await.unwrap()
        });
        let client = TcpStream::connect(addr).await.unwrap();
        let local = client.local_addr().unwrap();
        let (mut r, mut w) = client.into_split();
        assert_eq!(r.stream().local_addr().unwrap(), local);
        assert_eq!(w.stream().peer_addr().unwrap(), addr);

        let reader = tasklane::spawn(async move {
            let mut back = Vec::with_capacity(LEN);
            r.read_to_end(&mut back).await.unwrap();
            back
        });
        let writer = tasklane::spawn(async move {
            let data = pattern(3, LEN);
            for chunk in data.chunks(10_000) {
                w.write_all(chunk).await.unwrap();
            }
            w.close().await.unwrap();
        });
        writer.await.unwrap();
        let back = reader.await.unwrap();
        assert_eq!(back.len(), LEN);
        assert!(back == pattern(3, LEN), "echoed bytes differ");
        assert_eq!(server.await.unwrap(), LEN);
    }));
}

/// Accepts the client's connection with a plain listener, so the test owns
/// the server end as a `std::net::TcpStream` it can set `SO_LINGER` on.
fn connect_to_std(rt: &tasklane::Runtime) -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = rt
        .block_on(within("connect", TcpStream::connect(addr)))
        .unwrap();
    // The handshake is done: the connection waits in the backlog.
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Closes `s` with `SO_LINGER` 0: the peer gets a reset, not a FIN.
fn reset(s: std::net::TcpStream) {
    SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
}

/// A client waiting in `read` when the peer resets the connection gets an
/// error, not a hang and not end of stream; so does its next write.
#[test]
fn a_peer_reset_fails_the_waiting_read() {
    let rt = rt(2);
    let (mut client, server) = connect_to_std(&rt);
    let (read, suspended) = SignalOnPending::new(async move {
        let mut buf = [0; 16];
        let r = client.read(&mut buf).await;
        (r, client)
    });
    let reader = rt.spawn(within("read across a reset", read));
    wait_pending("the read", &suspended);
    reset(server);
    let (r, mut client) = rt.block_on(reader).unwrap();
    let err = r.expect_err("read after the peer's reset");
    assert!(is_reset(&err), "read: {err:?}");
    rt.block_on(within("write after a reset", async {
        let err = client
            .write_all(b"anyone?")
            .await
            .expect_err("write after the peer's reset");
        assert!(is_reset(&err), "write: {err:?}");
        assert_eq!(
            client.peer_addr().unwrap_err().kind(),
            ErrorKind::NotConnected
        );
    }));
}

/// A client that is not reading when the reset arrives: its next write
/// fails. (On loopback the reset is normally processed before `close`
/// returns; the loop only allows for it still being in flight.)
#[test]
fn a_peer_reset_fails_the_next_write() {
    let rt = rt(2);
    let (mut client, server) = connect_to_std(&rt);
    reset(server);
    let err = rt.block_on(within("write after a reset", async {
        let mut accepted = 0;
        loop {
            match client.write(b"ping").await {
                Ok(_) => {
                    accepted += 1;
                    assert!(accepted < 10_000, "writes keep succeeding after a reset");
                    tasklane::yield_now().await;
                }
                Err(e) => break e,
            }
        }
    }));
    assert!(is_reset(&err), "write: {err:?}");
    // And the read after it: an error or end of stream, at once.
    let r = rt.block_on(within("read after a reset", async {
        let mut buf = [0; 4];
        client.read(&mut buf).await
    }));
    assert!(
        matches!(&r, Ok(0)) || r.as_ref().is_err_and(is_reset),
        "{r:?}"
    );
}

/// Data arrives for a stream (its readiness event on its way through the
/// reactor), and the stream is dropped unread, at once or after a few
/// scheduler turns. New connections made right after (which typically reuse
/// its descriptor number and reactor slot) work, and see only their own
/// bytes.
#[test]
fn a_stream_dropped_with_data_in_flight_does_not_disturb_new_ones() {
    const ROUNDS: usize = 200;
    let rt = rt(2);
    rt.block_on(within("drop with data in flight", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for round in 0..ROUNDS {
            let (old, accepted) = zip(TcpStream::connect(addr), listener.accept()).await;
            let old = old.unwrap();
            let (mut old_peer, _) = accepted.unwrap();
            old_peer
                .write_all(format!("old data of round {round}").as_bytes())
                .await
                .unwrap();
            for _ in 0..round % 4 {
                tasklane::yield_now().await;
            }
            drop(old);

            let (new, accepted) = zip(TcpStream::connect(addr), listener.accept()).await;
            let mut new = new.unwrap();
            let (mut new_peer, _) = accepted.unwrap();
            // Half the rounds, the new stream waits in read before its data
            // is sent; the others, the data is there before the first read.
            let expect = format!("new data of round {round}").into_bytes();
            let reader = tasklane::spawn(async move {
                let mut got = Vec::new();
                new.read_to_end(&mut got).await.unwrap();
                got
            });
            if round % 2 == 0 {
                tasklane::yield_now().await;
            }
            new_peer.write_all(&expect).await.unwrap();
            new_peer.close().await.unwrap();
            let got = reader.await.unwrap();
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expect),
                "round {round}"
            );
            drop(old_peer);
        }
    }));
}

/// A stream whose runtime has shut down: a read that has to wait fails with
/// an error saying so (docs/semantics.md), instead of waiting forever for
/// a reactor nobody drives any more.
#[test]
fn a_stream_outliving_its_runtime_fails_instead_of_hanging() {
    let first = rt(1);
    let (mut client, _server) = first.block_on(within("connect", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (c, s) = zip(TcpStream::connect(addr), listener.accept()).await;
        (c.unwrap(), s.unwrap())
    }));
    drop(first);
    // Another runtime only lends its timer here, to bound the wait.
    let second = rt(1);
    let r = second.block_on(tasklane::wait_for(
        async {
            let mut buf = [0; 8];
            client.read(&mut buf).await
        },
        Duration::from_secs(5),
    ));
    match r {
        Ok(Err(e)) => assert!(e.to_string().contains("shut down"), "unclear error: {e}"),
        Ok(Ok(n)) => panic!("read {n} bytes that nobody sent"),
        Err(_) => panic!("the read waited for 5 s on a runtime that is gone"),
    }
}
