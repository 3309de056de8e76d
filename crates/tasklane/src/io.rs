//! Readiness of file descriptors: [`AsyncFd`] makes any non-blocking
//! descriptor awaitable, and is what `tasklane::net` is built on.

use crate::driver::RuntimeDriver;
use crate::runtime::Handle;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tasklane_io::Registration;
use tasklane_sched::coop;

pub use tasklane_io::{Interest, Ready};

/// A non-blocking file descriptor registered with the runtime's reactor.
///
/// The descriptor must be in non-blocking mode (an `AsyncFd` does not
/// change it). Readiness is edge-triggered and cached: a direction stays
/// ready until an I/O call in it reports "would block", which
/// [`poll_io`](Self::poll_io) detects and turns into a wait. Dropping the
/// `AsyncFd` deregisters the descriptor before closing it.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use tasklane::io::{AsyncFd, Interest};
///
/// tasklane::run(async {
///     let (mut a, b) = UnixStream::pair().unwrap();
///     b.set_nonblocking(true).unwrap();
///     let b = AsyncFd::new(b).unwrap();
///     a.write_all(b"ping").unwrap();
///     let mut buf = [0; 4];
///     let n = std::future::poll_fn(|cx| b.poll_io(cx, Interest::READ, |s| (&*s).read(&mut buf)))
///         .await
///         .unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct AsyncFd<T: AsFd> {
    inner: Option<T>,
    registration: Registration,
    driver: Arc<RuntimeDriver>,
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner` with the current runtime's reactor.
    ///
    /// # Errors
    ///
    /// Outside a runtime (`NotFound`), or the OS error of the registration
    /// (a descriptor that cannot be polled, such as a regular file).
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        let driver = Handle::try_with_current(|h| h.driver().clone()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "tasklane::io: no tasklane runtime here; create I/O objects inside a runtime",
            )
        })?;
        // SAFETY: `inner` keeps the descriptor open while it lives (what
        // `AsFd` promises), and the `AsyncFd` keeps `inner` (no method hands
        // it out by value or by `&mut`) until `deregister` has run: in
        // `drop`, before the fields drop, and in `into_inner`.
        let registration = unsafe { driver.io().register(inner.as_fd()) }?;
        Ok(AsyncFd {
            inner: Some(inner),
            registration,
            driver,
        })
    }

    /// The descriptor's owner.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until drop")
    }

    /// Deregisters the descriptor and gives its owner back.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.inner.take().expect("present until drop")
    }

    fn deregister(&mut self) {
        if let Some(inner) = &self.inner {
            // An error here (the descriptor was already closed behind our
            // back) leaves nothing to undo: the registration is gone anyway.
            let _ = self
                .driver
                .io()
                .deregister(inner.as_fd(), &self.registration);
        }
    }

    /// Polls for readiness in `interest`'s direction. The returned bits stay
    /// set until an I/O call reports "would block"; prefer
    /// [`poll_io`](Self::poll_io), which handles that.
    pub fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<Ready>> {
        self.registration
            .io()
            .poll_ready(cx, interest)
            .map(|r| r.map(|ev| ev.ready).map_err(|_| gone()))
    }

    /// Runs the non-blocking call `f` once the direction is ready; if it
    /// reports "would block", clears the readiness it was made under and
    /// waits again. Charges the task's cooperative budget.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drained(cx, interest, f, |_| false)
    }

    /// [`poll_io`](Self::poll_io) for a call that can tell, from its result,
    /// that it drained the direction's readiness: `drained(&r)` true clears
    /// the readiness as a "would block" would, which saves the next call
    /// that would only report it. A stream socket's read that filled less
    /// than its buffer, or write that took less than it was given, is such
    /// a call: the kernel had no more to give, or no more room. Data or room
    /// that comes after the call is a new edge, whose event bumps the tick
    /// and so either defeats the clear or sets the bit again after it (the
    /// readiness protocol of `tasklane_io::ScheduledIo`): no wake-up is lost.
    /// An end of stream that came with the data is no new edge, but the
    /// reactor reports it (`EPOLLRDHUP`) as `READ_CLOSED`, which no clear
    /// removes.
    pub(crate) fn poll_io_drained<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let event = match ready!(self.registration.io().poll_ready(cx, interest)) {
                Ok(ev) => ev,
                Err(_) => return Poll::Ready(Err(gone())),
            };
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.io().clear_readiness(event);
                }
                r => {
                    if r.as_ref().is_ok_and(&drained) {
                        self.registration.io().clear_readiness(event);
                    }
                    coop.made_progress();
                    return Poll::Ready(r);
                }
            }
        }
    }

    /// Runs the non-blocking call `f` now if `interest`'s direction is
    /// ready, without waiting: `WouldBlock` if it is not ready, or if `f`
    /// reports it (which clears the readiness, so that the next
    /// [`readable`](Self::readable) or [`writable`](Self::writable) waits
    /// for a new event). Registers no waker, and does not charge the
    /// cooperative budget. Readiness is what the reactor has seen: a
    /// descriptor just registered is ready in no direction until the
    /// reactor's next poll reports it, so pair `try_io` with
    /// [`readable`](Self::readable) or [`writable`](Self::writable).
    ///
    /// # Errors
    ///
    /// `WouldBlock` as above; `f`'s error; or an error if the runtime has
    /// shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{ErrorKind, Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use tasklane::io::{AsyncFd, Interest};
    ///
    /// tasklane::run(async {
    ///     let (mut a, b) = UnixStream::pair().unwrap();
    ///     b.set_nonblocking(true).unwrap();
    ///     let b = AsyncFd::new(b).unwrap();
    ///     let mut buf = [0; 4];
    ///     let r = b.try_io(Interest::READ, |s| (&*s).read(&mut buf));
    ///     assert_eq!(r.unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     a.write_all(b"ping").unwrap();
    ///     loop {
    ///         b.readable().await.unwrap();
    ///         match b.try_io(Interest::READ, |s| (&*s).read(&mut buf)) {
    ///             Ok(n) => break assert_eq!(&buf[..n], b"ping"),
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             Err(e) => panic!("{e}"),
    ///         }
    ///     }
    /// });
    /// ```
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let event = match self.registration.io().try_ready(interest) {
            None => return Err(io::ErrorKind::WouldBlock.into()),
            Some(Err(_)) => return Err(gone()),
            Some(Ok(event)) => event,
        };
        let r = f(self.get_ref());
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.registration.io().clear_readiness(event);
        }
        r
    }

    /// Waits until the descriptor is readable (or hung up, or in error).
    pub async fn readable(&self) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.poll_ready(cx, Interest::READ)).await
    }

    /// Waits until the descriptor is writable (or hung up, or in error).
    pub async fn writable(&self) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.poll_ready(cx, Interest::WRITE)).await
    }

    /// Runs `f` until it does not report "would block", waiting for
    /// `interest`'s readiness in between.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, interest, &mut f)).await
    }
}

fn gone() -> io::Error {
    io::Error::other("tasklane::io: the runtime this I/O object belongs to has shut down")
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .field("ready", &self.registration.io().readiness())
            .finish_non_exhaustive()
    }
}
