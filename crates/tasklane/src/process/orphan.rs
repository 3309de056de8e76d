//! Reaping children whose `Child` was dropped before their exit was
//! collected (module docs of `process`, "Zombies").
//!
//! 1. `adopt` kills the child if asked to (`kill_on_drop`), then tries a
//!    non-blocking `waitpid`: a child that has already exited is collected
//!    on the spot.
//! 2. Otherwise it spawns a detached task, `tasklane-process-reaper`, on
//!    the child's runtime, owning the child and its exit watch; the task
//!    awaits the exit through the reactor, collects it, and sweeps the
//!    orphan list (step 3) on its way out. The task of a child killed by
//!    `kill_on_drop` is shielded, so that a shutdown waits for the instant
//!    the killed child takes to exit (within the grace) instead of leaving
//!    it a zombie; the task of a child left running is not (a shutdown
//!    cancels it at once, and step 3 takes over).
//! 3. A child whose reaper task never ran or was dropped before the exit
//!    (the runtime shut down) is pushed, by the `Orphan`'s destructor, onto
//!    a process-wide list. `sweep` collects every child on it that has
//!    exited; it runs at each `Command::spawn`, each adoption and the end of
//!    each reaper task.

use super::child::Running;
use super::exit::ExitWatch;
use parking_lot::Mutex;
use std::process;

/// Children no task watches any more, waiting for a sweep.
static ORPHANS: Mutex<Vec<process::Child>> = Mutex::new(Vec::new());

/// Takes over a running child whose `Child` is being dropped (steps 1–2).
pub(super) fn adopt(running: Running) {
    let Running {
        mut std,
        watch,
        handle,
        kill_on_drop,
    } = running;
    if kill_on_drop {
        // An error means the child is gone already; the wait below sees it.
        let _ = std.kill();
    }
    sweep();
    if !matches!(std.try_wait(), Ok(None)) {
        return; // collected now, or not ours to collect (ECHILD)
    }
    let orphan = Orphan {
        std: Some(std),
        watch,
    };
    let builder = crate::task::Builder::new().name("tasklane-process-reaper");
    // A killed child is about to exit: its reaper is shielded, so that a
    // shutdown waits the moment it takes instead of leaving a zombie.
    let builder = if kill_on_drop {
        builder.shielded()
    } else {
        builder
    };
    builder.spawn_on(orphan.reap(), &handle).detach();
}

/// Puts a child that has no exit watch straight on the list (step 3).
pub(super) fn adopt_unwatched(std: process::Child) {
    ORPHANS.lock().push(std);
    sweep();
}

/// Collects every listed child that has exited (step 3).
pub(super) fn sweep() {
    // Keep only the children still running; a `waitpid` error (ECHILD:
    // someone else collected it) leaves nothing to do for that one either.
    ORPHANS
        .lock()
        .retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

/// A child owned by its reaper task; listed for a sweep if dropped
/// before its exit was collected.
struct Orphan {
    std: Option<process::Child>,
    watch: ExitWatch,
}

impl Orphan {
    async fn reap(mut self) {
        // The child stays in `self` across the wait, so a task dropped
        // there (a shutdown) lists it through `Drop`.
        let Orphan { std, watch } = &mut self;
        let status = std::future::poll_fn(|cx| {
            watch.poll_exit(cx, || {
                std.as_mut().expect("present until reaped").try_wait()
            })
        })
        .await;
        if status.is_ok() {
            self.std = None; // collected
        }
        // Otherwise the watch failed (its runtime is going away) and the
        // drop lists the child.
        drop(self);
        sweep();
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(mut std) = self.std.take()
            && matches!(std.try_wait(), Ok(None))
        {
            ORPHANS.lock().push(std);
        }
    }
}
