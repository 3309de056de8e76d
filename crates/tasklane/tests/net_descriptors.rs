//! Every I/O type exposes its descriptor (`AsFd`, `AsRawFd`, agreeing with
//! each other, open, non-blocking) and adopts a standard blocking socket
//! with `from_std`, which then works without blocking a worker.

mod common;
mod netutil;

use common::rt;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use netutil::within;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net as unix_net;
use tasklane::net::unix::{UnixDatagram, UnixListener, UnixStream};
use tasklane::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

/// `AsFd` and `AsRawFd` name the same open descriptor, in non-blocking
/// mode.
fn check_fd<T: AsFd + AsRawFd>(what: &str, t: &T) {
    let raw = t.as_raw_fd();
    assert_eq!(
        t.as_fd().as_raw_fd(),
        raw,
        "{what}: AsFd and AsRawFd differ"
    );
    // SAFETY: `fcntl(F_GETFL)` on a descriptor `t` keeps open.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    assert!(flags >= 0, "{what}: descriptor {raw} is not open");
    assert!(
        flags & libc::O_NONBLOCK != 0,
        "{what}: descriptor {raw} is blocking"
    );
}

#[test]
fn every_type_exposes_its_descriptor() {
    let dir = std::env::temp_dir().join(format!("tasklane-net-fd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    rt(2).block_on(within("descriptors", async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (c, s) =
            futures_lite::future::zip(TcpStream::connect(l.local_addr().unwrap()), l.accept())
                .await;
        check_fd("TcpListener", &l);
        check_fd("TcpStream", &c.unwrap());
        check_fd("accepted TcpStream", &s.unwrap().0);
        check_fd("UdpSocket", &UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let ul = UnixListener::bind(dir.join("l.sock")).unwrap();
        check_fd("UnixListener", &ul);
        let (a, _b) = UnixStream::pair().unwrap();
        check_fd("UnixStream", &a);
        check_fd("UnixDatagram", &UnixDatagram::unbound().unwrap());
        // Blocking until `listen` or `connect`: only check it is open.
        let t = TcpSocket::new_v4().unwrap();
        assert_eq!(t.as_fd().as_raw_fd(), t.as_raw_fd());
    }));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Blocking standard sockets adopted with `from_std` carry data both ways
/// through the reactor (a blocking one would hang a worker: the readers
/// here start before anything is written).
#[test]
fn from_std_adopts_blocking_sockets() {
    let dir = std::env::temp_dir().join(format!("tasklane-net-from-std-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let rt = rt(1);
    rt.block_on(within("from_std", async {
        // TCP.
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_l.local_addr().unwrap();
        let l = TcpListener::from_std(std_l).unwrap();
        let std_c = std::net::TcpStream::connect(addr).unwrap();
        let (s, _) = l.accept().await.unwrap();
        let c = TcpStream::from_std(std_c).unwrap();
        let reader = tasklane::spawn(async move {
            let mut buf = [0; 3];
            (&s).read_exact(&mut buf).await.unwrap();
            buf
        });
        tasklane::yield_now().await;
        (&c).write_all(b"tcp").await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"tcp");

        // UDP.
        let a = UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        let b = UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        let b_addr = b.local_addr().unwrap();
        let reader = tasklane::spawn(async move {
            let mut buf = [0; 8];
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        tasklane::yield_now().await;
        a.send_to(b"udp", b_addr).await.unwrap();
        assert_eq!(reader.await.unwrap(), b"udp");

        // Unix stream and listener.
        let path = dir.join("s.sock");
        let ul = UnixListener::from_std(unix_net::UnixListener::bind(&path).unwrap()).unwrap();
        let uc = UnixStream::from_std(unix_net::UnixStream::connect(&path).unwrap()).unwrap();
        let (us, _) = ul.accept().await.unwrap();
        let reader = tasklane::spawn(async move {
            let mut buf = [0; 4];
            (&us).read_exact(&mut buf).await.unwrap();
            buf
        });
        tasklane::yield_now().await;
        (&uc).write_all(b"unix").await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"unix");

        // Unix datagram.
        let (x, y) = unix_net::UnixDatagram::pair().unwrap();
        let (x, y) = (
            UnixDatagram::from_std(x).unwrap(),
            UnixDatagram::from_std(y).unwrap(),
        );
        let reader = tasklane::spawn(async move {
            let mut buf = [0; 8];
            let n = y.recv(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        tasklane::yield_now().await;
        x.send(b"dgram").await.unwrap();
        assert_eq!(reader.await.unwrap(), b"dgram");
    }));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `from_std` outside a runtime is an error, not a panic.
#[test]
fn from_std_outside_a_runtime_is_an_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let e = TcpListener::from_std(l).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
    let (a, _b) = unix_net::UnixDatagram::pair().unwrap();
    let e = UnixDatagram::from_std(a).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
}
