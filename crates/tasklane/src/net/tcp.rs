//! TCP: [`TcpListener`] and [`TcpStream`].

use super::addr::{ToSocketAddrs, each_addr};
use super::stream::connect_nonblocking;
use crate::io::{AsyncFd, Interest};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use std::io;
use std::net::{self, Shutdown, SocketAddr};
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP listening socket.
///
/// Made by [`bind`](Self::bind) (with `SO_REUSEADDR` set, as the standard
/// library does), by [`TcpSocket::listen`](super::TcpSocket::listen) to
/// choose the options and the backlog, or by [`from_std`](Self::from_std).
pub struct TcpListener {
    io: AsyncFd<net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first resolved address that works) and listens.
    ///
    /// # Errors
    ///
    /// The OS error (address in use, permission denied, …), a lookup error
    /// for a name, or `InvalidInput` for a malformed address.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::run(async {
    ///     let l = tasklane::net::TcpListener::bind("localhost:0").await.unwrap();
    ///     assert!(l.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            let l = net::TcpListener::bind(a)?;
            TcpListener::from_std(l)
        })
        .await
    }

    /// Wraps a standard listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered (`NotFound` outside
    /// a runtime).
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: AsyncFd::new(listener)?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`, such as `EMFILE` when the process is out of
    /// descriptors: the listener is left as it was, and a later `accept`
    /// succeeds once descriptors are free again (the pending connection
    /// stays queued). Back off before retrying: an immediate retry fails the
    /// same way.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a dropped `accept` has taken no connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.io.async_io(Interest::READ, |l| l.accept()).await?;
        Ok((TcpStream::from_std(s)?, addr))
    }

    /// Polls for a connection (see [`accept`](Self::accept)).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.io
            .poll_io(cx, Interest::READ, |l| l.accept())
            .map(|r| r.and_then(|(s, a)| Ok((TcpStream::from_std(s)?, a))))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the time-to-live of the IP packets of accepted connections.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live set by [`set_ttl`](Self::set_ttl).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

fd_impls!(TcpListener);

/// A TCP connection.
///
/// Reads and writes through `futures-io`'s `AsyncRead` and `AsyncWrite`
/// (on the stream, on `&TcpStream`, or on its owned halves), or with
/// [`readable`](Self::readable) / [`try_read`](Self::try_read) and
/// [`writable`](Self::writable) / [`try_write`](Self::try_write).
pub struct TcpStream {
    io: AsyncFd<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` for a closed port (at once, not a hang), a
    /// timeout from the OS, a lookup error for a name, `InvalidInput` for a
    /// malformed address, or another OS error; when every address fails,
    /// the last address's error.
    ///
    /// # Cancellation
    ///
    /// Dropping the future closes the socket being connected (abandoning
    /// its handshake).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(&addr, TcpStream::connect_one).await
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        TcpStream::connect_socket(socket, addr).await
    }

    /// Connects `socket`, a new TCP socket, to `addr`.
    pub(super) async fn connect_socket(socket: Socket, addr: SocketAddr) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: connect_nonblocking(socket, &SockAddr::from(addr)).await?,
        })
    }

    /// Wraps a standard stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered (`NotFound` outside
    /// a runtime).
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            io: AsyncFd::new(stream)?,
        })
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the peer is gone, or another OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for data and copies it into `buf` without taking it from the
    /// socket: the next read returns the same bytes. `Ok(0)` at end of
    /// stream (or for an empty `buf`).
    ///
    /// # Errors
    ///
    /// The OS error of `recv`.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe (and a peek takes nothing anyway).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use tasklane::net::{TcpListener, TcpStream};
    ///
    /// tasklane::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (mut s, _) = l.accept().await.unwrap();
    ///     c.try_write(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     assert_eq!(s.peek(&mut buf).await.unwrap(), 2);
    ///     s.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"hi");
    /// });
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READ, |s| s.peek(buf)).await
    }

    /// Sets `TCP_NODELAY` (no Nagle batching of small writes).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_KEEPALIVE`: the OS probes an idle connection and reports a
    /// dead peer as an error (after the system's keepalive times).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.io.get_ref()).keepalive()
    }

    /// Sets `SO_LINGER`: with `Some(t)`, closing the stream waits in the
    /// kernel (not in the task: the close returns at once) up to `t` for
    /// unsent data; `Some(Duration::ZERO)` resets the connection on close.
    /// `None` is the default (close in the background). Whole seconds; a
    /// fraction is dropped.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets the time-to-live of outgoing IP packets (`IP_TTL`).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (`InvalidInput` for 0 or above 255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of outgoing IP packets.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Shuts down the read, write or both halves (a write shutdown sends
    /// FIN: the peer reads end of stream, and can still write back).
    ///
    /// # Errors
    ///
    /// The OS error of `shutdown`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

stream_io_impls!(TcpStream);

owned_halves!(TcpStream);
