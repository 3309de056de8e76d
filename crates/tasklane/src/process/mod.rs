//! Child processes: [`Command`] spawns them, [`Child`] waits for them,
//! and their pipes are `futures-io` streams on the runtime's reactor.
//!
//! The API is tokio's `process` module: build a [`Command`], then
//! [`spawn`](Command::spawn) it for a [`Child`] whose `stdin`, `stdout` and
//! `stderr` fields hold the pipes asked for with [`Stdio::piped`], or run
//! it to the end with [`output`](Command::output) or
//! [`status`](Command::status). asyncio's `create_subprocess_exec` is the
//! same thing (`docs/semantics.md` lists the differences).
//!
//! # How an exit is noticed
//!
//! 1. Right after the spawn, the child's pid is turned into a *pidfd*
//!    (`pidfd_open(2)`, Linux 5.3 and later). A pidfd becomes readable when
//!    its process exits, so it is registered with the reactor like a
//!    socket; [`Child::wait`] awaits that readiness, then collects the
//!    status with a non-blocking `waitpid`. No thread and no signal handler
//!    is involved.
//! 2. On a kernel without `pidfd_open` (the call fails with `ENOSYS`, or
//!    `EPERM` under a seccomp filter that does not know it), each child gets
//!    a SIGCHLD handler instead (`signal-hook-registry`) that writes to a
//!    self-pipe registered with the reactor; every SIGCHLD wakes every
//!    waiting child, which retries its `waitpid`. The handler is installed
//!    before the first `waitpid`, so an exit before the wait is not missed.
//!
//! # Zombies
//!
//! A child that has exited stays a zombie until its parent collects its
//! status. tasklane collects it for you in every case:
//!
//! - [`Child::wait`] (and `kill`, `wait_with_output`, `output`, `status`)
//!   collect it.
//! - A `Child` dropped before its child was collected (its `wait` future was
//!   dropped, a task holding it was cancelled, or it was never awaited) hands
//!   the child to a small detached task, named `tasklane-process-reaper`, on
//!   the runtime the child was spawned on. The task awaits the exit through
//!   the reactor (step 1 or 2) and collects it, so a long-running child that
//!   was dropped is reaped as soon as it ends, without anyone polling.
//!   If the child was killed by `kill_on_drop`, that task is shielded: a
//!   shutdown of the runtime waits the moment the killed child takes to
//!   exit (within the grace) and reaps it.
//! - If that task cannot run (the runtime has shut down), or a shutdown
//!   cancels it before the child exits, the child goes to
//!   a process-wide orphan list, which every later spawn and every drop of
//!   a `Child` not yet collected sweeps with non-blocking `waitpid`s. Zombies on that list at
//!   process exit are collected by the system.
//!
//! # Cancellation
//!
//! Dropping a future that waits for a child (`wait`, `output`, `status`,
//! `kill`), for example because its task was cancelled or a `wait_for` ran
//! out, **does not stop the child**: it runs on, and is reaped as above
//! when it ends. To stop it with the future, build the command with
//! [`kill_on_drop(true)`](Command::kill_on_drop): dropping the `Child` (or
//! the `output`/`status` future that owns it) then sends SIGKILL, and the
//! killed child is reaped as above.
//!
//! # Examples
//!
//! ```
//! use tasklane::process::Command;
//!
//! tasklane::run(async {
//!     let out = Command::new("echo").arg("hello").output().await.unwrap();
//!     assert!(out.status.success());
//!     assert_eq!(out.stdout, b"hello\n");
//! });
//! ```

mod child;
mod command;
mod exit;
mod orphan;
mod pipe;
mod sigchld;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

/// The handle types can move between tasks and threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<Child>();
    send_sync::<ChildStdin>();
    send_sync::<ChildStdout>();
    send_sync::<ChildStderr>();
};

/// Makes every child spawned from now on in this process use the SIGCHLD
/// path instead of a pidfd (step 2 in the module docs), so that tests can
/// exercise it on a kernel that has pidfds.
#[doc(hidden)]
pub fn __force_sigchld_fallback() {
    exit::force_sigchld();
}
