//! [`Child`]: a spawned process, its pipes, and waiting for its exit.

use super::exit::ExitWatch;
use super::orphan;
use super::pipe::{self, ChildStderr, ChildStdin, ChildStdout};
use crate::runtime::Handle;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Dropping a `Child` does not stop the process (unless the command had
/// [`kill_on_drop(true)`](super::Command::kill_on_drop)), and never leaves
/// a zombie: a child not yet collected is reaped by the runtime when it
/// exits (see the module docs, "Zombies").
///
/// # Examples
///
/// ```
/// use tasklane::process::Command;
///
/// tasklane::run(async {
///     let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
///     assert!(child.id().is_some());
///     let status = child.wait().await.unwrap();
///     assert_eq!(status.code(), Some(3));
///     assert_eq!(child.id(), None); // collected
/// });
/// ```
pub struct Child {
    /// The child's standard input, if it was set to [`Stdio::piped`](super::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was set to [`Stdio::piped`](super::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was set to [`Stdio::piped`](super::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    state: State,
}

enum State {
    Running(Running),
    Exited(ExitStatus),
}

/// A child that has not been collected yet, with what waits for it.
pub(super) struct Running {
    pub(super) std: std::process::Child,
    pub(super) watch: ExitWatch,
    /// The runtime the child was spawned on: the orphan reaper runs there.
    pub(super) handle: Handle,
    pub(super) kill_on_drop: bool,
}

impl Running {
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let std = &mut self.std;
        // Checked before waiting: the exit may predate the watch.
        if let Some(status) = std.try_wait()? {
            return Poll::Ready(Ok(status));
        }
        self.watch.poll_exit(cx, || std.try_wait())
    }
}

impl Child {
    /// Wraps a freshly spawned standard child: registers its pipes and its
    /// exit watch. On failure the child is killed and left to the reaper.
    pub(super) fn new(
        mut std: std::process::Child,
        handle: Handle,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let pipes = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let watch = match ExitWatch::new(std.id()) {
            Ok(w) => w,
            Err(e) => {
                let _ = std.kill();
                orphan::adopt_unwatched(std);
                return Err(e);
            }
        };
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            state: State::Running(Running {
                std,
                watch,
                handle,
                // Until the pipes are registered, a failure kills the child.
                kill_on_drop: true,
            }),
        };
        child.stdin = pipes.0.map(ChildStdin::from_std).transpose()?;
        child.stdout = pipes.1.map(ChildStdout::from_std).transpose()?;
        child.stderr = pipes.2.map(ChildStderr::from_std).transpose()?;
        if let State::Running(r) = &mut child.state {
            r.kill_on_drop = kill_on_drop;
        }
        Ok(child)
    }

    /// The child's process id; `None` once its exit has been collected (the
    /// id may then belong to another process).
    pub fn id(&self) -> Option<u32> {
        match &self.state {
            State::Running(r) => Some(r.std.id()),
            State::Exited(_) => None,
        }
    }

    /// Waits for the child to exit and collects its status. Drops the
    /// `stdin` field first, so a child reading its input sees end of file.
    ///
    /// Returns the same status again if called after the child was
    /// collected.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future leaves the child running and this
    /// `Child` usable; a later `wait` picks up where it left off.
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid`, or `Other` if the runtime the child was
    /// spawned on has shut down.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        match &mut self.state {
            State::Exited(status) => Poll::Ready(Ok(*status)),
            State::Running(r) => {
                let status = std::task::ready!(r.poll_wait(cx))?;
                self.state = State::Exited(status);
                Poll::Ready(Ok(status))
            }
        }
    }

    /// Collects the child's status if it has exited, without waiting.
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.state {
            State::Exited(status) => Ok(Some(*status)),
            State::Running(r) => {
                let status = r.std.try_wait()?;
                if let Some(s) = status {
                    self.state = State::Exited(s);
                }
                Ok(status)
            }
        }
    }

    /// Sends SIGKILL to the child, without waiting for it to exit (follow
    /// with [`wait`](Self::wait), or drop the `Child` and let the runtime
    /// reap it).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the child has already been collected; the OS error
    /// of `kill(2)`.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Running(r) => r.std.kill(),
            State::Exited(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot kill a child process that has already been collected",
            )),
        }
    }

    /// Sends SIGKILL to the child and waits for it to exit.
    ///
    /// # Errors
    ///
    /// As [`start_kill`](Self::start_kill), then as [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use tasklane::process::Command;
    ///
    /// tasklane::run(async {
    ///     let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    ///     child.kill().await.unwrap();
    ///     assert_eq!(child.try_wait().unwrap().map(|s| s.success()), Some(false));
    /// });
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Closes `stdin`, reads `stdout` and `stderr` (those that are piped)
    /// to their ends at the same time, and waits for the child: what
    /// [`Command::output`](super::Command::output) does after spawning.
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the `Child` (see [`Child`]'s drop) and
    /// whatever output had been read.
    ///
    /// # Errors
    ///
    /// A read error of either pipe, or a `wait` error.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (self.stdout.take(), self.stderr.take());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        poll_fn(|cx| {
            let a = pipe::poll_read_to_end(cx, &mut stdout, &mut out)?;
            let b = pipe::poll_read_to_end(cx, &mut stderr, &mut err)?;
            if a.is_ready() && b.is_ready() {
                Poll::Ready(Ok::<(), io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let State::Running(r) = std::mem::replace(&mut self.state, State::Exited(exited())) {
            orphan::adopt(r);
        }
    }
}

/// A placeholder status for a dropped `Child`'s state (never observed).
fn exited() -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(0)
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Child");
        match &self.state {
            State::Running(r) => d.field("pid", &r.std.id()),
            State::Exited(s) => d.field("status", s),
        };
        d.field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
