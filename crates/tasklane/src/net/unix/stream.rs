//! Unix-domain streams: [`UnixListener`] and [`UnixStream`].

use super::super::stream::connect_nonblocking;
use crate::io::{AsyncFd, Interest};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::Shutdown;
use std::os::unix::net as unix_net;
use std::path::Path;

/// A Unix-domain listening socket.
pub struct UnixListener {
    io: AsyncFd<unix_net::UnixListener>,
}

impl UnixListener {
    /// Binds to the filesystem path `path` and listens.
    ///
    /// # Errors
    ///
    /// The OS error (the path exists, permission denied, …), or `NotFound`
    /// outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(unix_net::UnixListener::bind(path)?)
    }

    /// Wraps a standard listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered (`NotFound` outside
    /// a runtime).
    pub fn from_std(listener: unix_net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: AsyncFd::new(listener)?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept` (see [`TcpListener::accept`](crate::net::TcpListener::accept)).
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a dropped `accept` has taken no connection.
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

fd_impls!(UnixListener);

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
    /// If it cannot be made non-blocking or registered (`NotFound` outside
    /// a runtime).
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

stream_io_impls!(UnixStream);

owned_halves!(UnixStream);
