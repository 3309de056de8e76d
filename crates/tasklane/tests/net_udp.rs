//! UDP on loopback: `send_to`/`recv_from`, `connect` with `send`/`recv`, a
//! burst of datagrams all received by a concurrent reader, and a connected
//! socket whose peer is gone.

mod common;
mod netutil;

use common::rt;
use netutil::{watched, within};
use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;
use tasklane::net::UdpSocket;

/// Two sockets exchange datagrams with `send_to` and `recv_from`; each sees
/// the other's address as the sender, and datagram boundaries are kept.
#[test]
fn send_to_and_recv_from() {
    let rt = rt(2);
    rt.block_on(within("send_to/recv_from", async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_ne!(a_addr.port(), 0);

        assert_eq!(a.send_to(b"hello", b_addr).await.unwrap(), 5);
        assert_eq!(a.send_to(b"world!", b_addr).await.unwrap(), 6);
        let mut buf = [0; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"hello"[..], a_addr));
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"world!"[..], a_addr));

        // The reply, received by a task already waiting for it.
        let a = Arc::new(a);
        let waiting = {
            let a = a.clone();
            tasklane::spawn(async move {
                let mut buf = [0; 64];
                let (n, from) = a.recv_from(&mut buf).await.unwrap();
                (buf[..n].to_vec(), from)
            })
        };
        tasklane::yield_now().await;
        b.send_to(b"reply", a_addr).await.unwrap();
        assert_eq!(waiting.await.unwrap(), (b"reply".to_vec(), b_addr));
    }));
}

/// After `connect`, `send` goes to the peer and `recv` only returns the
/// peer's datagrams: one from a third socket is filtered out.
#[test]
fn connect_then_send_and_recv() {
    let rt = rt(2);
    rt.block_on(within("connected UDP", async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);

        a.connect(b_addr).await.unwrap();
        b.connect(a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        assert_eq!(b.peer_addr().unwrap(), a_addr);

        stranger.send_to(b"not for you", b_addr).await.unwrap();
        a.send(b"ping").await.unwrap();
        let mut buf = [0; 64];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping", "recv returned a stranger's datagram");
        b.send(b"pong").await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");
    }));
}

/// 200 small datagrams sent as fast as possible while a task reads them:
/// on loopback, none is lost and none is duplicated.
#[test]
fn a_burst_of_datagrams_is_all_received() {
    const COUNT: u32 = 200;
    let rt = rt(2);
    rt.block_on(within("UDP burst", async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (rx_addr, tx_addr) = (rx.local_addr().unwrap(), tx.local_addr().unwrap());
        let reader = tasklane::spawn(async move {
            let mut seen = BTreeSet::new();
            let mut buf = [0; 64];
            while seen.len() < COUNT as usize {
                let (n, from) = rx.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, tx_addr);
                assert_eq!(n, 32, "datagram boundaries are kept");
                let seq = u32::from_le_bytes(buf[..4].try_into().unwrap());
                assert!(seq < COUNT, "unknown datagram {seq}");
                assert!(buf[4..n].iter().all(|&b| b == seq as u8));
                assert!(seen.insert(seq), "datagram {seq} received twice");
            }
            seen.len()
        });
        let writer = tasklane::spawn(async move {
            for seq in 0..COUNT {
                let mut d = [seq as u8; 32];
                d[..4].copy_from_slice(&seq.to_le_bytes());
                assert_eq!(tx.send_to(&d, rx_addr).await.unwrap(), 32);
            }
        });
        writer.await.unwrap();
        assert_eq!(reader.await.unwrap(), COUNT as usize);
    }));
}

/// A connected socket sends to a port nobody listens on: the ICMP error is
/// reported by the next `recv` as `ConnectionRefused`. After that the socket
/// is an ordinary socket again: a `recv` with nothing to read waits (it
/// neither fails again nor spins in the poll), and receives the next
/// datagram from the peer once someone binds that port.
#[test]
fn a_connected_socket_survives_a_refused_peer() {
    let check = async move {
        let gone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer = gone.local_addr().unwrap();
        drop(gone);
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a_addr = a.local_addr().unwrap();
        a.connect(peer).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        let mut buf = [0; 64];
        let err = within("the refusal", a.recv(&mut buf))
            .await
            .expect_err("received from a closed port");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

        // Nothing to read: the recv waits. (If the poll spun on the error
        // the reactor reported earlier, this would never return.)
        let waited = tasklane::wait_for(a.recv(&mut buf), Duration::from_millis(100)).await;
        assert!(waited.is_err(), "recv did not wait: {waited:?}");

        // The peer comes (back) to life on that port and answers.
        let b = UdpSocket::bind(peer).await.unwrap();
        b.send_to(b"here", a_addr).await.unwrap();
        let n = within("recv after the refusal", a.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"here");
    };
    // Watched from this thread: a task stuck spinning inside one poll is
    // beyond the reach of its own timeouts.
    watched(rt(2), "recv after a refused peer", check);
}

/// Two tasks waiting to receive on one shared socket: two datagrams reach
/// both (readiness wakes every waiter, not only the last to register).
#[test]
fn two_receivers_on_one_socket_both_get_a_datagram() {
    let rt = rt(2);
    rt.block_on(within("two receivers", async {
        let server = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = server.local_addr().unwrap();
        let mut waiting = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..2 {
            let s = server.clone();
            let (fut, rx) = netutil::SignalOnPending::new(async move {
                let mut buf = [0u8; 16];
                s.recv_from(&mut buf).await.unwrap().0
            });
            handles.push(tasklane::spawn(fut));
            waiting.push(rx);
        }
        for rx in &waiting {
            netutil::wait_pending("receiver", rx);
        }
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(b"one", addr).await.unwrap();
        client.send_to(b"two", addr).await.unwrap();
        let mut got = Vec::new();
        for h in handles {
            got.push(h.await.unwrap());
        }
        assert_eq!(got, [3, 3]);
    }));
}

/// `send_to` a name goes to the name's address of the socket's own family,
/// whichever the resolver lists first; a name with none is `InvalidInput`.
#[test]
fn send_to_a_name_picks_the_sockets_family() {
    rt(2).block_on(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = rx.local_addr().unwrap().port();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.send_to(b"hi", ("localhost", port)).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = rx.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"hi"[..], tx.local_addr().unwrap()));
        if let Ok(v6) = UdpSocket::bind("[::1]:0").await {
            let err = v6.send_to(b"hi", ("127.0.0.1", port)).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        }
    });
}
