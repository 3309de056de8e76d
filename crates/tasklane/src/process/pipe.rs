//! The parent's ends of a child's standard streams: non-blocking pipes
//! registered with the reactor, as `futures-io` streams.

use crate::io::{AsyncFd, Interest};
use futures_io::{AsyncRead, AsyncWrite};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

/// One end of a pipe, non-blocking and registered. `File` gives the
/// `read(2)`/`write(2)` calls; the descriptor is a pipe, never a file.
struct Pipe {
    io: AsyncFd<File>,
}

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(fd.as_fd(), true)?;
        Ok(Pipe {
            io: AsyncFd::new(File::from(fd))?,
        })
    }

    /// A read shorter than the buffer emptied the pipe: the next read waits
    /// for the reactor instead of hearing "would block" first.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.io.poll_io_drained(
            cx,
            Interest::READ,
            |f| (&*f).read(buf),
            |&n| n > 0 && n < len,
        )
    }

    /// A write shorter than the data filled the pipe (as for reads).
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.io
            .poll_io_drained(cx, Interest::WRITE, |f| (&*f).write(buf), |&n| n < len)
    }

    /// Deregisters the descriptor and puts it back in blocking mode, for a
    /// process that will use it as its own standard stream.
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let fd = OwnedFd::from(self.io.into_inner());
        set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: `F_GETFL` on an open descriptor reads its status flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: `F_SETFL` on an open descriptor sets its status flags.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name {
            pipe: Pipe,
        }

        impl $name {
            /// Wraps the standard library's pipe end, switching it to
            /// non-blocking mode and registering it with the current
            /// runtime's reactor.
            ///
            /// # Errors
            ///
            /// Outside a runtime, or the OS error of `fcntl` or of the
            /// registration.
            pub fn from_std(inner: $std) -> io::Result<$name> {
                Ok($name { pipe: Pipe::new(OwnedFd::from(inner))? })
            }

            /// Deregisters the pipe and returns its descriptor, back in
            /// blocking mode (for example to hand it to another process).
            ///
            /// # Errors
            ///
            /// The OS error of `fcntl`.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_owned_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.io.as_raw_fd()
            }
        }

        impl TryFrom<$name> for Stdio {
            type Error = io::Error;

            /// The pipe as another child's standard stream (a shell's `a | b`).
            fn try_from(p: $name) -> io::Result<Stdio> {
                Ok(Stdio::from(p.into_owned_fd()?))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    };
}

pipe_type!(
    /// The write end of a child's standard input.
    ///
    /// `poll_flush` has nothing to do (writes are not buffered) and
    /// `poll_close` is the same: the child reads end of file once this
    /// value is **dropped** (as with tokio). [`Child::wait`] drops the
    /// `stdin` field for you before waiting.
    ///
    /// [`Child::wait`]: super::Child::wait
    ChildStdin,
    std::process::ChildStdin
);

pipe_type!(
    /// The read end of a child's standard output.
    ChildStdout,
    std::process::ChildStdout
);

pipe_type!(
    /// The read end of a child's standard error.
    ChildStderr,
    std::process::ChildStderr
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_read(cx, buf)
    }
}

/// Reads `pipe` to its end into `out`, across polls; `None` once done.
pub(super) fn poll_read_to_end<R: AsyncRead + Unpin>(
    cx: &mut Context<'_>,
    pipe: &mut Option<R>,
    out: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    /// How much room each read is given.
    const CHUNK: usize = 8 * 1024;
    while let Some(p) = pipe.as_mut() {
        let start = out.len();
        out.resize(start + CHUNK, 0);
        let r = Pin::new(p).poll_read(cx, &mut out[start..]);
        let n = match r {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => {
                out.truncate(start);
                return Poll::Ready(Err(e));
            }
            Poll::Pending => {
                out.truncate(start);
                return Poll::Pending;
            }
        };
        out.truncate(start + n);
        if n == 0 {
            *pipe = None;
        }
    }
    Poll::Ready(Ok(()))
}
