//! Listening for any Unix signal: [`signal`] returns a [`Signal`] whose
//! [`recv`](Signal::recv) resolves each time the signal arrives.
//!
//! # Delivery
//!
//! * A [`Signal`] hears its signal from the moment [`signal`] returns;
//!   signals sent earlier are not seen.
//! * Every `Signal` of a kind alive when the signal arrives hears it: two
//!   listeners for SIGHUP both return from `recv`.
//! * Signals coalesce: several arrivals since the last `recv` returned (or
//!   since the `Signal` was made) make one `recv` return, not several, as
//!   with tokio and as the OS itself does for a signal that is pending.
//! * From the first `signal` (or `ctrl_c`) call for a signal number on,
//!   that signal is caught for the rest of the process: when no listener
//!   is alive it is dropped rather than given its default action (SIGHUP
//!   and SIGTERM no longer end the process, SIGCHLD no longer is ignored).
//!   The OS offers no safe way back, as tokio also finds.
//!
//! # Examples
//!
//! ```
//! use tasklane::signal::unix::{SignalKind, signal};
//!
//! tasklane::run(async {
//!     let mut hup = signal(SignalKind::hangup()).unwrap();
//!     // SAFETY: sending a signal to ourselves, whose handler is installed.
//!     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
//!     assert_eq!(hup.recv().await, Some(()));
//! });
//! ```

use super::SignalPipe;
use super::pipe::name;
use std::fmt;
use std::io;
use std::task::{Context, Poll};

/// A kind of signal, by number. Made by the named constructors, or by
/// [`from_raw`](Self::from_raw) for any number (checked by [`signal`]).
///
/// # Examples
///
/// ```
/// use tasklane::signal::unix::SignalKind;
///
/// assert_eq!(SignalKind::hangup().as_raw_value(), libc::SIGHUP);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// assert_eq!(format!("{:?}", SignalKind::window_change()), "SignalKind(SIGWINCH)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// The signal numbered `signum` (not checked here: [`signal`] rejects a
    /// number that is no signal, or one that cannot be caught).
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// `SIGHUP`: the terminal closed; by convention, daemons reload their
    /// configuration on it.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: Ctrl-C at the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: a polite request to end (what `kill` and service managers
    /// send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGQUIT`: Ctrl-\ at the terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`, for the program's own use.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`, for the program's own use.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process ended or stopped.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGWINCH`: the terminal's window size changed.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader. (The Rust
    /// runtime ignores it, so writes report `BrokenPipe` instead; listening
    /// for it makes it caught instead of ignored, which changes nothing for
    /// the writes.)
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind::from_raw(signum)
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalKind({})", name(self.0))
    }
}

/// A listener for one kind of signal, from [`signal`]. Dropping it stops
/// listening (module docs: the signal stays caught).
pub struct Signal {
    pipe: SignalPipe,
    kind: SignalKind,
}

/// Listens for `kind` from now on.
///
/// # Errors
///
/// `InvalidInput` for a number that is no signal, one the C library keeps
/// for itself (32 and 33 on glibc), or one that cannot be caught: `SIGKILL`
/// and `SIGSTOP` (the OS does not allow it), `SIGILL`, `SIGFPE` and
/// `SIGSEGV` (a program cannot go on after handling them; the
/// error names the signal). The OS error if the self-pipe cannot be made;
/// `NotFound` outside a runtime.
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use tasklane::signal::unix::{SignalKind, signal};
///
/// tasklane::run(async {
///     let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::InvalidInput);
///     assert!(err.to_string().contains("SIGKILL"));
/// });
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    Ok(Signal {
        pipe: SignalPipe::new(&[kind.0])?,
        kind,
    })
}

impl Signal {
    /// Waits for the signal: `Some(())` once it has arrived (one or more
    /// times) since the last `recv` returned or since [`signal`] made this
    /// listener; `None` once no signal can come any more, because the
    /// runtime this listener was made in has shut down.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a `recv` dropped before it returns has consumed
    /// nothing, and the next `recv` sees the signals it would have seen.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the signal (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.pipe.poll_recv(cx).map(|r| r.ok())
    }

    /// The kind this listener hears.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("pipe", &self.pipe)
            .finish()
    }
}
