//! Signals: [`ctrl_c`] for graceful shutdown, and [`unix::signal`] to
//! listen for any catchable signal (SIGHUP to reload, SIGUSR1, SIGCHLD,
//! SIGWINCH, real-time signals, …).
//!
//! Both are built on one mechanism (`pipe.rs`): each listener owns a
//! self-pipe, a pair of non-blocking sockets whose read end sits on the
//! reactor, and a `signal-hook-registry` action per signal that writes a
//! byte to it from the signal handler. The registry installs one handler
//! per signal for the whole process and runs every listener's action, so
//! all the listeners of a signal hear it. Once a signal has been listened
//! for, it stays caught for the rest of the process: with no listener
//! alive it is dropped instead of taking its default action (as with
//! tokio).

mod pipe;
pub mod unix;

pub(crate) use pipe::SignalPipe;

use std::io;

/// Waits for SIGINT (Ctrl-C) or SIGTERM (what `kill` and service managers
/// send), whichever comes first after the returned future is first polled.
///
/// The handler is installed at that first poll, not at the call. From the
/// first such poll on, SIGINT and SIGTERM no longer end the process: they
/// are caught for the rest of its life, as with tokio, and delivered to
/// every `ctrl_c` future polled and not yet dropped when they arrive (none:
/// the signal is dropped). Signals that arrived before a future's first
/// poll are not seen by it. To hear more than one signal, or other
/// signals, use [`unix::signal`].
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
