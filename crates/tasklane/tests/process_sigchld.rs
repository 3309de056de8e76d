//! The SIGCHLD path, for kernels without pidfds, forced on for this whole
//! test binary: waits, pipes, kill_on_drop and reaping work the same.

mod common;
mod procutil;

use common::rt;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use procutil::{assert_all_reaped, open_pidfds, spawn_mixed};
use tasklane::process::{Command, Stdio};

fn force() {
    tasklane::process::__force_sigchld_fallback();
}

#[test]
fn waits_without_a_pidfd() {
    force();
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("0.05").spawn().unwrap();
        assert_eq!(open_pidfds(), 0, "the SIGCHLD path opens no pidfd");
        assert!(child.wait().await.unwrap().success());
        let out = Command::new("sh")
            .args(["-c", "echo out; exit 5"])
            .output()
            .await
            .unwrap();
        assert_eq!(
            (out.status.code(), &out.stdout[..]),
            (Some(5), &b"out\n"[..])
        );
    });
}

#[test]
fn pipes_and_kill_on_drop() {
    force();
    let pid = rt(2).block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"through cat").await.unwrap();
        drop(stdin);
        let mut s = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut s)
            .await
            .unwrap();
        assert_eq!(s, "through cat");
        assert!(child.wait().await.unwrap().success());
        let long = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        long.id().unwrap()
    });
    assert_all_reaped(&[pid]);
}

#[test]
fn two_hundred_children_leave_no_zombie() {
    force();
    let rt = rt(2);
    let pids = rt.block_on(spawn_mixed(200));
    assert_all_reaped(&pids);
}
