//! TCP, UDP and Unix-domain sockets on the runtime's reactor.
//!
//! Streams implement `futures-io`'s [`AsyncRead`] and [`AsyncWrite`] (also
//! through `&TcpStream`, so one task can read while another writes), and
//! split into owned halves. `bind`, `connect` and `accept` are async, as in
//! tokio, except `UnixListener::bind`, which has nothing to wait for. Addresses are resolved with the standard library's
//! `ToSocketAddrs`, which may block on a DNS lookup: pass an address, or
//! resolve names on the blocking pool first.
//!
//! # Examples
//!
//! ```
//! use futures_io::{AsyncRead, AsyncWrite};
//! use std::pin::Pin;
//! use tasklane::net::{TcpListener, TcpStream};
//!
//! tasklane::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = tasklane::spawn(async move {
//!         let (mut s, _) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         let n = std::future::poll_fn(|cx| Pin::new(&mut s).poll_read(cx, &mut buf)).await.unwrap();
//!         buf[..n].to_vec()
//!     });
//!     let mut c = TcpStream::connect(addr).await.unwrap();
//!     std::future::poll_fn(|cx| Pin::new(&mut c).poll_write(cx, b"hello")).await.unwrap();
//!     assert_eq!(server.await.unwrap(), b"hello");
//! });
//! ```

use crate::io::{AsyncFd, Interest};
use futures_io::{AsyncRead, AsyncWrite};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use std::fmt;
use std::io::{self, IoSlice, Write};
use std::mem::MaybeUninit;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net as unix_net;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address in turn; the last error if all fail.
async fn each_addr<R, F, Fut>(addr: impl ToSocketAddrs, mut f: F) -> io::Result<R>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<R>>,
{
    let mut last = None;
    for a in resolve(addr)? {
        match f(a).await {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}

/// A non-blocking connect of `socket` to `addr`, awaited: registers the
/// socket, waits until the handshake ends either way (writable), and reports
/// its outcome from `SO_ERROR`. Shared by TCP and Unix streams.
async fn connect_nonblocking<T>(socket: Socket, addr: &SockAddr) -> io::Result<AsyncFd<T>>
where
    T: std::os::fd::AsFd + From<std::os::fd::OwnedFd>,
{
    socket.set_nonblocking(true)?;
    match socket.connect(addr) {
        Ok(()) => {}
        // TCP reports EINPROGRESS, a Unix socket with a full backlog EAGAIN.
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let io = AsyncFd::new(T::from(std::os::fd::OwnedFd::from(socket)))?;
    io.writable().await?;
    if let Some(e) = SockRef::from(io.get_ref()).take_error()? {
        return Err(e);
    }
    Ok(io)
}

// -------------------------------------------------------------------- TCP

/// A TCP listening socket.
pub struct TcpListener {
    io: AsyncFd<net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first address that works) and listens.
    ///
    /// # Errors
    ///
    /// The OS error (address in use, permission denied, …), or
    /// `InvalidInput` if `addr` resolves to nothing.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move {
            let l = net::TcpListener::bind(a)?;
            TcpListener::from_std(l)
        })
        .await
    }

    /// Wraps a standard listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered.
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
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

/// A TCP connection.
pub struct TcpStream {
    io: AsyncFd<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr` (each resolved address in turn).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` for a closed port (at once, not a hang), a
    /// timeout from the OS, or another OS error.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_one).await
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        Ok(TcpStream {
            io: connect_nonblocking(socket, &SockAddr::from(addr)).await?,
        })
    }

    /// Wraps a standard stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered.
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

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

/// Receives from the socket `fd` into memory that may be uninitialised,
/// retrying a call interrupted by a signal. `recv(2)` rather than `read(2)`:
/// it goes to the socket layer without the file layer's detour.
fn read_uninit(fd: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes, and
        // `recv(2)` writes at most that many, each one initialised; `fd` is
        // open for the borrow's lifetime.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The most buffers one `writev(2)` takes (`IOV_MAX` on Linux); the
/// standard library's `write_vectored` writes no more than these.
const MAX_IOVS: usize = 1024;

/// `futures-io`'s `AsyncRead` for `$t`, whose `stream()` reaches the
/// stream (the stream itself, a reference to it, or its read half).
macro_rules! futures_read_impl {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.stream().poll_read_priv(cx, buf)
            }
        }
    };
}

