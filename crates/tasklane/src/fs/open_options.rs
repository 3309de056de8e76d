//! [`OpenOptions`]: how to open a [`File`].

use super::{File, pool};
use std::fmt;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Options to open a [`File`] with: the standard library's
/// [`OpenOptions`](std::fs::OpenOptions), opening on the blocking pool.
///
/// # Examples
///
/// ```
/// use futures_lite::io::AsyncWriteExt;
/// use tasklane::fs::OpenOptions;
///
/// tasklane::run(async {
///     let path = std::env::temp_dir().join(format!("tasklane-doc-append-{}", std::process::id()));
///     for line in ["one\n", "two\n"] {
///         let mut f = OpenOptions::new().append(true).create(true).open(&path).await.unwrap();
///         f.write_all(line.as_bytes()).await.unwrap();
///         f.flush().await.unwrap();
///     }
///     assert_eq!(tasklane::fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
///     tasklane::fs::remove_file(&path).await.unwrap();
/// });
/// ```
#[derive(Clone)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Open for appending: every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to length 0 on opening (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits a created file gets (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.0.mode(mode);
        self
    }

    /// Extra `open(2)` flags.
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.0.custom_flags(flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// # Errors
    ///
    /// The standard library's errors, with their kinds and OS codes
    /// (`NotFound`, `PermissionDenied`, `AlreadyExists`, `InvalidInput`
    /// for contradictory options, …). A directory is refused with
    /// `IsADirectory`, naming the path, even when opened only for reading
    /// (which `open(2)` allows): a `File` is for files. To `fsync` a
    /// directory, open it with the standard library inside
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// # Cancellation
    ///
    /// Once the open has started on the pool it completes; dropping the
    /// future then closes the file unseen.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let opts = self.0.clone();
        let path = path.as_ref().to_owned();
        let std = pool::run(move || {
            let file = opts.open(&path)?;
            if file.metadata()?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    format!("{}: is a directory, not a file", path.display()),
                ));
            }
            Ok(file)
        })
        .await?;
        Ok(File::from_std(std))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(std: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(std)
    }
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
