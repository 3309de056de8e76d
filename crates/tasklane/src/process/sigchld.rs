//! The SIGCHLD fallback, for kernels without `pidfd_open`: a listener on
//! the crate's signal self-pipe (`signal::SignalPipe`), read through the
//! reactor.

use crate::signal::SignalPipe;
use std::io;
use std::task::{Context, Poll, ready};

/// One listener for SIGCHLD.
pub(super) struct SigchldPipe(SignalPipe);

impl SigchldPipe {
    /// Installs the listener. Any SIGCHLD from now on wakes its reader.
    pub(super) fn new() -> io::Result<SigchldPipe> {
        SignalPipe::new(&[libc::SIGCHLD]).map(SigchldPipe)
    }

    /// Runs `check` whenever a SIGCHLD may have arrived, until it gives a
    /// value. `check` returning `None` means "not yet": it runs first,
    /// then the signals received so far are taken, so a signal that
    /// arrives after a check is a new edge and runs it again.
    pub(super) fn poll_until<R>(
        &self,
        cx: &mut Context<'_>,
        mut check: impl FnMut() -> io::Result<Option<R>>,
    ) -> Poll<io::Result<R>> {
        loop {
            if let Some(r) = check()? {
                return Poll::Ready(Ok(r));
            }
            ready!(self.0.poll_recv(cx))?;
        }
    }
}
