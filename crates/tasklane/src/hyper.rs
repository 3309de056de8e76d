//! Serving and fetching HTTP with [hyper] 1.x on tasklane (cargo feature
//! `hyper`).
//!
//! hyper brings its own runtime traits instead of depending on one runtime:
//! [`Io`] implements its `rt::Read` and `rt::Write` over tasklane's streams,
//! [`Executor`] spawns the tasks an HTTP/2 connection needs, and [`Timer`]
//! gives hyper sleeps on tasklane's timer wheel (header-read timeouts,
//! keep-alive pings).
//!
//! A server is an accept loop that spawns one task per connection, each
//! serving `Io::new(stream)`:
//!
//! ```
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use tasklane::hyper::{Io, Timer};
//! use tasklane::net::{TcpListener, TcpStream};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
//! }
//!
//! tasklane::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = tasklane::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(Timer::new())
//!             .serve_connection(Io::new(stream), hyper::service::service_fn(hello))
//!             .await
//!             .unwrap();
//!     });
//!
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream)).await.unwrap();
//!     tasklane::spawn(conn).detach();
//!     let req = Request::get("/").header("host", "localhost").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//!     let res = sender.send_request(req).await.unwrap();
//!     assert_eq!(res.status(), 200);
//!     drop(sender); // the connection ends, and so does the server's task
//!     server.await.unwrap();
//! });
//! ```
//!
//! `examples/http_server.rs` adds HTTP/2 (hyper-util's auto builder) and a
//! graceful shutdown; `examples/axum_router.rs` serves an axum `Router`.
//!
//! # A request's work and its cancellation
//!
//! hyper runs a request's handler inside the connection's task, and drops
//! the handler's future when the client goes away mid-request: its
//! destructors run, but its catch points ([`cancellable`]) never see a
//! cancellation. Wrap the service in [`TaskPerRequest`] to run each
//! request's handler as a task of its own, as aiohttp does: when the client
//! disconnects, hyper drops the handle, which cancels the task, and the
//! handler's catch points clean up with awaits. It costs one spawn per
//! request, and makes every request in flight visible in
//! [`Handle::tasks`](crate::Handle::tasks).
//!
//! [`cancellable`]: crate::task::cancellable

use crate::net::{TcpStream, unix::UnixStream};
use crate::task::{JoinError, JoinHandle};
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::hyper::rt;

mod sealed {
    pub trait Sealed {}
}

/// A tasklane stream that [`Io`] can read from: it reads straight into
/// memory hyper has not initialised. Implemented by [`TcpStream`],
/// [`UnixStream`] and their read halves.
pub trait ReadStream: sealed::Sealed {
    /// Reads into `buf`, which need not be initialised; `Ok(0)` is end of
    /// stream.
    #[doc(hidden)]
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

/// A tasklane stream that [`Io`] can write to, vectored. Implemented by
/// [`TcpStream`], [`UnixStream`] and their write halves.
pub trait WriteStream: sealed::Sealed {
    /// Writes `bufs` with one vectored system call.
    #[doc(hidden)]
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Shuts the write direction down (the peer reads end of stream).
    #[doc(hidden)]
    fn shutdown_write(&self) -> io::Result<()>;
}

macro_rules! stream_impls {
    ($stream:ty, $read_half:ty, $write_half:ty) => {
        impl sealed::Sealed for $stream {}
        impl sealed::Sealed for $read_half {}
        impl sealed::Sealed for $write_half {}

        impl ReadStream for $stream {
            fn poll_read_uninit(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                <$stream>::poll_read_uninit(self, cx, buf)
            }
        }

        impl ReadStream for $read_half {
            fn poll_read_uninit(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                self.stream().poll_read_uninit(cx, buf)
            }
        }

        impl WriteStream for $stream {
            fn poll_write_vectored(
                &self,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn shutdown_write(&self) -> io::Result<()> {
                self.shutdown(std::net::Shutdown::Write)
            }
        }

        impl WriteStream for $write_half {
            fn poll_write_vectored(
                &self,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.stream().poll_write_vectored_priv(cx, bufs)
            }

            fn shutdown_write(&self) -> io::Result<()> {
                self.stream().shutdown(std::net::Shutdown::Write)
            }
        }
    };
}

stream_impls!(
    TcpStream,
    crate::net::OwnedReadHalf,
    crate::net::OwnedWriteHalf
);
stream_impls!(
    UnixStream,
    crate::net::unix::OwnedReadHalf,
    crate::net::unix::OwnedWriteHalf
);

/// A tasklane stream as hyper's I/O: `hyper::rt::Read` for any
/// [`ReadStream`], `hyper::rt::Write` for any [`WriteStream`].
///
/// Reads go straight into hyper's buffer, without zeroing it first; writes
/// are vectored (`writev`), so hyper sends a response's head and body in
/// one system call. A read that fills less than the buffer tells the
/// reactor the socket is drained, so the next read waits for data instead
/// of asking the kernel again.
pub struct Io<T> {
    inner: T,
}

impl<T> Io<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Io<T> {
        Io { inner }
    }

    /// The stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The stream, unwrapped.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Io<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Io").field(&self.inner).finish()
    }
}