/// `futures-io`'s `AsyncWrite` for `$t`, as `futures_read_impl`. Writes are
/// not buffered (flushing has nothing to do); closing shuts down the write
/// direction.
macro_rules! futures_write_impl {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.stream().poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.stream().poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.stream().shutdown(Shutdown::Write))
            }
        }
    };
}

/// The poll functions of a stream type (a field `io: AsyncFd<S>` where
/// `&S: Write`), and its `futures-io` traits, for itself and through `&`.
///
/// A read that fills less than its buffer, or a write that takes less than
/// it was given, has drained the direction's readiness: the next call waits
/// for the reactor instead of making a system call only to hear "would
/// block" (`AsyncFd::poll_io_drained`).
macro_rules! stream_io_impls {
    ($ty:ty) => {
        impl $ty {
            /// Reads into `buf`, which need not be initialised.
            pub(crate) fn poll_read_uninit(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                let len = buf.len();
                self.io.poll_io_drained(
                    cx,
                    Interest::READ,
                    |s| read_uninit(s.as_fd(), buf),
                    |&n| n > 0 && n < len,
                )
            }

            fn poll_read_priv(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                // SAFETY: `MaybeUninit<u8>` has `u8`'s layout, and
                // `read_uninit` writes only initialised bytes, so `buf`
                // stays initialised.
                let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
                self.poll_read_uninit(cx, buf)
            }

            fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let len = buf.len();
                self.io
                    .poll_io_drained(cx, Interest::WRITE, |s| (&*s).write(buf), |&n| n < len)
            }

            /// Writes `bufs` with one `writev(2)`.
            pub(crate) fn poll_write_vectored_priv(
                &self,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                // Past `MAX_IOVS` buffers a full write takes less than the
                // total, so a short count says nothing.
                let len: usize = if bufs.len() <= MAX_IOVS {
                    bufs.iter().map(|b| b.len()).sum()
                } else {
                    0
                };
                self.io.poll_io_drained(
                    cx,
                    Interest::WRITE,
                    |s| (&*s).write_vectored(bufs),
                    |&n| n < len,
                )
            }
        }

        impl $ty {
            /// The stream itself, as the halves' `stream()` gives theirs
            /// (what the `futures-io` impls call through).
            fn stream(&self) -> &Self {
                self
            }
        }

        futures_read_impl!($ty);
        futures_read_impl!(&$ty);
        futures_write_impl!($ty);
        futures_write_impl!(&$ty);
    };
}

/// The owned read and write halves of a stream type (from its
/// `into_split`): two handles on one stream, so a reader task and a writer
/// task can hold one each. Closing the write half shuts down the write
/// direction.
macro_rules! owned_halves {
    ($stream:ident) => {
        #[doc = concat!("The read half of a [`", stringify!($stream), "`] (from its `into_split`).")]
        #[derive(Debug)]
        pub struct OwnedReadHalf(Arc<$stream>);

        #[doc = concat!("The write half of a [`", stringify!($stream), "`] (from its `into_split`); closing it shuts down the write direction.")]
        #[derive(Debug)]
        pub struct OwnedWriteHalf(Arc<$stream>);

        impl $stream {
            /// Splits into a read half and a write half that can move to
            /// different tasks.
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                let s = Arc::new(self);
                (OwnedReadHalf(s.clone()), OwnedWriteHalf(s))
            }
        }

        impl OwnedReadHalf {
            /// The stream both halves share.
            pub fn stream(&self) -> &$stream {
                &self.0
            }
        }

        impl OwnedWriteHalf {
            /// The stream both halves share.
            pub fn stream(&self) -> &$stream {
                &self.0
            }
        }

        futures_read_impl!(OwnedReadHalf);
        futures_write_impl!(OwnedWriteHalf);
    };
}

stream_io_impls!(TcpStream);

owned_halves!(TcpStream);

// -------------------------------------------------------------------- UDP

