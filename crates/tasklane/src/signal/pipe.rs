//! The self-pipe every signal listener is built on.
//!
//! # Protocol
//!
//! 1. [`SignalPipe::new`] makes a connected pair of Unix stream sockets
//!    (the "pipe"), both non-blocking, registers the read end with the
//!    reactor, and registers one `signal-hook-registry` action per signal
//!    that writes one byte to the write end. The registry installs one
//!    process-wide handler per signal the first time, and runs every action
//!    registered for it, so each listener has its own pipe and all of them
//!    hear each signal.
//! 2. The action runs in the signal handler: `write(2)` is async-signal-safe,
//!    and the registry saves and restores `errno` around it. If the pipe is
//!    full (`EAGAIN`) the byte is dropped, which loses nothing: a byte is
//!    already waiting.
//! 3. A receive waits for the read end's readiness, then reads until "would
//!    block", so that all the signals that arrived since the last receive
//!    count as one (as with tokio: signals coalesce). The readiness is
//!    cleared under the tick of the event it was read under
//!    (`tasklane_io::ScheduledIo`): a byte written after the last read is a
//!    new event, so a signal that arrives during the receive is never lost.
//! 4. Drop unregisters the actions, then closes the write end (the field
//!    order), so no action writes to a closed or reused descriptor. The
//!    registry keeps its handler installed after the last action goes: a
//!    signal with no listener left is caught and dropped, not given its
//!    default action (the process does not end on SIGHUP or SIGTERM).

use crate::io::{AsyncFd, Interest};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll};

/// Bytes taken per `read(2)` while draining the pipe.
const DRAIN_CHUNK: usize = 64;

/// A self-pipe written from the handlers of some signals, read by a task
/// (module docs). Crate-wide: the signal listeners and `ctrl_c` use it, and
/// so can any module that needs to hear a signal (such as SIGCHLD).
pub(crate) struct SignalPipe {
    read: AsyncFd<UnixStream>,
    /// Actions are unregistered in `Drop` before the write end closes.
    ids: Vec<signal_hook_registry::SigId>,
    /// Kept open for the actions; closed after they are removed.
    write: UnixStream,
}

impl SignalPipe {
    /// A pipe that hears each of `signals` from now on.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal number that does not exist or one that
    /// cannot be caught ([`check`]); the OS error if the sockets cannot be
    /// made or the handler installed; `NotFound` outside a runtime.
    pub(crate) fn new(signals: &[libc::c_int]) -> io::Result<SignalPipe> {
        for &sig in signals {
            check(sig)?;
        }
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let read = AsyncFd::new(read)?;
        let fd: RawFd = write.as_raw_fd();
        let mut pipe = SignalPipe {
            read,
            ids: Vec::with_capacity(signals.len()),
            write,
        };
        for &sig in signals {
            // SAFETY: the action only calls `write(2)`, which is
            // async-signal-safe, on a descriptor that stays open until the
            // action is unregistered (`Drop` unregisters before `write`
            // closes). A full pipe (EAGAIN) loses nothing: one byte pending
            // is enough to wake the reader. `check` kept out the signals
            // the registry refuses (it would panic on them).
            let id = unsafe {
                signal_hook_registry::register(sig, move || {
                    let byte = 1u8;
                    libc::write(fd, (&raw const byte).cast(), 1);
                })
            }?;
            // On an error above, `pipe` drops and unregisters the actions
            // registered so far.
            pipe.ids.push(id);
        }
        Ok(pipe)
    }

    /// Waits until at least one signal has arrived since the last receive,
    /// and takes them all (module docs, step 3). Cancel-safe: a receive
    /// dropped before it returns has taken nothing.
    ///
    /// # Errors
    ///
    /// If the runtime has shut down (or the pipe failed, which it does not
    /// while this end holds the write end).
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.read
            .poll_io_drained(cx, Interest::READ, drain, |_| true)
            .map(|r| r.map(drop))
    }

    /// [`poll_recv`](Self::poll_recv) as a future.
    pub(crate) async fn recv(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

/// Reads the pipe until it would block: `Ok(n)` with the bytes taken (at
/// least one), or `WouldBlock` if there were none.
fn drain(mut s: &UnixStream) -> io::Result<usize> {
    let mut buf = [0u8; DRAIN_CHUNK];
    let mut total = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tasklane::signal: the signal pipe was closed",
                ));
            }
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => return Ok(total),
            Err(e) => return Err(e),
        }
    }
}

/// `Ok` if `sig` is a signal number that can be caught: one from 1 to
/// `SIGRTMAX`, not one the C library keeps for its threads, and not one `signal-hook-registry` refuses (`SIGKILL` and
/// `SIGSTOP`, which the OS does not let anyone catch, and `SIGILL`,
/// `SIGFPE` and `SIGSEGV`, which a program cannot return from handling).
pub(crate) fn check(sig: libc::c_int) -> io::Result<()> {
    if signal_hook_registry::FORBIDDEN.contains(&sig) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "tasklane::signal: signal {} cannot be listened for (SIGKILL, SIGSTOP, SIGILL, SIGFPE and SIGSEGV cannot be handled)",
                name(sig)
            ),
        ));
    }
    if !(1..=libc::SIGRTMAX()).contains(&sig) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "tasklane::signal: {sig} is not a signal number (1 to {})",
                libc::SIGRTMAX()
            ),
        ));
    }
    // Between the last standard signal and `SIGRTMIN`: the C library's.
    if sig > libc::SIGSYS && sig < libc::SIGRTMIN() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("tasklane::signal: signal {sig} is reserved by the C library's threads"),
        ));
    }
    Ok(())
}

/// The name of a signal, as `SIGHUP`, or its number if it has none here.
pub(crate) fn name(sig: libc::c_int) -> String {
    let known = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGTRAP, "SIGTRAP"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGCHLD, "SIGCHLD"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGSTOP, "SIGSTOP"),
        (libc::SIGTSTP, "SIGTSTP"),
        (libc::SIGTTIN, "SIGTTIN"),
        (libc::SIGTTOU, "SIGTTOU"),
        (libc::SIGURG, "SIGURG"),
        (libc::SIGXCPU, "SIGXCPU"),
        (libc::SIGXFSZ, "SIGXFSZ"),
        (libc::SIGVTALRM, "SIGVTALRM"),
        (libc::SIGPROF, "SIGPROF"),
        (libc::SIGWINCH, "SIGWINCH"),
        (libc::SIGIO, "SIGIO"),
        (libc::SIGPWR, "SIGPWR"),
        (libc::SIGSYS, "SIGSYS"),
    ];
    match known.iter().find(|(n, _)| *n == sig) {
        Some((_, name)) => (*name).to_owned(),
        None if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) => {
            format!("SIGRTMIN+{}", sig - libc::SIGRTMIN())
        }
        None => sig.to_string(),
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
        // `write` closes after this body: no action can reach it now.
    }
}

impl std::fmt::Debug for SignalPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalPipe")
            .field("read", &self.read.as_raw_fd())
            .field("write", &self.write.as_raw_fd())
            .field("actions", &self.ids.len())
            .finish()
    }
}
