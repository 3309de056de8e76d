//! [`Command`]: a process builder, the standard library's with async
//! spawning and waiting.

use super::child::Child;
use super::orphan;
use crate::runtime::Handle;
use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

/// A process builder: [`std::process::Command`] whose `spawn` gives a
/// [`Child`] waited for through the reactor, with `output` and `status`
/// as futures.
///
/// By default the child inherits the parent's standard streams (except
/// with [`output`](Self::output)), environment and working directory, and
/// is **not** killed when its [`Child`] is dropped.
///
/// # Examples
///
/// ```
/// use tasklane::process::{Command, Stdio};
///
/// tasklane::run(async {
///     let status = Command::new("sh")
///         .args(["-c", "test \"$GREETING\" = hi"])
///         .env("GREETING", "hi")
///         .stdout(Stdio::null())
///         .status()
///         .await
///         .unwrap();
///     assert!(status.success());
/// });
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Whether `stdin` was set, so that `output` can default it to null.
    stdin_set: bool,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no `/`),
    /// with no arguments.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds
    /// afterwards).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's standard input: [`Stdio::piped`] gives a
    /// [`ChildStdin`](super::ChildStdin) in [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets the child's standard output: [`Stdio::piped`] gives a
    /// [`ChildStdout`](super::ChildStdout) in [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Sets the child's standard error: [`Stdio::piped`] gives a
    /// [`ChildStderr`](super::ChildStderr) in [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether dropping the [`Child`] (or the `output`/`status` future
    /// holding it) kills the process with SIGKILL. Off by default: a
    /// dropped child runs on (and is reaped when it exits either way).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Runs the child as user `id` (`setuid` before `exec`; needs the
    /// privilege to).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Runs the child as group `id` (`setgid` before `exec`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Puts the child in process group `pgroup`; `0` makes a new group led
    /// by the child (so that a signal to the group reaches its own children
    /// too, and a Ctrl-C at the terminal does not).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Sets the child's `argv[0]` (the program is still looked up from
    /// `Command::new`'s argument).
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// The standard library's builder, for the options not mirrored here
    /// (`pre_exec`, …).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The standard library's builder, mutable.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child. Its exit is then watched through the current
    /// runtime's reactor (module docs, "How an exit is noticed").
    ///
    /// # Errors
    ///
    /// - `NotFound` if the program does not exist, `PermissionDenied` if it
    ///   cannot be executed: the message names the program, and the OS
    ///   error is the error's `source()`;
    /// - `Other` outside a tasklane runtime;
    /// - the OS error of making the pipes or the exit watch (the child is
    ///   then killed and reaped).
    ///
    /// # Examples
    ///
    /// ```
    /// use tasklane::process::Command;
    ///
    /// tasklane::run(async {
    ///     let err = Command::new("no-such-program-here").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().contains("no-such-program-here"));
    /// });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let handle = Handle::try_current().ok_or_else(|| {
            io::Error::other(
                "tasklane::process: no tasklane runtime here; spawn children inside a runtime",
            )
        })?;
        orphan::sweep();
        let std = self
            .std
            .spawn()
            .map_err(|e| SpawnError::wrap(&self.std, e))?;
        Child::new(std, handle, self.kill_on_drop)
    }

    /// Runs the child to its end and collects its status and output. The
    /// child starts at this call (before the future is first polled), with
    /// standard output and error piped and standard input null unless
    /// [`stdin`](Self::stdin) set it (these settings stay on the command,
    /// as with tokio).
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the child: it runs on, or is killed with
    /// [`kill_on_drop`](Self::kill_on_drop), and is reaped either way.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) and [`Child::wait_with_output`].
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + 'static {
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        let child = self.spawn();
        async move { child?.wait_with_output().await }
    }

    /// Runs the child to its end and collects its status. The child starts
    /// at this call, with the standard streams as configured (inherited by
    /// default); a piped stdin is closed at once, piped outputs are dropped
    /// unread.
    ///
    /// # Cancellation
    ///
    /// As [`output`](Self::output).
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) and [`Child::wait`].
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + 'static {
        let child = self.spawn();
        async move {
            let mut child = child?;
            drop(child.stdout.take());
            drop(child.stderr.take());
            child.wait().await
        }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("std", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// A failed `exec`, naming the program; the OS error is its source.
#[derive(Debug)]
struct SpawnError {
    program: String,
    source: io::Error,
}

impl SpawnError {
    fn wrap(cmd: &std::process::Command, source: io::Error) -> io::Error {
        let kind = source.kind();
        let program = cmd.get_program().to_string_lossy().into_owned();
        io::Error::new(kind, SpawnError { program, source })
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot run program {:?}: {}", self.program, self.source)
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
