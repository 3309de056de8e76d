//! Helpers shared by the socket tests: a timeout that turns a hang into a
//! failure, recognisable payloads, an echo loop, and a future that reports
//! when it first suspends.
//!
//! Each test file uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Far beyond what any step takes, even on a loaded machine: only turns a
/// hang into a failure.
pub(crate) const GENEROUS: Duration = Duration::from_secs(30);

/// Runs `f` for at most [`GENEROUS`], panicking with `what` if it does not
/// finish.
pub(crate) async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tasklane::wait_for(f, GENEROUS).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: still not done after {GENEROUS:?}"),
    }
}

/// `len` bytes that differ from one `seed` to another and along the
/// stream, so that a swapped, lost or repeated chunk shows.
pub(crate) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Echoes everything it reads until end of stream, then closes its write
/// side; returns the number of bytes echoed.
pub(crate) async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) -> io::Result<usize> {
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            s.close().await?;
            return Ok(total);
        }
        s.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// Wraps a future and sends on `tx` the first time it returns `Pending`:
/// once the test hears it, the future is suspended (waiting for I/O).
pub(crate) struct SignalOnPending<F> {
    inner: Pin<Box<F>>,
    tx: Option<mpsc::Sender<()>>,
}

impl<F: Future> SignalOnPending<F> {
    pub(crate) fn new(inner: F) -> (SignalOnPending<F>, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        (
            SignalOnPending {
                inner: Box::pin(inner),
                tx: Some(tx),
            },
            rx,
        )
    }
}

impl<F: Future> Future for SignalOnPending<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let r = self.inner.as_mut().poll(cx);
        if r.is_pending()
            && let Some(tx) = self.tx.take()
        {
            let _ = tx.send(());
        }
        r
    }
}

/// Runs `fut` as a task on `rt` and waits for its output from this (plain)
/// thread for at most [`GENEROUS`]. Unlike [`within`], this also catches a
/// task stuck inside one poll (spinning), which no timer can interrupt: the
/// runtime is then leaked, since dropping it would wait for the stuck worker.
pub(crate) fn watched<T, F>(rt: tasklane::Runtime, what: &str, fut: F) -> T
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    })
    .detach();
    match rx.recv_timeout(GENEROUS) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the task panicked"),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            std::mem::forget(rt);
            panic!("{what}: stuck for {GENEROUS:?} (a poll that never returns?)")
        }
    }
}

/// Waits on a plain thread until `rx` hears from a [`SignalOnPending`].
pub(crate) fn wait_pending(what: &str, rx: &mpsc::Receiver<()>) {
    rx.recv_timeout(GENEROUS)
        .unwrap_or_else(|_| panic!("{what}: never suspended"));
}
