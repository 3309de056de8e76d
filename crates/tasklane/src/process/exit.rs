//! How a child's exit is noticed: a pidfd registered with the reactor, or
//! the SIGCHLD self-pipe where the kernel has no pidfds (module docs of
//! `process`, "How an exit is noticed").

use super::sigchld::SigchldPipe;
use crate::io::{AsyncFd, Interest};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// Set once `pidfd_open` has failed as unsupported, or by
/// `__force_sigchld_fallback`: every later child uses SIGCHLD. Relaxed:
/// either path is correct, the flag only saves failing calls.
static NO_PIDFD: AtomicBool = AtomicBool::new(false);

pub(super) fn force_sigchld() {
    NO_PIDFD.store(true, Ordering::Relaxed);
}

/// The source of a child's exit notification.
pub(super) enum ExitWatch {
    /// Readable once the process has exited.
    Pidfd(AsyncFd<OwnedFd>),
    /// Readable after any SIGCHLD.
    Sigchld(SigchldPipe),
}

impl ExitWatch {
    /// Watches the child `pid`, which must be an unreaped child of this
    /// process (so its pid cannot be reused while the pidfd is opened).
    pub(super) fn new(pid: u32) -> io::Result<ExitWatch> {
        if !NO_PIDFD.load(Ordering::Relaxed) {
            match pidfd_open(pid) {
                Ok(fd) => return Ok(ExitWatch::Pidfd(AsyncFd::new(fd)?)),
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    NO_PIDFD.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ExitWatch::Sigchld(SigchldPipe::new()?))
    }

    /// Runs `try_wait` (a non-blocking `waitpid`) each time the child may
    /// have exited, until it gives a status.
    pub(super) fn poll_exit(
        &self,
        cx: &mut Context<'_>,
        mut try_wait: impl FnMut() -> io::Result<Option<ExitStatus>>,
    ) -> Poll<io::Result<ExitStatus>> {
        match self {
            // A pidfd stays readable once the process has exited, so the
            // only way to get "not yet" after readiness is a spurious
            // event; it is cleared like a "would block" and waited again.
            ExitWatch::Pidfd(fd) => fd.poll_io(cx, Interest::READ, |_| {
                try_wait()?.ok_or_else(|| io::ErrorKind::WouldBlock.into())
            }),
            ExitWatch::Sigchld(pipe) => pipe.poll_until(cx, try_wait),
        }
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    // SAFETY: `pidfd_open(pid, 0)` takes two integers and returns a new
    // descriptor (close-on-exec) or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
