//! [`UnixDatagram`]: Unix-domain datagram sockets.

use crate::io::{AsyncFd, Interest};
use std::io;
use std::net::Shutdown;
use std::os::unix::net as unix_net;
use std::path::Path;

/// A Unix-domain datagram socket: message boundaries are kept, delivery on
/// one host is reliable and in order, and a sender blocks (here: waits)
/// while the receiver's queue is full instead of dropping.
///
/// Every receive is cancel-safe: the datagram is taken from the socket in
/// the same poll that returns it, so a `recv` or `recv_from` dropped
/// before it completes loses no datagram. A send dropped before it
/// completes has sent nothing.
///
/// # Examples
///
/// ```
/// use tasklane::net::unix::UnixDatagram;
///
/// tasklane::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one").await.unwrap();
///     a.send(b"two").await.unwrap();
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"one");
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"two");
/// });
/// ```
pub struct UnixDatagram {
    io: AsyncFd<unix_net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to the filesystem path `path` (which must not exist;
    /// it is not removed when the socket closes).
    ///
    /// # Errors
    ///
    /// The OS error (`AddrInUse` if the path exists, …), or `NotFound`
    /// outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(unix_net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path: it can send (with
    /// [`send_to`](Self::send_to), or [`send`](Self::send) after
    /// [`connect`](Self::connect)), but nobody can address a reply to it.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`, or `NotFound` outside a runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(unix_net::UnixDatagram::unbound()?)
    }

    /// Two sockets connected to each other.
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair`, or `NotFound` outside a runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = unix_net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a standard socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered (`NotFound` outside
    /// a runtime).
    pub fn from_std(socket: unix_net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: AsyncFd::new(socket)?,
        })
    }

    /// Sets the default peer for [`send`](Self::send) and filters
    /// [`recv`](Self::recv) to it. Synchronous: a Unix datagram connect
    /// only records the address.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` if no socket is bound at `path`.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends one datagram to the connected peer, waiting while its queue is
    /// full.
    ///
    /// # Errors
    ///
    /// The OS error of `send` (`NotConnected` without `connect`;
    /// `ConnectionRefused` once the peer is closed).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Interest::WRITE, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer. A datagram longer
    /// than `buf` is cut to fit (the rest is lost).
    ///
    /// # Errors
    ///
    /// The OS error of `recv`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READ, |s| s.recv(buf)).await
    }

    /// Sends one datagram to the socket bound at `path`, waiting while its
    /// queue is full.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` if no socket is bound there, or
    /// another OS error of `sendto`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io
            .async_io(Interest::WRITE, |s| s.send_to(buf, path))
            .await
    }

    /// Receives one datagram and its sender's address (unnamed for an
    /// unbound sender).
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, unix_net::SocketAddr)> {
        self.io.async_io(Interest::READ, |s| s.recv_from(buf)).await
    }

    /// Waits until a datagram may be waiting (a hint: a
    /// [`try_recv`](Self::try_recv) after it may still report
    /// `WouldBlock`).
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until a send may go through (a hint).
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Receives a datagram from the connected peer that is there now,
    /// without waiting (after [`readable`](Self::readable): a socket the
    /// reactor has not yet seen readable reports `WouldBlock` without
    /// asking the kernel).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is, or the OS error of `recv`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READ, |s| s.recv(buf))
    }

    /// Sends a datagram to the connected peer now, without waiting (after
    /// [`writable`](Self::writable), as with [`try_recv`](Self::try_recv)).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the peer's queue is full, or the OS error of `send`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITE, |s| s.send(buf))
    }

    /// The bound address (unnamed for an unbound socket).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<unix_net::SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`, or the OS error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<unix_net::SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both directions.
    ///
    /// # Errors
    ///
    /// The OS error of `shutdown`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The pending socket error (`SO_ERROR`), if any, clearing it.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

fd_impls!(UnixDatagram);
