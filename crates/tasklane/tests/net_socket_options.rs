//! Socket options, each read back after setting it: `TcpSocket` before
//! `listen` and `connect` (and what the stream keeps), `TcpStream`,
//! `TcpListener` and `UdpSocket`; `SO_REUSEPORT` letting two listeners
//! share a port; `TcpSocket::connect` by name and with a family mismatch.

mod common;
mod netutil;

use common::rt;
use netutil::within;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tasklane::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

fn loopback_any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Every `TcpSocket` option reads back as set, both ways; buffer sizes
/// read back at least as large as asked (Linux doubles them).
#[test]
fn tcp_socket_options_read_back() {
    let s = TcpSocket::new_v4().unwrap();
    for on in [true, false, true] {
        s.set_reuseaddr(on).unwrap();
        assert_eq!(s.reuseaddr().unwrap(), on);
        s.set_reuseport(on).unwrap();
        assert_eq!(s.reuseport().unwrap(), on);
        s.set_keepalive(on).unwrap();
        assert_eq!(s.keepalive().unwrap(), on);
        s.set_nodelay(on).unwrap();
        assert_eq!(s.nodelay().unwrap(), on);
    }
    for linger in [Some(Duration::from_secs(3)), Some(Duration::ZERO), None] {
        s.set_linger(linger).unwrap();
        assert_eq!(s.linger().unwrap(), linger);
    }
    for size in [16 * 1024, 64 * 1024] {
        s.set_send_buffer_size(size).unwrap();
        let got = s.send_buffer_size().unwrap();
        assert!(
            got >= size,
            "asked for a {size}-byte send buffer, got {got}"
        );
        s.set_recv_buffer_size(size).unwrap();
        let got = s.recv_buffer_size().unwrap();
        assert!(
            got >= size,
            "asked for a {size}-byte receive buffer, got {got}"
        );
    }
    // A bigger request gives a bigger buffer (below the system ceiling).
    s.set_recv_buffer_size(4096).unwrap();
    let small = s.recv_buffer_size().unwrap();
    s.set_recv_buffer_size(100 * 1024).unwrap();
    assert!(s.recv_buffer_size().unwrap() > small);

    s.bind(loopback_any_port()).unwrap();
    let bound = s.local_addr().unwrap();
    assert!(bound.ip().is_loopback() && bound.port() != 0);
    assert!(s.take_error().unwrap().is_none());
}

/// Options set on a `TcpSocket` before `connect` stay on the stream; a
/// listener made by `listen` accepts, and its connections inherit
/// keepalive from it. The client was bound first, so its local address is
/// the one chosen.
#[test]
fn tcp_socket_options_carry_over_to_the_stream_and_listener() {
    rt(2).block_on(within("TcpSocket connect/listen", async {
        let ls = TcpSocket::new_v4().unwrap();
        ls.set_reuseaddr(true).unwrap();
        ls.set_keepalive(true).unwrap();
        ls.bind(loopback_any_port()).unwrap();
        let listener = ls.listen(8).unwrap();
        let addr = listener.local_addr().unwrap();

        let cs = TcpSocket::new_v4().unwrap();
        cs.set_nodelay(true).unwrap();
        cs.set_keepalive(true).unwrap();
        cs.set_linger(Some(Duration::from_secs(2))).unwrap();
        cs.set_send_buffer_size(32 * 1024).unwrap();
        let sndbuf = cs.send_buffer_size().unwrap();
        cs.bind(loopback_any_port()).unwrap();
        let client_addr = cs.local_addr().unwrap();
        let (stream, accepted) =
            futures_lite::future::zip(cs.connect(addr), listener.accept()).await;
        let stream = stream.unwrap();
        let (server, peer) = accepted.unwrap();

        assert_eq!(stream.local_addr().unwrap(), client_addr);
        assert_eq!(peer, client_addr);
        assert!(stream.nodelay().unwrap());
        assert!(stream.keepalive().unwrap());
        assert_eq!(stream.linger().unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(
            TcpSocket::from_std_stream(std_clone(&stream))
                .send_buffer_size()
                .unwrap(),
            sndbuf
        );
        assert!(
            server.keepalive().unwrap(),
            "accepted stream did not inherit SO_KEEPALIVE"
        );
    }));
}

/// A standard stream on the same socket as `s` (a duplicated descriptor).
fn std_clone(s: &TcpStream) -> std::net::TcpStream {
    use std::os::fd::AsFd;
    std::net::TcpStream::from(s.as_fd().try_clone_to_owned().unwrap())
}

/// With `SO_REUSEPORT` on both, two listeners bind one port; without it
/// the second bind fails with `AddrInUse`.
#[test]
fn reuseport_lets_two_listeners_share_a_port() {
    rt(1).block_on(within("SO_REUSEPORT", async {
        let first = TcpSocket::new_v4().unwrap();
        first.set_reuseport(true).unwrap();
        first.bind(loopback_any_port()).unwrap();
        let addr = first.local_addr().unwrap();
        let _l1 = first.listen(8).unwrap();

        let second = TcpSocket::new_v4().unwrap();
        second.set_reuseport(true).unwrap();
        second.bind(addr).unwrap();
        let _l2 = second.listen(8).unwrap();

        let third = TcpSocket::new_v4().unwrap();
        let e = third.bind(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
    }));
}

/// `TcpSocket::connect` resolves a name and picks the socket's family; an
/// address of the other family only is a clear error, and so is binding
/// one.
#[test]
fn tcp_socket_connect_by_name_and_family_mismatch() {
    rt(2).block_on(within("TcpSocket::connect by name", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tasklane::spawn(async move { listener.accept().await.map(drop) });
        let s = TcpSocket::new_v4()
            .unwrap()
            .connect(("localhost", port))
            .await
            .unwrap();
        assert!(s.peer_addr().unwrap().ip().is_loopback());
        accept.await.unwrap().unwrap();

        let v4 = TcpSocket::new_v4().unwrap();
        let e = v4.bind("[::1]:0".parse().unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = v4.connect("[::1]:80").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("IPv4"), "{e}");

        match TcpSocket::new_v6() {
            Ok(v6) => {
                let e = v6.connect("127.0.0.1:80").await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            }
            // IPv6 switched off on this host.
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EAFNOSUPPORT), "{e}"),
        }
    }));
}

