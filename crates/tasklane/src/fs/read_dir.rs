//! [`ReadDir`] and [`DirEntry`]: a directory's entries, read in one pool
//! job.

use super::pool;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::PathBuf;

/// The entries of a directory, all read (by [`read_dir`](super::read_dir))
/// before it is returned: iterate it, or call
/// [`next_entry`](Self::next_entry) as with tokio. `.` and `..` are not
/// included; the order is the file system's.
pub struct ReadDir {
    entries: VecDeque<io::Result<DirEntry>>,
}

impl ReadDir {
    /// Reads every entry of `std` (on the blocking pool), with each
    /// entry's file type: from the listing (`d_type`) on most file systems,
    /// else by an `lstat` std makes in this same job.
    pub(super) fn read_all(std: std::fs::ReadDir) -> ReadDir {
        let entries = std
            .map(|e| {
                e.map(|std| DirEntry {
                    file_type: std.file_type().ok(),
                    std,
                })
            })
            .collect();
        ReadDir { entries }
    }

    /// The next entry; `None` after the last. Never waits (the entries are
    /// already read); `async` for tokio's signature.
    ///
    /// # Errors
    ///
    /// An error the OS gave while listing the directory, in its place.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        self.entries.pop_front().transpose()
    }

    /// Entries (or errors) not yet taken.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every entry has been taken.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        self.entries.pop_front()
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("left", &self.entries.len())
            .finish()
    }
}

/// One entry of a [`ReadDir`].
pub struct DirEntry {
    std: std::fs::DirEntry,
    /// Taken when the directory was read; `None` if that `lstat` failed.
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The entry's full path: the directory's path joined with its name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's file type (not following a symbolic link), taken when
    /// the directory was read (module docs); if that failed, an `lstat`
    /// on the pool now.
    ///
    /// # Errors
    ///
    /// The OS error of `lstat`.
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(t) => Ok(t),
            None => {
                let path = self.std.path();
                pool::run(move || std::fs::symlink_metadata(path).map(|m| m.file_type())).await
            }
        }
    }

    /// The entry's metadata (not following a symbolic link), from a
    /// `lstat` on the pool.
    ///
    /// # Errors
    ///
    /// The OS error of `lstat` (`NotFound` if the entry was removed since
    /// the listing).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let path = self.std.path();
        pool::run(move || std::fs::symlink_metadata(path)).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.std.path()).finish()
    }
}
