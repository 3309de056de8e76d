//! Readiness and "try" calls: `TcpStream::{try_read, try_write, readable,
//! writable, peek}` and `UdpSocket::{peek_from, try_recv_from}`.
//! `WouldBlock` when not ready, a wait that ends when the peer acts, and
//! peeks that leave the data in place.

mod common;
mod netutil;

use common::rt;
use futures_lite::future::poll_once;
use futures_lite::io::AsyncReadExt;
use netutil::within;
use std::io::ErrorKind;
use std::pin::pin;
use tasklane::net::{TcpListener, TcpStream, UdpSocket};

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (c, s) =
        futures_lite::future::zip(TcpStream::connect(l.local_addr().unwrap()), l.accept()).await;
    (c.unwrap(), s.unwrap().0)
}

/// `try_read` reports `WouldBlock` with nothing there; `readable` waits
/// until the peer writes, and `try_read` then returns the bytes; `peek`
/// sees them without taking them; at end of stream `try_read` returns 0.
#[test]
fn try_read_readable_and_peek() {
    rt(2).block_on(within("try_read", async {
        let (c, s) = tcp_pair().await;
        let mut buf = [0; 16];
        assert_eq!(
            s.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        {
            let mut readable = pin!(s.readable());
            assert!(
                poll_once(readable.as_mut()).await.is_none(),
                "readable with no data"
            );
            c.try_write(b"hello").unwrap();
            readable.await.unwrap();
        }
        let mut peeked = [0; 5];
        assert_eq!(s.peek(&mut peeked).await.unwrap(), 5);
        assert_eq!(&peeked, b"hello");
        assert_eq!(s.peek(&mut peeked[..2]).await.unwrap(), 2);
        let n = loop {
            match s.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => s.readable().await.unwrap(),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..n], b"hello", "peek took data");
        assert_eq!(
            s.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );

        // A peek waits for data, like a read.
        let mut peek = pin!(s.peek(&mut peeked));
        assert!(poll_once(peek.as_mut()).await.is_none());
        c.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(peek.await.unwrap(), 0, "peek at end of stream");
        s.readable().await.unwrap();
        assert_eq!(s.try_read(&mut buf).unwrap(), 0);
    }));
}

/// `try_write` fills the send path until `WouldBlock`; `writable` then
/// waits until the peer reads, after which `try_write` goes through again.
/// Every byte written arrives once.
#[test]
fn try_write_until_full_then_writable() {
    rt(2).block_on(within("try_write", async {
        let (c, mut s) = tcp_pair().await;
        let chunk = [7u8; 64 * 1024];
        let mut written = 0usize;
        // The kernel may free or grow send space between the fill and the
        // poll; then the socket is rightly writable, and is filled again.
        let writable = loop {
            loop {
                match c.try_write(&chunk) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let mut writable = Box::pin(c.writable());
            if poll_once(writable.as_mut()).await.is_none() {
                break writable;
            }
        };
        assert!(written > 0);

        let mut drained = vec![0; written];
        s.read_exact(&mut drained).await.unwrap();
        assert!(drained.iter().all(|&b| b == 7));
        writable.await.unwrap();
        let more = loop {
            match c.try_write(b"more") {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => c.writable().await.unwrap(),
                Err(e) => panic!("{e}"),
            }
        };
        let mut tail = vec![0; more];
        s.read_exact(&mut tail).await.unwrap();
        assert_eq!(&tail, &b"more"[..more]);
    }));
}

/// `peek_from` returns a datagram and its sender and leaves it for
/// `recv_from`; `try_recv_from` is `WouldBlock` on an empty socket.
#[test]
fn udp_peek_from_and_try_recv_from() {
    rt(2).block_on(within("peek_from", async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        {
            let mut peek = pin!(b.peek_from(&mut buf));
            assert!(poll_once(peek.as_mut()).await.is_none());
            a.send_to(b"dgram", b.local_addr().unwrap()).await.unwrap();
            let (n, from) = peek.await.unwrap();
            assert_eq!((n, from), (5, a.local_addr().unwrap()));
        }
        assert_eq!(&buf[..5], b"dgram");
        let mut again = [0; 16];
        let (n, from) = b.peek_from(&mut again).await.unwrap();
        assert_eq!(
            (&again[..n], from),
            (&b"dgram"[..], a.local_addr().unwrap())
        );
        let (n, _) = b.try_recv_from(&mut again).unwrap();
        assert_eq!(&again[..n], b"dgram");
        assert_eq!(
            b.try_recv_from(&mut again).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // After that `WouldBlock`, `readable` waits for the next datagram.
        let mut readable = pin!(b.readable());
        assert!(poll_once(readable.as_mut()).await.is_none());
        a.writable().await.unwrap();
        assert_eq!(a.try_send_to(b"x", b.local_addr().unwrap()).unwrap(), 1);
        readable.await.unwrap();
        let (n, _) = b.try_recv_from(&mut again).unwrap();
        assert_eq!(&again[..n], b"x");
    }));
}
