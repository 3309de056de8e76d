//! `io::AsyncFd` on plain non-blocking descriptors (a Unix socket pair, a
//! pipe): readiness waits, `poll_io` turning "would block" into a wait and
//! resuming when the peer makes room, errors instead of panics for
//! descriptors it cannot take, and `into_inner` handing the descriptor back.

mod common;
mod netutil;

use common::rt;
use netutil::{SignalOnPending, wait_pending, watched, within};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;
use tasklane::io::{AsyncFd, Interest, Ready};

/// A connected pair, both ends non-blocking.
fn nonblocking_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn set_nonblocking(fd: impl AsFd) {
    let fd = fd.as_fd().as_raw_fd();
    // SAFETY: `fd` is open for the duration of both calls (borrowed).
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(flags >= 0);
        assert_eq!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK), 0);
    }
}

/// Reads whatever is there through `poll_io`, waiting if nothing is.
async fn read_some<T: AsFd>(fd: &AsyncFd<T>, buf: &mut [u8]) -> std::io::Result<usize>
where
    for<'a> &'a T: Read,
{
    fd.async_io(Interest::READ, |s| (&*s).read(buf)).await
}

/// `writable()` is ready on a fresh socket; `readable()` waits until the
/// peer writes, and then reports it (and keeps reporting it until a read
/// would block); once the peer is gone it reports the hang-up, and reads see
/// end of stream.
#[test]
fn readable_and_writable_wait_for_readiness() {
    let rt = rt(2);
    rt.block_on(within("readable/writable", async {
        let (a, b) = nonblocking_pair();
        let b = AsyncFd::new(b).unwrap();
        let ready = b.writable().await.unwrap();
        assert!(ready.is_writable(), "{ready:?}");

        let early = tasklane::wait_for(b.readable(), Duration::from_millis(50)).await;
        assert!(early.is_err(), "readable with nothing sent: {early:?}");
        (&a).write_all(b"ping").unwrap();
        let ready = b.readable().await.unwrap();
        assert!(ready.is_readable(), "{ready:?}");
        let mut buf = [0; 16];
        assert_eq!(read_some(&b, &mut buf).await.unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");
        // Nothing more: a read waits, having cleared the cached readiness.
        let idle = tasklane::wait_for(read_some(&b, &mut buf), Duration::from_millis(50)).await;
        assert!(idle.is_err(), "read with nothing sent: {idle:?}");

        drop(a);
        let ready = b.readable().await.unwrap();
        assert!(ready.contains(Ready::READ_CLOSED), "{ready:?}");
        assert_eq!(read_some(&b, &mut buf).await.unwrap(), 0);
    }));
}

/// The writer fills the socket buffer; its next `poll_io` write hits "would
/// block", clears the cached readiness and waits (it neither spins nor
/// fails). A reader then drains everything, and the writer, woken by the
/// room it makes, finishes another megabyte. Every byte arrives, in order.
#[test]
fn poll_io_waits_while_full_and_resumes_when_drained() {
    const EXTRA: usize = 1024 * 1024;
    const MAX_FILL: usize = 4 * 1024 * 1024;
    watched(rt(2), "backpressure through AsyncFd", async {
        let (a, b) = nonblocking_pair();
        let w = Arc::new(AsyncFd::new(a).unwrap());
        let r = AsyncFd::new(b).unwrap();
        let data = netutil::pattern(5, MAX_FILL + EXTRA);

        // Fill the buffer with plain non-blocking writes.
        let mut filled = 0;
        loop {
            match w.get_ref().write(&data[filled..filled + 4096]) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
            assert!(filled < MAX_FILL, "the socket buffer never filled");
        }

        // A write through poll_io now waits.
        let blocked = tasklane::wait_for(
            w.async_io(Interest::WRITE, |s| (&*s).write(&data[filled..filled + 1])),
            Duration::from_millis(50),
        )
        .await;
        assert!(blocked.is_err(), "wrote into a full buffer: {blocked:?}");

        // The writer goes on from where the fill stopped, waiting as needed.
        let (write_rest, suspended) = SignalOnPending::new({
            let (w, data) = (w.clone(), data.clone());
            async move {
                let mut sent = filled;
                while sent < filled + EXTRA {
                    let end = (sent + 64 * 1024).min(filled + EXTRA);
                    sent += w
                        .async_io(Interest::WRITE, |s| (&*s).write(&data[sent..end]))
                        .await
                        .unwrap();
                }
            }
        });
        let writer = tasklane::spawn(write_rest);
        let waited = tasklane::spawn_blocking(move || wait_pending("the writer", &suspended));
        waited.await.unwrap();
        assert!(!writer.is_finished(), "the writer did not wait");

        // Drain: everything the fill and the writer sent, in order.
        let mut got = vec![0; filled + EXTRA];
        let mut at = 0;
        while at < got.len() {
            let n = read_some(&r, &mut got[at..]).await.unwrap();
            assert_ne!(n, 0, "end of stream after {at} bytes");
            at += n;
        }
        writer.await.unwrap();
        assert!(got[..] == data[..filled + EXTRA], "bytes differ");
    });
}

/// Outside a runtime, `AsyncFd::new` is an error saying why, not a panic;
/// under `Runtime::enter` it works.
#[test]
fn new_outside_a_runtime_is_an_error() {
    let (_a, b) = nonblocking_pair();
    let err = AsyncFd::new(b).expect_err("registered without a runtime");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("runtime"), "unclear error: {err}");

    let rt = rt(1);
    let _enter = rt.enter();
    let (_a, b) = nonblocking_pair();
    assert!(AsyncFd::new(b).is_ok());
}

