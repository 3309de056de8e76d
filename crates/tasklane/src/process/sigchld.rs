//! The SIGCHLD fallback: a self-pipe written by a SIGCHLD handler and read
//! through the reactor, for kernels without `pidfd_open`.

use crate::io::{AsyncFd, Interest};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll};

/// One listener for SIGCHLD: its handler writes a byte to `write` on each
/// signal; `read` is registered with the reactor.
pub(super) struct SigchldPipe {
    read: AsyncFd<UnixStream>,
    /// Kept open for the handler; closed after the handler is removed.
    _write: UnixStream,
    id: Option<signal_hook_registry::SigId>,
}

impl SigchldPipe {
    /// Installs the handler. Any SIGCHLD from now on makes `read` readable.
    pub(super) fn new() -> io::Result<SigchldPipe> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let read = AsyncFd::new(read)?;
        let fd: RawFd = write.as_raw_fd();
        // SAFETY: the action only calls `write(2)`, which is
        // async-signal-safe, on a descriptor that stays open until the
        // action is unregistered (`Drop` unregisters before `_write`
        // closes). A full pipe (EAGAIN) loses nothing: one unread byte is
        // enough to wake the reader.
        let id = unsafe {
            signal_hook_registry::register(libc::SIGCHLD, move || {
                let byte = 1u8;
                libc::write(fd, (&raw const byte).cast(), 1);
            })
        }?;
        Ok(SigchldPipe {
            read,
            _write: write,
            id: Some(id),
        })
    }

    /// Runs `check` whenever a SIGCHLD may have arrived, until it gives a
    /// value. `check` returning `None` means "not yet": the pipe is drained
    /// first, so a signal that arrives after the drain is a new edge and
    /// wakes the task again.
    pub(super) fn poll_until<R>(
        &self,
        cx: &mut Context<'_>,
        mut check: impl FnMut() -> io::Result<Option<R>>,
    ) -> Poll<io::Result<R>> {
        self.read.poll_io(cx, Interest::READ, |s| {
            let mut buf = [0u8; 64];
            // Drain: every byte stands for "some child changed state".
            loop {
                match (&*s).read(&mut buf) {
                    Ok(0) => return Err(io::Error::other("SIGCHLD pipe closed")),
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            check()?.ok_or_else(|| io::ErrorKind::WouldBlock.into())
        })
    }
}

impl Drop for SigchldPipe {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            signal_hook_registry::unregister(id);
        }
    }
}
