//! Unix-domain stream sockets: a listener in a temporary directory echoing
//! to several clients, `pair()`, half-close, end of stream when the peer
//! goes, and connecting where nothing listens.

mod common;
mod fsutil;
mod netutil;

use common::rt;
use fsutil::TempDir;
use futures_lite::future::zip;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use netutil::{SignalOnPending, echo, pattern, wait_pending, within};
use std::io::ErrorKind;
use std::net::Shutdown;
use std::path::Path;
use tasklane::net::unix::{UnixListener, UnixStream};

/// Eight clients of a listener bound to a path, each echoing 64 kB through
/// its own server task; the listener reports its path, and the clients'
/// unnamed addresses.
#[test]
fn a_listener_on_a_path_echoes_to_several_clients() {
    const CLIENTS: u64 = 8;
    const LEN: usize = 64 * 1024;
    let dir = TempDir::new("unix");
    let path = dir.join("echo.sock");
    let rt = rt(2);
    rt.block_on(within("unix echo", async {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = tasklane::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CLIENTS {
                let (s, from) = listener.accept().await.unwrap();
                assert!(from.is_unnamed(), "clients did not bind: {from:?}");
                conns.push(tasklane::spawn(echo(s)));
            }
            let mut echoed = 0;
            for c in conns {
                echoed += c.await.unwrap().unwrap();
            }
            echoed
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let path = path.clone();
                tasklane::spawn(async move {
                    let s = UnixStream::connect(&path).await.unwrap();
                    assert_eq!(s.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
                    let data = pattern(i, LEN);
                    let write = async {
                        let mut w = &s;
                        for chunk in data.chunks(5_000) {
                            w.write_all(chunk).await.unwrap();
                        }
                        w.close().await.unwrap();
                    };
                    let read = async {
                        let mut r = &s;
                        let mut back = Vec::new();
                        r.read_to_end(&mut back).await.unwrap();
                        back
                    };
                    let ((), back) = zip(write, read).await;
                    assert!(back == data, "client {i}: echoed bytes differ");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), CLIENTS as usize * LEN);
    }));
}

/// `pair()`: bytes go both ways, in order, across 1 MB (more than the
/// socket buffers hold, so the writer waits for the reader).
#[test]
fn a_pair_carries_bytes_both_ways() {
    const LEN: usize = 1024 * 1024;
    let rt = rt(2);
    rt.block_on(within("pair", async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"to b").await.unwrap();
        b.write_all(b"to a").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"to b");
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"to a");

        let writer = tasklane::spawn(async move {
            a.write_all(&pattern(11, LEN)).await.unwrap();
            a
        });
        let mut got = vec![0; LEN];
        b.read_exact(&mut got).await.unwrap();
        assert!(got == pattern(11, LEN), "bytes differ");
        writer.await.unwrap();
    }));
}

/// One end shuts its write side down: the other reads to end of stream,
/// then still replies, and the first reads the reply. Writing after the
/// shutdown fails.
#[test]
fn half_close_the_peer_reads_eof_and_still_replies() {
    let rt = rt(2);
    rt.block_on(within("half-close", async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let peer = tasklane::spawn(async move {
            let mut request = Vec::new();
            b.read_to_end(&mut request).await.unwrap();
            b.write_all(b"reply after eof").await.unwrap();
            request
        });
        a.write_all(b"request").await.unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut reply = [0; 15];
        a.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply after eof");
        assert_eq!(peer.await.unwrap(), b"request");
        let err = a.write_all(b"x").await.expect_err("wrote after shutdown");
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    }));
}

/// A task waiting in `read` sees end of stream when the other end is
/// dropped, rather than waiting on.
#[test]
fn a_waiting_read_sees_end_of_stream_when_the_peer_goes() {
    let rt = rt(2);
    let (a, b) = rt.block_on(async { UnixStream::pair().unwrap() });
    let (read, suspended) = SignalOnPending::new(async move {
        let mut b = b;
        let mut buf = [0; 8];
        b.read(&mut buf).await
    });
    let reader = rt.spawn(within("read until the peer goes", read));
    wait_pending("the read", &suspended);
    drop(a);
    assert_eq!(rt.block_on(reader).unwrap().unwrap(), 0);
}

/// Connecting to a path that does not exist is `NotFound`; to a socket file
/// whose listener is gone, `ConnectionRefused`. Both at once.
#[test]
fn connecting_where_nothing_listens_fails() {
    let dir = TempDir::new("unix");
    let rt = rt(2);
    rt.block_on(within("connect errors", async {
        let missing = dir.join("missing.sock");
        let err = UnixStream::connect(&missing)
            .await
            .expect_err("connected to a missing path");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

        let stale = dir.join("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        assert!(Path::new(&stale).exists(), "the socket file stays");
        let err = UnixStream::connect(&stale)
            .await
            .expect_err("connected to a closed listener");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

        // Binding over an existing path is refused too.
        let err = UnixListener::bind(&stale).expect_err("bound over a file");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    }));
}
