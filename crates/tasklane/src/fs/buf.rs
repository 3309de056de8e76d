//! [`Buf`]: the one buffer a [`File`](super::File) moves between itself
//! and the blocking pool.
//!
//! In the file it holds either nothing or read-ahead data not yet handed
//! to the reader (`start..end`); during a write job it holds the bytes to
//! write. `bytes` only grows, and is initialised once, so a read into it
//! costs no zeroing.

use std::io::{self, Read, Seek, SeekFrom, Write};

/// The most a single job reads or writes: a caller's buffer larger than
/// this is served in several jobs.
pub(super) const MAX_BUF: usize = 2 * 1024 * 1024;

/// The least a read job asks the file for, whatever the caller's buffer:
/// reads of a few bytes each are served from the read-ahead, one pool
/// round trip per this many bytes at first. While reads go on in order,
/// each job asks for twice as much as the last, up to [`MAX_BUF`]
/// (`File`'s module docs, step 1).
pub(super) const MIN_READ: usize = 64 * 1024;

const _: () = assert!(MIN_READ <= MAX_BUF);

#[derive(Debug, Default)]
pub(super) struct Buf {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buf {
    /// Nothing buffered.
    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(super) fn len(&self) -> usize {
        self.end - self.start
    }

    /// Hands buffered read-ahead to the reader.
    pub(super) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.len().min(dst.len());
        dst[..n].copy_from_slice(&self.bytes[self.start..self.start + n]);
        self.start += n;
        n
    }

    /// Forgets the unread read-ahead; returns the seek that puts the file's
    /// offset back where the reader is (`0` if nothing was buffered).
    pub(super) fn discard_read(&mut self) -> i64 {
        let back = -(self.len() as i64);
        self.start = 0;
        self.end = 0;
        back
    }

    /// Takes up to [`MAX_BUF`] bytes of `src` to write; returns how many.
    pub(super) fn copy_from(&mut self, src: &[u8]) -> usize {
        debug_assert!(self.is_empty(), "unread data would be lost");
        let n = src.len().min(MAX_BUF);
        self.grow(n);
        self.bytes[..n].copy_from_slice(&src[..n]);
        self.start = 0;
        self.end = n;
        n
    }

    fn grow(&mut self, n: usize) {
        if self.bytes.len() < n {
            self.bytes.resize(n, 0);
        }
    }

    /// On the pool: one `read` of up to `want` bytes (at least [`MIN_READ`],
    /// at most [`MAX_BUF`]) into the buffer, retried if interrupted.
    pub(super) fn read_from(&mut self, mut file: impl Read, want: usize) -> io::Result<usize> {
        debug_assert!(self.is_empty());
        let want = want.clamp(MIN_READ, MAX_BUF);
        self.grow(want);
        let n = loop {
            match file.read(&mut self.bytes[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        (self.start, self.end) = (0, *n.as_ref().unwrap_or(&0));
        n
    }

    /// On the pool: seeks `seek` first if given (undoing read-ahead), then
    /// writes the whole buffer. Empty afterwards, whatever the outcome.
    pub(super) fn write_to(
        &mut self,
        mut file: impl Write + Seek,
        seek: Option<SeekFrom>,
    ) -> io::Result<()> {
        let r = match seek {
            Some(pos) => file.seek(pos).map(drop),
            None => Ok(()),
        }
        .and_then(|()| file.write_all(&self.bytes[self.start..self.end]));
        (self.start, self.end) = (0, 0);
        r
    }
}