/// A UDP socket.
pub struct UdpSocket {
    io: AsyncFd<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first address that works).
    ///
    /// # Errors
    ///
    /// The OS error, or `InvalidInput` if `addr` resolves to nothing.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| async move {
            let s = net::UdpSocket::bind(a)?;
            s.set_nonblocking(true)?;
            Ok(UdpSocket {
                io: AsyncFd::new(s)?,
            })
        })
        .await
    }

    /// Sets the default peer for [`send`](Self::send) and filters
    /// [`recv`](Self::recv) to it.
    ///
    /// # Errors
    ///
    /// The OS error of `connect`.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let sock = self.io.get_ref();
        each_addr(addr, |a| async move { sock.connect(a) }).await
    }

    /// Sends one datagram to `target`.
    ///
    /// # Errors
    ///
    /// The OS error of `sendto`.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io
            .async_io(Interest::WRITE, |s| s.send_to(buf, target))
            .await
    }

    /// Receives one datagram and its sender.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Interest::READ, |s| s.recv_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `send`.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Interest::WRITE, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `recv`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READ, |s| s.recv(buf)).await
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`, or the OS error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

// ------------------------------------------------------------ Unix domain

/// Unix-domain stream sockets.
pub mod unix {
    use super::*;

    /// A Unix-domain listening socket.
    pub struct UnixListener {
        io: AsyncFd<unix_net::UnixListener>,
    }

    impl UnixListener {
        /// Binds to the filesystem path `path` and listens.
        ///
        /// # Errors
        ///
        /// The OS error (the path exists, permission denied, …).
        pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
            let l = unix_net::UnixListener::bind(path)?;
            l.set_nonblocking(true)?;
            Ok(UnixListener {
                io: AsyncFd::new(l)?,
            })
        }

        /// Waits for a connection.
        ///
        /// # Errors
        ///
        /// The OS error of `accept` (see [`super::TcpListener::accept`]).
        pub async fn accept(&self) -> io::Result<(UnixStream, unix_net::SocketAddr)> {
            let (s, addr) = self.io.async_io(Interest::READ, |l| l.accept()).await?;
            Ok((UnixStream::from_std(s)?, addr))
        }

        /// The bound address.
        ///
        /// # Errors
        ///
        /// The OS error of `getsockname`.
        pub fn local_addr(&self) -> io::Result<unix_net::SocketAddr> {
            self.io.get_ref().local_addr()
        }
    }

    impl fmt::Debug for UnixListener {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.io.get_ref().fmt(f)
        }
    }

    /// A Unix-domain stream.
    pub struct UnixStream {
        io: AsyncFd<unix_net::UnixStream>,
    }

    impl UnixStream {
        /// Connects to the socket at `path`.
        ///
        /// # Errors
        ///
        /// `NotFound` or `ConnectionRefused` if nothing listens there, or
        /// another OS error.
        pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            Ok(UnixStream {
                io: connect_nonblocking(socket, &SockAddr::unix(path)?).await?,
            })
        }

        /// A connected pair.
        ///
        /// # Errors
        ///
        /// The OS error of `socketpair`.
        pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
            let (a, b) = unix_net::UnixStream::pair()?;
            Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
        }

        /// Wraps a standard stream, switching it to non-blocking mode.
        ///
        /// # Errors
        ///
        /// If it cannot be made non-blocking or registered.
        pub fn from_std(stream: unix_net::UnixStream) -> io::Result<UnixStream> {
            stream.set_nonblocking(true)?;
            Ok(UnixStream {
                io: AsyncFd::new(stream)?,
            })
        }

        /// Shuts down the read, write or both halves.
        ///
        /// # Errors
        ///
        /// The OS error of `shutdown`.
        pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
            self.io.get_ref().shutdown(how)
        }

        /// The peer's address.
        ///
        /// # Errors
        ///
        /// The OS error of `getpeername`.
        pub fn peer_addr(&self) -> io::Result<unix_net::SocketAddr> {
            self.io.get_ref().peer_addr()
        }

        /// The local address.
        ///
        /// # Errors
        ///
        /// The OS error of `getsockname`.
        pub fn local_addr(&self) -> io::Result<unix_net::SocketAddr> {
            self.io.get_ref().local_addr()
        }
    }

    impl fmt::Debug for UnixStream {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.io.get_ref().fmt(f)
        }
    }

    stream_io_impls!(UnixStream);

    owned_halves!(UnixStream);
}
