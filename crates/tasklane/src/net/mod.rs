//! TCP, UDP and Unix-domain sockets on the runtime's reactor, and name
//! resolution on the blocking pool.
//!
//! Streams implement `futures-io`'s [`AsyncRead`](futures_io::AsyncRead)
//! and [`AsyncWrite`](futures_io::AsyncWrite) (also through `&TcpStream`,
//! so one task can read while another writes), and split into owned halves.
//! `bind`, `connect` and `accept` are async, as in tokio, except the Unix
//! sockets' `bind`, `UnixDatagram::connect` and [`TcpSocket`]'s `bind`,
//! which have nothing to wait for.
//!
//! Every method that takes an address takes any [`ToSocketAddrs`]: a
//! [`SocketAddr`](std::net::SocketAddr), an `(IpAddr, u16)`, or a host name
//! such as `"db.internal:5432"` or `("db.internal", 5432)`. A literal IP
//! address is used as it is; a name is resolved by [`lookup_host`], which
//! runs the system resolver (`getaddrinfo`) on the blocking pool, so a slow
//! or stuck DNS server never holds a worker. The streams' and `UdpSocket`'s
//! `connect` and `bind` try each resolved address in turn and report the
//! last error; [`TcpSocket::connect`] and `UdpSocket::send_to` use the
//! first address of the socket's own family.
//!
//! Every I/O type implements [`AsFd`](std::os::fd::AsFd) and
//! [`AsRawFd`](std::os::fd::AsRawFd) and has a `from_std` that adopts a
//! standard socket (`TcpSocket::from_std_stream` for a `TcpSocket`); socket options are set through the type or, before
//! `connect` or `listen`, through [`TcpSocket`].
//!
//! # Cancellation
//!
//! Every wait is cancel-safe: an `accept`, `recv`, `recv_from`, `peek` or
//! `read` future that is dropped before it completes has taken nothing from
//! the socket (the system call is made only when the socket is ready, and
//! its result is returned by the same poll). A `connect` dropped midway
//! closes its socket; a lookup dropped midway leaves `getaddrinfo` to finish
//! on the pool (it cannot be interrupted) and drops its result, or never
//! starts it if it was still queued.
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
//!     let port = listener.local_addr().unwrap().port();
//!     let server = tasklane::spawn(async move {
//!         let (mut s, _) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         let n = std::future::poll_fn(|cx| Pin::new(&mut s).poll_read(cx, &mut buf)).await.unwrap();
//!         buf[..n].to_vec()
//!     });
//!     // A host name: resolved on the blocking pool.
//!     let mut c = TcpStream::connect(("localhost", port)).await.unwrap();
//!     std::future::poll_fn(|cx| Pin::new(&mut c).poll_write(cx, b"hello")).await.unwrap();
//!     assert_eq!(server.await.unwrap(), b"hello");
//! });
//! ```

#[macro_use]
mod stream;
mod addr;
mod socket;
mod tcp;
mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use socket::TcpSocket;
pub use tcp::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;
