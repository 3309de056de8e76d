//! No zombie is left behind: children awaited, dropped, or dropped in the
//! middle of a `wait` are all reaped, through pidfds on the reactor.

mod common;
mod procutil;

use common::rt;
use procutil::{assert_all_reaped, open_pidfds, our_child_state, spawn_mixed};
use std::time::Duration;
use tasklane::process::Command;

#[test]
fn two_hundred_children_leave_no_zombie() {
    let rt = rt(2);
    let pids = rt.block_on(spawn_mixed(200));
    assert_eq!(pids.len(), 200);
    // The runtime is still up: its reaper tasks collect the dropped ones.
    assert_all_reaped(&pids);
}

#[test]
fn a_dropped_wait_future_leaves_the_child_usable_then_reaped() {
    let rt = rt(1);
    let pid = rt.block_on(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        let r = tasklane::wait_for(child.wait(), Duration::from_millis(1)).await;
        assert!(r.is_err(), "sleep 30 cannot end within 1 ms");
        assert!(our_child_state(pid).is_some(), "the child runs on");
        // The same Child can be waited again after the abandoned wait...
        child.start_kill().unwrap();
        assert!(!child.wait().await.unwrap().success());
        assert_eq!(our_child_state(pid), None);
        // ...and one dropped after an abandoned wait is reaped on exit.
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        let r = tasklane::wait_for(child.wait(), Duration::from_millis(1)).await;
        assert!(r.is_err());
        drop(child);
        // SAFETY: `kill` takes integers and touches no memory; the pid is
        // our unreaped child's.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        pid
    });
    assert_all_reaped(&[pid]); // with the runtime still up
}

/// Whether this kernel (and seccomp filter) lets the process open pidfds.
fn kernel_has_pidfds() -> bool {
    // SAFETY: `pidfd_open(getpid(), 0)` takes integers; the descriptor it
    // may return is closed at once.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0);
        if fd >= 0 {
            libc::close(fd as i32);
        }
        fd >= 0
    }
}

#[test]
fn exit_is_watched_through_a_pidfd() {
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("0.05").spawn().unwrap();
        if kernel_has_pidfds() {
            assert!(open_pidfds() >= 1, "a live child holds a pidfd");
        } else {
            assert_eq!(open_pidfds(), 0, "no pidfds here: the SIGCHLD path");
        }
        child.wait().await.unwrap();
    });
}

#[test]
fn a_killed_child_is_reaped_even_across_shutdown() {
    let pids: Vec<u32> = {
        let rt = rt(1);
        rt.block_on(async {
            (0..20)
                .map(|_| {
                    let c = Command::new("sleep")
                        .arg("30")
                        .kill_on_drop(true)
                        .spawn()
                        .unwrap();
                    c.id().unwrap()
                    // `c` dropped here: killed, its reaper shielded
                })
                .collect()
        })
        // The runtime's shutdown waits for the shielded reapers.
    };
    for &pid in &pids {
        assert_eq!(our_child_state(pid), None, "pid {pid} left after shutdown");
    }
}

#[test]
fn a_child_dropped_on_a_plain_thread_is_reaped() {
    let rt = rt(1);
    let child = rt.block_on(async { Command::new("sleep").arg("30").spawn().unwrap() });
    let pid = child.id().unwrap();
    // Dropped where no runtime is current: its reaper runs on the runtime
    // it was spawned on.
    std::thread::spawn(move || drop(child)).join().unwrap();
    // SAFETY: `kill` takes integers and touches no memory; the pid is our
    // unreaped child's.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    assert_all_reaped(&[pid]);
}

#[test]
fn a_child_left_past_a_shutdown_is_swept_by_a_later_spawn() {
    let pid = {
        let rt = rt(1);
        rt.block_on(async {
            let child = Command::new("sleep").arg("30").spawn().unwrap();
            child.id().unwrap()
        })
        // The shutdown cancels the reaper task (the child was not killed):
        // the child goes to the orphan list.
    };
    assert!(our_child_state(pid).is_some(), "still running");
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let deadline = std::time::Instant::now() + procutil::GENEROUS;
    // (Another test's spawn may sweep it as soon as it is a zombie.)
    while matches!(our_child_state(pid), Some(s) if s != 'Z') {
        assert!(std::time::Instant::now() < deadline, "never exited");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Nothing watches it now; the next spawn sweeps the list.
    rt(1).block_on(async {
        Command::new("true").status().await.unwrap();
    });
    assert_eq!(our_child_state(pid), None, "swept by the spawn");
}

#[test]
fn a_task_waiting_on_a_child_cancelled_by_shutdown() {
    for grace in [Duration::from_secs(5), Duration::ZERO] {
        let rt = rt(2);
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let mut child = Command::new("sleep")
                .arg("30")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            tx.send(child.id().unwrap()).unwrap();
            child.wait().await.unwrap(); // cancelled (or dropped) by the shutdown
        })
        .detach();
        let pid = rx.recv().unwrap();
        // The shutdown cancels the task; its Child's drop kills the child.
        // With a grace the reaper is waited for; without one the child may
        // be left on the orphan list, but the shutdown must not hang.
        rt.shutdown(grace);
        if !grace.is_zero() {
            assert_eq!(our_child_state(pid), None, "reaped within the grace");
        } else {
            // Not running on: killed at the drop (a zombie at worst).
            let deadline = std::time::Instant::now() + procutil::GENEROUS;
            while matches!(our_child_state(pid), Some(s) if s != 'Z') {
                assert!(std::time::Instant::now() < deadline, "not killed");
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}
