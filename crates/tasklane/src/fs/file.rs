//! [`File`]: an open file whose reads, writes and seeks run on the
//! blocking pool, one job at a time, through one buffer.
//!
//! # The state machine
//!
//! A `File` is `Idle` (holding its [`Buf`]) or `Busy` (one pool job owns
//! the buffer and gives it back with the job's outcome, an [`Op`]). At
//! most one job is in flight, so the file's operations happen in the order
//! they were started.
//!
//! 1. **Read.** Idle with read-ahead: copy from it, no job. Idle and empty:
//!    start a job reading `read_size` bytes (or the caller's buffer's size
//!    if larger, up to `MAX_BUF`), wait for it, copy what the caller's
//!    buffer takes; the rest is read-ahead for the next reads. `read_size`
//!    starts at `MIN_READ` and doubles (up to `MAX_BUF`) after each job
//!    that filled its request, so a file read in order takes fewer, larger
//!    jobs; a seek or a write sets it back to `MIN_READ`, so random access
//!    reads little it does not use.
//! 2. **Write.** Wait for a job in flight. Then copy up to `MAX_BUF`
//!    bytes into the buffer, start a job writing them in full
//!    (`write_all`), and return at once, saying they were written. An error
//!    of that job is returned by the next write, flush, `sync_all` or
//!    `sync_data` (a read or a seek in between keeps it for them). If there
//!    was read-ahead, the job first seeks back over it, so the write lands
//!    where the reader is.
//! 3. **Seek.** Wait for a job in flight, forget the read-ahead (correcting
//!    a `SeekFrom::Current` by its length), start a seek job, wait for it.
//! 4. **Flush.** Wait for the job in flight; report a pending write error.
//! 5. **Calls on `&self`** (`sync_all`, `sync_data`, `set_len`, `metadata`,
//!    `set_permissions`, and `into_std`). They take the file's async lock,
//!    wait for the job in flight, and run as the next job (its result goes
//!    to a slot of the call's own), waiting for it with the lock held: tasks
//!    sharing a `File` through an `Arc` are served one at a time, and only
//!    one of them ever waits on the job. The `futures-io` methods take
//!    `&mut self` and so never meet a `&self` call; they reach the state
//!    without the lock. A call dropped after its job started leaves the job
//!    in flight, and the next operation waits for it.
//!
//! Cancellation: see [`File`]'s docs.

use super::buf::{Buf, MAX_BUF, MIN_READ};
use super::{OpenOptions, pool};
use crate::task::JoinHandle;
use async_lock::Mutex;
use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{Future, poll_fn};
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// An open file, for use from async code: tokio's `File`.
///
/// Reads, writes and seeks run on the blocking pool and never block a
/// worker; `futures-io`'s [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`]
/// are implemented. Reads are buffered: a pool job reads at least 64 KiB,
/// and twice as much as the last one while the file is read in order (up
/// to 2 MiB), so many small reads share one pool round trip. Writes are
/// written behind: `poll_write` hands up to 2 MiB to a pool job and returns;
/// **call `flush` (or `close`) to wait for the last write and learn
/// whether it failed**.
///
/// # Cancellation
///
/// A job, once started, runs to its end even if the future that started it
/// is dropped, and even if the `File` is dropped (the job is detached, and
/// keeps the descriptor open until it ends). So bytes a write has accepted
/// are written in full unless the OS fails (the error is then returned by
/// the next write, flush, `sync_all` or `sync_data`, or lost if the `File`
/// is gone), and a `write_all` cancelled
/// midway leaves the file holding a prefix of its data made of the chunks
/// accepted (each whole). A read cancelled while its job runs loses
/// nothing: the data stays as read-ahead for the next read. The one thing
/// that stops a job unstarted is the runtime shutting down while it waits
/// for a pool thread: its chunk is then not written at all. A seek
/// abandoned before it finished still happens; the next seek is made
/// after it (one asking for the very same `SeekFrom` is taken to be the
/// abandoned one re-polled, as `poll_seek` cannot tell them apart).
///
/// # Examples
///
/// ```
/// use futures_lite::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
/// use tasklane::fs::File;
///
/// tasklane::run(async {
///     let path = std::env::temp_dir().join(format!("tasklane-doc-file-{}", std::process::id()));
///     let mut f = File::options().read(true).write(true).create(true).truncate(true).open(&path).await.unwrap();
///     f.write_all(b"hello, file").await.unwrap();
///     f.seek(SeekFrom::Start(7)).await.unwrap();
///     let mut s = String::new();
///     f.read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "file");
///     tasklane::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    /// The error of a write job whose `poll_write` had already returned,
    /// kept for the next write, flush or sync.
    write_err: Option<io::Error>,
    /// How much the next read job asks for (step 1).
    read_size: usize,
}