impl<T: ReadStream> rt::Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `poll_read_uninit` writes only initialised bytes into the
        // cursor's spare capacity (it never de-initialises any), and reports
        // how many it wrote; exactly those are then marked filled.
        let n = std::task::ready!(self.inner.poll_read_uninit(cx, unsafe { buf.as_mut() }))?;
        // SAFETY: the read initialised the first `n` bytes of the spare
        // capacity (above).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: WriteStream> rt::Write for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered: every write is a system call.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A peer that already reset the connection leaves nothing to shut
        // down: the write direction is closed either way.
        Poll::Ready(match self.inner.shutdown_write() {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        })
    }
}

/// hyper's executor on tasklane: each future hyper hands over (an HTTP/2
/// connection's streams and its driver) becomes a detached task of the
/// current runtime, which ends it at shutdown like any other.
///
/// # Panics
///
/// `execute` panics outside a tasklane runtime, as [`crate::spawn`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl Executor {
    /// The executor.
    pub fn new() -> Executor {
        Executor
    }
}

impl<F> rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        crate::task::Builder::new()
            .name("hyper-task")
            .spawn(fut)
            .detach();
    }
}

/// hyper's timer on tasklane's timer wheel: header-read timeouts,
/// keep-alive timeouts and HTTP/2 pings are tasklane [`Sleep`]s.
///
/// [`Sleep`]: crate::time::Sleep
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

impl Timer {
    /// The timer.
    pub fn new() -> Timer {
        Timer
    }
}

/// A tasklane sleep as hyper's `rt::Sleep`.
#[derive(Debug)]
struct HyperSleep(crate::time::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl rt::Sleep for HyperSleep {}

impl rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        // The runtime's clock, so that hyper's deadlines follow a paused one.
        crate::time::Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn rt::Sleep>>, new_deadline: Instant) {
        // Moving the timer in place keeps its allocation and its wheel slot.
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut s) => s.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A hyper service whose every request runs as a task of its own (module
/// docs): dropping the response future, as hyper does when the client
/// disconnects mid-request, cancels the task, and the handler's catch
/// points see the cancellation.
///
/// A handler that panics, or whose task is cancelled by someone else (the
/// runtime's shutdown, say), fails the request with the [`JoinError`] as
/// its error; hyper then closes the connection.
///
/// # Panics
///
/// `call` panics outside a tasklane runtime, as [`crate::spawn`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskPerRequest<S> {
    inner: S,
}

impl<S> TaskPerRequest<S> {
    /// Runs each request of `service` as a task.
    pub fn new(service: S) -> TaskPerRequest<S> {
        TaskPerRequest { inner: service }
    }
}

impl<S, R> ::hyper::service::Service<R> for TaskPerRequest<S>
where
    S: ::hyper::service::Service<R>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = S::Response;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = RequestTask<S::Response, S::Error>;

    fn call(&self, req: R) -> Self::Future {
        RequestTask {
            handle: crate::task::Builder::new()
                .name("hyper-request")
                .spawn(self.inner.call(req)),
        }
    }
}

/// The response future of [`TaskPerRequest`]: awaits the request's task;
/// dropping it cancels the task.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct RequestTask<T, E> {
    handle: JoinHandle<Result<T, E>>,
}

impl<T, E> Future for RequestTask<T, E>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Output = Result<T, Box<dyn std::error::Error + Send + Sync>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let joined: Result<Result<T, E>, JoinError> =
            std::task::ready!(Pin::new(&mut self.handle).poll(cx));
        Poll::Ready(match joined {
            Ok(Ok(res)) => Ok(res),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(Box::new(e)),
        })
    }
}
