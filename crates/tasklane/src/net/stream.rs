//! What the stream types (TCP and Unix) and all socket types share: the
//! non-blocking connect, the uninitialised-memory read, and macros for the
//! descriptor traits, the `futures-io` traits and the owned halves.

use crate::io::AsyncFd;
use socket2::{SockAddr, SockRef, Socket};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// A non-blocking connect of `socket` to `addr`, awaited: registers the
/// socket, waits until the handshake ends either way (writable), and reports
/// its outcome from `SO_ERROR`. Shared by TCP and Unix streams and
/// `TcpSocket`. Dropping the future midway closes the socket, which
/// abandons the handshake.
pub(super) async fn connect_nonblocking<T>(
    socket: Socket,
    addr: &SockAddr,
) -> io::Result<AsyncFd<T>>
where
    T: std::os::fd::AsFd + From<OwnedFd>,
{
    socket.set_nonblocking(true)?;
    match socket.connect(addr) {
        Ok(()) => {}
        // The handshake goes on in the background. (A Unix socket whose
        // listener's backlog is full reports EAGAIN instead: no connection
        // was started, so that is an error, `WouldBlock`, as in mio.)
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let io = AsyncFd::new(T::from(OwnedFd::from(socket)))?;
    io.writable().await?;
    if let Some(e) = SockRef::from(io.get_ref()).take_error()? {
        return Err(e);
    }
    Ok(io)
}

/// Receives from the socket `fd` into memory that may be uninitialised,
/// retrying a call interrupted by a signal. `recv(2)` rather than `read(2)`:
/// it goes to the socket layer without the file layer's detour.
pub(super) fn read_uninit(fd: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
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
pub(super) const MAX_IOVS: usize = 1024;

/// `AsFd`, `AsRawFd` and `Debug` for a socket type `$t` with a field
/// `io: AsyncFd<S>`: the descriptor is `S`'s, borrowed.
macro_rules! fd_impls {
    ($t:ty) => {
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.get_ref())
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.io.get_ref())
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.io.get_ref(), f)
            }
        }
    };
}

/// `futures-io`'s `AsyncRead` for `$t`, whose `stream()` reaches the
/// stream (the stream itself, a reference to it, or its read half).
macro_rules! futures_read_impl {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
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
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream().poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream().poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.stream().shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

/// The poll functions of a stream type (a field `io: AsyncFd<S>` where
/// `&S: Read + Write`), its readiness and "try" methods, and its
/// `futures-io` traits, for itself and through `&`.
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
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let len = buf.len();
                self.io.poll_io_drained(
                    cx,
                    $crate::io::Interest::READ,
                    |s| $crate::net::stream::read_uninit(std::os::fd::AsFd::as_fd(s), buf),
                    |&n| n > 0 && n < len,
                )
            }

            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                // SAFETY: `MaybeUninit<u8>` has `u8`'s layout, and
                // `read_uninit` writes only initialised bytes, so `buf`
                // stays initialised.
                let buf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
                self.poll_read_uninit(cx, buf)
            }

            fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let len = buf.len();
                self.io.poll_io_drained(
                    cx,
                    $crate::io::Interest::WRITE,
                    |s| std::io::Write::write(&mut &*s, buf),
                    |&n| n < len,
                )
            }

            /// Writes `bufs` with one `writev(2)`.
            pub(crate) fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                // Past `MAX_IOVS` buffers a full write takes less than the
                // total, so a short count says nothing.
                let len: usize = if bufs.len() <= $crate::net::stream::MAX_IOVS {
                    bufs.iter().map(|b| b.len()).sum()
                } else {
                    0
                };
                self.io.poll_io_drained(
                    cx,
                    $crate::io::Interest::WRITE,
                    |s| std::io::Write::write_vectored(&mut &*s, bufs),
                    |&n| n < len,
                )
            }

            /// The stream itself, as the halves' `stream()` gives theirs
            /// (what the `futures-io` impls call through).
            fn stream(&self) -> &Self {
                self
            }

            /// Waits until the stream may be readable: data, an end of
            /// stream or an error is waiting. Readiness is a hint: a
            /// [`try_read`](Self::try_read) after it may still report
            /// `WouldBlock` (then wait again).
            ///
            /// # Errors
            ///
            /// If the runtime has shut down.
            ///
            /// # Cancellation
            ///
            /// Cancel-safe: it only waits.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.io.readable().await.map(drop)
            }

            /// Waits until the stream may be writable (room in the send
            /// buffer, or an error). A hint, as [`readable`](Self::readable).
            ///
            /// # Errors
            ///
            /// If the runtime has shut down.
            ///
            /// # Cancellation
            ///
            /// Cancel-safe: it only waits.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.io.writable().await.map(drop)
            }

            /// Reads what is there now, without waiting: `Ok(0)` at end of
            /// stream, `WouldBlock` if nothing is there yet (which also
            /// makes the next [`readable`](Self::readable) wait for new
            /// data). Use it after [`readable`](Self::readable): a stream
            /// the reactor has not yet seen readable reports `WouldBlock`
            /// without asking the kernel.
            ///
            /// # Errors
            ///
            /// `WouldBlock`, or the OS error of `recv`.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_io($crate::io::Interest::READ, |s| {
                    std::io::Read::read(&mut &*s, buf)
                })
            }

            /// Writes what fits now, without waiting: `WouldBlock` if the
            /// send buffer is full (which also makes the next
            /// [`writable`](Self::writable) wait for room). Use it after
            /// `writable`: a stream the reactor has not yet seen writable
            /// (one just accepted, say) reports `WouldBlock` without asking
            /// the kernel.
            ///
            /// # Errors
            ///
            /// `WouldBlock`, or the OS error of `send` (`BrokenPipe` once
            /// the peer is gone).
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_io($crate::io::Interest::WRITE, |s| {
                    std::io::Write::write(&mut &*s, buf)
                })
            }

            /// The pending socket error (`SO_ERROR`), if any, clearing it.
            ///
            /// # Errors
            ///
            /// The OS error of `getsockopt`.
            pub fn take_error(&self) -> std::io::Result<Option<std::io::Error>> {
                socket2::SockRef::from(self.io.get_ref()).take_error()
            }
        }

        fd_impls!($ty);
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
        pub struct OwnedReadHalf(std::sync::Arc<$stream>);

        #[doc = concat!("The write half of a [`", stringify!($stream), "`] (from its `into_split`); closing it shuts down the write direction.")]
        #[derive(Debug)]
        pub struct OwnedWriteHalf(std::sync::Arc<$stream>);

        impl $stream {
            /// Splits into a read half and a write half that can move to
            /// different tasks.
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                let s = std::sync::Arc::new(self);
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