enum State {
    Idle(Buf),
    Busy(JoinHandle<(Op, Buf)>),
}

/// What a pool job did, handed back with the buffer.
enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    /// The result, and the position the caller asked for (to tell an
    /// abandoned seek's result from the one being waited for).
    Seek(io::Result<u64>, SeekFrom),
    /// A `&self` call's job (step 5), whose result went to the call.
    Done,
    /// The job gave no outcome: it panicked, or a runtime shutdown stopped
    /// it before it ran. Whatever it was, it is reported to the caller
    /// waiting now, or kept as a write error.
    Lost(io::Error),
}

impl Inner {
    /// Waits for the job in flight, if any, and takes its outcome back;
    /// `None` when idle.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<Option<Op>> {
        let State::Busy(job) = &mut self.state else {
            return Poll::Ready(None);
        };
        match ready!(Pin::new(job).poll(cx)) {
            Ok((op, buf)) => {
                self.state = State::Idle(buf);
                Poll::Ready(Some(op))
            }
            Err(e) => {
                self.state = State::Idle(Buf::default());
                Poll::Ready(Some(Op::Lost(pool::join_error(e))))
            }
        }
    }

    /// Waits until no job is in flight; an outcome nobody waits for is
    /// kept (read-ahead stays in the buffer, a write error in `write_err`).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while let Some(op) = ready!(self.poll_job(cx)) {
            self.keep(op);
        }
        Poll::Ready(())
    }

    /// Keeps what matters of an outcome that its caller is not there for.
    fn keep(&mut self, op: Op) {
        if let Op::Write(Err(e)) | Op::Lost(e) = op {
            self.write_err.get_or_insert(e);
        }
    }

    fn buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("the buffer is read only when idle"),
        }
    }
}

impl File {
    /// Opens a file for reading: `OpenOptions::new().read(true).open(path)`.
    ///
    /// # Errors
    ///
    /// The standard library's errors (`NotFound`, `PermissionDenied`, …),
    /// and `IsADirectory` for a directory.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it:
    /// `OpenOptions::new().write(true).create(true).truncate(true)`.
    ///
    /// # Errors
    ///
    /// The standard library's errors (`NotFound` for a missing parent
    /// directory, `IsADirectory`, `PermissionDenied`, …).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open standard file (its offset is where reads and writes
    /// start).
    pub fn from_std(std: std::fs::File) -> File {
        File::from_arc(Arc::new(std))
    }

    fn from_arc(std: Arc<std::fs::File>) -> File {
        File {
            std,
            inner: Mutex::new(Inner {
                state: State::Idle(Buf::default()),
                write_err: None,
                read_size: MIN_READ,
            }),
        }
    }

