//! Files and directories, on the blocking pool: tokio's `fs`, asyncio's
//! `to_thread` around `open`/`os` calls.
//!
//! Every function here runs the standard library's call of the same name
//! on the runtime's blocking pool ([`spawn_blocking`](crate::spawn_blocking)),
//! so a slow disk or network file system never stalls a worker. Errors are
//! the standard library's, with the same kinds and OS codes. [`File`] is
//! an open file implementing `futures-io`'s `AsyncRead`, `AsyncWrite` and
//! `AsyncSeek`, buffered so that small reads do not each cost a pool round
//! trip.
//!
//! # Cancellation
//!
//! A call that has started on the pool runs to its end even if its future
//! is dropped (a thread cannot be interrupted in a system call); one still
//! waiting for a pool thread when dropped never runs. So a cancelled
//! [`write`](fn@write), [`copy`] or [`remove_dir_all`] has either done all of its
//! work or none of it (short of an OS error partway, as with the standard
//! library); the caller only misses hearing the outcome. [`File`]
//! documents what its cancelled reads and writes leave.
//!
//! # Errors
//!
//! Outside a tasklane runtime every function fails with `Other` (nothing
//! is done); a job that panics on the pool (none should) or that a runtime
//! shutdown stopped before it ran is an `Other` error too.
//!
//! # Examples
//!
//! ```
//! use tasklane::fs;
//!
//! tasklane::run(async {
//!     let dir = std::env::temp_dir().join(format!("tasklane-doc-fs-{}", std::process::id()));
//!     fs::create_dir_all(dir.join("a/b")).await.unwrap();
//!     fs::write(dir.join("a/b/hello.txt"), "hello").await.unwrap();
//!     assert_eq!(fs::read_to_string(dir.join("a/b/hello.txt")).await.unwrap(), "hello");
//!     let names: Vec<_> = fs::read_dir(dir.join("a/b")).await.unwrap()
//!         .map(|e| e.unwrap().file_name())
//!         .collect();
//!     assert_eq!(names, ["hello.txt"]);
//!     fs::remove_dir_all(&dir).await.unwrap();
//! });
//! ```

mod buf;
mod file;
mod open_options;
mod pool;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir};
pub use std::fs::{FileType, Metadata, Permissions};

use std::io;
use std::path::{Path, PathBuf};

/// The handle types can move between tasks and threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<File>();
    send_sync::<OpenOptions>();
    send_sync::<ReadDir>();
    send_sync::<DirEntry>();
};

/// Runs `f` with an owned copy of `path` on the blocking pool.
async fn with_path<T, F>(path: impl AsRef<Path>, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path = path.as_ref().to_owned();
    pool::run(move || f(&path)).await
}

/// Runs `f` with owned copies of two paths on the blocking pool.
async fn with_paths<T, F>(from: impl AsRef<Path>, to: impl AsRef<Path>, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    pool::run(move || f(&from, &to)).await
}

/// Reads a whole file into a vector: [`std::fs::read`].
///
/// # Errors
///
/// As `std::fs::read` (`NotFound`, `IsADirectory`, `PermissionDenied`, …).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    with_path(path, |p| std::fs::read(p)).await
}

/// Reads a whole file into a string: [`std::fs::read_to_string`].
///
/// # Errors
///
/// As `std::fs::read_to_string` (`InvalidData` if it is not UTF-8).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    with_path(path, |p| std::fs::read_to_string(p)).await
}

/// Creates or truncates a file and writes `contents` to it:
/// [`std::fs::write`]. `contents` is copied first (the pool needs an owned
/// buffer).
///
/// # Errors
///
/// As `std::fs::write`.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    with_path(path, move |p| std::fs::write(p, contents)).await
}

/// Copies a file's contents and permissions; returns the bytes copied:
/// [`std::fs::copy`].
///
/// # Errors
///
/// As `std::fs::copy`.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    with_paths(from, to, |f, t| std::fs::copy(f, t)).await
}