/// `TcpStream` options: nodelay, keepalive, linger and ttl read back; a
/// ttl of 0 is rejected. The listener's ttl too.
#[test]
fn tcp_stream_and_listener_options_read_back() {
    rt(2).block_on(within("TcpStream options", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.set_ttl(42).unwrap();
        assert_eq!(listener.ttl().unwrap(), 42);
        let addr = listener.local_addr().unwrap();
        let (c, accepted) =
            futures_lite::future::zip(TcpStream::connect(addr), listener.accept()).await;
        let (c, (s, _)) = (c.unwrap(), accepted.unwrap());
        assert_eq!(
            s.ttl().unwrap(),
            42,
            "accepted stream did not inherit the listener's ttl"
        );

        for on in [true, false] {
            c.set_nodelay(on).unwrap();
            assert_eq!(c.nodelay().unwrap(), on);
            c.set_keepalive(on).unwrap();
            assert_eq!(c.keepalive().unwrap(), on);
        }
        for linger in [Some(Duration::from_secs(7)), None] {
            c.set_linger(linger).unwrap();
            assert_eq!(c.linger().unwrap(), linger);
        }
        for ttl in [1, 64, 255] {
            c.set_ttl(ttl).unwrap();
            assert_eq!(c.ttl().unwrap(), ttl);
        }
        assert_eq!(c.set_ttl(0).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(c.take_error().unwrap().is_none());
    }));
}

/// `UdpSocket` options: broadcast, ttl, multicast loop and ttl read back;
/// joining and leaving an IPv4 multicast group works, leaving twice is an
/// error, and joining a unicast address is rejected.
#[test]
fn udp_options_read_back() {
    rt(1).block_on(within("UdpSocket options", async {
        let u = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        for on in [true, false] {
            u.set_broadcast(on).unwrap();
            assert_eq!(u.broadcast().unwrap(), on);
            u.set_multicast_loop_v4(on).unwrap();
            assert_eq!(u.multicast_loop_v4().unwrap(), on);
        }
        for ttl in [1, 128] {
            u.set_ttl(ttl).unwrap();
            assert_eq!(u.ttl().unwrap(), ttl);
            u.set_multicast_ttl_v4(ttl).unwrap();
            assert_eq!(u.multicast_ttl_v4().unwrap(), ttl);
        }

        let group = Ipv4Addr::new(239, 255, 42, 99);
        match u.join_multicast_v4(group, Ipv4Addr::UNSPECIFIED) {
            Ok(()) => {
                u.leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED).unwrap();
                let e = u
                    .leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED)
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::AddrNotAvailable, "{e}");
            }
            // A host with no multicast-capable interface at all.
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENODEV), "{e}"),
        }
        let e = u
            .join_multicast_v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::UNSPECIFIED)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(u.take_error().unwrap().is_none());
    }));
}
