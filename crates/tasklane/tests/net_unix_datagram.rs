//! `net::unix::UnixDatagram`: a round trip between sockets bound to paths,
//! a pair, an unbound sender, `connect` then `send`/`recv`, a full queue
//! that makes `send` wait, cancel safety of `recv` and `send`, and bad
//! paths as clear errors.

mod common;
mod fsutil;
mod netutil;

use common::rt;
use fsutil::TempDir;
use futures_lite::future::poll_once;
use netutil::within;
use std::io::ErrorKind;
use std::pin::pin;
use tasklane::net::unix::UnixDatagram;

/// Two sockets bound to paths exchange datagrams with `send_to` and
/// `recv_from`: boundaries are kept, and each sees the other's path as the
/// sender; a reply reaches a task already waiting for it.
#[test]
fn round_trip_between_paths() {
    let dir = TempDir::new("unix-dgram");
    let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
    rt(2).block_on(within("unix datagram round trip", async {
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(pa.as_path()));

        assert_eq!(a.send_to(b"first", &pb).await.unwrap(), 5);
        assert_eq!(a.send_to(b"second!", &pb).await.unwrap(), 7);
        let mut buf = [0; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"first"[..], Some(pa.as_path()))
        );
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"second!");

        let a = std::sync::Arc::new(a);
        let waiting = {
            let a = a.clone();
            tasklane::spawn(async move {
                let mut buf = [0; 64];
                let (n, from) = a.recv_from(&mut buf).await.unwrap();
                (buf[..n].to_vec(), from.as_pathname().map(|p| p.to_owned()))
            })
        };
        tasklane::yield_now().await;
        b.send_to(b"reply", &pa).await.unwrap();
        assert_eq!(
            waiting.await.unwrap(),
            (b"reply".to_vec(), Some(pb.clone()))
        );
    }));
}

/// A pair talks both ways with `send` and `recv`; an unbound socket can
/// send to a bound one (which sees an unnamed sender) after `connect`.
#[test]
fn pair_unbound_and_connect() {
    let dir = TempDir::new("unix-dgram");
    let path = dir.join("server.sock");
    rt(2).block_on(within("pair and connect", async {
        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"ping").await.unwrap();
        let mut buf = [0; 16];
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        y.send(b"pong").await.unwrap();
        let n = x.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");

        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        assert_eq!(
            client.send(b"x").await.unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        client.connect(&path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        client.send(b"hello").await.unwrap();
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert!(
            from.is_unnamed(),
            "an unbound sender has no address: {from:?}"
        );
        assert!(client.local_addr().unwrap().is_unnamed());
    }));
}

/// A `recv` suspended and dropped takes nothing: a datagram sent after it
/// was suspended (and that woke it) is received by the next `recv`; ten
/// `recv`s cancelled in turn under a burst lose none of it.
#[test]
fn a_cancelled_recv_loses_no_datagram() {
    rt(2).block_on(within("cancelled recv", async {
        let (x, y) = UnixDatagram::pair().unwrap();
        let mut buf = [0; 16];
        {
            let mut recv = pin!(y.recv(&mut buf));
            assert!(poll_once(recv.as_mut()).await.is_none());
            x.send(b"kept").await.unwrap();
            // Dropped while woken, before it runs again.
        }
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"kept");

        let mut received = Vec::new();
        for i in 0..10u8 {
            {
                let mut recv = pin!(y.recv(&mut buf));
                if let Some(n) = poll_once(recv.as_mut()).await {
                    panic!("recv returned {n:?} with nothing sent");
                }
                x.send(&[i]).await.unwrap();
            }
            let n = y.recv(&mut buf).await.unwrap();
            received.extend_from_slice(&buf[..n]);
        }
        assert_eq!(received, (0..10).collect::<Vec<u8>>());
        assert_eq!(
            y.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    }));
}

/// With the peer's queue full, `try_send` is `WouldBlock` and `send`
/// waits; a waiting `send` that is dropped sent nothing; once the reader
/// drains the queue, a `send` goes through. Every datagram sent is
/// received once, in order.
#[test]
fn a_full_queue_makes_send_wait() {
    rt(2).block_on(within("full queue", async {
        let (x, y) = UnixDatagram::pair().unwrap();
        // A new socket is writable once the reactor has seen it so; from
        // then on a `WouldBlock` comes from the kernel: the queue is full.
        x.writable().await.unwrap();
        let mut sent = 0u32;
        loop {
            match x.try_send(&sent.to_le_bytes()) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(sent > 0);
        {
            let mut send = pin!(x.send(b"never"));
            assert!(
                poll_once(send.as_mut()).await.is_none(),
                "send did not wait on a full queue"
            );
        }
        let waiting = {
            let x = std::sync::Arc::new(x);
            let x2 = x.clone();
            (
                tasklane::spawn(async move { x2.send(&u32::MAX.to_le_bytes()).await }),
                x,
            )
        };
        let mut buf = [0; 8];
        for i in 0..sent {
            let n = y.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes(), "datagram {i}");
        }
        assert_eq!(waiting.0.await.unwrap().unwrap(), 4);
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(
            &buf[..n],
            &u32::MAX.to_le_bytes(),
            "the dropped send went through"
        );
    }));
}

/// Bad paths are clear errors: binding a path that exists, sending to or
/// connecting to a path where nothing is bound, a path too long for a
/// socket address.
#[test]
fn bad_paths_are_clear_errors() {
    let dir = TempDir::new("unix-dgram");
    let path = dir.join("taken.sock");
    rt(1).block_on(within("bad paths", async {
        let _taken = UnixDatagram::bind(&path).unwrap();
        assert_eq!(
            UnixDatagram::bind(&path).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        let nobody = dir.join("nobody.sock");
        let s = UnixDatagram::unbound().unwrap();
        assert_eq!(
            s.send_to(b"x", &nobody).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(s.connect(&nobody).unwrap_err().kind(), ErrorKind::NotFound);
        let long = dir.join(&"x".repeat(200));
        assert_eq!(
            UnixDatagram::bind(&long).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }));
}