    /// Runs `f` as the file's next job (step 5): takes the file's lock,
    /// waits for the job in flight, reports a kept write error first if
    /// `after_writes`, puts the OS offset back where the reader is if
    /// `undo_read_ahead` (else the read-ahead is kept), then waits for the
    /// job with the lock held.
    async fn run_job<T: Send + 'static>(
        &self,
        after_writes: bool,
        undo_read_ahead: bool,
        f: impl FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let mut inner = self.inner.lock().await;
        poll_fn(|cx| inner.poll_idle(cx)).await;
        if after_writes && let Some(e) = inner.write_err.take() {
            return Err(e);
        }
        let handle = pool::handle()?;
        let mut buf = std::mem::take(inner.buf());
        let back = if undo_read_ahead {
            inner.read_size = MIN_READ;
            buf.discard_read()
        } else {
            0
        };
        let slot = Arc::new(parking_lot::Mutex::new(None));
        let (std, out) = (Arc::clone(&self.std), Arc::clone(&slot));
        inner.state = State::Busy(pool::start(&handle, move || {
            let r = if back != 0 {
                (&*std).seek(SeekFrom::Current(back)).map(drop)
            } else {
                Ok(())
            };
            *out.lock() = Some(r.and_then(|()| f(&std)));
            (Op::Done, buf)
        }));
        // Only this call polls the job: the lock is held until it ends.
        loop {
            match poll_fn(|cx| inner.poll_job(cx)).await {
                Some(Op::Done) | None => break,
                Some(Op::Lost(e)) => return Err(e),
                Some(op) => inner.keep(op),
            }
        }
        slot.lock()
            .take()
            .unwrap_or_else(|| Err(io::Error::other("tasklane::fs: the call gave no result")))
    }

    /// Waits for the write in flight, then flushes data and metadata to the
    /// disk (`fsync`).
    ///
    /// # Cancellation
    ///
    /// Once started, the call runs to its end even if the future is
    /// dropped, and the file's later operations wait for it.
    ///
    /// # Errors
    ///
    /// A failed earlier write, or the OS error of `fsync`.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.run_job(true, false, std::fs::File::sync_all).await
    }

    /// As [`sync_all`](Self::sync_all), but without metadata the data does
    /// not need (`fdatasync`).
    ///
    /// # Errors
    ///
    /// As `sync_all`.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.run_job(true, false, std::fs::File::sync_data).await
    }

    /// Truncates or extends the file to `size` bytes, after the job in
    /// flight. The position is unchanged (reads past the new end read
    /// nothing; read-ahead is forgotten).
    ///
    /// # Cancellation
    ///
    /// As [`sync_all`](Self::sync_all).
    ///
    /// # Errors
    ///
    /// A failed earlier write, or the OS error of `ftruncate` (for example
    /// `InvalidInput` for a file not opened for writing).
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.run_job(true, true, move |f| f.set_len(size)).await
    }

    /// The file's metadata, after the job in flight.
    ///
    /// # Errors
    ///
    /// The OS error of `fstat`.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.run_job(false, false, std::fs::File::metadata).await
    }

    /// Changes the file's permissions, after the job in flight.
    ///
    /// # Errors
    ///
    /// The OS error of `fchmod`.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.run_job(false, false, move |f| f.set_permissions(perm))
            .await
    }

    /// Waits for the job in flight, puts the offset back where the reader
    /// is, and returns the standard file.
    ///
    /// # Errors
    ///
    /// A failed earlier write, the OS error of the seek, or of `dup` in the
    /// rare case that a job's closure still holds the file (the runtime is
    /// shutting down).
    pub async fn into_std(self) -> io::Result<std::fs::File> {
        self.run_job(true, true, |_| Ok(())).await?;
        let std = Arc::clone(&self.std);
        drop(self); // idle: nothing to detach
        Arc::try_unwrap(std).or_else(|shared| shared.try_clone())
    }

    /// The standard file, if no job is in flight and nothing is buffered;
    /// the `File` back otherwise.
    ///
    /// # Errors
    ///
    /// Gives `self` back when it is busy or holds read-ahead.
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        let inner = self.inner.get_mut();
        let idle_empty = matches!(&inner.state, State::Idle(b) if b.is_empty());
        if !idle_empty || inner.write_err.is_some() || Arc::strong_count(&self.std) != 1 {
            return Err(self);
        }
        let std = Arc::clone(&self.std);
        drop(self); // idle: nothing to detach
        Arc::try_unwrap(std).map_err(File::from_arc)
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match &mut inner.state {
                State::Idle(buf) if !buf.is_empty() => return Poll::Ready(Ok(buf.copy_to(dst))),
                State::Idle(buf) => {
                    let handle = pool::handle()?;
                    let mut buf = std::mem::take(buf);
                    let std = Arc::clone(&me.std);
                    let want = dst.len().max(inner.read_size).min(MAX_BUF);
                    inner.state = State::Busy(pool::start(&handle, move || {
                        let r = buf.read_from(&*std, want);
                        (Op::Read(r), buf)
                    }));
                }
                State::Busy(_) => match ready!(inner.poll_job(cx)) {
                    Some(Op::Read(Ok(n))) => {
                        if n >= inner.read_size {
                            inner.read_size = (inner.read_size * 2).min(MAX_BUF);
                        }
                        return Poll::Ready(Ok(inner.buf().copy_to(dst)));
                    }
                    Some(Op::Read(Err(e)) | Op::Lost(e)) => return Poll::Ready(Err(e)),
                    Some(op) => inner.keep(op),
                    None => {}
                },
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        ready!(inner.poll_idle(cx));
        if let Some(e) = inner.write_err.take() {
            return Poll::Ready(Err(e));
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let handle = pool::handle()?;
        inner.read_size = MIN_READ;
        let mut buf = std::mem::take(inner.buf());
        let seek = (!buf.is_empty()).then(|| SeekFrom::Current(buf.discard_read()));
        let n = buf.copy_from(src);
        let std = Arc::clone(&me.std);
        inner.state = State::Busy(pool::start(&handle, move || {
            let r = buf.write_to(&*std, seek);
            (Op::Write(r), buf)
        }));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.get_mut().inner.get_mut();
        ready!(inner.poll_idle(cx));
        Poll::Ready(inner.write_err.take().map_or(Ok(()), Err))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        loop {
            match &mut inner.state {
                State::Idle(buf) => {
                    let handle = pool::handle()?;
                    inner.read_size = MIN_READ;
                    // The OS offset is ahead of the reader by the read-ahead.
                    let back = buf.len() as i64;
                    let actual = match pos {
                        SeekFrom::Current(off) => match off.checked_sub(back) {
                            Some(off) => SeekFrom::Current(off),
                            None => return Poll::Ready(Err(io::ErrorKind::InvalidInput.into())),
                        },
                        other => other,
                    };
                    let mut buf = std::mem::take(buf);
                    buf.discard_read();
                    let std = Arc::clone(&me.std);
                    inner.state = State::Busy(pool::start(&handle, move || {
                        let r = (&*std).seek(actual);
                        if r.is_err() && back > 0 {
                            // The offset did not move, so it is still ahead
                            // of the reader by the read-ahead just dropped:
                            // put it back where the reader is.
                            let _ = (&*std).seek(SeekFrom::Current(-back));
                        }
                        (Op::Seek(r, pos), buf)
                    }));
                }
                State::Busy(_) => match ready!(inner.poll_job(cx)) {
                    Some(Op::Seek(r, asked)) if asked == pos => return Poll::Ready(r),
                    Some(Op::Lost(e)) => return Poll::Ready(Err(e)),
                    // Another outcome (an abandoned seek, a read whose data
                    // is now read-ahead): keep it, then start this seek.
                    Some(op) => inner.keep(op),
                    None => {}
                },
            }
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // The job in flight runs to its end, unowned (module docs).
        let state = std::mem::replace(&mut self.inner.get_mut().state, State::Idle(Buf::default()));
        if let State::Busy(job) = state {
            job.detach();
        }
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .finish_non_exhaustive()
    }
}
