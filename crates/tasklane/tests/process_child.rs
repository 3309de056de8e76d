//! Child processes: pipes read and written at the same time, output and
//! status, kill, kill_on_drop, and clear errors for bad input.

mod common;
mod procutil;

use common::rt;
use futures_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use procutil::{assert_all_reaped, our_child_state};
use std::io::ErrorKind;
use std::time::Duration;
use tasklane::process::{Command, Stdio};

#[test]
fn cat_echoes_line_by_line_while_stdin_is_written() {
    rt(2).block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        use futures_lite::StreamExt;
        for i in 0..200 {
            let line = format!("line {i} {}", "x".repeat(i * 7));
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
            // `cat` answers each line before the next is written.
            assert_eq!(lines.next().await.unwrap().unwrap(), line);
        }
        drop(stdin);
        assert!(
            lines.next().await.is_none(),
            "end of file after stdin closed"
        );
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn large_output_through_both_pipes_at_once() {
    rt(2).block_on(async {
        // More than a pipe holds on each stream: reading one to its end
        // before the other would deadlock with the child.
        let out = Command::new("sh")
            .args([
                "-c",
                "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2; exit 7",
            ])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(out.stdout.len(), 300_000);
        assert_eq!(out.stderr.len(), 200_000);
    });
}

#[test]
fn stdin_written_in_full_then_read_back() {
    rt(2).block_on(async {
        let mut child = Command::new("wc")
            .arg("-c")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let data = vec![b'a'; 1 << 20];
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let writer = tasklane::spawn(async move {
            stdin.write_all(&data).await.unwrap();
        });
        writer.await.unwrap(); // dropped at the end of the task: EOF
        let mut s = String::new();
        stdout.read_to_string(&mut s).await.unwrap();
        assert_eq!(s.trim(), "1048576");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn status_and_exit_codes() {
    rt(1).block_on(async {
        let st = Command::new("true").status().await.unwrap();
        assert!(st.success());
        let st = Command::new("sh")
            .args(["-c", "exit 42"])
            .status()
            .await
            .unwrap();
        assert_eq!(st.code(), Some(42));
        let out = Command::new("sh")
            .args(["-c", "pwd; echo $FOO; echo ${HOME:-unset}"])
            .current_dir("/")
            .env_clear()
            .env("FOO", "bar")
            .output()
            .await
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "/\nbar\nunset\n");
    });
}

#[test]
fn process_group_and_arg0() {
    rt(1).block_on(async {
        // Fields 1 and 5 of /proc/self/stat: the shell's pid and its group.
        let out = Command::new("sh")
            .args(["-c", "echo $0; cut -d' ' -f1,5 /proc/$$/stat"])
            .arg0("renamed")
            .process_group(0)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("renamed"));
        let ids: Vec<&str> = lines.next().unwrap().split(' ').collect();
        assert_eq!(ids[0], ids[1], "the child leads a group of its own");
    });
}

#[test]
fn try_wait_then_wait_again() {
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.start_kill().unwrap();
        let st = child.wait().await.unwrap();
        assert!(!st.success());
        assert_eq!(child.try_wait().unwrap(), Some(st));
        assert_eq!(child.wait().await.unwrap(), st);
        assert_eq!(child.id(), None);
        assert_eq!(
            child.start_kill().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn kill_ends_a_long_child() {
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        child.kill().await.unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            child.try_wait().unwrap().unwrap().signal(),
            Some(libc::SIGKILL)
        );
        assert_eq!(our_child_state(pid), None);
    });
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    let pid = rt(1).block_on(async {
        let child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        drop(child);
        pid
    });
    assert_all_reaped(&[pid]);
}

#[test]
fn without_kill_on_drop_a_dropped_child_runs_on() {
    let rt = rt(1);
    let pid = rt.block_on(async {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        tasklane::time::sleep(Duration::from_millis(50)).await;
        assert!(
            matches!(our_child_state(pid), Some(s) if s != 'Z'),
            "still running after the drop"
        );
        // Ended from outside (it is still our unreaped child, so the pid
        // is its own): the runtime reaps it when it exits.
        // SAFETY: `kill` takes integers and touches no memory.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        pid
    });
    assert_all_reaped(&[pid]); // with the runtime still up
}

#[test]
fn cancelled_wait_for_with_kill_on_drop_kills_the_child() {
    let pid = rt(2).block_on(async {
        let mut child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let task = tasklane::spawn(async move { child.wait().await });
        let r = tasklane::wait_for(task, Duration::from_millis(20)).await;
        assert!(r.is_err(), "sleep 30 cannot finish in 20 ms");
        pid
    });
    assert_all_reaped(&[pid]);
}

#[test]
fn a_piped_stdout_can_feed_another_child() {
    rt(1).block_on(async {
        let mut first = Command::new("echo")
            .arg("piped along")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout: Stdio = first.stdout.take().unwrap().try_into().unwrap();
        let out = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(stdout)
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"PIPED ALONG\n");
        assert!(first.wait().await.unwrap().success());
    });
}

#[test]
fn missing_program_is_not_found() {
    rt(1).block_on(async {
        let err = Command::new("/no/such/program").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("/no/such/program"), "{err}");
        let source = std::error::Error::source(err.get_ref().unwrap()).unwrap();
        assert!(source.to_string().contains("os error 2"), "{source}");
        let err = Command::new("no-such-program-in-path")
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn not_executable_and_bad_directory_are_clear_errors() {
    rt(1).block_on(async {
        let err = Command::new("/").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        let err = Command::new("true")
            .current_dir("/no/such/dir")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
}

#[test]
fn nul_bytes_and_an_empty_program_are_errors() {
    rt(1).block_on(async {
        let err = Command::new("bad\0name").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = Command::new("true").arg("a\0b").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = Command::new("true")
            .env("K\0", "v")
            .status()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = Command::new("").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
}

#[test]
fn spawn_outside_a_runtime_is_an_error() {
    let err = Command::new("true").spawn().unwrap_err();
    assert!(err.to_string().contains("no tasklane runtime"), "{err}");
}
