//! Helpers shared by the process tests: whether a pid is still a child of
//! this process (running or a zombie), read from `/proc` without reaping it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Far beyond what reaping takes even on a loaded machine: only turns a
/// leak into a failure.
pub(crate) const GENEROUS: Duration = Duration::from_secs(20);

/// `Some(state)` (`'R'`, `'S'`, `'Z'`, …) while `pid` is a child of this
/// process, running or a zombie; `None` once it is gone (reaped), or if
/// the pid now belongs to someone else's process.
pub(crate) fn our_child_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; `comm` may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid: u32 = fields.next()?.parse().ok()?;
    (ppid == std::process::id()).then_some(state)
}

/// Waits (polling `/proc`, up to [`GENEROUS`]) until none of `pids` is a
/// child of this process any more; panics naming those left and their
/// states.
pub(crate) fn assert_all_reaped(pids: &[u32]) {
    let deadline = Instant::now() + GENEROUS;
    loop {
        let left: Vec<(u32, char)> = pids
            .iter()
            .filter_map(|&p| our_child_state(p).map(|s| (p, s)))
            .collect();
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("children never reaped after {GENEROUS:?}: {left:?} (pid, state)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many pidfds this process holds open now.
pub(crate) fn open_pidfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("pidfd"))
        .count()
}

/// Spawns `n` short children from `n` tasks: a third awaited, a third
/// dropped at once, a third dropped in the middle of a `wait`; returns
/// their pids once every task is done (not every child has been reaped).
pub(crate) async fn spawn_mixed(n: usize) -> Vec<u32> {
    use tasklane::process::Command;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            tasklane::spawn(async move {
                let mut child = Command::new("true").spawn().unwrap();
                let pid = child.id().unwrap();
                match i % 3 {
                    0 => assert!(child.wait().await.unwrap().success()),
                    1 => drop(child),
                    _ => {
                        // A `wait` abandoned at its first suspension point.
                        let _ = tasklane::wait_for(child.wait(), Duration::ZERO).await;
                        drop(child);
                    }
                }
                pid
            })
        })
        .collect();
    let mut pids = Vec::with_capacity(n);
    for t in tasks {
        pids.push(t.await.unwrap());
    }
    pids
}
