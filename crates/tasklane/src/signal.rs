//! Signals: [`ctrl_c`] for graceful shutdown.

use crate::io::{AsyncFd, Interest};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

/// Waits for SIGINT (Ctrl-C) or SIGTERM (what `kill` and service managers
/// send), whichever comes first after the returned future is first polled.
///
/// The handler is installed at that first poll, not at the call. From the
/// first such poll on, SIGINT and SIGTERM no longer end the process: they
/// are caught for the rest of its life, as with tokio, and delivered to
/// every `ctrl_c` future polled and not yet dropped when they arrive (none:
/// the signal is dropped). Signals that arrived before a future's first
/// poll are not seen by it.
///
/// # Errors
///
/// At the first poll: if the handler cannot be installed (the descriptors
/// for its self-pipe cannot be made), or outside a runtime.
///
/// # Examples
///
/// ```no_run
/// tasklane::run(async {
///     tasklane::signal::ctrl_c().await.unwrap();
///     println!("shutting down");
/// });
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let waiter = SignalPipe::new(&[libc::SIGINT, libc::SIGTERM])?;
    waiter.recv().await
}

/// A self-pipe written from the signal handler, read by a task.
struct SignalPipe {
    read: AsyncFd<UnixStream>,
    /// Kept open for the handler; closed after the handlers are removed.
    _write: UnixStream,
    ids: Vec<signal_hook_registry::SigId>,
}

impl SignalPipe {
    fn new(signals: &[libc::c_int]) -> io::Result<SignalPipe> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let read = AsyncFd::new(read)?;
        let fd: RawFd = write.as_raw_fd();
        let mut pipe = SignalPipe {
            read,
            _write: write,
            ids: Vec::new(),
        };
        for &sig in signals {
            // SAFETY: the action only calls `write(2)`, which is
            // async-signal-safe, on a descriptor that stays open until the
            // action is unregistered (`Drop` unregisters before `_write`
            // closes). A full pipe (EAGAIN) loses nothing: one byte pending
            // is enough to wake the reader.
            let id = unsafe {
                signal_hook_registry::register(sig, move || {
                    let byte = 1u8;
                    libc::write(fd, (&raw const byte).cast(), 1);
                })
            }?;
            pipe.ids.push(id);
        }
        Ok(pipe)
    }

    async fn recv(&self) -> io::Result<()> {
        let mut buf = [0u8; 16];
        let n = self
            .read
            .async_io(Interest::READ, |s| (&*s).read(&mut buf))
            .await?;
        if n == 0 {
            return Err(io::Error::other("signal pipe closed"));
        }
        Ok(())
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}
