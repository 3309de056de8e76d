//! [`TcpSocket`]: a TCP socket configured before it connects or listens.

use super::addr::{ToSocketAddrs, resolve};
use super::{TcpListener, TcpStream};
use socket2::{Domain, Protocol, Socket, Type};
use std::fmt;
use std::io;
use std::net::{self, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A TCP socket not yet connected or listening, whose options (address
/// reuse, keepalive, buffer sizes, …) and local address are set first; then
/// [`connect`](Self::connect) makes a [`TcpStream`] or
/// [`listen`](Self::listen) a [`TcpListener`].
///
/// Options are set with blocking-free system calls, so every method but
/// `connect` is synchronous. The socket is created close-on-exec.
///
/// # Examples
///
/// ```
/// use tasklane::net::TcpSocket;
///
/// tasklane::run(async {
///     let socket = TcpSocket::new_v4().unwrap();
///     socket.set_reuseaddr(true).unwrap();
///     socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let listener = socket.listen(128).unwrap();
///
///     let client = TcpSocket::new_v4().unwrap();
///     client.set_nodelay(true).unwrap();
///     client.set_keepalive(true).unwrap();
///     let stream = client.connect(listener.local_addr().unwrap()).await.unwrap();
///     assert!(stream.nodelay().unwrap() && stream.keepalive().unwrap());
/// });
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket` (such as `EMFILE`).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket` (`EAFNOSUPPORT` where IPv6 is off).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            inner: Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?,
        })
    }

    /// Adopts a standard TCP stream's socket, to set its options through
    /// this type (it is already connected: `connect` and `listen` fail).
    pub fn from_std_stream(stream: net::TcpStream) -> TcpSocket {
        TcpSocket {
            inner: Socket::from(OwnedFd::from(stream)),
        }
    }

    /// Sets `SO_REUSEADDR`: a listener may bind a port still held by
    /// connections in `TIME_WAIT` (a server restarting at once).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets of one user, each with it set,
    /// may bind the same address and port, and the kernel spreads incoming
    /// connections over their listeners.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_KEEPALIVE` (see [`TcpStream::set_keepalive`]); accepted
    /// connections inherit it from a listener.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `TCP_NODELAY` (see [`TcpStream::set_nodelay`]).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `SO_LINGER` (see [`TcpStream::set_linger`]).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Asks for a send buffer of `size` bytes (`SO_SNDBUF`). The kernel
    /// adjusts the request: Linux doubles it (for its bookkeeping) and
    /// applies a floor and the `net.core.wmem_max` ceiling, so
    /// [`send_buffer_size`](Self::send_buffer_size) reads back what it
    /// chose, not `size`.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(to_usize(size))
    }

    /// The send buffer's size as the kernel set it.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(saturate)
    }

    /// Asks for a receive buffer of `size` bytes (`SO_RCVBUF`); adjusted by
    /// the kernel as [`set_send_buffer_size`](Self::set_send_buffer_size)
    /// (ceiling `net.core.rmem_max`). Set it before `listen` or `connect`:
    /// it decides the window scale offered in the handshake.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(to_usize(size))
    }

    /// The receive buffer's size as the kernel set it.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(saturate)
    }

    /// Binds to the local address `addr` (port 0: one the OS picks), before
    /// `listen`, or before `connect` to choose the source address.
    ///
    /// Takes an address, not a name: binding is synchronous, and a name
    /// would need a lookup (resolve it first with
    /// [`lookup_host`](super::lookup_host)).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address of the other family; the OS error of
    /// `bind` (`AddrInUse`, `AddrNotAvailable`, …).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        let v6 = self.is_v6()?;
        if addr.is_ipv6() != v6 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot bind {addr} to an {} socket", family(v6)),
            ));
        }
        self.inner.bind(&addr.into())
    }

    fn is_v6(&self) -> io::Result<bool> {
        Ok(self.inner.domain()? == Domain::IPV6)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`; `InvalidInput` if the socket is not
    /// an IP socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))
    }

    /// The pending socket error (`SO_ERROR`), if any, clearing it.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Connects to `addr`, keeping the options set so far. A name is
    /// resolved on the blocking pool, and the first resolved address of the
    /// socket's family (IPv4 for [`new_v4`](Self::new_v4)) is tried: one
    /// socket makes one attempt.
    ///
    /// # Errors
    ///
    /// The OS error of `connect` (`ConnectionRefused`, …), a lookup error,
    /// or `InvalidInput` if `addr` names no address of the socket's family.
    ///
    /// # Cancellation
    ///
    /// Dropping the future closes the socket.
    pub async fn connect(self, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let v6 = self.is_v6()?;
        let addrs = resolve(&addr).await?;
        let Some(target) = addrs.iter().copied().find(|a| a.is_ipv6() == v6) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "no {0} address among {addrs:?} for an {0} socket",
                    family(v6)
                ),
            ));
        };
        TcpStream::connect_socket(self.inner, target).await
    }

    /// Listens with room for `backlog` connections not yet accepted (the
    /// kernel caps it at `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// The OS error of `listen` (such as an unbound socket whose ephemeral
    /// port cannot be chosen), or of registering with the reactor
    /// (`NotFound` outside a runtime).
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner
            .listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        TcpListener::from_std(net::TcpListener::from(OwnedFd::from(self.inner)))
    }
}

fn family(v6: bool) -> &'static str {
    if v6 { "IPv6" } else { "IPv4" }
}

fn to_usize(size: u32) -> usize {
    usize::try_from(size).unwrap_or(usize::MAX)
}

fn saturate(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl From<OwnedFd> for TcpSocket {
    /// Adopts a TCP socket's descriptor (not checked to be one: the first
    /// call that needs TCP fails otherwise).
    fn from(fd: OwnedFd) -> TcpSocket {
        TcpSocket {
            inner: Socket::from(fd),
        }
    }
}

impl From<TcpSocket> for OwnedFd {
    fn from(socket: TcpSocket) -> OwnedFd {
        socket.inner.into()
    }
}

impl FromRawFd for TcpSocket {
    /// # Safety
    ///
    /// `fd` must be an open socket descriptor that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        // SAFETY: the caller hands over sole ownership of an open socket.
        TcpSocket::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