/// A descriptor epoll cannot watch (a regular file) is refused with the
/// OS error.
#[test]
fn a_regular_file_is_refused() {
    let rt = rt(1);
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let err = rt
        .block_on(async { AsyncFd::new(file) })
        .expect_err("registered a regular file");
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err:?}");
}

/// `into_inner` gives back the same, still open descriptor, no longer
/// registered: it can be registered again, or used as a plain blocking
/// socket.
#[test]
fn into_inner_gives_the_descriptor_back() {
    let rt = rt(2);
    rt.block_on(within("into_inner", async {
        let (a, b) = nonblocking_pair();
        let raw = b.as_raw_fd();
        let fd = AsyncFd::new(b).unwrap();
        assert_eq!(fd.as_raw_fd(), raw);
        let mut buf = [0; 8];
        (&a).write_all(b"one").unwrap();
        assert_eq!(read_some(&fd, &mut buf).await.unwrap(), 3);

        let b = fd.into_inner();
        assert_eq!(b.as_raw_fd(), raw);
        // Registering it again would fail (EEXIST) had it not been removed.
        let again = AsyncFd::new(b).unwrap();
        (&a).write_all(b"two").unwrap();
        assert_eq!(read_some(&again, &mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"two");

        let mut b = again.into_inner();
        b.set_nonblocking(false).unwrap();
        (&a).write_all(b"three").unwrap();
        let mut five = [0; 5];
        b.read_exact(&mut five).unwrap();
        assert_eq!(&five, b"three");
    }));
}

/// A pipe's read end: a task waiting on it gets the data written from
/// another thread, then end of stream when the write end closes.
#[test]
fn a_pipe_reader_gets_data_then_end_of_stream() {
    let rt = rt(2);
    let (r, mut w) = std::io::pipe().unwrap();
    set_nonblocking(&r);
    let reader = rt.spawn(within("pipe reader", async move {
        let r = AsyncFd::new(r).unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 3];
        loop {
            let n = read_some(&r, &mut buf).await.unwrap();
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }));
    std::thread::spawn(move || {
        w.write_all(b"through the pipe").unwrap();
        drop(w);
    })
    .join()
    .unwrap();
    assert_eq!(rt.block_on(reader).unwrap(), b"through the pipe");
}