/// Renames a file or directory, replacing `to` if it is a file:
/// [`std::fs::rename`].
///
/// # Errors
///
/// As `std::fs::rename`.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    with_paths(from, to, |f, t| std::fs::rename(f, t)).await
}

/// Creates a hard link: [`std::fs::hard_link`].
///
/// # Errors
///
/// As `std::fs::hard_link`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    with_paths(original, link, |o, l| std::fs::hard_link(o, l)).await
}

/// Creates a symbolic link `link` pointing at `original`:
/// [`std::os::unix::fs::symlink`].
///
/// # Errors
///
/// As `std::os::unix::fs::symlink`.
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    with_paths(original, link, |o, l| std::os::unix::fs::symlink(o, l)).await
}

/// Removes a file: [`std::fs::remove_file`].
///
/// # Errors
///
/// As `std::fs::remove_file` (`NotFound`, `IsADirectory`, …).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path, |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory: [`std::fs::remove_dir`].
///
/// # Errors
///
/// As `std::fs::remove_dir` (`DirectoryNotEmpty`, `NotADirectory`, …).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path, |p| std::fs::remove_dir(p)).await
}

/// Removes a directory and everything in it: [`std::fs::remove_dir_all`].
///
/// # Errors
///
/// As `std::fs::remove_dir_all`.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path, |p| std::fs::remove_dir_all(p)).await
}

/// Creates a directory: [`std::fs::create_dir`].
///
/// # Errors
///
/// As `std::fs::create_dir` (`AlreadyExists`, `NotFound` for a missing
/// parent, …).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path, |p| std::fs::create_dir(p)).await
}

/// Creates a directory and its missing parents: [`std::fs::create_dir_all`].
///
/// # Errors
///
/// As `std::fs::create_dir_all`.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path, |p| std::fs::create_dir_all(p)).await
}

/// A path's metadata, following symbolic links: [`std::fs::metadata`].
///
/// # Errors
///
/// As `std::fs::metadata`.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    with_path(path, |p| std::fs::metadata(p)).await
}

/// A path's metadata, not following a final symbolic link:
/// [`std::fs::symlink_metadata`].
///
/// # Errors
///
/// As `std::fs::symlink_metadata`.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    with_path(path, |p| std::fs::symlink_metadata(p)).await
}

/// Whether a path exists (`Ok(false)` for a broken symbolic link):
/// [`std::fs::exists`].
///
/// # Errors
///
/// When existence cannot be told (`PermissionDenied` on a parent, …).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    with_path(path, |p| std::fs::exists(p)).await
}

/// Sets a path's permissions: [`std::fs::set_permissions`].
///
/// # Errors
///
/// As `std::fs::set_permissions`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    with_path(path, move |p| std::fs::set_permissions(p, perm)).await
}

/// The target of a symbolic link: [`std::fs::read_link`].
///
/// # Errors
///
/// As `std::fs::read_link` (`InvalidInput` if it is not a link).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    with_path(path, |p| std::fs::read_link(p)).await
}

/// The absolute path with every link and `.`/`..` resolved:
/// [`std::fs::canonicalize`].
///
/// # Errors
///
/// As `std::fs::canonicalize` (`NotFound` if a component does not exist).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    with_path(path, |p| std::fs::canonicalize(p)).await
}

/// Every entry of a directory, read in one pool job: [`std::fs::read_dir`]
/// collected. See [`ReadDir`].
///
/// # Errors
///
/// As `std::fs::read_dir` (`NotFound`, `NotADirectory`, …); an error while
/// listing takes its place among the entries.
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     let mut n = 0;
///     for entry in tasklane::fs::read_dir("/").await.unwrap() {
///         let entry = entry.unwrap();
///         assert!(entry.path().starts_with("/"));
///         n += 1;
///     }
///     assert!(n > 0);
/// });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    with_path(path, |p| std::fs::read_dir(p).map(ReadDir::read_all)).await
}
